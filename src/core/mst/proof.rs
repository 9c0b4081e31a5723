//! Covering proofs: the nodes a consumer needs to check a key's presence or absence and to invert an
//! operation on it (sync 1.1).
//!
//! Spec: <https://atproto.com/specs/sync#commit-validation> and the repository spec's section on
//! operation inversion. For each key this collects the path to where the key is (or would be), plus
//! the nodes along the inner edges of its left and right neighbouring subtrees, which a merge or split
//! during inversion has to read. The selection follows the reference implementation, so our
//! `#commit` blocks are what every consumer already expects.

use std::borrow::Cow;

use super::node::{Link, Node};
use super::{BlockSource, MemoryBlocks, MstError};

/// A node seen as the reference implementation sees it: subtrees and leaves interleaved.
enum Item<'n> {
    Tree(&'n Link),
    Leaf(&'n [u8]),
}

fn items(node: &Node) -> Vec<Item<'_>> {
    let mut out = Vec::with_capacity(node.entries.len() * 2 + 1);
    if let Some(left) = &node.left {
        out.push(Item::Tree(left));
    }
    for entry in &node.entries {
        out.push(Item::Leaf(&entry.key));
        if let Some(right) = &entry.right {
            out.push(Item::Tree(right));
        }
    }
    out
}

/// Index of the first leaf whose key is at least `key`, or the item count.
fn first_leaf_at_or_after(items: &[Item<'_>], key: &[u8]) -> usize {
    items
        .iter()
        .position(|item| matches!(item, Item::Leaf(k) if *k >= key))
        .unwrap_or(items.len())
}

fn below(layer: u8) -> Result<u8, MstError> {
    layer
        .checked_sub(1)
        .ok_or_else(|| MstError::Source("inconsistent tree: child under layer 0".into()))
}

/// Adds the link's node to the proof. The paths of a key and of its neighbours share most of their
/// nodes, so a node already in the proof is skipped rather than encoded (or read) again.
fn add_self(source: &dyn BlockSource, link: &Link, out: &mut MemoryBlocks) -> Result<(), MstError> {
    if let Ok(cid) = link.known_cid()
        && out.contains(&cid)
    {
        return Ok(());
    }
    let (cid, bytes) = link.block(source)?;
    out.insert(cid, bytes);
    Ok(())
}

pub fn covering(
    source: &dyn BlockSource,
    root: &Link,
    layer: u8,
    key: &[u8],
    out: &mut MemoryBlocks,
) -> Result<(), MstError> {
    for_key(source, root, layer, key, out)?;
    for_left_sibling(source, root, layer, key, out)?;
    for_right_sibling(source, root, layer, key, out)
}

fn for_key(
    source: &dyn BlockSource,
    link: &Link,
    layer: u8,
    key: &[u8],
    out: &mut MemoryBlocks,
) -> Result<(), MstError> {
    let node: Cow<'_, Node> = link.view(source, layer)?;
    let items = items(&node);
    let index = first_leaf_at_or_after(&items, key);
    let found_here = matches!(items.get(index), Some(Item::Leaf(k)) if *k == key);
    if !found_here {
        match index.checked_sub(1).and_then(|i| items.get(i)) {
            Some(Item::Tree(prev)) => for_key(source, prev, below(layer)?, key, out)?,
            // Absent, with no subtree where it would be: this node proves nothing more.
            _ => return Ok(()),
        }
    }
    add_self(source, link, out)
}

fn for_left_sibling(
    source: &dyn BlockSource,
    link: &Link,
    layer: u8,
    key: &[u8],
    out: &mut MemoryBlocks,
) -> Result<(), MstError> {
    let node: Cow<'_, Node> = link.view(source, layer)?;
    let items = items(&node);
    let index = first_leaf_at_or_after(&items, key);
    if let Some(Item::Tree(prev)) = index.checked_sub(1).and_then(|i| items.get(i)) {
        for_left_sibling(source, prev, below(layer)?, key, out)?;
    }
    add_self(source, link, out)
}

fn for_right_sibling(
    source: &dyn BlockSource,
    link: &Link,
    layer: u8,
    key: &[u8],
    out: &mut MemoryBlocks,
) -> Result<(), MstError> {
    let node: Cow<'_, Node> = link.view(source, layer)?;
    let items = items(&node);
    let index = first_leaf_at_or_after(&items, key);
    let found = items
        .get(index)
        .or_else(|| index.checked_sub(1).and_then(|i| items.get(i)));
    match found {
        None => {}
        Some(Item::Tree(tree)) => for_right_sibling(source, tree, below(layer)?, key, out)?,
        Some(Item::Leaf(k)) => {
            let neighbour = if *k == key {
                items.get(index + 1)
            } else {
                index.checked_sub(1).and_then(|i| items.get(i))
            };
            if let Some(Item::Tree(tree)) = neighbour {
                for_right_sibling(source, tree, below(layer)?, key, out)?;
            }
        }
    }
    add_self(source, link, out)
}
