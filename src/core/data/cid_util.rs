//! CID computation and parsing for the two blessed atproto CID forms.
//!
//! Spec: <https://atproto.com/specs/data-model#link-and-cid-formats>. atproto uses CIDv1 with a
//! sha2-256 multihash and either the dag-cbor codec (records, commits, MST nodes) or raw (blobs).

use cid::Cid;
use multihash::Multihash;
use sha2::{Digest, Sha256};

use super::DataError;

/// Multicodec code for dag-cbor.
pub const CODEC_DAG_CBOR: u64 = 0x71;
/// Multicodec code for raw bytes (blobs).
pub const CODEC_RAW: u64 = 0x55;
/// Multihash code for sha2-256.
const MULTIHASH_SHA2_256: u64 = 0x12;

fn cid_for(codec: u64, bytes: &[u8]) -> Cid {
    let digest = Sha256::digest(bytes);
    // A 32-byte digest always fits the 64-byte multihash buffer, so `wrap` cannot fail here.
    let hash = Multihash::<64>::wrap(MULTIHASH_SHA2_256, &digest)
        .unwrap_or_else(|_| unreachable!("32-byte digest fits a 64-byte multihash"));
    Cid::new_v1(codec, hash)
}

/// The CID of DRISL-encoded bytes (codec dag-cbor, sha2-256).
pub fn cid_for_cbor(bytes: &[u8]) -> Cid {
    cid_for(CODEC_DAG_CBOR, bytes)
}

/// The CID of a blob's bytes (codec raw, sha2-256).
pub fn cid_for_raw(bytes: &[u8]) -> Cid {
    cid_for(CODEC_RAW, bytes)
}

/// Whether a CID is one of the forms atproto writes: v1, sha2-256 (32 bytes), dag-cbor or raw.
pub fn is_blessed_cid(cid: &Cid) -> bool {
    cid.version() == cid::Version::V1
        && (cid.codec() == CODEC_DAG_CBOR || cid.codec() == CODEC_RAW)
        && cid.hash().code() == MULTIHASH_SHA2_256
        && cid.hash().size() == 32
}

/// Parses a CID string (any multibase the `cid` crate knows). CIDv0 (`Qm…`) is refused: atproto
/// only ever uses v1.
pub fn parse_cid(text: &str) -> Result<Cid, DataError> {
    if text.starts_with("Qm") {
        return Err(DataError::Cid("CIDv0 is not allowed".into()));
    }
    let cid = Cid::try_from(text).map_err(|e| DataError::Cid(e.to_string()))?;
    if cid.version() != cid::Version::V1 {
        return Err(DataError::Cid("only CIDv1 is allowed".into()));
    }
    Ok(cid)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_input_cids_match_known_values() {
        // Well-known CIDs of the empty byte string.
        assert_eq!(
            cid_for_raw(b"").to_string(),
            "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku"
        );
        assert!(is_blessed_cid(&cid_for_cbor(b"\xa0")));
    }

    #[test]
    fn parse_rejects_v0_and_garbage() {
        assert!(parse_cid("QmY7Yh4UquoXHLPFo2XbhXkhBvFoPwmQUSa92pxnxjQuPU").is_err());
        assert!(parse_cid(".").is_err());
        assert!(parse_cid("").is_err());
        let cid = cid_for_cbor(b"\xa0");
        assert_eq!(parse_cid(&cid.to_string()), Ok(cid));
    }
}
