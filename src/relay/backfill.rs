//! Resync and backfill: fetching a whole repo with `getRepo`, verifying it, and filling the relay's
//! copy with it; when the repo had fallen out of sync, also moving the relay's state to it and
//! announcing that with a `#sync` event.
//!
//! Spec: <https://atproto.com/specs/sync#reliable-repository-synchronization>. Used for a repo the
//! relay has not copied yet, a broken commit chain, a failed verification, and a `#sync` that moves
//! the repo somewhere its copy does not know. Local repos are read from the PDS in-process.
//!
//! Bounded: at most [`super::RelayConfig::resync_concurrency`] exports are fetched at once, every export
//! being fetched shares one memory budget ([`super::RelayConfig::resync_memory`], also the largest export
//! taken), and at most [`MAX_PENDING_RESYNCS`] repos wait; a hostile host with many DIDs therefore
//! costs a bounded amount of memory, and resyncs beyond the queue are counted and dropped (the
//! next event that needs one schedules it again).
//!
//! An export is taken at whatever rev the host has reached, which may be ahead of (or, by the time
//! it is applied, behind) the relay's position in the host's stream. [`plan`] decides what it may
//! change, so that a backfill never skips or rewinds the stream: see docs/BEHAVIORS.md.

use std::collections::BTreeMap;
use std::time::Duration;

use cid::Cid;
use redb::ReadableTable;

use super::ingest::count_collection;
use super::rows::{self, RepoRow};
use super::status::{DropReason, RepoStatus};
use super::tables::{BLOCKS, RECORDS, REPO_COLLECTIONS, REPOS};
use super::{Relay, RelayError};
use crate::core::car::write_car;
use crate::core::firehose::Message;
use crate::core::mst::{ExportItem, Mst};
use crate::core::repo::{LoadedRepo, load_car, verify_repo};
use crate::store::{StoreError, WriteTransaction};

/// Repos waiting for a resync at most; beyond it a resync is dropped (and counted).
const MAX_PENDING_RESYNCS: usize = 10_000;
/// Exports fetched for one backfill before giving up when each turns out older than the stream.
const MAX_STALE_ATTEMPTS: u32 = 5;
/// Pause before fetching a newer export, so the host is not asked in a tight loop.
const STALE_RETRY: Duration = Duration::from_millis(500);

/// What a verified export may change, given the relay's state of the repo.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Plan {
    /// The export becomes the repo's state and copy, announced with a `#sync`: the repo was out of
    /// sync (or unknown), so the commits between the two are not re-served.
    Replace,
    /// The export fills the copy only. The state stays where the stream left it, and the commits
    /// between it and the export still arrive, are verified against that state, and are re-served.
    FillCopy,
    /// The stream has already passed the export: applying it would rewind the repo. Fetch again.
    Stale,
}

/// Decides what an export at (`rev`, `commit`) does to a repo in state `current`.
pub(super) fn plan(current: Option<&RepoRow>, rev: &str, commit: Cid) -> Plan {
    let Some(row) = current else {
        return Plan::Replace;
    };
    if row.data.is_none() || row.rev.is_empty() {
        return Plan::Replace;
    }
    let behind = rev < row.rev.as_str();
    if row.status == RepoStatus::Desynchronized {
        return if behind { Plan::Stale } else { Plan::Replace };
    }
    if behind {
        Plan::Stale
    } else if rev == row.rev && row.commit != Some(commit) {
        // The same rev with another commit: the host rewrote its history.
        Plan::Replace
    } else {
        Plan::FillCopy
    }
}

/// What one backfill did.
#[derive(Debug)]
pub(super) struct Backfilled {
    pub plan: Plan,
    pub records: usize,
}

/// A verified export, walked once: the commit block, the tree nodes, and every record.
struct Walked {
    commit_cid: Cid,
    commit_block: Vec<u8>,
    rev: String,
    data: Cid,
    nodes: Vec<(Cid, Vec<u8>)>,
    /// (path, cid, bytes).
    records: Vec<(String, Cid, Vec<u8>)>,
}

