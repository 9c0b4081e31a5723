//! Checking one record fetched with `com.atproto.sync.getRecord`: a CAR whose root is the
//! account's signed commit, holding the MST nodes from the commit's data root down to the record's
//! key and the record block itself.
//!
//! Spec: <https://atproto.com/specs/sync> (`getRecord` returns "a CAR file with the commit, MST
//! path and record") and <https://atproto.com/specs/repository#mst-structure>. A record passes when
//! every block hashes to its CID, the commit is the named account's and its signature verifies
//! with the given key, and walking the tree from the commit's data root reaches the key with the
//! record block's CID. A node missing from the CAR fails the walk, so a path cannot be skipped.

use cid::Cid;

use super::VerifyError;
use super::verify::load_car;
use crate::core::crypto::PublicKey;
use crate::core::data::drisl;
use crate::core::mst::Mst;

/// Why a fetched record was refused (beyond the CAR and commit errors of [`VerifyError`]).
#[derive(Debug, thiserror::Error)]
pub enum RecordProofError {
    #[error(transparent)]
    Verify(Box<VerifyError>),
    #[error("the commit is {found}'s, not {expected}'s")]
    WrongAccount { expected: String, found: String },
    #[error("the proof shows no record at {0}")]
    Absent(String),
}

impl From<VerifyError> for RecordProofError {
    fn from(e: VerifyError) -> Self {
        RecordProofError::Verify(Box::new(e))
    }
}

/// A record whose presence in the account's signed repo is proven.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProvenRecord {
    pub cid: Cid,
    /// The record's DRISL bytes.
    pub bytes: Vec<u8>,
    /// The revision of the commit that proves it.
    pub rev: String,
}

/// Verifies a `getRecord` CAR for `did`'s record at `collection/rkey`, signed by `key`.
pub fn verify_record_proof(
    car: &[u8],
    did: &str,
    collection: &str,
    rkey: &str,
    key: &PublicKey,
) -> Result<ProvenRecord, RecordProofError> {
    let repo = load_car(car)?;
    if let Some(bad) = repo.bad_blocks.first() {
        return Err(VerifyError::BlockHash(*bad).into());
    }
    if repo.commit.did != did {
        return Err(RecordProofError::WrongAccount {
            expected: did.to_owned(),
            found: repo.commit.did.clone(),
        });
    }
    repo.commit.verify(key).map_err(VerifyError::from)?;
    let path = format!("{collection}/{rkey}");
    let tree = Mst::load(&repo.blocks, repo.commit.data).map_err(VerifyError::from)?;
    let cid = tree
        .get(&repo.blocks, &path)
        .map_err(VerifyError::from)?
        .ok_or_else(|| RecordProofError::Absent(path.clone()))?;
    let bytes = repo
        .blocks
        .get(&cid)
        .ok_or_else(|| VerifyError::MissingRecord {
            key: path.clone(),
            cid,
        })?
        .to_vec();
    drisl::check(&bytes).map_err(|e| VerifyError::BadRecord {
        key: path,
        reason: e.to_string(),
    })?;
    Ok(ProvenRecord {
        cid,
        bytes,
        rev: repo.commit.rev().to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::car::write_car;
    use crate::core::crypto::{Algorithm, Keypair};
    use crate::core::data::{self, Value};
    use crate::core::mst::MemoryBlocks;
    use crate::core::repo::UnsignedCommit;

    const DID: &str = "did:plc:yolanda";

    fn record(text: &str) -> Vec<u8> {
        let value = Value::Map(
            [
                (
                    "$type".to_owned(),
                    Value::String("app.bsky.feed.post".into()),
                ),
                ("text".to_owned(), Value::String(text.into())),
            ]
            .into_iter()
            .collect(),
        );
        data::encode_value(&value).unwrap()
    }

    /// A repo of a few posts and the `getRecord` CAR for `rkey`, with `tamper` applied to the
    /// record's bytes after hashing.
    fn proof(key: &Keypair, rkey: &str, tamper: bool) -> Vec<u8> {
        let mut records = MemoryBlocks::new();
        let mut entries = Vec::new();
        for (i, k) in ["3kaaaaaaaaa22", "3kbbbbbbbbb22", "3kccccccccc22"]
            .iter()
            .enumerate()
        {
            let bytes = record(&format!("post {i}"));
            let cid = data::cid_for_cbor(&bytes);
            records.insert(cid, bytes);
            entries.push((format!("app.bsky.feed.post/{k}"), cid));
        }
        let mut tree = Mst::from_entries(entries).unwrap();
        let (root, nodes) = tree.commit().unwrap();
        let mut source = MemoryBlocks::new();
        source.extend(nodes);
        let path = format!("app.bsky.feed.post/{rkey}");
        let mut blocks = tree.covering_proof(&source, &[path.as_str()]).unwrap();
        if let Some(cid) = tree.get(&source, &path).unwrap() {
            let mut bytes = records.get(&cid).unwrap().to_vec();
            if tamper {
                bytes = record("something else");
            }
            blocks.insert(cid, bytes);
        }
        let commit = UnsignedCommit::new(DID, root, "3kzzzzzzzzz22")
            .sign(key)
            .unwrap();
        let (commit_cid, commit_bytes) = commit.encode().unwrap();
        blocks.insert(commit_cid, commit_bytes);
        let listed: Vec<(Cid, Vec<u8>)> = blocks.iter().map(|(c, b)| (*c, b.clone())).collect();
        write_car(&[commit_cid], listed.iter().map(|(c, b)| (c, b.as_slice()))).unwrap()
    }

    #[test]
    fn a_proven_record_passes_and_tampering_of_any_kind_fails() {
        let key = Keypair::generate(Algorithm::K256, &mut rand_core::OsRng);
        let public = key.public_key();
        let car = proof(&key, "3kbbbbbbbbb22", false);
        let proven =
            verify_record_proof(&car, DID, "app.bsky.feed.post", "3kbbbbbbbbb22", &public).unwrap();
        assert_eq!(proven.bytes, record("post 1"));
        assert_eq!(proven.rev, "3kzzzzzzzzz22");

        // Another key signed it.
        let other = Keypair::generate(Algorithm::K256, &mut rand_core::OsRng);
        let forged = proof(&other, "3kbbbbbbbbb22", false);
        assert!(
            verify_record_proof(&forged, DID, "app.bsky.feed.post", "3kbbbbbbbbb22", &public)
                .is_err()
        );
        // The record's bytes do not match its CID.
        let tampered = proof(&key, "3kbbbbbbbbb22", true);
        let refused = verify_record_proof(
            &tampered,
            DID,
            "app.bsky.feed.post",
            "3kbbbbbbbbb22",
            &public,
        );
        assert!(
            matches!(&refused, Err(RecordProofError::Verify(e)) if matches!(**e, VerifyError::BlockHash(_))),
            "{refused:?}"
        );
        // Another account's commit.
        assert!(matches!(
            verify_record_proof(
                &car,
                "did:plc:other",
                "app.bsky.feed.post",
                "3kbbbbbbbbb22",
                &public
            ),
            Err(RecordProofError::WrongAccount { .. })
        ));
        // A proof of absence is not a record.
        let absent = proof(&key, "3kbbbbbbbbb23", false);
        assert!(matches!(
            verify_record_proof(&absent, DID, "app.bsky.feed.post", "3kbbbbbbbbb23", &public),
            Err(RecordProofError::Absent(_))
        ));
        // Not a CAR at all.
        assert!(verify_record_proof(b"nonsense", DID, "c", "r", &public).is_err());
    }
}
