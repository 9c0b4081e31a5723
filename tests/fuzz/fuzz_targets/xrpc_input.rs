//! Fuzz target: the hostile-input classes of an XRPC call that the other targets do not reach.
//! A JSON body (malformed, wrongly typed, deeply nested, odd values) goes through atproto JSON and
//! is validated as a procedure input and as a record against schemas of the official shapes
//! (applyWrites, a post), and every string in it goes through every identifier parser (DID, handle,
//! NSID, record key, AT-URI, datetime, TID, language, CID). None may panic; what a parser accepts
//! must print back as it was given.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use skyhold::core::data;
use skyhold::core::lexicon::Catalog;
use skyhold::core::syntax::{
    AtIdentifier, AtUri, Datetime, Did, Handle, Language, Nsid, RecordKey, Tid,
    is_valid_cid_syntax,
};

const APPLY_WRITES: &str = r##"{"lexicon": 1, "id": "com.example.applyWrites", "defs": {
  "main": {"type": "procedure", "input": {"encoding": "application/json", "schema": {
    "type": "object", "required": ["repo", "writes"], "properties": {
      "repo": {"type": "string", "format": "at-identifier"},
      "validate": {"type": "boolean"},
      "writes": {"type": "array", "maxLength": 200, "items": {"type": "union",
        "refs": ["#create", "#delete"], "closed": true}},
      "swapCommit": {"type": "string", "format": "cid"}}}}},
  "create": {"type": "object", "required": ["collection", "value"], "properties": {
    "collection": {"type": "string", "format": "nsid"},
    "rkey": {"type": "string", "format": "record-key", "maxLength": 512},
    "value": {"type": "unknown"}}},
  "delete": {"type": "object", "required": ["collection", "rkey"], "properties": {
    "collection": {"type": "string", "format": "nsid"},
    "rkey": {"type": "string", "format": "record-key"}}}}}"##;

const POST: &str = r##"{"lexicon": 1, "id": "com.example.post", "defs": {"main": {
  "type": "record", "key": "tid", "record": {"type": "object", "required": ["text", "createdAt"],
  "properties": {
    "text": {"type": "string", "maxLength": 3000, "maxGraphemes": 300},
    "langs": {"type": "array", "maxLength": 3, "items": {"type": "string", "format": "language"}},
    "reply": {"type": "ref", "ref": "#replyRef"},
    "embed": {"type": "union", "refs": ["#image"]},
    "createdAt": {"type": "string", "format": "datetime"}}}},
  "replyRef": {"type": "object", "required": ["root", "parent"], "properties": {
    "root": {"type": "string", "format": "at-uri"}, "parent": {"type": "string", "format": "at-uri"}}},
  "image": {"type": "object", "required": ["image"], "properties": {
    "image": {"type": "blob", "accept": ["image/*"], "maxSize": 1000000},
    "alt": {"type": "string"}}}}}"##;

fn catalog() -> &'static Catalog {
    static CATALOG: OnceLock<Catalog> = OnceLock::new();
    CATALOG.get_or_init(|| {
        let mut catalog = Catalog::new();
        for text in [APPLY_WRITES, POST] {
            let json: serde_json::Value = serde_json::from_str(text).expect("schema JSON");
            catalog.add_json(&json).expect("a valid schema");
        }
        catalog
    })
}

/// Every identifier parser on `s`; an accepted value prints as it was given.
fn parse_all(s: &str) {
    if let Ok(did) = Did::parse(s) {
        assert_eq!(did.as_str(), s);
    }
    if let Ok(nsid) = Nsid::parse(s) {
        assert_eq!(nsid.as_str(), s);
    }
    if let Ok(rkey) = RecordKey::parse(s) {
        assert_eq!(rkey.as_str(), s);
    }
    let _ = Handle::parse(s);
    let _ = AtIdentifier::parse(s);
    let _ = AtUri::parse(s);
    let _ = Datetime::parse(s);
    let _ = Tid::parse(s);
    let _ = Language::parse(s);
    let _ = is_valid_cid_syntax(s);
}

fn strings(json: &serde_json::Value, out: &mut Vec<String>) {
    match json {
        serde_json::Value::String(s) => out.push(s.clone()),
        serde_json::Value::Array(items) => items.iter().for_each(|i| strings(i, out)),
        serde_json::Value::Object(map) => {
            for (key, value) in map {
                out.push(key.clone());
                strings(value, out);
            }
        }
        _ => {}
    }
}

fuzz_target!(|bytes: &[u8]| {
    if let Ok(text) = std::str::from_utf8(bytes) {
        parse_all(text);
    }
    let Ok(json) = serde_json::from_slice::<serde_json::Value>(bytes) else {
        return;
    };
    let mut found = Vec::new();
    strings(&json, &mut found);
    for s in found.iter().take(64) {
        parse_all(s);
    }
    let Ok(value) = data::from_json(&json) else {
        return;
    };
    let catalog = catalog();
    let nsid = Nsid::parse("com.example.applyWrites").expect("an NSID");
    let _ = catalog.validate_input(&nsid, &value);
    let collection = Nsid::parse("com.example.post").expect("an NSID");
    let rkey = RecordKey::parse("3jzfcijpj2z2a").expect("a record key");
    let _ = catalog.validate_record(&collection, &rkey, &value);
});
