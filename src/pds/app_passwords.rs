//! App passwords: separate passwords an account hands to apps, listable and revocable, optionally
//! privileged (allowed to use chat).
//!
//! Behaviour follows the reference PDS: the password is 16 base32 characters as
//! `xxxx-xxxx-xxxx-xxxx`; revoking one also revokes the refresh tokens it issued. Unlike the
//! reference (which answers 500), a duplicate name is a 400.
//!
//! Checked as the reference does, by an indexed lookup: the candidate is hashed once with a key and
//! the account's DID, and the digest is looked up (`APP_PASSWORD_DIGESTS`), so a failed login costs
//! the same whatever the number of app passwords. The hash is HMAC-SHA256 with a server key rather
//! than argon2: an app password is 80 random bits, which no offline search can cover, so the slow
//! hash that protects human passwords buys nothing here. Rows made before digests hold an argon2
//! hash; they are checked (all in one job on the hashing pool, only for candidates shaped like an
//! app password) and get a digest at their first successful use.

use hmac::{Hmac, Mac};
use rand_core::{OsRng, RngCore};
use redb::{ReadableTable, TableDefinition};
use sha2::Sha256;

use super::rows::{self, AppPasswordRow};
use super::{Pds, PdsError};
use crate::core::syntax::Did;
use crate::store::{Reads, StoreError, WriteTransaction};

/// (did, app password name) → app password row.
const APP_PASSWORDS: TableDefinition<(&str, &str), &[u8]> =
    TableDefinition::new("pds.app_passwords");
/// (did, app password digest) → app password name: the indexed lookup of a login's candidate.
const APP_PASSWORD_DIGESTS: TableDefinition<(&str, &[u8]), &str> =
    TableDefinition::new("pds.app_password_digests");

/// Longest app password name accepted.
const MAX_NAME_LEN: usize = 100;
/// Most app passwords an account may have.
const MAX_APP_PASSWORDS: usize = 100;

/// The digest of an app password of `did`.
fn digest(key: &[u8; 32], did: &str, password: &str) -> Vec<u8> {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key)
        .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
    mac.update(did.as_bytes());
    mac.update(&[0]);
    mac.update(password.as_bytes());
    mac.finalize().into_bytes().to_vec()
}

