//! Reading the PDS event log for `subscribeRepos` (where a stream starts is
//! `core::firehose::replay_start`), and pruning it to the retention window.
//!
//! Spec: <https://atproto.com/specs/event-stream#sequence-numbers> and
//! <https://atproto.com/specs/sync#firehose>. Events are read from `pds.seq` (never from memory), so
//! a subscriber's lag costs disk reads, not RAM. Replay starts after the cursor (seq > cursor), as the
//! reference PDS and its consumers expect; see docs/BEHAVIORS.md.

use redb::ReadableTable;

use super::tables::SEQ;
use super::{Pds, PdsError};
use crate::core::firehose::{Frame, Message, decode_frame};
use crate::core::syntax::Datetime;
use crate::store::{StoreError, open_read_table};

impl Pds {
    /// The highest and lowest sequence numbers kept (0, 0 when the log is empty).
    pub async fn seq_bounds(&self) -> Result<(u64, u64), PdsError> {
        self.store()
            .read(|txn| {
                let Some(table) = open_read_table(txn, SEQ)? else {
                    return Ok((0, 0));
                };
                let first = table.first()?.map_or(0, |(k, _)| k.value());
                let last = table.last()?.map_or(0, |(k, _)| k.value());
                Ok::<_, PdsError>((first, last))
            })
            .await
    }

    /// Up to `limit` event frames with seq > `after`.
    pub async fn events_after(
        &self,
        after: u64,
        limit: usize,
    ) -> Result<Vec<(u64, Vec<u8>)>, PdsError> {
        self.store()
            .read(move |txn| {
                let Some(table) = open_read_table(txn, SEQ)? else {
                    return Ok(Vec::new());
                };
                let mut out = Vec::new();
                for row in table.range(after.saturating_add(1)..)?.take(limit) {
                    let (k, v) = row.map_err(StoreError::from)?;
                    out.push((k.value(), v.value().to_vec()));
                }
                Ok::<_, PdsError>(out)
            })
            .await
    }

    /// Commit notifications (wake up and read the log).
    pub fn commit_notifications(&self) -> tokio::sync::watch::Receiver<u64> {
        self.store().commits()
    }

    /// Drops events older than `keep_micros`, always keeping the newest; returns how many went.
    pub async fn prune_events(&self, keep_micros: i64) -> Result<usize, PdsError> {
        let cutoff = crate::clock::now_micros() - keep_micros;
        self.store()
            .write(move |txn| {
                let mut table = txn.open_table(SEQ)?;
                let last = table.last()?.map(|(k, _)| k.value());
                let mut expired = Vec::new();
                for row in table.iter()? {
                    let (k, v) = row?;
                    if Some(k.value()) == last || !older_than(v.value(), cutoff) {
                        break;
                    }
                    expired.push(k.value());
                }
                for seq in &expired {
                    table.remove(seq)?;
                }
                Ok(Ok::<_, PdsError>(expired.len()))
            })
            .await
    }
}

/// Whether an event frame's `time` is before `cutoff` (unreadable frames count as old).
fn older_than(frame: &[u8], cutoff: i64) -> bool {
    let time = match decode_frame(frame) {
        Ok(Frame::Message(Message::Commit(m))) => m.time,
        Ok(Frame::Message(Message::Sync(m))) => m.time,
        Ok(Frame::Message(Message::Identity(m))) => m.time,
        Ok(Frame::Message(Message::Account(m))) => m.time,
        _ => return true,
    };
    Datetime::parse(&time).is_ok_and(|t| t.to_unix_micros() < cutoff)
}
