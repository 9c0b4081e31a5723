//! Verifying inter-service auth tokens addressed to this App View, as a PDS mints them when it
//! proxies `app.bsky.*` calls for its user (this server's own PDS, or any other).
//!
//! Spec: <https://atproto.com/specs/xrpc#inter-service-authentication-jwt>.
//! Checks: the token parses; `aud` is the App View's DID, bare or with `#bsky_appview`; `exp` is in
//! the future; `lxm` names the method called; the signature verifies with the issuer's current
//! `#atproto` key (resolved from its DID document, cached for [`KEY_TTL_MICROS`], resolved again once
//! when the signature fails). Errors are 401s named as the reference's `xrpc-server` names them.
//! Does not check: `jti` replay (tokens live about a minute), `iat`.

use crate::core::crypto::PublicKey;
use crate::core::jwt::{self, JwtError, ServiceClaims};
use crate::core::syntax::Did;

use super::{Appview, AppviewError};

/// How long a resolved signing key is trusted.
const KEY_TTL_MICROS: i64 = 10 * 60 * 1_000_000;
/// Most issuer keys kept (the cache is cleared when it fills).
const MAX_KEYS: usize = 10_000;

impl Appview {
    async fn issuer_key(&self, did: &str, fresh: bool) -> Result<PublicKey, AppviewError> {
        let now = crate::clock::now_micros();
        if !fresh
            && let Some((key, at)) = self
                .inner
                .keys
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .get(did)
            && now - at < KEY_TTL_MICROS
        {
            return Ok(key.clone());
        }
        let parsed = Did::parse(did)
            .map_err(|_| AppviewError::auth("BadJwtIssuer", "jwt issuer is not a DID"))?;
        let resolved = if fresh {
            self.inner.resolver.resolve_fresh(&parsed).await
        } else {
            self.inner.resolver.resolve(&parsed).await
        };
        let document = resolved.map_err(|e| {
            AppviewError::auth("BadJwtIssuer", format!("could not resolve jwt issuer: {e}"))
        })?;
        let key = document
            .signing_key()
            .map_err(|_| AppviewError::auth("BadJwtIssuer", "jwt issuer has no signing key"))?;
        let mut keys = self
            .inner
            .keys
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if keys.len() >= MAX_KEYS {
            keys.clear();
        }
        keys.insert(did.to_owned(), (key.clone(), now));
        Ok(key)
    }

    /// Verifies a service-auth token for method `lxm`; returns the issuer's DID.
    pub async fn verify_service_token(
        &self,
        token: &str,
        lxm: &str,
    ) -> Result<String, AppviewError> {
        let bad = |m: &str| AppviewError::auth("BadJwt", m);
        let parsed = jwt::parse(token).map_err(|_| bad("poorly formatted jwt"))?;
        let claims: ServiceClaims = parsed
            .claims_unchecked()
            .map_err(|_| bad("poorly formatted jwt"))?;
        let audience = format!("{}#bsky_appview", self.config().service_did);
        if claims.lxm.is_none() {
            return Err(AppviewError::auth(
                "BadJwtLexiconMethod",
                "missing jwt lexicon method (\"lxm\")",
            ));
        }
        match claims.check(&audience, Some(lxm), crate::clock::now_secs()) {
            Ok(()) => {}
            Err(JwtError::Expired) => return Err(AppviewError::auth("JwtExpired", "jwt expired")),
            Err(JwtError::WrongAudience) => {
                return Err(AppviewError::auth(
                    "BadJwtAudience",
                    "jwt audience does not match service did",
                ));
            }
            Err(JwtError::WrongMethod) => {
                return Err(AppviewError::auth(
                    "BadJwtLexiconMethod",
                    "jwt lexicon method (\"lxm\") does not match",
                ));
            }
            Err(_) => return Err(bad("poorly formatted jwt")),
        }
        let issuer = claims.iss.split('#').next().unwrap_or_default().to_owned();
        let key = self.issuer_key(&issuer, false).await?;
        if jwt::verify_es(&parsed, &key).is_ok() {
            return Ok(issuer);
        }
        let key = self.issuer_key(&issuer, true).await?;
        jwt::verify_es(&parsed, &key).map_err(|_| {
            AppviewError::auth("BadJwtSignature", "jwt signature does not match jwt issuer")
        })?;
        Ok(issuer)
    }
}
