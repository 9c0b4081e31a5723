//! Insert and remove, by splitting and merging subtrees along the key's path.
//!
//! Spec: <https://atproto.com/specs/repository#mst-structure>. Every function here keeps the tree
//! canonical: the result depends only on the key set, whatever order keys arrive in. Subtrees an
//! operation does not cross stay as they were (still `Stored`, or with their cached CID).

use cid::Cid;

use super::node::{Entry, Link, Node};
use super::{BlockSource, MstError};

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum PutMode {
    Create,
    Update,
    Upsert,
}

fn key_text(key: &[u8]) -> String {
    String::from_utf8_lossy(key).into_owned()
}

fn corrupt(reason: &str) -> MstError {
    MstError::Source(format!("inconsistent tree: {reason}"))
}

/// Puts `key` into the tree rooted at `root` (layer `root_layer`); returns the new root and layer.
pub fn put_root(
    source: &dyn BlockSource,
    root: Option<Link>,
    root_layer: u8,
    key: &[u8],
    height: u8,
    value: Cid,
    mode: PutMode,
) -> Result<(Link, u8), MstError> {
    let Some(root) = root else {
        if mode == PutMode::Update {
            return Err(MstError::KeyNotFound(key_text(key)));
        }
        let node = put(source, None, height, key, height, value, mode)?;
        return Ok((Link::Loaded(Box::new(node)), height));
    };
    let mut layer = root_layer;
    let mut node = root.into_node(source, layer)?;
    // A key above the root's layer: raise the root with empty intermediate nodes; `put` then splits
    // the old tree around the key.
    while layer < height {
        layer += 1;
        node = Node {
            layer,
            left: Some(Link::Loaded(Box::new(node))),
            entries: Vec::new(),
            cid: None,
        };
    }
    let node = put(source, Some(node), layer, key, height, value, mode)?;
    Ok((Link::Loaded(Box::new(node)), layer))
}

/// Puts `key` (of layer `height`) into the subtree `node` of layer `layer`.
fn put(
    source: &dyn BlockSource,
    node: Option<Node>,
    layer: u8,
    key: &[u8],
    height: u8,
    value: Cid,
    mode: PutMode,
) -> Result<Node, MstError> {
    let mut node = match node {
        Some(node) => node,
        None => {
            if mode == PutMode::Update {
                return Err(MstError::KeyNotFound(key_text(key)));
            }
            Node {
                layer,
                left: None,
                entries: Vec::new(),
                cid: None,
            }
        }
    };
    let i = node.entries.partition_point(|e| e.key.as_slice() < key);
    let exists = node.entries.get(i).is_some_and(|e| e.key == key);
    if height == layer {
        if exists {
            if mode == PutMode::Create {
                return Err(MstError::KeyExists(key_text(key)));
            }
            if node.entries[i].value != value {
                node.entries[i].value = value;
                node.cid = None;
            }
            return Ok(node);
        }
        if mode == PutMode::Update {
            return Err(MstError::KeyNotFound(key_text(key)));
        }
        let child = node.child_before(i).take();
        let (left, right) = match (child, layer.checked_sub(1)) {
            (None, _) => (None, None),
            (Some(child), Some(below)) => split(source, child, below, key)?,
            (Some(_), None) => return Err(corrupt("child under layer 0")),
        };
        *node.child_before(i) = left;
        node.entries.insert(
            i,
            Entry {
                key: key.to_vec(),
                value,
                right,
            },
        );
        node.cid = None;
        return Ok(node);
    }
    if exists {
        return Err(corrupt("key found at the wrong layer"));
    }
    let below = layer
        .checked_sub(1)
        .ok_or_else(|| corrupt("key below layer 0"))?;
    let child = node
        .child_before(i)
        .take()
        .map(|link| link.into_node(source, below))
        .transpose()?;
    let child = put(source, child, below, key, height, value, mode)?;
    *node.child_before(i) = Some(Link::Loaded(Box::new(child)));
    node.cid = None;
    Ok(node)
}

