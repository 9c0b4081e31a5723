//! What the admin reads about accounts and subjects: account views, search, and the status of an
//! account, record or blob (`com.atproto.admin.*`; the writes live with the state they change:
//! `lifecycle.rs`, `account_email.rs`, `invites.rs`, `identity_ops.rs`).

use cid::Cid;
use redb::ReadableTable;

use super::repo_read::{RecordView, decode_record};
use super::rows::{self, AccountRow, AccountStatus, BlobRow, RecordRow};
use super::tables::{ACCOUNTS, BLOBS, DID_IDS, RECORD_TAKEDOWNS, RECORDS};
use super::{Pds, PdsError};
use crate::store::{StoreError, Usage as StorageUsage, open_read_table};

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
            did: row.did,
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
    pub async fn admin_account(&self, did: &str) -> Result<Option<AdminAccount>, PdsError> {
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
        self.store()
            .read(move |txn| {
                let Some(accounts) = open_read_table(txn, ACCOUNTS)? else {
                    return Ok((Vec::new(), None));
                };
                let range = match &after {
                    Some(after) => accounts.range::<&str>((
                        std::ops::Bound::Excluded(after.as_str()),
                        std::ops::Bound::Unbounded,
                    ))?,
                    None => accounts.iter()?,
                };
                let mut out = Vec::new();
                for row in range {
                    let (_, v) = row.map_err(StoreError::from)?;
                    let account: AccountRow = rows::decode(v.value())?;
                    let matches = match &query {
                        None => true,
                        Some(q) => {
                            account.handle.contains(q.as_str())
                                || account.did.contains(q.as_str())
                                || account
                                    .email
                                    .as_deref()
                                    .is_some_and(|e| e.to_ascii_lowercase().contains(q.as_str()))
                        }
                    } && status.is_none_or(|s| s == account.status);
                    if matches {
                        out.push(AdminAccount::from(account));
                        if out.len() == limit {
                            break;
                        }
                    }
                }
                let next = (out.len() == limit)
                    .then(|| out.last().map(|a| a.did.clone()))
                    .flatten();
                Ok::<_, PdsError>((out, next))
            })
            .await
    }

    /// The takedown reference of a blob, if it is taken down (`Err` when the account does not
    /// hold the blob).
    pub async fn blob_takedown(&self, did: &str, cid: &Cid) -> Result<Option<String>, PdsError> {
        let (did, key) = (did.to_owned(), cid.to_bytes());
        self.store()
            .read(move |txn| {
                let id = open_read_table(txn, DID_IDS)?
                    .and_then(|t| t.get(did.as_str()).ok().flatten().map(|v| v.value()));
                let row = match (id, open_read_table(txn, BLOBS)?) {
                    (Some(id), Some(blobs)) => blobs
                        .get((id, key.as_slice()))?
                        .map(|v| rows::decode::<BlobRow>(v.value()))
                        .transpose()?,
                    _ => None,
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
        did: &str,
        collection: &str,
        rkey: &str,
    ) -> Result<Option<(RecordView, Option<String>)>, PdsError> {
        let (did, collection, rkey) = (did.to_owned(), collection.to_owned(), rkey.to_owned());
        self.store()
            .read(move |txn| {
                let id = open_read_table(txn, DID_IDS)?
                    .and_then(|t| t.get(did.as_str()).ok().flatten().map(|v| v.value()));
                let (Some(id), Some(records)) = (id, open_read_table(txn, RECORDS)?) else {
                    return Ok(None);
                };
                let Some(bytes) = records.get((id, collection.as_str(), rkey.as_str()))? else {
                    return Ok(None);
                };
                let view = decode_record(&did, &collection, &rkey, bytes.value())?;
                let path = format!("{collection}/{rkey}");
                let takedown = match open_read_table(txn, RECORD_TAKEDOWNS)? {
                    Some(t) => t.get((id, path.as_str()))?.map(|v| v.value().to_owned()),
                    None => None,
                };
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
                let Some(accounts) = open_read_table(txn, ACCOUNTS)? else {
                    return Ok(counts);
                };
                for row in accounts.iter()? {
                    let (_, v) = row.map_err(StoreError::from)?;
                    let account: AccountRow = rows::decode(v.value())?;
                    if let Some(entry) = counts.iter_mut().find(|(s, _)| *s == account.status) {
                        entry.1 += 1;
                    }
                }
                Ok::<_, PdsError>(counts)
            })
            .await
    }

    /// The CID of a record whatever its status or takedown (for the admin's subject status).
    pub async fn record_cid(&self, did: &str, path: &str) -> Result<Option<Cid>, PdsError> {
        let (did, path) = (did.to_owned(), path.to_owned());
        self.store()
            .read(move |txn| {
                let Some((collection, rkey)) = path.split_once('/') else {
                    return Ok(None);
                };
                let id = open_read_table(txn, DID_IDS)?
                    .and_then(|t| t.get(did.as_str()).ok().flatten().map(|v| v.value()));
                let (Some(id), Some(records)) = (id, open_read_table(txn, RECORDS)?) else {
                    return Ok(None);
                };
                let row = records
                    .get((id, collection, rkey))?
                    .map(|v| rows::decode::<RecordRow>(v.value()))
                    .transpose()?;
                Ok::<_, PdsError>(row.map(|r| r.cid))
            })
            .await
    }
}
