//! An account's email and password: confirmation, change, and reset by code.
//!
//! Lexicons `com.atproto.server.{requestEmailConfirmation, confirmEmail, requestEmailUpdate,
//! updateEmail, requestPasswordReset, resetPassword}`; behaviour follows the reference PDS: a
//! confirmed address must approve its own replacement with a code, a reset ends every session, and
//! `requestPasswordReset` answers the same whether or not the address is known.

use redb::ReadableTable;

use super::accounts::{MAX_PASSWORD_LEN, MIN_PASSWORD_LEN, is_valid_email};
use super::auth::revoke_sessions;
use super::email::Purpose;
use super::rows::{self, AccountRow, EmailTokenRow};
use super::tables::{ACCOUNTS, EMAIL_TOKENS, EMAILS};
use super::{Pds, PdsError};
use crate::clock::{now_datetime, now_secs};
use crate::store::{StoreError, open_read_table};

/// Checks a new password against the same rules as account creation.
pub(super) fn check_new_password(password: &str) -> Result<(), PdsError> {
    if password.len() > MAX_PASSWORD_LEN {
        return Err(PdsError::InvalidRequest(
            "Password too long. Maximum length is 256 characters.".into(),
        ));
    }
    if password.chars().count() < MIN_PASSWORD_LEN {
        return Err(PdsError::InvalidPassword(format!(
            "Password must have at least {MIN_PASSWORD_LEN} characters"
        )));
    }
    Ok(())
}

fn normalize_email(email: &str) -> Result<String, PdsError> {
    let email = email.trim().to_ascii_lowercase();
    if !is_valid_email(&email) {
        return Err(PdsError::InvalidEmail(
            "This email address is not supported, please use a different email.".into(),
        ));
    }
    Ok(email)
}

impl Pds {
    async fn existing_account(&self, did: &str) -> Result<AccountRow, PdsError> {
        self.account(did)
            .await?
            .ok_or_else(|| PdsError::InvalidRequest("Account not found".into()))
    }

    /// `requestEmailConfirmation`.
    pub async fn request_email_confirmation(&self, did: &str) -> Result<(), PdsError> {
        let account = self.existing_account(did).await?;
        let Some(email) = account.email.as_deref() else {
            return Err(PdsError::InvalidRequest(
                "account does not have an email address".into(),
            ));
        };
        self.issue_code(did, Some(email), Purpose::ConfirmEmail)
            .await
    }

    /// `confirmEmail`: the code proves the address.
    pub async fn confirm_email(&self, did: &str, email: &str, token: &str) -> Result<(), PdsError> {
        let account = self.existing_account(did).await?;
        if account.email.as_deref() != Some(email.trim().to_ascii_lowercase().as_str()) {
            return Err(PdsError::InvalidEmail("invalid email".into()));
        }
        self.consume_code(did, Purpose::ConfirmEmail, token).await?;
        self.change_account(did, |account| {
            account.email_confirmed_at = Some(now_datetime());
            Ok(())
        })
        .await
    }

    /// `requestEmailUpdate`: whether `updateEmail` will need a code (it does once the current
    /// address is confirmed; the code goes to that address).
    pub async fn request_email_update(&self, did: &str) -> Result<bool, PdsError> {
        let account = self.existing_account(did).await?;
        let token_required = account.email_confirmed_at.is_some();
        if token_required {
            self.issue_code(did, account.email.as_deref(), Purpose::UpdateEmail)
                .await?;
        }
        Ok(token_required)
    }

    /// `updateEmail` (and the admin's `updateAccountEmail` with `token: None, by_admin: true`).
    pub async fn update_email(
        &self,
        did: &str,
        email: &str,
        token: Option<&str>,
        by_admin: bool,
    ) -> Result<(), PdsError> {
        let account = self.existing_account(did).await?;
        let email = normalize_email(email)?;
        if !by_admin && account.email_confirmed_at.is_some() {
            let token = token.ok_or_else(|| PdsError::Named {
                error: "TokenRequired",
                message: "confirmation token required".into(),
            })?;
            self.consume_code(did, Purpose::UpdateEmail, token).await?;
        }
        let did_owned = did.to_owned();
        self.store()
            .write(move |txn| {
                let mut accounts = txn.open_table(ACCOUNTS)?;
                let Some(mut account) = accounts
                    .get(did_owned.as_str())?
                    .map(|v| rows::decode::<AccountRow>(v.value()))
                    .transpose()?
                else {
                    return Ok(Err(PdsError::InvalidRequest("Account not found".into())));
                };
                let mut emails = txn.open_table(EMAILS)?;
                if let Some(owner) = emails.get(email.as_str())?.map(|v| v.value().to_owned())
                    && owner != did_owned
                {
                    return Ok(Err(PdsError::InvalidRequest(
                        "This email address is already in use, please use a different email."
                            .into(),
                    )));
                }
                if account.email.as_deref() != Some(email.as_str()) {
                    if let Some(old) = &account.email {
                        emails.remove(old.as_str())?;
                    }
                    emails.insert(email.as_str(), did_owned.as_str())?;
                    account.email = Some(email);
                    account.email_confirmed_at = None;
                }
                accounts.insert(did_owned.as_str(), rows::encode(&account)?.as_slice())?;
                Ok(Ok(()))
            })
            .await
    }

