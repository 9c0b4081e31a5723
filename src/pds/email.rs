//! One-time codes for email confirmation, password reset, account deletion and PLC operations, and
//! their delivery: by SMTP when configured, otherwise kept for the admin to read out, so a small
//! community without mail is never stuck.
//!
//! Codes follow the reference's shape (`XXXXX-XXXXX`, base32 upper case) and expire after
//! [`TOKEN_TTL_SECS`]; each new code for a purpose replaces the previous one.

use rand_core::{OsRng, RngCore};
use redb::{ReadableTable, TableDefinition};

use super::rows::{self, EmailTokenRow};
use super::{Pds, PdsError};
use crate::core::crypto::constant_time_eq;
use crate::core::syntax::Did;
use crate::store::{Reads, StoreError, WriteTransaction};

/// (did, purpose) → email token row (confirm email, reset password, PLC operation, delete account).
const EMAIL_TOKENS: TableDefinition<(&str, &str), &[u8]> = TableDefinition::new("pds.email_tokens");

/// How long a code stays valid.
pub const TOKEN_TTL_SECS: i64 = 15 * 60;

/// What a code is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Purpose {
    ConfirmEmail,
    UpdateEmail,
    ResetPassword,
    DeleteAccount,
    PlcOperation,
}

impl Purpose {
    pub fn as_str(self) -> &'static str {
        match self {
            Purpose::ConfirmEmail => "confirm_email",
            Purpose::UpdateEmail => "update_email",
            Purpose::ResetPassword => "reset_password",
            Purpose::DeleteAccount => "delete_account",
            Purpose::PlcOperation => "plc_operation",
        }
    }

    fn subject(self) -> &'static str {
        match self {
            Purpose::ConfirmEmail => "Confirm your email",
            Purpose::UpdateEmail => "Confirm your new email",
            Purpose::ResetPassword => "Reset your password",
            Purpose::DeleteAccount => "Confirm account deletion",
            Purpose::PlcOperation => "Confirm an identity change",
        }
    }
}

/// A pending code, as the admin sees it.
#[derive(Clone, Debug)]
pub struct PendingCode {
    pub did: String,
    pub purpose: String,
    pub token: String,
    pub expires_at: i64,
}

fn new_token() -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut bytes = [0u8; 10];
    OsRng.fill_bytes(&mut bytes);
    let chars: String = bytes
        .iter()
        .map(|b| ALPHABET[(*b & 31) as usize] as char)
        .collect();
    format!("{}-{}", &chars[..5], &chars[5..])
}

impl Pds {
    /// Issues a code for `did` and delivers it to `email` (or leaves it for the admin).
    pub(super) async fn issue_code(
        &self,
        did: &Did,
        email: Option<&str>,
        purpose: Purpose,
    ) -> Result<(), PdsError> {
        let token = new_token();
        let row = EmailTokenRow {
            token: token.clone(),
            expires_at: self.clock().now_secs() + TOKEN_TTL_SECS,
        };
        let bytes = rows::encode(&row)?;
        let key = (did.as_str().to_owned(), purpose.as_str());
        self.store()
            .write(move |txn| {
                txn.open_table(EMAIL_TOKENS)?
                    .insert((key.0.as_str(), key.1), bytes.as_slice())?;
                Ok(Ok::<_, PdsError>(()))
            })
            .await?;
        match (&self.inner.mailer, email) {
            (Some(mailer), Some(email)) => {
                let body = format!(
                    "Your code: {token}\n\nIt expires in {} minutes. If you did not ask for it, ignore this message.\n",
                    TOKEN_TTL_SECS / 60
                );
                mailer
                    .send(email, purpose.subject(), &body)
                    .await
                    .map_err(|e| PdsError::Upstream(format!("sending email failed: {e}")))?;
            }
            _ => {
                tracing::info!(%did, purpose = purpose.as_str(), "code issued; no mail configured, the admin can read it")
            }
        }
        Ok(())
    }

