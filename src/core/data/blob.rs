//! Blob references: the `{"$type":"blob", ref, mimeType, size}` object records use to point at
//! media, and the legacy `{cid, mimeType}` form that must still be readable.
//!
//! Spec: <https://atproto.com/specs/data-model#blob-type> and <https://atproto.com/specs/blob>.

use std::collections::BTreeMap;

use cid::Cid;

use super::{DataError, Value, parse_cid};

/// A reference from a record to a blob.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BlobRef {
    pub cid: Cid,
    pub mime_type: String,
    /// Size in bytes; `None` only for the legacy form, which did not record it.
    pub size: Option<u64>,
}

impl BlobRef {
    /// Reads a blob object in the current or the legacy form.
    pub fn from_value(value: &Value) -> Result<BlobRef, DataError> {
        let invalid = |reason: &str| DataError::Decode(format!("invalid blob: {reason}"));
        let mime_type = value
            .get("mimeType")
            .and_then(Value::as_str)
            .filter(|m| !m.is_empty())
            .ok_or_else(|| invalid("mimeType must be a non-empty string"))?
            .to_owned();
        if value.type_name() == Some("blob") {
            let cid = *value
                .get("ref")
                .and_then(Value::as_link)
                .ok_or_else(|| invalid("ref must be a link"))?;
            let size = value
                .get("size")
                .and_then(Value::as_integer)
                .and_then(|s| u64::try_from(s).ok())
                .ok_or_else(|| invalid("size must be a non-negative integer"))?;
            return Ok(BlobRef {
                cid,
                mime_type,
                size: Some(size),
            });
        }
        // Legacy form: {cid: "<string>", mimeType}.
        let cid = value
            .get("cid")
            .and_then(Value::as_str)
            .ok_or_else(|| invalid("not a blob object"))
            .and_then(|s| parse_cid(s).map_err(|_| invalid("legacy cid does not parse")))?;
        Ok(BlobRef {
            cid,
            mime_type,
            size: None,
        })
    }

    /// The current (typed) form of this reference. Legacy references are never written back as such.
    pub fn to_value(&self) -> Value {
        let mut map = BTreeMap::new();
        map.insert("$type".into(), Value::from("blob"));
        map.insert("ref".into(), Value::Link(self.cid));
        map.insert("mimeType".into(), Value::from(self.mime_type.as_str()));
        map.insert(
            "size".into(),
            Value::Integer(i64::try_from(self.size.unwrap_or(0)).unwrap_or(i64::MAX)),
        );
        Value::Map(map)
    }

    /// Every blob a value refers to, in document order (current and legacy forms).
    pub fn collect(value: &Value) -> Vec<BlobRef> {
        let mut out = Vec::new();
        walk(value, &mut out);
        out
    }
}

fn walk(value: &Value, out: &mut Vec<BlobRef>) {
    match value {
        Value::Map(map) => {
            let looks_like_blob = value.type_name() == Some("blob")
                || (map.len() == 2 && map.contains_key("cid") && map.contains_key("mimeType"));
            if looks_like_blob && let Ok(blob) = BlobRef::from_value(value) {
                out.push(blob);
                return;
            }
            for v in map.values() {
                walk(v, out);
            }
        }
        Value::List(list) => list.iter().for_each(|v| walk(v, out)),
        _ => {}
    }
}
