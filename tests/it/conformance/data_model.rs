//! `interop-tests/data-model/`: DRISL bytes, CIDs and atproto JSON in both directions, plus the
//! generic data-model validity lists.

use data_encoding::BASE64_NOPAD;
use skyhold::core::data::{self, Value};

use crate::fixtures;

#[test]
fn data_model_fixtures_encode_decode_and_hash() {
    let file = "interop-tests/data-model/data-model-fixtures.json";
    let cases = fixtures::json(file);
    let cases = cases.as_array().expect("array of cases");
    let mut failures = Vec::new();
    for (i, case) in cases.iter().enumerate() {
        let expected_cbor = BASE64_NOPAD
            .decode(case["cbor_base64"].as_str().unwrap().as_bytes())
            .unwrap();
        let value = data::from_json(&case["json"]).unwrap();
        let cbor = data::encode_value(&value).unwrap();
        if cbor != expected_cbor {
            failures.push(format!("case {i}: JSON→CBOR bytes differ"));
        }
        if data::cid_for_cbor(&cbor).to_string() != case["cid"].as_str().unwrap() {
            failures.push(format!("case {i}: CID differs"));
        }
        let decoded: Value = data::decode_value(&expected_cbor).unwrap();
        if data::to_json(&decoded) != case["json"] {
            failures.push(format!("case {i}: CBOR→JSON differs"));
        }
    }
    fixtures::report(file, cases.len() - failures.len(), cases.len());
    assert!(failures.is_empty(), "{failures:#?}");
}

#[test]
fn data_model_valid_and_invalid_lists() {
    for (file, want_valid) in [
        ("interop-tests/data-model/data-model-valid.json", true),
        ("interop-tests/data-model/data-model-invalid.json", false),
    ] {
        let cases = fixtures::json(file);
        let cases = cases.as_array().expect("array of cases");
        let mut failures = Vec::new();
        for case in cases {
            let result = data::validate_data_model(&case["json"]);
            if result.is_ok() != want_valid {
                failures.push(format!("{}: got {result:?}", case["note"]));
            }
        }
        fixtures::report(file, cases.len() - failures.len(), cases.len());
        assert!(failures.is_empty(), "{file}: {failures:#?}");
    }
}

#[test]
fn indigo_record_cbor_round_trips_byte_for_byte() {
    for file in [
        "indigo-testdata/testing/testdata/feedpost_record.cbor",
        "indigo-testdata/testing/testdata/post_richtext_link.cbor",
    ] {
        let bytes = fixtures::bytes(file);
        let value = data::decode_value(&bytes).unwrap();
        assert_eq!(value.type_name(), Some("app.bsky.feed.post"), "{file}");
        assert_eq!(data::encode_value(&value).unwrap(), bytes, "{file}");
        fixtures::report(file, 1, 1);
    }
}