/// Splits a subtree of layer `layer` around `key` (which it does not hold) into the keys below and
/// the keys above. A side that is empty comes back as `None`; a subtree entirely on one side comes
/// back unchanged.
fn split(
    source: &dyn BlockSource,
    link: Link,
    layer: u8,
    key: &[u8],
) -> Result<(Option<Link>, Option<Link>), MstError> {
    let mut node = link.into_node(source, layer)?;
    let i = node.entries.partition_point(|e| e.key.as_slice() < key);
    let child = node.child_before(i).take();
    let (child_left, child_right) = match (child, layer.checked_sub(1)) {
        (None, _) => (None, None),
        (Some(child), Some(below)) => split(source, child, below, key)?,
        (Some(_), None) => return Err(corrupt("child under layer 0")),
    };
    // Entirely below or entirely above the key: hand the node back as it was, keeping its CID.
    if i == node.entries.len() && child_right.is_none() {
        *node.child_before(i) = child_left;
        return Ok((Some(Link::Loaded(Box::new(node))), None));
    }
    if i == 0 && child_left.is_none() {
        *node.child_before(0) = child_right;
        return Ok((None, Some(Link::Loaded(Box::new(node)))));
    }
    let right_entries = node.entries.split_off(i);
    let mut left = node;
    *left.child_before(i) = child_left;
    left.cid = None;
    let right = Node {
        layer,
        left: child_right,
        entries: right_entries,
        cid: None,
    };
    Ok((prune(left), prune(right)))
}

/// A node with neither keys nor children is no node at all.
fn prune(node: Node) -> Option<Link> {
    if node.is_empty() {
        None
    } else {
        Some(Link::Loaded(Box::new(node)))
    }
}

/// Removes `key` from the tree; returns the new root (trimmed of empty top nodes), its layer, and
/// the removed value.
pub fn remove_root(
    source: &dyn BlockSource,
    root: Link,
    root_layer: u8,
    key: &[u8],
) -> Result<(Option<Link>, u8, Cid), MstError> {
    let height = super::key_height(key);
    if height > root_layer {
        return Err(MstError::KeyNotFound(key_text(key)));
    }
    let node = root.into_node(source, root_layer)?;
    let (node, removed) = remove(source, node, root_layer, key, height)?;
    let mut root = prune(node);
    let mut layer = root_layer;
    // Trim the top: a root with no keys is replaced by its only child.
    loop {
        match root {
            Some(Link::Loaded(node)) if node.entries.is_empty() => {
                let Some(child) = node.left else {
                    return Ok((None, 0, removed));
                };
                layer = layer
                    .checked_sub(1)
                    .ok_or_else(|| corrupt("child under layer 0"))?;
                root = match child {
                    // A partial tree (a commit's blocks) may lack the child. Its CID is all the new
                    // root needs; a stored node is taken to be canonical, hence not empty.
                    Link::Stored(cid) if source.get_block(&cid)?.is_none() => {
                        return Ok((Some(Link::Stored(cid)), layer, removed));
                    }
                    child => Some(Link::Loaded(Box::new(child.into_node(source, layer)?))),
                };
            }
            other => return Ok((other, layer, removed)),
        }
    }
}

fn remove(
    source: &dyn BlockSource,
    mut node: Node,
    layer: u8,
    key: &[u8],
    height: u8,
) -> Result<(Node, Cid), MstError> {
    let i = node.entries.partition_point(|e| e.key.as_slice() < key);
    node.cid = None;
    if height == layer {
        if node.entries.get(i).is_none_or(|e| e.key != key) {
            return Err(MstError::KeyNotFound(key_text(key)));
        }
        let removed = node.entries.remove(i);
        let left = node.child_before(i).take();
        let merged = match layer.checked_sub(1) {
            Some(below) => merge(source, left, removed.right, below)?,
            None if left.is_none() && removed.right.is_none() => None,
            None => return Err(corrupt("child under layer 0")),
        };
        *node.child_before(i) = merged;
        return Ok((node, removed.value));
    }
    let below = layer
        .checked_sub(1)
        .ok_or_else(|| corrupt("key below layer 0"))?;
    let Some(child) = node.child_before(i).take() else {
        return Err(MstError::KeyNotFound(key_text(key)));
    };
    let child = child.into_node(source, below)?;
    let (child, removed) = remove(source, child, below, key, height)?;
    *node.child_before(i) = prune(child);
    Ok((node, removed))
}

/// Joins two subtrees of layer `layer` where every key of `a` is below every key of `b`.
fn merge(
    source: &dyn BlockSource,
    a: Option<Link>,
    b: Option<Link>,
    layer: u8,
) -> Result<Option<Link>, MstError> {
    let (a, b) = match (a, b) {
        (None, other) | (other, None) => return Ok(other),
        (Some(a), Some(b)) => (a, b),
    };
    let mut a = a.into_node(source, layer)?;
    let mut b = b.into_node(source, layer)?;
    let last = a.entries.len();
    let a_last = a.child_before(last).take();
    let b_first = b.left.take();
    let middle = match layer.checked_sub(1) {
        Some(below) => merge(source, a_last, b_first, below)?,
        None if a_last.is_none() && b_first.is_none() => None,
        None => return Err(corrupt("child under layer 0")),
    };
    *a.child_before(last) = middle;
    a.entries.append(&mut b.entries);
    a.cid = None;
    Ok(prune(a))
}
