//! Repo reads: getRecord, listRecords, describeRepo, and resolving a `repo` parameter (handle or
//! DID) to an account hosted here.
//!
//! Spec: `com.atproto.repo.*` lexicons; behaviour per the reference PDS: listRecords orders by record
//! key, newest first unless `reverse`, and its cursor is the last record key returned.

use cid::Cid;

use super::repo_store::{self, RecordPath};
use super::rows::{AccountRow, AccountStatus, RecordRow};
use super::{Pds, PdsError, account_store};
use crate::core::data::{self, Value};
use crate::core::syntax::{AtIdentifier, Did, Nsid, RecordKey};

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
    pub did: Did,
    pub handle: String,
    pub collections: Vec<String>,
}

pub(super) fn record_view(
    did: &str,
    collection: &str,
    rkey: &str,
    row: RecordRow,
) -> Result<RecordView, PdsError> {
    Ok(RecordView {
        uri: format!("at://{did}/{collection}/{rkey}"),
        cid: row.cid,
        value: data::decode_value(&row.bytes).map_err(|e| PdsError::Internal(e.to_string()))?,
    })
}

impl Pds {
    /// The account a `repo` parameter names (a DID or a handle hosted here).
    pub(super) async fn find_repo(
        &self,
        repo: &AtIdentifier,
    ) -> Result<Option<AccountRow>, PdsError> {
        let repo = repo.clone();
        self.store()
            .read(move |txn| Ok(account_store::find(txn, &repo)?))
            .await
    }

    /// The account behind `repo`, which must be active.
    async fn active_repo(&self, repo: &AtIdentifier) -> Result<AccountRow, PdsError> {
        match self.find_repo(repo).await? {
            Some(account) if account.status == AccountStatus::Active => Ok(account),
            _ => Err(PdsError::InvalidRequest(format!(
                "Could not find repo: {repo}"
            ))),
        }
    }

    /// The DID a write's `repo` names; must be the caller's own account.
    pub async fn repo_did_for_write(
        &self,
        repo: &AtIdentifier,
        caller: &Did,
    ) -> Result<Did, PdsError> {
        let did = match repo {
            AtIdentifier::Did(did) => did.clone(),
            AtIdentifier::Handle(_) => {
                let account = self.find_repo(repo).await?;
                let did = account.map(|a| a.did);
                did.ok_or_else(|| PdsError::AccountNotFound("Account not found".into()))?
            }
        };
        if &did != caller {
            return Err(PdsError::AuthRequired("Authentication Required".into()));
        }
        Ok(did)
    }

    /// `getRecord`: the current version (or `None`), optionally only if it has `cid`.
    pub async fn get_record(
        &self,
        repo: &AtIdentifier,
        collection: &Nsid,
        rkey: &RecordKey,
        cid: Option<Cid>,
    ) -> Result<RecordView, PdsError> {
        let account = self.active_repo(repo).await?;
        let not_found = || {
            PdsError::RecordNotFound(format!(
                "Could not locate record: at://{}/{collection}/{rkey}",
                account.did
            ))
        };
        let (id, c, r) = (account.id, collection.clone(), rkey.clone());
        let row = self
            .store()
            .read(move |txn| {
                let path = RecordPath {
                    collection: c.as_str(),
                    rkey: r.as_str(),
                };
                if repo_store::takedown(txn, id, &path.key())?.is_some() {
                    return Ok::<_, PdsError>(None);
                }
                Ok(repo_store::record(txn, id, path)?)
            })
            .await?
            .ok_or_else(not_found)?;
        let view = record_view(
            account.did.as_str(),
            collection.as_str(),
            rkey.as_str(),
            row,
        )?;
        if cid.is_some_and(|want| want != view.cid) {
            return Err(not_found());
        }
        Ok(view)
    }

    /// `listRecords`: a page of one collection, by record key.
    pub async fn list_records(
        &self,
        repo: &AtIdentifier,
        collection: &Nsid,
        limit: usize,
        cursor: Option<String>,
        reverse: bool,
    ) -> Result<(Vec<RecordView>, Option<String>), PdsError> {
        let account = self.active_repo(repo).await?;
        let (id, c) = (account.id, collection.clone());
        let limit = limit.clamp(1, MAX_LIST_LIMIT);
        let page = self
            .store()
            .read(move |txn| {
                let page = repo_store::list_records(
                    txn,
                    id,
                    c.as_str(),
                    limit,
                    cursor.as_deref(),
                    reverse,
                )?;
                Ok::<_, PdsError>(page)
            })
            .await?;
        let next = page.last().map(|(rkey, _)| rkey.clone());
        let records = page
            .into_iter()
            .map(|(rkey, row)| record_view(account.did.as_str(), collection.as_str(), &rkey, row))
            .collect::<Result<_, _>>()?;
        Ok((records, next))
    }

    /// `describeRepo`: the handle and the collections the repo holds.
    pub async fn describe_repo(&self, repo: &AtIdentifier) -> Result<RepoDescription, PdsError> {
        let account = self.find_repo(repo).await?.ok_or_else(|| {
            PdsError::RepoNotFound(format!("Could not find repo for DID: {repo}"))
        })?;
        check_available(&account)?;
        let id = account.id;
        let collections = self
            .store()
            .read(move |txn| Ok::<_, PdsError>(repo_store::collections(txn, id)?))
            .await?;
        Ok(RepoDescription {
            did: account.did.clone(),
            handle: account.handle,
            collections,
        })
    }
}

/// The sync-style availability check: taken-down and deactivated repos are not served.
pub(super) fn check_available(account: &AccountRow) -> Result<(), PdsError> {
    let did = &account.did;
    match account.status {
        AccountStatus::Active => Ok(()),
        AccountStatus::Takendown => Err(PdsError::RepoTakendown(format!(
            "Repo has been takendown: {did}"
        ))),
        AccountStatus::Suspended => Err(PdsError::RepoSuspended(format!(
            "Repo has been suspended: {did}"
        ))),
        AccountStatus::Deactivated | AccountStatus::Deleted => Err(PdsError::RepoDeactivated(
            format!("Repo has been deactivated: {did}"),
        )),
    }
}
