//! atproto JSON ↔ [`Value`], and the generic (schema-less) data-model validation.
//!
//! Spec: <https://atproto.com/specs/data-model#json-representation>. Links are `{"$link": cid}`,
//! bytes are `{"$bytes": base64}` (standard alphabet, padding optional on input, none on output),
//! blobs are objects with `$type: "blob"`. JSON numbers must be integers: `123.0` is read as 123,
//! `123.5` is refused.

use std::collections::BTreeMap;

use std::sync::LazyLock;

use data_encoding::{BASE64_NOPAD, Encoding};
use serde_json::Value as Json;

use super::{DataError, Value, parse_cid};

/// Largest integer a JSON float can carry exactly (2^53); beyond it "integer-like" floats are lossy.
const MAX_SAFE_FLOAT_INTEGER: f64 = 9_007_199_254_740_992.0;

/// Reads atproto JSON into a [`Value`], enforcing the data-model rules for `$link`, `$bytes`,
/// `$type` and blobs.
pub fn from_json(json: &Json) -> Result<Value, DataError> {
    convert(json, &mut String::from("$"), 0)
}

fn fail(path: &str, reason: impl Into<String>) -> DataError {
    DataError::Json {
        path: path.to_owned(),
        reason: reason.into(),
    }
}

fn convert(json: &Json, path: &mut String, depth: usize) -> Result<Value, DataError> {
    if depth > super::drisl::MAX_DEPTH {
        return Err(fail(path, "nesting too deep"));
    }
    Ok(match json {
        Json::Null => Value::Null,
        Json::Bool(b) => Value::Bool(*b),
        Json::Number(n) => Value::Integer(
            integer(n)
                .ok_or_else(|| fail(path, "numbers must be integers (floats are not allowed)"))?,
        ),
        Json::String(s) => Value::String(s.clone()),
        Json::Array(items) => {
            let mut list = Vec::with_capacity(items.len());
            for (i, item) in items.iter().enumerate() {
                let len = path.len();
                path.push_str(&format!("[{i}]"));
                list.push(convert(item, path, depth + 1)?);
                path.truncate(len);
            }
            Value::List(list)
        }
        Json::Object(object) => {
            if let Some(link) = object.get("$link") {
                if object.len() != 1 {
                    return Err(fail(path, "$link object must have no other fields"));
                }
                let text = link
                    .as_str()
                    .ok_or_else(|| fail(path, "$link must be a string"))?;
                return parse_cid(text)
                    .map(Value::Link)
                    .map_err(|e| fail(path, e.to_string()));
            }
            if let Some(bytes) = object.get("$bytes") {
                if object.len() != 1 {
                    return Err(fail(path, "$bytes object must have no other fields"));
                }
                let text = bytes
                    .as_str()
                    .ok_or_else(|| fail(path, "$bytes must be a string"))?;
                return decode_base64(text)
                    .map(Value::Bytes)
                    .ok_or_else(|| fail(path, "$bytes is not valid base64"));
            }
            let mut map = BTreeMap::new();
            for (key, value) in object {
                let len = path.len();
                path.push('.');
                path.push_str(key);
                map.insert(key.clone(), convert(value, path, depth + 1)?);
                path.truncate(len);
            }
            let value = Value::Map(map);
            check_type_and_blob(&value, path)?;
            value
        }
    })
}

fn integer(n: &serde_json::Number) -> Option<i64> {
    if let Some(i) = n.as_i64() {
        return Some(i);
    }
    if n.is_u64() {
        return None;
    }
    let f = n.as_f64()?;
    // "123.0" is an integer written as a float: the reference reads it as 123.
    if f.fract() == 0.0 && f.abs() <= MAX_SAFE_FLOAT_INTEGER {
        #[allow(clippy::cast_possible_truncation)]
        return Some(f as i64);
    }
    None
}

/// Standard base64 without padding that ignores non-zero trailing bits, as the reference and Go
/// decoders do (`"123"` reads as the bytes of `"120"`).
static BASE64_LENIENT: LazyLock<Encoding> = LazyLock::new(|| {
    let mut spec = BASE64_NOPAD.specification();
    spec.check_trailing_bits = false;
    spec.encoding()
        .unwrap_or_else(|_| unreachable!("a variant of the standard base64 specification"))
});

