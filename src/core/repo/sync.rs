//! Verifying `#commit` and `#sync` messages on their own (sync 1.1): the CAR slice, the signed
//! commit, the ops against the partial tree, and operation inversion back to `prevData`.
//!
//! Spec: <https://atproto.com/specs/sync#message-validation-checklist> and
//! <https://atproto.com/specs/repository#repository-diffs>.
//!
//! Checks: size limits (blocks ≤ 2,000,000 bytes, records ≤ 1,000,000 bytes, ≤ 200 ops); every block
//! hashes to its CID; the CAR root is the message's commit; the commit's DID and rev match the message;
//! the signature (when a key is given); each op agrees with the new tree (created and updated paths
//! point at the op's CID and their record blocks are present, deleted paths are absent); no path
//! appears twice; inverting the ops on the partial tree gives `prevData` (a repo's first commit,
//! with no `since` and no ops, has nothing to invert).
//!
//! Does not check: that `since`/`prevData` match the consumer's stored state, rev ordering, the
//! account's status or host, or records against Lexicons. Those need state and belong to the caller.

use std::collections::HashSet;

use cid::Cid;

use super::{Commit, CommitError};
use crate::core::car::{CarError, CarReader, verify_block};
use crate::core::crypto::PublicKey;
use crate::core::firehose::{CommitMessage, SyncMessage};
use crate::core::mst::{MemoryBlocks, Mst, MstError, is_valid_key};

/// Hard limit on a `#commit`'s `blocks` (sync spec).
pub const MAX_COMMIT_BLOCKS_LEN: usize = 2_000_000;
/// Hard limit on one record block (sync spec).
pub const MAX_RECORD_LEN: u64 = 1_000_000;
/// Hard limit on ops per commit (sync spec).
pub const MAX_COMMIT_OPS: usize = 200;
/// `#sync` carries only the commit block (lexicon maxLength).
pub const MAX_SYNC_BLOCKS_LEN: usize = 10_000;

/// How to treat commits without `prevData` (or update/delete ops without `prev`), which predate
/// sync 1.1.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Inversion {
    /// Such commits are refused.
    Required,
    /// Such commits are accepted after every other check; inversion runs when possible.
    Lenient,
}

