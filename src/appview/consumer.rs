//! Following an event log. A start (or a restart after a failure) catches up from the stored
//! cursor in batches decoded off the writer thread and indexed in one write job each, together
//! with the new cursor, so a crash never loses or doubles an event (replaying one is idempotent
//! anyway). The write job that finds nothing more to take installs the App View as the log's
//! follower (`follower`), in the same transaction, so no event falls between the catch-up and the
//! follower; from then on each event is indexed in the transaction that appends it. A first start
//! on a log that lost its oldest events queues every repo for a whole backfill.

use std::sync::Arc;
use std::time::Duration;

use super::follower::{Effects, IndexFollower, install};
use super::index::{AccountChange, Action, Index, RecordOp};
use super::{Appview, AppviewError, EventSource, records};
use crate::core::car::CarReader;
use crate::core::firehose::{Frame, Message, decode_frame};
use crate::core::mst::MemoryBlocks;

/// Events read (and indexed in one transaction) per catch-up batch: bounds the writer-thread time
/// one batch takes, during which PDS writes wait (at most about 0.1 s on 2 cores with a
/// million-like index, from the benchmark in docs/PERFORMANCE.md).
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
    match decode_frame(frame) {
        Ok(Frame::Message(message)) => prepare_message(&message),
        _ => None,
    }
}

/// What the indexer applies for one event (nothing for events it ignores).
pub fn prepare_message(message: &Message) -> Option<Prepared> {
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
                did: commit.repo.clone(),
                rev: commit.rev.clone(),
                ops,
            })
        }
        Message::Account(account) => Some(Prepared::Account {
            did: account.did.clone(),
            change: AccountChange::Status(if account.active {
                None
            } else {
                Some(
                    account
                        .status
                        .clone()
                        .unwrap_or_else(|| "deactivated".into()),
                )
            }),
        }),
        Message::Identity(identity) => Some(Prepared::Identity(identity.did.clone())),
        Message::Sync(sync) => Some(Prepared::Sync(sync.did.clone())),
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

    /// Catches up with `source` and becomes its log's follower, retrying after failures.
    pub(super) async fn follow(&self, source: EventSource) {
        let backfills = self.clone();
        let backfill_source = source.clone();
        tokio::spawn(async move { backfills.run_backfills(backfill_source).await });
        loop {
            match self.catch_up(&source).await {
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

    /// Indexes the events after the stored cursor, then installs the follower in the write job
    /// that finds the log's end.
    async fn catch_up(&self, source: &EventSource) -> Result<(), AppviewError> {
        let key = Self::cursor_key(source);
        let mut cursor = match self.stored_cursor(key.clone()).await? {
            Some(c) => c,
            None => self.first_start(source, &key).await?,
        };
        let follower = Arc::new(IndexFollower {
            appview: Arc::downgrade(&self.inner),
            key,
            log: source.log.clone(),
        });
        loop {
            let frames = source.log.after(cursor, BATCH).await?;
            let last = frames.last().map_or(cursor, |(seq, _)| *seq);
            let full = frames.len() == BATCH;
            let events: Vec<Prepared> = tokio::task::spawn_blocking(move || {
                frames
                    .into_iter()
                    .filter_map(|(_, frame)| prepare(&frame))
                    .collect()
            })
            .await
            .map_err(|e| AppviewError::Internal(e.to_string()))?;
            let appview = self.clone();
            let job = follower.clone();
            let (next, installed) = self
                .store()
                .write(move |txn| {
                    let mut effects = Effects::default();
                    // Only this task moves the cursor before the follower is installed; should
                    // it have moved anyway, the batch read is stale and is read again.
                    if job.cursor(txn)? == cursor && last > cursor {
                        job.index(txn, &appview, &events, last, &mut effects)?;
                    }
                    let mut installed = false;
                    if !full {
                        let now = job.cursor(txn)?;
                        job.take_stored(txn, &appview, now, u64::MAX, &mut effects)?;
                        // False only when a failed earlier attempt installed one: it is live.
                        install(&job);
                        installed = true;
                    }
                    let next = job.cursor(txn)?;
                    appview.after_commit(effects);
                    Ok(Ok::<_, AppviewError>((next, installed)))
                })
                .await?;
            if installed {
                tracing::info!(
                    source = source.name,
                    cursor = next,
                    "App View indexing live"
                );
                return Ok(());
            }
            cursor = next;
        }
    }

    /// Where a new App View starts: at the beginning of a complete log, or (when the log lost
    /// its oldest events) at its end, with every repo behind it queued for a whole backfill.
    async fn first_start(&self, source: &EventSource, key: &str) -> Result<u64, AppviewError> {
        let (oldest, newest) = source.log.bounds().await?;
        let start = if oldest <= 1 {
            0
        } else {
            let mut cursor = None;
            loop {
                let (dids, next) = source.repos.list_repos(cursor).await?;
                self.queue_backfills(dids).await?;
                match next {
                    Some(n) => cursor = Some(n),
                    None => break,
                }
            }
            newest
        };
        let key = key.to_owned();
        self.store()
            .write(move |txn| {
                txn.open_table(super::tables::META)?
                    .insert(key.as_str(), start)?;
                Ok(Ok::<_, AppviewError>(()))
            })
            .await?;
        tracing::info!(source = source.name, start, "App View indexing starts");
        Ok(start)
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
