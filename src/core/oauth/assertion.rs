//! Confidential-client authentication: the `private_key_jwt` client assertion (RFC 7523) checked
//! against the client's key set.
//!
//! *Checks:* `client_assertion_type` is the jwt-bearer URN; the JWT names a `kid` present in the
//! key set, with an `alg` the key allows; the signature; `iss` and `sub` are the client id; `aud`
//! is this server's issuer; `jti` is present; `iat` is within the last minute (and not ahead of
//! the clock by more than [`CLOCK_SKEW_SECS`]); `exp`, when present, is in the future.
//!
//! *Does not check:* `jti` replay (the caller remembers them until `exp`).
//!
//! Spec: <https://atproto.com/specs/oauth#confidential-client-authentication>, RFC 7523 §3.

use serde::Deserialize;

use super::jwk::Jwk;
use crate::core::jwt;

pub const ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
/// How old a client assertion may be (the reference's `CLIENT_ASSERTION_MAX_AGE`).
pub const MAX_ASSERTION_AGE_SECS: i64 = 60;
pub const CLOCK_SKEW_SECS: i64 = 30;

/// The key a client authenticated with: sessions stay bound to it.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ClientKey {
    pub kid: String,
    pub alg: String,
    /// The key's RFC 7638 thumbprint.
    pub jkt: String,
}

/// A verified assertion.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifiedAssertion {
    pub key: ClientKey,
    pub jti: String,
    /// When the assertion stops being valid: its `exp`, or `iat` plus the maximum age.
    pub valid_until: i64,
}

#[derive(Deserialize)]
struct Claims {
    iss: Option<String>,
    sub: Option<String>,
    aud: Option<serde_json::Value>,
    jti: Option<String>,
    iat: Option<i64>,
    exp: Option<i64>,
}

/// Checks a client assertion (see the module doc).
pub fn verify_assertion(
    assertion_type: &str,
    assertion: &str,
    client_id: &str,
    issuer: &str,
    keys: &[Jwk],
    now: i64,
) -> Result<VerifiedAssertion, String> {
    if assertion_type != ASSERTION_TYPE {
        return Err(format!(
            "unsupported client_assertion_type {assertion_type:?}"
        ));
    }
    let parsed = jwt::parse(assertion).map_err(|_| "client_assertion is not a JWT".to_owned())?;
    let alg = parsed.header.alg.clone();
    let kid = parsed
        .header
        .kid
        .clone()
        .ok_or("\"kid\" required in client_assertion")?;
    let key = keys
        .iter()
        .find(|k| k.kid.as_deref() == Some(kid.as_str()))
        .ok_or_else(|| format!("no key {kid:?} in the client's key set"))?;
    if key.alg.as_deref().is_some_and(|a| a != alg) {
        return Err(format!("key {kid:?} is not for {alg}"));
    }
    jwt::verify_jose(&parsed, &key.key)
        .map_err(|_| "client_assertion signature is invalid".to_owned())?;
    let claims: Claims = parsed
        .claims_unchecked()
        .map_err(|_| "client_assertion claims are not valid".to_owned())?;
    if claims.iss.as_deref() != Some(client_id) || claims.sub.as_deref() != Some(client_id) {
        return Err("client_assertion iss and sub must be the client_id".into());
    }
    let aud_ok = match &claims.aud {
        Some(serde_json::Value::String(a)) => a == issuer,
        Some(serde_json::Value::Array(list)) => list.iter().any(|a| a.as_str() == Some(issuer)),
        _ => false,
    };
    if !aud_ok {
        return Err("client_assertion aud must be this server's issuer".into());
    }
    let jti = claims
        .jti
        .filter(|j| !j.is_empty() && j.len() <= 256)
        .ok_or("client_assertion needs a jti")?;
    let iat = claims.iat.ok_or("client_assertion needs an iat")?;
    if iat < now - MAX_ASSERTION_AGE_SECS || iat > now + CLOCK_SKEW_SECS {
        return Err("client_assertion is too old or issued in the future".into());
    }
    if let Some(exp) = claims.exp
        && exp <= now
    {
        return Err("client_assertion has expired".into());
    }
    Ok(VerifiedAssertion {
        key: ClientKey {
            kid,
            alg,
            jkt: key.thumbprint.clone(),
        },
        jti,
        valid_until: claims.exp.unwrap_or(iat + MAX_ASSERTION_AGE_SECS).max(now),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::crypto::{Algorithm, Keypair};

    fn assertion(key: &Keypair, kid: &str, claims: serde_json::Value) -> String {
        let mut header = serde_json::Map::new();
        header.insert("kid".into(), kid.into());
        jwt::sign_with_header(header, &claims, key)
    }

    #[test]
    fn a_good_assertion_binds_the_key_and_bad_ones_are_refused() {
        let key = Keypair::generate(Algorithm::P256, &mut rand_core::OsRng);
        let mut jwk = Jwk::public_json(&key.public_key());
        jwk["kid"] = "k1".into();
        let keys = vec![Jwk::from_json(&jwk).unwrap_or_else(|e| panic!("{e}"))];
        let client = "https://app.example.com/m.json";
        let issuer = "https://pds.example.com";
        let now = 10_000;
        let claims = serde_json::json!({"iss": client, "sub": client, "aud": issuer, "jti": "a", "iat": now});
        let ok = verify_assertion(
            ASSERTION_TYPE,
            &assertion(&key, "k1", claims.clone()),
            client,
            issuer,
            &keys,
            now,
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(ok.key.kid, "k1");
        assert_eq!(ok.key.alg, "ES256");
        let check =
            |token: String| verify_assertion(ASSERTION_TYPE, &token, client, issuer, &keys, now);
        assert!(check(assertion(&key, "k2", claims.clone())).is_err());
        let mut c = claims.clone();
        c["aud"] = "https://other.example".into();
        assert!(check(assertion(&key, "k1", c)).is_err());
        let mut c = claims.clone();
        c["iat"] = (now - 61).into();
        assert!(check(assertion(&key, "k1", c)).is_err());
        let mut c = claims.clone();
        c["sub"] = "https://evil.example/m.json".into();
        assert!(check(assertion(&key, "k1", c)).is_err());
        let other = Keypair::generate(Algorithm::P256, &mut rand_core::OsRng);
        assert!(check(assertion(&other, "k1", claims)).is_err());
    }
}
