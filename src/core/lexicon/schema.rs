//! The schema model: a loaded Lexicon document ([`LexiconDoc`]), its named definitions ([`Def`]),
//! and the field types ([`Field`]) with their constraints.
//!
//! Values of these types come only from the parser, which has already enforced the schema
//! language's rules: a primary type only as `main`, only definable types as named definitions,
//! only field types inside objects and arrays, `min <= max`, no `default` beside `const`, a default
//! that satisfies its own constraints, `required`/`nullable` names that exist, and so on. A
//! [`LexiconDoc`] can not be built or changed any other way, so the validator may rely on it.
//!
//! Descriptions are not kept: nothing here needs them.
//!
//! Spec: <https://atproto.com/specs/lexicon>

use std::collections::BTreeMap;

use crate::core::syntax::{Nsid, RecordKeyType};

use super::{DefRef, MimePattern, Permission, StringFormat};

/// One schema document: an NSID and its named definitions.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LexiconDoc {
    pub(super) id: Nsid,
    pub(super) revision: Option<i64>,
    pub(super) defs: BTreeMap<String, Def>,
}

impl LexiconDoc {
    /// The document's NSID.
    pub fn id(&self) -> &Nsid {
        &self.id
    }

    /// The optional `revision` number of the document.
    pub fn revision(&self) -> Option<i64> {
        self.revision
    }

    /// The definitions, by name.
    pub fn defs(&self) -> &BTreeMap<String, Def> {
        &self.defs
    }

    /// One definition by name (`main` for the primary one).
    pub fn def(&self, name: &str) -> Option<&Def> {
        self.defs.get(name)
    }

    /// The `main` definition, if there is one.
    pub fn main(&self) -> Option<&Def> {
        self.defs.get(super::reference::MAIN)
    }
}

/// A named definition: a primary type (only ever `main`), a token, or a definable field type.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Def {
    Record(RecordDef),
    Query(QueryDef),
    Procedure(ProcedureDef),
    Subscription(SubscriptionDef),
    PermissionSet(PermissionSetDef),
    /// A named value with no data representation.
    Token,
    /// A field type. Never [`Field::Ref`], [`Field::Union`], [`Field::Unknown`] or [`Field::Null`],
    /// which can not be named definitions.
    Field(Field),
}

impl Def {
    /// The schema `type` of the definition.
    pub fn type_name(&self) -> &'static str {
        match self {
            Self::Record(_) => "record",
            Self::Query(_) => "query",
            Self::Procedure(_) => "procedure",
            Self::Subscription(_) => "subscription",
            Self::PermissionSet(_) => "permission-set",
            Self::Token => "token",
            Self::Field(field) => field.type_name(),
        }
    }

    /// Whether this is one of the primary types (record, query, procedure, subscription,
    /// permission-set).
    pub fn is_primary(&self) -> bool {
        !matches!(self, Self::Token | Self::Field(_))
    }
}

/// A field type: what an object property, an array item or a named data definition can be.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Field {
    /// Only `null` (kept from earlier versions of the spec; see the module docs of the parser).
    Null,
    Boolean(BooleanSchema),
    Integer(IntegerSchema),
    String(StringSchema),
    Bytes(BytesSchema),
    CidLink,
    Blob(BlobSchema),
    Array(Box<ArraySchema>),
    Object(ObjectSchema),
    Ref(DefRef),
    Union(UnionSchema),
    /// Any object.
    Unknown,
}

impl Field {
    /// The schema `type` of the field.
    pub fn type_name(&self) -> &'static str {
        match self {
            Self::Null => "null",
            Self::Boolean(_) => "boolean",
            Self::Integer(_) => "integer",
            Self::String(_) => "string",
            Self::Bytes(_) => "bytes",
            Self::CidLink => "cid-link",
            Self::Blob(_) => "blob",
            Self::Array(_) => "array",
            Self::Object(_) => "object",
            Self::Ref(_) => "ref",
            Self::Union(_) => "union",
            Self::Unknown => "unknown",
        }
    }

    /// Whether an absent value is filled by a schema `default` (so "required" is satisfied).
    pub fn has_default(&self) -> bool {
        match self {
            Self::Boolean(s) => s.default.is_some(),
            Self::Integer(s) => s.default.is_some(),
            Self::String(s) => s.default.is_some(),
            _ => false,
        }
    }
}

