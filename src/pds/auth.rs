//! Sessions: passwords, app passwords, and the legacy session tokens (access `at+jwt`, refresh
//! `refresh+jwt`, both HS256 with the server's key).
//!
//! Spec: <https://atproto.com/specs/xrpc#authentication>. Claims, scopes and lifetimes follow the
//! reference PDS: access tokens last two hours, refresh tokens 90 days; a refresh token is single
//! use, but reusing it within two hours of its first use returns the same successor (so a client that
//! lost a response can recover), after which the whole chain is revoked.

use rand_core::{OsRng, RngCore};
use serde::{Deserialize, Serialize};

use super::rows::{AccountRow, AccountStatus, RefreshRow};
use super::{Pds, PdsError, account_store, app_passwords, refresh_tokens};
use crate::core::jwt;
use crate::core::syntax::Did;

pub(super) const ACCESS_TTL_SECS: i64 = 2 * 60 * 60;
const REFRESH_TTL_SECS: i64 = 90 * 24 * 60 * 60;

const TYP_ACCESS: &str = "at+jwt";
const TYP_REFRESH: &str = "refresh+jwt";

/// What an access token lets its holder do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AccessScope {
    /// Full access (password login).
    Full,
    /// An app password that may not touch account settings or DMs.
    AppPassword,
    /// An app password that may also use chat.
    AppPasswordPrivileged,
    /// A taken-down account that logged in with `allowTakendown`: read-only account management.
    Takendown,
    /// An OAuth access token: what it may do is its grant ([`AuthedAccount::grant`]).
    OAuth,
}

impl AccessScope {
    fn as_str(self) -> &'static str {
        match self {
            AccessScope::Full => "com.atproto.access",
            AccessScope::AppPassword => "com.atproto.appPass",
            AccessScope::AppPasswordPrivileged => "com.atproto.appPassPrivileged",
            AccessScope::Takendown => "com.atproto.takendown",
            AccessScope::OAuth => "atproto",
        }
    }

    fn parse(scope: &str) -> Option<AccessScope> {
        Some(match scope {
            "com.atproto.access" => AccessScope::Full,
            "com.atproto.appPass" => AccessScope::AppPassword,
            "com.atproto.appPassPrivileged" => AccessScope::AppPasswordPrivileged,
            "com.atproto.takendown" => AccessScope::Takendown,
            _ => return None,
        })
    }
}

#[derive(Serialize, Deserialize)]
struct AccessClaims {
    scope: String,
    sub: String,
    aud: String,
    iat: i64,
    exp: i64,
}

#[derive(Serialize, Deserialize)]
struct RefreshClaims {
    scope: String,
    sub: String,
    aud: String,
    jti: String,
    iat: i64,
    exp: i64,
}

/// A caller authenticated with an access token.
#[derive(Clone, Debug)]
pub struct AuthedAccount {
    pub did: Did,
    pub scope: AccessScope,
    /// The permissions of an OAuth token (`None` for session tokens, which the access rules
    /// decide alone).
    pub grant: Option<std::sync::Arc<crate::core::oauth::grant::Grant>>,
}

/// The tokens and account facts a session call returns.
#[derive(Clone, Debug)]
pub struct SessionOutput {
    pub access_jwt: String,
    pub refresh_jwt: String,
    pub did: Did,
    pub handle: String,
    pub email: Option<String>,
    pub email_confirmed: bool,
    pub status: AccountStatus,
}

/// What a taken-down or suspended member reads when signing in: the end of a suspension and the
/// admin's reason, in a fixed form the web UI reads back (`Account has been suspended until
/// <datetime>[: <reason>]`, `Account has been taken down[: <reason>]`). The defaults the admin
/// API fills in when no reason was given are not reasons.
fn takedown_message(account: &AccountRow) -> String {
    let reason = account
        .takedown_ref
        .as_deref()
        .filter(|r| !r.is_empty() && *r != "takedown" && *r != "suspension");
    let head = match (&account.status, &account.suspended_until) {
        (AccountStatus::Suspended, Some(until)) => {
            format!("Account has been suspended until {until}")
        }
        _ => "Account has been taken down".to_owned(),
    };
    match reason {
        Some(reason) => format!("{head}: {reason}"),
        None => head,
    }
}

/// A refresh token id: 32 random bytes, unpadded base64 (as the reference).
fn random_id() -> String {
    let mut bytes = [0u8; 32];
    OsRng.fill_bytes(&mut bytes);
    data_encoding::BASE64_NOPAD.encode(&bytes)
}

/// Longest password accepted at login (the reference's limit).
const MAX_LOGIN_PASSWORD_LEN: usize = 512;

