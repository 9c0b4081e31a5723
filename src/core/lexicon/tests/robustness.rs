//! Arbitrary schemas and values: the parser and the validator must answer, never panic.
//!
//! Schemas are generated from the real vocabulary (every type name and constraint key, with
//! values of every JSON kind), so many of them get past the first checks and exercise the deeper
//! rules; each schema that loads is then used to validate arbitrary values.

use std::collections::BTreeMap;

use proptest::prelude::*;
use serde_json::{Value as Json, json};

use super::super::{Catalog, LexiconDoc};
use crate::core::data::Value;
use crate::core::syntax::{Nsid, RecordKey};

const TYPES: [&str; 20] = [
    "null",
    "boolean",
    "integer",
    "string",
    "bytes",
    "cid-link",
    "blob",
    "array",
    "object",
    "params",
    "token",
    "ref",
    "union",
    "unknown",
    "record",
    "query",
    "procedure",
    "subscription",
    "permission-set",
    "permission",
];

const KEYS: [&str; 22] = [
    "default",
    "const",
    "enum",
    "knownValues",
    "minimum",
    "maximum",
    "minLength",
    "maxLength",
    "minGraphemes",
    "maxGraphemes",
    "format",
    "accept",
    "maxSize",
    "required",
    "nullable",
    "closed",
    "key",
    "ref",
    "refs",
    "resource",
    "collection",
    "lxm",
];

fn scalar_json() -> impl Strategy<Value = Json> {
    prop_oneof![
        Just(Json::Null),
        any::<bool>().prop_map(Json::Bool),
        (-3i64..30).prop_map(Json::from),
        Just(json!(1.5)),
        prop::sample::select(vec![
            "did",
            "datetime",
            "image/*",
            "*",
            "#a",
            "#main",
            "com.example.test",
            "com.example.test#a",
            "tid",
            "literal:self",
            "any",
            "a",
            "repo",
            "rpc",
            "x",
        ])
        .prop_map(Json::from),
    ]
}

/// A schema-shaped JSON object: a type, some constraint keys, and nested schemas.
fn schema_json() -> impl Strategy<Value = Json> {
    let leaf = (
        prop::sample::select(TYPES.to_vec()),
        prop::collection::btree_map(prop::sample::select(KEYS.to_vec()), scalar_json(), 0..4),
    )
        .prop_map(|(t, keys)| {
            let mut map: serde_json::Map<String, Json> =
                keys.into_iter().map(|(k, v)| (k.to_owned(), v)).collect();
            map.insert("type".into(), t.into());
            Json::Object(map)
        });
    leaf.prop_recursive(4, 32, 4, |inner| {
        (
            inner.clone(),
            prop::collection::btree_map("[a-c]", inner.clone(), 0..3),
            prop::collection::vec(scalar_json(), 0..3),
            prop::sample::select(vec![
                "items",
                "properties",
                "record",
                "schema",
                "parameters",
            ]),
        )
            .prop_map(|(mut node, children, list, slot)| {
                if let Json::Object(map) = &mut node {
                    let children: serde_json::Map<String, Json> = children.into_iter().collect();
                    let value = match slot {
                        "properties" => Json::Object(children),
                        _ => children.into_values().next().unwrap_or(Json::Array(list)),
                    };
                    map.insert(slot.to_owned(), value);
                }
                node
            })
    })
}

fn value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::Integer),
        "[a-z:.#]{0,12}".prop_map(Value::String),
        prop::collection::vec(any::<u8>(), 0..8).prop_map(Value::Bytes),
    ];
    leaf.prop_recursive(4, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::List),
            prop::collection::btree_map("[a-c]|\\$type", inner, 0..4).prop_map(Value::Map),
        ]
    })
}

proptest! {
    #[test]
    fn arbitrary_schemas_and_values_never_panic(
        main in schema_json(),
        other in schema_json(),
        data in prop::collection::vec(value(), 1..4),
    ) {
        let doc = json!({"lexicon": 1, "id": "com.example.test", "defs": {"main": main, "a": other}});
        let mut catalog = Catalog::new();
        if let Ok(parsed) = LexiconDoc::from_json(&doc) {
            catalog.add(parsed).unwrap();
        }
        let _ = catalog.check_refs();
        let nsid = Nsid::parse("com.example.test").unwrap();
        let rkey = RecordKey::parse("self").unwrap();
        for value in &data {
            let mut record = BTreeMap::new();
            record.insert("$type".to_owned(), Value::from("com.example.test"));
            record.insert("a".to_owned(), value.clone());
            let _ = catalog.validate_record(&nsid, &rkey, &Value::Map(record));
            let _ = catalog.validate_object("com.example.test#a", value);
            let _ = catalog.validate_object("com.example.test", value);
            let _ = catalog.validate_params(&nsid, value);
            let _ = catalog.validate_input(&nsid, value);
            let _ = catalog.validate_output(&nsid, value);
            let _ = catalog.validate_message(&nsid, value);
        }
    }

    #[test]
    fn arbitrary_json_documents_never_panic(main in schema_json(), id in "[a-z.]{0,20}", version in scalar_json()) {
        let _ = LexiconDoc::from_json(&json!({"lexicon": version, "id": id, "defs": {"main": main}}));
        let _ = LexiconDoc::from_json(&main);
    }
}
