//! Account lifecycle: deactivation and activation, status checks, deletion, and the admin's takedowns
//! of accounts, records and blobs.
//!
//! Spec: <https://atproto.com/specs/account> and the account-lifecycle guide. Every transition is
//! visible in `getRepoStatus` and as an `#account` event written in the same transaction. Activation
//! checks the DID document points here with our key first, and, when the repo's head commit was
//! signed by another key (an imported repo), re-signs it so the `#sync` that announces the account
//! verifies (the repository spec: a new commit whenever the signing key rotates).

use cid::Cid;
use redb::ReadableTable;

use super::email::Purpose;
use super::rows::{self, AccountRow, AccountStatus, BlobRow, RepoRow};
use super::tables::{
    ACCOUNTS, APP_PASSWORDS, BLOB_HOLDERS, BLOB_REFS, BLOBS, BLOCKS, DID_IDS, EMAIL_TOKENS, EMAILS,
    HANDLES, ID_DIDS, PREFERENCES, RECORD_CIDS, RECORD_TAKEDOWNS, RECORDS, REPOS, SEQ, TEMP_BLOBS,
};
use super::{Pds, PdsError, sequencer};
use crate::clock::now_datetime;
use crate::core::car::write_car;
use crate::core::crypto::{Algorithm, Keypair};
use crate::core::firehose::{Frame, decode_frame};
use crate::core::repo::{Commit, UnsignedCommit};
use crate::store::{StoreError, WriteTransaction};

/// The admin's decision on an account.
#[derive(Clone, Debug)]
pub enum Moderation {
    Takedown {
        reference: String,
    },
    /// Until an RFC 3339 time (UTC, `Z`), compared as text like every stored datetime.
    Suspend {
        reference: String,
        until: String,
    },
    Restore,
}

/// What `checkAccountStatus` returns.
#[derive(Clone, Debug)]
pub struct AccountStatusReport {
    pub activated: bool,
    pub valid_did: bool,
    pub repo_commit: Cid,
    pub repo_rev: String,
    pub repo_blocks: u64,
    pub indexed_records: u64,
    pub expected_blobs: u64,
    pub imported_blobs: u64,
}

fn load_account(txn: &WriteTransaction, did: &str) -> Result<Option<AccountRow>, StoreError> {
    txn.open_table(ACCOUNTS)?
        .get(did)?
        .map(|v| rows::decode::<AccountRow>(v.value()))
        .transpose()
}

fn save_account(txn: &WriteTransaction, account: &AccountRow) -> Result<(), StoreError> {
    txn.open_table(ACCOUNTS)?
        .insert(account.did.as_str(), rows::encode(account)?.as_slice())?;
    Ok(())
}

fn account_event(txn: &WriteTransaction, account: &AccountRow) -> Result<(), StoreError> {
    let now = now_datetime();
    sequencer::append(
        txn,
        sequencer::account(
            &account.did,
            account.status.is_active(),
            account.status.as_status(),
            &now,
        ),
    )?;
    Ok(())
}

impl Pds {
    /// `deactivateAccount`: the account stops being served until it is activated again.
    pub async fn deactivate_account(
        &self,
        did: &str,
        delete_after: Option<String>,
    ) -> Result<(), PdsError> {
        let did = did.to_owned();
        self.store()
            .write(move |txn| {
                let Some(mut account) = load_account(txn, &did)? else {
                    return Ok(Err(PdsError::InvalidRequest("Account not found".into())));
                };
                if matches!(
                    account.status,
                    AccountStatus::Takendown | AccountStatus::Suspended
                ) {
                    return Ok(Err(PdsError::AccountTakedown(
                        "Account has been taken down".into(),
                    )));
                }
                account.status = AccountStatus::Deactivated;
                account.delete_after = delete_after;
                account.deactivated_at = Some(now_datetime());
                save_account(txn, &account)?;
                account_event(txn, &account)?;
                // Apps lose access at once; a reactivated account authorizes them again.
                super::oauth::store::delete_account_sessions(txn, &did)?;
                Ok(Ok(()))
            })
            .await
    }

