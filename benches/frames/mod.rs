//! Repo records and firehose frames the benches share: posts, their keys, and the `#commit` frames
//! a PDS would send for a growing repo.

use std::collections::BTreeMap;

use skyhold::core::car::write_car;
use skyhold::core::crypto::Keypair;
use skyhold::core::data::{self, Cid, Value};
use skyhold::core::firehose::{CommitMessage, CommitOp, Message, encode_frame};
use skyhold::core::mst::{MemoryBlocks, Mst};
use skyhold::core::repo::UnsignedCommit;
use skyhold::core::syntax::Tid;

/// Post number `i`, of ordinary length.
pub fn post(i: u64) -> Value {
    let mut map = BTreeMap::new();
    map.insert("$type".to_owned(), Value::from("app.bsky.feed.post"));
    map.insert(
        "text".to_owned(),
        Value::from(format!(
            "post number {i}: a short message of ordinary length, with some words"
        )),
    );
    map.insert(
        "createdAt".to_owned(),
        Value::from("2026-11-24T10:00:00.000Z"),
    );
    map.insert("langs".to_owned(), Value::List(vec![Value::from("en")]));
    Value::Map(map)
}

/// The repo key of post number `i` (TIDs in order).
pub fn tid_key(i: u64) -> String {
    format!(
        "app.bsky.feed.post/{}",
        Tid::from_parts(1_700_000_000_000_000 + i * 1000, 7)
    )
}

/// `count` consecutive one-post commits of an account whose repo holds `existing` records, as its
/// PDS puts them on the firehose (new blocks, covering proof, `prevData`).
pub fn commit_frames(did: &str, key: &Keypair, existing: u64, count: u64) -> Vec<Vec<u8>> {
    let mut blocks = MemoryBlocks::new();
    let mut tree = Mst::empty();
    for i in 0..existing {
        let bytes = data::encode_value(&post(i)).unwrap();
        let cid = data::cid_for_cbor(&bytes);
        blocks.insert(cid, bytes);
        tree.insert(&blocks, &tid_key(i), cid).unwrap();
    }
    let (mut data_root, nodes) = tree.commit().unwrap();
    blocks.extend(nodes);
    let mut frames = Vec::new();
    for i in existing..existing + count {
        let bytes = data::encode_value(&post(i)).unwrap();
        let cid = data::cid_for_cbor(&bytes);
        let path = tid_key(i);
        blocks.insert(cid, bytes.clone());
        tree.insert(&blocks, &path, cid).unwrap();
        let (root, nodes) = tree.commit().unwrap();
        blocks.extend(nodes.clone());
        let proof = tree.covering_proof(&blocks, &[path.as_str()]).unwrap();
        let rev = Tid::from_parts(1_800_000_000_000_000 + i, 1).to_string();
        let commit = UnsignedCommit::new(did, root, &rev).sign(key).unwrap();
        let (commit_cid, commit_bytes) = commit.encode().unwrap();
        let mut car_blocks: Vec<(Cid, Vec<u8>)> = vec![(commit_cid, commit_bytes)];
        car_blocks.extend(nodes);
        car_blocks.extend(proof.iter().map(|(c, b)| (*c, b.clone())));
        car_blocks.push((cid, bytes));
        let car = write_car(
            &[commit_cid],
            car_blocks.iter().map(|(c, b)| (c, b.as_slice())),
        )
        .unwrap();
        let message = CommitMessage {
            seq: i64::try_from(i).unwrap(),
            rebase: false,
            too_big: false,
            repo: did.to_owned(),
            commit: commit_cid,
            rev,
            since: None,
            blocks: car,
            ops: vec![CommitOp {
                action: "create".into(),
                path,
                cid: Some(cid),
                prev: None,
            }],
            blobs: Vec::new(),
            prev_data: Some(data_root),
            time: "2026-12-04T10:00:00.000Z".into(),
        };
        data_root = root;
        frames.push(encode_frame(&Message::Commit(Box::new(message))).unwrap());
    }
    frames
}
