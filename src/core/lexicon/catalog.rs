//! [`Catalog`]: the set of loaded schema documents, reference resolution between them, and the
//! public validation entry points (records, objects, XRPC parameters, bodies and messages).
//!
//! A catalog is built once (documents are checked as they are added) and then shared read-only;
//! validation takes `&self` and is safe to run from many threads at once. Documents may refer to
//! documents added later, so whether every ref resolves is checked on demand by
//! [`Catalog::check_refs`], not by [`Catalog::add`]; a ref that does not resolve at validation time
//! is reported as [`ValidationError::UnresolvedRef`].
//!
//! Spec: <https://atproto.com/specs/lexicon>

use std::collections::BTreeMap;

use crate::core::data::Value;
use crate::core::syntax::{Nsid, RecordKey, quote};

use super::validate::{Fail, Validator};
use super::{Body, Def, DefRef, Field, LexiconDoc, LexiconError, ValidationError, Violation};

/// Loaded schema documents, by NSID.
#[derive(Clone, Debug, Default)]
pub struct Catalog {
    docs: BTreeMap<String, LexiconDoc>,
}

impl Catalog {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a checked document. Fails if a document with the same id is already present.
    pub fn add(&mut self, doc: LexiconDoc) -> Result<(), LexiconError> {
        let id = doc.id().as_str();
        if self.docs.contains_key(id) {
            return Err(LexiconError::Duplicate(id.to_owned()));
        }
        self.docs.insert(id.to_owned(), doc);
        Ok(())
    }

    /// Parses, checks and adds a document given as JSON; returns its id.
    pub fn add_json(&mut self, json: &serde_json::Value) -> Result<Nsid, LexiconError> {
        let doc = LexiconDoc::from_json(json)?;
        let id = doc.id().clone();
        self.add(doc)?;
        Ok(id)
    }

    /// Removes and returns the document with this id.
    pub fn remove(&mut self, id: &str) -> Option<LexiconDoc> {
        self.docs.remove(id)
    }

    /// The document with this id.
    pub fn get(&self, id: &str) -> Option<&LexiconDoc> {
        self.docs.get(id)
    }

    pub fn len(&self) -> usize {
        self.docs.len()
    }

    pub fn is_empty(&self) -> bool {
        self.docs.is_empty()
    }

    /// The documents, ordered by id.
    pub fn iter(&self) -> impl Iterator<Item = &LexiconDoc> {
        self.docs.values()
    }

    /// The definition a reference names.
    pub fn resolve(&self, reference: &DefRef) -> Option<&Def> {
        self.docs
            .get(reference.nsid().as_str())?
            .def(reference.name())
    }

    /// The definition a reference string (`nsid` or `nsid#name`) names.
    pub fn resolve_str(&self, reference: &str) -> Option<&Def> {
        self.resolve(&DefRef::parse(reference, None).ok()?)
    }

