//! Resync and backfill: fetching a whole repo with `getRepo`, verifying it, and replacing the relay's
//! copy and state with it, then announcing the new state with a `#sync` event.
//!
//! Spec: <https://atproto.com/specs/sync#reliable-repository-synchronization>. Used for a repo the
//! relay has not seen, a broken commit chain, a failed verification, and a `#sync` that moves the
//! repo somewhere its copy does not know. Local repos are read from the PDS in-process.

use std::collections::BTreeMap;

use futures_util::StreamExt;
use redb::ReadableTable;

use super::ingest::count_collection;
use super::rows::{self, RepoRow};
use super::tables::{BLOCKS, RECORDS, REPO_COLLECTIONS, REPOS};
use super::{Relay, RelayError};
use crate::core::car::write_car;
use crate::core::firehose::Message;
use crate::core::mst::{ExportItem, Mst};
use crate::core::repo::{LoadedRepo, load_car, verify_repo};

/// Largest repo export the relay fetches.
const MAX_REPO_BYTES: usize = 256 * 1024 * 1024;

impl Relay {
    /// Starts a resync of `did` in the background unless one is running.
    pub(super) fn schedule_resync(&self, did: &str, host_hint: Option<&str>) {
        {
            let mut running = self
                .inner
                .resyncing
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            if !running.insert(did.to_owned()) {
                return;
            }
        }
        let relay = self.clone();
        let did = did.to_owned();
        let hint = host_hint.map(str::to_owned);
        tokio::spawn(async move {
            match relay.resync(&did, hint.as_deref()).await {
                Ok(records) => tracing::info!(%did, records, "repo resynced"),
                Err(e) => tracing::warn!(%did, error = %e, "repo resync failed"),
            }
            relay
                .inner
                .resyncing
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .remove(&did);
        });
    }

    /// Fetches `did`'s repo, verifies it, replaces the relay's state and copy, emits `#sync`.
    /// Returns the number of records.
    pub async fn resync(&self, did: &str, host_hint: Option<&str>) -> Result<usize, RelayError> {
        let identity = self
            .inner
            .identities
            .get(did, true)
            .await
            .ok_or_else(|| RelayError::Upstream(format!("cannot resolve {did}")))?;
        let key = identity
            .key
            .clone()
            .ok_or_else(|| RelayError::Upstream(format!("{did} has no signing key")))?;
        let host = identity
            .pds_host
            .clone()
            .or_else(|| host_hint.map(str::to_owned))
            .ok_or_else(|| RelayError::Upstream(format!("{did} names no PDS")))?;
        let local = self.local_hostname().is_some_and(|h| h == host);
        let car = if local {
            self.local_car(did).await?
        } else {
            self.fetch_car(&host, did).await?
        };
        let repo = tokio::task::spawn_blocking(move || -> Result<LoadedRepo, RelayError> {
            let repo = load_car(car.as_slice())
                .map_err(|e| RelayError::Upstream(format!("export: {e}")))?;
            verify_repo(&repo, Some(&key))
                .map_err(|e| RelayError::Upstream(format!("export does not verify: {e}")))?;
            Ok(repo)
        })
        .await
        .map_err(|e| RelayError::Internal(e.to_string()))??;
        if repo.commit.did != did {
            return Err(RelayError::Upstream(format!(
                "export is for {}",
                repo.commit.did
            )));
        }
        let records = self.replace_repo(did, &host, repo, !local).await?;
        self.inner
            .counters
            .resyncs
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        self.inner
            .counters
            .backfilled_records
            .fetch_add(records as u64, std::sync::atomic::Ordering::Relaxed);
        Ok(records)
    }

    fn local_hostname(&self) -> Option<String> {
        self.inner.local.as_ref().map(|l| l.hostname())
    }

