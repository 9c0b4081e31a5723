//! Following the local PDS in-process: the relay takes each event of the PDS's log in the write
//! transaction that appends it (a [`LogFollower`]), so a local write costs one durable commit, and the
//! relay's state never lags behind the PDS's or runs ahead of it.
//!
//! Spec: <https://atproto.com/specs/sync#firehose> (what a relay re-serves). The relay trusts these
//! events: the same process built and signed them from the repo they describe, so the signature
//! check and the MST inversion a remote host's events get (`ingest.rs`) would prove nothing and cost
//! most of a write's CPU. What is still checked is what a framing bug could break
//! (`core::repo::read_own_commit`), and the repo state rules: no events for an account the relay
//! holds inactive, revs only grow.
//!
//! At start, write jobs take the events appended since the relay's cursor (a node that ran without
//! its relay, or an upgrade), the last of them installing the follower in the same transaction, so
//! no event falls between the catch-up and the follower. Should the cursor still trail an event the
//! follower is given (a catch-up whose commit failed), the follower takes the gap first.

use std::sync::{Arc, Weak};
use std::time::Duration;

use super::ingest::{
    LOCAL_HOST, count_collection, cursor_of, op_deltas, read_repo, set_cursor, write_repo,
};
use super::rows::RepoRow;
use super::status::{DropReason, RepoStatus};
use super::{Inner, Relay, RelayError};
use crate::core::firehose::{
    AccountMessage, CommitMessage, Frame, Message, SyncMessage, decode_frame,
};
use crate::core::repo::{read_own_commit, verify_sync_message};
use crate::store::{EventLog, LogFollower, StoreError, WriteTransaction};

/// Events taken per catch-up job.
const BATCH: usize = 500;

impl Relay {
    /// Catches up with the local PDS's log, then follows it in its own transactions.
    pub(super) async fn follow_local(&self) {
        let Some(local) = self.inner.local.clone() else {
            return;
        };
        let follower = Arc::new(LocalFollower {
            relay: Arc::downgrade(&self.inner),
            hostname: local.hostname.clone(),
            pds_log: local.log.clone(),
        });
        loop {
            let follower = follower.clone();
            let caught_up = self
                .store()
                .write(move |txn| {
                    let taken = follower.catch_up(txn, u64::MAX, BATCH)?;
                    let done = taken < BATCH;
                    if done {
                        follower.pds_log.set_follower(follower.clone());
                    }
                    Ok(Ok::<_, RelayError>(done))
                })
                .await;
            match caught_up {
                Ok(true) => return,
                Ok(false) => {}
                Err(_) if local.log.is_closed() => return,
                Err(e) => {
                    tracing::error!(error = %e, "catching up with the local PDS failed");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            }
        }
    }
}

/// The relay's side of the local PDS's log.
struct LocalFollower {
    /// Weak: the PDS's log holds the follower, and the relay holds the PDS's log.
    relay: Weak<Inner>,
    /// The PDS's host as DID documents name it.
    hostname: String,
    pds_log: EventLog,
}

impl LogFollower for LocalFollower {
    fn follow(
        &self,
        txn: &WriteTransaction,
        seq: u64,
        message: &Message,
    ) -> Result<(), StoreError> {
        let cursor = cursor_of(txn, LOCAL_HOST)?;
        if seq <= cursor {
            return Ok(());
        }
        if seq > cursor + 1 {
            self.catch_up(txn, seq, usize::MAX)?;
        }
        self.take(txn, seq, message)
    }
}

impl LocalFollower {
    /// Takes up to `limit` events after the cursor and before `before`; returns how many it read.
    fn catch_up(
        &self,
        txn: &WriteTransaction,
        before: u64,
        limit: usize,
    ) -> Result<usize, StoreError> {
        let cursor = cursor_of(txn, LOCAL_HOST)?;
        let frames = self.pds_log.after_in(txn, cursor, limit)?;
        let read = frames.len();
        for (seq, frame) in frames {
            if seq >= before {
                break;
            }
            match decode_frame(&frame) {
                Ok(Frame::Message(message)) => self.take(txn, seq, &message)?,
                _ => {
                    tracing::error!(seq, "undecodable local event");
                    set_cursor(txn, LOCAL_HOST, seq)?;
                }
            }
        }
        Ok(read)
    }

