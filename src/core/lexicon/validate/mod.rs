//! Validation of data-model values against loaded schemas.
//!
//! Owns the walk over a value and its schema: objects (required, nullable, defaults), arrays,
//! refs and unions resolved through the [`Catalog`], `unknown`, blobs, and dispatch to the scalar
//! checks. It follows the reference validator's rules: properties the schema does not name are
//! ignored; an absent property is fine unless required (a `default` counts as present); `null` is
//! only allowed where the object lists the property as `nullable`; a union value must be an
//! object with a string `$type`, a `$type` outside the refs passes an open union unchecked and
//! fails a closed one.
//!
//! The success path allocates nothing of its own. A failure carries its path as a list of
//! segments pushed while the error travels back up, so paths are built only for errors.
//! Recursion is bounded by [`MAX_DEPTH`] (each container, ref and union is one level).
//!
//! Spec: <https://atproto.com/specs/lexicon>

mod blob;
pub(crate) mod scalar;

use std::collections::BTreeMap;

use crate::core::data::Value;

use super::{
    ArraySchema, Catalog, Def, DefRef, Field, ObjectSchema, Property, UnionSchema, ValidationError,
    Violation,
};
use crate::core::syntax::quote;

/// How many levels (containers, refs and unions) validation follows. The data model limits
/// nesting to 128 containers, and each container can add a ref or union level; this leaves room
/// for that and stops hostile or cyclic inputs long before the stack is at risk.
pub const MAX_DEPTH: usize = 512;

/// One step of the path to a failing value.
#[derive(Debug)]
enum Segment {
    Key(String),
    Index(usize),
}

/// Why validation failed, with the path collected so far (innermost segment first).
#[derive(Debug)]
pub(crate) struct Fail {
    reversed_path: Vec<Segment>,
    kind: FailKind,
}

#[derive(Debug)]
enum FailKind {
    Violation(Violation),
    Unresolved(String),
}

impl From<Violation> for Box<Fail> {
    fn from(violation: Violation) -> Self {
        Box::new(Fail {
            reversed_path: Vec::new(),
            kind: FailKind::Violation(violation),
        })
    }
}

impl Fail {
    fn unresolved(reference: &DefRef) -> Box<Fail> {
        Box::new(Fail {
            reversed_path: Vec::new(),
            kind: FailKind::Unresolved(reference.to_string()),
        })
    }

    fn at_key(mut self: Box<Self>, key: &str) -> Box<Self> {
        self.reversed_path.push(Segment::Key(key.to_owned()));
        self
    }

    fn at_index(mut self: Box<Self>, index: usize) -> Box<Self> {
        self.reversed_path.push(Segment::Index(index));
        self
    }

    /// The public error, with the path rendered from `root` (`Record`, `Object`, ...).
    pub(crate) fn into_error(self, root: &str) -> ValidationError {
        let mut path = String::from(root);
        for segment in self.reversed_path.iter().rev() {
            path.push('/');
            match segment {
                Segment::Key(key) => path.push_str(key),
                Segment::Index(index) => path.push_str(&index.to_string()),
            }
        }
        match self.kind {
            FailKind::Violation(violation) => ValidationError::Invalid { path, violation },
            FailKind::Unresolved(reference) => ValidationError::UnresolvedRef { path, reference },
        }
    }
}

pub(crate) type Outcome = Result<(), Box<Fail>>;

/// Validates values against the definitions of one catalog.
pub(crate) struct Validator<'c> {
    pub(crate) catalog: &'c Catalog,
}

