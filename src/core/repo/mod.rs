//! Repositories: the signed commit, loading a repo from blocks, verifying it, and exporting it as a
//! CAR in the streamable block order.
//!
//! Spec: <https://atproto.com/specs/repository>. Version 3 commits are written; version 2 commits are
//! read (they lack `rev`) so old exports still verify.

mod commit;
mod export;
mod record_proof;
mod sync;
mod verify;

pub use commit::{Commit, CommitError, UnsignedCommit};
pub use export::export_car;
pub use record_proof::{ProvenRecord, RecordProofError, verify_record_proof};
pub use sync::{
    Inversion, MAX_COMMIT_BLOCKS_LEN, MAX_COMMIT_OPS, MAX_RECORD_LEN, SyncError, VerifiedCommit,
    read_own_commit, verify_commit_message, verify_sync_message,
};
pub use verify::{LoadedRepo, RepoReport, VerifyError, load_car, verify_repo};
