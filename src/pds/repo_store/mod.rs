//! The repo tables' one owner: each account's repo head (commit and MST root), its MST nodes, its
//! records (with their index by CID) and the admin's record takedowns. Every way a repo changes goes
//! through here: a signed commit of record writes ([`commit`], which also appends the `#commit`
//! event), the empty first commit of a new account ([`init`]), a re-signed head after a key change
//! ([`resign`]), an imported repo ([`replace`]) and a deleted one ([`purge`]).
//!
//! Spec: <https://atproto.com/specs/repository> (commits, MST, record paths) and
//! <https://atproto.com/specs/sync> (`#commit` with covering proofs and `prevData`). Keys are the
//! account's interned id (see `account_store`).

mod blocks;
mod read;

use std::collections::BTreeMap;

use cid::Cid;
use redb::{ReadableTable, TableDefinition};

pub use read::{blocks_car, collections, counts, list_records, proof, write_export};

use self::blocks::{TableSource, block_value};
use super::blob_store::{self, RefChange};
use super::rows::{self, RecordRow, RepoRow};
use crate::core::car::write_car;
use crate::core::crypto::Keypair;
use crate::core::data::{self, BlobRef};
use crate::core::firehose::{CommitMessage, CommitOp, Message};
use crate::core::mst::{Block, Mst};
use crate::core::repo::{MAX_COMMIT_BLOCKS_LEN, UnsignedCommit};
use crate::core::syntax::Tid;
use crate::store::{EventLog, Reads, StoreError, WriteTransaction};

/// account id → repo head row (commit CID, commit block, rev, MST root).
const REPOS: TableDefinition<u64, &[u8]> = TableDefinition::new("pds.repos");
/// (account id, CID bytes) → rev TID (u64) ‖ MST node bytes.
const BLOCKS: TableDefinition<(u64, &[u8]), &[u8]> = TableDefinition::new("pds.blocks");
/// (account id, collection, rkey) → record row (CID, rev, record bytes).
const RECORDS: TableDefinition<(u64, &str, &str), &[u8]> = TableDefinition::new("pds.records");
/// (account id, record CID bytes, path) → (): finds record blocks by CID (getBlocks, proofs).
const RECORD_CIDS: TableDefinition<(u64, &[u8], &str), ()> =
    TableDefinition::new("pds.record_cids");
/// (account id, record path) → takedown reference: records hidden from every read.
const RECORD_TAKEDOWNS: TableDefinition<(u64, &str), &str> =
    TableDefinition::new("pds.record_takedowns");

/// A record path's parts.
#[derive(Clone, Copy, Debug)]
pub struct RecordPath<'a> {
    pub collection: &'a str,
    pub rkey: &'a str,
}

impl RecordPath<'_> {
    pub fn key(&self) -> String {
        format!("{}/{}", self.collection, self.rkey)
    }
}

/// A new version of a record.
pub struct NewRecord<'a> {
    pub cid: Cid,
    pub bytes: &'a [u8],
    pub blobs: &'a [BlobRef],
}

/// One record a commit changes: its current row (if any) and its new version (`None` deletes it).
pub struct Change<'a> {
    pub path: RecordPath<'a>,
    pub current: Option<&'a RecordRow>,
    pub new: Option<NewRecord<'a>>,
}

/// Who signs a commit and when: the repo's DID, its key, the new rev, and the event time.
pub struct Signer<'a> {
    pub did: &'a str,
    pub key: &'a Keypair,
    pub rev: Tid,
    pub time: String,
}

/// A durable commit.
pub struct Committed {
    pub cid: Cid,
    pub rev: String,
    /// Blobs no record of the account uses any more (their files may be unused now).
    pub orphaned: Vec<Cid>,
}

/// Why a commit was refused (nothing was written).
#[derive(Debug)]
pub struct TooBig;

fn corrupt(e: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(e.to_string())
}

/// The head of account `id`'s repo.
pub fn head(txn: &impl Reads, id: u64) -> Result<Option<RepoRow>, StoreError> {
    let Some(repos) = txn.table(REPOS)? else {
        return Ok(None);
    };
    rows::get(&repos, id)
}

fn set_head(txn: &WriteTransaction, id: u64, head: &RepoRow) -> Result<(), StoreError> {
    txn.open_table(REPOS)?
        .insert(id, rows::encode(head)?.as_slice())?;
    Ok(())
}

/// The current version of a record.
pub fn record(
    txn: &impl Reads,
    id: u64,
    path: RecordPath<'_>,
) -> Result<Option<RecordRow>, StoreError> {
    let Some(records) = txn.table(RECORDS)? else {
        return Ok(None);
    };
    rows::get(&records, (id, path.collection, path.rkey))
}

