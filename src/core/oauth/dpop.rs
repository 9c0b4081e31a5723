//! DPoP (RFC 9449): checking a proof JWT against the request it came with, and the server nonces
//! that rotate.
//!
//! *Checks:* `typ` is `dpop+jwt`; `alg` is ES256 or ES256K; the header carries a public `jwk` the
//! signature verifies with; `jti` is present; `htm` equals the request method; `htu` equals the
//! request URL (origin and path, query and fragment ignored, both normalised); `iat` is recent
//! (not older than [`MAX_PROOF_AGE_SECS`], not further ahead than [`CLOCK_SKEW_SECS`]); `ath`
//! is the SHA-256 of the access token when one is presented, and absent otherwise.
//!
//! *Does not check:* the nonce (the caller compares [`DpopProof::nonce`] with [`DpopNonces`]),
//! `jti` replay (the caller remembers them), or the key binding of a token (`cnf.jkt`).
//!
//! Spec: RFC 9449 §4.3, <https://atproto.com/specs/oauth#demonstrating-proof-of-possession-dpop>.
//! Timing follows the reference provider (`packages/oauth/oauth-provider/src/dpop`).

use data_encoding::BASE64URL_NOPAD;
use hmac::{Hmac, Mac};
use serde::Deserialize;
use sha2::{Digest, Sha256};

use super::jwk::Jwk;
use crate::core::jwt;

/// How old a proof's `iat` may be.
pub const MAX_PROOF_AGE_SECS: i64 = 190;
/// How far ahead of the server's clock a proof's `iat` may be.
pub const CLOCK_SKEW_SECS: i64 = 180;
/// Longest `jti` accepted (clients send a few dozen characters).
pub const MAX_JTI_LEN: usize = 256;
/// How often the server nonce changes. A nonce is accepted for three periods (the previous,
/// current and next), so it lives at most three minutes: under the spec's five.
pub const NONCE_PERIOD_SECS: i64 = 60;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct DpopError(pub String);

fn bad(message: impl Into<String>) -> DpopError {
    DpopError(message.into())
}

/// What a proof must match.
#[derive(Clone, Copy, Debug)]
pub struct Expected<'a> {
    /// The HTTP method, as sent (case-sensitive).
    pub method: &'a str,
    /// The URL the request was sent to, as this server is known to the world.
    pub url: &'a str,
    /// Unix seconds.
    pub now: i64,
    /// The access token presented with the proof, if any.
    pub access_token: Option<&'a str>,
}

/// A proof that passed every check above.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DpopProof {
    pub jti: String,
    /// The RFC 7638 thumbprint of the proof's key.
    pub jkt: String,
    pub nonce: Option<String>,
    pub iat: i64,
}

#[derive(Deserialize)]
struct Claims {
    jti: Option<String>,
    htm: Option<String>,
    htu: Option<String>,
    iat: Option<i64>,
    ath: Option<String>,
    nonce: Option<String>,
}

/// `origin + path` of an http(s) URL, normalised (lowercase host, default port dropped, dot
/// segments resolved); `None` for anything else or a URL with credentials.
pub fn normalize_htu(url: &str) -> Option<String> {
    let parsed = url::Url::parse(url).ok()?;
    if !matches!(parsed.scheme(), "http" | "https")
        || !parsed.username().is_empty()
        || parsed.password().is_some()
    {
        return None;
    }
    Some(format!(
        "{}{}",
        parsed.origin().ascii_serialization(),
        parsed.path()
    ))
}

/// The `ath` of an access token: base64url SHA-256.
pub fn access_token_hash(token: &str) -> String {
    BASE64URL_NOPAD.encode(&Sha256::digest(token.as_bytes()))
}

