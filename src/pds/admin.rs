//! What the admin reads about accounts and subjects: account views, search, and the status of an
//! account, record or blob (`com.atproto.admin.*`; the writes live with the state they change:
//! `lifecycle.rs`, `account_email.rs`, `invites.rs`, `identity_ops.rs`).

use cid::Cid;

use super::repo_read::{RecordView, record_view};
use super::repo_store::{self, RecordPath};
use super::rows::{AccountRow, AccountStatus};
use super::{Pds, PdsError, account_store, blob_store};
use crate::core::syntax::Did;
use crate::store::Usage as StorageUsage;

/// An account as the admin sees it.
#[derive(Clone, Debug)]
pub struct AdminAccount {
    pub did: String,
    pub handle: String,
    pub email: Option<String>,
    pub email_confirmed_at: Option<String>,
    pub created_at: String,
    pub invite_code: Option<String>,
    pub invites_disabled: bool,
    pub deactivated_at: Option<String>,
    pub takedown_ref: Option<String>,
    pub status: AccountStatus,
    /// When a suspension ends by itself, while suspended.
    pub suspended_until: Option<String>,
}

impl From<AccountRow> for AdminAccount {
    fn from(row: AccountRow) -> Self {
        AdminAccount {
            did: row.did.to_string(),
            handle: row.handle,
            email: row.email,
            email_confirmed_at: row.email_confirmed_at,
            created_at: row.created_at,
            invite_code: row.invite_code,
            invites_disabled: row.invites_disabled,
            deactivated_at: row.deactivated_at,
            takedown_ref: row.takedown_ref,
            status: row.status,
            suspended_until: row.suspended_until,
        }
    }
}

impl Pds {
    /// One account, any status.
    pub async fn admin_account(&self, did: &Did) -> Result<Option<AdminAccount>, PdsError> {
        Ok(self.account(did).await?.map(AdminAccount::from))
    }

    /// Accounts in DID order after `cursor`, those whose email, handle or DID contains `query`
    /// (all when `None`) and, when given, in `status`.
    pub async fn search_accounts(
        &self,
        query: Option<&str>,
        status: Option<AccountStatus>,
        limit: usize,
        cursor: Option<&str>,
    ) -> Result<(Vec<AdminAccount>, Option<String>), PdsError> {
        let query = query.map(str::to_ascii_lowercase).filter(|q| !q.is_empty());
        let after = cursor.map(str::to_owned);
        let limit = limit.clamp(1, 100);
        let accounts =
            self.store()
                .read(move |txn| {
                    let matches = |account: &AccountRow| {
                        let found = match &query {
                            None => true,
                            Some(q) => {
                                account.handle.contains(q.as_str())
                                    || account.did.as_str().contains(q.as_str())
                                    || account.email.as_deref().is_some_and(|e| {
                                        e.to_ascii_lowercase().contains(q.as_str())
                                    })
                            }
                        };
                        found && status.is_none_or(|s| s == account.status)
                    };
                    Ok::<_, PdsError>(account_store::search(
                        txn,
                        after.as_deref(),
                        limit,
                        matches,
                    )?)
                })
                .await?;
        let out: Vec<AdminAccount> = accounts.into_iter().map(AdminAccount::from).collect();
        let next = (out.len() == limit)
            .then(|| out.last().map(|a| a.did.clone()))
            .flatten();
        Ok((out, next))
    }

    /// The takedown reference of a blob, if it is taken down (`Err` when the account does not
    /// hold the blob).
    pub async fn blob_takedown(&self, did: &Did, cid: &Cid) -> Result<Option<String>, PdsError> {
        let (did, cid) = (did.clone(), *cid);
        self.store()
            .read(move |txn| {
                let row = match account_store::id(txn, &did)? {
                    Some(id) => blob_store::get(txn, id, &cid)?,
                    None => None,
                };
                let row = row.ok_or_else(|| PdsError::BlobNotFound("Blob not found".into()))?;
                Ok(row.takedown_ref)
            })
            .await
    }

    /// A record whatever its account's status or its takedown (what a report is about), with its
    /// takedown reference.
    pub async fn admin_record(
        &self,
        did: &Did,
        collection: &str,
        rkey: &str,
    ) -> Result<Option<(RecordView, Option<String>)>, PdsError> {
        let (did, collection, rkey) = (did.clone(), collection.to_owned(), rkey.to_owned());
        self.store()
            .read(move |txn| {
                let Some(id) = account_store::id(txn, &did)? else {
                    return Ok(None);
                };
                let path = RecordPath {
                    collection: &collection,
                    rkey: &rkey,
                };
                let Some(row) = repo_store::record(txn, id, path)? else {
                    return Ok(None);
                };
                let view = record_view(did.as_str(), &collection, &rkey, row)?;
                let takedown = repo_store::takedown(txn, id, &path.key())?;
                Ok::<_, PdsError>(Some((view, takedown)))
            })
            .await
    }

    /// The room the store takes (database, blob files) and what is left on its file system.
    pub async fn storage_usage(&self) -> Result<StorageUsage, PdsError> {
        let store = self.store().clone();
        tokio::task::spawn_blocking(move || store.usage())
            .await
            .map_err(|e| PdsError::Internal(e.to_string()))
    }

    /// How many accounts are in each state (a scan: a community has hundreds, not millions).
    pub async fn account_counts(&self) -> Result<Vec<(AccountStatus, u64)>, PdsError> {
        self.store()
            .read(move |txn| {
                let mut counts = vec![
                    (AccountStatus::Active, 0),
                    (AccountStatus::Deactivated, 0),
                    (AccountStatus::Takendown, 0),
                    (AccountStatus::Suspended, 0),
                ];
                account_store::for_each(txn, |account| {
                    if let Some(entry) = counts.iter_mut().find(|(s, _)| *s == account.status) {
                        entry.1 += 1;
                    }
                })?;
                Ok::<_, PdsError>(counts)
            })
            .await
    }

    /// The CID of a record whatever its status or takedown (for the admin's subject status).
    pub async fn record_cid(&self, did: &Did, path: &str) -> Result<Option<Cid>, PdsError> {
        let (did, path) = (did.clone(), path.to_owned());
        self.store()
            .read(move |txn| {
                let Some((collection, rkey)) = path.split_once('/') else {
                    return Ok(None);
                };
                let Some(id) = account_store::id(txn, &did)? else {
                    return Ok(None);
                };
                let row = repo_store::record(txn, id, RecordPath { collection, rkey })?;
                Ok::<_, PdsError>(row.map(|r| r.cid))
            })
            .await
    }
}
