//! App passwords: separate passwords an account hands to apps, listable and revocable, optionally
//! privileged (allowed to use chat).
//!
//! Behaviour follows the reference PDS: the password is 16 base32 characters as
//! `xxxx-xxxx-xxxx-xxxx`; revoking one also revokes the refresh tokens it issued. Unlike the
//! reference (which answers 500), a duplicate name is a 400.

use rand_core::{OsRng, RngCore};
use redb::ReadableTable;

use super::auth::hash_password;
use super::rows::{self, AppPasswordRow, RefreshRow};
use super::tables::{APP_PASSWORDS, REFRESH_TOKENS};
use super::{Pds, PdsError};
use crate::clock::now_datetime;
use crate::store::{StoreError, open_read_table};

/// Longest app password name accepted.
const MAX_NAME_LEN: usize = 100;

/// An app password as listed (the password itself is shown once, at creation).
#[derive(Clone, Debug)]
pub struct AppPasswordInfo {
    pub name: String,
    pub created_at: String,
    pub privileged: bool,
}

fn generate_password() -> String {
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz234567";
    let mut bytes = [0u8; 16];
    OsRng.fill_bytes(&mut bytes);
    let chars: Vec<char> = bytes
        .iter()
        .map(|b| ALPHABET[(*b & 31) as usize] as char)
        .collect();
    chars
        .chunks(4)
        .map(|c| c.iter().collect::<String>())
        .collect::<Vec<_>>()
        .join("-")
}

impl Pds {
    /// Creates an app password; returns it with the (only) copy of the password.
    pub async fn create_app_password(
        &self,
        did: &str,
        name: &str,
        privileged: bool,
    ) -> Result<(AppPasswordInfo, String), PdsError> {
        let name = name.trim().to_owned();
        if name.is_empty() || name.chars().count() > MAX_NAME_LEN {
            return Err(PdsError::InvalidRequest(format!(
                "App password name must have 1 to {MAX_NAME_LEN} characters"
            )));
        }
        let password = generate_password();
        let hashed = password.clone();
        let password_hash = tokio::task::spawn_blocking(move || hash_password(&hashed))
            .await
            .map_err(|e| PdsError::Internal(e.to_string()))??;
        let row = AppPasswordRow {
            password_hash,
            privileged,
            created_at: now_datetime(),
        };
        let info = AppPasswordInfo {
            name: name.clone(),
            created_at: row.created_at.clone(),
            privileged,
        };
        let did = did.to_owned();
        self.store()
            .write(move |txn| {
                let mut table = txn.open_table(APP_PASSWORDS)?;
                if table.get((did.as_str(), name.as_str()))?.is_some() {
                    return Ok(Err(PdsError::InvalidRequest(format!(
                        "An app password named {name:?} already exists"
                    ))));
                }
                table.insert(
                    (did.as_str(), name.as_str()),
                    rows::encode(&row)?.as_slice(),
                )?;
                Ok(Ok(()))
            })
            .await?;
        Ok((info, password))
    }

    /// The account's app passwords, newest first.
    pub async fn list_app_passwords(&self, did: &str) -> Result<Vec<AppPasswordInfo>, PdsError> {
        let did = did.to_owned();
        let mut list = self
            .store()
            .read(move |txn| {
                let Some(table) = open_read_table(txn, APP_PASSWORDS)? else {
                    return Ok::<_, PdsError>(Vec::new());
                };
                let mut out = Vec::new();
                for row in table.range((did.as_str(), "")..)? {
                    let (key, value) = row.map_err(StoreError::from)?;
                    let (owner, name) = key.value();
                    if owner != did {
                        break;
                    }
                    let row: AppPasswordRow = rows::decode(value.value())?;
                    out.push(AppPasswordInfo {
                        name: name.to_owned(),
                        created_at: row.created_at,
                        privileged: row.privileged,
                    });
                }
                Ok(out)
            })
            .await?;
        list.sort_by(|a, b| b.created_at.cmp(&a.created_at));
        Ok(list)
    }

    /// Revokes an app password and the sessions it opened (a missing one is not an error).
    pub async fn revoke_app_password(&self, did: &str, name: &str) -> Result<(), PdsError> {
        let (did, name) = (did.to_owned(), name.to_owned());
        self.store()
            .write(move |txn| {
                txn.open_table(APP_PASSWORDS)?
                    .remove((did.as_str(), name.as_str()))?;
                let mut tokens = txn.open_table(REFRESH_TOKENS)?;
                let mut revoked = Vec::new();
                for row in tokens.iter()? {
                    let (key, value) = row?;
                    let row: RefreshRow = rows::decode(value.value())?;
                    if row.did == did && row.app_password.as_deref() == Some(name.as_str()) {
                        revoked.push(key.value().to_owned());
                    }
                }
                for key in revoked {
                    tokens.remove(key.as_str())?;
                }
                Ok(Ok::<_, PdsError>(()))
            })
            .await
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn passwords_look_like_the_reference() {
        let p = super::generate_password();
        assert_eq!(p.len(), 19);
        assert_eq!(p.matches('-').count(), 3);
        assert!(
            p.chars()
                .all(|c| c == '-' || c.is_ascii_lowercase() || ('2'..='7').contains(&c))
        );
    }
}
