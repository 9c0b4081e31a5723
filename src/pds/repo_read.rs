//! Repo reads: getRecord, listRecords, describeRepo, and resolving a `repo` parameter (handle or
//! DID) to an account hosted here.
//!
//! Spec: `com.atproto.repo.*` lexicons; behaviour per the reference PDS: listRecords orders by record
//! key, newest first unless `reverse`, and its cursor is the last record key returned.

use cid::Cid;

use super::rows::{self, AccountRow, AccountStatus, RecordRow};
use super::tables::{ACCOUNTS, HANDLES, RECORD_TAKEDOWNS, RECORDS};
use super::{Pds, PdsError};
use crate::core::data::{self, Value};
use crate::store::{StoreError, open_read_table};

/// Most records one listRecords page returns.
pub const MAX_LIST_LIMIT: usize = 100;

/// A record as the read endpoints return it.
#[derive(Clone, Debug)]
pub struct RecordView {
    pub uri: String,
    pub cid: Cid,
    pub value: Value,
}

/// What describeRepo returns (the DID document is fetched by the caller's request).
pub struct RepoDescription {
    pub did: String,
    pub handle: String,
    pub collections: Vec<String>,
}

pub(super) fn decode_record(
    did: &str,
    collection: &str,
    rkey: &str,
    bytes: &[u8],
) -> Result<RecordView, PdsError> {
    let row: RecordRow = rows::decode(bytes)?;
    Ok(RecordView {
        uri: format!("at://{did}/{collection}/{rkey}"),
        cid: row.cid,
        value: data::decode_value(&row.bytes).map_err(|e| PdsError::Internal(e.to_string()))?,
    })
}

/// The smallest string above every string that starts with `prefix` followed by the key separator,
/// used as an exclusive upper bound for "every rkey of this collection".
fn after(collection: &str) -> String {
    format!("{collection}\0")
}

