//! Reading the relay: repo and host listings, repo status, and repo exports (the copy of a remote
//! repo, or the local PDS's). Its event log is read through `Relay::events`.

use std::cell::RefCell;
use std::collections::HashSet;

use bytes::Bytes;
use cid::Cid;
use redb::ReadableTable;
use tokio::sync::mpsc;

use super::rows::{self, HostRow, RepoRow};
use super::status::RepoStatus;
use super::tables::{BLOCKS, COLLECTIONS, HOSTS, RECORDS, REPOS};
use super::{Relay, RelayError};
use crate::core::car::CarWriter;
use crate::core::mst::{BlockSource, ExportItem, Mst, MstError};
use crate::core::syntax::Did;
use crate::store::{StoreError, open_read_table};

/// Most rows one listing page returns.
pub const MAX_PAGE: usize = 2000;

/// A repo as listRepos and getRepoStatus show it.
#[derive(Clone, Debug)]
pub struct RepoInfo {
    pub did: String,
    pub head: Option<Cid>,
    pub rev: String,
    pub active: bool,
    pub status: Option<RepoStatus>,
}

/// A host as listHosts and getHostStatus show it.
#[derive(Clone, Debug)]
pub struct HostInfo {
    pub hostname: String,
    pub seq: u64,
    pub account_count: u64,
    pub status: &'static str,
}

/// The error for reading an inactive repo, by its status (`getRepo`, `getLatestCommit`).
fn inactive_error(status: &RepoStatus, did: &str) -> RelayError {
    let message = format!("Repo is not active: {did}");
    match status {
        RepoStatus::Takendown => RelayError::RepoTakendown(message),
        RepoStatus::Suspended => RelayError::RepoSuspended(message),
        RepoStatus::Desynchronized => RelayError::RepoDesynchronized(message),
        _ => RelayError::RepoDeactivated(message),
    }
}

fn repo_not_found(did: &str) -> RelayError {
    RelayError::RepoNotFound(format!("Could not find repo for DID: {did}"))
}

fn repo_info(did: &str, row: &RepoRow) -> RepoInfo {
    let active = row.status == RepoStatus::Active;
    RepoInfo {
        did: did.to_owned(),
        head: row.commit,
        rev: row.rev.clone(),
        active,
        status: (!active).then(|| row.status.clone()),
    }
}

/// The relay's copy of a repo as a block source.
struct MirrorSource<'t, T> {
    table: &'t T,
    did: &'t str,
    seen: RefCell<HashSet<Cid>>,
}

impl<T> BlockSource for MirrorSource<'_, T>
where
    T: ReadableTable<(&'static str, &'static [u8]), &'static [u8]>,
{
    fn get_block(&self, cid: &Cid) -> Result<Option<Vec<u8>>, MstError> {
        let key = cid.to_bytes();
        self.seen.borrow_mut().insert(*cid);
        Ok(self
            .table
            .get((self.did, key.as_slice()))
            .map_err(|e| MstError::Source(e.to_string()))?
            .map(|v| v.value().to_vec()))
    }
}

impl Relay {
    pub async fn repo_status(&self, did: &Did) -> Result<RepoInfo, RelayError> {
        let row = self.stored_repo(did.as_str()).await?;
        row.map(|r| repo_info(did.as_str(), &r))
            .ok_or_else(|| repo_not_found(did.as_str()))
    }

    /// getLatestCommit: the head (commit CID, rev) of an active repo.
    pub async fn latest_commit(&self, did: &Did) -> Result<(Cid, String), RelayError> {
        let info = self.repo_status(did).await?;
        let head = info.head.ok_or_else(|| {
            RelayError::RepoNotFound(format!("Could not find root for DID: {did}"))
        })?;
        if let Some(status) = info.status.filter(|_| !info.active) {
            return Err(inactive_error(&status, did.as_str()));
        }
        Ok((head, info.rev))
    }

    /// listRepos, in DID order; the cursor is the last DID.
    pub async fn list_repos(
        &self,
        limit: usize,
        cursor: Option<String>,
    ) -> Result<(Vec<RepoInfo>, Option<String>), RelayError> {
        let limit = limit.clamp(1, MAX_PAGE);
        self.store()
            .read(move |txn| {
                let Some(table) = open_read_table(txn, REPOS)? else {
                    return Ok((Vec::new(), None));
                };
                let mut out = Vec::new();
                let start = cursor.clone().unwrap_or_default();
                for row in table.range(start.as_str()..)? {
                    let (k, v) = row.map_err(StoreError::from)?;
                    if cursor.as_deref() == Some(k.value()) {
                        continue;
                    }
                    let row: RepoRow = rows::decode(v.value())?;
                    if row.commit.is_none() {
                        continue;
                    }
                    out.push(repo_info(k.value(), &row));
                    if out.len() >= limit {
                        break;
                    }
                }
                let next = (out.len() >= limit)
                    .then(|| out.last().map(|r: &RepoInfo| r.did.clone()))
                    .flatten();
                Ok::<_, RelayError>((out, next))
            })
            .await
    }

