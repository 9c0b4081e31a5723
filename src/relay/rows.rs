//! Rows of the relay's tables, DRISL-encoded.

use cid::Cid;
use serde::{Deserialize, Serialize};

use super::status::{HostStatus, RepoStatus};
pub use crate::store::rows::{decode, encode, get};

/// A host the relay follows.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct HostRow {
    /// The last upstream seq processed.
    pub cursor: u64,
    pub status: HostStatus,
    /// Whether to use plain ws:// (local networks only).
    pub insecure: bool,
    /// When the relay first heard of the host (micros).
    pub added_at: i64,
    /// An upstream relay rather than a PDS: events for any DID, filtered by the followed set.
    pub aggregator: bool,
    /// Most accounts the host may bring, as the admin set it (`None`: the default for the host,
    /// unlimited for configured hosts).
    #[serde(default)]
    pub account_limit: Option<u64>,
    /// Followed only for the accounts the relay carries (members follow some of its accounts),
    /// not for all of them; the operator adding the host makes it a full one.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub scoped: bool,
}

/// What the relay knows of one repo.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RepoRow {
    pub host: String,
    pub rev: String,
    pub commit: Option<Cid>,
    pub data: Option<Cid>,
    pub status: RepoStatus,
    /// Whether the relay keeps a full copy (remote repos); local repos are read from the PDS.
    pub mirrored: bool,
    /// The rev of the export the copy was last filled from. The copy is whole once `rev` has
    /// reached it; before the first backfill, or after a `#sync` moved the repo, it is `None` and
    /// the copy holds only commit slices.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub copy_rev: Option<String>,
}

impl RepoRow {
    /// Whether the copy holds the whole repo at `rev` (always false for local repos, which have none).
    pub fn copy_is_whole(&self) -> bool {
        self.mirrored
            && self
                .copy_rev
                .as_deref()
                .is_some_and(|c| c <= self.rev.as_str())
    }
}
