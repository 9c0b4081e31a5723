//! An account's email and password: confirmation, change, and reset by code.
//!
//! Lexicons `com.atproto.server.{requestEmailConfirmation, confirmEmail, requestEmailUpdate,
//! updateEmail, requestPasswordReset, resetPassword}`; behaviour follows the reference PDS: a
//! confirmed address must approve its own replacement with a code, a reset ends every session, and
//! `requestPasswordReset` answers the same whether or not the address is known.

use super::account_store::{self, Taken};
use super::accounts::{MAX_PASSWORD_LEN, MIN_PASSWORD_LEN, is_valid_email};
use super::auth::revoke_sessions;
use super::email::{self, Purpose};
use super::rows::AccountRow;
use super::{Pds, PdsError};
use crate::core::syntax::Did;
use crate::store::{StoreError, WriteTransaction};

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
    /// `requestEmailConfirmation`.
    pub async fn request_email_confirmation(&self, did: &Did) -> Result<(), PdsError> {
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
    pub async fn confirm_email(&self, did: &Did, email: &str, token: &str) -> Result<(), PdsError> {
        let account = self.existing_account(did).await?;
        if account.email.as_deref() != Some(email.trim().to_ascii_lowercase().as_str()) {
            return Err(PdsError::InvalidEmail("invalid email".into()));
        }
        self.consume_code(did, Purpose::ConfirmEmail, token).await?;
        let now = self.clock().now_datetime();
        self.change_account(did, |account| {
            account.email_confirmed_at = Some(now);
            Ok(())
        })
        .await
    }

    /// `requestEmailUpdate`: whether `updateEmail` will need a code (it does once the current
    /// address is confirmed; the code goes to that address).
    pub async fn request_email_update(&self, did: &Did) -> Result<bool, PdsError> {
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
        did: &Did,
        email: &str,
        token: Option<&str>,
        by_admin: bool,
    ) -> Result<(), PdsError> {
        let account = self.existing_account(did).await?;
        let email = normalize_email(email)?;
        if !by_admin && account.email_confirmed_at.is_some() {
            let token = token
                .ok_or_else(|| PdsError::TokenRequired("confirmation token required".into()))?;
            self.consume_code(did, Purpose::UpdateEmail, token).await?;
        }
        let did = did.clone();
        self.store()
            .write(move |txn| {
                let Some(mut account) = account_store::get(txn, &did)? else {
                    return Ok(Err(PdsError::InvalidRequest("Account not found".into())));
                };
                Ok(
                    account_store::set_email(txn, &mut account, &email)?.map_err(|_: Taken| {
                        PdsError::InvalidRequest(
                            "This email address is already in use, please use a different email."
                                .into(),
                        )
                    }),
                )
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
            .read(move |txn| account_store::email_owner(txn, &lookup))
            .await?;
        match did.map(|d| Did::parse(&d)) {
            Some(Ok(did)) => {
                self.issue_code(&did, Some(&email), Purpose::ResetPassword)
                    .await
            }
            _ => Ok(()),
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
            .read(move |txn| email::reset_code_known(txn, &wanted))
            .await?;
        if !known {
            return Err(PdsError::InvalidToken("Token is invalid".into()));
        }
        let hash = self.inner.hashing.hash(password).await?;
        let now = self.clock().now_secs();
        self.store()
            .write(move |txn| {
                let did = match email::take_reset_code(txn, &token, now)? {
                    Ok(did) => did,
                    Err(e) => return Ok(Err(e)),
                };
                set_password_hash(txn, &did, hash)
            })
            .await
    }

    /// The admin's `updateAccountPassword`: ends every session.
    pub async fn set_password(&self, did: &Did, password: &str) -> Result<(), PdsError> {
        check_new_password(password)?;
        let hash = self.inner.hashing.hash(password).await?;
        let did = did.as_str().to_owned();
        self.store()
            .write(move |txn| set_password_hash(txn, &did, hash))
            .await
    }

    /// Edits an account row in one write.
    pub(super) async fn change_account(
        &self,
        did: &Did,
        edit: impl FnOnce(&mut AccountRow) -> Result<(), PdsError> + Send + 'static,
    ) -> Result<(), PdsError> {
        let did = did.clone();
        self.store()
            .write(move |txn| {
                let Some(mut account) = account_store::get(txn, &did)? else {
                    return Ok(Err(PdsError::InvalidRequest("Account not found".into())));
                };
                if let Err(e) = edit(&mut account) {
                    return Ok(Err(e));
                }
                account_store::save(txn, &account)?;
                Ok(Ok(()))
            })
            .await
    }
}

fn set_password_hash(
    txn: &WriteTransaction,
    did: &str,
    hash: String,
) -> Result<Result<(), PdsError>, StoreError> {
    let Some(mut account) = account_store::find_login(txn, did)? else {
        return Ok(Err(PdsError::InvalidRequest("Account not found".into())));
    };
    account.password_hash = hash;
    account_store::save(txn, &account)?;
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