/// Whether `candidate` has the shape of an app password (`xxxx-xxxx-xxxx-xxxx`, base32).
pub fn looks_like_app_password(candidate: &str) -> bool {
    candidate.len() == 19
        && candidate.split('-').count() == 4
        && candidate.split('-').all(|group| {
            group.len() == 4
                && group
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || (b'2'..=b'7').contains(&b))
        })
}

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
        did: &Did,
        name: &str,
        privileged: bool,
    ) -> Result<(AppPasswordInfo, String), PdsError> {
        let name = name.trim().to_owned();
        if name.is_empty() || name.chars().count() > MAX_NAME_LEN {
            return Err(PdsError::InvalidRequest(format!(
                "App password name must have 1 to {MAX_NAME_LEN} characters"
            )));
        }
        if name.chars().any(char::is_control) {
            return Err(PdsError::InvalidRequest(
                "App password name must not contain control characters".into(),
            ));
        }
        let password = generate_password();
        let digest = digest(
            &self.inner.secrets.app_password_key,
            did.as_str(),
            &password,
        );
        let row = AppPasswordRow {
            password_hash: String::new(),
            privileged,
            created_at: self.clock().now_datetime(),
            digest: Some(data_encoding::HEXLOWER.encode(&digest)),
        };
        let info = AppPasswordInfo {
            name: name.clone(),
            created_at: row.created_at.clone(),
            privileged,
        };
        let did = did.as_str().to_owned();
        self.store()
            .write(move |txn| {
                let mut table = txn.open_table(APP_PASSWORDS)?;
                if table.get((did.as_str(), name.as_str()))?.is_some() {
                    return Ok(Err(PdsError::InvalidRequest(format!(
                        "An app password named {name:?} already exists"
                    ))));
                }
                let count = table
                    .range((did.as_str(), "")..)?
                    .map_while(Result::ok)
                    .take_while(|(k, _)| k.value().0 == did)
                    .take(MAX_APP_PASSWORDS)
                    .count();
                if count >= MAX_APP_PASSWORDS {
                    return Ok(Err(PdsError::InvalidRequest(format!(
                        "An account may have at most {MAX_APP_PASSWORDS} app passwords; revoke one first"
                    ))));
                }
                table.insert(
                    (did.as_str(), name.as_str()),
                    rows::encode(&row)?.as_slice(),
                )?;
                txn.open_table(APP_PASSWORD_DIGESTS)?
                    .insert((did.as_str(), digest.as_slice()), name.as_str())?;
                Ok(Ok(()))
            })
            .await?;
        Ok((info, password))
    }

    /// The app password `password` is, as (name, privileged): one digest and one lookup, or, for
    /// an account with app passwords made before digests, one pooled check of those.
    pub(super) async fn check_app_password(
        &self,
        did: &str,
        password: &str,
    ) -> Result<Option<(String, bool)>, PdsError> {
        if !looks_like_app_password(password) {
            return Ok(None);
        }
        let digest = digest(&self.inner.secrets.app_password_key, did, password);
        let key_did = did.to_owned();
        let (found, legacy) = self
            .store()
            .read(move |txn| {
                let Some(index) = txn.table(APP_PASSWORD_DIGESTS)? else {
                    return Ok::<_, PdsError>((None, Vec::new()));
                };
                let name = index
                    .get((key_did.as_str(), digest.as_slice()))?
                    .map(|v| v.value().to_owned());
                let Some(table) = txn.table(APP_PASSWORDS)? else {
                    return Ok((None, Vec::new()));
                };
                if let Some(name) = name {
                    let row: Option<AppPasswordRow> =
                        rows::get(&table, (key_did.as_str(), name.as_str()))?;
                    return Ok((row.map(|r| (name, r.privileged)), Vec::new()));
                }
                let mut legacy = Vec::new();
                for row in table.range((key_did.as_str(), "")..)? {
                    let (key, value) = row.map_err(StoreError::from)?;
                    let (row_did, name) = key.value();
                    if row_did != key_did {
                        break;
                    }
                    let row: AppPasswordRow = rows::decode(value.value())?;
                    if row.digest.is_none() && !row.password_hash.is_empty() {
                        legacy.push((name.to_owned(), row.password_hash));
                    }
                }
                Ok((None, legacy))
            })
            .await?;
        if found.is_some() || legacy.is_empty() {
            return Ok(found);
        }
        let Some(name) = self.inner.hashing.find_match(password, legacy).await? else {
            return Ok(None);
        };
        self.upgrade_app_password(did, &name, password).await
    }

    /// Gives a row made before digests its digest (after its password matched once).
    async fn upgrade_app_password(
        &self,
        did: &str,
        name: &str,
        password: &str,
    ) -> Result<Option<(String, bool)>, PdsError> {
        let digest = digest(&self.inner.secrets.app_password_key, did, password);
        let (did, name) = (did.to_owned(), name.to_owned());
        self.store()
            .write(move |txn| {
                let mut table = txn.open_table(APP_PASSWORDS)?;
                let row: Option<AppPasswordRow> = rows::get(&table, (did.as_str(), name.as_str()))?;
                let Some(mut row) = row else {
                    // Revoked meanwhile.
                    return Ok(Ok(None));
                };
                row.password_hash = String::new();
                row.digest = Some(data_encoding::HEXLOWER.encode(&digest));
                table.insert(
                    (did.as_str(), name.as_str()),
                    rows::encode(&row)?.as_slice(),
                )?;
                txn.open_table(APP_PASSWORD_DIGESTS)?
                    .insert((did.as_str(), digest.as_slice()), name.as_str())?;
                Ok(Ok::<_, PdsError>(Some((name, row.privileged))))
            })
            .await
    }

    /// The account's app passwords, newest first.
    pub async fn list_app_passwords(&self, did: &Did) -> Result<Vec<AppPasswordInfo>, PdsError> {
        let did = did.as_str().to_owned();
        let mut list = self
            .store()
            .read(move |txn| {
                let Some(table) = txn.table(APP_PASSWORDS)? else {
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
    pub async fn revoke_app_password(&self, did: &Did, name: &str) -> Result<(), PdsError> {
        let (did, name) = (did.as_str().to_owned(), name.to_owned());
        self.store()
            .write(move |txn| {
                let removed: Option<AppPasswordRow> = txn
                    .open_table(APP_PASSWORDS)?
                    .remove((did.as_str(), name.as_str()))?
                    .map(|v| rows::decode(v.value()))
                    .transpose()?;
                if let Some(digest) = removed
                    .and_then(|r| r.digest)
                    .and_then(|hex| data_encoding::HEXLOWER.decode(hex.as_bytes()).ok())
                {
                    txn.open_table(APP_PASSWORD_DIGESTS)?
                        .remove((did.as_str(), digest.as_slice()))?;
                }
                super::refresh_tokens::revoke(txn, &did, Some(&name))?;
                Ok(Ok::<_, PdsError>(()))
            })
            .await
    }
}

/// Whether `did`'s app password `name` is privileged (a revoked one is not).
pub(super) fn privileged(txn: &impl Reads, did: &str, name: &str) -> Result<bool, StoreError> {
    let Some(table) = txn.table(APP_PASSWORDS)? else {
        return Ok(false);
    };
    let row: Option<AppPasswordRow> = rows::get(&table, (did, name))?;
    Ok(row.is_some_and(|r| r.privileged))
}

/// Removes every app password of `did` (a deleted account).
pub(super) fn purge(txn: &WriteTransaction, did: &str) -> Result<(), StoreError> {
    let end = format!("{did}\0");
    txn.open_table(APP_PASSWORDS)?
        .retain_in((did, "")..(end.as_str(), ""), |_, _| false)?;
    txn.open_table(APP_PASSWORD_DIGESTS)?
        .retain_in((did, &[][..])..(end.as_str(), &[][..]), |_, _| false)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn passwords_look_like_the_reference() {
        let p = super::generate_password();
        assert!(super::looks_like_app_password(&p));
        assert!(!super::looks_like_app_password("hunter2-hunter2-hunt"));
        assert!(!super::looks_like_app_password("ABCD-EFGH-IJKL-MNOP"));
        assert!(!super::looks_like_app_password("abcd-efgh-ijkl-mnop-"));
        assert_eq!(p.len(), 19);
        assert_eq!(p.matches('-').count(), 3);
        assert!(
            p.chars()
                .all(|c| c == '-' || c.is_ascii_lowercase() || ('2'..='7').contains(&c))
        );
    }
}
