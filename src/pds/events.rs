//! The PDS's events: `#commit`, `#sync`, `#identity` and `#account` messages, appended to its
//! [`EventLog`] (`pds.seq`) in the same transaction as the change they describe.
//!
//! Spec: <https://atproto.com/specs/sync#firehose>. The firehose and the relay read the log, never
//! memory, so no acknowledged change can be missing from the stream and a restart replays exactly
//! what was committed.

use super::Pds;
use crate::core::firehose::{AccountMessage, IdentityMessage, Message, SyncMessage};
use crate::store::{EventLog, LogTable};

/// seq → event frame (header ‖ body), ready to send.
pub const SEQ: LogTable = LogTable::new("pds.seq");

impl Pds {
    /// The PDS's event log (`subscribeRepos`, the relay's local host, the App View without relay).
    pub fn events(&self) -> &EventLog {
        &self.inner.log
    }
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
