//! Compact JWS tokens: HS256 session tokens and ES256K/ES256 inter-service tokens.
//!
//! Spec: <https://atproto.com/specs/xrpc#authentication> (legacy sessions: header `typ` is `at+jwt` for
//! access and `refresh+jwt` for refresh tokens) and <https://atproto.com/specs/xrpc#inter-service-authentication-jwt>
//! (`alg` ES256K or ES256, claims `iss`, `aud`, `exp`, `iat`, `jti`, `lxm`; signatures are compact
//! 64-byte low-S). Time is passed in as unix seconds.

use data_encoding::BASE64URL_NOPAD;
use hmac::{Hmac, Mac};
use serde::Serialize;
use serde::de::DeserializeOwned;
use sha2::Sha256;

use crate::core::crypto::{Algorithm, Keypair, PublicKey};

/// Longest token accepted; real ones are a few hundred bytes.
const MAX_TOKEN_LEN: usize = 8 * 1024;

/// Why a token was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum JwtError {
    #[error("malformed token")]
    Malformed,
    #[error("unsupported algorithm {0:?}")]
    Algorithm(String),
    #[error("wrong token type")]
    WrongType,
    #[error("bad token signature")]
    BadSignature,
    #[error("token expired")]
    Expired,
    #[error("token audience does not match")]
    WrongAudience,
    #[error("token is not for this method")]
    WrongMethod,
    #[error("token claims: {0}")]
    Claims(String),
}

/// The JOSE header fields atproto uses.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Header {
    pub alg: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub typ: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kid: Option<String>,
}

/// A token split into its parts, signature not yet checked.
pub struct Unverified<'a> {
    pub header: Header,
    header_raw: Vec<u8>,
    payload: Vec<u8>,
    signing_input: &'a str,
    signature: Vec<u8>,
}

impl Unverified<'_> {
    /// The claims, read without any check: only for routing (e.g. finding `iss` to fetch a key).
    pub fn claims_unchecked<C: DeserializeOwned>(&self) -> Result<C, JwtError> {
        serde_json::from_slice(&self.payload).map_err(|e| JwtError::Claims(e.to_string()))
    }

    /// The whole JOSE header as JSON (for members beyond [`Header`], such as a DPoP proof's `jwk`).
    pub fn header_json(&self) -> Result<serde_json::Value, JwtError> {
        serde_json::from_slice(&self.header_raw).map_err(|_| JwtError::Malformed)
    }
}

/// Splits a token and decodes its header.
pub fn parse(token: &str) -> Result<Unverified<'_>, JwtError> {
    if token.len() > MAX_TOKEN_LEN {
        return Err(JwtError::Malformed);
    }
    let mut parts = token.split('.');
    let (Some(h), Some(p), Some(s), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(JwtError::Malformed);
    };
    let decode = |part: &str| {
        BASE64URL_NOPAD
            .decode(part.as_bytes())
            .map_err(|_| JwtError::Malformed)
    };
    let header_raw = decode(h)?;
    let header: Header = serde_json::from_slice(&header_raw).map_err(|_| JwtError::Malformed)?;
    Ok(Unverified {
        header,
        header_raw,
        payload: decode(p)?,
        signing_input: &token[..h.len() + 1 + p.len()],
        signature: decode(s)?,
    })
}

fn assemble(
    header: &Header,
    claims: &impl Serialize,
    sign: impl FnOnce(&[u8]) -> Vec<u8>,
) -> String {
    // Serializing plain structs to JSON cannot fail.
    let header = serde_json::to_vec(header).unwrap_or_default();
    let claims = serde_json::to_vec(claims).unwrap_or_default();
    let mut token = BASE64URL_NOPAD.encode(&header);
    token.push('.');
    token.push_str(&BASE64URL_NOPAD.encode(&claims));
    let signature = sign(token.as_bytes());
    token.push('.');
    token.push_str(&BASE64URL_NOPAD.encode(&signature));
    token
}

