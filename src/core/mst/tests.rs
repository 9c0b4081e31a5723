//! MST unit and property tests: canonical shape whatever the order, a model check against a
//! `BTreeMap`, diffs, and inversion from a covering proof alone.

use std::collections::BTreeMap;

use proptest::prelude::*;

use super::*;
use crate::core::data::cid_for_cbor;

fn value(n: u32) -> Cid {
    cid_for_cbor(&n.to_be_bytes())
}

fn key(n: u32) -> String {
    format!("com.example.record/{n:08x}")
}

/// A tree persisted into a block map, reloaded from its root: every node is then `Stored`.
fn persisted(mut mst: Mst, blocks: &mut MemoryBlocks) -> (Mst, Cid) {
    let (root, new_blocks) = mst.commit().unwrap();
    blocks.extend(new_blocks);
    (Mst::load(blocks, root).unwrap(), root)
}

#[test]
fn empty_tree_root_is_the_well_known_cid() {
    let mut mst = Mst::empty();
    assert_eq!(
        mst.root_cid().unwrap().to_string(),
        "bafyreie5737gdxlw5i64vzichcalba3z2v5n6icifvx5xytvske7mr3hpm"
    );
}

#[test]
fn insert_get_update_remove() {
    let none = MemoryBlocks::new();
    let mut mst = Mst::empty();
    for n in 0..500 {
        mst.insert(&none, &key(n), value(n)).unwrap();
    }
    assert_eq!(mst.get(&none, &key(7)).unwrap(), Some(value(7)));
    assert_eq!(mst.get(&none, "com.example.record/zzz").unwrap(), None);
    assert!(matches!(
        mst.clone().insert(&none, &key(7), value(1)),
        Err(MstError::KeyExists(_))
    ));
    mst.update(&none, &key(7), value(9999)).unwrap();
    assert_eq!(mst.get(&none, &key(7)).unwrap(), Some(value(9999)));
    assert_eq!(mst.remove(&none, &key(7)).unwrap(), value(9999));
    assert_eq!(mst.get(&none, &key(7)).unwrap(), None);
    assert!(matches!(
        mst.clone().remove(&none, &key(7)),
        Err(MstError::KeyNotFound(_))
    ));
    assert_eq!(mst.entries(&none).unwrap().len(), 499);
    let range = mst
        .range(&none, Some(&key(10)), Some(&key(20)), 100)
        .unwrap();
    assert_eq!(range.len(), 10);
    assert_eq!(range[0].0, key(10));
}

#[test]
fn removing_everything_gives_the_empty_tree() {
    let none = MemoryBlocks::new();
    let mut mst = Mst::empty();
    let empty_root = mst.root_cid().unwrap();
    for n in 0..200 {
        mst.insert(&none, &key(n), value(n)).unwrap();
    }
    for n in (0..200).rev() {
        mst.remove(&none, &key(n)).unwrap();
    }
    assert!(mst.is_empty());
    assert_eq!(mst.root_cid().unwrap(), empty_root);
}

#[test]
fn operations_on_a_stored_tree_match_operations_in_memory() {
    let mut blocks = MemoryBlocks::new();
    let mut memory = Mst::from_entries((0..300).map(|n| (key(n), value(n)))).unwrap();
    let (mut stored, root) = persisted(memory.clone(), &mut blocks);
    assert_eq!(memory.root_cid().unwrap(), root);
    for n in 300..340 {
        memory.insert(&blocks, &key(n), value(n)).unwrap();
        stored.insert(&blocks, &key(n), value(n)).unwrap();
    }
    for n in (0..300).step_by(7) {
        memory.remove(&blocks, &key(n)).unwrap();
        stored.remove(&blocks, &key(n)).unwrap();
    }
    assert_eq!(memory.root_cid().unwrap(), stored.root_cid().unwrap());
}

#[test]
fn appending_keys_leaves_untouched_nodes_unchanged() {
    let mut blocks = MemoryBlocks::new();
    let mst = Mst::from_entries((0..2000).map(|n| (key(n), value(n)))).unwrap();
    let (mut stored, _) = persisted(mst, &mut blocks);
    stored.insert(&blocks, &key(5000), value(5000)).unwrap();
    let (_, new_blocks) = stored.commit().unwrap();
    // Only the path from the root to the new key changes, never thousands of nodes.
    assert!(new_blocks.len() <= 8, "{} new blocks", new_blocks.len());
    for (cid, _) in &new_blocks {
        assert!(!blocks.contains(cid), "an unchanged node was re-emitted");
    }
}

#[test]
fn replaced_nodes_are_the_read_ones_no_longer_touched() {
    let mut blocks = MemoryBlocks::new();
    let mst = Mst::from_entries((0..3000).map(|n| (key(n), value(n)))).unwrap();
    let (mut stored, old_root) = persisted(mst, &mut blocks);
    stored.remove(&blocks, &key(1500)).unwrap();
    stored.insert(&blocks, &key(9000), value(9000)).unwrap();
    let touched = stored.touched_cids().unwrap();
    assert!(!touched.contains(&old_root), "the old root was replaced");
    let (new_root, _) = stored.commit().unwrap();
    assert!(touched.contains(&new_root));
}

#[test]
fn invalid_keys_are_refused() {
    let none = MemoryBlocks::new();
    let mut mst = Mst::empty();
    for bad in ["", "nocollection", "a/b/c", "a/ b", "/x"] {
        assert!(matches!(
            mst.insert(&none, bad, value(1)),
            Err(MstError::InvalidKey(_))
        ));
    }
}

