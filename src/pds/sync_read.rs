//! Sync reads: repo export (streamed), the latest commit, repo status, listRepos, record proofs,
//! blocks, blob listing and blob files.
//!
//! Spec: <https://atproto.com/specs/sync> and the `com.atproto.sync.*` lexicons. Taken-down and
//! deactivated repos are not served to others (the account itself and the admin still see them).
//! An export streams from a read transaction on the blocking pool through a bounded channel, so a
//! large repo never sits in memory whole and a slow client only holds its own buffer.

use std::collections::BTreeSet;
use std::io::Write;

use bytes::Bytes;
use cid::Cid;
use tokio::sync::mpsc;

use super::repo_read::check_available;
use super::repo_store::{self, RecordPath};
use super::rows::{AccountRow, RepoRow};
use super::{Pds, PdsError, account_store, blob_store};
use crate::core::syntax::{Did, Nsid, RecordKey, Tid};
use crate::store::StoreError;

/// Chunk size of a streamed export.
const CHUNK: usize = 64 * 1024;
/// Chunks an export may run ahead of the client.
const CHUNKS_AHEAD: usize = 8;
/// Most repos one listRepos page returns.
pub const MAX_LIST_REPOS: usize = 1000;
/// Most CIDs one listBlobs page returns.
pub const MAX_LIST_BLOBS: usize = 1000;

/// A repo's hosting state, for getRepoStatus and listRepos.
#[derive(Clone, Debug)]
pub struct RepoStatus {
    pub did: String,
    pub active: bool,
    pub status: Option<&'static str>,
    pub head: Cid,
    pub rev: String,
}

/// A blob to serve.
pub struct BlobFile {
    pub path: std::path::PathBuf,
    pub mime_type: String,
    pub size: u64,
}

/// Who is asking: the account itself and the admin may read an inactive repo.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reader<'a> {
    Anyone,
    Account(&'a Did),
    Admin,
}

impl Reader<'_> {
    fn may_read(self, account: &AccountRow) -> Result<(), PdsError> {
        match self {
            Reader::Admin => Ok(()),
            Reader::Account(did) if *did == account.did => Ok(()),
            _ => check_available(account),
        }
    }
}

/// A `Write` that sends fixed-size chunks down a channel (from a blocking thread).
struct ChannelWriter {
    buffer: Vec<u8>,
    sender: mpsc::Sender<Result<Bytes, std::io::Error>>,
}

impl ChannelWriter {
    fn send(&mut self) -> std::io::Result<()> {
        if self.buffer.is_empty() {
            return Ok(());
        }
        let chunk = Bytes::from(std::mem::replace(
            &mut self.buffer,
            Vec::with_capacity(CHUNK),
        ));
        self.sender
            .blocking_send(Ok(chunk))
            .map_err(|_| std::io::Error::new(std::io::ErrorKind::BrokenPipe, "client went away"))
    }
}

impl Write for ChannelWriter {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.buffer.extend_from_slice(data);
        if self.buffer.len() >= CHUNK {
            self.send()?;
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.send()
    }
}

fn repo_not_found(did: &str) -> PdsError {
    PdsError::RepoNotFound(format!("Could not find repo for DID: {did}"))
}

fn status_of(account: &AccountRow, repo: &RepoRow) -> RepoStatus {
    RepoStatus {
        did: account.did.to_string(),
        active: account.status.is_active(),
        status: account.status.as_status(),
        head: repo.commit_cid,
        rev: repo.rev.clone(),
    }
}

impl Pds {
    /// The account a sync call names, checked for availability to `reader`.
    async fn sync_account(&self, did: &Did, reader: Reader<'_>) -> Result<AccountRow, PdsError> {
        let account = self
            .account(did)
            .await?
            .ok_or_else(|| repo_not_found(did.as_str()))?;
        reader.may_read(&account)?;
        Ok(account)
    }

    /// The account a sync call names and its repo head.
    async fn sync_head(
        &self,
        did: &Did,
        reader: Reader<'_>,
    ) -> Result<(AccountRow, Option<RepoRow>), PdsError> {
        let account = self.sync_account(did, reader).await?;
        let id = account.id;
        let head = self
            .store()
            .read(move |txn| repo_store::head(txn, id))
            .await?;
        Ok((account, head))
    }

    /// `getRepo`: a stream of CAR bytes (checks run before the first byte).
    pub async fn export_repo(
        &self,
        did: &Did,
        since: Option<&Tid>,
        reader: Reader<'_>,
    ) -> Result<mpsc::Receiver<Result<Bytes, std::io::Error>>, PdsError> {
        let account = self.sync_account(did, reader).await?;
        let since = since.map(Tid::as_u64);
        let (sender, receiver) = mpsc::channel(CHUNKS_AHEAD);
        let txn = self.store().read_now()?;
        let head = repo_store::head(&txn, account.id)?
            .ok_or_else(|| repo_not_found(account.did.as_str()))?;
        let error_sender = sender.clone();
        tokio::task::spawn_blocking(move || {
            let mut writer = ChannelWriter {
                buffer: Vec::with_capacity(CHUNK),
                sender,
            };
            let written = repo_store::write_export(&txn, account.id, &head, since, &mut writer)
                .and_then(|()| writer.flush().map_err(StoreError::from));
            if let Err(e) = written {
                tracing::warn!(did = %account.did, error = %e, "repo export stopped");
                let _ = error_sender.blocking_send(Err(std::io::Error::other(e.to_string())));
            }
        });
        Ok(receiver)
    }

    /// `getLatestCommit`.
    pub async fn latest_commit(
        &self,
        did: &Did,
        reader: Reader<'_>,
    ) -> Result<(Cid, String), PdsError> {
        let (_, head) = self.sync_head(did, reader).await?;
        let head =
            head.ok_or_else(|| PdsError::RepoNotFound("Could not find root for DID".into()))?;
        Ok((head.commit_cid, head.rev))
    }

