//! Indexing a whole repo: after `#sync` (the relay replaced its copy) and on a first start over a
//! log that no longer holds every event. The export comes from the event source (already verified
//! by the relay, or the local PDS's own); its records are compared with what is indexed for the
//! account, so records that are gone are removed, changed ones reindexed and unchanged ones left.
//!
//! A backfill that fails (the source is busy replacing its copy, a host is unreachable) is tried
//! again a few times at once, then remembered in `appview.pending_backfills` and retried every
//! [`RETRY_INTERVAL`] until it succeeds, so a failed fetch never loses records.
//!
//! Spec: <https://atproto.com/specs/sync#reliable-repository-synchronization>.

use std::collections::HashSet;
use std::sync::atomic::Ordering;
use std::time::Duration;

use redb::ReadableTable;

use super::consumer::PreparedOp;
use super::index::{Action, Index, RecordOp};
use super::{Appview, AppviewError, EventSource, records};
use crate::core::mst::{ExportItem, Mst};
use crate::core::repo::load_car;

/// The indexed records of a repo export: (collection, rkey, cid, bytes).
/// The DID, rev and indexed records of a repo export.
pub fn repo_records(car: &[u8]) -> Result<(String, String, Vec<PreparedOp>), String> {
    let repo = load_car(car).map_err(|e| format!("export: {e}"))?;
    let mut tree = Mst::load(&repo.blocks, repo.commit.data).map_err(|e| e.to_string())?;
    let mut out = Vec::new();
    tree.walk_export(&repo.blocks, &mut |item| {
        if let ExportItem::Record(key, cid) = item {
            let key = String::from_utf8_lossy(key);
            if let Some((collection, rkey)) = key.split_once('/')
                && records::INDEXED.contains(&collection)
            {
                out.push(PreparedOp {
                    collection: collection.to_owned(),
                    rkey: rkey.to_owned(),
                    action: Action::Update,
                    cid: Some(*cid),
                    record: repo.blocks.get(cid).map(<[u8]>::to_vec),
                });
            }
        }
        Ok(())
    })
    .map_err(|e| e.to_string())?;
    Ok((repo.commit.did.clone(), repo.commit.rev().to_owned(), out))
}

/// Makes the index of `did` match `records` (the repo at `rev`); returns how many records were
/// (re)indexed. A snapshot older than what is already indexed is ignored: a copy that lags behind
/// the stream must not undo newer commits.
pub fn apply_repo(
    ix: &mut Index<'_>,
    did: &str,
    rev: &str,
    records: &[PreparedOp],
) -> Result<usize, crate::store::StoreError> {
    let (actor, _) = ix.ensure_actor(did)?;
    // The account is carried again: whatever forgetting it had left to do is over.
    ix.t.forgetting.table_mut()?.remove(did)?;
    // A snapshot at the indexed rev is still applied: live commits after a `#sync` may be indexed
    // before the repo's backfill runs, and the snapshot is then at their rev.
    if !rev.is_empty() && !ix.advance_rev_to(actor, rev)? {
        return Ok(0);
    }
    let present: HashSet<(&str, &str)> = records
        .iter()
        .map(|r| (r.collection.as_str(), r.rkey.as_str()))
        .collect();
    for (collection, rkey) in ix.indexed_records(actor)? {
        if !present.contains(&(collection, rkey.as_str())) {
            ix.remove(actor, collection, &rkey, true)?;
        }
    }
    // Graph records first, so gates and list rules see them when posts are indexed.
    let order = |c: &str| match c {
        records::POST => 2,
        records::THREADGATE | records::POSTGATE => 1,
        _ => 0,
    };
    let mut sorted: Vec<&PreparedOp> = records.iter().collect();
    sorted.sort_by_key(|r| order(&r.collection));
    let mut indexed = 0;
    for op in sorted {
        if op.cid.is_some() && ix.indexed_cid(actor, &op.collection, &op.rkey)? == op.cid {
            continue;
        }
        ix.apply(&RecordOp {
            did,
            collection: &op.collection,
            rkey: &op.rkey,
            action: Action::Update,
            cid: op.cid,
            record: op.record.as_deref(),
        })?;
        indexed += 1;
    }
    Ok(indexed)
}

/// How often failed backfills are retried, at the longest.
const RETRY_INTERVAL: Duration = Duration::from_secs(5);
/// The first wait after a failed backfill (doubling up to [`RETRY_INTERVAL`]).
const FIRST_RETRY: Duration = Duration::from_millis(250);
/// Pending backfills read per round.
const ROUND: usize = 100;

