//! Checks of `blob` fields: the value must be a blob reference of the exact shape the data model
//! defines (current or legacy), its MIME type must match one of the schema's `accept` patterns
//! and its size must not exceed `maxSize`.
//!
//! The shape is strict, as in the reference: a current blob has exactly `$type`, `ref`,
//! `mimeType` and `size`; a legacy one exactly `cid` and `mimeType`. A legacy blob records no
//! size, so `maxSize` can not be checked for it; it passes that check.
//!
//! Spec: <https://atproto.com/specs/lexicon#blob>, <https://atproto.com/specs/data-model#blob-type>

use crate::core::data::{BlobRef, Value};
use crate::core::syntax::quote;

use super::super::{BlobSchema, Violation};

const CURRENT_KEYS: [&str; 4] = ["$type", "mimeType", "ref", "size"];
const LEGACY_KEYS: [&str; 2] = ["cid", "mimeType"];

pub(super) fn blob(schema: &BlobSchema, value: &Value) -> Result<(), Violation> {
    let not_a_blob = || Violation::WrongType { expected: "a blob" };
    let Value::Map(map) = value else {
        return Err(not_a_blob());
    };
    let keys: &[&str] = if map.contains_key("$type") {
        &CURRENT_KEYS
    } else {
        &LEGACY_KEYS
    };
    if map.len() != keys.len() || !keys.iter().all(|k| map.contains_key(*k)) {
        return Err(not_a_blob());
    }
    let blob = BlobRef::from_value(value).map_err(|_| not_a_blob())?;
    if !schema.accept.is_empty() && !schema.accept.iter().any(|p| p.matches(&blob.mime_type)) {
        return Err(Violation::BlobMimeType(quote(&blob.mime_type)));
    }
    if let (Some(max), Some(size)) = (schema.max_size, blob.size)
        && size > max
    {
        return Err(Violation::BlobTooLarge { size, max });
    }
    Ok(())
}
