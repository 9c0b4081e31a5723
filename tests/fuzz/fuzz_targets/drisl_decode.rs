//! Fuzz target: the strict DRISL check and decoder must never panic, and whatever they accept must
//! re-encode to the same bytes (DRISL has one encoding per value).
#![no_main]

use libfuzzer_sys::fuzz_target;
use skyhold::core::data;

fuzz_target!(|bytes: &[u8]| {
    if let Ok(value) = data::decode_value(bytes) {
        let again = data::encode_value(&value).expect("an accepted value encodes");
        assert_eq!(again, bytes, "accepted bytes are not canonical");
    }
});