    /// listReposByCollection, in DID order.
    pub async fn list_repos_by_collection(
        &self,
        collection: &str,
        limit: usize,
        cursor: Option<String>,
    ) -> Result<(Vec<String>, Option<String>), RelayError> {
        let limit = limit.clamp(1, MAX_PAGE);
        let collection = collection.to_owned();
        self.store()
            .read(move |txn| {
                let Some(table) = open_read_table(txn, COLLECTIONS)? else {
                    return Ok((Vec::new(), None));
                };
                let start = cursor.clone().unwrap_or_default();
                let mut out = Vec::new();
                for row in table.range((collection.as_str(), start.as_str())..)? {
                    let (k, _) = row.map_err(StoreError::from)?;
                    let (c, did) = k.value();
                    if c != collection {
                        break;
                    }
                    if cursor.as_deref() == Some(did) {
                        continue;
                    }
                    out.push(did.to_owned());
                    if out.len() >= limit {
                        break;
                    }
                }
                let next = (out.len() >= limit).then(|| out.last().cloned()).flatten();
                Ok::<_, RelayError>((out, next))
            })
            .await
    }

    /// listHosts (oldest first; the cursor is the last hostname).
    pub async fn list_hosts(
        &self,
        limit: usize,
        cursor: Option<String>,
    ) -> Result<(Vec<HostInfo>, Option<String>), RelayError> {
        let mut hosts = self.all_hosts().await?;
        hosts.sort_by(|a, b| a.0.cmp(&b.0).then_with(|| a.1.hostname.cmp(&b.1.hostname)));
        let mut hosts: Vec<HostInfo> = hosts.into_iter().map(|(_, h)| h).collect();
        if let Some(c) = &cursor
            && let Some(i) = hosts.iter().position(|h| &h.hostname == c)
        {
            hosts.drain(..=i);
        }
        let limit = limit.clamp(1, 1000);
        hosts.truncate(limit);
        let next = (hosts.len() >= limit)
            .then(|| hosts.last().map(|h| h.hostname.clone()))
            .flatten();
        Ok((hosts, next))
    }

    pub async fn host_status(&self, hostname: &str) -> Result<HostInfo, RelayError> {
        self.all_hosts()
            .await?
            .into_iter()
            .map(|(_, h)| h)
            .find(|h| h.hostname == hostname)
            .ok_or_else(|| RelayError::HostNotFound(format!("host not found: {hostname}")))
    }

    /// Every host with (added time, info); the local PDS appears under its host name.
    async fn all_hosts(&self) -> Result<Vec<(i64, HostInfo)>, RelayError> {
        let local = self.inner.local.as_ref().map(|l| l.hostname.clone());
        self.store()
            .read(move |txn| {
                let mut counts: std::collections::HashMap<String, u64> =
                    std::collections::HashMap::new();
                if let Some(repos) = open_read_table(txn, REPOS)? {
                    for row in repos.iter()? {
                        let (_, v) = row.map_err(StoreError::from)?;
                        let row: RepoRow = rows::decode(v.value())?;
                        *counts.entry(row.host).or_default() += 1;
                    }
                }
                let mut out = Vec::new();
                if let Some(hosts) = open_read_table(txn, HOSTS)? {
                    for row in hosts.iter()? {
                        let (k, v) = row.map_err(StoreError::from)?;
                        let row: HostRow = rows::decode(v.value())?;
                        let name = if k.value() == super::ingest::LOCAL_HOST {
                            match &local {
                                Some(l) => l.clone(),
                                None => continue,
                            }
                        } else {
                            k.value().to_owned()
                        };
                        out.push((
                            row.added_at,
                            HostInfo {
                                account_count: counts.get(&name).copied().unwrap_or(0),
                                hostname: name,
                                seq: row.cursor,
                                status: row.status.shown(),
                            },
                        ));
                    }
                }
                Ok::<_, RelayError>(out)
            })
            .await
    }