fn hmac(secret: &[u8]) -> Hmac<Sha256> {
    // HMAC accepts keys of any length.
    Hmac::<Sha256>::new_from_slice(secret).unwrap_or_else(|_| unreachable!("hmac takes any key"))
}

/// Signs an HS256 token with header type `typ`.
pub fn sign_hs256(typ: &str, claims: &impl Serialize, secret: &[u8]) -> String {
    let header = Header {
        alg: "HS256".into(),
        typ: Some(typ.into()),
        kid: None,
    };
    assemble(&header, claims, |input| {
        let mut mac = hmac(secret);
        mac.update(input);
        mac.finalize().into_bytes().to_vec()
    })
}

/// Verifies an HS256 token of header type `typ` and returns its claims (expiry is the caller's
/// check, with [`check_expiry`]).
pub fn verify_hs256<C: DeserializeOwned>(
    token: &str,
    typ: &str,
    secret: &[u8],
) -> Result<C, JwtError> {
    let parsed = parse(token)?;
    if parsed.header.alg != "HS256" {
        return Err(JwtError::Algorithm(parsed.header.alg));
    }
    if parsed.header.typ.as_deref() != Some(typ) {
        return Err(JwtError::WrongType);
    }
    let mut mac = hmac(secret);
    mac.update(parsed.signing_input.as_bytes());
    mac.verify_slice(&parsed.signature)
        .map_err(|_| JwtError::BadSignature)?;
    parsed.claims_unchecked()
}

/// Signs an ES256K/ES256 token (the algorithm follows the key) with `typ: "JWT"`.
pub fn sign_es(claims: &impl Serialize, key: &Keypair) -> String {
    let header = Header {
        alg: key.algorithm().jwt_alg().into(),
        typ: Some("JWT".into()),
        kid: None,
    };
    assemble(&header, claims, |input| key.sign(input).to_vec())
}

/// Checks an ES256K/ES256 signature (low-S, compact) with `key`, whose curve must match `alg`.
pub fn verify_es(parsed: &Unverified<'_>, key: &PublicKey) -> Result<(), JwtError> {
    let alg = Algorithm::from_jwt_alg(&parsed.header.alg)
        .ok_or_else(|| JwtError::Algorithm(parsed.header.alg.clone()))?;
    if alg != key.algorithm() {
        return Err(JwtError::BadSignature);
    }
    key.verify(parsed.signing_input.as_bytes(), &parsed.signature)
        .map_err(|_| JwtError::BadSignature)
}

/// Checks a JOSE ES256/ES256K signature (RFC 7518: compact r||s, either S) with `key`, whose
/// curve must match `alg`. For tokens made by OAuth clients (DPoP proofs, client assertions),
/// whose libraries do not normalise S; atproto's own tokens use [`verify_es`].
pub fn verify_jose(parsed: &Unverified<'_>, key: &PublicKey) -> Result<(), JwtError> {
    let alg = Algorithm::from_jwt_alg(&parsed.header.alg)
        .ok_or_else(|| JwtError::Algorithm(parsed.header.alg.clone()))?;
    if alg != key.algorithm() {
        return Err(JwtError::BadSignature);
    }
    key.verify_allowing_high_s(parsed.signing_input.as_bytes(), &parsed.signature)
        .map_err(|_| JwtError::BadSignature)
}

/// Signs a compact JWS with `key` and a header of the caller's choice (`alg` is set from the key).
pub fn sign_with_header(
    mut header: serde_json::Map<String, serde_json::Value>,
    claims: &impl Serialize,
    key: &Keypair,
) -> String {
    header.insert("alg".into(), key.algorithm().jwt_alg().into());
    let header = serde_json::to_vec(&header).unwrap_or_default();
    let claims = serde_json::to_vec(claims).unwrap_or_default();
    let mut token = BASE64URL_NOPAD.encode(&header);
    token.push('.');
    token.push_str(&BASE64URL_NOPAD.encode(&claims));
    let signature = key.sign(token.as_bytes());
    token.push('.');
    token.push_str(&BASE64URL_NOPAD.encode(&signature));
    token
}