#[test]
fn missing_blocks_are_reported_not_panicked() {
    let mut blocks = MemoryBlocks::new();
    let mst = Mst::from_entries((0..300).map(|n| (key(n), value(n)))).unwrap();
    let (_, root) = persisted(mst, &mut blocks);
    let mut partial = MemoryBlocks::new();
    partial.insert(root, blocks.get(&root).unwrap().to_vec());
    let mut tree = Mst::load(&partial, root).unwrap();
    let result = tree.insert(&partial, &key(100_000), value(1));
    assert!(
        matches!(result, Err(MstError::MissingBlock(_))),
        "{result:?}"
    );
    assert!(matches!(tree.root_cid(), Err(MstError::Poisoned)));
}

fn shuffled(keys: &[u32], seed: &[usize]) -> Vec<u32> {
    let mut out = keys.to_vec();
    for (i, s) in seed.iter().enumerate() {
        if out.is_empty() {
            break;
        }
        let a = i % out.len();
        let b = s % out.len();
        out.swap(a, b);
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn same_keys_in_any_order_give_one_root(
        keys in prop::collection::btree_set(0u32..5000, 0..300),
        seed in prop::collection::vec(any::<usize>(), 300),
    ) {
        let keys: Vec<u32> = keys.into_iter().collect();
        let none = MemoryBlocks::new();
        let mut a = Mst::empty();
        for &n in &keys {
            a.insert(&none, &key(n), value(n)).unwrap();
        }
        let mut b = Mst::empty();
        for n in shuffled(&keys, &seed) {
            b.insert(&none, &key(n), value(n)).unwrap();
        }
        prop_assert_eq!(a.root_cid().unwrap(), b.root_cid().unwrap());
    }

    #[test]
    fn behaves_like_a_sorted_map(
        ops in prop::collection::vec((0u32..400, any::<bool>()), 0..400),
    ) {
        let none = MemoryBlocks::new();
        let mut mst = Mst::empty();
        let mut model = BTreeMap::new();
        for (n, add) in ops {
            if add {
                mst.upsert(&none, &key(n), value(n)).unwrap();
                model.insert(key(n), value(n));
            } else if model.remove(&key(n)).is_some() {
                mst.remove(&none, &key(n)).unwrap();
            }
        }
        let expected: Vec<(String, Cid)> = model.clone().into_iter().collect();
        prop_assert_eq!(mst.entries(&none).unwrap(), expected);
        let mut rebuilt = Mst::from_entries(model).unwrap();
        prop_assert_eq!(mst.root_cid().unwrap(), rebuilt.root_cid().unwrap());
    }

    #[test]
    fn diff_applied_to_the_old_tree_gives_the_new(
        before in prop::collection::btree_set(0u32..3000, 0..250),
        after in prop::collection::btree_set(0u32..3000, 0..250),
        bump in prop::collection::btree_set(0u32..3000, 0..20),
    ) {
        let mut blocks = MemoryBlocks::new();
        let old = Mst::from_entries(before.iter().map(|&n| (key(n), value(n)))).unwrap();
        let new = Mst::from_entries(after.iter().map(|&n| {
            let v = if bump.contains(&n) { value(n + 100_000) } else { value(n) };
            (key(n), v)
        })).unwrap();
        let (old, _) = persisted(old, &mut blocks);
        let (mut new, new_root) = persisted(new, &mut blocks);
        let ops = diff(&old, &blocks, &new, &blocks).unwrap();
        let mut patched = old.clone();
        for op in &ops {
            match (op.old, op.new) {
                (None, Some(v)) => patched.insert(&blocks, &op.key, v).unwrap(),
                (Some(_), Some(v)) => patched.update(&blocks, &op.key, v).unwrap(),
                (Some(_), None) => { patched.remove(&blocks, &op.key).unwrap(); }
                (None, None) => prop_assert!(false, "empty op"),
            }
        }
        prop_assert_eq!(patched.root_cid().unwrap(), new_root);
        prop_assert_eq!(new.root_cid().unwrap(), new_root);
    }

    #[test]
    fn covering_proof_alone_inverts_the_ops(
        before in prop::collection::btree_set(0u32..3000, 1..200),
        adds in prop::collection::btree_set(0u32..3000, 0..6),
        dels in prop::collection::vec(any::<prop::sample::Index>(), 0..6),
    ) {
        // Existing keys are even and added keys odd, so adds land between existing keys.
        let before: Vec<u32> = before.into_iter().map(|n| 2 * n).collect();
        let adds: Vec<u32> = adds.into_iter().map(|n| 2 * n + 1).collect();
        let dels: std::collections::BTreeSet<u32> = dels.iter().map(|i| before[i.index(before.len())]).collect();
        let mut blocks = MemoryBlocks::new();
        let tree = Mst::from_entries(before.iter().map(|&n| (key(n), value(n)))).unwrap();
        let (mut tree, old_root) = persisted(tree, &mut blocks);
        for &n in &adds { tree.insert(&blocks, &key(n), value(n)).unwrap(); }
        for &n in &dels { tree.remove(&blocks, &key(n)).unwrap(); }
        let (new_root, new_blocks) = tree.commit().unwrap();
        blocks.extend(new_blocks);
        let keys: Vec<String> = adds.iter().chain(dels.iter()).map(|&n| key(n)).collect();
        let key_refs: Vec<&str> = keys.iter().map(String::as_str).collect();
        let proof = tree.covering_proof(&blocks, &key_refs).unwrap();
        let mut partial = Mst::load(&proof, new_root).unwrap();
        for &n in &adds { partial.remove(&proof, &key(n)).unwrap(); }
        for &n in &dels { partial.insert(&proof, &key(n), value(n)).unwrap(); }
        prop_assert_eq!(partial.root_cid().unwrap(), old_root);
    }
}