    async fn local_car(&self, did: &str) -> Result<Vec<u8>, RelayError> {
        let local = self
            .inner
            .local
            .as_ref()
            .ok_or_else(|| RelayError::Internal("no local PDS".into()))?;
        let mut stream = local.export_repo(did).await.map_err(RelayError::Upstream)?;
        let mut car = Vec::new();
        while let Some(chunk) = stream.recv().await {
            let chunk = chunk.map_err(|e| RelayError::Upstream(e.to_string()))?;
            car.extend_from_slice(&chunk);
        }
        Ok(car)
    }

    /// The URL scheme for a host: plain http only for loopback hosts in local mode.
    pub(super) fn scheme(&self, host: &str) -> &'static str {
        let loopback = host.starts_with("localhost")
            || host.starts_with("127.0.0.1")
            || host.starts_with("[::1]");
        if self.inner.config.local_mode && loopback {
            "http"
        } else {
            "https"
        }
    }

    async fn fetch_car(&self, host: &str, did: &str) -> Result<Vec<u8>, RelayError> {
        let url = format!(
            "{}://{host}/xrpc/com.atproto.sync.getRepo?did={did}",
            self.scheme(host)
        );
        let response = self
            .inner
            .http
            .get(&url)
            .timeout(std::time::Duration::from_secs(300))
            .send()
            .await
            .map_err(|e| RelayError::Upstream(format!("getRepo from {host}: {e}")))?;
        if !response.status().is_success() {
            return Err(RelayError::Upstream(format!(
                "getRepo from {host}: HTTP {}",
                response.status()
            )));
        }
        let mut body = response.bytes_stream();
        let mut car = Vec::new();
        while let Some(chunk) = body.next().await {
            let chunk =
                chunk.map_err(|e| RelayError::Upstream(format!("getRepo from {host}: {e}")))?;
            if car.len() + chunk.len() > MAX_REPO_BYTES {
                return Err(RelayError::Upstream(format!(
                    "repo of {did} exceeds {MAX_REPO_BYTES} bytes"
                )));
            }
            car.extend_from_slice(&chunk);
        }
        Ok(car)
    }

    /// Replaces the state (and, for remote repos, the copy) of `did` with a verified export.
    async fn replace_repo(
        &self,
        did: &str,
        host: &str,
        repo: LoadedRepo,
        mirrored: bool,
    ) -> Result<usize, RelayError> {
        // Walk the tree once: node blocks and (path, cid) of every record.
        let (nodes, records) = tokio::task::spawn_blocking(move || -> Result<_, RelayError> {
            let mut tree = Mst::load(&repo.blocks, repo.commit.data)
                .map_err(|e| RelayError::Upstream(e.to_string()))?;
            let mut nodes = Vec::new();
            let mut records = Vec::new();
            tree.walk_export(&repo.blocks, &mut |item| {
                match item {
                    ExportItem::Node(cid, bytes) => nodes.push((*cid, bytes.to_vec())),
                    ExportItem::Record(key, cid) => {
                        let bytes = repo.blocks.get(cid).map(<[u8]>::to_vec).unwrap_or_default();
                        records.push((String::from_utf8_lossy(key).into_owned(), *cid, bytes));
                    }
                }
                Ok(())
            })
            .map_err(|e| RelayError::Upstream(e.to_string()))?;
            let commit_block = repo
                .blocks
                .get(&repo.commit_cid)
                .map(<[u8]>::to_vec)
                .unwrap_or_default();
            Ok(((repo.commit_cid, commit_block, repo.commit, nodes), records))
        })
        .await
        .map_err(|e| RelayError::Internal(e.to_string()))??;
        let (commit_cid, commit_block, commit, nodes) = nodes;
        let count = records.len();
        let sync_car = write_car(&[commit_cid], [(&commit_cid, commit_block.as_slice())])
            .map_err(|e| RelayError::Internal(e.to_string()))?;
        let did = did.to_owned();
        let host = host.to_owned();
        self.store()
            .write(move |txn| {
                // Forget the old copy and counts.
                let old_blocks: Vec<Vec<u8>> = txn
                    .open_table(BLOCKS)?
                    .range((did.as_str(), &[][..])..)?
                    .map_while(|r| r.ok())
                    .take_while(|(k, _)| k.value().0 == did)
                    .map(|(k, _)| k.value().1.to_vec())
                    .collect();
                {
                    let mut blocks = txn.open_table(BLOCKS)?;
                    for key in &old_blocks {
                        blocks.remove((did.as_str(), key.as_slice()))?;
                    }
                }
                let old_records: Vec<(String, String)> = txn
                    .open_table(RECORDS)?
                    .range((did.as_str(), "", "")..)?
                    .map_while(|r| r.ok())
                    .take_while(|(k, _)| k.value().0 == did)
                    .map(|(k, _)| (k.value().1.to_owned(), k.value().2.to_owned()))
                    .collect();
                {
                    let mut table = txn.open_table(RECORDS)?;
                    for (c, r) in &old_records {
                        table.remove((did.as_str(), c.as_str(), r.as_str()))?;
                    }
                }
                let old_counts: Vec<(String, u64)> = txn
                    .open_table(REPO_COLLECTIONS)?
                    .range((did.as_str(), "")..)?
                    .map_while(|r| r.ok())
                    .take_while(|(k, _)| k.value().0 == did)
                    .map(|(k, v)| (k.value().1.to_owned(), v.value()))
                    .collect();
                for (collection, n) in old_counts {
                    count_collection(
                        txn,
                        &did,
                        &collection,
                        -i64::try_from(n).unwrap_or(i64::MAX),
                    )?;
                }
                // The new copy and counts.
                let mut per_collection: BTreeMap<String, i64> = BTreeMap::new();
                {
                    let mut blocks = txn.open_table(BLOCKS)?;
                    let mut table = txn.open_table(RECORDS)?;
                    if mirrored {
                        for (cid, bytes) in &nodes {
                            let key = cid.to_bytes();
                            blocks.insert((did.as_str(), key.as_slice()), bytes.as_slice())?;
                        }
                        let key = commit_cid.to_bytes();
                        blocks.insert((did.as_str(), key.as_slice()), commit_block.as_slice())?;
                    }
                    for (path, cid, bytes) in &records {
                        let (collection, rkey) =
                            path.split_once('/').unwrap_or((path.as_str(), ""));
                        *per_collection.entry(collection.to_owned()).or_default() += 1;
                        if mirrored {
                            let mut value = cid.to_bytes();
                            value.extend_from_slice(bytes);
                            table.insert((did.as_str(), collection, rkey), value.as_slice())?;
                        }
                    }
                }
                for (collection, n) in per_collection {
                    count_collection(txn, &did, &collection, n)?;
                }
                let mut repos = txn.open_table(REPOS)?;
                let status = repos
                    .get(did.as_str())?
                    .map(|v| rows::decode::<RepoRow>(v.value()))
                    .transpose()?
                    .map_or_else(|| "active".to_owned(), |r| r.status);
                let row = RepoRow {
                    host,
                    rev: commit.rev().to_owned(),
                    commit: Some(commit_cid),
                    data: Some(commit.data),
                    status: if status == "desynchronized" {
                        "active".into()
                    } else {
                        status
                    },
                    mirrored,
                };
                repos.insert(did.as_str(), rows::encode(&row)?.as_slice())?;
                drop(repos);
                let sync = Message::Sync(crate::core::firehose::SyncMessage {
                    seq: 0,
                    did: did.clone(),
                    blocks: sync_car,
                    rev: commit.rev().to_owned(),
                    time: crate::clock::now_datetime(),
                });
                super::ingest::append_event(txn, sync)?;
                Ok(Ok::<_, RelayError>(()))
            })
            .await?;
        Ok(count)
    }
}
