//! Unit tests of the lexicon module: schema parsing ([`schema`]), validation ([`validation`]) and
//! robustness on arbitrary input ([`robustness`]).

mod robustness;
mod schema;
mod validation;

use serde_json::{Value as Json, json};

use super::{Catalog, LexiconDoc, LexiconError};

/// A document with id `com.example.test` and the given `defs`.
fn doc(defs: Json) -> Json {
    json!({"lexicon": 1, "id": "com.example.test", "defs": defs})
}

/// A document whose `main` is the given definition.
fn main_doc(main: Json) -> Json {
    doc(json!({ "main": main }))
}

/// Parses a document, returning the error message on failure.
fn parse(json: &Json) -> Result<LexiconDoc, String> {
    LexiconDoc::from_json(json).map_err(|e: LexiconError| e.to_string())
}

/// A catalog of the given documents, which must all load.
fn catalog(docs: &[Json]) -> Catalog {
    let mut catalog = Catalog::new();
    for doc in docs {
        catalog.add_json(doc).unwrap();
    }
    catalog
}