    /// Whether `did`'s DID document names this server with this account's key (and, for did:plc,
    /// keeps our rotation key).
    pub(super) async fn did_document_points_here(&self, did: &str) -> Result<(), PdsError> {
        let account = self
            .account(did)
            .await?
            .ok_or_else(|| PdsError::InvalidRequest("Account not found".into()))?;
        let key = Keypair::from_bytes(Algorithm::K256, &account.signing_key)
            .map_err(|e| PdsError::Internal(e.to_string()))?;
        // Fresh: the document usually changed moments ago (the last step of a migration).
        let document = self
            .fresh_did_document(did)
            .await
            .ok_or_else(|| PdsError::InvalidRequest("Could not resolve DID".into()))?;
        if document.pds_endpoint() != Some(self.inner.config.public_url.as_str()) {
            return Err(PdsError::InvalidRequest(
                "DID document atproto_pds service endpoint does not match PDS public url".into(),
            ));
        }
        if document.signing_key().ok() != Some(key.public_key()) {
            return Err(PdsError::InvalidRequest(
                "DID document verification method does not match expected signing key".into(),
            ));
        }
        Ok(())
    }

    /// `activateAccount`.
    pub async fn activate_account(&self, did: &str) -> Result<(), PdsError> {
        self.did_document_points_here(did).await?;
        let rev = self.next_rev(None);
        let pds = self.clone();
        let did = did.to_owned();
        self.store()
            .write(move |txn| {
                let Some(mut account) = load_account(txn, &did)? else {
                    return Ok(Err(PdsError::Named {
                        error: "AccountNotFound",
                        message: "user not found".into(),
                    }));
                };
                if matches!(
                    account.status,
                    AccountStatus::Takendown | AccountStatus::Suspended | AccountStatus::Deleted
                ) {
                    return Ok(Err(PdsError::AccountTakedown(
                        "Account has been taken down".into(),
                    )));
                }
                let mut repos = txn.open_table(REPOS)?;
                let Some(mut repo) = repos
                    .get(account.id)?
                    .map(|v| rows::decode::<RepoRow>(v.value()))
                    .transpose()?
                else {
                    return Ok(Err(PdsError::InvalidRequest(
                        "The account has no repository yet: import one first".into(),
                    )));
                };
                let key = Keypair::from_bytes(Algorithm::K256, &account.signing_key)
                    .map_err(|e| StoreError::Corrupt(e.to_string()))?;
                let head = Commit::decode(&repo.commit_block)
                    .map_err(|e| StoreError::Corrupt(e.to_string()))?;
                if head.verify(&key.public_key()).is_err() {
                    // An imported head signed by the previous host: sign the same tree with our key.
                    let rev = pds.next_rev(Some(&repo.rev)).max(rev);
                    let commit = UnsignedCommit::new(&did, repo.data, rev.as_str())
                        .sign(&key)
                        .map_err(|e| StoreError::Corrupt(e.to_string()))?;
                    let (cid, bytes) = commit
                        .encode()
                        .map_err(|e| StoreError::Corrupt(e.to_string()))?;
                    repo = RepoRow {
                        commit_cid: cid,
                        commit_block: bytes,
                        rev: rev.to_string(),
                        data: repo.data,
                    };
                    repos.insert(account.id, rows::encode(&repo)?.as_slice())?;
                }
                drop(repos);
                account.status = AccountStatus::Active;
                account.delete_after = None;
                account.deactivated_at = None;
                save_account(txn, &account)?;
                let now = now_datetime();
                let sync_car = write_car(
                    &[repo.commit_cid],
                    [(&repo.commit_cid, repo.commit_block.as_slice())],
                )
                .map_err(|e| StoreError::Corrupt(e.to_string()))?;
                account_event(txn, &account)?;
                sequencer::append(txn, sequencer::identity(&did, Some(&account.handle), &now))?;
                sequencer::append(txn, sequencer::sync(&did, &repo.rev, sync_car, &now))?;
                Ok(Ok(()))
            })
            .await
    }

