//! Sessions: passwords, app passwords, and the legacy session tokens (access `at+jwt`, refresh
//! `refresh+jwt`, both HS256 with the server's key).
//!
//! Spec: <https://atproto.com/specs/xrpc#authentication>. Claims, scopes and lifetimes follow the
//! reference PDS: access tokens last two hours, refresh tokens 90 days; a refresh token is single
//! use, but reusing it within two hours of its first use returns the same successor (so a client that
//! lost a response can recover), after which the whole chain is revoked.

use rand_core::{OsRng, RngCore};
use redb::ReadableTable;
use serde::{Deserialize, Serialize};

use super::rows::{self, AccountRow, AccountStatus, AppPasswordRow, RefreshRow};
use super::tables::{ACCOUNTS, APP_PASSWORDS, EMAILS, HANDLES, REFRESH_TOKENS};
use super::{Pds, PdsError, refresh_tokens};
use crate::clock::{now_micros, now_secs};
use crate::core::jwt;
use crate::store::{StoreError, open_read_table};

const ACCESS_TTL_SECS: i64 = 2 * 60 * 60;
const REFRESH_TTL_SECS: i64 = 90 * 24 * 60 * 60;
/// How long after its first use a refresh token may be replayed for the same successor.
const REFRESH_GRACE_SECS: i64 = 2 * 60 * 60;

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
    pub did: String,
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
    pub did: String,
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
        let now = now_secs();
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
            iat: now_secs(),
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
        if claims.exp <= now_secs() {
            return Err(PdsError::ExpiredToken);
        }
        if claims.aud != self.aud() {
            return Err(PdsError::InvalidToken(
                "Token audience does not match".into(),
            ));
        }
        let scope = AccessScope::parse(&claims.scope)
            .ok_or_else(|| PdsError::InvalidToken("Bad token scope".into()))?;
        Ok(AuthedAccount {
            did: claims.sub,
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
        let exp = now_secs() + REFRESH_TTL_SECS;
        if scope != AccessScope::Takendown {
            let row = RefreshRow {
                did: account.did.clone(),
                expires_at: exp,
                app_password,
                next_id: None,
                used_at: None,
            };
            let key = jti.clone();
            self.store()
                .write(move |txn| {
                    refresh_tokens::make_room(txn, &row.did)?;
                    refresh_tokens::insert(txn, &key, &row)?;
                    Ok(Ok::<_, PdsError>(()))
                })
                .await?;
        }
        Ok(SessionOutput {
            access_jwt: self.issue_access(&account.did, scope),
            refresh_jwt: self.refresh_token(&account.did, &jti, exp),
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
            self.check_app_password(&account.did, password).await?
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
            .read(move |txn| {
                let did = if identifier.starts_with("did:") {
                    Some(identifier.clone())
                } else {
                    let table = if identifier.contains('@') {
                        EMAILS
                    } else {
                        HANDLES
                    };
                    match open_read_table(txn, table)? {
                        Some(t) => t.get(identifier.as_str())?.map(|v| v.value().to_owned()),
                        None => None,
                    }
                };
                let Some(did) = did else { return Ok(None) };
                let Some(accounts) = open_read_table(txn, ACCOUNTS)? else {
                    return Ok(None);
                };
                accounts
                    .get(did.as_str())?
                    .map(|v| rows::decode::<AccountRow>(v.value()))
                    .transpose()
                    .map_err(PdsError::from)
            })
            .await
    }

    /// `refreshSession`: trades a refresh token for a new pair.
    pub async fn refresh_session(&self, token: &str) -> Result<SessionOutput, PdsError> {
        let claims: RefreshClaims =
            jwt::verify_hs256(token, TYP_REFRESH, &self.inner.secrets.jwt_key)
                .map_err(|_| PdsError::InvalidToken("Token could not be verified".into()))?;
        let now = now_secs();
        if claims.exp <= now {
            return Err(PdsError::ExpiredToken);
        }
        if claims.aud != self.aud() {
            return Err(PdsError::InvalidToken("Token could not be verified".into()));
        }
        let revoked = || PdsError::Named {
            error: "ExpiredToken",
            message: "Token has been revoked".into(),
        };
        let next_jti = random_id();
        let next_exp = now + REFRESH_TTL_SECS;
        let jti = claims.jti.clone();
        let did = claims.sub.clone();
        let outcome = self
            .store()
            .write(move |txn| {
                let table = txn.open_table(REFRESH_TOKENS)?;
                let Some(row) = table.get(jti.as_str())?.map(|v| v.value().to_vec()) else {
                    return Ok(Err(revoked()));
                };
                let mut row: RefreshRow = rows::decode(&row)?;
                if row.did != did {
                    return Ok(Err(PdsError::InvalidToken(
                        "Token could not be verified".into(),
                    )));
                }
                if let (Some(next), Some(used)) = (&row.next_id, row.used_at) {
                    if now - used <= REFRESH_GRACE_SECS {
                        // A replay within the grace period gets the same successor again.
                        let next = next.clone();
                        let successor: Option<RefreshRow> = table
                            .get(next.as_str())?
                            .map(|v| rows::decode(v.value()))
                            .transpose()?;
                        return Ok(match successor {
                            Some(s) => Ok((next, s.expires_at, s.app_password)),
                            None => Err(revoked()),
                        });
                    }
                    drop(table);
                    refresh_tokens::remove(txn, &jti)?;
                    return Ok(Err(revoked()));
                }
                drop(table);
                let successor = RefreshRow {
                    did: row.did.clone(),
                    expires_at: next_exp,
                    app_password: row.app_password.clone(),
                    next_id: None,
                    used_at: None,
                };
                // The used token lives on only for its replay grace.
                row.next_id = Some(next_jti.clone());
                row.used_at = Some(now);
                row.expires_at = row.expires_at.min(now + REFRESH_GRACE_SECS);
                refresh_tokens::insert(txn, &jti, &row)?;
                refresh_tokens::insert(txn, &next_jti, &successor)?;
                Ok(Ok((next_jti, next_exp, successor.app_password)))
            })
            .await;
        let (next_jti, next_exp, app_password) = outcome?;
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
                if self.app_password_privileged(&account.did, name).await? {
                    AccessScope::AppPasswordPrivileged
                } else {
                    AccessScope::AppPassword
                }
            }
        };
        Ok(SessionOutput {
            access_jwt: self.issue_access(&account.did, scope),
            refresh_jwt: self.refresh_token(&account.did, &next_jti, next_exp),
            did: account.did.clone(),
            handle: account.handle.clone(),
            email: account.email.clone(),
            email_confirmed: account.email_confirmed_at.is_some(),
            status: account.status,
        })
    }

    async fn app_password_privileged(&self, did: &str, name: &str) -> Result<bool, PdsError> {
        let key = (did.to_owned(), name.to_owned());
        self.store()
            .read(move |txn| {
                let Some(table) = open_read_table(txn, APP_PASSWORDS)? else {
                    return Ok(false);
                };
                let row: Option<AppPasswordRow> = table
                    .get((key.0.as_str(), key.1.as_str()))?
                    .map(|v| rows::decode(v.value()))
                    .transpose()?;
                Ok::<_, PdsError>(row.is_some_and(|r| r.privileged))
            })
            .await
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
        let now = now_micros() / 1_000_000;
        self.store()
            .write(move |txn| {
                let mut expired = Vec::new();
                for row in txn.open_table(REFRESH_TOKENS)?.iter()? {
                    let (key, value) = row?;
                    let row: RefreshRow = rows::decode(value.value())?;
                    if row.expires_at <= now {
                        expired.push(key.value().to_owned());
                    }
                }
                for key in &expired {
                    refresh_tokens::remove(txn, key)?;
                }
                Ok(Ok::<_, PdsError>(expired.len()))
            })
            .await
    }
}

/// Ends every session of `did` (password change, takedown, deletion): its refresh tokens go, so
/// no new access token can be minted, and its OAuth sessions end (their access tokens with them).
pub(super) fn revoke_sessions(
    txn: &crate::store::WriteTransaction,
    did: &str,
) -> Result<(), StoreError> {
    refresh_tokens::revoke(txn, did, None)?;
    super::oauth::store::delete_account_sessions(txn, did)?;
    Ok(())
}