impl Pds {
    fn aud(&self) -> &str {
        self.inner.config.service_did.as_str()
    }

    fn issue_access(&self, did: &str, scope: AccessScope) -> String {
        let now = self.clock().now_secs();
        let claims = AccessClaims {
            scope: scope.as_str().into(),
            sub: did.into(),
            aud: self.aud().into(),
            iat: now,
            exp: now + ACCESS_TTL_SECS,
        };
        jwt::sign_hs256(TYP_ACCESS, &claims, &self.inner.secrets.jwt_key)
    }

    fn refresh_token(&self, did: &str, jti: &str, exp: i64) -> String {
        let claims = RefreshClaims {
            scope: "com.atproto.refresh".into(),
            sub: did.into(),
            aud: self.aud().into(),
            jti: jti.into(),
            iat: self.clock().now_secs(),
            exp,
        };
        jwt::sign_hs256(TYP_REFRESH, &claims, &self.inner.secrets.jwt_key)
    }

    /// Verifies an access token and returns who holds it.
    pub fn verify_access(&self, token: &str) -> Result<AuthedAccount, PdsError> {
        let claims: AccessClaims =
            jwt::verify_hs256(token, TYP_ACCESS, &self.inner.secrets.jwt_key).map_err(
                |e| match e {
                    jwt::JwtError::WrongType => PdsError::InvalidToken("Invalid token type".into()),
                    _ => PdsError::InvalidToken("Token could not be verified".into()),
                },
            )?;
        if claims.exp <= self.clock().now_secs() {
            return Err(expired());
        }
        if claims.aud != self.aud() {
            return Err(PdsError::InvalidToken(
                "Token audience does not match".into(),
            ));
        }
        let scope = AccessScope::parse(&claims.scope)
            .ok_or_else(|| PdsError::InvalidToken("Bad token scope".into()))?;
        let did = Did::parse(&claims.sub)
            .map_err(|_| PdsError::InvalidToken("Token could not be verified".into()))?;
        Ok(AuthedAccount {
            did,
            scope,
            grant: None,
        })
    }

    /// Issues a new session: an access token with `scope` and a stored refresh token (a taken-down
    /// account's refresh token is not stored, so it cannot be rotated).
    pub(super) async fn new_session(
        &self,
        account: &AccountRow,
        scope: AccessScope,
        app_password: Option<String>,
    ) -> Result<SessionOutput, PdsError> {
        let jti = random_id();
        let issued = self.clock().now_micros();
        let exp = issued.div_euclid(1_000_000) + REFRESH_TTL_SECS;
        if scope != AccessScope::Takendown {
            let row = RefreshRow {
                did: account.did.to_string(),
                expires_at: exp,
                app_password,
                next_id: None,
                used_at: None,
            };
            let key = jti.clone();
            self.store()
                .write(move |txn| {
                    refresh_tokens::make_room(txn, &row.did)?;
                    refresh_tokens::insert(txn, &key, &row, issued)?;
                    Ok(Ok::<_, PdsError>(()))
                })
                .await?;
        }
        Ok(SessionOutput {
            access_jwt: self.issue_access(account.did.as_str(), scope),
            refresh_jwt: self.refresh_token(account.did.as_str(), &jti, exp),
            did: account.did.clone(),
            handle: account.handle.clone(),
            email: account.email.clone(),
            email_confirmed: account.email_confirmed_at.is_some(),
            status: account.status,
        })
    }

    /// `createSession`: log in with a handle, email or DID and a password or app password.
    pub async fn create_session(
        &self,
        identifier: &str,
        password: &str,
        allow_takendown: bool,
    ) -> Result<SessionOutput, PdsError> {
        if password.len() > MAX_LOGIN_PASSWORD_LEN {
            return Err(PdsError::AuthRequired(
                "Password too long. Consider resetting your password.".into(),
            ));
        }
        let invalid = || PdsError::AuthRequired("Invalid identifier or password".into());
        let hashing = &self.inner.hashing;
        let Some(account) = self.find_account(identifier).await? else {
            hashing.verify_dummy(password).await?;
            return Err(invalid());
        };
        let takendown = matches!(
            account.status,
            AccountStatus::Takendown | AccountStatus::Suspended
        );
        // An app password is one digest and one lookup; a failed login then costs one argon2,
        // whatever the number of app passwords. A taken-down account logs in with its password.
        let app_password = if takendown {
            None
        } else {
            self.check_app_password(account.did.as_str(), password)
                .await?
        };
        let (scope, app_password) = match app_password {
            Some((name, privileged)) => (
                if privileged {
                    AccessScope::AppPasswordPrivileged
                } else {
                    AccessScope::AppPassword
                },
                Some(name),
            ),
            None => {
                if !hashing.verify(password, &account.password_hash).await? {
                    return Err(invalid());
                }
                (AccessScope::Full, None)
            }
        };
        let scope = if takendown {
            if !allow_takendown {
                return Err(PdsError::AccountTakedown(takedown_message(&account)));
            }
            AccessScope::Takendown
        } else {
            scope
        };
        self.new_session(&account, scope, app_password).await
    }

