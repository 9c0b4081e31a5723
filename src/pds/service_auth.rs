//! Inter-service auth tokens minted for an account (`getServiceAuth`, and the proxy).
//!
//! Spec: <https://atproto.com/specs/xrpc#inter-service-authentication-jwt>. Signed ES256K with the
//! account's repo signing key; checks and limits follow the reference PDS: at most an hour ahead, a
//! minute without `lxm`, never for the account-management methods that must stay with the PDS.

use rand_core::{OsRng, RngCore};

use super::auth::{AccessScope, AuthedAccount};
use super::{Pds, PdsError};
use crate::core::crypto::{Algorithm, Keypair};
use crate::core::jwt::{self, ServiceClaims};
use crate::core::syntax::Did;

/// Default and largest lifetimes of a token.
const DEFAULT_TTL_SECS: i64 = 60;
const MAX_TTL_SECS: i64 = 60 * 60;
const MAX_TTL_WITHOUT_METHOD_SECS: i64 = 60;

/// Methods a service token may never be minted for: they manage the account itself.
const PROTECTED_METHODS: &[&str] = &[
    "com.atproto.admin.sendEmail",
    "com.atproto.identity.requestPlcOperationSignature",
    "com.atproto.identity.signPlcOperation",
    "com.atproto.identity.updateHandle",
    "com.atproto.server.activateAccount",
    "com.atproto.server.confirmEmail",
    "com.atproto.server.createAppPassword",
    "com.atproto.server.deactivateAccount",
    "com.atproto.server.getAccountInviteCodes",
    "com.atproto.server.getSession",
    "com.atproto.server.listAppPasswords",
    "com.atproto.server.requestAccountDelete",
    "com.atproto.server.requestEmailConfirmation",
    "com.atproto.server.requestEmailUpdate",
    "com.atproto.server.revokeAppPassword",
    "com.atproto.server.updateEmail",
];

/// Methods that need a full session or a privileged app password (chat, and creating an account
/// elsewhere with this DID).
pub const PRIVILEGED_METHODS: &[&str] = &[
    "chat.bsky.actor.deleteAccount",
    "chat.bsky.actor.exportAccountData",
    "chat.bsky.convo.deleteMessageForSelf",
    "chat.bsky.convo.getConvo",
    "chat.bsky.convo.getConvoForMembers",
    "chat.bsky.convo.getLog",
    "chat.bsky.convo.getMessages",
    "chat.bsky.convo.leaveConvo",
    "chat.bsky.convo.listConvos",
    "chat.bsky.convo.muteConvo",
    "chat.bsky.convo.sendMessage",
    "chat.bsky.convo.sendMessageBatch",
    "chat.bsky.convo.unmuteConvo",
    "chat.bsky.convo.updateRead",
    "com.atproto.server.createAccount",
];

pub fn is_protected(method: &str) -> bool {
    PROTECTED_METHODS
        .iter()
        .any(|m| m.eq_ignore_ascii_case(method))
}

pub fn is_privileged(method: &str) -> bool {
    PRIVILEGED_METHODS
        .iter()
        .any(|m| m.eq_ignore_ascii_case(method))
}

/// Whether `aud` is a DID or a `did#service` reference.
fn valid_audience(aud: &str) -> bool {
    let did = aud.split('#').next().unwrap_or(aud);
    let fragment_ok = aud.split('#').count() <= 2 && !aud.ends_with('#');
    aud.len() <= 2048 && fragment_ok && crate::core::syntax::Did::parse(did).is_ok()
}

impl Pds {
    /// Signs a service token for `did` (no checks: callers decide what may be minted).
    pub(super) async fn sign_service_token(
        &self,
        did: &Did,
        aud: &str,
        lxm: Option<&str>,
        exp: i64,
    ) -> Result<String, PdsError> {
        let account = self
            .account(did)
            .await?
            .ok_or_else(|| PdsError::InvalidRequest(format!("Could not find account: {did}")))?;
        let key = Keypair::from_bytes(Algorithm::K256, &account.signing_key)
            .map_err(|e| PdsError::Internal(format!("signing key of {did}: {e}")))?;
        let mut nonce = [0u8; 16];
        OsRng.fill_bytes(&mut nonce);
        let claims = ServiceClaims {
            iss: did.to_string(),
            aud: aud.to_owned(),
            exp,
            iat: Some(self.clock().now_secs()),
            jti: Some(data_encoding::HEXLOWER.encode(&nonce)),
            lxm: lxm.map(str::to_owned),
        };
        Ok(jwt::sign_es(&claims, &key))
    }

    /// `getServiceAuth`.
    pub async fn get_service_auth(
        &self,
        caller: &AuthedAccount,
        aud: &str,
        exp: Option<i64>,
        lxm: Option<&str>,
    ) -> Result<String, PdsError> {
        if !valid_audience(aud) {
            return Err(PdsError::InvalidRequest(
                "aud must be a valid atproto DID or did#serviceId reference".into(),
            ));
        }
        if let Some(method) = lxm {
            crate::core::syntax::Nsid::parse(method)
                .map_err(|e| PdsError::InvalidRequest(format!("Invalid lxm: {e}")))?;
        }
        if caller.scope == AccessScope::Takendown && lxm != Some("com.atproto.server.createAccount")
        {
            return Err(PdsError::InvalidToken("Bad token scope".into()));
        }
        // An OAuth token needs an `rpc` permission for the method (any method: `*`) and audience.
        self.require(
            caller,
            &crate::core::oauth::grant::Need::Rpc {
                lxm: lxm.unwrap_or("*"),
                aud,
            },
        )?;
        if let Some(method) = lxm
            && is_privileged(method)
            && !matches!(
                caller.scope,
                AccessScope::Full
                    | AccessScope::AppPasswordPrivileged
                    | AccessScope::Takendown
                    | AccessScope::OAuth
            )
        {
            return Err(PdsError::InvalidRequest(format!(
                "insufficient access to request a service auth token for the following method: {method}"
            )));
        }
        let now = self.clock().now_secs();
        let bad_exp = |message: &str| PdsError::BadExpiration(message.to_owned());
        let exp = match exp {
            None => now + DEFAULT_TTL_SECS,
            Some(exp) if exp <= now => return Err(bad_exp("expiration is in past")),
            Some(exp) if exp - now > MAX_TTL_SECS => {
                return Err(bad_exp(
                    "cannot request a token with an expiration more than an hour in the future",
                ));
            }
            Some(exp) if lxm.is_none() && exp - now > MAX_TTL_WITHOUT_METHOD_SECS => {
                return Err(bad_exp(
                    "cannot request a method-less token with an expiration more than a minute in the future",
                ));
            }
            Some(exp) => exp,
        };
        if let Some(method) = lxm
            && is_protected(method)
        {
            return Err(PdsError::InvalidRequest(format!(
                "cannot request a service auth token for the following protected method: {method}"
            )));
        }
        self.sign_service_token(&caller.did, aud, lxm, exp).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn audiences() {
        assert!(valid_audience("did:web:api.bsky.app"));
        assert!(valid_audience("did:web:api.bsky.app#bsky_appview"));
        assert!(!valid_audience("did:web:api.bsky.app#"));
        assert!(!valid_audience("did:web:a#b#c"));
        assert!(!valid_audience("https://example.com"));
    }

    #[test]
    fn method_lists() {
        assert!(is_protected("com.atproto.server.getSession"));
        assert!(!is_protected("app.bsky.feed.getTimeline"));
        assert!(is_privileged("chat.bsky.convo.sendMessage"));
    }
}
