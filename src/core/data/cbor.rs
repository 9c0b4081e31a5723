//! DRISL encoding and strict decoding of any serde type, and of [`Value`].
//!
//! Spec: <https://atproto.com/specs/data-model#drisl-cbor>. Encoding goes through
//! `serde_ipld_dagcbor`, which writes shortest forms and sorts map keys length-first. Decoding runs
//! [`drisl::check`](super::drisl::check) before the serde decoder, so non-canonical input is refused.

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::{DataError, Value, drisl};

/// Encodes a value as DRISL bytes.
pub fn encode<T: Serialize + ?Sized>(value: &T) -> Result<Vec<u8>, DataError> {
    serde_ipld_dagcbor::to_vec(value).map_err(|e| DataError::Encode(e.to_string()))
}

/// Encodes a [`Value`] as DRISL bytes.
pub fn encode_value(value: &Value) -> Result<Vec<u8>, DataError> {
    encode(value)
}

/// Decodes untrusted DRISL bytes into `T`, refusing anything that is not canonical DRISL.
pub fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, DataError> {
    drisl::check(bytes)?;
    serde_ipld_dagcbor::from_slice(bytes).map_err(|e| DataError::Decode(e.to_string()))
}

/// Decodes untrusted DRISL bytes into a [`Value`].
pub fn decode_value(bytes: &[u8]) -> Result<Value, DataError> {
    decode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    #[test]
    fn keys_sort_length_first() {
        let mut map = BTreeMap::new();
        map.insert("bb".to_owned(), Value::Integer(1));
        map.insert("a".to_owned(), Value::Integer(2));
        map.insert("c".to_owned(), Value::Null);
        let bytes = encode_value(&Value::Map(map)).unwrap();
        // {"a":2,"c":null,"bb":1}
        assert_eq!(
            data_encoding::HEXLOWER.encode(&bytes),
            "a36161026163f662626201"
        );
    }

    #[test]
    fn round_trips_links_and_bytes() {
        let cid = super::super::cid_for_cbor(b"\xa0");
        let value = Value::List(vec![
            Value::Link(cid),
            Value::Bytes(vec![1, 2, 3]),
            Value::Integer(-5),
        ]);
        let bytes = encode_value(&value).unwrap();
        assert_eq!(decode_value(&bytes).unwrap(), value);
    }

    #[test]
    fn refuses_floats_on_decode() {
        assert!(decode_value(&[0xfb, 0x3f, 0xf0, 0, 0, 0, 0, 0, 0]).is_err());
    }
}
