//! The PDS's event log: `#commit`, `#sync`, `#identity` and `#account` events written into
//! `pds.seq` in the same transaction as the change they describe, as ready-to-send frames.
//!
//! Spec: <https://atproto.com/specs/sync#firehose>. Sequence numbers start at 1 and only grow; the
//! firehose and the relay read the table, never memory, so no acknowledged change can be missing from
//! the stream and a restart replays exactly what was committed.

use redb::ReadableTable;

use super::tables::SEQ;
use crate::core::firehose::{AccountMessage, IdentityMessage, Message, SyncMessage, encode_frame};
use crate::store::{StoreError, WriteTransaction};

/// Appends one event; returns its sequence number.
pub fn append(txn: &WriteTransaction, mut message: Message) -> Result<u64, StoreError> {
    let mut table = txn.open_table(SEQ)?;
    let seq = table.last()?.map_or(1, |(k, _)| k.value() + 1);
    message.set_seq(i64::try_from(seq).unwrap_or(i64::MAX));
    let frame = encode_frame(&message).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    table.insert(seq, frame.as_slice())?;
    Ok(seq)
}

pub fn identity(did: &str, handle: Option<&str>, time: &str) -> Message {
    Message::Identity(IdentityMessage {
        seq: 0,
        did: did.to_owned(),
        time: time.to_owned(),
        handle: handle.map(str::to_owned),
    })
}

pub fn account(did: &str, active: bool, status: Option<&str>, time: &str) -> Message {
    Message::Account(AccountMessage {
        seq: 0,
        did: did.to_owned(),
        time: time.to_owned(),
        active,
        status: status.map(str::to_owned),
    })
}

pub fn sync(did: &str, rev: &str, commit_car: Vec<u8>, time: &str) -> Message {
    Message::Sync(SyncMessage {
        seq: 0,
        did: did.to_owned(),
        blocks: commit_car,
        rev: rev.to_owned(),
        time: time.to_owned(),
    })
}
