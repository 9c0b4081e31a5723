//! Indexing in the source log's own transaction: once caught up (`consumer`), the App View is its
//! source log's [`LogFollower`], so each event is indexed in the write transaction that appends it
//! to the relay's merged log (or the local PDS's, without a relay). A local write then costs one
//! durable commit for the PDS, the relay and the App View together, and the index never lags
//! behind the log or runs ahead of it.
//!
//! What cannot happen inside a transaction waits until it is committed: a whole-repo backfill
//! after `#sync` is recorded in `appview.pending_backfills` (durable with the event; `backfill`
//! runs it), and the identity checks and follow-graph signals are handed to
//! [`Appview::run_after_commit`], which passes them on only once the writer has counted the batch
//! that caused them, so nobody who hears of a change reads the store before the change is there.
//!
//! Spec: <https://atproto.com/specs/sync#firehose>.

use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, PoisonError, Weak};

use redb::ReadableTable;

use super::consumer::{Prepared, apply_prepared, prepare_message};
use super::index::Index;
use super::{Appview, Inner};
use crate::core::firehose::{Frame, Message, decode_frame};
use crate::store::{EventLog, LogFollower, StoreError, WriteTransaction};

/// What indexing a run of events asks for once its transaction is committed.
#[derive(Default)]
pub(super) struct Effects {
    /// DIDs whose handle needs checking.
    pub check: Vec<String>,
    /// A follow or an account's status changed.
    pub graph: bool,
    /// A repo was queued for a whole backfill.
    pub backfill: bool,
}

impl Effects {
    fn is_empty(&self) -> bool {
        self.check.is_empty() && !self.graph && !self.backfill
    }
}

/// The App View's side of its source log.
pub(super) struct IndexFollower {
    /// Weak: the source log holds the follower, and the App View holds the source log.
    pub appview: Weak<Inner>,
    /// The `appview.meta` key of the source's cursor.
    pub key: String,
    pub log: EventLog,
}

impl LogFollower for IndexFollower {
    fn follow(
        &self,
        txn: &WriteTransaction,
        seq: u64,
        message: &Message,
    ) -> Result<(), StoreError> {
        let Some(inner) = self.appview.upgrade() else {
            return Ok(());
        };
        let appview = Appview { inner };
        let cursor = self.cursor(txn)?;
        if seq <= cursor {
            return Ok(());
        }
        let mut effects = Effects::default();
        if seq > cursor + 1 {
            // A catch-up whose commit failed left a gap: take it first.
            self.take_stored(txn, &appview, cursor, seq, &mut effects)?;
        }
        let events: Vec<Prepared> = prepare_message(message).into_iter().collect();
        self.index(txn, &appview, &events, seq, &mut effects)?;
        appview.after_commit(effects);
        Ok(())
    }
}

impl IndexFollower {
    /// The seq of the last event indexed (0 before the first).
    pub fn cursor(&self, txn: &WriteTransaction) -> Result<u64, StoreError> {
        let table = txn.open_table(super::tables::META)?;
        Ok(table.get(self.key.as_str())?.map_or(0, |v| v.value()))
    }

    /// Indexes the stored events after `after` and before `before`, decoding them here.
    pub fn take_stored(
        &self,
        txn: &WriteTransaction,
        appview: &Appview,
        after: u64,
        before: u64,
        effects: &mut Effects,
    ) -> Result<(), StoreError> {
        let mut after = after;
        loop {
            let frames = self.log.after_in(txn, after, super::consumer::BATCH)?;
            let Some(&(last, _)) = frames.last() else {
                return Ok(());
            };
            let mut events = Vec::with_capacity(frames.len());
            let mut upto = after;
            for (seq, frame) in frames {
                if seq >= before {
                    break;
                }
                upto = seq;
                if let Ok(Frame::Message(message)) = decode_frame(&frame) {
                    events.extend(prepare_message(&message));
                }
            }
            if upto > after {
                self.index(txn, appview, &events, upto, effects)?;
            }
            if upto < last || last + 1 >= before {
                return Ok(());
            }
            after = upto;
        }
    }

