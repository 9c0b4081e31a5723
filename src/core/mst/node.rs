//! MST nodes: the in-memory form, lazy links to stored children, and the DRISL node encoding.
//!
//! Spec: <https://atproto.com/specs/repository#mst-structure>. Encoded node:
//! `{l: CID|null, e: [{p: shared-prefix length, k: key suffix bytes, v: record CID, t: CID|null}]}`.

use cid::Cid;
use serde::{Deserialize, Serialize};

use super::{BlockSource, MstError, key_height};
use crate::core::data;

/// A child pointer: either a CID not yet read, or a node held in memory.
#[derive(Clone, Debug)]
pub enum Link {
    Stored(Cid),
    Loaded(Box<Node>),
}

/// One key of a node and the subtree to its right.
#[derive(Clone, Debug)]
pub struct Entry {
    pub key: Vec<u8>,
    pub value: Cid,
    pub right: Option<Link>,
}

/// A node in memory. `cid` caches the CID while the node is unchanged since it was loaded or last
/// hashed; any change clears it.
#[derive(Clone, Debug)]
pub struct Node {
    pub layer: u8,
    pub left: Option<Link>,
    pub entries: Vec<Entry>,
    pub cid: Option<Cid>,
}

/// The serialized node, as it appears in blocks.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct NodeData {
    pub l: Option<Cid>,
    pub e: Vec<EntryData>,
}

/// A serialized entry.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct EntryData {
    pub p: u64,
    #[serde(with = "serde_bytes")]
    pub k: Vec<u8>,
    pub v: Cid,
    pub t: Option<Cid>,
}

/// The block of the empty tree's single node.
pub fn encode_empty() -> (Cid, Vec<u8>) {
    let data = NodeData {
        l: None,
        e: Vec::new(),
    };
    // Encoding a fixed, float-free structure cannot fail.
    let bytes = data::encode(&data).unwrap_or_default();
    (data::cid_for_cbor(&bytes), bytes)
}

fn invalid(cid: &Cid, reason: impl Into<String>) -> MstError {
    MstError::InvalidNode {
        cid: *cid,
        reason: reason.into(),
    }
}

fn read_block(source: &dyn BlockSource, cid: &Cid) -> Result<Vec<u8>, MstError> {
    source.get_block(cid)?.ok_or(MstError::MissingBlock(*cid))
}

fn decode(cid: &Cid, bytes: &[u8]) -> Result<NodeData, MstError> {
    data::decode::<NodeData>(bytes).map_err(|e| invalid(cid, e.to_string()))
}

