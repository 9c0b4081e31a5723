//! The Merkle Search Tree that maps `collection/rkey` keys to record CIDs.
//!
//! Spec: <https://atproto.com/specs/repository#mst-structure>. The tree's shape depends only on its
//! keys: a key's layer is the number of leading zero bit pairs of SHA-256(key) (fanout 4); a node holds
//! keys of one layer, its children hold the layer below; empty nodes are pruned at the top and bottom
//! but kept in between.
//!
//! Nodes are loaded lazily from a [`BlockSource`], so an operation touches only the nodes on its path.
//! That is what makes a partial tree (the blocks of a `#commit`) enough to invert the commit's ops,
//! and what keeps a write to a big repo cheap.
//!
//! Does not: store anything. New node blocks come back from [`Mst::commit`] for the caller to persist.

mod diff;
mod height;
mod node;
mod ops;
mod proof;
mod walk;

use std::collections::HashMap;

use cid::Cid;

pub use diff::{DiffOp, diff};
pub use height::{is_valid_key, key_height};
pub use node::NodeData;

use node::{Link, Node};

/// A block: its CID and bytes.
pub type Block = (Cid, Vec<u8>);

/// One step of an export walk: a node block, or a record reference (key, record CID).
pub enum ExportItem<'a> {
    Node(&'a Cid, &'a [u8]),
    Record(&'a [u8], &'a Cid),
}

/// Called for each step of [`Mst::walk_export`].
pub type ExportVisitor<'a> = dyn FnMut(ExportItem<'_>) -> Result<(), MstError> + 'a;

/// Why an MST operation failed.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum MstError {
    /// A node the operation needs is not in the block source (a partial tree that lacks it).
    #[error("MST block {0} is missing")]
    MissingBlock(Cid),
    /// A node does not decode or breaks a structural rule.
    #[error("invalid MST node {cid}: {reason}")]
    InvalidNode { cid: Cid, reason: String },
    /// The key is not `collection/rkey` in the allowed characters.
    #[error("invalid MST key {0:?}")]
    InvalidKey(String),
    /// Delete or update of a key the tree does not hold.
    #[error("key {0:?} is not in the tree")]
    KeyNotFound(String),
    /// Create of a key the tree already holds.
    #[error("key {0:?} is already in the tree")]
    KeyExists(String),
    /// An earlier operation on this tree failed part way; the tree must be discarded.
    #[error("the tree was left unusable by an earlier failed operation")]
    Poisoned,
    /// The block source failed (storage error), not the tree.
    #[error("block source: {0}")]
    Source(String),
}

/// Where MST nodes are read from: the store, a CAR file, a `#commit`'s blocks.
pub trait BlockSource {
    /// The bytes of the block with this CID, or `None` if the source does not hold it.
    fn get_block(&self, cid: &Cid) -> Result<Option<Vec<u8>>, MstError>;
}

/// An in-memory block map, for CAR files, commit slices and tests.
#[derive(Clone, Debug, Default)]
pub struct MemoryBlocks {
    blocks: HashMap<Cid, Vec<u8>>,
}

impl MemoryBlocks {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn insert(&mut self, cid: Cid, bytes: Vec<u8>) {
        self.blocks.insert(cid, bytes);
    }

    pub fn get(&self, cid: &Cid) -> Option<&[u8]> {
        self.blocks.get(cid).map(Vec::as_slice)
    }

    pub fn contains(&self, cid: &Cid) -> bool {
        self.blocks.contains_key(cid)
    }

    pub fn len(&self) -> usize {
        self.blocks.len()
    }

