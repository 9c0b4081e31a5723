//! `interop-tests/mst/` and `interop-tests/firehose/commit-proof-fixtures.json`: key heights, prefix
//! lengths, tree roots for known key sets, and covering proofs that alone suffice to invert a commit.

use std::collections::BTreeSet;

use skyhold::core::data::parse_cid;
use skyhold::core::mst::{MemoryBlocks, Mst, key_height};

use crate::fixtures;

#[test]
fn key_heights() {
    let file = "interop-tests/mst/key_heights.json";
    let cases = fixtures::json(file);
    let cases = cases.as_array().expect("array");
    let mut failures = Vec::new();
    for case in cases {
        let key = case["key"].as_str().unwrap();
        let want = case["height"].as_u64().unwrap();
        if u64::from(key_height(key.as_bytes())) != want {
            failures.push(key.to_owned());
        }
    }
    fixtures::report(file, cases.len() - failures.len(), cases.len());
    assert!(failures.is_empty(), "{failures:?}");
}

#[test]
fn example_keys_have_the_height_their_name_says() {
    let file = "interop-tests/mst/example_keys.txt";
    let keys = fixtures::lines(file);
    let mut failures = Vec::new();
    for key in &keys {
        let want: u8 = key[1..2].parse().unwrap();
        if key_height(key.as_bytes()) != want {
            failures.push(key.clone());
        }
    }
    fixtures::report(file, keys.len() - failures.len(), keys.len());
    assert!(failures.is_empty(), "{failures:?}");
}

#[test]
fn common_prefix_lengths() {
    let file = "interop-tests/mst/common_prefix.json";
    let cases = fixtures::json(file);
    let cases = cases.as_array().expect("array");
    let mut failures = Vec::new();
    for case in cases {
        let left = case["left"].as_str().unwrap();
        let right = case["right"].as_str().unwrap();
        let want = case["len"].as_u64().unwrap() as usize;
        let got = left
            .bytes()
            .zip(right.bytes())
            .take_while(|(a, b)| a == b)
            .count();
        if got != want {
            failures.push(format!("{left:?} {right:?}: {got} != {want}"));
        }
    }
    fixtures::report(file, cases.len() - failures.len(), cases.len());
    assert!(failures.is_empty(), "{failures:?}");
}

#[test]
fn commit_proofs() {
    let file = "interop-tests/firehose/commit-proof-fixtures.json";
    let cases = fixtures::json(file);
    let cases = cases.as_array().expect("array");
    let mut failures = Vec::new();
    for case in cases {
        let name = case["comment"].as_str().unwrap();
        let leaf = parse_cid(case["leafValue"].as_str().unwrap()).unwrap();
        let strings = |field: &str| -> Vec<String> {
            case[field]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_str().unwrap().to_owned())
                .collect()
        };
        let (keys, adds, dels) = (strings("keys"), strings("adds"), strings("dels"));
        let mut blocks = MemoryBlocks::new();
        let mut tree = Mst::from_entries(keys.iter().map(|k| (k.clone(), leaf))).unwrap();
        let (before, new_blocks) = tree.commit().unwrap();
        blocks.extend(new_blocks);
        if before.to_string() != case["rootBeforeCommit"].as_str().unwrap() {
            failures.push(format!("{name}: root before commit differs"));
            continue;
        }
        let mut tree = Mst::load(&blocks, before).unwrap();
        for key in &adds {
            tree.insert(&blocks, key, leaf).unwrap();
        }
        for key in &dels {
            tree.remove(&blocks, key).unwrap();
        }
        let (after, new_blocks) = tree.commit().unwrap();
        blocks.extend(new_blocks);
        if after.to_string() != case["rootAfterCommit"].as_str().unwrap() {
            failures.push(format!("{name}: root after commit differs"));
            continue;
        }
        let op_keys: Vec<&str> = adds.iter().chain(&dels).map(String::as_str).collect();
        let proof = tree.covering_proof(&blocks, &op_keys).unwrap();
        let have: BTreeSet<String> = proof.iter().map(|(cid, _)| cid.to_string()).collect();
        let want: BTreeSet<String> = strings("blocksInProof").into_iter().collect();
        if !want.is_subset(&have) {
            failures.push(format!(
                "{name}: proof lacks {:?}",
                want.difference(&have).collect::<Vec<_>>()
            ));
        }
        // Inverting the ops against the proof blocks alone must give back the old root.
        let mut partial = Mst::load(&proof, after).unwrap();
        let inverted = adds
            .iter()
            .try_for_each(|k| partial.remove(&proof, k).map(drop))
            .and_then(|()| {
                dels.iter()
                    .try_for_each(|k| partial.insert(&proof, k, leaf))
            })
            .and_then(|()| partial.root_cid());
        match inverted {
            Ok(root) if root == before => {}
            other => failures.push(format!("{name}: inversion gave {other:?}")),
        }
    }
    fixtures::report(file, cases.len() - failures.len(), cases.len());
    assert!(failures.is_empty(), "{failures:#?}");
}