/// Removes every block, record and count the relay holds for `did`.
fn clear_copy(txn: &WriteTransaction, did: &str) -> Result<(), StoreError> {
    let old_blocks: Vec<Vec<u8>> = txn
        .open_table(BLOCKS)?
        .range((did, &[][..])..)?
        .map_while(|r| r.ok())
        .take_while(|(k, _)| k.value().0 == did)
        .map(|(k, _)| k.value().1.to_vec())
        .collect();
    {
        let mut blocks = txn.open_table(BLOCKS)?;
        for key in &old_blocks {
            blocks.remove((did, key.as_slice()))?;
        }
    }
    let old_records: Vec<(String, String)> = txn
        .open_table(RECORDS)?
        .range((did, "", "")..)?
        .map_while(|r| r.ok())
        .take_while(|(k, _)| k.value().0 == did)
        .map(|(k, _)| (k.value().1.to_owned(), k.value().2.to_owned()))
        .collect();
    {
        let mut table = txn.open_table(RECORDS)?;
        for (c, r) in &old_records {
            table.remove((did, c.as_str(), r.as_str()))?;
        }
    }
    let old_counts: Vec<(String, u64)> = txn
        .open_table(REPO_COLLECTIONS)?
        .range((did, "")..)?
        .map_while(|r| r.ok())
        .take_while(|(k, _)| k.value().0 == did)
        .map(|(k, v)| (k.value().1.to_owned(), v.value()))
        .collect();
    for (collection, n) in old_counts {
        count_collection(txn, did, &collection, -i64::try_from(n).unwrap_or(i64::MAX))?;
    }
    Ok(())
}

/// Writes the export as the copy of `did` (blocks and records only when `mirrored`) and its counts.
fn write_copy(
    txn: &WriteTransaction,
    did: &str,
    walked: &Walked,
    mirrored: bool,
) -> Result<(), StoreError> {
    let mut per_collection: BTreeMap<&str, i64> = BTreeMap::new();
    {
        let mut blocks = txn.open_table(BLOCKS)?;
        let mut table = txn.open_table(RECORDS)?;
        if mirrored {
            for (cid, bytes) in &walked.nodes {
                let key = cid.to_bytes();
                blocks.insert((did, key.as_slice()), bytes.as_slice())?;
            }
            let key = walked.commit_cid.to_bytes();
            blocks.insert((did, key.as_slice()), walked.commit_block.as_slice())?;
        }
        for (path, cid, bytes) in &walked.records {
            let (collection, rkey) = path.split_once('/').unwrap_or((path.as_str(), ""));
            *per_collection.entry(collection).or_default() += 1;
            if mirrored {
                let mut value = cid.to_bytes();
                value.extend_from_slice(bytes);
                table.insert((did, collection, rkey), value.as_slice())?;
            }
        }
    }
    for (collection, n) in per_collection {
        count_collection(txn, did, collection, n)?;
    }
    Ok(())
}

impl Relay {
    /// Starts a resync of `did` in the background unless one is running.
    pub(super) fn schedule_resync(&self, did: &str, host_hint: Option<&str>) {
        {
            let mut running = self
                .inner
                .resyncing
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            if running.len() >= MAX_PENDING_RESYNCS {
                drop(running);
                self.inner.counters.drop_event(DropReason::ResyncQueueFull);
                return;
            }
            if !running.insert(did.to_owned()) {
                return;
            }
        }
        let relay = self.clone();
        let did = did.to_owned();
        let hint = host_hint.map(str::to_owned);
        tokio::spawn(async move {
            // The semaphore is never closed, so acquiring only fails if it were.
            let slot = relay.inner.resync_slots.clone().acquire_owned().await;
            for attempt in 1..=MAX_STALE_ATTEMPTS {
                match relay.resync(&did, hint.as_deref()).await {
                    Ok(Backfilled {
                        plan: Plan::Stale, ..
                    }) if attempt < MAX_STALE_ATTEMPTS => {
                        tokio::time::sleep(STALE_RETRY).await;
                    }
                    Ok(done) => {
                        tracing::info!(%did, plan = ?done.plan, records = done.records, "repo backfilled");
                        break;
                    }
                    Err(e) => {
                        tracing::warn!(%did, error = %e, "repo resync failed");
                        break;
                    }
                }
            }
            drop(slot);
            relay
                .inner
                .resyncing
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .remove(&did);
        });
    }

