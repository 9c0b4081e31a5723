//! The relay's redb tables (private to `relay`).

use redb::TableDefinition;

/// hostname → host row (cursor, status, counters).
pub const HOSTS: TableDefinition<&str, &[u8]> = TableDefinition::new("relay.hosts");
/// did → repo state row (host, rev, data, commit, status).
pub const REPOS: TableDefinition<&str, &[u8]> = TableDefinition::new("relay.repos");
/// relay seq → event frame (header ‖ body) as the relay re-serves it (an `EventLog`).
pub const SEQ: crate::store::LogTable = TableDefinition::new("relay.seq");
/// (collection, did) → (): which repos hold records of a collection.
pub const COLLECTIONS: TableDefinition<(&str, &str), ()> =
    TableDefinition::new("relay.collections");
/// (did, collection) → number of records the repo holds in it.
pub const REPO_COLLECTIONS: TableDefinition<(&str, &str), u64> =
    TableDefinition::new("relay.repo_collections");
/// (did, CID bytes) → MST node bytes, for mirrored (remote) repos.
pub const BLOCKS: TableDefinition<(&str, &[u8]), &[u8]> = TableDefinition::new("relay.blocks");
/// (did, collection, rkey) → record CID ‖ record bytes, for mirrored (remote) repos.
pub const RECORDS: TableDefinition<(&str, &str, &str), &[u8]> =
    TableDefinition::new("relay.records");
