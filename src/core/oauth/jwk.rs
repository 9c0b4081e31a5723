//! JSON Web Keys for the two curves atproto OAuth uses (ES256 on P-256, ES256K on secp256k1):
//! reading a public key from a JWK, a JWK set, and the RFC 7638 thumbprint (`jkt`) that binds a
//! token to a DPoP key.
//!
//! Does not do: private keys in JWK form (a DPoP proof or a client's key set carrying `d` is
//! refused), RSA or other curves.
//!
//! Spec: RFC 7517 (JWK), RFC 7638 (thumbprints), <https://atproto.com/specs/oauth#demonstrating-proof-of-possession-dpop>.

use data_encoding::BASE64URL_NOPAD;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use crate::core::crypto::{Algorithm, PublicKey};

/// Most keys read from one JWK set (client key sets hold a handful).
pub const MAX_KEYS: usize = 20;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JwkError {
    #[error("JWK: {0}")]
    Invalid(String),
}

fn invalid(message: impl Into<String>) -> JwkError {
    JwkError::Invalid(message.into())
}

/// A public key read from a JWK, with the members that name it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Jwk {
    pub key: PublicKey,
    pub kid: Option<String>,
    /// The `alg` the key is restricted to, when it names one.
    pub alg: Option<String>,
    /// `sig`, `enc`, or absent.
    pub usage: Option<String>,
    /// The RFC 7638 SHA-256 thumbprint, base64url.
    pub thumbprint: String,
}

fn coordinate(map: &Map<String, Value>, name: &str) -> Result<Vec<u8>, JwkError> {
    let text = map
        .get(name)
        .and_then(Value::as_str)
        .ok_or_else(|| invalid(format!("missing {name}")))?;
    let bytes = BASE64URL_NOPAD
        .decode(text.as_bytes())
        .map_err(|_| invalid(format!("{name} is not base64url")))?;
    if bytes.len() != 32 {
        return Err(invalid(format!("{name} must be 32 bytes")));
    }
    Ok(bytes)
}

impl Jwk {
    /// Reads an EC public key (`kty: "EC"`, `crv` P-256 or secp256k1). A key with a private
    /// member (`d`) is refused: it must never travel.
    pub fn from_json(value: &Value) -> Result<Jwk, JwkError> {
        let map = value.as_object().ok_or_else(|| invalid("not an object"))?;
        if map.get("kty").and_then(Value::as_str) != Some("EC") {
            return Err(invalid("only EC keys are supported"));
        }
        if map.contains_key("d") {
            return Err(invalid(
                "a private key was given where a public key belongs",
            ));
        }
        let crv = map.get("crv").and_then(Value::as_str).unwrap_or_default();
        let algorithm = match crv {
            "P-256" => Algorithm::P256,
            "secp256k1" => Algorithm::K256,
            other => return Err(invalid(format!("unsupported curve {other:?}"))),
        };
        let x = coordinate(map, "x")?;
        let y = coordinate(map, "y")?;
        let mut point = Vec::with_capacity(65);
        point.push(0x04);
        point.extend_from_slice(&x);
        point.extend_from_slice(&y);
        let key = PublicKey::from_sec1(algorithm, &point).map_err(|e| invalid(e.to_string()))?;
        let text = |name: &str| map.get(name).and_then(Value::as_str).map(str::to_owned);
        let alg = text("alg");
        if let Some(alg) = &alg
            && Algorithm::from_jwt_alg(alg) != Some(algorithm)
        {
            return Err(invalid(format!("alg {alg:?} does not fit curve {crv}")));
        }
        Ok(Jwk {
            thumbprint: thumbprint(crv, &x, &y),
            key,
            kid: text("kid"),
            alg,
            usage: text("use"),
        })
    }

    /// The public JWK members (`kty`, `crv`, `x`, `y`) of a key.
    pub fn public_json(key: &PublicKey) -> Value {
        let point = key.to_uncompressed();
        let crv = match key.algorithm() {
            Algorithm::P256 => "P-256",
            Algorithm::K256 => "secp256k1",
        };
        serde_json::json!({
            "kty": "EC",
            "crv": crv,
            "x": BASE64URL_NOPAD.encode(&point[1..33]),
            "y": BASE64URL_NOPAD.encode(&point[33..65]),
        })
    }
}