/// Refuses a token whose `exp` (unix seconds) is not after `now`.
pub fn check_expiry(exp: i64, now: i64) -> Result<(), JwtError> {
    if exp <= now {
        return Err(JwtError::Expired);
    }
    Ok(())
}

/// Claims of an inter-service token.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct ServiceClaims {
    pub iss: String,
    pub aud: String,
    pub exp: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iat: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jti: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lxm: Option<String>,
}

impl ServiceClaims {
    /// Checks expiry, audience (`aud` must equal `audience`, or the legacy bare DID form when
    /// `audience` is `did#service`), and method (`lxm`, when the caller needs one).
    pub fn check(&self, audience: &str, lxm: Option<&str>, now: i64) -> Result<(), JwtError> {
        check_expiry(self.exp, now)?;
        let bare = audience.split('#').next().unwrap_or(audience);
        if self.aud != audience && self.aud != bare {
            return Err(JwtError::WrongAudience);
        }
        if let Some(method) = lxm
            && self.lxm.as_deref() != Some(method)
        {
            return Err(JwtError::WrongMethod);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Serialize, serde::Deserialize, PartialEq, Debug)]
    struct Claims {
        sub: String,
        exp: i64,
    }

    #[test]
    fn hs256_round_trip_and_refusals() {
        let claims = Claims {
            sub: "did:plc:a".into(),
            exp: 100,
        };
        let token = sign_hs256("at+jwt", &claims, b"secret");
        assert_eq!(
            verify_hs256::<Claims>(&token, "at+jwt", b"secret").unwrap(),
            claims
        );
        assert_eq!(
            verify_hs256::<Claims>(&token, "refresh+jwt", b"secret").unwrap_err(),
            JwtError::WrongType
        );
        assert_eq!(
            verify_hs256::<Claims>(&token, "at+jwt", b"other").unwrap_err(),
            JwtError::BadSignature
        );
        let mut tampered = token.clone();
        tampered.insert(token.find('.').unwrap() + 2, 'x');
        assert!(verify_hs256::<Claims>(&tampered, "at+jwt", b"secret").is_err());
        assert_eq!(
            verify_hs256::<Claims>("a.b", "at+jwt", b"s").unwrap_err(),
            JwtError::Malformed
        );
        assert_eq!(check_expiry(100, 100), Err(JwtError::Expired));
    }

    #[test]
    fn es256k_and_es256_service_tokens() {
        for algorithm in [Algorithm::K256, Algorithm::P256] {
            let key = Keypair::generate(algorithm, &mut rand_core::OsRng);
            let claims = ServiceClaims {
                iss: "did:plc:a".into(),
                aud: "did:web:api.example#bsky_appview".into(),
                exp: 1000,
                iat: Some(940),
                jti: Some("n".into()),
                lxm: Some("app.bsky.feed.getTimeline".into()),
            };
            let token = sign_es(&claims, &key);
            let parsed = parse(&token).unwrap();
            verify_es(&parsed, &key.public_key()).unwrap();
            let got: ServiceClaims = parsed.claims_unchecked().unwrap();
            got.check(
                "did:web:api.example#bsky_appview",
                Some("app.bsky.feed.getTimeline"),
                999,
            )
            .unwrap();
            assert_eq!(
                got.check("did:web:other#x", None, 999),
                Err(JwtError::WrongAudience)
            );
            assert_eq!(
                got.check(
                    "did:web:api.example#bsky_appview",
                    Some("other.method"),
                    999
                ),
                Err(JwtError::WrongMethod)
            );
            assert_eq!(
                got.check("did:web:api.example#bsky_appview", None, 1000),
                Err(JwtError::Expired)
            );
            let other = Keypair::generate(algorithm, &mut rand_core::OsRng);
            assert_eq!(
                verify_es(&parsed, &other.public_key()),
                Err(JwtError::BadSignature)
            );
        }
    }
}
