//! The atproto data model: one value type, exact DRISL (DAG-CBOR) bytes, atproto JSON, CIDs, blobs.
//!
//! Spec: <https://atproto.com/specs/data-model>. Encoding uses `serde_ipld_dagcbor`; decoding untrusted
//! bytes first runs the strict [`drisl`] check, which rejects everything DRISL forbids (floats,
//! indefinite lengths, non-shortest integers, unsorted or duplicate keys, tags other than 42) before
//! any allocation happens.

mod blob;
mod cbor;
mod cid_util;
pub mod drisl;
mod json;
mod value;

pub use blob::BlobRef;
pub use cbor::{decode, decode_value, encode, encode_value};
pub use cid::Cid;
pub use cid_util::{
    CODEC_DAG_CBOR, CODEC_RAW, cid_for_cbor, cid_for_raw, is_blessed_cid, parse_cid,
};
pub use json::{from_json, to_json, validate_data_model};
pub use value::Value;

/// Why data failed to encode, decode or validate.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DataError {
    /// The bytes break a DRISL rule; the message names the rule and the byte offset.
    #[error("invalid DRISL CBOR at byte {offset}: {reason}")]
    Drisl { offset: usize, reason: &'static str },
    /// The bytes are well-formed DRISL but do not match the expected shape.
    #[error("cbor decode: {0}")]
    Decode(String),
    /// A value could not be encoded (for example a float reached the encoder).
    #[error("cbor encode: {0}")]
    Encode(String),
    /// JSON that is not valid atproto JSON (floats, malformed `$link`/`$bytes`, bad blobs).
    #[error("invalid atproto JSON at {path}: {reason}")]
    Json { path: String, reason: String },
    /// A CID string or binary CID that does not parse, or is not a blessed atproto CID.
    #[error("invalid CID: {0}")]
    Cid(String),
}
