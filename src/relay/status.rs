//! The relay's typed states: an account's status as the relay keeps it, a host's status, and why
//! an event was dropped. Stored and shown by their lexicon names (`#account` statuses,
//! `#hostStatus` values) and counted by their reason names (docs/BEHAVIORS.md, "Relay").
//!
//! Spec: <https://atproto.com/specs/account> (hosting statuses) and the
//! `com.atproto.sync.defs#hostStatus` lexicon.

use serde::{Deserialize, Serialize};

/// An account's status as the relay keeps it: `active`, the status its host reported, or
/// `desynchronized` while the relay resyncs it. A status the lexicon may add later is kept as
/// given (`Other`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "String", into = "String")]
pub enum RepoStatus {
    Active,
    Deactivated,
    Takendown,
    Suspended,
    Deleted,
    Desynchronized,
    Throttled,
    Other(String),
}

impl RepoStatus {
    /// The status an `#account` event announces.
    pub fn of_account(account: &crate::core::firehose::AccountMessage) -> RepoStatus {
        if account.active {
            RepoStatus::Active
        } else {
            account
                .status
                .clone()
                .map_or(RepoStatus::Deactivated, RepoStatus::from)
        }
    }

    pub fn as_str(&self) -> &str {
        match self {
            RepoStatus::Active => "active",
            RepoStatus::Deactivated => "deactivated",
            RepoStatus::Takendown => "takendown",
            RepoStatus::Suspended => "suspended",
            RepoStatus::Deleted => "deleted",
            RepoStatus::Desynchronized => "desynchronized",
            RepoStatus::Throttled => "throttled",
            RepoStatus::Other(status) => status,
        }
    }

    /// Whether events for the repo are dropped (every status but active and desynchronized: a
    /// desynchronized repo's commits are what resynchronise it).
    pub fn blocks_events(&self) -> bool {
        !matches!(self, RepoStatus::Active | RepoStatus::Desynchronized)
    }
}

impl From<String> for RepoStatus {
    fn from(status: String) -> Self {
        match status.as_str() {
            "active" => RepoStatus::Active,
            "deactivated" => RepoStatus::Deactivated,
            "takendown" => RepoStatus::Takendown,
            "suspended" => RepoStatus::Suspended,
            "deleted" => RepoStatus::Deleted,
            "desynchronized" => RepoStatus::Desynchronized,
            "throttled" => RepoStatus::Throttled,
            _ => RepoStatus::Other(status),
        }
    }
}

impl From<RepoStatus> for String {
    fn from(status: RepoStatus) -> Self {
        status.as_str().to_owned()
    }
}

/// A host's status (the `#hostStatus` values; `idle` is shown as `active`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum HostStatus {
    Active,
    /// Known, with no subscription running yet.
    Idle,
    Offline,
    Throttled,
    Banned,
}

impl HostStatus {
    /// The status `listHosts` and `getHostStatus` show.
    pub fn shown(self) -> &'static str {
        match self {
            HostStatus::Active | HostStatus::Idle => "active",
            HostStatus::Offline => "offline",
            HostStatus::Throttled => "throttled",
            HostStatus::Banned => "banned",
        }
    }
}

/// Why an event (or a frame) was dropped; the counters and `/admin/stats` use [`DropReason::name`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum DropReason {
    Info,
    NoDid,
    SeqNotIncreasing,
    NotFollowed,
    HostAccountLimit,
    UnresolvableIdentity,
    WrongHost,
    NoSigningKey,
    VerifierFailed,
    BadSignature,
    TooLarge,
    MissingPrevData,
    InvalidCommit,
    InvalidSync,
    InactiveAccount,
    RevInFuture,
    RevNotNewer,
    BrokenChain,
    FrameTooLarge,
    UndecodableFrame,
    ResyncQueueFull,
    ResyncMemoryBudget,
}

impl DropReason {
    pub fn name(self) -> &'static str {
        match self {
            DropReason::Info => "info",
            DropReason::NoDid => "no_did",
            DropReason::SeqNotIncreasing => "seq_not_increasing",
            DropReason::NotFollowed => "not_followed",
            DropReason::HostAccountLimit => "host_account_limit",
            DropReason::UnresolvableIdentity => "unresolvable_identity",
            DropReason::WrongHost => "wrong_host",
            DropReason::NoSigningKey => "no_signing_key",
            DropReason::VerifierFailed => "verifier_failed",
            DropReason::BadSignature => "bad_signature",
            DropReason::TooLarge => "too_large",
            DropReason::MissingPrevData => "missing_prev_data",
            DropReason::InvalidCommit => "invalid_commit",
            DropReason::InvalidSync => "invalid_sync",
            DropReason::InactiveAccount => "inactive_account",
            DropReason::RevInFuture => "rev_in_future",
            DropReason::RevNotNewer => "rev_not_newer",
            DropReason::BrokenChain => "broken_chain",
            DropReason::FrameTooLarge => "frame_too_large",
            DropReason::UndecodableFrame => "undecodable_frame",
            DropReason::ResyncQueueFull => "resync_queue_full",
            DropReason::ResyncMemoryBudget => "resync_memory_budget",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_keep_their_stored_names() {
        for name in [
            "active",
            "takendown",
            "desynchronized",
            "throttled",
            "someday",
        ] {
            let status = RepoStatus::from(name.to_owned());
            assert_eq!(status.as_str(), name);
            assert_eq!(String::from(status), name);
        }
        assert!(RepoStatus::from("deleted".to_owned()).blocks_events());
        assert!(!RepoStatus::Desynchronized.blocks_events());
        assert_eq!(HostStatus::Idle.shown(), "active");
    }
}