    /// `getRepoStatus` (answers for inactive accounts too).
    pub async fn repo_status(&self, did: &Did) -> Result<RepoStatus, PdsError> {
        let (account, head) = self.sync_head(did, Reader::Admin).await?;
        let head = head.ok_or_else(|| repo_not_found(did.as_str()))?;
        Ok(status_of(&account, &head))
    }

    /// `listRepos`: every hosted repo in creation order; the cursor is the last account id.
    pub async fn list_repos(
        &self,
        limit: usize,
        cursor: Option<&str>,
    ) -> Result<(Vec<RepoStatus>, Option<String>), PdsError> {
        let after = match cursor {
            Some(c) => c
                .parse::<u64>()
                .map_err(|_| PdsError::InvalidRequest("Malformed cursor".into()))?,
            None => 0,
        };
        let limit = limit.clamp(1, MAX_LIST_REPOS);
        self.store()
            .read(move |txn| {
                let mut out = Vec::new();
                let mut last = None;
                let mut from = after;
                // Ids of deleted accounts are gone, so a page may need more than one read.
                while out.len() < limit {
                    let ids = account_store::ids_after(txn, from, limit - out.len())?;
                    let Some((end, _)) = ids.last() else { break };
                    from = *end;
                    for (id, did) in ids {
                        let account = account_store::find_login(txn, &did)?;
                        if let (Some(account), Some(head)) = (account, repo_store::head(txn, id)?) {
                            out.push(status_of(&account, &head));
                            last = Some(id);
                        }
                    }
                }
                Ok::<_, PdsError>((out, last.map(|l| l.to_string())))
            })
            .await
    }

    /// `sync.getRecord`: the commit, the MST path to the key, and the record if present (a missing
    /// record gets a proof of absence).
    pub async fn record_proof(
        &self,
        did: &Did,
        collection: &Nsid,
        rkey: &RecordKey,
        reader: Reader<'_>,
    ) -> Result<Vec<u8>, PdsError> {
        let (account, head) = self.sync_head(did, reader).await?;
        let head = head.ok_or_else(|| repo_not_found(account.did.as_str()))?;
        let (collection, rkey) = (collection.clone(), rkey.clone());
        self.store()
            .read(move |txn| {
                let path = RecordPath {
                    collection: collection.as_str(),
                    rkey: rkey.as_str(),
                };
                Ok::<_, PdsError>(repo_store::proof(txn, account.id, &head, path)?)
            })
            .await
    }

    /// `getBlocks`: the named blocks (MST nodes, records, the commit), all or an error.
    pub async fn get_blocks(
        &self,
        did: &Did,
        cids: Vec<Cid>,
        reader: Reader<'_>,
    ) -> Result<Vec<u8>, PdsError> {
        let (account, head) = self.sync_head(did, reader).await?;
        let (car, missing) = self
            .store()
            .read(move |txn| repo_store::blocks_car(txn, account.id, head.as_ref(), &cids))
            .await?;
        if !missing.is_empty() {
            let missing: Vec<String> = missing.iter().map(Cid::to_string).collect();
            return Err(PdsError::InvalidRequest(format!(
                "Could not find cids: {}",
                missing.join(",")
            )));
        }
        Ok(car)
    }

    /// `listBlobs`: CIDs of blobs records use, in CID order, after `cursor`.
    pub async fn list_blobs(
        &self,
        did: &Did,
        since: Option<&Tid>,
        limit: usize,
        cursor: Option<&str>,
        reader: Reader<'_>,
    ) -> Result<(Vec<String>, Option<String>), PdsError> {
        let account = self.sync_account(did, reader).await?;
        let since = since.cloned();
        let id = account.id;
        let limit = limit.clamp(1, MAX_LIST_BLOBS);
        let cursor = cursor.map(str::to_owned);
        self.store()
            .read(move |txn| {
                let mut found: BTreeSet<String> = BTreeSet::new();
                for (cid, path) in blob_store::refs(txn, id)? {
                    if let Some(since) = &since {
                        let (collection, rkey) = path.split_once('/').unwrap_or((&path, ""));
                        let record = repo_store::record(txn, id, RecordPath { collection, rkey })?;
                        let newer = record
                            .is_some_and(|r| Tid::parse(&r.rev).is_ok_and(|rev| rev > *since));
                        if !newer {
                            continue;
                        }
                    }
                    found.insert(cid.to_string());
                }
                let page: Vec<String> = found
                    .into_iter()
                    .filter(|c| cursor.as_ref().is_none_or(|cur| c > cur))
                    .take(limit)
                    .collect();
                let next = page.last().cloned();
                Ok::<_, PdsError>((page, next))
            })
            .await
    }

    /// `getBlob`: a blob file of an account (never an upload no record uses yet).
    pub async fn blob_file(
        &self,
        did: &Did,
        cid: &Cid,
        reader: Reader<'_>,
    ) -> Result<BlobFile, PdsError> {
        let account = self.sync_account(did, reader).await?;
        let (id, blob) = (account.id, *cid);
        let row = self
            .store()
            .read(move |txn| blob_store::get(txn, id, &blob))
            .await?;
        let not_found = || PdsError::InvalidRequest("Blob not found".into());
        let row = row
            .filter(|r| !r.temp && r.takedown_ref.is_none())
            .ok_or_else(not_found)?;
        let path = self.store().blobs().path(cid);
        if !path.is_file() {
            return Err(not_found());
        }
        Ok(BlobFile {
            path,
            mime_type: row.mime_type,
            size: row.size,
        })
    }
}