/// Standard base64, with or without padding (the spec allows both on input).
fn decode_base64(text: &str) -> Option<Vec<u8>> {
    let unpadded = text
        .strip_suffix("==")
        .or_else(|| text.strip_suffix('='))
        .unwrap_or(text);
    // Padding, when present, must make the length a multiple of four.
    if unpadded.len() != text.len() && !text.len().is_multiple_of(4) {
        return None;
    }
    BASE64_LENIENT.decode(unpadded.as_bytes()).ok()
}

/// `$type`, where present, is a non-empty string; a `blob` object has a link `ref`, a non-empty
/// `mimeType` and an integer `size`.
fn check_type_and_blob(value: &Value, path: &str) -> Result<(), DataError> {
    let Some(type_field) = value.get("$type") else {
        return Ok(());
    };
    let type_name = match type_field {
        Value::String(s) if !s.is_empty() => s,
        Value::String(_) => return Err(fail(path, "$type must not be empty")),
        _ => return Err(fail(path, "$type must be a string")),
    };
    if type_name == "blob" {
        super::BlobRef::from_value(value).map_err(|e| fail(path, e.to_string()))?;
    }
    Ok(())
}

/// Writes a [`Value`] as atproto JSON.
pub fn to_json(value: &Value) -> Json {
    match value {
        Value::Null => Json::Null,
        Value::Bool(b) => Json::Bool(*b),
        Value::Integer(i) => Json::from(*i),
        Value::String(s) => Json::String(s.clone()),
        Value::Bytes(b) => {
            let mut object = serde_json::Map::new();
            object.insert("$bytes".into(), Json::String(BASE64_NOPAD.encode(b)));
            Json::Object(object)
        }
        Value::List(list) => Json::Array(list.iter().map(to_json).collect()),
        Value::Map(map) => Json::Object(map.iter().map(|(k, v)| (k.clone(), to_json(v))).collect()),
        Value::Link(cid) => {
            let mut object = serde_json::Map::new();
            object.insert("$link".into(), Json::String(cid.to_string()));
            Json::Object(object)
        }
    }
}

/// Generic data-model validation of a JSON document (no Lexicon): the top level is an object and
/// every nested value follows the data-model rules.
pub fn validate_data_model(json: &Json) -> Result<Value, DataError> {
    if !json.is_object() {
        return Err(fail("$", "the top level must be an object"));
    }
    from_json(json)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn links_bytes_and_integers() {
        let cid = "bafyreidfayvfuwqa7qlnopdjiqrxzs6blmoeu4rujcjtnci5beludirz2a";
        let doc = json!({"a": {"$link": cid}, "b": {"$bytes": "AQID"}, "c": 5, "d": 7.0});
        let value = from_json(&doc).unwrap();
        assert_eq!(
            value.get("a").and_then(Value::as_link).unwrap().to_string(),
            cid
        );
        assert_eq!(value.get("b"), Some(&Value::Bytes(vec![1, 2, 3])));
        assert_eq!(value.get("d"), Some(&Value::Integer(7)));
        let back = to_json(&value);
        assert_eq!(back["a"], json!({"$link": cid}));
        assert_eq!(back["b"], json!({"$bytes": "AQID"}));
    }

    #[test]
    fn refusals() {
        assert!(from_json(&json!({"a": 1.5})).is_err());
        assert!(from_json(&json!({"a": u64::MAX})).is_err());
        assert!(from_json(&json!({"$type": ""})).is_err());
        assert!(from_json(&json!({"a": {"$bytes": "AQID", "x": 1}})).is_err());
        assert!(from_json(&json!({"a": {"$bytes": "A!!!"}})).is_err());
        assert!(validate_data_model(&json!([1])).is_err());
        assert_eq!(
            from_json(&json!({"a": {"$bytes": "AQI="}}))
                .unwrap()
                .get("a"),
            Some(&Value::Bytes(vec![1, 2]))
        );
    }
}
