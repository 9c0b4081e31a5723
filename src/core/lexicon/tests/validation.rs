//! Validation of values against a small catalog, one behaviour per test.

use std::collections::BTreeMap;

use serde_json::{Value as Json, json};

use super::super::{Catalog, ValidationError, Violation};
use super::catalog;
use crate::core::data::{self, Value};
use crate::core::syntax::{Nsid, RecordKey};

const CID: &str = "bafyreiclp443lavogvhj3d2ob2cxbfuscni2k5jk7bebjzg7khl3esabwq";

/// A post-like record, its defs, and an endpoint, spread over three documents.
fn test_catalog() -> Catalog {
    catalog(&[
        json!({"lexicon": 1, "id": "com.example.post", "defs": {"main": {
            "type": "record", "key": "tid",
            "record": {"type": "object", "required": ["text", "createdAt"], "nullable": ["reply"],
                "properties": {
                    "text": {"type": "string", "maxLength": 30, "maxGraphemes": 10},
                    "createdAt": {"type": "string", "format": "datetime"},
                    "reply": {"type": "ref", "ref": "com.example.defs#replyRef"},
                    "langs": {"type": "array", "maxLength": 3, "items": {"type": "string", "format": "language"}},
                    "embed": {"type": "union", "refs": ["com.example.defs#images", "com.example.defs#external"]},
                    "closed": {"type": "union", "closed": true, "refs": ["com.example.defs#external", "com.example.like"]},
                    "mode": {"type": "string", "default": "public", "enum": ["public", "private"]},
                    "extra": {"type": "unknown"},
                    "missing": {"type": "ref", "ref": "com.example.nowhere#thing"},
                    "token": {"type": "ref", "ref": "com.example.defs#aToken"},
                    "count": {"type": "integer", "default": 1, "minimum": 1},
                    "nothing": {"type": "null"}
                }}
        }}}),
        json!({"lexicon": 1, "id": "com.example.defs", "defs": {
            "replyRef": {"type": "object", "required": ["uri"], "properties": {"uri": {"type": "string", "format": "at-uri"}}},
            "images": {"type": "object", "required": ["images"], "properties": {
                "images": {"type": "array", "items": {"type": "ref", "ref": "#image"}}}},
            "image": {"type": "object", "required": ["image"], "properties": {
                "image": {"type": "blob", "accept": ["image/*"], "maxSize": 1000}}},
            "external": {"type": "object", "properties": {"uri": {"type": "string", "format": "uri"}}},
            "aToken": {"type": "token"}
        }}),
        json!({"lexicon": 1, "id": "com.example.like", "defs": {"main": {
            "type": "record", "key": "literal:self",
            "record": {"type": "object", "required": ["subject"], "properties": {"subject": {"type": "string"}}}}}}),
        json!({"lexicon": 1, "id": "com.example.getThing", "defs": {
            "main": {"type": "query",
                "parameters": {"type": "params", "required": ["id"], "properties": {
                    "id": {"type": "string", "format": "did"},
                    "limit": {"type": "integer", "minimum": 1, "maximum": 100, "default": 50},
                    "tags": {"type": "array", "items": {"type": "string"}}}},
                "output": {"encoding": "application/json", "schema": {"type": "ref", "ref": "#out"}}},
            "out": {"type": "object", "required": ["n"], "properties": {"n": {"type": "integer"}}}
        }}),
        json!({"lexicon": 1, "id": "com.example.putThing", "defs": {"main": {"type": "procedure",
            "input": {"encoding": "application/json", "schema": {"type": "object", "required": ["a"], "properties": {"a": {"type": "boolean"}}}}}}}),
        json!({"lexicon": 1, "id": "com.example.stream", "defs": {
            "main": {"type": "subscription", "message": {"schema": {"type": "union", "refs": ["#tick"]}}},
            "tick": {"type": "object", "required": ["seq"], "properties": {"seq": {"type": "integer"}}}
        }}),
    ])
}

fn nsid(s: &str) -> Nsid {
    Nsid::parse(s).unwrap()
}

fn value(json: Json) -> Value {
    data::from_json(&json).unwrap()
}

fn post(fields: Json) -> Value {
    let mut record =
        json!({"$type": "com.example.post", "text": "hi", "createdAt": "2024-01-01T00:00:00Z"});
    record
        .as_object_mut()
        .unwrap()
        .extend(fields.as_object().unwrap().clone());
    value(record)
}

