//! Loading a repo from a CAR and verifying it completely.
//!
//! Spec: <https://atproto.com/specs/repository>.
//!
//! Checks: every block hashes to its CID; the first root is a commit (v2 or v3); the signature, when a
//! key is given; every MST node decodes and every key sits at its layer; the tree holds only valid
//! `collection/rkey` keys and rebuilding it from its entries gives the same root (so the structure is
//! canonical); every record block is present and is canonical DRISL.
//!
//! Does not check: that records match their Lexicons, or that the key is the DID's current key
//! (resolving the DID is the caller's job).

use std::collections::BTreeMap;
use std::io::Read;

use cid::Cid;

use super::{Commit, CommitError};
use crate::core::car::{CarError, CarReader, verify_block};
use crate::core::crypto::PublicKey;
use crate::core::data::drisl;
use crate::core::mst::{MemoryBlocks, Mst, MstError};

/// Why a repo failed verification.
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    #[error("CAR: {0}")]
    Car(#[from] CarError),
    #[error("the CAR has no root")]
    NoRoot,
    #[error("block {0} does not hash to its CID")]
    BlockHash(Cid),
    #[error("the commit block {0} is missing")]
    MissingCommit(Cid),
    #[error("commit: {0}")]
    Commit(#[from] CommitError),
    #[error("MST: {0}")]
    Mst(#[from] MstError),
    #[error(
        "MST structure is not canonical: rebuilding it gives root {rebuilt}, the commit says {claimed}"
    )]
    NotCanonical {
        rebuilt: Box<Cid>,
        claimed: Box<Cid>,
    },
    #[error("record block {cid} for {key} is missing")]
    MissingRecord { key: String, cid: Cid },
    #[error("record {key} is not valid DRISL: {reason}")]
    BadRecord { key: String, reason: String },
}

/// A repo read from a CAR: its blocks and its commit.
#[derive(Debug)]
pub struct LoadedRepo {
    pub commit_cid: Cid,
    pub commit: Commit,
    pub blocks: MemoryBlocks,
    /// CIDs whose blocks did not hash to the CID (kept out of `blocks`).
    pub bad_blocks: Vec<Cid>,
}

/// What verification found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RepoReport {
    pub did: String,
    pub rev: String,
    pub version: i64,
    pub commit_cid: Cid,
    pub data: Cid,
    pub blocks: usize,
    pub records: usize,
    pub collections: BTreeMap<String, usize>,
    pub signature_checked: bool,
}

/// Reads every block of a CAR (bounded per block) and decodes its commit.
pub fn load_car(input: impl Read) -> Result<LoadedRepo, VerifyError> {
    let mut reader = CarReader::new(input)?;
    let commit_cid = *reader.roots().first().ok_or(VerifyError::NoRoot)?;
    let mut blocks = MemoryBlocks::new();
    let mut bad_blocks = Vec::new();
    while let Some((cid, bytes)) = reader.next_block()? {
        if verify_block(&cid, &bytes) {
            blocks.insert(cid, bytes);
        } else {
            bad_blocks.push(cid);
        }
    }
    let commit_bytes = blocks
        .get(&commit_cid)
        .ok_or(VerifyError::MissingCommit(commit_cid))?;
    let commit = Commit::decode(commit_bytes)?;
    Ok(LoadedRepo {
        commit_cid,
        commit,
        blocks,
        bad_blocks,
    })
}