impl Appview {
    /// Queues `dids` for a whole backfill (durably: a restart finds them).
    pub(super) async fn queue_backfills(&self, dids: Vec<String>) -> Result<(), AppviewError> {
        if dids.is_empty() {
            return Ok(());
        }
        let now = u64::try_from(crate::clock::now_micros()).unwrap_or(0);
        self.store()
            .write(move |txn| {
                let mut table = txn.open_table(super::tables::PENDING_BACKFILLS)?;
                for did in &dids {
                    table.insert(did.as_str(), now)?;
                }
                Ok(Ok::<_, AppviewError>(()))
            })
            .await?;
        self.inner.backfills_wanted.notify_one();
        Ok(())
    }

    /// Runs the pending backfills for as long as the process runs: at once when one is queued,
    /// again after a failure (a host that is unreachable, a copy being replaced), so a failed
    /// fetch never loses records. Rounds go through the pending repos in DID order from where the
    /// last one stopped, so repos that keep failing do not starve the others.
    pub(super) async fn run_backfills(&self, source: EventSource) {
        let mut after = String::new();
        let mut wait = FIRST_RETRY;
        loop {
            let from = after.clone();
            let pending = self
                .read_view(move |t| {
                    let mut out = Vec::new();
                    let start = (
                        std::ops::Bound::Excluded(from.as_str()),
                        std::ops::Bound::Unbounded,
                    );
                    for row in t
                        .pending_backfills
                        .table()?
                        .range::<&str>(start)?
                        .take(ROUND)
                    {
                        let (did, at) = row?;
                        out.push((did.value().to_owned(), at.value()));
                    }
                    Ok(out)
                })
                .await;
            let pending = match pending {
                Ok(pending) => pending,
                Err(_) if self.store().is_closed() => return,
                Err(_) => Vec::new(),
            };
            let full = pending.len() == ROUND;
            let mut failed = false;
            for (did, at) in pending {
                match self.backfill_repo(&source, &did).await {
                    Ok(_) => self.clear_backfill(&did, at).await,
                    Err(e) => {
                        tracing::debug!(%did, error = %e, "backfill failed; it will be retried");
                        failed = true;
                    }
                }
                after = did;
            }
            if full {
                continue;
            }
            after.clear();
            let idle = if failed {
                let now = wait;
                wait = (wait * 2).min(RETRY_INTERVAL);
                now
            } else {
                wait = FIRST_RETRY;
                RETRY_INTERVAL
            };
            let _ = tokio::time::timeout(idle, self.inner.backfills_wanted.notified()).await;
            if self.store().is_closed() {
                return;
            }
        }
    }

    /// Forgets a pending backfill that is done, unless it was queued again meanwhile (a newer
    /// `#sync`): that one still has to run.
    async fn clear_backfill(&self, did: &str, at: u64) {
        let did = did.to_owned();
        let cleared = self
            .store()
            .write(move |txn| {
                let mut table = txn.open_table(super::tables::PENDING_BACKFILLS)?;
                let current = table.get(did.as_str())?.map(|v| v.value());
                if current == Some(at) {
                    table.remove(did.as_str())?;
                }
                Ok(Ok::<_, AppviewError>(()))
            })
            .await;
        if let Err(e) = cleared {
            tracing::warn!(error = %e, "clearing a done backfill failed");
        }
    }

    /// Fetches `did`'s repo from `source` and indexes it whole.
    pub(super) async fn backfill_repo(
        &self,
        source: &EventSource,
        did: &str,
    ) -> Result<usize, AppviewError> {
        let car = source.repos.export_repo(did).await?;
        let (repo_did, rev, records) = tokio::task::spawn_blocking(move || repo_records(&car))
            .await
            .map_err(|e| AppviewError::Internal(e.to_string()))?
            .map_err(AppviewError::Upstream)?;
        if repo_did != did {
            return Err(AppviewError::Upstream(format!(
                "export of {did} is for {repo_did}"
            )));
        }
        let did_owned = did.to_owned();
        let now = u64::try_from(crate::clock::now_micros()).unwrap_or(0);
        let indexed = self
            .store()
            .write(move |txn| {
                let mut ix = Index::open(txn, now)?;
                let indexed = apply_repo(&mut ix, &did_owned, &rev, &records)?;
                Ok(Ok::<_, AppviewError>(indexed))
            })
            .await?;
        self.inner
            .counters
            .backfills
            .fetch_add(1, Ordering::Relaxed);
        self.inner
            .counters
            .records
            .fetch_add(indexed as u64, Ordering::Relaxed);
        // The repo may hold follows (a member's, after a restore or a first start).
        self.graph_changed();
        self.queue_identity(did.to_owned()).await;
        tracing::debug!(%did, indexed, "repo backfilled");
        Ok(indexed)
    }
}