/// RFC 7638: SHA-256 of the required members in lexicographic order, no whitespace.
fn thumbprint(crv: &str, x: &[u8], y: &[u8]) -> String {
    let canonical = format!(
        r#"{{"crv":"{crv}","kty":"EC","x":"{}","y":"{}"}}"#,
        BASE64URL_NOPAD.encode(x),
        BASE64URL_NOPAD.encode(y)
    );
    BASE64URL_NOPAD.encode(&Sha256::digest(canonical.as_bytes()))
}

/// The thumbprint of a public key.
pub fn key_thumbprint(key: &PublicKey) -> String {
    let point = key.to_uncompressed();
    let crv = match key.algorithm() {
        Algorithm::P256 => "P-256",
        Algorithm::K256 => "secp256k1",
    };
    thumbprint(crv, &point[1..33], &point[33..65])
}

/// Reads a JWK set (`{"keys": [...]}`). Keys this server cannot use (other key types, curves,
/// encryption keys) are skipped; an empty result, too many keys, or a private key is an error.
pub fn parse_jwks(value: &Value) -> Result<Vec<Jwk>, JwkError> {
    let keys = value
        .get("keys")
        .and_then(Value::as_array)
        .ok_or_else(|| invalid("a key set needs a \"keys\" array"))?;
    if keys.len() > MAX_KEYS {
        return Err(invalid(format!("more than {MAX_KEYS} keys")));
    }
    let mut out = Vec::new();
    for key in keys {
        if key.get("d").is_some() {
            return Err(invalid("a key set must hold public keys only"));
        }
        if let Ok(jwk) = Jwk::from_json(key)
            && jwk.usage.as_deref() != Some("enc")
            && key.get("revoked").is_none()
        {
            out.push(jwk);
        }
    }
    if out.is_empty() {
        return Err(invalid("no usable ES256 or ES256K signing key"));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::crypto::Keypair;

    #[test]
    fn rfc7638_thumbprint_of_a_p256_key() {
        // The flask demo's published key (indigo testdata); the thumbprint is recomputed from
        // its canonical form, and the same key written differently gives the same thumbprint.
        let jwk = serde_json::json!({"crv":"P-256","kid":"demo-1723096995","kty":"EC",
            "x":"9xgcqvuBJIN8M32cvXc7vZDc4xgaYvrEMh8LHH1Uz0E",
            "y":"ar8LYDXhUp32aNjq-Ko5jKVFUZNLSYxm7okrU2KIUqk"});
        let parsed = Jwk::from_json(&jwk).unwrap_or_else(|e| panic!("{e}"));
        let canonical = r#"{"crv":"P-256","kty":"EC","x":"9xgcqvuBJIN8M32cvXc7vZDc4xgaYvrEMh8LHH1Uz0E","y":"ar8LYDXhUp32aNjq-Ko5jKVFUZNLSYxm7okrU2KIUqk"}"#;
        assert_eq!(
            parsed.thumbprint,
            BASE64URL_NOPAD.encode(&Sha256::digest(canonical.as_bytes()))
        );
        assert_eq!(key_thumbprint(&parsed.key), parsed.thumbprint);
        assert_eq!(parsed.kid.as_deref(), Some("demo-1723096995"));
    }

    #[test]
    fn keys_round_trip_and_private_keys_are_refused() {
        let key = Keypair::generate(Algorithm::K256, &mut rand_core::OsRng).public_key();
        let json = Jwk::public_json(&key);
        let parsed = Jwk::from_json(&json).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(parsed.key, key);
        let mut private = json.clone();
        private["d"] = serde_json::json!("AAAA");
        assert!(Jwk::from_json(&private).is_err());
        assert!(parse_jwks(&serde_json::json!({"keys": [private]})).is_err());
        assert!(parse_jwks(&serde_json::json!({"keys": [{"kty": "RSA"}]})).is_err());
        let mut wrong_alg = json;
        wrong_alg["alg"] = serde_json::json!("ES256");
        assert!(Jwk::from_json(&wrong_alg).is_err());
    }
}