fn validate_post(record: &Value) -> Result<(), ValidationError> {
    let rkey = RecordKey::parse("3kznmn7xqxl22").unwrap();
    test_catalog().validate_record(&nsid("com.example.post"), &rkey, record)
}

/// Asserts that the post with `fields` fails with exactly `message`.
fn post_fails(fields: Json, message: &str) {
    let err = validate_post(&post(fields)).unwrap_err();
    assert_eq!(err.to_string(), message);
}

fn post_passes(fields: Json) {
    if let Err(e) = validate_post(&post(fields.clone())) {
        panic!("{fields} failed: {e}");
    }
}

fn blob(mime: &str, size: i64) -> Json {
    json!({"$type": "blob", "ref": {"$link": CID}, "mimeType": mime, "size": size})
}

#[test]
fn a_valid_record_passes() {
    post_passes(json!({}));
    post_passes(json!({"reply": null, "langs": ["en", "pt-BR"], "mode": "private", "count": 3}));
    post_passes(
        json!({"embed": {"$type": "com.example.defs#images", "images": [{"image": blob("image/png", 10)}]}}),
    );
    post_passes(json!({"text": "👩‍👩‍👦‍👦"}));
    post_passes(json!({"unlisted": {"anything": [1, 2]}, "nothing": null}));
}

#[test]
fn errors_carry_the_path_from_the_root() {
    post_fails(
        json!({"embed": {"$type": "com.example.defs#images", "images": [{"image": blob("image/png", 10)}, {"image": blob("video/mp4", 10)}]}}),
        "Record/embed/images/1/image has mime type \"video/mp4\", which the schema does not accept",
    );
    post_fails(
        json!({"embed": {"$type": "com.example.defs#images", "images": [{"image": blob("image/png", 1001)}]}}),
        "Record/embed/images/0/image is a blob of 1001 bytes, larger than the 1000 bytes allowed",
    );
    post_fails(
        json!({"langs": ["en", "123"]}),
        "Record/langs/1 must be a valid language",
    );
    post_fails(
        json!({"reply": {}}),
        "Record/reply must have the property \"uri\"",
    );
}

#[test]
fn required_nullable_and_defaults() {
    let mut record = post(json!({}));
    if let Value::Map(map) = &mut record {
        map.remove("text");
    }
    assert_eq!(
        validate_post(&record).unwrap_err().to_string(),
        "Record must have the property \"text\""
    );
    post_fails(json!({"text": null}), "Record/text must be a string");
    post_fails(json!({"mode": null}), "Record/mode must be a string");
    post_fails(json!({"nothing": 0}), "Record/nothing must be null");
    post_fails(
        json!({"mode": "secret"}),
        "Record/mode must be one of the values the schema enumerates",
    );
    post_fails(json!({"count": 0}), "Record/count can not be less than 1");
}

#[test]
fn string_lengths() {
    post_fails(
        json!({"text": "a".repeat(11)}),
        "Record/text must not be longer than 10 graphemes",
    );
    post_fails(
        json!({"text": "é".repeat(16)}),
        "Record/text must not be longer than 30 bytes",
    );
    post_fails(
        json!({"langs": ["a", "b", "c", "d"]}),
        "Record/langs must not have more than 3 elements",
    );
}

#[test]
fn unions() {
    // An open union lets an unlisted $type through unchecked.
    post_passes(json!({"embed": {"$type": "com.example.other", "images": 5}}));
    post_fails(
        json!({"embed": {"images": []}}),
        "Record/embed must be an object which includes a \"$type\" string",
    );
    post_fails(
        json!({"embed": [1]}),
        "Record/embed must be an object which includes a \"$type\" string",
    );
    post_fails(
        json!({"embed": {"$type": "com.example.defs#images"}}),
        "Record/embed must have the property \"images\"",
    );
    post_fails(
        json!({"closed": {"$type": "com.example.defs#images", "images": []}}),
        "Record/closed has $type \"com.example.defs#images\", which is not one of the closed union's refs",
    );
    // A union may name a record; its object is validated (and `#main` names the main def).
    post_passes(json!({"closed": {"$type": "com.example.like", "subject": "x"}}));
    post_passes(json!({"closed": {"$type": "com.example.like#main", "subject": "x"}}));
    post_fails(
        json!({"closed": {"$type": "com.example.like"}}),
        "Record/closed must have the property \"subject\"",
    );
}

#[test]
fn unknown_must_be_a_plain_object() {
    post_passes(json!({"extra": {"$type": "com.example.whatever", "a": 1}}));
    for bad in [
        json!(false),
        json!([{}]),
        json!("x"),
        blob("image/png", 1),
        json!({"$bytes": "AQI="}),
        json!({"$link": CID}),
    ] {
        post_fails(
            json!({ "extra": bad }),
            "Record/extra must be an object (and not a blob)",
        );
    }
}