/// `record`: the schema of the records of one collection.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordDef {
    /// Which record keys records of this type may have.
    pub key: RecordKeyType,
    pub record: ObjectSchema,
}

/// `query`: an XRPC GET endpoint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QueryDef {
    pub parameters: Option<ParamsSchema>,
    pub output: Option<Body>,
    pub errors: Vec<XrpcErrorDef>,
}

/// `procedure`: an XRPC POST endpoint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProcedureDef {
    pub parameters: Option<ParamsSchema>,
    pub input: Option<Body>,
    pub output: Option<Body>,
    pub errors: Vec<XrpcErrorDef>,
}

/// `subscription`: an event-stream (WebSocket) endpoint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SubscriptionDef {
    pub parameters: Option<ParamsSchema>,
    pub message: MessageSchema,
    pub errors: Vec<XrpcErrorDef>,
}

/// The messages of a subscription: always a union of refs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MessageSchema {
    pub schema: UnionSchema,
}

/// `permission-set`: a bundle of permissions usable as an OAuth scope.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PermissionSetDef {
    pub title: Option<String>,
    /// Localised titles, by well-formed language tag.
    pub title_lang: BTreeMap<String, String>,
    pub detail: Option<String>,
    /// Localised details, by well-formed language tag.
    pub detail_lang: BTreeMap<String, String>,
    pub permissions: Vec<Permission>,
}

/// An HTTP body (`input` or `output`) of an endpoint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Body {
    /// The MIME type of the body (`application/json`, `*/*`, ...).
    pub encoding: String,
    /// The schema of a JSON body: an object, a ref or a union. `None` means any body.
    pub schema: Option<Field>,
}

/// One error an endpoint may return.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct XrpcErrorDef {
    pub name: String,
}

/// `params`: the HTTP query parameters of an endpoint.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct ParamsSchema {
    /// Sorted by name; each a boolean, integer, string or unknown, or an array of those, and never
    /// nullable.
    pub properties: Vec<Property>,
}

/// `object`: a map with named, typed properties. Properties the schema does not name are allowed.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct ObjectSchema {
    /// Sorted by name.
    pub properties: Vec<Property>,
}

/// One property of an object or of params.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Property {
    pub name: String,
    pub schema: Field,
    /// Listed in the object's `required`.
    pub required: bool,
    /// Listed in the object's `nullable`: an explicit `null` is allowed.
    pub nullable: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct BooleanSchema {
    pub default: Option<bool>,
    pub const_value: Option<bool>,
}

#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct IntegerSchema {
    pub minimum: Option<i64>,
    pub maximum: Option<i64>,
    /// A closed set of allowed values (an empty list allows nothing).
    pub enum_values: Option<Vec<i64>>,
    pub default: Option<i64>,
    pub const_value: Option<i64>,
}

#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct StringSchema {
    pub format: Option<StringFormat>,
    /// Bounds in UTF-8 bytes.
    pub min_length: Option<u64>,
    pub max_length: Option<u64>,
    /// Bounds in extended grapheme clusters.
    pub min_graphemes: Option<u64>,
    pub max_graphemes: Option<u64>,
    /// Suggested values; not a constraint.
    pub known_values: Vec<String>,
    /// A closed set of allowed values (an empty list allows nothing).
    pub enum_values: Option<Vec<String>>,
    pub default: Option<String>,
    pub const_value: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct BytesSchema {
    /// Bounds in raw bytes.
    pub min_length: Option<u64>,
    pub max_length: Option<u64>,
}

#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct BlobSchema {
    /// Accepted MIME types; empty means any.
    pub accept: Vec<MimePattern>,
    /// Largest size in bytes.
    pub max_size: Option<u64>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ArraySchema {
    pub items: Field,
    /// Bounds on the element count.
    pub min_length: Option<u64>,
    pub max_length: Option<u64>,
}

/// `union`: one of several object (or record) definitions, told apart by `$type`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnionSchema {
    pub refs: Vec<DefRef>,
    /// A closed union rejects a `$type` that is not one of `refs`; an open one lets it through
    /// unchecked.
    pub closed: bool,
}