/// Verifies a loaded repo; checks the signature when `key` is given.
pub fn verify_repo(repo: &LoadedRepo, key: Option<&PublicKey>) -> Result<RepoReport, VerifyError> {
    if let Some(bad) = repo.bad_blocks.first() {
        return Err(VerifyError::BlockHash(*bad));
    }
    if let Some(key) = key {
        repo.commit.verify(key)?;
    }
    let tree = Mst::load(&repo.blocks, repo.commit.data)?;
    let entries = tree.entries(&repo.blocks)?;
    let mut collections: BTreeMap<String, usize> = BTreeMap::new();
    for (key, cid) in &entries {
        let bytes = repo
            .blocks
            .get(cid)
            .ok_or_else(|| VerifyError::MissingRecord {
                key: key.clone(),
                cid: *cid,
            })?;
        drisl::check(bytes).map_err(|e| VerifyError::BadRecord {
            key: key.clone(),
            reason: e.to_string(),
        })?;
        let collection = key.split('/').next().unwrap_or_default();
        *collections.entry(collection.to_owned()).or_default() += 1;
    }
    let records = entries.len();
    let mut rebuilt = Mst::from_entries(entries)?;
    let rebuilt_root = rebuilt.root_cid()?;
    if rebuilt_root != repo.commit.data {
        return Err(VerifyError::NotCanonical {
            rebuilt: Box::new(rebuilt_root),
            claimed: Box::new(repo.commit.data),
        });
    }
    Ok(RepoReport {
        did: repo.commit.did.clone(),
        rev: repo.commit.rev().to_owned(),
        version: repo.commit.version,
        commit_cid: repo.commit_cid,
        data: repo.commit.data,
        blocks: repo.blocks.len(),
        records,
        collections,
        signature_checked: key.is_some(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::crypto::{Algorithm, Keypair};
    use crate::core::data::{Value, cid_for_cbor, encode_value};
    use crate::core::repo::{UnsignedCommit, export_car};

    fn build(n: usize) -> (Vec<u8>, Keypair) {
        let key = Keypair::generate(Algorithm::K256, &mut rand_core::OsRng);
        let mut blocks = MemoryBlocks::new();
        let mut mst = Mst::empty();
        for i in 0..n {
            let record = encode_value(&Value::Map(
                [
                    ("$type".to_owned(), Value::from("app.bsky.feed.like")),
                    ("i".to_owned(), Value::Integer(i as i64)),
                ]
                .into_iter()
                .collect(),
            ))
            .unwrap();
            let cid = cid_for_cbor(&record);
            blocks.insert(cid, record);
            mst.insert(&blocks, &format!("app.bsky.feed.like/{i:013}"), cid)
                .unwrap();
        }
        let (root, nodes) = mst.commit().unwrap();
        blocks.extend(nodes);
        let commit = UnsignedCommit::new("did:plc:test", root, "3jzfcijpj2z2a")
            .sign(&key)
            .unwrap();
        let (commit_cid, commit_bytes) = commit.encode().unwrap();
        let car = export_car(Vec::new(), (&commit_cid, &commit_bytes), &mut mst, &blocks).unwrap();
        (car, key)
    }

    #[test]
    fn exported_repo_verifies_and_tampering_is_caught() {
        let (car, key) = build(300);
        let repo = load_car(car.as_slice()).unwrap();
        let report = verify_repo(&repo, Some(&key.public_key())).unwrap();
        assert_eq!(report.records, 300);
        assert_eq!(report.collections.get("app.bsky.feed.like"), Some(&300));
        // Flip one byte anywhere after the header: some check must fail.
        for offset in [car.len() / 3, car.len() / 2, car.len() - 5] {
            let mut bad = car.clone();
            bad[offset] ^= 0x01;
            let outcome =
                load_car(bad.as_slice()).and_then(|r| verify_repo(&r, Some(&key.public_key())));
            assert!(outcome.is_err(), "flipped byte at {offset} went unnoticed");
        }
        let other = Keypair::generate(Algorithm::K256, &mut rand_core::OsRng);
        assert!(verify_repo(&repo, Some(&other.public_key())).is_err());
    }

    #[test]
    fn export_order_is_commit_then_preorder_with_records() {
        let (car, _) = build(50);
        let mut reader = CarReader::new(car.as_slice()).unwrap();
        let root = reader.roots()[0];
        let (first, _) = reader.next_block().unwrap().unwrap();
        assert_eq!(first, root);
        let repo = load_car(car.as_slice()).unwrap();
        let (second, _) = reader.next_block().unwrap().unwrap();
        assert_eq!(second, repo.commit.data);
    }
}