#[test]
fn blobs_current_and_legacy() {
    let image = |image: Json| json!({"embed": {"$type": "com.example.defs#images", "images": [{"image": image}]}});
    post_passes(image(json!({"cid": CID, "mimeType": "image/jpeg"})));
    let not_a_blob = "Record/embed/images/0/image must be a blob";
    post_fails(
        image(json!({"cid": CID, "mimeType": "image/jpeg", "size": 3})),
        not_a_blob,
    );
    post_fails(
        image(json!({"cid": "nope", "mimeType": "image/jpeg"})),
        not_a_blob,
    );
    let mut extra = blob("image/png", 1);
    extra["alt"] = json!("x");
    post_fails(image(extra), not_a_blob);
    post_fails(image(json!({"$link": CID})), not_a_blob);
}

#[test]
fn unresolvable_and_non_data_refs() {
    post_fails(
        json!({"missing": {}}),
        "Record/missing: definition not found: com.example.nowhere#thing",
    );
    post_fails(
        json!({"token": "com.example.defs#aToken"}),
        "Record/token can not be validated against a token definition",
    );
}

#[test]
fn record_level_checks() {
    let catalog = test_catalog();
    let tid = RecordKey::parse("3kznmn7xqxl22").unwrap();
    let post_nsid = nsid("com.example.post");
    let err = |collection: &str, rkey: &RecordKey, record: &Value| {
        catalog
            .validate_record(&nsid(collection), rkey, record)
            .unwrap_err()
            .to_string()
    };
    let ok = post(json!({}));
    assert_eq!(
        err("com.example.post", &RecordKey::parse("self").unwrap(), &ok),
        "invalid record key: record key \"self\" does not match the key type tid"
    );
    assert_eq!(
        err("com.example.unknown", &tid, &ok),
        "lexicon not found: com.example.unknown"
    );
    assert_eq!(
        err("com.example.getThing", &tid, &ok),
        "com.example.getThing is not a record definition"
    );
    assert_eq!(
        err("com.example.post", &tid, &Value::List(vec![])),
        "Record must be an object"
    );
    let mut wrong_type = post(json!({"$type": "com.example.post#main"}));
    assert_eq!(
        err("com.example.post", &tid, &wrong_type),
        "Record/$type must be com.example.post, not \"com.example.post#main\""
    );
    if let Value::Map(map) = &mut wrong_type {
        map.remove("$type");
    }
    assert_eq!(
        err("com.example.post", &tid, &wrong_type),
        "Record/$type must be a string"
    );
    let like = value(json!({"$type": "com.example.like", "subject": "x"}));
    assert!(
        catalog
            .validate_record(
                &nsid("com.example.like"),
                &RecordKey::parse("self").unwrap(),
                &like
            )
            .is_ok()
    );
    assert!(catalog.validate_record(&post_nsid, &tid, &ok).is_ok());
    assert!(matches!(
        catalog.validate_record(&post_nsid, &tid, &post(json!({"text": 1}))),
        Err(ValidationError::Invalid {
            violation: Violation::WrongType { .. },
            ..
        })
    ));
}