    /// A full CAR export of a repo the relay follows: its copy of a remote repo, or the local PDS's.
    pub async fn repo_car(
        &self,
        did: &Did,
    ) -> Result<mpsc::Receiver<Result<Bytes, std::io::Error>>, RelayError> {
        let row = self
            .stored_repo(did.as_str())
            .await?
            .ok_or_else(|| repo_not_found(did.as_str()))?;
        if row.status != RepoStatus::Active {
            return Err(inactive_error(&row.status, did.as_str()));
        }
        if !row.mirrored {
            let local = self.inner.local.as_ref().ok_or_else(|| {
                RelayError::RepoNotFound(format!("Could not find repo for DID: {did}"))
            })?;
            return local.repos.export_repo(did.as_str()).await;
        }
        if !row.copy_is_whole() {
            // The copy holds only commit slices until its backfill lands and the stream reaches it.
            return Err(RelayError::RepoNotFound(format!(
                "the relay is still copying the repo of {did}; try again shortly"
            )));
        }
        let (commit, data) = match (row.commit, row.data) {
            (Some(c), Some(d)) => (c, d),
            _ => {
                return Err(RelayError::RepoNotFound(format!(
                    "Could not find repo for DID: {did}"
                )));
            }
        };
        let car = self.mirror_car(did.as_str(), commit, data).await?;
        let (sender, receiver) = mpsc::channel(1);
        let _ = sender.send(Ok(Bytes::from(car))).await;
        Ok(receiver)
    }

    async fn mirror_car(&self, did: &str, commit: Cid, data: Cid) -> Result<Vec<u8>, RelayError> {
        let did = did.to_owned();
        self.store()
            .read(move |txn| {
                let (Some(blocks), Some(records)) = (
                    open_read_table(txn, BLOCKS)?,
                    open_read_table(txn, RECORDS)?,
                ) else {
                    return Err(RelayError::RepoNotFound(format!("no copy of {did}")));
                };
                let source = MirrorSource {
                    table: &blocks,
                    did: &did,
                    seen: RefCell::new(HashSet::new()),
                };
                let commit_block = source
                    .get_block(&commit)
                    .map_err(|e| RelayError::Internal(e.to_string()))?
                    .ok_or_else(|| {
                        RelayError::RepoNotFound(format!("the copy of {did} lacks its commit"))
                    })?;
                let mut car = CarWriter::new(Vec::new(), &[commit])
                    .map_err(|e| RelayError::Internal(e.to_string()))?;
                car.write_block(&commit, &commit_block)
                    .map_err(|e| RelayError::Internal(e.to_string()))?;
                let mut tree =
                    Mst::load(&source, data).map_err(|e| RelayError::Internal(e.to_string()))?;
                let mut failure = None;
                let walked = tree.walk_export(&source, &mut |item| {
                    let result = match item {
                        ExportItem::Node(cid, bytes) => {
                            car.write_block(cid, bytes).map_err(|e| e.to_string())
                        }
                        ExportItem::Record(key, cid) => {
                            let key = String::from_utf8_lossy(key);
                            let (c, r) = key.split_once('/').unwrap_or((&key, ""));
                            match records.get((did.as_str(), c, r)) {
                                Ok(Some(value)) => {
                                    let value = value.value();
                                    let cid_len = cid.to_bytes().len();
                                    car.write_block(cid, &value[cid_len.min(value.len())..])
                                        .map_err(|e| e.to_string())
                                }
                                Ok(None) => Err(format!("record {key} missing from the copy")),
                                Err(e) => Err(e.to_string()),
                            }
                        }
                    };
                    result.map_err(|e| {
                        failure = Some(e.clone());
                        MstError::Source(e)
                    })
                });
                if let Some(e) = failure {
                    return Err(RelayError::Internal(e));
                }
                walked.map_err(|e| RelayError::Internal(e.to_string()))?;
                Ok(car.finish())
            })
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::{RepoStatus, inactive_error};

    #[test]
    fn inactive_repos_get_the_lexicon_error_for_their_status() {
        for (status, error) in [
            ("takendown", "RepoTakendown"),
            ("suspended", "RepoSuspended"),
            ("deactivated", "RepoDeactivated"),
            ("deleted", "RepoDeactivated"),
            ("desynchronized", "RepoDesynchronized"),
        ] {
            let got = inactive_error(&RepoStatus::from(status.to_owned()), "did:plc:x");
            assert!(format!("{got:?}").starts_with(error), "{status}: {got:?}");
        }
    }
}