    /// `requestPasswordReset`: sends a code if the address belongs to an account; says nothing
    /// either way.
    pub async fn request_password_reset(&self, email: &str) -> Result<(), PdsError> {
        let email = email.trim().to_ascii_lowercase();
        let lookup = email.clone();
        let did = self
            .store()
            .read(move |txn| {
                Ok::<_, PdsError>(match open_read_table(txn, EMAILS)? {
                    Some(t) => t.get(lookup.as_str())?.map(|v| v.value().to_owned()),
                    None => None,
                })
            })
            .await?;
        match did {
            Some(did) => {
                self.issue_code(&did, Some(&email), Purpose::ResetPassword)
                    .await
            }
            None => Ok(()),
        }
    }

    /// `resetPassword`: the code names the account; the new password ends every session.
    pub async fn reset_password(&self, token: &str, password: &str) -> Result<(), PdsError> {
        check_new_password(password)?;
        let token = token.trim().to_ascii_uppercase();
        // The code is looked for before the (costly) hash: a wrong code costs one read. The
        // write below checks it again.
        let wanted = token.clone();
        let known = self
            .store()
            .read(move |txn| {
                let Some(tokens) = open_read_table(txn, EMAIL_TOKENS)? else {
                    return Ok::<_, PdsError>(false);
                };
                for row in tokens.iter()? {
                    let (k, v) = row.map_err(StoreError::from)?;
                    if k.value().1 == Purpose::ResetPassword.as_str()
                        && crate::core::crypto::constant_time_eq(
                            rows::decode::<EmailTokenRow>(v.value())?.token.as_bytes(),
                            wanted.as_bytes(),
                        )
                    {
                        return Ok(true);
                    }
                }
                Ok(false)
            })
            .await?;
        if !known {
            return Err(PdsError::Named {
                error: "InvalidToken",
                message: "Token is invalid".into(),
            });
        }
        let hash = self.inner.hashing.hash(password).await?;
        let now = now_secs();
        self.store()
            .write(move |txn| {
                let mut tokens = txn.open_table(EMAIL_TOKENS)?;
                let mut found = None;
                for row in tokens.iter()? {
                    let (k, v) = row?;
                    let (did, purpose) = k.value();
                    if purpose != Purpose::ResetPassword.as_str() {
                        continue;
                    }
                    let row: EmailTokenRow = rows::decode(v.value())?;
                    if crate::core::crypto::constant_time_eq(row.token.as_bytes(), token.as_bytes())
                    {
                        found = Some((did.to_owned(), row.expires_at));
                        break;
                    }
                }
                let Some((did, expires_at)) = found else {
                    return Ok(Err(PdsError::Named {
                        error: "InvalidToken",
                        message: "Token is invalid".into(),
                    }));
                };
                tokens.remove((did.as_str(), Purpose::ResetPassword.as_str()))?;
                if expires_at <= now {
                    return Ok(Err(PdsError::Named {
                        error: "ExpiredToken",
                        message: "Token is expired".into(),
                    }));
                }
                drop(tokens);
                set_password_hash(txn, &did, hash)
            })
            .await
    }

    /// The admin's `updateAccountPassword`: ends every session.
    pub async fn set_password(&self, did: &str, password: &str) -> Result<(), PdsError> {
        check_new_password(password)?;
        let hash = self.inner.hashing.hash(password).await?;
        let did = did.to_owned();
        self.store()
            .write(move |txn| set_password_hash(txn, &did, hash))
            .await
    }

    /// Edits an account row in one write.
    pub(super) async fn change_account(
        &self,
        did: &str,
        edit: impl FnOnce(&mut AccountRow) -> Result<(), PdsError> + Send + 'static,
    ) -> Result<(), PdsError> {
        let did = did.to_owned();
        self.store()
            .write(move |txn| {
                let mut accounts = txn.open_table(ACCOUNTS)?;
                let Some(mut account) = accounts
                    .get(did.as_str())?
                    .map(|v| rows::decode::<AccountRow>(v.value()))
                    .transpose()?
                else {
                    return Ok(Err(PdsError::InvalidRequest("Account not found".into())));
                };
                if let Err(e) = edit(&mut account) {
                    return Ok(Err(e));
                }
                accounts.insert(did.as_str(), rows::encode(&account)?.as_slice())?;
                Ok(Ok(()))
            })
            .await
    }
}

fn set_password_hash(
    txn: &crate::store::WriteTransaction,
    did: &str,
    hash: String,
) -> Result<Result<(), PdsError>, StoreError> {
    let mut accounts = txn.open_table(ACCOUNTS)?;
    let Some(mut account) = accounts
        .get(did)?
        .map(|v| rows::decode::<AccountRow>(v.value()))
        .transpose()?
    else {
        return Ok(Err(PdsError::InvalidRequest("Account not found".into())));
    };
    account.password_hash = hash;
    accounts.insert(did, rows::encode(&account)?.as_slice())?;
    drop(accounts);
    revoke_sessions(txn, did)?;
    Ok(Ok(()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_follow_the_creation_rules() {
        assert!(check_new_password("short").is_err());
        assert!(check_new_password(&"x".repeat(257)).is_err());
        assert!(check_new_password("long enough").is_ok());
    }

    #[test]
    fn emails_are_normalized_and_checked() {
        assert_eq!(
            normalize_email(" Alice@Example.COM ").ok().as_deref(),
            Some("alice@example.com")
        );
        assert!(normalize_email("not-an-email").is_err());
    }
}