/// Checks a DPoP proof (see the module doc for what is and is not checked).
pub fn verify_proof(proof: &str, expected: &Expected<'_>) -> Result<DpopProof, DpopError> {
    let parsed = jwt::parse(proof).map_err(|_| bad("DPoP proof is not a JWT"))?;
    if parsed.header.typ.as_deref() != Some("dpop+jwt") {
        return Err(bad("DPoP proof must have typ \"dpop+jwt\""));
    }
    let header = parsed
        .header_json()
        .map_err(|_| bad("DPoP proof header is not JSON"))?;
    let jwk = header
        .get("jwk")
        .ok_or_else(|| bad("DPoP proof header has no jwk"))?;
    let jwk = Jwk::from_json(jwk).map_err(|e| bad(format!("DPoP proof key: {e}")))?;
    jwt::verify_jose(&parsed, &jwk.key).map_err(|_| bad("DPoP proof signature is invalid"))?;
    let claims: Claims = parsed
        .claims_unchecked()
        .map_err(|_| bad("DPoP proof claims are not valid"))?;
    let jti = claims
        .jti
        .filter(|j| !j.is_empty() && j.len() <= MAX_JTI_LEN)
        .ok_or_else(|| bad("DPoP \"jti\" missing"))?;
    if claims.htm.as_deref() != Some(expected.method) {
        return Err(bad("DPoP \"htm\" mismatch"));
    }
    let htu = claims
        .htu
        .as_deref()
        .and_then(normalize_htu)
        .ok_or_else(|| bad("DPoP \"htu\" is not a valid http(s) URL"))?;
    if Some(htu) != normalize_htu(expected.url) {
        return Err(bad("DPoP \"htu\" mismatch"));
    }
    let iat = claims.iat.ok_or_else(|| bad("DPoP \"iat\" missing"))?;
    if iat < expected.now - MAX_PROOF_AGE_SECS {
        return Err(bad("DPoP proof is too old"));
    }
    if iat > expected.now + CLOCK_SKEW_SECS {
        return Err(bad("DPoP proof is issued in the future"));
    }
    match (expected.access_token, claims.ath) {
        (Some(token), Some(ath)) if ath == access_token_hash(token) => {}
        (Some(_), _) => return Err(bad("DPoP \"ath\" mismatch")),
        (None, Some(_)) => return Err(bad("DPoP \"ath\" claim not allowed")),
        (None, None) => {}
    }
    Ok(DpopProof {
        jti,
        jkt: jwk.thumbprint,
        nonce: claims.nonce,
        iat,
    })
}

/// Server nonces: an HMAC of the rotation counter under a secret, so no nonce needs storing.
#[derive(Clone)]
pub struct DpopNonces {
    secret: [u8; 32],
}

impl DpopNonces {
    pub fn new(secret: [u8; 32]) -> DpopNonces {
        DpopNonces { secret }
    }

