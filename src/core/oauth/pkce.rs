//! PKCE (RFC 7636) with the one method atproto allows, `S256`.
//!
//! *Checks:* the challenge is 43 base64url characters (a SHA-256); the verifier is 43 to 128
//! unreserved characters and hashes to the challenge.
//!
//! Spec: RFC 7636 §4, <https://atproto.com/specs/oauth#proof-key-for-code-exchange-pkce>.

use data_encoding::BASE64URL_NOPAD;
use sha2::{Digest, Sha256};

use crate::core::crypto::constant_time_eq;

/// Whether `challenge` can be an S256 challenge (base64url of 32 bytes).
pub fn is_s256_challenge(challenge: &str) -> bool {
    challenge.len() == 43
        && BASE64URL_NOPAD
            .decode(challenge.as_bytes())
            .is_ok_and(|b| b.len() == 32)
}

/// Whether `verifier` is well-formed and hashes to `challenge`.
pub fn verify_s256(challenge: &str, verifier: &str) -> bool {
    let well_formed = (43..=128).contains(&verifier.len())
        && verifier
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'));
    well_formed
        && constant_time_eq(
            BASE64URL_NOPAD
                .encode(&Sha256::digest(verifier.as_bytes()))
                .as_bytes(),
            challenge.as_bytes(),
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc7636_appendix_b_vector() {
        let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
        let challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
        assert!(is_s256_challenge(challenge));
        assert!(verify_s256(challenge, verifier));
        assert!(!verify_s256(
            challenge,
            "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXx"
        ));
        assert!(!verify_s256(challenge, "short"));
        assert!(!is_s256_challenge("plain-challenge"));
    }
}