    /// Refuses an account the admin took down or suspended (uploads and imports stay open to
    /// deactivated accounts: a migration uploads before it activates).
    pub async fn check_not_taken_down(&self, did: &str) -> Result<(), PdsError> {
        match self.account(did).await? {
            Some(account)
                if matches!(
                    account.status,
                    AccountStatus::Takendown | AccountStatus::Suspended
                ) =>
            {
                Err(PdsError::AccountTakedown(
                    "Account has been taken down".into(),
                ))
            }
            Some(_) => Ok(()),
            None => Err(PdsError::AuthRequired("Account not found".into())),
        }
    }

    /// `checkAccountStatus`.
    pub async fn check_account_status(&self, did: &str) -> Result<AccountStatusReport, PdsError> {
        let account = self
            .account(did)
            .await?
            .ok_or_else(|| PdsError::InvalidRequest("Account not found".into()))?;
        let valid_did = self.did_document_points_here(did).await.is_ok();
        let id = account.id;
        let (repo, blocks, records, expected, imported) = self
            .store()
            .read(move |txn| {
                let repo: Option<RepoRow> = crate::store::open_read_table(txn, REPOS)?
                    .and_then(|t| t.get(id).ok().flatten().map(|v| rows::decode(v.value())))
                    .transpose()?;
                let count = |n: usize| u64::try_from(n).unwrap_or(u64::MAX);
                let blocks = match crate::store::open_read_table(txn, BLOCKS)? {
                    Some(t) => count(t.range((id, &[][..])..(id + 1, &[][..]))?.count()),
                    None => 0,
                };
                let records = match crate::store::open_read_table(txn, RECORDS)? {
                    Some(t) => count(t.range((id, "", "")..(id + 1, "", ""))?.count()),
                    None => 0,
                };
                let mut expected = std::collections::BTreeSet::new();
                if let Some(t) = crate::store::open_read_table(txn, BLOB_REFS)? {
                    for row in t.range((id, &[][..], "")..(id + 1, &[][..], ""))? {
                        let (k, _) = row.map_err(StoreError::from)?;
                        expected.insert(k.value().1.to_vec());
                    }
                }
                let mut imported = 0u64;
                if let Some(t) = crate::store::open_read_table(txn, BLOBS)? {
                    for cid in &expected {
                        if t.get((id, cid.as_slice()))?.is_some() {
                            imported += 1;
                        }
                    }
                }
                Ok::<_, PdsError>((repo, blocks, records, count(expected.len()), imported))
            })
            .await?;
        let repo =
            repo.ok_or_else(|| PdsError::InvalidRequest("The account has no repository".into()))?;
        Ok(AccountStatusReport {
            activated: account.status.is_active(),
            valid_did,
            repo_commit: repo.commit_cid,
            repo_rev: repo.rev,
            repo_blocks: blocks + 1,
            indexed_records: records,
            expected_blobs: expected,
            imported_blobs: imported,
        })
    }

    /// `requestAccountDelete`: sends the code `deleteAccount` needs.
    pub async fn request_account_delete(&self, did: &str) -> Result<(), PdsError> {
        let account = self
            .account(did)
            .await?
            .ok_or_else(|| PdsError::InvalidRequest("Account not found".into()))?;
        self.issue_code(did, account.email.as_deref(), Purpose::DeleteAccount)
            .await
    }

    /// `deleteAccount` (with password and code), or the admin's deletion (`None`): removes the
    /// repo, records, blobs and every row of the account, and announces `#account deleted`.
    pub async fn delete_account(
        &self,
        did: &str,
        check: Option<(&str, &str)>,
    ) -> Result<(), PdsError> {
        let account = self
            .account(did)
            .await?
            .ok_or_else(|| PdsError::InvalidRequest("Account not found".into()))?;
        if let Some((password, token)) = check {
            if !self
                .inner
                .hashing
                .verify(password, &account.password_hash)
                .await?
            {
                return Err(PdsError::AuthRequired("Invalid did or password".into()));
            }
            self.consume_code(did, Purpose::DeleteAccount, token)
                .await?;
        }
        let did_owned = did.to_owned();
        let blobs: Vec<Cid> = self
            .store()
            .write(move |txn| purge_account(txn, &account).map(Ok::<_, PdsError>))
            .await?;
        for cid in blobs {
            self.delete_blob_file_if_unused(&cid).await;
        }
        tracing::info!(did = %did_owned, "account deleted");
        Ok(())
    }

