//! The two error types of the lexicon module: [`LexiconError`] for schemas that break the schema
//! language, and [`ValidationError`] (with its [`Violation`]) for data that breaks a schema.
//!
//! Messages are lower case and quote at most a bounded prefix of any untrusted string. A data error
//! names the path of the offending value from the root (`Record/embed/images/0/image`), as the
//! reference implementation does.
//!
//! Spec: <https://atproto.com/specs/lexicon>

use crate::core::syntax::SyntaxError;

use super::StringFormat;

/// A schema document, or a catalog of them, that breaks the rules of the Lexicon language.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum LexiconError {
    /// The document does not follow the schema language. `path` is the `/`-separated location of
    /// the problem inside the document (for example `defs/main/record/properties/text/maxLength`).
    #[error("invalid lexicon {id}: {path}: {reason}")]
    Invalid {
        /// The document's `id`, or `?` when the id itself is missing or invalid.
        id: String,
        path: String,
        reason: String,
    },
    /// A document with this id is already in the catalog.
    #[error("lexicon {0} is already in the catalog")]
    Duplicate(String),
    /// A `ref` or union entry names a definition that the catalog does not hold.
    #[error("lexicon {id}: {path}: reference {reference} does not resolve")]
    UnresolvedRef {
        id: String,
        path: String,
        reference: String,
    },
    /// A `ref` or union entry points at a kind of definition it may not point at (a `ref` at a
    /// token or an endpoint, a union at anything but an object or a record).
    #[error(
        "lexicon {id}: {path}: reference {reference} points at a {target} definition, which a {via} can not refer to"
    )]
    BadRefTarget {
        id: String,
        path: String,
        reference: String,
        /// The type of the definition found (`token`, `query`, `string`, ...).
        target: &'static str,
        /// `ref` or `union`.
        via: &'static str,
    },
}

/// Data that does not validate against a schema, or a validation request the catalog can not serve.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ValidationError {
    /// The catalog holds no definition for the requested schema. Callers doing "optimistic"
    /// validation let such data through; this is the only variant for which that is right.
    #[error("lexicon not found: {0}")]
    LexiconNotFound(String),
    /// The requested definition exists but is of the wrong kind (for example a record was
    /// validated against a query).
    #[error("{reference} is not a {expected} definition")]
    WrongDefinitionType {
        reference: String,
        expected: &'static str,
    },
    /// The record key does not match the key type the record schema declares.
    #[error("invalid record key: {0}")]
    RecordKey(#[source] SyntaxError),
    /// A value breaks the schema. `path` starts at the root (`Record`, `Object`, `Params`, `Input`,
    /// `Output`, `Message`) and names each property and array index on the way down.
    #[error("{path} {violation}")]
    Invalid { path: String, violation: Violation },
    /// A schema reached while validating refers to a definition the catalog does not hold, so the
    /// value at `path` could not be checked.
    #[error("{path}: definition not found: {reference}")]
    UnresolvedRef { path: String, reference: String },
}

impl ValidationError {
    /// The violation, when the error is about the data itself.
    pub fn violation(&self) -> Option<&Violation> {
        match self {
            Self::Invalid { violation, .. } => Some(violation),
            _ => None,
        }
    }

    /// The path of the offending value, when the error is about a value.
    pub fn path(&self) -> Option<&str> {
        match self {
            Self::Invalid { path, .. } | Self::UnresolvedRef { path, .. } => Some(path),
            _ => None,
        }
    }
}

/// What is wrong with one value.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Violation {
    /// The value is of the wrong data-model type; `expected` reads like "a string".
    #[error("must be {expected}")]
    WrongType { expected: &'static str },
    /// A required property is absent.
    #[error("must have the property {0:?}")]
    MissingProperty(String),
    /// The value differs from the schema's `const` (rendered as it appears in the schema).
    #[error("must be {0}")]
    NotConst(String),
    /// The value is not one of the schema's `enum` values.
    #[error("must be one of the values the schema enumerates")]
    NotInEnum,
    #[error("can not be greater than {0}")]
    AboveMaximum(i64),
    #[error("can not be less than {0}")]
    BelowMinimum(i64),
    /// A string (in UTF-8 bytes) or a byte array longer than `maxLength`.
    #[error("must not be longer than {0} bytes")]
    TooLong(u64),
    /// A string (in UTF-8 bytes) or a byte array shorter than `minLength`.
    #[error("must not be shorter than {0} bytes")]
    TooShort(u64),
    #[error("must not be longer than {0} graphemes")]
    TooManyGraphemes(u64),
    #[error("must not be shorter than {0} graphemes")]
    TooFewGraphemes(u64),
    #[error("must not have more than {0} elements")]
    TooManyItems(u64),
    #[error("must not have fewer than {0} elements")]
    TooFewItems(u64),
    /// A string that does not have the declared `format`.
    #[error("must be a valid {0}")]
    Format(StringFormat),
    /// A blob whose MIME type matches none of the schema's `accept` patterns.
    #[error("has mime type {0:?}, which the schema does not accept")]
    BlobMimeType(String),
    /// A blob larger than the schema's `maxSize`.
    #[error("is a blob of {size} bytes, larger than the {max} bytes allowed")]
    BlobTooLarge { size: u64, max: u64 },
    /// A union value that is not an object with a string `$type`.
    #[error("must be an object which includes a \"$type\" string")]
    MissingType,
    /// A closed union value whose `$type` is none of the union's refs.
    #[error("has $type {0:?}, which is not one of the closed union's refs")]
    NotInClosedUnion(String),
    /// A record whose `$type` is not the collection it is validated as.
    #[error("must be {expected}, not {got:?}")]
    WrongRecordType { expected: String, got: String },
    /// The value was validated against a definition that describes no data (a token, an endpoint
    /// or a permission set).
    #[error("can not be validated against a {0} definition")]
    NotADataType(&'static str),
    /// The value nests deeper than validation follows.
    #[error("nests deeper than {0} levels")]
    TooDeep(usize),
}
