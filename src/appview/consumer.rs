//! Following an event log: frames after the stored cursor are decoded off the writer thread, then
//! indexed in one write job per batch together with the new cursor, so a crash never loses or
//! doubles an event (replaying one is idempotent anyway). `#sync` events and a first start on a
//! log that lost its oldest events backfill whole repos. The loop wakes on the store's commit
//! notifications and never buffers events in memory beyond one batch.

use std::sync::atomic::Ordering;
use std::time::Duration;

use super::index::{AccountChange, Action, Index, RecordOp};
use super::{Appview, AppviewError, EventSource, records};
use crate::core::car::CarReader;
use crate::core::firehose::{Frame, Message, decode_frame};
use crate::core::mst::MemoryBlocks;
use crate::store::Frames;

/// Events read (and indexed in one transaction) per batch: bounds the writer-thread time one
/// batch takes, during which PDS writes wait (at most about 0.1 s on 2 cores with a million-like
/// index, from the benchmark in docs/PERFORMANCE.md); live, batches are as small as what arrived.
pub const BATCH: usize = 1000;

/// One decoded event, ready for the writer thread.
pub enum Prepared {
    Records {
        did: String,
        rev: String,
        ops: Vec<PreparedOp>,
    },
    Account {
        did: String,
        change: AccountChange,
    },
    /// `#identity`: the handle must be checked again.
    Identity(String),
    /// `#sync`: the repo must be fetched and indexed whole.
    Sync(String),
}

pub struct PreparedOp {
    pub collection: String,
    pub rkey: String,
    pub action: Action,
    pub cid: Option<cid::Cid>,
    pub record: Option<Vec<u8>>,
}

/// Decodes one frame into what the indexer applies (nothing for frames it ignores).
pub fn prepare(frame: &[u8]) -> Option<Prepared> {
    let Ok(Frame::Message(message)) = decode_frame(frame) else {
        return None;
    };
    match message {
        Message::Commit(commit) => {
            let mut blocks = MemoryBlocks::new();
            if let Ok(reader) = CarReader::new(commit.blocks.as_slice()) {
                for (cid, bytes) in reader.flatten() {
                    blocks.insert(cid, bytes);
                }
            }
            let ops = commit
                .ops
                .iter()
                .filter_map(|op| {
                    let (collection, rkey) = op.path.split_once('/')?;
                    if !records::INDEXED.contains(&collection) {
                        return None;
                    }
                    let action = match op.action.as_str() {
                        "create" => Action::Create,
                        "update" => Action::Update,
                        "delete" => Action::Delete,
                        _ => return None,
                    };
                    let record = op.cid.and_then(|c| blocks.get(&c)).map(<[u8]>::to_vec);
                    Some(PreparedOp {
                        collection: collection.to_owned(),
                        rkey: rkey.to_owned(),
                        action,
                        cid: op.cid,
                        record,
                    })
                })
                .collect();
            Some(Prepared::Records {
                did: commit.repo,
                rev: commit.rev,
                ops,
            })
        }
        Message::Account(account) => Some(Prepared::Account {
            did: account.did,
            change: AccountChange::Status(if account.active {
                None
            } else {
                Some(account.status.unwrap_or_else(|| "deactivated".into()))
            }),
        }),
        Message::Identity(identity) => Some(Prepared::Identity(identity.did)),
        Message::Sync(sync) => Some(Prepared::Sync(sync.did)),
        Message::Info(_) => None,
    }
}

/// Applies prepared events in one index transaction; returns DIDs whose identity needs checking.
pub fn apply_prepared(
    ix: &mut Index<'_>,
    events: &[Prepared],
) -> Result<Vec<String>, crate::store::StoreError> {
    let mut check = Vec::new();
    for event in events {
        match event {
            Prepared::Records { did, rev, ops } => {
                let (actor, new) = ix.ensure_actor(did)?;
                if new {
                    check.push(did.clone());
                }
                // A commit the index already holds (through a newer repo snapshot) is skipped.
                if !ix.advance_rev(actor, rev)? {
                    continue;
                }
                for op in ops {
                    ix.apply(&RecordOp {
                        did,
                        collection: &op.collection,
                        rkey: &op.rkey,
                        action: op.action,
                        cid: op.cid,
                        record: op.record.as_deref(),
                    })?;
                }
            }
            Prepared::Account { did, change } => {
                if ix.apply_account(did, change)? {
                    check.push(did.clone());
                }
            }
            Prepared::Identity(did) => {
                ix.ensure_actor(did)?;
                check.push(did.clone());
            }
            Prepared::Sync(_) => {}
        }
    }
    Ok(check)
}

impl Appview {
    fn cursor_key(source: &EventSource) -> String {
        format!("cursor:{}", source.name)
    }

    /// The stored cursor for `source`, if indexing ever started.
    pub(super) async fn stored_cursor(&self, key: String) -> Result<Option<u64>, AppviewError> {
        self.store()
            .read(move |txn| {
                let table = txn.open_table(super::tables::META)?;
                Ok::<_, AppviewError>(table.get(key.as_str())?.map(|v| v.value()))
            })
            .await
    }