    fn at(&self, counter: i64) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.secret)
            .unwrap_or_else(|_| unreachable!("hmac takes any key"));
        mac.update(&counter.to_be_bytes());
        BASE64URL_NOPAD.encode(&mac.finalize().into_bytes())
    }

    /// The nonce to hand out at `now`: the next period's, so it stays valid longest.
    pub fn issue(&self, now: i64) -> String {
        self.at(now.div_euclid(NONCE_PERIOD_SECS) + 1)
    }

    /// Whether `nonce` is the previous, current or next period's.
    pub fn accepts(&self, nonce: &str, now: i64) -> bool {
        let counter = now.div_euclid(NONCE_PERIOD_SECS);
        (counter - 1..=counter + 1)
            .any(|c| crate::core::crypto::constant_time_eq(self.at(c).as_bytes(), nonce.as_bytes()))
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::core::crypto::{Algorithm, Keypair};

    /// A DPoP proof as a client makes one (for tests here and in the PDS).
    pub(crate) fn proof(
        key: &Keypair,
        method: &str,
        url: &str,
        iat: i64,
        nonce: Option<&str>,
        token: Option<&str>,
    ) -> String {
        let mut header = serde_json::Map::new();
        header.insert("typ".into(), "dpop+jwt".into());
        header.insert("jwk".into(), Jwk::public_json(&key.public_key()));
        let mut claims = serde_json::json!({"jti": format!("j-{iat}-{method}-{}", nonce.unwrap_or("")), "htm": method, "htu": url, "iat": iat});
        if let Some(n) = nonce {
            claims["nonce"] = n.into();
        }
        if let Some(t) = token {
            claims["ath"] = access_token_hash(t).into();
        }
        jwt::sign_with_header(header, &claims, key)
    }

    fn expected<'a>(url: &'a str, token: Option<&'a str>) -> Expected<'a> {
        Expected {
            method: "POST",
            url,
            now: 1_000_000,
            access_token: token,
        }
    }

    #[test]
    fn a_good_proof_passes_and_names_its_key() {
        let key = Keypair::generate(Algorithm::P256, &mut rand_core::OsRng);
        let url = "https://pds.example.com/oauth/token";
        let p = proof(
            &key,
            "POST",
            "https://PDS.example.com:443/oauth/token?x=1",
            1_000_000,
            Some("n"),
            None,
        );
        let checked = verify_proof(&p, &expected(url, None)).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            checked.jkt,
            super::super::jwk::key_thumbprint(&key.public_key())
        );
        assert_eq!(checked.nonce.as_deref(), Some("n"));
    }

    #[test]
    fn every_mismatch_is_refused() {
        let key = Keypair::generate(Algorithm::P256, &mut rand_core::OsRng);
        let url = "https://pds.example.com/xrpc/a.b.c";
        let now = 1_000_000;
        let refuse = |p: String, token: Option<&str>, why: &str| {
            let e = verify_proof(&p, &expected(url, token));
            assert!(e.is_err(), "accepted: {why}");
        };
        refuse(proof(&key, "GET", url, now, None, None), None, "wrong htm");
        refuse(
            proof(
                &key,
                "POST",
                "https://pds.example.com/xrpc/a.b.d",
                now,
                None,
                None,
            ),
            None,
            "wrong htu",
        );
        refuse(
            proof(
                &key,
                "POST",
                "https://other.example.com/xrpc/a.b.c",
                now,
                None,
                None,
            ),
            None,
            "wrong origin",
        );
        refuse(
            proof(&key, "POST", url, now - MAX_PROOF_AGE_SECS - 1, None, None),
            None,
            "too old",
        );
        refuse(
            proof(&key, "POST", url, now + CLOCK_SKEW_SECS + 1, None, None),
            None,
            "future",
        );
        refuse(
            proof(&key, "POST", url, now, None, Some("other")),
            Some("token"),
            "wrong ath",
        );
        refuse(
            proof(&key, "POST", url, now, None, None),
            Some("token"),
            "missing ath",
        );
        refuse(
            proof(&key, "POST", url, now, None, Some("token")),
            None,
            "ath without token",
        );
        assert!(
            verify_proof(
                &proof(&key, "POST", url, now, None, Some("token")),
                &expected(url, Some("token"))
            )
            .is_ok()
        );
        // A tampered signature.
        // Flip a character in the middle of the signature: the last one carries
        // padding bits, and putting back the popped character changes nothing.
        let p = proof(&key, "POST", url, now, None, None);
        let at = p.rfind('.').expect("a compact JWS") + 20;
        let flipped = if p.as_bytes()[at] == b'A' { "B" } else { "A" };
        let mut tampered = p.clone();
        tampered.replace_range(at..at + 1, flipped);
        assert_ne!(tampered, p);
        refuse(tampered, None, "bad signature");
    }

    #[test]
    fn nonces_rotate_and_expire() {
        let nonces = DpopNonces::new([7; 32]);
        let n = nonces.issue(1000);
        assert!(nonces.accepts(&n, 1000));
        assert!(nonces.accepts(&n, 1000 + NONCE_PERIOD_SECS));
        assert!(!nonces.accepts(&n, 1000 + 3 * NONCE_PERIOD_SECS));
        assert_ne!(n, nonces.issue(1000 + NONCE_PERIOD_SECS));
        assert!(!DpopNonces::new([8; 32]).accepts(&n, 1000));
    }
}
