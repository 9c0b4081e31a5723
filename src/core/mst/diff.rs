//! The difference between two trees, as the record operations that turn one into the other.
//!
//! Spec: <https://atproto.com/specs/repository>. Both trees are walked in key order together; a
//! subtree with the same CID on both sides is skipped without being read, so the cost follows the
//! size of the change, not of the repo.

use std::borrow::Cow;

use cid::Cid;

use super::node::{Link, Node};
use super::{BlockSource, Mst, MstError};

/// One key that differs: created (`old` is `None`), deleted (`new` is `None`) or updated.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DiffOp {
    pub key: String,
    pub old: Option<Cid>,
    pub new: Option<Cid>,
}

/// The operations that turn `old` into `new`, in key order. Subtrees are compared by CID only where
/// both CIDs are known (stored, or hashed by [`Mst::commit`]), so commit both trees first for speed.
pub fn diff(
    old: &Mst,
    old_source: &dyn BlockSource,
    new: &Mst,
    new_source: &dyn BlockSource,
) -> Result<Vec<DiffOp>, MstError> {
    old.check_usable()?;
    new.check_usable()?;
    let mut a = Walker::new(old_source, old);
    let mut b = Walker::new(new_source, new);
    let mut ops = Vec::new();
    let text = |k: &[u8]| String::from_utf8_lossy(k).into_owned();
    loop {
        match (a.current(), b.current()) {
            (None, None) => break,
            (Some(Item::Leaf(key, value)), None) => {
                ops.push(DiffOp {
                    key: text(&key),
                    old: Some(value),
                    new: None,
                });
                a.advance();
            }
            (None, Some(Item::Leaf(key, value))) => {
                ops.push(DiffOp {
                    key: text(&key),
                    old: None,
                    new: Some(value),
                });
                b.advance();
            }
            (Some(Item::Tree(..)), None) => a.step_into()?,
            (None, Some(Item::Tree(..))) => b.step_into()?,
            (Some(Item::Leaf(ka, va)), Some(Item::Leaf(kb, vb))) => {
                if ka == kb {
                    if va != vb {
                        ops.push(DiffOp {
                            key: text(&ka),
                            old: Some(va),
                            new: Some(vb),
                        });
                    }
                    a.advance();
                    b.advance();
                } else if ka < kb {
                    ops.push(DiffOp {
                        key: text(&ka),
                        old: Some(va),
                        new: None,
                    });
                    a.advance();
                } else {
                    ops.push(DiffOp {
                        key: text(&kb),
                        old: None,
                        new: Some(vb),
                    });
                    b.advance();
                }
            }
            (Some(Item::Tree(ca, la)), Some(Item::Tree(cb, lb))) => {
                if ca.is_some() && ca == cb {
                    a.advance();
                    b.advance();
                } else if la > lb {
                    a.step_into()?;
                } else if lb > la {
                    b.step_into()?;
                } else {
                    a.step_into()?;
                    b.step_into()?;
                }
            }
            (Some(Item::Leaf(..)), Some(Item::Tree(..))) => b.step_into()?,
            (Some(Item::Tree(..)), Some(Item::Leaf(..))) => a.step_into()?,
        }
    }
    Ok(ops)
}

/// What a walker is positioned on: a key, or a subtree (its CID if known, and its layer).
enum Item {
    Leaf(Vec<u8>, Cid),
    Tree(Option<Cid>, u8),
}

struct Frame<'a> {
    node: Cow<'a, Node>,
    /// Position among the node's items: 0 is the left child, `2k+1` entry k, `2k+2` entry k's right.
    pos: usize,
}

struct Walker<'a> {
    source: &'a dyn BlockSource,
    stack: Vec<Frame<'a>>,
    /// The root, before the walk has stepped into it.
    root: Option<(&'a Link, u8)>,
}

impl<'a> Walker<'a> {
    fn new(source: &'a dyn BlockSource, tree: &'a Mst) -> Self {
        Walker {
            source,
            stack: Vec::new(),
            root: tree.root.as_ref().map(|link| (link, tree.root_layer)),
        }
    }

    /// Moves past empty child slots and finished frames; returns the top frame's current slot.
    fn settle(&mut self) {
        while let Some(frame) = self.stack.last_mut() {
            let entries = frame.node.entries.len();
            if frame.pos > 2 * entries {
                self.stack.pop();
                if let Some(parent) = self.stack.last_mut() {
                    parent.pos += 1;
                }
                continue;
            }
            if frame.pos % 2 == 0 && frame.node.child_before_ref(frame.pos / 2).is_none() {
                frame.pos += 1;
                continue;
            }
            return;
        }
    }

    fn current(&mut self) -> Option<Item> {
        if let Some((link, layer)) = self.root {
            return Some(Item::Tree(link_cid(link), layer));
        }
        self.settle();
        let frame = self.stack.last()?;
        let layer = frame.node.layer;
        if frame.pos % 2 == 1 {
            let entry = &frame.node.entries[frame.pos / 2];
            return Some(Item::Leaf(entry.key.clone(), entry.value));
        }
        let child = frame.node.child_before_ref(frame.pos / 2)?;
        Some(Item::Tree(link_cid(child), layer.saturating_sub(1)))
    }

    fn advance(&mut self) {
        if self.root.take().is_some() {
            return;
        }
        self.settle();
        if let Some(frame) = self.stack.last_mut() {
            frame.pos += 1;
        }
    }

    /// Opens the subtree the walker is on, so its items come next.
    fn step_into(&mut self) -> Result<(), MstError> {
        if let Some((link, layer)) = self.root.take() {
            let node = link.view(self.source, layer)?;
            self.stack.push(Frame { node, pos: 0 });
            return Ok(());
        }
        self.settle();
        let Some(frame) = self.stack.last() else {
            return Ok(());
        };
        let layer = frame.node.layer.saturating_sub(1);
        let node = match &frame.node {
            Cow::Borrowed(node) => {
                let node: &'a Node = node;
                match node.child_before_ref(frame.pos / 2) {
                    Some(child) => child.view(self.source, layer)?,
                    None => return Ok(()),
                }
            }
            Cow::Owned(node) => match node.child_before_ref(frame.pos / 2) {
                Some(child) => Cow::Owned(child.view(self.source, layer)?.into_owned()),
                None => return Ok(()),
            },
        };
        self.stack.push(Frame { node, pos: 0 });
        Ok(())
    }
}

fn link_cid(link: &Link) -> Option<Cid> {
    match link {
        Link::Stored(cid) => Some(*cid),
        Link::Loaded(node) => node.cid,
    }
}