    /// Applies the admin's decision on an account: a takedown, a suspension (a takedown that ends
    /// by itself), or a restore. Takedowns and suspensions end the account's sessions.
    pub async fn moderate_account(&self, did: &str, action: Moderation) -> Result<(), PdsError> {
        let did = did.to_owned();
        self.store()
            .write(move |txn| {
                let Some(mut account) = load_account(txn, &did)? else {
                    return Ok(Err(PdsError::InvalidRequest("Account not found".into())));
                };
                match action {
                    Moderation::Takedown { reference } => {
                        account.status = AccountStatus::Takendown;
                        account.takedown_ref = Some(reference);
                        account.suspended_until = None;
                        super::auth::revoke_sessions(txn, &did)?;
                    }
                    Moderation::Suspend { reference, until } => {
                        account.status = AccountStatus::Suspended;
                        account.takedown_ref = Some(reference);
                        account.suspended_until = Some(until);
                        super::auth::revoke_sessions(txn, &did)?;
                    }
                    Moderation::Restore => {
                        if matches!(
                            account.status,
                            AccountStatus::Takendown | AccountStatus::Suspended
                        ) {
                            account.status = if account.deactivated_at.is_some() {
                                AccountStatus::Deactivated
                            } else {
                                AccountStatus::Active
                            };
                        }
                        account.takedown_ref = None;
                        account.suspended_until = None;
                    }
                }
                save_account(txn, &account)?;
                account_event(txn, &account)?;
                Ok(Ok(()))
            })
            .await
    }

    /// Restores the accounts whose suspension has run out; returns how many.
    pub async fn lift_expired_suspensions(&self) -> Result<usize, PdsError> {
        let now = now_datetime();
        let expired: Vec<String> = self
            .store()
            .read(move |txn| {
                let Some(accounts) = crate::store::open_read_table(txn, ACCOUNTS)? else {
                    return Ok(Vec::new());
                };
                let mut out = Vec::new();
                for row in accounts.iter()? {
                    let (_, v) = row.map_err(StoreError::from)?;
                    let account: AccountRow = rows::decode(v.value())?;
                    if account.status == AccountStatus::Suspended
                        && account
                            .suspended_until
                            .as_deref()
                            .is_some_and(|until| until <= now.as_str())
                    {
                        out.push(account.did);
                    }
                }
                Ok::<_, PdsError>(out)
            })
            .await?;
        for did in &expired {
            self.moderate_account(did, Moderation::Restore).await?;
            tracing::info!(%did, "suspension ended");
        }
        Ok(expired.len())
    }

    /// Hides a record from every read (`Some`) or shows it again (`None`).
    pub async fn set_record_takedown(
        &self,
        did: &str,
        path: &str,
        takedown: Option<String>,
    ) -> Result<(), PdsError> {
        let (did, path) = (did.to_owned(), path.to_owned());
        self.store()
            .write(move |txn| {
                let Some(id) = txn
                    .open_table(DID_IDS)?
                    .get(did.as_str())?
                    .map(|v| v.value())
                else {
                    return Ok(Err(PdsError::RepoNotFound(format!(
                        "Could not find repo: {did}"
                    ))));
                };
                let mut table = txn.open_table(RECORD_TAKEDOWNS)?;
                match takedown {
                    Some(reference) => {
                        table.insert((id, path.as_str()), reference.as_str())?;
                    }
                    None => {
                        table.remove((id, path.as_str()))?;
                    }
                }
                Ok(Ok(()))
            })
            .await
    }

