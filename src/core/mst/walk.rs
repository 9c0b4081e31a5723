//! Read-only walks: point lookups, ordered listing, ranges, and the pre-order node walk used for
//! CAR exports. Stored nodes are read on the way and not kept.
//!
//! Spec: <https://atproto.com/specs/repository#mst-structure>.

use cid::Cid;

use super::node::{Link, Node};
use super::{BlockSource, ExportItem, ExportVisitor, MstError};

fn below(layer: u8) -> Result<u8, MstError> {
    layer
        .checked_sub(1)
        .ok_or_else(|| MstError::Source("inconsistent tree: child under layer 0".into()))
}

pub fn get(
    source: &dyn BlockSource,
    link: &Link,
    layer: u8,
    key: &[u8],
) -> Result<Option<Cid>, MstError> {
    let node = link.view(source, layer)?;
    let i = node.entries.partition_point(|e| e.key.as_slice() < key);
    if let Some(entry) = node.entries.get(i)
        && entry.key == key
    {
        return Ok(Some(entry.value));
    }
    match node.child_before_ref(i) {
        None => Ok(None),
        Some(child) => get(source, child, below(layer)?, key),
    }
}

/// Calls `f` with every entry in key order until it returns false; returns whether it ran to the end.
pub fn collect(
    source: &dyn BlockSource,
    link: &Link,
    layer: u8,
    f: &mut dyn FnMut(&[u8], Cid) -> bool,
) -> Result<bool, MstError> {
    range(source, link, layer, None, None, f)
}

/// Like [`collect`], limited to `from <= key < to`, skipping subtrees outside the range unread.
pub fn range(
    source: &dyn BlockSource,
    link: &Link,
    layer: u8,
    from: Option<&[u8]>,
    to: Option<&[u8]>,
    f: &mut dyn FnMut(&[u8], Cid) -> bool,
) -> Result<bool, MstError> {
    let node = link.view(source, layer)?;
    let count = node.entries.len();
    for i in 0..=count {
        // The child before entry i holds keys between entry i-1 and entry i.
        let upper = node.entries.get(i).map(|e| e.key.as_slice());
        let lower = i.checked_sub(1).map(|j| node.entries[j].key.as_slice());
        let child_below_from = matches!((upper, from), (Some(u), Some(f)) if u <= f);
        let child_above_to = matches!((lower, to), (Some(l), Some(t)) if l >= t);
        if let Some(child) = node.child_before_ref(i)
            && !child_below_from
            && !child_above_to
            && !range(source, child, below(layer)?, from, to, f)?
        {
            return Ok(false);
        }
        if let Some(entry) = node.entries.get(i) {
            if to.is_some_and(|t| entry.key.as_slice() >= t) {
                return Ok(false);
            }
            if from.is_none_or(|fr| entry.key.as_slice() >= fr) && !f(&entry.key, entry.value) {
                return Ok(false);
            }
        }
    }
    Ok(true)
}

/// Visits a node's block, then its slots in order: subtrees recursively, records as references.
pub fn export(
    source: &dyn BlockSource,
    link: &Link,
    layer: u8,
    visit: &mut ExportVisitor<'_>,
) -> Result<(), MstError> {
    let (cid, bytes) = link.block(source)?;
    visit(ExportItem::Node(&cid, &bytes))?;
    let node: std::borrow::Cow<'_, Node> = link.view(source, layer)?;
    for i in 0..=node.entries.len() {
        if let Some(child) = node.child_before_ref(i) {
            export(source, child, below(layer)?, visit)?;
        }
        if let Some(entry) = node.entries.get(i) {
            visit(ExportItem::Record(&entry.key, &entry.value))?;
        }
    }
    Ok(())
}

/// Collects the CIDs of in-memory nodes and of the stored links they hold, without reading anything.
pub fn known_cids(link: &Link, out: &mut std::collections::HashSet<Cid>) {
    match link {
        Link::Stored(cid) => {
            out.insert(*cid);
        }
        Link::Loaded(node) => {
            if let Some(cid) = node.cid {
                out.insert(cid);
            }
            if let Some(left) = &node.left {
                known_cids(left, out);
            }
            for entry in &node.entries {
                if let Some(right) = &entry.right {
                    known_cids(right, out);
                }
            }
        }
    }
}