impl Pds {
    /// The account a `repo` parameter names (a DID or a handle hosted here).
    pub(super) async fn find_repo(&self, repo: &str) -> Result<Option<AccountRow>, PdsError> {
        let repo = repo.to_owned();
        self.store()
            .read(move |txn| {
                let did = if repo.starts_with("did:") {
                    repo.clone()
                } else {
                    let Some(handles) = open_read_table(txn, HANDLES)? else {
                        return Ok(None);
                    };
                    match handles.get(repo.to_ascii_lowercase().as_str())? {
                        Some(did) => did.value().to_owned(),
                        None => return Ok(None),
                    }
                };
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

    /// The account behind `repo`, which must be active.
    async fn active_repo(&self, repo: &str) -> Result<AccountRow, PdsError> {
        match self.find_repo(repo).await? {
            Some(account) if account.status == AccountStatus::Active => Ok(account),
            _ => Err(PdsError::InvalidRequest(format!(
                "Could not find repo: {repo}"
            ))),
        }
    }

    /// The DID a write's `repo` names; must be the caller's own account.
    pub async fn repo_did_for_write(&self, repo: &str, caller: &str) -> Result<String, PdsError> {
        let did = if repo.starts_with("did:") {
            repo.to_owned()
        } else {
            self.find_repo(repo)
                .await?
                .map(|a| a.did)
                .ok_or_else(|| PdsError::Named {
                    error: "AccountNotFound",
                    message: "Account not found".into(),
                })?
        };
        if did != caller {
            return Err(PdsError::AuthRequired("Authentication Required".into()));
        }
        Ok(did)
    }

    /// `getRecord`: the current version (or `None`), optionally only if it has `cid`.
    pub async fn get_record(
        &self,
        repo: &str,
        collection: &str,
        rkey: &str,
        cid: Option<Cid>,
    ) -> Result<RecordView, PdsError> {
        let account = self.active_repo(repo).await?;
        let not_found = || {
            PdsError::RecordNotFound(format!(
                "Could not locate record: at://{}/{collection}/{rkey}",
                account.did
            ))
        };
        let (id, did, c, r) = (
            account.id,
            account.did.clone(),
            collection.to_owned(),
            rkey.to_owned(),
        );
        let view = self
            .store()
            .read(move |txn| {
                let Some(records) = open_read_table(txn, RECORDS)? else {
                    return Ok(None);
                };
                if is_taken_down(txn, id, &c, &r)? {
                    return Ok(None);
                }
                records
                    .get((id, c.as_str(), r.as_str()))?
                    .map(|v| decode_record(&did, &c, &r, v.value()))
                    .transpose()
            })
            .await?
            .ok_or_else(not_found)?;
        if cid.is_some_and(|want| want != view.cid) {
            return Err(not_found());
        }
        Ok(view)
    }

    /// `listRecords`: a page of one collection, by record key.
    pub async fn list_records(
        &self,
        repo: &str,
        collection: &str,
        limit: usize,
        cursor: Option<String>,
        reverse: bool,
    ) -> Result<(Vec<RecordView>, Option<String>), PdsError> {
        let account = self.active_repo(repo).await?;
        let (id, did, collection) = (account.id, account.did.clone(), collection.to_owned());
        let limit = limit.clamp(1, MAX_LIST_LIMIT);
        self.store()
            .read(move |txn| {
                let Some(records) = open_read_table(txn, RECORDS)? else {
                    return Ok((Vec::new(), None));
                };
                // Records the admin took down are skipped.
                let takedowns = open_read_table(txn, RECORD_TAKEDOWNS)?;
                let end = after(&collection);
                let mut out = Vec::new();
                if reverse {
                    let start = cursor.as_deref().unwrap_or("");
                    for row in
                        records.range((id, collection.as_str(), start)..(id, end.as_str(), ""))?
                    {
                        let (k, v) = row.map_err(StoreError::from)?;
                        if cursor.is_some() && k.value().2 == start {
                            continue;
                        }
                        let key = k.value();
                        if takedowns.as_ref().is_some_and(|t| {
                            t.get((id, format!("{}/{}", key.1, key.2).as_str()))
                                .ok()
                                .flatten()
                                .is_some()
                        }) {
                            continue;
                        }
                        out.push(decode_record(&did, key.1, key.2, v.value())?);
                        if out.len() >= limit {
                            break;
                        }
                    }
                } else {
                    let upper = match &cursor {
                        Some(c) => (id, collection.as_str(), c.as_str()),
                        None => (id, end.as_str(), ""),
                    };
                    for row in records.range((id, collection.as_str(), "")..upper)?.rev() {
                        let (k, v) = row.map_err(StoreError::from)?;
                        let key = k.value();
                        if takedowns.as_ref().is_some_and(|t| {
                            t.get((id, format!("{}/{}", key.1, key.2).as_str()))
                                .ok()
                                .flatten()
                                .is_some()
                        }) {
                            continue;
                        }
                        out.push(decode_record(&did, key.1, key.2, v.value())?);
                        if out.len() >= limit {
                            break;
                        }
                    }
                }
                let next = out
                    .last()
                    .and_then(|r| r.uri.rsplit('/').next().map(str::to_owned));
                Ok((out, next))
            })
            .await
    }

    /// `describeRepo`: the handle and the collections the repo holds.
    pub async fn describe_repo(&self, repo: &str) -> Result<RepoDescription, PdsError> {
        let account = self.find_repo(repo).await?.ok_or_else(|| {
            PdsError::RepoNotFound(format!("Could not find repo for DID: {repo}"))
        })?;
        check_available(&account)?;
        let id = account.id;
        let collections = self
            .store()
            .read(move |txn| {
                let Some(records) = open_read_table(txn, RECORDS)? else {
                    return Ok::<_, PdsError>(Vec::new());
                };
                let mut out: Vec<String> = Vec::new();
                let mut from = String::new();
                loop {
                    let next = records
                        .range((id, from.as_str(), "")..(id + 1, "", ""))?
                        .next()
                        .transpose()
                        .map_err(StoreError::from)?;
                    let Some((key, _)) = next else { break };
                    let collection = key.value().1.to_owned();
                    from = after(&collection);
                    out.push(collection);
                }
                Ok(out)
            })
            .await?;
        Ok(RepoDescription {
            did: account.did,
            handle: account.handle,
            collections,
        })
    }
}

/// The sync-style availability check: taken-down and deactivated repos are not served.
pub(super) fn check_available(account: &AccountRow) -> Result<(), PdsError> {
    match account.status {
        AccountStatus::Active => Ok(()),
        AccountStatus::Takendown => Err(PdsError::RepoInactive {
            error: "RepoTakendown",
            message: format!("Repo has been takendown: {}", account.did),
        }),
        AccountStatus::Suspended => Err(PdsError::RepoInactive {
            error: "RepoSuspended",
            message: format!("Repo has been suspended: {}", account.did),
        }),
        AccountStatus::Deactivated | AccountStatus::Deleted => Err(PdsError::RepoInactive {
            error: "RepoDeactivated",
            message: format!("Repo has been deactivated: {}", account.did),
        }),
    }
}

/// Whether the admin took the record down.
fn is_taken_down(
    txn: &redb::ReadTransaction,
    id: u64,
    collection: &str,
    rkey: &str,
) -> Result<bool, PdsError> {
    let Some(table) = open_read_table(txn, RECORD_TAKEDOWNS)? else {
        return Ok(false);
    };
    Ok(table
        .get((id, format!("{collection}/{rkey}").as_str()))?
        .is_some())
}