    /// Stops serving a blob (`Some`) or serves it again (`None`).
    pub async fn set_blob_takedown(
        &self,
        did: &str,
        cid: &Cid,
        takedown: Option<String>,
    ) -> Result<(), PdsError> {
        let (did, key) = (did.to_owned(), cid.to_bytes());
        self.store()
            .write(move |txn| {
                let Some(id) = txn
                    .open_table(DID_IDS)?
                    .get(did.as_str())?
                    .map(|v| v.value())
                else {
                    return Ok(Err(PdsError::RepoNotFound(format!(
                        "Could not find repo: {did}"
                    ))));
                };
                let mut blobs = txn.open_table(BLOBS)?;
                let Some(mut row) = blobs
                    .get((id, key.as_slice()))?
                    .map(|v| rows::decode::<BlobRow>(v.value()))
                    .transpose()?
                else {
                    return Ok(Err(PdsError::BlobNotFound("Blob not found".into())));
                };
                row.takedown_ref = takedown;
                blobs.insert((id, key.as_slice()), rows::encode(&row)?.as_slice())?;
                Ok(Ok(()))
            })
            .await
    }

    /// The takedown reference of a record, if it is taken down.
    pub async fn record_takedown(&self, did: &str, path: &str) -> Result<Option<String>, PdsError> {
        let (did, path) = (did.to_owned(), path.to_owned());
        self.store()
            .read(move |txn| {
                let (Some(ids), Some(table)) = (
                    crate::store::open_read_table(txn, DID_IDS)?,
                    crate::store::open_read_table(txn, RECORD_TAKEDOWNS)?,
                ) else {
                    return Ok(None);
                };
                let Some(id) = ids.get(did.as_str())?.map(|v| v.value()) else {
                    return Ok(None);
                };
                Ok::<_, PdsError>(
                    table
                        .get((id, path.as_str()))?
                        .map(|v| v.value().to_owned()),
                )
            })
            .await
    }
}