    /// Indexes `events` and moves the cursor to `seq`, in the caller's transaction.
    pub fn index(
        &self,
        txn: &WriteTransaction,
        appview: &Appview,
        events: &[Prepared],
        seq: u64,
        effects: &mut Effects,
    ) -> Result<(), StoreError> {
        let now = u64::try_from(crate::clock::now_micros()).unwrap_or(0);
        let mut ix = Index::open(txn, now)?;
        effects.check.extend(apply_prepared(&mut ix, events)?);
        for event in events {
            match event {
                Prepared::Sync(did) => {
                    // Again if it was pending: a newer copy replaced the one it was for.
                    ix.t.pending_backfills
                        .table_mut()?
                        .insert(did.as_str(), now)?;
                    effects.backfill = true;
                }
                Prepared::Records { did, ops, .. } => {
                    effects.graph |= ops.iter().any(|op| appview.changes_wanted(did, op));
                }
                Prepared::Account { .. } => effects.graph = true,
                Prepared::Identity(_) => {}
            }
        }
        ix.t.meta.table_mut()?.insert(self.key.as_str(), seq)?;
        let counters = &appview.inner.counters;
        let records: usize = events
            .iter()
            .map(|e| match e {
                Prepared::Records { ops, .. } => ops.len(),
                _ => 0,
            })
            .sum();
        counters
            .events
            .fetch_add(events.len() as u64, Ordering::Relaxed);
        counters
            .records
            .fetch_add(records as u64, Ordering::Relaxed);
        counters.cursor.store(seq, Ordering::Relaxed);
        Ok(())
    }
}

/// Effects waiting for their transaction's commit, and the wake-up of [`run_after_commit`].
#[derive(Default)]
pub(super) struct AfterCommit {
    /// The effects, and the store commit count that ends the last transaction that caused one.
    waiting: Mutex<(Effects, u64)>,
    wake: tokio::sync::Notify,
}

impl Appview {
    /// Hands `effects` to [`run_after_commit`]; called inside the transaction that caused them.
    pub(super) fn after_commit(&self, effects: Effects) {
        if effects.is_empty() {
            return;
        }
        // The writer runs this job's batch now and counts it when it ends: the batch is the one
        // after those counted so far.
        let ends_at = *self.store().commits().borrow() + 1;
        let after = &self.inner.after_commit;
        let mut waiting = after.waiting.lock().unwrap_or_else(PoisonError::into_inner);
        let (pending, at) = &mut *waiting;
        pending.check.extend(effects.check);
        pending.graph |= effects.graph;
        pending.backfill |= effects.backfill;
        *at = (*at).max(ends_at);
        drop(waiting);
        after.wake.notify_one();
    }

    /// Passes effects on once the batches that caused them have ended (committed, or aborted: then
    /// the effects are merely spurious: a check or a recomputation that finds nothing new).
    pub(super) async fn run_after_commit(self) {
        let mut commits = self.store().commits();
        loop {
            self.inner.after_commit.wake.notified().await;
            let (effects, ends_at) = std::mem::take(
                &mut *self
                    .inner
                    .after_commit
                    .waiting
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner),
            );
            while *commits.borrow_and_update() < ends_at {
                if commits.changed().await.is_err() {
                    return;
                }
            }
            if effects.graph {
                self.graph_changed();
            }
            if effects.backfill {
                self.inner.backfills_wanted.notify_one();
            }
            for did in effects.check {
                self.queue_identity(did).await;
            }
        }
    }
}

/// Installs `follower` on its log; false if the log already had one (a retried start).
pub(super) fn install(follower: &Arc<IndexFollower>) -> bool {
    follower.log.set_follower(follower.clone())
}
