//! Rows stored in the PDS tables, DRISL-encoded with serde. Adding an optional field is a compatible
//! change; anything else needs a migration.

use cid::Cid;
use serde::{Deserialize, Serialize};

use crate::core::syntax::Did;
pub use crate::store::rows::{decode, encode, get};

/// Hosting status of an account on this PDS (spec: account hosting status).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AccountStatus {
    Active,
    Deactivated,
    Takendown,
    Suspended,
    Deleted,
}

impl AccountStatus {
    /// The `status` string of `#account` events and getRepoStatus (`None` when active).
    pub fn as_status(self) -> Option<&'static str> {
        match self {
            AccountStatus::Active => None,
            AccountStatus::Deactivated => Some("deactivated"),
            AccountStatus::Takendown => Some("takendown"),
            AccountStatus::Suspended => Some("suspended"),
            AccountStatus::Deleted => Some("deleted"),
        }
    }

    pub fn is_active(self) -> bool {
        self == AccountStatus::Active
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct AccountRow {
    pub did: Did,
    pub handle: String,
    pub email: Option<String>,
    pub email_confirmed_at: Option<String>,
    /// PHC string (argon2id).
    pub password_hash: String,
    /// The repo signing key (k256 secret scalar).
    #[serde(with = "serde_bytes")]
    pub signing_key: Vec<u8>,
    pub created_at: String,
    pub status: AccountStatus,
    pub id: u64,
    /// Invite code used at sign-up, if any.
    pub invite_code: Option<String>,
    /// Whether this account may not create invite codes.
    pub invites_disabled: bool,
    /// The admin's reference for a takedown (set while taken down).
    #[serde(default)]
    pub takedown_ref: Option<String>,
    /// When a deactivated account asked to be deleted (RFC 3339), if it did.
    #[serde(default)]
    pub delete_after: Option<String>,
    /// When the account was deactivated (RFC 3339), while it is.
    #[serde(default)]
    pub deactivated_at: Option<String>,
    /// When a suspension ends by itself (RFC 3339), while suspended.
    #[serde(default)]
    pub suspended_until: Option<String>,
}

/// The current state of a repo.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RepoRow {
    pub commit_cid: Cid,
    #[serde(with = "serde_bytes")]
    pub commit_block: Vec<u8>,
    pub rev: String,
    pub data: Cid,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RecordRow {
    pub cid: Cid,
    pub rev: String,
    #[serde(with = "serde_bytes")]
    pub bytes: Vec<u8>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct BlobRow {
    pub mime_type: String,
    pub size: u64,
    pub created_at_micros: u64,
    /// Whether no record references it yet (collected after an hour).
    pub temp: bool,
    pub takedown_ref: Option<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RefreshRow {
    pub did: String,
    pub expires_at: i64,
    pub app_password: Option<String>,
    /// The token issued when this one was used; a reuse within the grace period gets it again.
    pub next_id: Option<String>,
    /// When this token was first used (its grace period starts then).
    pub used_at: Option<i64>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct AppPasswordRow {
    /// An argon2 PHC string for rows made before digests; empty once the row has a digest.
    pub password_hash: String,
    pub privileged: bool,
    pub created_at: String,
    /// The key of the row in `APP_PASSWORD_DIGESTS` (hex), for rows made since.
    #[serde(default)]
    pub digest: Option<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct InviteRow {
    pub available: u32,
    pub disabled: bool,
    /// The account the code was issued to ("admin" for codes the admin made for nobody).
    pub for_account: String,
    pub created_by: String,
    pub created_at: String,
}

/// A one-time code sent by email (or shown to the admin when no mail is configured).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct EmailTokenRow {
    pub token: String,
    pub expires_at: i64,
}

/// What a report is about: an account, or one version of a record.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ReportSubject {
    /// `com.atproto.admin.defs#repoRef`.
    Repo { did: String },
    /// `com.atproto.repo.strongRef`.
    Record { uri: String, cid: String },
}

impl ReportSubject {
    /// The key reports about this subject are found by: the DID, or the record URI.
    pub fn key(&self) -> &str {
        match self {
            ReportSubject::Repo { did } => did,
            ReportSubject::Record { uri, .. } => uri,
        }
    }
}

/// Where a report is in the admin's queue.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ReportState {
    Open,
    Resolved,
}

impl ReportState {
    /// The byte of `REPORTS_BY_STATE` keys.
    pub fn byte(self) -> u8 {
        match self {
            ReportState::Open => 0,
            ReportState::Resolved => 1,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ReportState::Open => "open",
            ReportState::Resolved => "resolved",
        }
    }
}

/// A moderation report a member filed with `com.atproto.moderation.createReport`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportRow {
    pub id: u64,
    pub reason_type: String,
    pub reason: Option<String>,
    pub subject: ReportSubject,
    pub reported_by: String,
    /// RFC 3339, the server's clock.
    pub created_at: String,
    /// `modTool.name`: which client filed it.
    pub mod_tool: Option<String>,
    pub state: ReportState,
    pub resolved_at: Option<String>,
    /// The admin's note when resolving (what was done).
    pub resolution: Option<String>,
}