/// Removes every row that belongs to an account and announces the deletion; returns the blobs whose
/// files may now be unused.
fn purge_account(txn: &WriteTransaction, account: &AccountRow) -> Result<Vec<Cid>, StoreError> {
    let (did, id) = (account.did.as_str(), account.id);
    super::admin_roles::forget(txn, did)?;
    fn remove_all<K, V>(
        txn: &WriteTransaction,
        def: redb::TableDefinition<K, V>,
        keys: Vec<K::SelfType<'_>>,
    ) -> Result<(), StoreError>
    where
        K: redb::Key + 'static,
        V: redb::Value + 'static,
    {
        let mut table = txn.open_table(def)?;
        for key in keys {
            table.remove(key)?;
        }
        Ok(())
    }
    let blocks: Vec<Vec<u8>> = collect_keys(
        txn.open_table(BLOCKS)?
            .range((id, &[][..])..(id + 1, &[][..]))?,
        |k| k.1.to_vec(),
    )?;
    remove_all(
        txn,
        BLOCKS,
        blocks.iter().map(|c| (id, c.as_slice())).collect(),
    )?;
    let records: Vec<(String, String)> = collect_keys(
        txn.open_table(RECORDS)?
            .range((id, "", "")..(id + 1, "", ""))?,
        |k| (k.1.to_owned(), k.2.to_owned()),
    )?;
    remove_all(
        txn,
        RECORDS,
        records
            .iter()
            .map(|(c, r)| (id, c.as_str(), r.as_str()))
            .collect(),
    )?;
    let record_cids: Vec<(Vec<u8>, String)> = collect_keys(
        txn.open_table(RECORD_CIDS)?
            .range((id, &[][..], "")..(id + 1, &[][..], ""))?,
        |k| (k.1.to_vec(), k.2.to_owned()),
    )?;
    remove_all(
        txn,
        RECORD_CIDS,
        record_cids
            .iter()
            .map(|(c, p)| (id, c.as_slice(), p.as_str()))
            .collect(),
    )?;
    let refs: Vec<(Vec<u8>, String)> = collect_keys(
        txn.open_table(BLOB_REFS)?
            .range((id, &[][..], "")..(id + 1, &[][..], ""))?,
        |k| (k.1.to_vec(), k.2.to_owned()),
    )?;
    remove_all(
        txn,
        BLOB_REFS,
        refs.iter()
            .map(|(c, p)| (id, c.as_slice(), p.as_str()))
            .collect(),
    )?;
    let blobs: Vec<Vec<u8>> = collect_keys(
        txn.open_table(BLOBS)?
            .range((id, &[][..])..(id + 1, &[][..]))?,
        |k| k.1.to_vec(),
    )?;
    remove_all(
        txn,
        BLOBS,
        blobs.iter().map(|c| (id, c.as_slice())).collect(),
    )?;
    remove_all(
        txn,
        BLOB_HOLDERS,
        blobs.iter().map(|c| (c.as_slice(), id)).collect(),
    )?;
    let temp: Vec<(u64, Vec<u8>)> = {
        let table = txn.open_table(TEMP_BLOBS)?;
        let mut out = Vec::new();
        for row in table.iter()? {
            let (k, _) = row?;
            let (at, owner, cid) = k.value();
            if owner == id {
                out.push((at, cid.to_vec()));
            }
        }
        out
    };
    remove_all(
        txn,
        TEMP_BLOBS,
        temp.iter().map(|(at, c)| (*at, id, c.as_slice())).collect(),
    )?;
    let takedowns: Vec<String> = collect_keys(
        txn.open_table(RECORD_TAKEDOWNS)?
            .range((id, "")..(id + 1, ""))?,
        |k| k.1.to_owned(),
    )?;
    remove_all(
        txn,
        RECORD_TAKEDOWNS,
        takedowns.iter().map(|p| (id, p.as_str())).collect(),
    )?;
    let app_passwords: Vec<String> = collect_keys(
        txn.open_table(APP_PASSWORDS)?
            .range((did, "")..)?
            .take_while(|r| r.as_ref().is_ok_and(|(k, _)| k.value().0 == did)),
        |k| k.1.to_owned(),
    )?;
    remove_all(
        txn,
        APP_PASSWORDS,
        app_passwords.iter().map(|n| (did, n.as_str())).collect(),
    )?;
    let tokens: Vec<(String, String)> = collect_keys(
        txn.open_table(EMAIL_TOKENS)?
            .range((did, "")..)?
            .take_while(|r| r.as_ref().is_ok_and(|(k, _)| k.value().0 == did)),
        |k| (k.0.to_owned(), k.1.to_owned()),
    )?;
    remove_all(
        txn,
        EMAIL_TOKENS,
        tokens
            .iter()
            .map(|(d, p)| (d.as_str(), p.as_str()))
            .collect(),
    )?;
    super::auth::revoke_sessions(txn, did)?;
    txn.open_table(PREFERENCES)?.remove(did)?;
    txn.open_table(REPOS)?.remove(id)?;
    txn.open_table(HANDLES)?.remove(account.handle.as_str())?;
    if let Some(email) = &account.email {
        txn.open_table(EMAILS)?.remove(email.as_str())?;
    }
    txn.open_table(ACCOUNTS)?.remove(did)?;
    txn.open_table(DID_IDS)?.remove(did)?;
    txn.open_table(ID_DIDS)?.remove(id)?;
    // The account's past events go; only the deletion is announced.
    {
        let mut seq = txn.open_table(SEQ)?;
        let mut gone = Vec::new();
        for row in seq.iter()? {
            let (k, v) = row?;
            if let Ok(Frame::Message(m)) = decode_frame(v.value())
                && m.did() == Some(did)
            {
                gone.push(k.value());
            }
        }
        for k in gone {
            seq.remove(k)?;
        }
    }
    sequencer::append(
        txn,
        sequencer::account(did, false, Some("deleted"), &now_datetime()),
    )?;
    Ok(blobs
        .iter()
        .filter_map(|c| Cid::try_from(c.as_slice()).ok())
        .collect())
}

fn collect_keys<'a, K, V, T>(
    range: impl Iterator<
        Item = Result<(redb::AccessGuard<'a, K>, redb::AccessGuard<'a, V>), redb::StorageError>,
    >,
    map: impl Fn(K::SelfType<'_>) -> T,
) -> Result<Vec<T>, StoreError>
where
    K: redb::Key + 'static,
    V: redb::Value + 'static,
{
    let mut out = Vec::new();
    for row in range {
        let (k, _) = row?;
        out.push(map(k.value()));
    }
    Ok(out)
}
