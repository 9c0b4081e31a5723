//! The catalog-wide reference check: every `ref` and union entry in every document must name a
//! definition the catalog holds, of a kind it may name.
//!
//! A `ref` may name any definition that describes data (a record, or a definable field type), not
//! a token, an endpoint or a permission set. A union entry must name an object or a record. The
//! check walks every field schema of every definition, including endpoint parameters, bodies and
//! subscription messages.
//!
//! Spec: <https://atproto.com/specs/lexicon#ref>, <https://atproto.com/specs/lexicon#union>

use super::{Catalog, Def, DefRef, Field, LexiconDoc, LexiconError, ObjectSchema, Property};

/// Every problem with the references of the documents in `catalog`.
pub(super) fn check(catalog: &Catalog) -> Vec<LexiconError> {
    let mut walk = Walk {
        catalog,
        id: "",
        path: String::new(),
        problems: Vec::new(),
    };
    for doc in catalog.iter() {
        walk.doc(doc);
    }
    walk.problems
}

struct Walk<'c> {
    catalog: &'c Catalog,
    id: &'c str,
    path: String,
    problems: Vec<LexiconError>,
}

impl<'c> Walk<'c> {
    fn doc(&mut self, doc: &'c LexiconDoc) {
        self.id = doc.id().as_str();
        for (name, def) in doc.defs() {
            self.path = format!("defs/{name}");
            self.def(def);
        }
    }

    fn def(&mut self, def: &Def) {
        match def {
            Def::Record(record) => self.nested("record", |w| w.object(&record.record)),
            Def::Query(query) => {
                if let Some(params) = &query.parameters {
                    self.nested("parameters", |w| w.properties(&params.properties));
                }
                self.body(
                    "output",
                    query.output.as_ref().and_then(|b| b.schema.as_ref()),
                );
            }
            Def::Procedure(procedure) => {
                if let Some(params) = &procedure.parameters {
                    self.nested("parameters", |w| w.properties(&params.properties));
                }
                self.body(
                    "input",
                    procedure.input.as_ref().and_then(|b| b.schema.as_ref()),
                );
                self.body(
                    "output",
                    procedure.output.as_ref().and_then(|b| b.schema.as_ref()),
                );
            }
            Def::Subscription(subscription) => {
                if let Some(params) = &subscription.parameters {
                    self.nested("parameters", |w| w.properties(&params.properties));
                }
                let refs = &subscription.message.schema.refs;
                self.nested("message/schema", |w| w.union_refs(refs));
            }
            Def::PermissionSet(_) | Def::Token => {}
            Def::Field(field) => self.field(field),
        }
    }

    fn body(&mut self, key: &str, schema: Option<&Field>) {
        if let Some(schema) = schema {
            self.nested(&format!("{key}/schema"), |w| w.field(schema));
        }
    }

    fn field(&mut self, field: &Field) {
        match field {
            Field::Array(array) => self.nested("items", |w| w.field(&array.items)),
            Field::Object(object) => self.object(object),
            Field::Ref(reference) => self.nested("ref", |w| w.target(reference, "ref")),
            Field::Union(union) => self.nested("refs", |w| w.union_refs(&union.refs)),
            _ => {}
        }
    }

    fn object(&mut self, object: &ObjectSchema) {
        self.properties(&object.properties);
    }

    fn properties(&mut self, properties: &[Property]) {
        for property in properties {
            self.nested(&format!("properties/{}", property.name), |w| {
                w.field(&property.schema);
            });
        }
    }

    fn union_refs(&mut self, refs: &[DefRef]) {
        for reference in refs {
            self.target(reference, "union");
        }
    }

    /// Checks one reference: it resolves, and to a kind of definition `via` may name.
    fn target(&mut self, reference: &DefRef, via: &'static str) {
        let Some(def) = self.catalog.resolve(reference) else {
            self.problems.push(LexiconError::UnresolvedRef {
                id: self.id.to_owned(),
                path: self.path.clone(),
                reference: reference.to_string(),
            });
            return;
        };
        let allowed = match via {
            "union" => matches!(def, Def::Record(_) | Def::Field(Field::Object(_))),
            _ => matches!(def, Def::Record(_) | Def::Field(_)),
        };
        if !allowed {
            self.problems.push(LexiconError::BadRefTarget {
                id: self.id.to_owned(),
                path: self.path.clone(),
                reference: reference.to_string(),
                target: def.type_name(),
                via,
            });
        }
    }

    /// Runs `f` with `key` appended to the path.
    fn nested(&mut self, key: &str, f: impl FnOnce(&mut Self)) {
        let len = self.path.len();
        self.path.push('/');
        self.path.push_str(key);
        f(self);
        self.path.truncate(len);
    }
}