    /// Follows `source` for as long as the process runs, backing off after failures.
    pub(super) async fn follow(&self, source: EventSource) {
        let retry = self.clone();
        let retry_source = source.clone();
        tokio::spawn(async move { retry.retry_backfills(retry_source).await });
        loop {
            match self.follow_once(&source).await {
                Ok(()) => return,
                // The node is stopping.
                Err(_) if self.store().is_closed() => return,
                Err(e) => {
                    tracing::warn!(source = source.name, error = %e, "indexing stopped; retrying");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            }
        }
    }

    async fn follow_once(&self, source: &EventSource) -> Result<(), AppviewError> {
        let key = Self::cursor_key(source);
        let mut cursor = match self.stored_cursor(key.clone()).await? {
            Some(c) => c,
            None => self.first_start(source, &key).await?,
        };
        self.inner.counters.cursor.store(cursor, Ordering::Relaxed);
        let mut notifications = source.log.notifications();
        loop {
            // Mark the current value seen before reading, so a commit during the read wakes us.
            notifications.borrow_and_update();
            let batch = source.log.after(cursor, BATCH).await?;
            let full = batch.len() == BATCH;
            if let Some(last) = self.index_frames(source, &key, batch).await? {
                cursor = last;
                self.inner.counters.cursor.store(cursor, Ordering::Relaxed);
            }
            if !full && notifications.changed().await.is_err() {
                return Ok(());
            }
        }
    }

    /// Where a new App View starts: at the beginning of a complete log, or (when the log lost
    /// its oldest events) after backfilling every repo from the current end.
    async fn first_start(&self, source: &EventSource, key: &str) -> Result<u64, AppviewError> {
        let (oldest, newest) = source.log.bounds().await?;
        let start = if oldest <= 1 {
            0
        } else {
            let mut cursor = None;
            loop {
                let (dids, next) = source.repos.list_repos(cursor).await?;
                for did in dids {
                    self.backfill_or_defer(source, &did).await?;
                }
                match next {
                    Some(n) => cursor = Some(n),
                    None => break,
                }
            }
            newest
        };
        self.save_cursor(key, start).await?;
        tracing::info!(source = source.name, start, "App View indexing starts");
        Ok(start)
    }

    pub(super) async fn save_cursor(&self, key: &str, value: u64) -> Result<(), AppviewError> {
        let key = key.to_owned();
        self.store()
            .write(move |txn| {
                txn.open_table(super::tables::META)?
                    .insert(key.as_str(), value)?;
                Ok(Ok::<_, AppviewError>(()))
            })
            .await
    }

    /// Indexes a batch of frames; returns the last seq handled.
    async fn index_frames(
        &self,
        source: &EventSource,
        key: &str,
        frames: Frames,
    ) -> Result<Option<u64>, AppviewError> {
        let Some(last_seq) = frames.last().map(|(seq, _)| *seq) else {
            return Ok(None);
        };
        let prepared: Vec<(u64, Option<Prepared>)> = tokio::task::spawn_blocking(move || {
            frames
                .into_iter()
                .map(|(seq, frame)| (seq, prepare(&frame)))
                .collect()
        })
        .await
        .map_err(|e| AppviewError::Internal(e.to_string()))?;
        let mut pending: Vec<Prepared> = Vec::new();
        let mut pending_seq = None;
        for (seq, event) in prepared {
            match event {
                Some(Prepared::Sync(did)) => {
                    if let Some(at) = pending_seq.take() {
                        self.write_events(std::mem::take(&mut pending), key, at)
                            .await?;
                    }
                    self.backfill_or_defer(source, &did).await?;
                    self.save_cursor(key, seq).await?;
                }
                Some(event) => {
                    pending.push(event);
                    pending_seq = Some(seq);
                }
                None => pending_seq = Some(seq),
            }
        }
        if pending_seq.is_some() || !pending.is_empty() {
            self.write_events(pending, key, last_seq).await?;
        }
        Ok(Some(last_seq))
    }

    /// Indexes prepared events and moves the cursor to `seq` in one transaction.
    pub(super) async fn write_events(
        &self,
        events: Vec<Prepared>,
        key: &str,
        seq: u64,
    ) -> Result<(), AppviewError> {
        let key = key.to_owned();
        let count = events.len() as u64;
        let records: u64 = events
            .iter()
            .map(|e| match e {
                Prepared::Records { ops, .. } => ops.len() as u64,
                _ => 0,
            })
            .sum();
        let graph = events.iter().any(|e| match e {
            Prepared::Records { did, ops, .. } => ops
                .iter()
                .any(|op| self.changes_wanted(did, &op.collection)),
            Prepared::Account { .. } => true,
            _ => false,
        });
        let now = u64::try_from(crate::clock::now_micros()).unwrap_or(0);
        let check = self
            .store()
            .write(move |txn| {
                let mut ix = Index::open(txn, now)?;
                let check = apply_prepared(&mut ix, &events)?;
                ix.t.meta.insert(key.as_str(), seq)?;
                Ok(Ok::<_, AppviewError>(check))
            })
            .await?;
        self.inner
            .counters
            .events
            .fetch_add(count, Ordering::Relaxed);
        self.inner
            .counters
            .records
            .fetch_add(records, Ordering::Relaxed);
        if graph {
            self.graph_changed();
        }
        for did in check {
            self.queue_identity(did).await;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::firehose::{AccountMessage, encode_frame};

    #[test]
    fn account_events_become_status_changes() {
        let frame = encode_frame(&Message::Account(AccountMessage {
            seq: 3,
            did: "did:plc:a".into(),
            time: "2024-01-01T00:00:00.000Z".into(),
            active: false,
            status: Some("takendown".into()),
        }))
        .unwrap();
        match prepare(&frame) {
            Some(Prepared::Account { did, change }) => {
                assert_eq!(did, "did:plc:a");
                assert_eq!(change, AccountChange::Status(Some("takendown".into())));
            }
            _ => panic!("not an account change"),
        }
        assert!(prepare(b"garbage").is_none());
    }
}