    /// Checks that every `ref` and union entry of every document resolves within the catalog, and
    /// points at a kind of definition it may point at. Returns every problem found.
    pub fn check_refs(&self) -> Result<(), Vec<LexiconError>> {
        let problems = super::ref_check::check(self);
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems)
        }
    }

    fn validator(&self) -> Validator<'_> {
        Validator { catalog: self }
    }

    /// Validates a record of collection `collection` stored under record key `rkey`.
    ///
    /// Checks: the collection's schema is a `record`; the value is an object whose `$type` is
    /// exactly the collection NSID; `rkey` matches the schema's `key` type; every property.
    /// Does not check: generic data-model rules (the value is already a data-model value), size
    /// limits, or whether referenced blobs exist.
    pub fn validate_record(
        &self,
        collection: &Nsid,
        rkey: &RecordKey,
        record: &Value,
    ) -> Result<(), ValidationError> {
        let def = self
            .get(collection.as_str())
            .and_then(LexiconDoc::main)
            .ok_or_else(|| ValidationError::LexiconNotFound(collection.to_string()))?;
        let Def::Record(schema) = def else {
            return Err(ValidationError::WrongDefinitionType {
                reference: collection.to_string(),
                expected: "record",
            });
        };
        let invalid = |path: &str, violation| ValidationError::Invalid {
            path: path.to_owned(),
            violation,
        };
        let Value::Map(map) = record else {
            return Err(invalid(
                "Record",
                Violation::WrongType {
                    expected: "an object",
                },
            ));
        };
        match map.get("$type") {
            Some(Value::String(t)) if t == collection.as_str() => {}
            Some(Value::String(t)) => {
                return Err(invalid(
                    "Record/$type",
                    Violation::WrongRecordType {
                        expected: collection.to_string(),
                        got: quote(t),
                    },
                ));
            }
            _ => {
                return Err(invalid(
                    "Record/$type",
                    Violation::WrongType {
                        expected: "a string",
                    },
                ));
            }
        }
        schema.key.check(rkey).map_err(ValidationError::RecordKey)?;
        self.validator()
            .properties(&schema.record.properties, map, 1)
            .map_err(|fail| fail.into_error("Record"))
    }

    /// Validates a value against a `record` or `object` definition named by `reference`
    /// (`nsid` or `nsid#name`). For a record definition the `$type` is not checked; use
    /// [`Catalog::validate_record`] for stored records.
    pub fn validate_object(&self, reference: &str, value: &Value) -> Result<(), ValidationError> {
        let def = self
            .resolve_str(reference)
            .ok_or_else(|| ValidationError::LexiconNotFound(quote(reference)))?;
        let (schema, root) = match def {
            Def::Record(record) => (&record.record, "Record"),
            Def::Field(Field::Object(object)) => (object, "Object"),
            _ => {
                return Err(ValidationError::WrongDefinitionType {
                    reference: quote(reference),
                    expected: "record or object",
                });
            }
        };
        self.validator()
            .object(schema, value, 0)
            .map_err(|fail| fail.into_error(root))
    }

    /// Validates the parameters of a call to endpoint `nsid` (a query, procedure or
    /// subscription), given as an object of already-typed values. An endpoint without
    /// `parameters` accepts anything.
    pub fn validate_params(&self, nsid: &Nsid, params: &Value) -> Result<(), ValidationError> {
        let schema = match self.endpoint(nsid)? {
            Def::Query(q) => q.parameters.as_ref(),
            Def::Procedure(p) => p.parameters.as_ref(),
            Def::Subscription(s) => s.parameters.as_ref(),
            _ => None,
        };
        let Some(schema) = schema else {
            return Ok(());
        };
        let fail_at_root = |fail: Box<Fail>| fail.into_error("Params");
        let Value::Map(map) = params else {
            return Err(fail_at_root(
                Violation::WrongType {
                    expected: "an object",
                }
                .into(),
            ));
        };
        self.validator()
            .properties(&schema.properties, map, 1)
            .map_err(fail_at_root)
    }

    /// Validates the JSON input body of procedure `nsid`.
    pub fn validate_input(&self, nsid: &Nsid, body: &Value) -> Result<(), ValidationError> {
        match self.endpoint(nsid)? {
            Def::Procedure(p) => self.validate_body(p.input.as_ref(), body, "Input"),
            _ => Err(ValidationError::WrongDefinitionType {
                reference: nsid.to_string(),
                expected: "procedure",
            }),
        }
    }

    /// Validates the JSON output body of query or procedure `nsid`.
    pub fn validate_output(&self, nsid: &Nsid, body: &Value) -> Result<(), ValidationError> {
        match self.endpoint(nsid)? {
            Def::Query(q) => self.validate_body(q.output.as_ref(), body, "Output"),
            Def::Procedure(p) => self.validate_body(p.output.as_ref(), body, "Output"),
            _ => Err(ValidationError::WrongDefinitionType {
                reference: nsid.to_string(),
                expected: "query or procedure",
            }),
        }
    }

    /// Validates one message of subscription `nsid`, given with its `$type` (the frame header's
    /// `t`, expanded to a full reference).
    pub fn validate_message(&self, nsid: &Nsid, message: &Value) -> Result<(), ValidationError> {
        let Def::Subscription(s) = self.endpoint(nsid)? else {
            return Err(ValidationError::WrongDefinitionType {
                reference: nsid.to_string(),
                expected: "subscription",
            });
        };
        if !matches!(message, Value::Map(_)) {
            return Err(ValidationError::Invalid {
                path: "Message".to_owned(),
                violation: Violation::WrongType {
                    expected: "an object",
                },
            });
        }
        self.validator()
            .union(&s.message.schema, message, 0)
            .map_err(|fail| fail.into_error("Message"))
    }

    fn endpoint(&self, nsid: &Nsid) -> Result<&Def, ValidationError> {
        self.get(nsid.as_str())
            .and_then(LexiconDoc::main)
            .ok_or_else(|| ValidationError::LexiconNotFound(nsid.to_string()))
    }

    /// A body must be an object; with a schema it must also match it.
    fn validate_body(
        &self,
        body: Option<&Body>,
        value: &Value,
        root: &str,
    ) -> Result<(), ValidationError> {
        match body.and_then(|b| b.schema.as_ref()) {
            Some(schema) => self.validate_against(schema, value, root),
            None => Ok(()),
        }
    }

    fn validate_against(
        &self,
        schema: &Field,
        value: &Value,
        root: &str,
    ) -> Result<(), ValidationError> {
        if !matches!(value, Value::Map(_)) {
            return Err(ValidationError::Invalid {
                path: root.to_owned(),
                violation: Violation::WrongType {
                    expected: "an object",
                },
            });
        }
        self.validator()
            .field(schema, value, 0)
            .map_err(|fail| fail.into_error(root))
    }
}
