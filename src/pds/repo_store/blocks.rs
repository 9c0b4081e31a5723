//! The MST's view of one account's stored nodes: a [`BlockSource`] over the `pds.blocks` table (read
//! or write transaction), remembering which CIDs it handed out so a write can tell which nodes it
//! replaced.
//!
//! A stored block value is the rev that wrote it (a TID as u64, big-endian) followed by the node
//! bytes; the rev lets `getRepo?since=` send only what changed.

use std::cell::RefCell;
use std::collections::HashSet;

use cid::Cid;
use redb::ReadableTable;

use crate::core::mst::{BlockSource, MstError};

/// Bytes of the rev prefix on each stored block.
pub const REV_PREFIX: usize = 8;

/// Builds a stored block value.
pub fn block_value(rev: u64, bytes: &[u8]) -> Vec<u8> {
    let mut value = Vec::with_capacity(REV_PREFIX + bytes.len());
    value.extend_from_slice(&rev.to_be_bytes());
    value.extend_from_slice(bytes);
    value
}

/// Splits a stored block value into (rev, bytes).
pub fn split_value(value: &[u8]) -> (u64, &[u8]) {
    if value.len() < REV_PREFIX {
        return (0, value);
    }
    let (rev, bytes) = value.split_at(REV_PREFIX);
    let mut raw = [0u8; REV_PREFIX];
    raw.copy_from_slice(rev);
    (u64::from_be_bytes(raw), bytes)
}

pub struct TableSource<'t, T> {
    table: &'t T,
    account: u64,
    fetched: RefCell<HashSet<Cid>>,
}

impl<'t, T> TableSource<'t, T>
where
    T: ReadableTable<(u64, &'static [u8]), &'static [u8]>,
{
    pub fn new(table: &'t T, account: u64) -> Self {
        TableSource {
            table,
            account,
            fetched: RefCell::new(HashSet::new()),
        }
    }

    /// Every CID read through this source so far.
    pub fn fetched(&self) -> HashSet<Cid> {
        self.fetched.borrow().clone()
    }
}

impl<T> BlockSource for TableSource<'_, T>
where
    T: ReadableTable<(u64, &'static [u8]), &'static [u8]>,
{
    fn get_block(&self, cid: &Cid) -> Result<Option<Vec<u8>>, MstError> {
        let key = cid.to_bytes();
        let value = self
            .table
            .get((self.account, key.as_slice()))
            .map_err(|e| MstError::Source(e.to_string()))?;
        Ok(value.map(|v| {
            self.fetched.borrow_mut().insert(*cid);
            split_value(v.value()).1.to_vec()
        }))
    }
}