    /// Checks and consumes a code.
    pub(super) async fn consume_code(
        &self,
        did: &Did,
        purpose: Purpose,
        token: &str,
    ) -> Result<(), PdsError> {
        let (did, token) = (did.as_str().to_owned(), token.trim().to_ascii_uppercase());
        let now = self.clock().now_secs();
        self.store()
            .write(move |txn| {
                let mut table = txn.open_table(EMAIL_TOKENS)?;
                let row: Option<EmailTokenRow> =
                    rows::get(&table, (did.as_str(), purpose.as_str()))?;
                let Some(row) = row else {
                    return Ok(Err(invalid_code()));
                };
                if row.expires_at <= now {
                    table.remove((did.as_str(), purpose.as_str()))?;
                    return Ok(Err(expired_code()));
                }
                if !constant_time_eq(row.token.as_bytes(), token.as_bytes()) {
                    return Ok(Err(invalid_code()));
                }
                table.remove((did.as_str(), purpose.as_str()))?;
                Ok(Ok(()))
            })
            .await
    }

    /// Codes waiting to be used (for the admin when no mail is configured).
    pub async fn pending_codes(&self) -> Result<Vec<PendingCode>, PdsError> {
        let now = self.clock().now_secs();
        self.store()
            .read(move |txn| {
                let Some(table) = txn.table(EMAIL_TOKENS)? else {
                    return Ok(Vec::new());
                };
                let mut out = Vec::new();
                for row in table.iter()? {
                    let (k, v) = row.map_err(StoreError::from)?;
                    let row: EmailTokenRow = rows::decode(v.value())?;
                    if row.expires_at > now {
                        let (did, purpose) = k.value();
                        out.push(PendingCode {
                            did: did.to_owned(),
                            purpose: purpose.to_owned(),
                            token: row.token,
                            expires_at: row.expires_at,
                        });
                    }
                }
                Ok::<_, PdsError>(out)
            })
            .await
    }

    /// Sends a test message (for `skyhold` operators checking their SMTP settings).
    pub async fn send_test_email(&self, to: &str) -> Result<(), PdsError> {
        let mailer = self
            .inner
            .mailer
            .as_ref()
            .ok_or_else(|| PdsError::InvalidRequest("no SMTP server is configured".into()))?;
        mailer
            .send(
                to,
                "skyhold test message",
                "If you read this, skyhold can send email.\n",
            )
            .await
            .map_err(|e| PdsError::Upstream(format!("sending email failed: {e}")))
    }
}

fn invalid_code() -> PdsError {
    PdsError::InvalidToken("Token is invalid".into())
}

fn expired_code() -> PdsError {
    PdsError::ExpiredToken("Token is expired".into())
}

/// The account and expiry of the password-reset code `token` (upper case), if one is pending.
fn find_reset(txn: &impl Reads, token: &str) -> Result<Option<(String, i64)>, StoreError> {
    let Some(tokens) = txn.table(EMAIL_TOKENS)? else {
        return Ok(None);
    };
    for row in tokens.iter()? {
        let (k, v) = row?;
        let (did, purpose) = k.value();
        if purpose != Purpose::ResetPassword.as_str() {
            continue;
        }
        let row: EmailTokenRow = rows::decode(v.value())?;
        if constant_time_eq(row.token.as_bytes(), token.as_bytes()) {
            return Ok(Some((did.to_owned(), row.expires_at)));
        }
    }
    Ok(None)
}

/// Whether `token` is a pending password-reset code (a cheap check before the password's hash).
pub(super) fn reset_code_known(txn: &impl Reads, token: &str) -> Result<bool, StoreError> {
    Ok(find_reset(txn, token)?.is_some())
}

/// Consumes the password-reset code `token` at `now` (seconds); returns its account.
pub(super) fn take_reset_code(
    txn: &WriteTransaction,
    token: &str,
    now: i64,
) -> Result<Result<String, PdsError>, StoreError> {
    let Some((did, expires_at)) = find_reset(txn, token)? else {
        return Ok(Err(invalid_code()));
    };
    txn.open_table(EMAIL_TOKENS)?
        .remove((did.as_str(), Purpose::ResetPassword.as_str()))?;
    if expires_at <= now {
        return Ok(Err(expired_code()));
    }
    Ok(Ok(did))
}

/// Removes every pending code of `did` (a deleted account).
pub(super) fn purge(txn: &WriteTransaction, did: &str) -> Result<(), StoreError> {
    let end = format!("{did}\0");
    txn.open_table(EMAIL_TOKENS)?
        .retain_in((did, "")..(end.as_str(), ""), |_, _| false)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn token_shape() {
        let t = super::new_token();
        assert_eq!(t.len(), 11);
        assert_eq!(&t[5..6], "-");
    }
}