#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error("{what} too large: {len} > {max}")]
    TooLarge {
        what: &'static str,
        len: usize,
        max: usize,
    },
    #[error("CAR slice: {0}")]
    Car(#[from] CarError),
    #[error("block {0} does not hash to its CID")]
    BlockHash(Cid),
    #[error("the CAR root does not match the message's commit")]
    RootMismatch,
    #[error("the commit block is missing from the CAR slice")]
    MissingCommit,
    #[error("commit: {0}")]
    Commit(#[from] CommitError),
    #[error("the commit's {field} does not match the message")]
    FieldMismatch { field: &'static str },
    #[error("op {path}: {reason}")]
    BadOp { path: String, reason: String },
    #[error("MST: {0}")]
    Mst(#[from] MstError),
    #[error("inverting the ops gives root {got}, but prevData is {want}")]
    InversionMismatch { got: Box<Cid>, want: Box<Cid> },
    #[error("cannot invert: {0}")]
    NotInvertible(String),
}

/// A message that passed every stateless check.
#[derive(Debug)]
pub struct VerifiedCommit {
    pub commit: Commit,
    pub blocks: MemoryBlocks,
    /// Whether inversion ran and matched `prevData` (false only in lenient mode).
    pub inverted: bool,
}

fn read_slice(bytes: &[u8], max_block: u64) -> Result<(Cid, MemoryBlocks), SyncError> {
    let mut reader = CarReader::with_limit(bytes, max_block)?;
    let root = *reader.roots().first().ok_or(SyncError::MissingCommit)?;
    let mut blocks = MemoryBlocks::new();
    while let Some((cid, data)) = reader.next_block()? {
        if !verify_block(&cid, &data) {
            return Err(SyncError::BlockHash(cid));
        }
        blocks.insert(cid, data);
    }
    Ok((root, blocks))
}

fn bad_op(path: &str, reason: &str) -> SyncError {
    SyncError::BadOp {
        path: path.to_owned(),
        reason: reason.to_owned(),
    }
}

/// Verifies a `#commit` message in isolation.
pub fn verify_commit_message(
    message: &CommitMessage,
    key: Option<&PublicKey>,
    mode: Inversion,
) -> Result<VerifiedCommit, SyncError> {
    if message.blocks.len() > MAX_COMMIT_BLOCKS_LEN {
        return Err(SyncError::TooLarge {
            what: "blocks",
            len: message.blocks.len(),
            max: MAX_COMMIT_BLOCKS_LEN,
        });
    }
    if message.ops.len() > MAX_COMMIT_OPS {
        return Err(SyncError::TooLarge {
            what: "ops",
            len: message.ops.len(),
            max: MAX_COMMIT_OPS,
        });
    }
    // A record block may be 1,000,000 bytes; allow its CID on top.
    let (root, blocks) = read_slice(&message.blocks, MAX_RECORD_LEN + 128)?;
    if root != message.commit {
        return Err(SyncError::RootMismatch);
    }
    let commit = Commit::decode(blocks.get(&root).ok_or(SyncError::MissingCommit)?)?;
    check_commit_fields(&commit, message)?;
    if let Some(key) = key {
        commit.verify(key)?;
    }

    let mut tree = Mst::load(&blocks, commit.data)?;
    let mut seen = HashSet::new();
    let mut invertible = true;
    for op in &message.ops {
        let path = op.path.as_str();
        if !is_valid_key(path.as_bytes()) {
            return Err(bad_op(path, "invalid record path"));
        }
        if !seen.insert(path) {
            return Err(bad_op(path, "path appears twice"));
        }
        let current = tree.get(&blocks, path)?;
        match op.action.as_str() {
            "create" | "update" => {
                let cid = op
                    .cid
                    .ok_or_else(|| bad_op(path, "create/update without cid"))?;
                if current != Some(cid) {
                    return Err(bad_op(path, "the tree does not hold the op's cid"));
                }
                if !blocks.contains(&cid) {
                    return Err(bad_op(path, "record block missing"));
                }
                if op.action == "update" && op.prev.is_none() {
                    invertible = false;
                }
            }
            "delete" => {
                if op.cid.is_some() {
                    return Err(bad_op(path, "delete with a cid"));
                }
                if current.is_some() {
                    return Err(bad_op(path, "deleted path is still in the tree"));
                }
                if op.prev.is_none() {
                    invertible = false;
                }
            }
            _ => return Err(bad_op(path, "unknown action")),
        }
    }

    // A repo's first commit (no `since`, no ops) has no previous tree to invert to.
    let first_commit =
        message.since.is_none() && message.ops.is_empty() && message.prev_data.is_none();
    if first_commit {
        return Ok(VerifiedCommit {
            commit,
            blocks,
            inverted: false,
        });
    }
    if !invertible || message.prev_data.is_none() {
        if mode == Inversion::Required {
            return Err(SyncError::NotInvertible(
                "prevData or an op's prev is missing".into(),
            ));
        }
        if !invertible {
            return Ok(VerifiedCommit {
                commit,
                blocks,
                inverted: false,
            });
        }
    }
    // Invert even without prevData (lenient mode): that still proves the slice holds every node the
    // ops touch.
    for op in &message.ops {
        let path = op.path.as_str();
        match (op.action.as_str(), op.prev) {
            ("create", _) => {
                tree.remove(&blocks, path)?;
            }
            ("update", Some(prev)) => tree.update(&blocks, path, prev)?,
            ("delete", Some(prev)) => tree.insert(&blocks, path, prev)?,
            _ => return Err(bad_op(path, "op cannot be inverted")),
        }
    }
    let got = tree.root_cid()?;
    let Some(want) = message.prev_data else {
        return Ok(VerifiedCommit {
            commit,
            blocks,
            inverted: false,
        });
    };
    if got != want {
        return Err(SyncError::InversionMismatch {
            got: Box::new(got),
            want: Box::new(want),
        });
    }
    Ok(VerifiedCommit {
        commit,
        blocks,
        inverted: true,
    })
}

/// Reads the commit block a `#commit` message carries, for a message this process made itself (the
/// relay taking its own PDS's commits in the PDS's transaction): the signature, the ops and the
/// inversion were made from the repo the commit describes, so checking them again proves nothing.
/// What is checked is what a bug in the framing could break: the CAR root and the commit block are
/// the message's, its hash is right, and its DID, rev and version match.
pub fn read_own_commit(message: &CommitMessage) -> Result<Commit, SyncError> {
    let mut reader = CarReader::with_limit(message.blocks.as_slice(), MAX_RECORD_LEN + 128)?;
    if reader.roots().first() != Some(&message.commit) {
        return Err(SyncError::RootMismatch);
    }
    while let Some((cid, data)) = reader.next_block()? {
        if cid != message.commit {
            continue;
        }
        if !verify_block(&cid, &data) {
            return Err(SyncError::BlockHash(cid));
        }
        let commit = Commit::decode(&data)?;
        check_commit_fields(&commit, message)?;
        return Ok(commit);
    }
    Err(SyncError::MissingCommit)
}

/// Verifies a `#sync` message: the commit block, its DID and rev, and the signature.
pub fn verify_sync_message(
    message: &SyncMessage,
    key: Option<&PublicKey>,
) -> Result<Commit, SyncError> {
    if message.blocks.len() > MAX_SYNC_BLOCKS_LEN {
        return Err(SyncError::TooLarge {
            what: "blocks",
            len: message.blocks.len(),
            max: MAX_SYNC_BLOCKS_LEN,
        });
    }
    let (root, blocks) = read_slice(&message.blocks, MAX_SYNC_BLOCKS_LEN as u64)?;
    let commit = Commit::decode(blocks.get(&root).ok_or(SyncError::MissingCommit)?)?;
    if commit.did != message.did {
        return Err(SyncError::FieldMismatch { field: "did" });
    }
    if commit.rev() != message.rev {
        return Err(SyncError::FieldMismatch { field: "rev" });
    }
    if let Some(key) = key {
        commit.verify(key)?;
    }
    Ok(commit)
}

/// The commit block says what the `#commit` frame around it says: its repo, its rev, version 3.
fn check_commit_fields(commit: &Commit, message: &CommitMessage) -> Result<(), SyncError> {
    if commit.did != message.repo {
        return Err(SyncError::FieldMismatch { field: "did" });
    }
    if commit.rev() != message.rev {
        return Err(SyncError::FieldMismatch { field: "rev" });
    }
    if commit.version != 3 {
        return Err(SyncError::Commit(CommitError::Version(commit.version)));
    }
    Ok(())
}
