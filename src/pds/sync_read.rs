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

use super::blocks::{TableSource, split_value};
use super::repo_read::check_available;
use super::rows::{self, AccountRow, BlobRow, RecordRow, RepoRow};
use super::tables::{ACCOUNTS, BLOB_REFS, BLOBS, BLOCKS, ID_DIDS, RECORD_CIDS, RECORDS, REPOS};
use super::{Pds, PdsError};
use crate::core::car::{CarError, CarWriter};
use crate::core::mst::{ExportItem, Mst, MstError};
use crate::core::syntax::Tid;
use crate::store::{ReadTransaction, StoreError, open_read_table};

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
    Account(&'a str),
    Admin,
}

impl Reader<'_> {
    fn may_read(self, account: &AccountRow) -> Result<(), PdsError> {
        match self {
            Reader::Admin => Ok(()),
            Reader::Account(did) if did == account.did => Ok(()),
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

fn load_account(txn: &ReadTransaction, did: &str) -> Result<Option<AccountRow>, PdsError> {
    let Some(accounts) = open_read_table(txn, ACCOUNTS)? else {
        return Ok(None);
    };
    Ok(accounts
        .get(did)?
        .map(|v| rows::decode::<AccountRow>(v.value()))
        .transpose()?)
}

fn load_repo(txn: &ReadTransaction, id: u64) -> Result<Option<RepoRow>, PdsError> {
    let Some(repos) = open_read_table(txn, REPOS)? else {
        return Ok(None);
    };
    Ok(repos
        .get(id)?
        .map(|v| rows::decode::<RepoRow>(v.value()))
        .transpose()?)
}

fn repo_not_found(did: &str) -> PdsError {
    PdsError::RepoNotFound(format!("Could not find repo for DID: {did}"))
}

fn status_of(account: &AccountRow, repo: &RepoRow) -> RepoStatus {
    RepoStatus {
        did: account.did.clone(),
        active: account.status.is_active(),
        status: account.status.as_status(),
        head: repo.commit_cid,
        rev: repo.rev.clone(),
    }
}

fn car_error(e: CarError) -> PdsError {
    PdsError::Internal(format!("writing a CAR: {e}"))
}

/// Writes a repo export (or, with `since`, the blocks written after that rev) into `out`.
fn write_export(
    txn: &ReadTransaction,
    account: &AccountRow,
    since: Option<u64>,
    out: impl Write,
) -> Result<(), PdsError> {
    let repo = load_repo(txn, account.id)?.ok_or_else(|| repo_not_found(&account.did))?;
    let blocks = open_read_table(txn, BLOCKS)?.ok_or_else(|| repo_not_found(&account.did))?;
    let records = open_read_table(txn, RECORDS)?;
    let mut car = CarWriter::new(out, &[repo.commit_cid]).map_err(car_error)?;
    car.write_block(&repo.commit_cid, &repo.commit_block)
        .map_err(car_error)?;
    let id = account.id;
    if let Some(since) = since {
        for row in blocks.range((id, &[][..])..(id + 1, &[][..]))? {
            let (key, value) = row.map_err(StoreError::from)?;
            let (rev, bytes) = split_value(value.value());
            if rev > since
                && let Ok(cid) = Cid::try_from(key.value().1)
            {
                car.write_block(&cid, bytes).map_err(car_error)?;
            }
        }
        if let Some(records) = &records {
            for row in records.range((id, "", "")..(id + 1, "", ""))? {
                let (_, value) = row.map_err(StoreError::from)?;
                let record: RecordRow = rows::decode(value.value())?;
                let newer = Tid::parse(&record.rev).is_ok_and(|r| r.as_u64() > since);
                if newer {
                    car.write_block(&record.cid, &record.bytes)
                        .map_err(car_error)?;
                }
            }
        }
        car.finish()
            .flush()
            .map_err(|e| PdsError::Internal(e.to_string()))?;
        return Ok(());
    }
    let source = TableSource::new(&blocks, id);
    let mut tree = Mst::load(&source, repo.data)?;
    let mut failure: Option<PdsError> = None;
    let walked = tree.walk_export(&source, &mut |item| {
        let result = match item {
            ExportItem::Node(cid, bytes) => car.write_block(cid, bytes).map_err(car_error),
            ExportItem::Record(key, cid) => (|| {
                let key =
                    std::str::from_utf8(key).map_err(|e| PdsError::Internal(e.to_string()))?;
                let (collection, rkey) = key.split_once('/').unwrap_or((key, ""));
                let Some(records) = &records else {
                    return Err(PdsError::Internal(format!("record {key} is missing")));
                };
                let row: RecordRow = records
                    .get((id, collection, rkey))
                    .map_err(StoreError::from)?
                    .map(|v| rows::decode(v.value()))
                    .transpose()?
                    .ok_or_else(|| PdsError::Internal(format!("record {key} is missing")))?;
                if row.cid != *cid {
                    return Err(PdsError::Internal(format!(
                        "record {key} does not match its tree"
                    )));
                }
                car.write_block(cid, &row.bytes).map_err(car_error)
            })(),
        };
        result.map_err(|e| {
            let message = e.to_string();
            failure = Some(e);
            MstError::Source(message)
        })
    });
    if let Some(e) = failure {
        return Err(e);
    }
    walked?;
    car.finish()
        .flush()
        .map_err(|e| PdsError::Internal(e.to_string()))?;
    Ok(())
}

impl Pds {
    /// The account a sync call names, checked for availability to `reader`.
    async fn sync_account(&self, did: &str, reader: Reader<'_>) -> Result<AccountRow, PdsError> {
        let did_owned = did.to_owned();
        let account = self
            .store()
            .read(move |txn| load_account(txn, &did_owned))
            .await?
            .ok_or_else(|| repo_not_found(did))?;
        reader.may_read(&account)?;
        Ok(account)
    }

    /// `getRepo`: a stream of CAR bytes (checks run before the first byte).
    pub async fn export_repo(
        &self,
        did: &str,
        since: Option<&str>,
        reader: Reader<'_>,
    ) -> Result<mpsc::Receiver<Result<Bytes, std::io::Error>>, PdsError> {
        let account = self.sync_account(did, reader).await?;
        let since = match since {
            Some(s) => Some(
                Tid::parse(s)
                    .map_err(|e| PdsError::InvalidRequest(format!("Invalid since: {e}")))?
                    .as_u64(),
            ),
            None => None,
        };
        let (sender, receiver) = mpsc::channel(CHUNKS_AHEAD);
        let txn = self.store().read_now()?;
        let error_sender = sender.clone();
        tokio::task::spawn_blocking(move || {
            let mut writer = ChannelWriter {
                buffer: Vec::with_capacity(CHUNK),
                sender,
            };
            if let Err(e) = write_export(&txn, &account, since, &mut writer).and_then(|()| {
                writer
                    .flush()
                    .map_err(|e| PdsError::Internal(e.to_string()))
            }) {
                tracing::warn!(did = %account.did, error = %e, "repo export stopped");
                let _ = error_sender.blocking_send(Err(std::io::Error::other(e.to_string())));
            }
        });
        Ok(receiver)
    }

    /// `getLatestCommit`.
    pub async fn latest_commit(
        &self,
        did: &str,
        reader: Reader<'_>,
    ) -> Result<(Cid, String), PdsError> {
        let account = self.sync_account(did, reader).await?;
        let id = account.id;
        let repo = self
            .store()
            .read(move |txn| load_repo(txn, id))
            .await?
            .ok_or_else(|| PdsError::RepoNotFound("Could not find root for DID".into()))?;
        Ok((repo.commit_cid, repo.rev))
    }

    /// `getRepoStatus` (answers for inactive accounts too).
    pub async fn repo_status(&self, did: &str) -> Result<RepoStatus, PdsError> {
        let account = self.sync_account(did, Reader::Admin).await?;
        let id = account.id;
        let repo = self
            .store()
            .read(move |txn| load_repo(txn, id))
            .await?
            .ok_or_else(|| repo_not_found(did))?;
        Ok(status_of(&account, &repo))
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
                let (Some(ids), Some(repos)) =
                    (open_read_table(txn, ID_DIDS)?, open_read_table(txn, REPOS)?)
                else {
                    return Ok((Vec::new(), None));
                };
                let mut out = Vec::new();
                let mut last = None;
                for row in ids.range(after.saturating_add(1)..)? {
                    let (id, did) = row.map_err(StoreError::from)?;
                    let Some(account) = load_account(txn, did.value())? else {
                        continue;
                    };
                    let Some(repo) = repos
                        .get(id.value())?
                        .map(|v| rows::decode::<RepoRow>(v.value()))
                        .transpose()?
                    else {
                        continue;
                    };
                    out.push(status_of(&account, &repo));
                    last = Some(id.value());
                    if out.len() >= limit {
                        break;
                    }
                }
                Ok((out, last.map(|l| l.to_string())))
            })
            .await
    }

    /// `sync.getRecord`: the commit, the MST path to the key, and the record if present (a missing
    /// record gets a proof of absence).
    pub async fn record_proof(
        &self,
        did: &str,
        collection: &str,
        rkey: &str,
        reader: Reader<'_>,
    ) -> Result<Vec<u8>, PdsError> {
        let account = self.sync_account(did, reader).await?;
        let key = format!("{collection}/{rkey}");
        let id = account.id;
        self.store()
            .read(move |txn| {
                let repo = load_repo(txn, id)?.ok_or_else(|| repo_not_found(&account.did))?;
                let blocks =
                    open_read_table(txn, BLOCKS)?.ok_or_else(|| repo_not_found(&account.did))?;
                let source = TableSource::new(&blocks, id);
                let mut tree = Mst::load(&source, repo.data)?;
                let proof = tree.covering_proof(&source, &[key.as_str()])?;
                let mut out = CarWriter::new(Vec::new(), &[repo.commit_cid]).map_err(car_error)?;
                out.write_block(&repo.commit_cid, &repo.commit_block)
                    .map_err(car_error)?;
                for (cid, bytes) in proof.iter() {
                    out.write_block(cid, bytes).map_err(car_error)?;
                }
                let (c, r) = key.split_once('/').unwrap_or((key.as_str(), ""));
                if let Some(records) = open_read_table(txn, RECORDS)?
                    && let Some(row) = records.get((id, c, r))?
                {
                    let row: RecordRow = rows::decode(row.value())?;
                    out.write_block(&row.cid, &row.bytes).map_err(car_error)?;
                }
                Ok(out.finish())
            })
            .await
    }

    /// `getBlocks`: the named blocks (MST nodes, records, the commit), all or an error.
    pub async fn get_blocks(
        &self,
        did: &str,
        cids: Vec<Cid>,
        reader: Reader<'_>,
    ) -> Result<Vec<u8>, PdsError> {
        let account = self.sync_account(did, reader).await?;
        let id = account.id;
        self.store()
            .read(move |txn| {
                let repo = load_repo(txn, id)?;
                let blocks = open_read_table(txn, BLOCKS)?;
                let records = open_read_table(txn, RECORDS)?;
                let record_cids = open_read_table(txn, RECORD_CIDS)?;
                let mut out = CarWriter::new(Vec::new(), &[]).map_err(car_error)?;
                let mut missing = Vec::new();
                for cid in &cids {
                    let key = cid.to_bytes();
                    if let Some(repo) = &repo
                        && repo.commit_cid == *cid
                    {
                        out.write_block(cid, &repo.commit_block)
                            .map_err(car_error)?;
                        continue;
                    }
                    if let Some(blocks) = &blocks
                        && let Some(value) = blocks.get((id, key.as_slice()))?
                    {
                        out.write_block(cid, split_value(value.value()).1)
                            .map_err(car_error)?;
                        continue;
                    }
                    let path = match &record_cids {
                        Some(t) => t
                            .range((id, key.as_slice(), "")..)?
                            .next()
                            .transpose()
                            .map_err(StoreError::from)?
                            .filter(|(k, _)| k.value().0 == id && k.value().1 == key.as_slice())
                            .map(|(k, _)| k.value().2.to_owned()),
                        None => None,
                    };
                    let row = match (path, &records) {
                        (Some(path), Some(records)) => {
                            let (c, r) = path.split_once('/').unwrap_or((path.as_str(), ""));
                            records
                                .get((id, c, r))?
                                .map(|v| rows::decode::<RecordRow>(v.value()))
                                .transpose()?
                        }
                        _ => None,
                    };
                    match row {
                        Some(row) => out.write_block(cid, &row.bytes).map_err(car_error)?,
                        None => missing.push(cid.to_string()),
                    }
                }
                if !missing.is_empty() {
                    return Err(PdsError::InvalidRequest(format!(
                        "Could not find cids: {}",
                        missing.join(",")
                    )));
                }
                Ok(out.finish())
            })
            .await
    }

    /// `listBlobs`: CIDs of blobs records use, in CID order, after `cursor`.
    pub async fn list_blobs(
        &self,
        did: &str,
        since: Option<&str>,
        limit: usize,
        cursor: Option<&str>,
        reader: Reader<'_>,
    ) -> Result<(Vec<String>, Option<String>), PdsError> {
        let account = self.sync_account(did, reader).await?;
        let since = match since {
            Some(s) => Some(
                Tid::parse(s)
                    .map_err(|e| PdsError::InvalidRequest(format!("Invalid since: {e}")))?,
            ),
            None => None,
        };
        let id = account.id;
        let limit = limit.clamp(1, MAX_LIST_BLOBS);
        let cursor = cursor.map(str::to_owned);
        self.store()
            .read(move |txn| {
                let (Some(refs), records) = (
                    open_read_table(txn, BLOB_REFS)?,
                    open_read_table(txn, RECORDS)?,
                ) else {
                    return Ok((Vec::new(), None));
                };
                let mut found: BTreeSet<String> = BTreeSet::new();
                for row in refs.range((id, &[][..], "")..(id + 1, &[][..], ""))? {
                    let (key, _) = row.map_err(StoreError::from)?;
                    let (_, cid, path) = key.value();
                    let Ok(cid) = Cid::try_from(cid) else {
                        continue;
                    };
                    if let (Some(since), Some(records)) = (&since, &records) {
                        let (c, r) = path.split_once('/').unwrap_or((path, ""));
                        let newer = records
                            .get((id, c, r))?
                            .map(|v| rows::decode::<RecordRow>(v.value()))
                            .transpose()?
                            .is_some_and(|row| Tid::parse(&row.rev).is_ok_and(|rev| rev > *since));
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
                Ok((page, next))
            })
            .await
    }

    /// `getBlob`: a blob file of an account (never an upload no record uses yet).
    pub async fn blob_file(
        &self,
        did: &str,
        cid: &Cid,
        reader: Reader<'_>,
    ) -> Result<BlobFile, PdsError> {
        let account = self.sync_account(did, reader).await?;
        let id = account.id;
        let key = cid.to_bytes();
        let row: Option<BlobRow> = self
            .store()
            .read(move |txn| {
                let Some(blobs) = open_read_table(txn, BLOBS)? else {
                    return Ok::<_, PdsError>(None);
                };
                Ok(blobs
                    .get((id, key.as_slice()))?
                    .map(|v| rows::decode(v.value()))
                    .transpose()?)
            })
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