/// The current versions of several records, in order (one table open for all).
pub fn records<'a>(
    txn: &impl Reads,
    id: u64,
    paths: impl Iterator<Item = RecordPath<'a>>,
) -> Result<Vec<Option<RecordRow>>, StoreError> {
    let Some(records) = txn.table(RECORDS)? else {
        return Ok(paths.map(|_| None).collect());
    };
    paths
        .map(|path| rows::get(&records, (id, path.collection, path.rkey)))
        .collect()
}

/// A CAR holding only the head's commit block (a `#sync` event's blocks).
pub fn head_car(head: &RepoRow) -> Result<Vec<u8>, StoreError> {
    write_car(
        &[head.commit_cid],
        [(&head.commit_cid, head.commit_block.as_slice())],
    )
    .map_err(corrupt)
}

/// Signs `data` as `did`'s repo tree at `rev`.
fn sign(did: &str, key: &Keypair, rev: Tid, data: Cid) -> Result<RepoRow, StoreError> {
    let rev = rev.to_string();
    let commit = UnsignedCommit::new(did, data, &rev)
        .sign(key)
        .map_err(corrupt)?;
    let (commit_cid, commit_block) = commit.encode().map_err(corrupt)?;
    Ok(RepoRow {
        commit_cid,
        commit_block,
        rev,
        data,
    })
}

fn put_nodes(txn: &WriteTransaction, id: u64, rev: u64, nodes: &[Block]) -> Result<(), StoreError> {
    let mut table = txn.open_table(BLOCKS)?;
    for (cid, bytes) in nodes {
        table.insert(
            (id, cid.to_bytes().as_slice()),
            block_value(rev, bytes).as_slice(),
        )?;
    }
    Ok(())
}

/// The record table and its index by CID, open together for a batch of record writes.
struct RecordTables<'t> {
    records: redb::Table<'t, (u64, &'static str, &'static str), &'static [u8]>,
    cids: redb::Table<'t, (u64, &'static [u8], &'static str), ()>,
}

impl<'t> RecordTables<'t> {
    fn open(txn: &'t WriteTransaction) -> Result<Self, StoreError> {
        Ok(RecordTables {
            records: txn.open_table(RECORDS)?,
            cids: txn.open_table(RECORD_CIDS)?,
        })
    }

    /// Stores a record version (and its CID index entry) written at `rev`.
    fn put(
        &mut self,
        id: u64,
        path: RecordPath<'_>,
        cid: Cid,
        bytes: &[u8],
        rev: &str,
    ) -> Result<(), StoreError> {
        let row = RecordRow {
            cid,
            rev: rev.to_owned(),
            bytes: bytes.to_vec(),
        };
        let key = (id, path.collection, path.rkey);
        self.records.insert(key, rows::encode(&row)?.as_slice())?;
        self.cids
            .insert((id, cid.to_bytes().as_slice(), path.key().as_str()), ())?;
        Ok(())
    }

    /// Removes a record version's index entry (and, when `delete`, the record).
    fn remove(
        &mut self,
        id: u64,
        path: RecordPath<'_>,
        old: &RecordRow,
        delete: bool,
    ) -> Result<(), StoreError> {
        self.cids
            .remove((id, old.cid.to_bytes().as_slice(), path.key().as_str()))?;
        if delete {
            self.records.remove((id, path.collection, path.rkey))?;
        }
        Ok(())
    }
}

/// The blobs a stored record version uses.
fn blobs_of(row: &RecordRow) -> Result<Vec<Cid>, StoreError> {
    let value = data::decode_value(&row.bytes).map_err(corrupt)?;
    Ok(BlobRef::collect(&value)
        .into_iter()
        .map(|b| b.cid)
        .collect())
}

/// Creates account `id`'s repo: an empty tree under a commit signed by `signer`. Returns the head
/// and its `#commit` event (the commit and the tree's node), which the caller appends after the
/// new account's `#identity` and `#account` events.
pub fn init(
    txn: &WriteTransaction,
    id: u64,
    signer: &Signer<'_>,
) -> Result<(RepoRow, Message), StoreError> {
    let (root, nodes) = Mst::empty().commit().map_err(corrupt)?;
    let head = sign(signer.did, signer.key, signer.rev, root)?;
    let mut blocks: Vec<(&Cid, &[u8])> = vec![(&head.commit_cid, &head.commit_block)];
    blocks.extend(nodes.iter().map(|(c, b)| (c, b.as_slice())));
    let car = write_car(&[head.commit_cid], blocks).map_err(corrupt)?;
    put_nodes(txn, id, signer.rev.as_u64(), &nodes)?;
    set_head(txn, id, &head)?;
    let event = commit_event(signer, &head, None, car, Vec::new());
    Ok((head, event))
}