    /// Fetches `did`'s repo, verifies it, and applies it as [`plan`] allows: fills the copy, or
    /// replaces the relay's state and copy and emits `#sync`.
    pub(super) async fn resync(
        &self,
        did: &str,
        host_hint: Option<&str>,
    ) -> Result<Backfilled, RelayError> {
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
        let (car, reservation) = if local {
            (self.local_car(did).await?, None)
        } else {
            let (car, reservation) = self.fetch_car(&host, did).await?;
            (car, Some(reservation))
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
        let done = self.apply_export(did, &host, repo, !local).await?;
        drop(reservation);
        if done.plan != Plan::Stale {
            self.inner
                .counters
                .resyncs
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            self.inner
                .counters
                .backfilled_records
                .fetch_add(done.records as u64, std::sync::atomic::Ordering::Relaxed);
        }
        Ok(done)
    }

    fn local_hostname(&self) -> Option<String> {
        self.inner.local.as_ref().map(|l| l.hostname.clone())
    }

    async fn local_car(&self, did: &str) -> Result<Vec<u8>, RelayError> {
        let local = self
            .inner
            .local
            .as_ref()
            .ok_or_else(|| RelayError::Internal("no local PDS".into()))?;
        let mut stream = local.repos.export_repo(did).await?;
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

    /// Fetches `did`'s export from `host`, holding its bytes against the shared memory budget
    /// (returned when the export is dropped).
    async fn fetch_car(
        &self,
        host: &str,
        did: &str,
    ) -> Result<(Vec<u8>, super::budget::Reservation), RelayError> {
        let url = format!(
            "{}://{host}/xrpc/com.atproto.sync.getRepo?did={did}",
            self.scheme(host)
        );
        let fail = |e: crate::net::OutboundError| {
            RelayError::Upstream(format!("getRepo from {host}: {e}"))
        };
        let limit = self.inner.config.resync_memory;
        let mut response = self
            .inner
            .http
            .get(&url, self.trust_for(host))
            .map_err(fail)?
            .limit(limit)
            .timeout(std::time::Duration::from_secs(300))
            .send()
            .await
            .map_err(fail)?;
        if !response.status().is_success() {
            return Err(RelayError::Upstream(format!(
                "getRepo from {host}: HTTP {}",
                response.status()
            )));
        }
        let mut reservation = self.inner.resync_memory.reserve();
        let mut car = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(fail)? {
            if !reservation.grow(chunk.len()) {
                self.inner
                    .counters
                    .drop_event(DropReason::ResyncMemoryBudget);
                return Err(RelayError::Upstream(format!(
                    "the export of {did} does not fit the resync memory budget now"
                )));
            }
            car.extend_from_slice(&chunk);
        }
        Ok((car, reservation))
    }

    /// Applies a verified export of `did` as [`plan`] decides, in one transaction with the read of
    /// the current state.
    async fn apply_export(
        &self,
        did: &str,
        host: &str,
        repo: LoadedRepo,
        mirrored: bool,
    ) -> Result<Backfilled, RelayError> {
        let walked = tokio::task::spawn_blocking(move || walk(repo))
            .await
            .map_err(|e| RelayError::Internal(e.to_string()))??;
        let records = walked.records.len();
        let sync_car = write_car(
            &[walked.commit_cid],
            [(&walked.commit_cid, walked.commit_block.as_slice())],
        )
        .map_err(|e| RelayError::Internal(e.to_string()))?;
        let did = did.to_owned();
        let host = host.to_owned();
        let log = self.inner.log.clone();
        let plan = self
            .store()
            .write(move |txn| {
                let current: Option<RepoRow> = rows::get(&txn.open_table(REPOS)?, did.as_str())?;
                let plan = plan(current.as_ref(), &walked.rev, walked.commit_cid);
                match (plan, current) {
                    (Plan::Stale, _) => {}
                    (Plan::FillCopy, Some(mut row)) => {
                        // A local repo has no copy, and its counts follow its stream.
                        if mirrored {
                            clear_copy(txn, &did)?;
                            write_copy(txn, &did, &walked, mirrored)?;
                            row.copy_rev = Some(walked.rev.clone());
                            txn.open_table(REPOS)?
                                .insert(did.as_str(), rows::encode(&row)?.as_slice())?;
                        }
                    }
                    (_, current) => {
                        clear_copy(txn, &did)?;
                        write_copy(txn, &did, &walked, mirrored)?;
                        let status = current.map_or(RepoStatus::Active, |r| r.status);
                        let row = RepoRow {
                            host,
                            rev: walked.rev.clone(),
                            commit: Some(walked.commit_cid),
                            data: Some(walked.data),
                            status: if status == RepoStatus::Desynchronized {
                                RepoStatus::Active
                            } else {
                                status
                            },
                            mirrored,
                            copy_rev: Some(walked.rev.clone()),
                        };
                        txn.open_table(REPOS)?
                            .insert(did.as_str(), rows::encode(&row)?.as_slice())?;
                        let sync = Message::Sync(crate::core::firehose::SyncMessage {
                            seq: 0,
                            did: did.clone(),
                            blocks: sync_car,
                            rev: walked.rev.clone(),
                            time: crate::clock::now_datetime(),
                        });
                        log.append(txn, sync)?;
                    }
                }
                Ok(Ok::<_, RelayError>(plan))
            })
            .await?;
        Ok(Backfilled { plan, records })
    }
}

/// Walks a verified export once: node blocks and (path, cid, bytes) of every record.
fn walk(repo: LoadedRepo) -> Result<Walked, RelayError> {
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
    Ok(Walked {
        commit_cid: repo.commit_cid,
        commit_block,
        rev: repo.commit.rev().to_owned(),
        data: repo.commit.data,
        nodes,
        records,
    })
}

#[cfg(test)]
mod tests {
    use super::{Plan, plan};
    use crate::core::data::cid_for_cbor;
    use crate::relay::rows::RepoRow;
    use crate::relay::status::RepoStatus;

    /// The relay's state at `rev` (commit `c-<rev>`), in `status`.
    fn row(rev: &str, status: &str) -> RepoRow {
        RepoRow {
            host: "pds.example.com".into(),
            rev: rev.into(),
            commit: Some(cid_for_cbor(format!("c-{rev}").as_bytes())),
            data: Some(cid_for_cbor(format!("d-{rev}").as_bytes())),
            status: RepoStatus::from(status.to_owned()),
            mirrored: true,
            copy_rev: None,
        }
    }

    #[track_caller]
    fn check(current: Option<RepoRow>, export_rev: &str, expected: Plan) {
        let commit = cid_for_cbor(format!("c-{export_rev}").as_bytes());
        assert_eq!(plan(current.as_ref(), export_rev, commit), expected);
    }

    #[test]
    fn an_export_never_rewinds_or_skips_the_stream() {
        let (r1, r2, r3) = ("3kaaaaaaaaaa2", "3kaaaaaaaaab2", "3kaaaaaaaaac2");
        // Unknown repo, or one with no commit yet: the export is its state.
        check(None, r2, Plan::Replace);
        check(
            Some(RepoRow {
                rev: String::new(),
                data: None,
                ..row(r1, "active")
            }),
            r2,
            Plan::Replace,
        );
        // In sync: the copy is filled and the stream goes on from where it is, also when the host
        // has moved ahead of the relay's position in its stream.
        check(Some(row(r2, "active")), r2, Plan::FillCopy);
        check(Some(row(r1, "active")), r3, Plan::FillCopy);
        check(Some(row(r1, "deactivated")), r3, Plan::FillCopy);
        // The stream passed the export while it was fetched: fetch again.
        check(Some(row(r3, "active")), r1, Plan::Stale);
        check(Some(row(r3, "desynchronized")), r1, Plan::Stale);
        // Out of sync: the export wins, announced with a #sync.
        check(Some(row(r1, "desynchronized")), r3, Plan::Replace);
        check(Some(row(r2, "desynchronized")), r2, Plan::Replace);
        // The same rev under another commit: the host rewrote history.
        let mut rewritten = row(r2, "active");
        rewritten.commit = Some(cid_for_cbor(b"another commit"));
        check(Some(rewritten), r2, Plan::Replace);
    }

    #[test]
    fn the_copy_is_whole_once_the_stream_reaches_the_export() {
        let (r1, r2) = ("3kaaaaaaaaaa2", "3kaaaaaaaaab2");
        let at = |rev: &str, copy: Option<&str>, mirrored: bool| RepoRow {
            copy_rev: copy.map(str::to_owned),
            mirrored,
            ..row(rev, "active")
        };
        assert!(!at(r1, None, true).copy_is_whole(), "never backfilled");
        assert!(
            !at(r1, Some(r2), true).copy_is_whole(),
            "the export is ahead"
        );
        assert!(at(r2, Some(r2), true).copy_is_whole());
        assert!(at(r2, Some(r1), true).copy_is_whole());
        assert!(
            !at(r2, Some(r1), false).copy_is_whole(),
            "local repos have no copy"
        );
    }
}