    pub fn is_empty(&self) -> bool {
        self.blocks.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = (&Cid, &Vec<u8>)> {
        self.blocks.iter()
    }

    pub fn extend(&mut self, blocks: impl IntoIterator<Item = (Cid, Vec<u8>)>) {
        self.blocks.extend(blocks);
    }
}

impl BlockSource for MemoryBlocks {
    fn get_block(&self, cid: &Cid) -> Result<Option<Vec<u8>>, MstError> {
        Ok(self.blocks.get(cid).cloned())
    }
}

impl<T: BlockSource + ?Sized> BlockSource for &T {
    fn get_block(&self, cid: &Cid) -> Result<Option<Vec<u8>>, MstError> {
        (**self).get_block(cid)
    }
}

/// A Merkle Search Tree, partly in memory and partly in a [`BlockSource`].
///
/// A failed `insert`/`update`/`upsert`/`remove` leaves the tree poisoned: every later operation
/// returns [`MstError::Poisoned`]. Callers that expect a key to exist (or not) check with
/// [`Mst::get`] first; any other failure (a missing block, a corrupt node) means the tree must be
/// discarded anyway.
#[derive(Clone, Debug)]
pub struct Mst {
    /// `None` is the empty tree.
    root: Option<Link>,
    /// Layer of the root node (meaningless for the empty tree).
    root_layer: u8,
    poisoned: bool,
}

impl Default for Mst {
    fn default() -> Self {
        Self::empty()
    }
}

impl Mst {
    /// The empty tree.
    pub fn empty() -> Mst {
        Mst {
            root: None,
            root_layer: 0,
            poisoned: false,
        }
    }

    /// A tree whose root is the node with this CID; nothing is read until an operation needs it,
    /// except the root itself, whose layer must be known.
    pub fn load(source: &dyn BlockSource, root: Cid) -> Result<Mst, MstError> {
        let node = Node::load_root(source, &root)?;
        if node.is_empty() {
            return Ok(Mst::empty());
        }
        Ok(Mst {
            root_layer: node.layer,
            root: Some(Link::Loaded(Box::new(node))),
            poisoned: false,
        })
    }

    /// Builds a tree holding exactly these entries.
    pub fn from_entries(entries: impl IntoIterator<Item = (String, Cid)>) -> Result<Mst, MstError> {
        let mut mst = Mst::empty();
        let none = MemoryBlocks::new();
        for (key, value) in entries {
            mst.insert(&none, &key, value)?;
        }
        Ok(mst)
    }

    pub fn is_empty(&self) -> bool {
        self.root.is_none()
    }

    fn check_usable(&self) -> Result<(), MstError> {
        if self.poisoned {
            return Err(MstError::Poisoned);
        }
        Ok(())
    }

    /// Adds a key that must not be present.
    pub fn insert(
        &mut self,
        source: &dyn BlockSource,
        key: &str,
        value: Cid,
    ) -> Result<(), MstError> {
        self.put(source, key, value, ops::PutMode::Create)
    }

    /// Replaces the value of a key that must be present.
    pub fn update(
        &mut self,
        source: &dyn BlockSource,
        key: &str,
        value: Cid,
    ) -> Result<(), MstError> {
        self.put(source, key, value, ops::PutMode::Update)
    }

    /// Adds or replaces a key.
    pub fn upsert(
        &mut self,
        source: &dyn BlockSource,
        key: &str,
        value: Cid,
    ) -> Result<(), MstError> {
        self.put(source, key, value, ops::PutMode::Upsert)
    }

    fn put(
        &mut self,
        source: &dyn BlockSource,
        key: &str,
        value: Cid,
        mode: ops::PutMode,
    ) -> Result<(), MstError> {
        self.check_usable()?;
        if !is_valid_key(key.as_bytes()) {
            return Err(MstError::InvalidKey(key.to_owned()));
        }
        let height = key_height(key.as_bytes());
        self.poisoned = true;
        let (root, layer) = ops::put_root(
            source,
            self.root.take(),
            self.root_layer,
            key.as_bytes(),
            height,
            value,
            mode,
        )?;
        self.root = Some(root);
        self.root_layer = layer;
        self.poisoned = false;
        Ok(())
    }

    /// Removes a key that must be present; returns the value it held.
    pub fn remove(&mut self, source: &dyn BlockSource, key: &str) -> Result<Cid, MstError> {
        self.check_usable()?;
        let Some(root) = self.root.take() else {
            return Err(MstError::KeyNotFound(key.to_owned()));
        };
        self.poisoned = true;
        let (root, layer, removed) =
            ops::remove_root(source, root, self.root_layer, key.as_bytes())?;
        self.root = root;
        self.root_layer = layer;
        self.poisoned = false;
        Ok(removed)
    }

