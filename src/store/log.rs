//! `EventLog`: a sequenced log of ready-to-send event frames in one `u64 → frame` table. The PDS
//! keeps one (`pds.seq`: its `subscribeRepos`), the relay another (`relay.seq`: the merged stream).
//!
//! Spec: <https://atproto.com/specs/event-stream#sequence-numbers> and
//! <https://atproto.com/specs/sync#firehose>. An event is appended in the same write transaction as
//! the change it describes, so the log never shows a change storage lost and never misses one that
//! was acknowledged. Sequence numbers start at 1 and only grow. Readers (the WebSocket streams, the
//! relay following the local PDS, the App View's indexer) read rows after their cursor and wake on
//! the store's commit notifications; no event is ever held in memory per reader.
//!
//! A log may have one [`LogFollower`]: the relay following the local PDS takes each event in the
//! transaction that appends it, so a local write costs one durable commit, not one per service.
//!
//! Does not decide where a stream starts (`core::firehose::replay_start`) or keep the newest frames
//! for head subscribers (`http::tail`).

use std::sync::{Arc, OnceLock};

use redb::ReadableTable;
use tokio::sync::watch;

use super::{Store, StoreError, TableDefinition, WriteTransaction, open_read_table};
use crate::core::firehose::{Frame, Message, decode_frame, encode_frame};
use crate::core::syntax::Datetime;

/// Sequenced event frames: (seq, header ‖ body).
pub type Frames = Vec<(u64, Vec<u8>)>;

/// The table of one log: seq → frame.
pub type LogTable = TableDefinition<'static, u64, &'static [u8]>;

/// One sequenced event log. Cheap to clone.
#[derive(Clone)]
pub struct EventLog {
    inner: Arc<Inner>,
}

struct Inner {
    store: Store,
    table: LogTable,
    follower: OnceLock<Arc<dyn LogFollower>>,
}

/// Takes every event appended to a log, in the transaction that appends it. A storage failure it
/// returns aborts that transaction (the append and the change it describes with it); anything else
/// it decides is its own business.
pub trait LogFollower: Send + Sync + 'static {
    fn follow(&self, txn: &WriteTransaction, seq: u64, message: &Message)
    -> Result<(), StoreError>;
}

impl EventLog {
    /// The log kept in `table` of `store`.
    pub fn new(store: Store, table: LogTable) -> EventLog {
        EventLog {
            inner: Arc::new(Inner {
                store,
                table,
                follower: OnceLock::new(),
            }),
        }
    }

    /// Appends `message` in the caller's transaction under the next seq; returns that seq.
    pub fn append(&self, txn: &WriteTransaction, mut message: Message) -> Result<u64, StoreError> {
        let mut table = txn.open_table(self.inner.table)?;
        let seq = table.last()?.map_or(1, |(k, _)| k.value() + 1);
        message.set_seq(i64::try_from(seq).unwrap_or(i64::MAX));
        let frame = encode_frame(&message).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        table.insert(seq, frame.as_slice())?;
        drop(table);
        if let Some(follower) = self.inner.follower.get() {
            follower.follow(txn, seq, &message)?;
        }
        Ok(seq)
    }

    /// Makes `follower` take every event appended from now on. Call it from a write job (after
    /// catching up with [`EventLog::after_in`] in that same job), so that no event falls between
    /// the catch-up and the first one it is given. A log has at most one follower: false if it had.
    pub fn set_follower(&self, follower: Arc<dyn LogFollower>) -> bool {
        self.inner.follower.set(follower).is_ok()
    }

    /// Up to `limit` frames with seq > `after`, oldest first, read in a write transaction.
    pub fn after_in(
        &self,
        txn: &WriteTransaction,
        after: u64,
        limit: usize,
    ) -> Result<Frames, StoreError> {
        let table = txn.open_table(self.inner.table)?;
        let mut out = Vec::new();
        for row in table.range(after.saturating_add(1)..)?.take(limit) {
            let (k, v) = row?;
            out.push((k.value(), v.value().to_vec()));
        }
        Ok(out)
    }

    /// The lowest and highest seq kept; (0, 0) when the log is empty.
    pub async fn bounds(&self) -> Result<(u64, u64), StoreError> {
        let table = self.inner.table;
        self.inner
            .store
            .read(move |txn| {
                let Some(table) = open_read_table(txn, table)? else {
                    return Ok((0, 0));
                };
                let first = table.first()?.map_or(0, |(k, _)| k.value());
                let last = table.last()?.map_or(0, |(k, _)| k.value());
                Ok((first, last))
            })
            .await
    }

    /// Up to `limit` frames with seq > `after`, oldest first.
    pub async fn after(&self, after: u64, limit: usize) -> Result<Frames, StoreError> {
        let table = self.inner.table;
        self.inner
            .store
            .read(move |txn| {
                let Some(table) = open_read_table(txn, table)? else {
                    return Ok(Vec::new());
                };
                let mut out = Vec::new();
                for row in table.range(after.saturating_add(1)..)?.take(limit) {
                    let (k, v) = row?;
                    out.push((k.value(), v.value().to_vec()));
                }
                Ok(out)
            })
            .await
    }

    /// Whether the store has shut down (a failed read then means the process is stopping).
    pub fn is_closed(&self) -> bool {
        self.inner.store.is_closed()
    }

    /// Bumped after every commit of the store: wake up and read after your cursor.
    pub fn notifications(&self) -> watch::Receiver<u64> {
        self.inner.store.commits()
    }