    /// Takes one event: updates the repo's state and re-serves it, or drops it; the cursor moves
    /// past it either way. Counted before the transaction commits: a storage failure that aborts
    /// it (a full disk) may leave the counters one event ahead.
    fn take(&self, txn: &WriteTransaction, seq: u64, message: &Message) -> Result<(), StoreError> {
        let Some(relay) = self.relay.upgrade() else {
            return Ok(());
        };
        let outcome = match message {
            Message::Commit(commit) => self.take_commit(txn, &relay, commit)?,
            Message::Sync(sync) => self.take_sync(txn, &relay, sync)?,
            Message::Account(account) => self.take_account(txn, &relay, account)?,
            Message::Identity(identity) => {
                relay.identities.forget(&identity.did);
                relay.log.append(txn, message.clone()).map(|_| Ok(()))?
            }
            Message::Info(_) => Err(DropReason::Info),
        };
        match outcome {
            Ok(()) => relay.counters.accept(),
            Err(reason) => {
                tracing::debug!(seq, reason = reason.name(), "local event dropped");
                relay.counters.drop_event(reason);
            }
        }
        set_cursor(txn, LOCAL_HOST, seq)
    }

    fn take_commit(
        &self,
        txn: &WriteTransaction,
        relay: &Inner,
        message: &CommitMessage,
    ) -> Result<Result<(), DropReason>, StoreError> {
        let current = read_repo(txn, &message.repo)?;
        if let Err(reason) = admits(current.as_ref(), &message.rev) {
            return Ok(Err(reason));
        }
        let commit = match read_own_commit(message) {
            Ok(commit) => commit,
            Err(e) => {
                tracing::error!(did = %message.repo, error = %e, "the local PDS's commit does not read back");
                return Ok(Err(DropReason::InvalidCommit));
            }
        };
        for (collection, delta) in op_deltas(message) {
            if delta != 0 {
                count_collection(txn, &message.repo, &collection, delta)?;
            }
        }
        let row = RepoRow {
            host: self.hostname.clone(),
            rev: message.rev.clone(),
            commit: Some(message.commit),
            data: Some(commit.data),
            status: active_unless_held(current.as_ref()),
            mirrored: false,
            copy_rev: current.and_then(|c| c.copy_rev),
        };
        write_repo(txn, &message.repo, &row)?;
        relay
            .log
            .append(txn, Message::Commit(Box::new(message.clone())))?;
        Ok(Ok(()))
    }

    fn take_sync(
        &self,
        txn: &WriteTransaction,
        relay: &Inner,
        message: &SyncMessage,
    ) -> Result<Result<(), DropReason>, StoreError> {
        let current = read_repo(txn, &message.did)?;
        if let Err(reason) = admits(current.as_ref(), &message.rev) {
            return Ok(Err(reason));
        }
        // Signed by this process: read, not verified (no key is given).
        let Ok(commit) = verify_sync_message(message, None) else {
            return Ok(Err(DropReason::InvalidSync));
        };
        let (commit_cid, _) = commit
            .encode()
            .map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let row = RepoRow {
            host: self.hostname.clone(),
            rev: message.rev.clone(),
            commit: Some(commit_cid),
            data: Some(commit.data),
            status: current
                .as_ref()
                .map_or(RepoStatus::Active, |c| c.status.clone()),
            mirrored: false,
            copy_rev: None,
        };
        write_repo(txn, &message.did, &row)?;
        relay.log.append(txn, Message::Sync(message.clone()))?;
        Ok(Ok(()))
    }

    fn take_account(
        &self,
        txn: &WriteTransaction,
        relay: &Inner,
        account: &AccountMessage,
    ) -> Result<Result<(), DropReason>, StoreError> {
        let status = RepoStatus::of_account(account);
        let row = match read_repo(txn, &account.did)? {
            Some(mut row) => {
                row.status = status;
                row.host = self.hostname.clone();
                row
            }
            None => RepoRow {
                host: self.hostname.clone(),
                rev: String::new(),
                commit: None,
                data: None,
                status,
                mirrored: false,
                copy_rev: None,
            },
        };
        write_repo(txn, &account.did, &row)?;
        relay.log.append(txn, Message::Account(account.clone()))?;
        Ok(Ok(()))
    }
}

/// Whether the repo's state lets an event at `rev` in: not for an account held inactive, and revs
/// only grow.
fn admits(current: Option<&RepoRow>, rev: &str) -> Result<(), DropReason> {
    let Some(row) = current else {
        return Ok(());
    };
    if row.status.blocks_events() {
        return Err(DropReason::InactiveAccount);
    }
    if !row.rev.is_empty() && rev <= row.rev.as_str() {
        return Err(DropReason::RevNotNewer);
    }
    Ok(())
}

/// A commit ends a desynchronized state (the local PDS is the repo's source); any other status
/// stays.
fn active_unless_held(current: Option<&RepoRow>) -> RepoStatus {
    match current.map(|c| &c.status) {
        None | Some(RepoStatus::Desynchronized) => RepoStatus::Active,
        Some(status) => status.clone(),
    }
}