    /// The value stored under `key`, if any.
    pub fn get(&self, source: &dyn BlockSource, key: &str) -> Result<Option<Cid>, MstError> {
        self.check_usable()?;
        match &self.root {
            None => Ok(None),
            Some(root) => walk::get(source, root, self.root_layer, key.as_bytes()),
        }
    }

    /// Every `(key, value)` in key order.
    pub fn entries(&self, source: &dyn BlockSource) -> Result<Vec<(String, Cid)>, MstError> {
        self.check_usable()?;
        let mut out = Vec::new();
        if let Some(root) = &self.root {
            walk::collect(source, root, self.root_layer, &mut |key, value| {
                out.push((String::from_utf8_lossy(key).into_owned(), value));
                true
            })?;
        }
        Ok(out)
    }

    /// Entries with `from <= key < to` (either bound open), in key order, at most `limit`.
    pub fn range(
        &self,
        source: &dyn BlockSource,
        from: Option<&str>,
        to: Option<&str>,
        limit: usize,
    ) -> Result<Vec<(String, Cid)>, MstError> {
        self.check_usable()?;
        let mut out = Vec::new();
        if let Some(root) = &self.root {
            walk::range(
                source,
                root,
                self.root_layer,
                from.map(str::as_bytes),
                to.map(str::as_bytes),
                &mut |key, value| {
                    out.push((String::from_utf8_lossy(key).into_owned(), value));
                    out.len() < limit
                },
            )?;
        }
        Ok(out)
    }

    /// The CIDs of every node held in memory and of every stored subtree they point at: the part of
    /// the tree an operation touched. A node read from the store whose CID is not in this set after
    /// an operation was replaced by it (its block is garbage).
    pub fn touched_cids(&mut self) -> Result<std::collections::HashSet<Cid>, MstError> {
        self.commit()?;
        let mut out = std::collections::HashSet::new();
        if let Some(root) = &self.root {
            walk::known_cids(root, &mut out);
        }
        Ok(out)
    }

    /// Computes the root CID, returning the blocks of every node changed since the tree was loaded
    /// (the new blocks a commit must store). The tree stays usable and clean afterwards.
    pub fn commit(&mut self) -> Result<(Cid, Vec<Block>), MstError> {
        self.check_usable()?;
        let mut blocks = Vec::new();
        let cid = match &mut self.root {
            None => {
                let (cid, bytes) = node::encode_empty();
                blocks.push((cid, bytes));
                cid
            }
            Some(root) => root.finalize(&mut blocks)?,
        };
        Ok((cid, blocks))
    }

    /// The root CID (computing changed nodes without returning their blocks).
    pub fn root_cid(&mut self) -> Result<Cid, MstError> {
        self.commit().map(|(cid, _)| cid)
    }

    /// The blocks a consumer needs to prove the presence or absence of each key, and to invert
    /// operations on them (the sync 1.1 covering proof). Computes the root first.
    pub fn covering_proof(
        &mut self,
        source: &dyn BlockSource,
        keys: &[&str],
    ) -> Result<MemoryBlocks, MstError> {
        self.commit()?;
        let mut out = MemoryBlocks::new();
        match &self.root {
            None => {
                let (cid, bytes) = node::encode_empty();
                out.insert(cid, bytes);
            }
            Some(root) => {
                // The root is always part of the proof, even for a commit without ops.
                let (cid, bytes) = root.block(source)?;
                out.insert(cid, bytes);
                for key in keys {
                    proof::covering(source, root, self.root_layer, key.as_bytes(), &mut out)?;
                }
            }
        }
        Ok(out)
    }

    /// Walks the tree in the streamable export order: each node's block, then its slots in order
    /// (a subtree recursively, or a record reference). Computes changed nodes first.
    pub fn walk_export(
        &mut self,
        source: &dyn BlockSource,
        visit: &mut ExportVisitor<'_>,
    ) -> Result<(), MstError> {
        self.commit()?;
        match &self.root {
            None => {
                let (cid, bytes) = node::encode_empty();
                visit(ExportItem::Node(&cid, &bytes))
            }
            Some(root) => walk::export(source, root, self.root_layer, visit),
        }
    }
}

#[cfg(test)]
mod tests;