impl Validator<'_> {
    /// A value against a field schema.
    pub(crate) fn field(&self, schema: &Field, value: &Value, depth: usize) -> Outcome {
        match schema {
            Field::Null => Ok(scalar::null(value)?),
            Field::Boolean(s) => Ok(scalar::boolean(s, value)?),
            Field::Integer(s) => Ok(scalar::integer(s, value)?),
            Field::String(s) => Ok(scalar::string(s, value)?),
            Field::Bytes(s) => Ok(scalar::bytes(s, value)?),
            Field::CidLink => Ok(scalar::cid_link(value)?),
            Field::Blob(s) => Ok(blob::blob(s, value)?),
            Field::Array(s) => self.array(s, value, depth),
            Field::Object(s) => self.object(s, value, depth),
            Field::Ref(r) => self.reference(r, value, depth),
            Field::Union(s) => self.union(s, value, depth),
            Field::Unknown => Ok(unknown(value)?),
        }
    }

    /// A value against a named definition (what a ref or union variant points at).
    pub(crate) fn def(&self, def: &Def, value: &Value, depth: usize) -> Outcome {
        match def {
            Def::Field(field) => self.field(field, value, depth),
            Def::Record(record) => self.object(&record.record, value, depth),
            other => Err(Violation::NotADataType(other.type_name()).into()),
        }
    }

    pub(crate) fn object(&self, schema: &ObjectSchema, value: &Value, depth: usize) -> Outcome {
        check_depth(depth)?;
        let Value::Map(map) = value else {
            return Err(Violation::WrongType {
                expected: "an object",
            }
            .into());
        };
        self.properties(&schema.properties, map, depth + 1)
    }

    /// The properties of an object (or of params) against their schemas.
    pub(crate) fn properties(
        &self,
        properties: &[Property],
        map: &BTreeMap<String, Value>,
        depth: usize,
    ) -> Outcome {
        for property in properties {
            match map.get(&property.name) {
                None => {
                    if property.required && !property.schema.has_default() {
                        return Err(Violation::MissingProperty(property.name.clone()).into());
                    }
                }
                Some(Value::Null) if property.nullable => {}
                Some(value) => self
                    .field(&property.schema, value, depth)
                    .map_err(|fail| fail.at_key(&property.name))?,
            }
        }
        Ok(())
    }

    fn array(&self, schema: &ArraySchema, value: &Value, depth: usize) -> Outcome {
        check_depth(depth)?;
        let Value::List(items) = value else {
            return Err(Violation::WrongType {
                expected: "an array",
            }
            .into());
        };
        let len = items.len() as u64;
        if let Some(max) = schema.max_length
            && len > max
        {
            return Err(Violation::TooManyItems(max).into());
        }
        if let Some(min) = schema.min_length
            && len < min
        {
            return Err(Violation::TooFewItems(min).into());
        }
        for (index, item) in items.iter().enumerate() {
            self.field(&schema.items, item, depth + 1)
                .map_err(|fail| fail.at_index(index))?;
        }
        Ok(())
    }

    fn reference(&self, reference: &DefRef, value: &Value, depth: usize) -> Outcome {
        check_depth(depth)?;
        let def = self
            .catalog
            .resolve(reference)
            .ok_or_else(|| Fail::unresolved(reference))?;
        self.def(def, value, depth + 1)
    }

    pub(crate) fn union(&self, schema: &UnionSchema, value: &Value, depth: usize) -> Outcome {
        check_depth(depth)?;
        let Some(type_name) = value.type_name() else {
            return Err(Violation::MissingType.into());
        };
        match schema.refs.iter().find(|r| r.matches_type(type_name)) {
            Some(reference) => self.reference(reference, value, depth + 1),
            None if schema.closed => Err(Violation::NotInClosedUnion(quote(type_name)).into()),
            None => Ok(()),
        }
    }
}

fn check_depth(depth: usize) -> Result<(), Violation> {
    if depth > MAX_DEPTH {
        return Err(Violation::TooDeep(MAX_DEPTH));
    }
    Ok(())
}

/// `unknown`: any object, but not a blob (the spec forbids a compound type at the top).
fn unknown(value: &Value) -> Result<(), Violation> {
    match value {
        Value::Map(_) if value.type_name() != Some("blob") => Ok(()),
        _ => Err(Violation::WrongType {
            expected: "an object (and not a blob)",
        }),
    }
}
