//! Fuzz target: atproto JSON → value → DRISL → value → JSON must never panic and must round-trip.
#![no_main]

use libfuzzer_sys::fuzz_target;
use skyhold::core::data;

fuzz_target!(|bytes: &[u8]| {
    let Ok(json) = serde_json::from_slice::<serde_json::Value>(bytes) else {
        return;
    };
    if let Ok(value) = data::from_json(&json) {
        let cbor = data::encode_value(&value).expect("an accepted value encodes");
        let back = data::decode_value(&cbor).expect("encoded bytes decode");
        assert_eq!(back, value);
        let _ = data::to_json(&back);
    }
});