impl Node {
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty() && self.left.is_none()
    }

    /// Reads a node whose layer the parent already knows; every key must be of that layer.
    pub fn load(source: &dyn BlockSource, cid: &Cid, layer: u8) -> Result<Node, MstError> {
        let bytes = read_block(source, cid)?;
        let data = decode(cid, &bytes)?;
        Node::from_data(cid, data, Some(layer))
    }

    /// Reads a root node, working out its layer from its keys (or, for a root with no keys but a
    /// child, from the child: such a root is not canonical but must still be readable).
    pub fn load_root(source: &dyn BlockSource, cid: &Cid) -> Result<Node, MstError> {
        let bytes = read_block(source, cid)?;
        let data = decode(cid, &bytes)?;
        if data.e.is_empty() {
            let layer = match &data.l {
                None => 0,
                Some(child) => {
                    let child = Node::load_root(source, child)?;
                    child
                        .layer
                        .checked_add(1)
                        .ok_or_else(|| invalid(cid, "tree too deep"))?
                }
            };
            return Node::from_data(cid, data, Some(layer));
        }
        Node::from_data(cid, data, None)
    }

    fn from_data(cid: &Cid, data: NodeData, layer: Option<u8>) -> Result<Node, MstError> {
        let mut entries: Vec<Entry> = Vec::with_capacity(data.e.len());
        let mut previous: Vec<u8> = Vec::new();
        let mut node_layer = layer;
        for (i, entry) in data.e.into_iter().enumerate() {
            let prefix =
                usize::try_from(entry.p).map_err(|_| invalid(cid, "prefix length too large"))?;
            if i == 0 && prefix != 0 {
                return Err(invalid(cid, "first entry must have prefix length 0"));
            }
            if prefix > previous.len() {
                return Err(invalid(cid, "prefix longer than the previous key"));
            }
            let mut key = Vec::with_capacity(prefix + entry.k.len());
            key.extend_from_slice(&previous[..prefix]);
            key.extend_from_slice(&entry.k);
            if i > 0 && key <= previous {
                return Err(invalid(cid, "keys are not in strictly increasing order"));
            }
            let height = key_height(&key);
            match node_layer {
                None => node_layer = Some(height),
                Some(l) if l != height => {
                    return Err(invalid(
                        cid,
                        format!("key of height {height} in a node of layer {l}"),
                    ));
                }
                Some(_) => {}
            }
            previous.clone_from(&key);
            entries.push(Entry {
                key,
                value: entry.v,
                right: entry.t.map(Link::Stored),
            });
        }
        let layer = node_layer.unwrap_or(0);
        let has_children = data.l.is_some() || entries.iter().any(|e| e.right.is_some());
        if layer == 0 && has_children {
            return Err(invalid(cid, "a node of layer 0 cannot have children"));
        }
        Ok(Node {
            layer,
            left: data.l.map(Link::Stored),
            entries,
            cid: Some(*cid),
        })
    }

    /// The child pointer just before entry `i` (the left pointer when `i` is 0).
    pub fn child_before(&mut self, i: usize) -> &mut Option<Link> {
        if i == 0 {
            &mut self.left
        } else {
            &mut self.entries[i - 1].right
        }
    }

    /// Read-only view of [`Node::child_before`].
    pub fn child_before_ref(&self, i: usize) -> Option<&Link> {
        if i == 0 {
            self.left.as_ref()
        } else {
            self.entries[i - 1].right.as_ref()
        }
    }

    /// The serialized form; child CIDs must already be known (see [`Link::finalize`]).
    fn to_data(&self) -> Result<NodeData, MstError> {
        let mut e = Vec::with_capacity(self.entries.len());
        let mut previous: &[u8] = &[];
        for entry in &self.entries {
            let prefix = common_prefix_len(previous, &entry.key);
            e.push(EntryData {
                p: prefix as u64,
                k: entry.key[prefix..].to_vec(),
                v: entry.value,
                t: entry.right.as_ref().map(Link::known_cid).transpose()?,
            });
            previous = &entry.key;
        }
        Ok(NodeData {
            l: self.left.as_ref().map(Link::known_cid).transpose()?,
            e,
        })
    }

    /// Encodes the node (children must be finalized) and returns its CID and bytes.
    pub fn encode(&self) -> Result<(Cid, Vec<u8>), MstError> {
        let data = self.to_data()?;
        let bytes = data::encode(&data).map_err(|e| MstError::Source(e.to_string()))?;
        Ok((data::cid_for_cbor(&bytes), bytes))
    }
}

/// Number of leading bytes two keys share.
pub fn common_prefix_len(a: &[u8], b: &[u8]) -> usize {
    a.iter().zip(b).take_while(|(x, y)| x == y).count()
}

impl Link {
    /// The CID of a stored link or of a loaded node that has been hashed.
    pub fn known_cid(&self) -> Result<Cid, MstError> {
        match self {
            Link::Stored(cid) => Ok(*cid),
            Link::Loaded(node) => node
                .cid
                .ok_or_else(|| MstError::Source("child node not finalized".into())),
        }
    }

    /// Takes the node out of the link, reading it if it is only stored.
    pub fn into_node(self, source: &dyn BlockSource, layer: u8) -> Result<Node, MstError> {
        match self {
            Link::Stored(cid) => Node::load(source, &cid, layer),
            Link::Loaded(node) => Ok(*node),
        }
    }

    /// Hashes every changed node under (and including) this link, bottom up, pushing the new
    /// blocks; returns this link's CID.
    pub fn finalize(&mut self, blocks: &mut Vec<super::Block>) -> Result<Cid, MstError> {
        match self {
            Link::Stored(cid) => Ok(*cid),
            Link::Loaded(node) => {
                if let Some(cid) = node.cid {
                    return Ok(cid);
                }
                if let Some(left) = &mut node.left {
                    left.finalize(blocks)?;
                }
                for entry in &mut node.entries {
                    if let Some(right) = &mut entry.right {
                        right.finalize(blocks)?;
                    }
                }
                let (cid, bytes) = node.encode()?;
                node.cid = Some(cid);
                blocks.push((cid, bytes));
                Ok(cid)
            }
        }
    }

    /// The node behind the link, reading it (without keeping it) if it is only stored.
    pub fn view<'a>(
        &'a self,
        source: &dyn BlockSource,
        layer: u8,
    ) -> Result<std::borrow::Cow<'a, Node>, MstError> {
        match self {
            Link::Stored(cid) => Ok(std::borrow::Cow::Owned(Node::load(source, cid, layer)?)),
            Link::Loaded(node) => Ok(std::borrow::Cow::Borrowed(node)),
        }
    }

    /// The bytes of this node's block, for proofs and exports (the node must be finalized).
    pub fn block(&self, source: &dyn BlockSource) -> Result<(Cid, Vec<u8>), MstError> {
        match self {
            Link::Stored(cid) => Ok((*cid, read_block(source, cid)?)),
            Link::Loaded(node) => node.encode(),
        }
    }
}