/// The `#commit` event of `head`, the commit after `prev` (none for a repo's first commit).
fn commit_event(
    signer: &Signer<'_>,
    head: &RepoRow,
    prev: Option<&RepoRow>,
    blocks: Vec<u8>,
    ops: Vec<CommitOp>,
) -> Message {
    Message::Commit(Box::new(CommitMessage {
        seq: 0,
        rebase: false,
        too_big: false,
        repo: signer.did.to_owned(),
        commit: head.commit_cid,
        rev: head.rev.clone(),
        since: prev.map(|p| p.rev.clone()),
        blocks,
        ops,
        blobs: Vec::new(),
        prev_data: prev.map(|p| p.data),
        time: signer.time.clone(),
    }))
}

/// Makes sure the head is signed by `signer.key`: a head signed by another key (an imported repo)
/// is signed again, same tree, at `signer.rev` or just past the head's rev. Returns the head
/// (`None`: the account has no repo).
pub fn resign(
    txn: &WriteTransaction,
    id: u64,
    signer: &Signer<'_>,
) -> Result<Option<RepoRow>, StoreError> {
    let Some(current) = head(txn, id)? else {
        return Ok(None);
    };
    let commit = crate::core::repo::Commit::decode(&current.commit_block).map_err(corrupt)?;
    if commit.verify(&signer.key.public_key()).is_ok() {
        return Ok(Some(current));
    }
    let past = Tid::parse(&current.rev).map_or(0, |t| t.as_u64() + 1);
    let rev = Tid::from_u64(signer.rev.as_u64().max(past));
    let head = sign(signer.did, signer.key, rev, current.data)?;
    set_head(txn, id, &head)?;
    Ok(Some(head))
}