    /// Drops events from before `cutoff_micros`, oldest first, always keeping the newest (so the
    /// seq never restarts); returns how many went.
    pub async fn prune(&self, cutoff_micros: i64) -> Result<usize, StoreError> {
        let table = self.inner.table;
        self.inner
            .store
            .write(move |txn| {
                let mut table = txn.open_table(table)?;
                let last = table.last()?.map(|(k, _)| k.value());
                let mut expired = Vec::new();
                for row in table.iter()? {
                    let (k, v) = row?;
                    if Some(k.value()) == last || !older_than(v.value(), cutoff_micros) {
                        break;
                    }
                    expired.push(k.value());
                }
                for seq in &expired {
                    table.remove(seq)?;
                }
                Ok(Ok::<_, StoreError>(expired.len()))
            })
            .await
    }

    /// Removes every event about `did`, in the caller's transaction (a deleted account's past).
    pub fn forget_repo(&self, txn: &WriteTransaction, did: &str) -> Result<(), StoreError> {
        let mut table = txn.open_table(self.inner.table)?;
        let mut gone = Vec::new();
        for row in table.iter()? {
            let (k, v) = row?;
            if let Ok(Frame::Message(m)) = decode_frame(v.value())
                && m.did() == Some(did)
            {
                gone.push(k.value());
            }
        }
        for seq in gone {
            table.remove(seq)?;
        }
        Ok(())
    }
}

/// Whether an event frame's `time` is before `cutoff` (unreadable frames count as old).
fn older_than(frame: &[u8], cutoff: i64) -> bool {
    let Ok(Frame::Message(message)) = decode_frame(frame) else {
        return true;
    };
    message
        .time()
        .is_none_or(|time| Datetime::parse(time).is_ok_and(|t| t.to_unix_micros() < cutoff))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::firehose::{AccountMessage, IdentityMessage};

    const TEST_LOG: LogTable = TableDefinition::new("test.seq");

    fn account(did: &str, time: &str) -> Message {
        Message::Account(AccountMessage {
            seq: 0,
            did: did.to_owned(),
            time: time.to_owned(),
            active: true,
            status: None,
        })
    }

    fn seq_of(frame: &[u8]) -> i64 {
        match decode_frame(frame) {
            Ok(Frame::Message(m)) => m.seq().unwrap_or(-1),
            _ => -1,
        }
    }

    #[tokio::test]
    async fn appends_read_back_in_order_and_prune_keeps_the_newest() {
        let dir = std::env::temp_dir().join(format!("skyhold-log-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let store = Store::open(&dir).unwrap();
        let log = EventLog::new(store.clone(), TEST_LOG);
        assert_eq!(log.bounds().await.unwrap(), (0, 0), "no table yet");
        assert!(log.after(0, 10).await.unwrap().is_empty());
        let mut notifications = log.notifications();
        notifications.borrow_and_update();
        let writer = log.clone();
        let seqs = store
            .write(move |txn| {
                let mut seqs = Vec::new();
                for (did, time) in [
                    ("did:plc:a", "2020-01-01T00:00:00.000Z"),
                    ("did:plc:b", "2020-01-02T00:00:00.000Z"),
                    ("did:plc:a", "2030-01-01T00:00:00.000Z"),
                ] {
                    seqs.push(writer.append(txn, account(did, time))?);
                }
                Ok(Ok::<_, StoreError>(seqs))
            })
            .await
            .unwrap();
        assert_eq!(seqs, vec![1, 2, 3]);
        // The writer answers the batch's callers, then notifies: wait for it.
        let notified =
            tokio::time::timeout(std::time::Duration::from_secs(10), notifications.changed()).await;
        assert!(notified.is_ok_and(|r| r.is_ok()), "a commit notifies");
        assert_eq!(log.bounds().await.unwrap(), (1, 3));
        let after_one = log.after(1, 10).await.unwrap();
        let read: Vec<(u64, i64)> = after_one.iter().map(|(s, f)| (*s, seq_of(f))).collect();
        assert_eq!(read, vec![(2, 2), (3, 3)], "frames carry their seq");
        assert_eq!(log.after(0, 1).await.unwrap().len(), 1, "the limit holds");

        // Before 2025: seqs 1 and 2 are old, 3 is not.
        let cutoff = Datetime::parse("2025-01-01T00:00:00.000Z")
            .unwrap()
            .to_unix_micros();
        assert_eq!(log.prune(cutoff).await.unwrap(), 2);
        assert_eq!(log.bounds().await.unwrap(), (3, 3));
        assert_eq!(log.prune(i64::MAX).await.unwrap(), 0, "the newest stays");

        let writer = log.clone();
        store
            .write(move |txn| {
                writer.append(
                    txn,
                    Message::Identity(IdentityMessage {
                        seq: 0,
                        did: "did:plc:b".into(),
                        time: "2030-01-02T00:00:00.000Z".into(),
                        handle: None,
                    }),
                )?;
                writer.forget_repo(txn, "did:plc:a")?;
                Ok(Ok::<_, StoreError>(()))
            })
            .await
            .unwrap();
        assert_eq!(
            log.bounds().await.unwrap(),
            (4, 4),
            "seqs go on after a prune; the forgotten repo's events are gone"
        );
        store.shutdown().await;
        let _ = std::fs::remove_dir_all(&dir);
    }
}
