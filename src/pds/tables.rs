//! The PDS's redb tables (private to `pds`). Names carry the owner so backups and `doctor` can tell
//! whose data a table is.
//!
//! Large tables key accounts by an interned id (`u64`, big-endian in tuple keys) instead of the DID
//! string. Values that are structs are DRISL-encoded rows (see `rows.rs`).

use redb::TableDefinition;

/// Server-wide secrets and keys: name → bytes.
pub const SECRETS: TableDefinition<&str, &[u8]> = TableDefinition::new("pds.secrets");

/// did → interned account id.
pub const DID_IDS: TableDefinition<&str, u64> = TableDefinition::new("pds.did_ids");
/// interned id → did.
pub const ID_DIDS: TableDefinition<u64, &str> = TableDefinition::new("pds.id_dids");

/// did → account row.
pub const ACCOUNTS: TableDefinition<&str, &[u8]> = TableDefinition::new("pds.accounts");
/// handle → did.
pub const HANDLES: TableDefinition<&str, &str> = TableDefinition::new("pds.handles");
/// lowercased email → did.
pub const EMAILS: TableDefinition<&str, &str> = TableDefinition::new("pds.emails");

/// account id → repo root row (commit CID, commit block, rev, MST root).
pub const REPOS: TableDefinition<u64, &[u8]> = TableDefinition::new("pds.repos");
/// (account id, CID bytes) → rev TID (u64) ‖ MST node bytes.
pub const BLOCKS: TableDefinition<(u64, &[u8]), &[u8]> = TableDefinition::new("pds.blocks");
/// (account id, collection, rkey) → record row (CID, rev, record bytes).
pub const RECORDS: TableDefinition<(u64, &str, &str), &[u8]> = TableDefinition::new("pds.records");
/// (account id, record CID bytes, path) → (): finds record blocks by CID (getBlocks, proofs).
pub const RECORD_CIDS: TableDefinition<(u64, &[u8], &str), ()> =
    TableDefinition::new("pds.record_cids");

/// (account id, blob CID bytes) → blob row.
pub const BLOBS: TableDefinition<(u64, &[u8]), &[u8]> = TableDefinition::new("pds.blobs");
/// (blob CID bytes, account id) → (): which accounts hold a blob (the file is shared).
pub const BLOB_HOLDERS: TableDefinition<(&[u8], u64), ()> =
    TableDefinition::new("pds.blob_holders");
/// (account id, blob CID bytes, record path) → (): which records use a blob.
pub const BLOB_REFS: TableDefinition<(u64, &[u8], &str), ()> =
    TableDefinition::new("pds.blob_refs");
/// (upload time in micros, account id, blob CID bytes) → (): uploads no record uses yet, oldest first.
pub const TEMP_BLOBS: TableDefinition<(u64, u64, &[u8]), ()> =
    TableDefinition::new("pds.temp_blobs");

/// seq → event frame (header ‖ body), ready to send.
pub const SEQ: TableDefinition<u64, &[u8]> = TableDefinition::new("pds.seq");

/// refresh token id → refresh row.
pub const REFRESH_TOKENS: TableDefinition<&str, &[u8]> = TableDefinition::new("pds.refresh_tokens");
/// (did, refresh token id) → expiry in microseconds: an account's sessions, soonest to end first.
pub const REFRESH_BY_ACCOUNT: TableDefinition<(&str, &str), i64> =
    TableDefinition::new("pds.refresh_by_account");
/// (did, app password name) → app password row.
pub const APP_PASSWORDS: TableDefinition<(&str, &str), &[u8]> =
    TableDefinition::new("pds.app_passwords");

/// (did, app password digest) → app password name: the indexed lookup of a login's candidate.
pub const APP_PASSWORD_DIGESTS: TableDefinition<(&str, &[u8]), &str> =
    TableDefinition::new("pds.app_password_digests");

/// invite code → invite row.
pub const INVITES: TableDefinition<&str, &[u8]> = TableDefinition::new("pds.invites");
/// (invite code, did that used it) → use time (micros).
pub const INVITE_USES: TableDefinition<(&str, &str), u64> = TableDefinition::new("pds.invite_uses");
/// (account did or "admin", invite code) → (): codes by the account they were issued to.
pub const INVITES_BY_ACCOUNT: TableDefinition<(&str, &str), ()> =
    TableDefinition::new("pds.invites_by_account");

/// did → preferences JSON (array of preference objects).
pub const PREFERENCES: TableDefinition<&str, &[u8]> = TableDefinition::new("pds.preferences");

/// (did, purpose) → email token row (confirm email, reset password, PLC operation, delete account).
pub const EMAIL_TOKENS: TableDefinition<(&str, &str), &[u8]> =
    TableDefinition::new("pds.email_tokens");
/// (account id, record path) → takedown reference: records hidden from every read.
pub const RECORD_TAKEDOWNS: TableDefinition<(u64, &str), &str> =
    TableDefinition::new("pds.record_takedowns");

/// report id → report row (`createReport`): what members reported, for the admin.
pub const REPORTS: TableDefinition<u64, &[u8]> = TableDefinition::new("pds.reports");
/// (state, report id) → (): reports by state (open, resolved), newest last.
pub const REPORTS_BY_STATE: TableDefinition<(u8, u64), ()> =
    TableDefinition::new("pds.reports_by_state");
/// (subject DID or record URI, report id) → (): reports about one subject.
pub const REPORTS_BY_SUBJECT: TableDefinition<(&str, u64), ()> =
    TableDefinition::new("pds.reports_by_subject");
/// (reporting DID, report id) → (): reports one account made.
pub const REPORTS_BY_REPORTER: TableDefinition<(&str, u64), ()> =
    TableDefinition::new("pds.reports_by_reporter");