#[test]
fn objects_params_and_bodies() {
    let catalog = test_catalog();
    let msg = |r: Result<(), ValidationError>| r.map_err(|e| e.to_string());
    assert_eq!(
        msg(catalog.validate_object(
            "com.example.defs#replyRef",
            &value(json!({"uri": "at://did:plc:a"}))
        )),
        Ok(())
    );
    assert_eq!(
        msg(catalog.validate_object("com.example.defs#replyRef", &value(json!({"uri": "x"})))),
        Err("Object/uri must be a valid at-uri".into())
    );
    assert_eq!(
        msg(catalog.validate_object("com.example.like", &value(json!({})))),
        Err("Record must have the property \"subject\"".into())
    );
    assert_eq!(
        msg(catalog.validate_object("com.example.defs#aToken", &value(json!({})))),
        Err("com.example.defs#aToken is not a record or object definition".into())
    );
    assert_eq!(
        msg(catalog.validate_object("not a ref", &value(json!({})))),
        Err("lexicon not found: not a ref".into())
    );

    let get = nsid("com.example.getThing");
    assert_eq!(
        msg(catalog.validate_params(&get, &value(json!({"id": "did:plc:a", "tags": ["a"]})))),
        Ok(())
    );
    assert_eq!(
        msg(catalog.validate_params(&get, &value(json!({})))),
        Err("Params must have the property \"id\"".into())
    );
    assert_eq!(
        msg(catalog.validate_params(&get, &value(json!({"id": "did:plc:a", "limit": 500})))),
        Err("Params/limit can not be greater than 100".into())
    );
    assert_eq!(
        msg(catalog.validate_output(&get, &value(json!({"n": 1})))),
        Ok(())
    );
    assert_eq!(
        msg(catalog.validate_output(&get, &value(json!({"n": "1"})))),
        Err("Output/n must be an integer".into())
    );
    assert_eq!(
        msg(catalog.validate_output(&get, &Value::Integer(1))),
        Err("Output must be an object".into())
    );
    assert_eq!(
        msg(catalog.validate_input(&get, &value(json!({})))),
        Err("com.example.getThing is not a procedure definition".into())
    );
    let put = nsid("com.example.putThing");
    assert_eq!(
        msg(catalog.validate_input(&put, &value(json!({"a": true})))),
        Ok(())
    );
    assert_eq!(
        msg(catalog.validate_input(&put, &value(json!({"a": 1})))),
        Err("Input/a must be a boolean".into())
    );
    assert_eq!(
        msg(catalog.validate_output(&put, &value(json!({"anything": 1})))),
        Ok(())
    );
    let stream = nsid("com.example.stream");
    assert_eq!(
        msg(catalog.validate_message(
            &stream,
            &value(json!({"$type": "com.example.stream#tick", "seq": 1}))
        )),
        Ok(())
    );
    assert_eq!(
        msg(catalog.validate_message(&stream, &value(json!({"$type": "com.example.stream#tick"})))),
        Err("Message must have the property \"seq\"".into())
    );
    assert_eq!(
        msg(catalog.validate_params(&nsid("com.example.nope"), &value(json!({})))),
        Err("lexicon not found: com.example.nope".into())
    );
}

#[test]
fn check_refs_reports_every_problem() {
    let mut catalog = test_catalog();
    let problems = catalog.check_refs().unwrap_err();
    let messages: Vec<String> = problems.iter().map(ToString::to_string).collect();
    assert_eq!(
        messages,
        [
            "lexicon com.example.post: defs/main/record/properties/missing/ref: reference com.example.nowhere#thing does not resolve",
            "lexicon com.example.post: defs/main/record/properties/token/ref: reference com.example.defs#aToken points at a token definition, which a ref can not refer to",
        ]
    );
    catalog
        .add_json(&json!({"lexicon": 1, "id": "com.example.nowhere", "defs": {"thing": {"type": "string"}}}))
        .unwrap();
    catalog
        .add_json(&json!({"lexicon": 1, "id": "com.example.bad", "defs": {"main": {"type": "object", "properties": {
            "u": {"type": "union", "refs": ["com.example.nowhere#thing"]}}}}}))
        .unwrap();
    let messages: Vec<String> = catalog
        .check_refs()
        .unwrap_err()
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(messages.len(), 2);
    assert!(
        messages[0].contains("points at a string definition, which a union can not refer to"),
        "{messages:?}"
    );
    assert!(matches!(
        catalog.add_json(&json!({"lexicon": 1, "id": "com.example.bad", "defs": {"a": {"type": "token"}}})),
        Err(super::super::LexiconError::Duplicate(id)) if id == "com.example.bad"
    ));
    assert!(catalog.remove("com.example.bad").is_some());
    assert_eq!(catalog.check_refs().unwrap_err().len(), 1);
}

#[test]
fn deep_values_stop_at_the_depth_limit() {
    let catalog = catalog(&[
        json!({"lexicon": 1, "id": "com.example.tree", "defs": {"main": {
        "type": "object", "properties": {"child": {"type": "ref", "ref": "#main"}}}}}),
    ]);
    let mut deep = Value::Map(BTreeMap::new());
    for _ in 0..2000 {
        deep = Value::Map(BTreeMap::from([("child".to_owned(), deep)]));
    }
    let err = catalog
        .validate_object("com.example.tree", &deep)
        .unwrap_err();
    assert!(
        matches!(err.violation(), Some(Violation::TooDeep(_))),
        "{err}"
    );
    let mut shallow = Value::Map(BTreeMap::new());
    for _ in 0..100 {
        shallow = Value::Map(BTreeMap::from([("child".to_owned(), shallow)]));
    }
    assert!(
        catalog
            .validate_object("com.example.tree", &shallow)
            .is_ok()
    );
}
