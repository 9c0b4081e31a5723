//! The `sig` field: strict unpadded base64url of a compact low-S ECDSA signature, and verification of
//! an operation against a priority-ordered list of rotation keys.
//!
//! Spec: <https://github.com/did-method-plc/did-method-plc/blob/main/website/spec/v0.1/did-plc.md>,
//! "Operation Serialization, Signing, and Validation": the signature is over SHA-256 of the DRISL
//! encoding of the op *without* `sig`, encoded as 64 bytes `r ‖ s` (low-S), then base64url without
//! padding and with zero trailing bits. Verifiers must enforce all of it, since a malleable encoding
//! would change the op's CID without invalidating the signature.
//!
//! Does not: decide which keys are in force (see `audit.rs`).

use data_encoding::BASE64URL_NOPAD;

use super::{Operation, PlcError};
use crate::core::crypto::PublicKey;

/// Length of a base64url-encoded 64-byte signature; anything else cannot be valid, and checking it
/// first bounds the decode.
const SIG_ENCODED_LEN: usize = 86;

/// Encodes signature bytes as unpadded base64url.
pub fn encode_sig(sig: &[u8]) -> String {
    BASE64URL_NOPAD.encode(sig)
}

/// Decodes a `sig` string strictly: only the base64url alphabet (no `=`, no whitespace or
/// newlines), and the unused trailing bits of the last character must be zero.
pub fn decode_sig(sig: &str) -> Result<Vec<u8>, PlcError> {
    if sig.contains('=') {
        return Err(PlcError::SignatureEncoding(
            "padding characters are not allowed".into(),
        ));
    }
    if let Some(c) = sig
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || *c == '-' || *c == '_'))
    {
        return Err(PlcError::SignatureEncoding(format!(
            "non-base64url character {c:?}"
        )));
    }
    // `BASE64URL_NOPAD` checks trailing bits and refuses any symbol outside the alphabet.
    BASE64URL_NOPAD
        .decode(sig.as_bytes())
        .map_err(|e| PlcError::SignatureEncoding(e.to_string()))
}

/// Verifies `op`'s signature against `allowed_rotation_keys` in order and returns the index of the
/// first key that verifies it (index 0 has the most authority).
///
/// Checks: strict `sig` encoding; that the signature is 64 bytes, low-S, and valid over the DRISL of
/// the op without `sig` for one of the keys.
/// Does not check: whether those keys are the right ones for this op (the caller passes the keys in
/// force), the op's shape or size. A key that is not a k256/p256 `did:key` can sign nothing and is
/// skipped.
pub fn verify_signature(
    op: &Operation,
    allowed_rotation_keys: &[String],
) -> Result<usize, PlcError> {
    let sig = op.sig();
    if sig.len() != SIG_ENCODED_LEN {
        // Still report an encoding fault as such, before the length.
        decode_sig(sig)?;
        return Err(PlcError::InvalidSignature);
    }
    let sig = decode_sig(sig)?;
    let message = op.unsigned().to_drisl()?;
    for (index, did_key) in allowed_rotation_keys.iter().enumerate() {
        let Ok(key) = PublicKey::from_did_key(did_key) else {
            continue;
        };
        if key.verify(&message, &sig).is_ok() {
            return Ok(index);
        }
    }
    Err(PlcError::InvalidSignature)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decode_is_strict() {
        let sig = encode_sig(&[7u8; 64]);
        assert_eq!(sig.len(), SIG_ENCODED_LEN);
        assert_eq!(decode_sig(&sig).unwrap(), vec![7u8; 64]);
        for bad in [
            format!("{sig}=="),
            format!("{sig}\n"),
            format!("{}\n{}", &sig[..40], &sig[40..]),
            sig.replace('H', "+"),
            sig.replace('H', "/"),
            format!(" {sig}"),
        ] {
            assert!(
                matches!(decode_sig(&bad), Err(PlcError::SignatureEncoding(_))),
                "{bad:?} decoded"
            );
        }
        // 64 bytes leave 4 unused bits in the last character: all-zero bytes end in "A"; "B" sets
        // one of those bits.
        let zeros = encode_sig(&[0u8; 64]);
        let bits_set = format!("{}B", &zeros[..SIG_ENCODED_LEN - 1]);
        assert!(decode_sig(&zeros).is_ok());
        assert!(matches!(
            decode_sig(&bits_set),
            Err(PlcError::SignatureEncoding(_))
        ));
    }
}