    /// Looks an account up by handle, email or DID.
    pub(super) async fn find_account(
        &self,
        identifier: &str,
    ) -> Result<Option<AccountRow>, PdsError> {
        let identifier = identifier.trim().to_ascii_lowercase();
        let identifier = identifier
            .strip_prefix('@')
            .unwrap_or(&identifier)
            .to_owned();
        self.store()
            .read(move |txn| Ok(account_store::find_login(txn, &identifier)?))
            .await
    }

    /// `refreshSession`: trades a refresh token for a new pair.
    pub async fn refresh_session(&self, token: &str) -> Result<SessionOutput, PdsError> {
        let claims: RefreshClaims =
            jwt::verify_hs256(token, TYP_REFRESH, &self.inner.secrets.jwt_key)
                .map_err(|_| PdsError::InvalidToken("Token could not be verified".into()))?;
        let now_micros = self.clock().now_micros();
        let now = now_micros.div_euclid(1_000_000);
        if claims.exp <= now {
            return Err(expired());
        }
        if claims.aud != self.aud() {
            return Err(PdsError::InvalidToken("Token could not be verified".into()));
        }
        let next = (random_id(), now + REFRESH_TTL_SECS);
        let (jti, did) = (claims.jti.clone(), claims.sub.clone());
        let (next_jti, next_exp, app_password) = self
            .store()
            .write(move |txn| refresh_tokens::rotate(txn, &jti, &did, now_micros, next))
            .await?;
        let account = self.find_account(&claims.sub).await?.ok_or_else(|| {
            PdsError::InvalidRequest(format!(
                "Could not find user info for account: {}",
                claims.sub
            ))
        })?;
        if matches!(
            account.status,
            AccountStatus::Takendown | AccountStatus::Suspended
        ) {
            return Err(PdsError::AccountTakedown(
                "Account has been taken down".into(),
            ));
        }
        let scope = match &app_password {
            None => AccessScope::Full,
            Some(name) => {
                let (did, name) = (account.did.clone(), name.clone());
                let privileged = self
                    .store()
                    .read(move |txn| app_passwords::privileged(txn, did.as_str(), &name))
                    .await?;
                if privileged {
                    AccessScope::AppPasswordPrivileged
                } else {
                    AccessScope::AppPassword
                }
            }
        };
        Ok(SessionOutput {
            access_jwt: self.issue_access(account.did.as_str(), scope),
            refresh_jwt: self.refresh_token(account.did.as_str(), &next_jti, next_exp),
            did: account.did.clone(),
            handle: account.handle.clone(),
            email: account.email.clone(),
            email_confirmed: account.email_confirmed_at.is_some(),
            status: account.status,
        })
    }

    /// `deleteSession`: revokes a refresh token (an expired one too).
    pub async fn delete_session(&self, token: &str) -> Result<(), PdsError> {
        let claims: RefreshClaims =
            jwt::verify_hs256(token, TYP_REFRESH, &self.inner.secrets.jwt_key)
                .map_err(|_| PdsError::InvalidToken("Token could not be verified".into()))?;
        if claims.aud != self.aud() {
            return Err(PdsError::InvalidToken("Token could not be verified".into()));
        }
        let jti = claims.jti;
        self.store()
            .write(move |txn| {
                refresh_tokens::remove(txn, &jti)?;
                Ok(Ok::<_, PdsError>(()))
            })
            .await
    }

    /// Removes refresh tokens past their expiry (run periodically).
    pub async fn sweep_refresh_tokens(&self) -> Result<usize, PdsError> {
        let now = self.clock().now_secs();
        self.store()
            .write(move |txn| Ok(Ok::<_, PdsError>(refresh_tokens::sweep(txn, now)?)))
            .await
    }
}

/// Ends every session of `did` (password change, takedown, deletion): its refresh tokens go, so
/// no new access token can be minted, and its OAuth sessions end (their access tokens with them).
pub(super) fn revoke_sessions(
    txn: &crate::store::WriteTransaction,
    did: &str,
) -> Result<(), crate::store::StoreError> {
    refresh_tokens::revoke(txn, did, None)?;
    super::oauth::store::delete_account_sessions(txn, did)?;
    Ok(())
}

/// The error of a session token past its expiry.
fn expired() -> PdsError {
    PdsError::ExpiredToken("Token has expired".into())
}