/// Applies `changes` to account `id`'s repo at `head` in one commit signed by `signer`: the MST
/// (loaded lazily), the signed commit, new and replaced nodes, records, blob references, the new
/// head, and the `#commit` event in `log`. Refused (nothing written) when the event would exceed
/// the size a `#commit` may have.
pub fn commit(
    txn: &WriteTransaction,
    id: u64,
    head: &RepoRow,
    changes: &[Change<'_>],
    signer: &Signer<'_>,
    log: &EventLog,
) -> Result<Result<Committed, TooBig>, StoreError> {
    let mut block_table = txn.open_table(BLOCKS)?;
    let rev = signer.rev.to_string();
    let (new_root, new_nodes, removed, proof, ops) = {
        let source = TableSource::new(&block_table, id);
        let mut tree = Mst::load(&source, head.data)?;
        let mut ops = Vec::with_capacity(changes.len());
        for change in changes {
            let key = change.path.key();
            let prev = change.current.map(|r| r.cid);
            let action = match &change.new {
                Some(new) => {
                    tree.upsert(&source, &key, new.cid)?;
                    if prev.is_some() { "update" } else { "create" }
                }
                None => {
                    tree.remove(&source, &key)?;
                    "delete"
                }
            };
            ops.push(CommitOp {
                action: action.into(),
                path: key,
                cid: change.new.as_ref().map(|n| n.cid),
                prev,
            });
        }
        let (new_root, new_nodes) = tree.commit()?;
        let touched = tree.touched_cids()?;
        let removed: Vec<Cid> = source
            .fetched()
            .into_iter()
            .filter(|cid| !touched.contains(cid) && !new_nodes.iter().any(|(c, _)| c == cid))
            .collect();
        let keys: Vec<&str> = ops.iter().map(|op| op.path.as_str()).collect();
        let proof = tree.covering_proof(&source, &keys)?;
        (new_root, new_nodes, removed, proof, ops)
    };
    let new_head = sign(signer.did, signer.key, signer.rev, new_root)?;

    // The #commit event's CAR: commit, new nodes, proof nodes, new records.
    let mut event_blocks: BTreeMap<Cid, &[u8]> = BTreeMap::new();
    for (cid, bytes) in &new_nodes {
        event_blocks.insert(*cid, bytes);
    }
    for (cid, bytes) in proof.iter() {
        event_blocks.insert(*cid, bytes);
    }
    for new in changes.iter().filter_map(|c| c.new.as_ref()) {
        event_blocks.insert(new.cid, new.bytes);
    }
    let mut car_blocks: Vec<(&Cid, &[u8])> = vec![(&new_head.commit_cid, &new_head.commit_block)];
    car_blocks.extend(event_blocks.iter().map(|(c, b)| (c, *b)));
    let car = write_car(&[new_head.commit_cid], car_blocks).map_err(corrupt)?;
    if car.len() > MAX_COMMIT_BLOCKS_LEN {
        return Ok(Err(TooBig));
    }

    for cid in &removed {
        block_table.remove((id, cid.to_bytes().as_slice()))?;
    }
    drop(block_table);
    put_nodes(txn, id, signer.rev.as_u64(), &new_nodes)?;
    let mut tables = RecordTables::open(txn)?;
    let mut ref_changes = Vec::with_capacity(changes.len());
    let keys: Vec<String> = changes.iter().map(|c| c.path.key()).collect();
    for (change, key) in changes.iter().zip(&keys) {
        if let Some(old) = change.current {
            tables.remove(id, change.path, old, change.new.is_none())?;
        }
        if let Some(new) = &change.new {
            tables.put(id, change.path, new.cid, new.bytes, &rev)?;
        }
        ref_changes.push(RefChange {
            path: key,
            old: change
                .current
                .map(blobs_of)
                .transpose()?
                .unwrap_or_default(),
            new: change
                .new
                .iter()
                .flat_map(|n| n.blobs.iter().map(|b| b.cid))
                .collect(),
        });
    }
    drop(tables);
    let orphaned = blob_store::record_changes(txn, id, &ref_changes)?;
    set_head(txn, id, &new_head)?;
    log.append(txn, commit_event(signer, &new_head, Some(head), car, ops))?;
    Ok(Ok(Committed {
        cid: new_head.commit_cid,
        rev,
        orphaned,
    }))
}

/// A complete, verified repo to store in place of an account's.
pub struct Import {
    pub head: RepoRow,
    /// The MST's nodes.
    pub nodes: Vec<Block>,
    /// (path, CID, bytes) of every record.
    pub records: Vec<(String, Cid, Vec<u8>)>,
}

/// Replaces account `id`'s repo with `import` (its records' blob references with it).
pub fn replace(txn: &WriteTransaction, id: u64, import: &Import) -> Result<(), StoreError> {
    clear(txn, id)?;
    let rev = Tid::parse(&import.head.rev).map_or(0, |t| t.as_u64());
    put_nodes(txn, id, rev, &import.nodes)?;
    let mut tables = RecordTables::open(txn)?;
    let mut refs = Vec::new();
    for (path, cid, bytes) in &import.records {
        let (collection, rkey) = path.split_once('/').unwrap_or((path.as_str(), ""));
        let parts = RecordPath { collection, rkey };
        tables.put(id, parts, *cid, bytes, &import.head.rev)?;
        if let Ok(value) = data::decode_value(bytes) {
            refs.extend(
                BlobRef::collect(&value)
                    .into_iter()
                    .map(|b| (b.cid, path.clone())),
            );
        }
    }
    drop(tables);
    blob_store::replace_refs(txn, id, &refs)?;
    set_head(txn, id, &import.head)
}

/// Removes the nodes, records and CID index of account `id`.
fn clear(txn: &WriteTransaction, id: u64) -> Result<(), StoreError> {
    txn.open_table(BLOCKS)?
        .retain_in((id, &[][..])..(id + 1, &[][..]), |_, _| false)?;
    txn.open_table(RECORDS)?
        .retain_in((id, "", "")..(id + 1, "", ""), |_, _| false)?;
    txn.open_table(RECORD_CIDS)?
        .retain_in((id, &[][..], "")..(id + 1, &[][..], ""), |_, ()| false)?;
    Ok(())
}

/// Removes account `id`'s whole repo: head, nodes, records and record takedowns.
pub fn purge(txn: &WriteTransaction, id: u64) -> Result<(), StoreError> {
    clear(txn, id)?;
    txn.open_table(RECORD_TAKEDOWNS)?
        .retain_in((id, "")..(id + 1, ""), |_, _| false)?;
    txn.open_table(REPOS)?.remove(id)?;
    Ok(())
}

/// The admin's takedown reference of a record, if it is taken down.
pub fn takedown(txn: &impl Reads, id: u64, path: &str) -> Result<Option<String>, StoreError> {
    let Some(table) = txn.table(RECORD_TAKEDOWNS)? else {
        return Ok(None);
    };
    Ok(table.get((id, path))?.map(|v| v.value().to_owned()))
}

/// Hides a record from every read (`Some`) or shows it again (`None`).
pub fn set_takedown(
    txn: &WriteTransaction,
    id: u64,
    path: &str,
    takedown: Option<&str>,
) -> Result<(), StoreError> {
    let mut table = txn.open_table(RECORD_TAKEDOWNS)?;
    match takedown {
        Some(reference) => table.insert((id, path), reference)?,
        None => table.remove((id, path))?,
    };
    Ok(())
}
