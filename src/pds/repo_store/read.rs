//! Reading a repo's tables: record pages and collections, counts, the streamed export (whole, or the
//! blocks since a rev), covering proofs, and blocks by CID.
//!
//! Spec: <https://atproto.com/specs/repository> (the CAR export's block order) and
//! <https://atproto.com/specs/sync> (`getRepo`, `getRecord` proofs, `getBlocks`).

use std::io::Write;

use cid::Cid;
use redb::ReadableTable;

use super::blocks::{TableSource, split_value};
use super::{BLOCKS, RECORD_CIDS, RECORD_TAKEDOWNS, RECORDS, RecordPath, corrupt, record};
use crate::core::car::CarWriter;
use crate::core::mst::{ExportItem, Mst, MstError};
use crate::core::syntax::Tid;
use crate::pds::rows::{self, RecordRow, RepoRow};
use crate::store::{Reads, StoreError};

/// Records of one collection as (rkey, row), in the order asked for.
pub type RecordPage = Vec<(String, RecordRow)>;

/// The smallest string above every `collection/<rkey>` key: the end of a collection's range.
fn after(collection: &str) -> String {
    format!("{collection}\0")
}

/// Up to `limit` records of `collection` by record key, newest first unless `reverse`, after the
/// record key `cursor`; records the admin took down are skipped.
pub fn list_records(
    txn: &impl Reads,
    id: u64,
    collection: &str,
    limit: usize,
    cursor: Option<&str>,
    reverse: bool,
) -> Result<RecordPage, StoreError> {
    let Some(records) = txn.table(RECORDS)? else {
        return Ok(Vec::new());
    };
    let takedowns = txn.table(RECORD_TAKEDOWNS)?;
    let end = after(collection);
    let range = if reverse {
        let start = cursor.unwrap_or("");
        records.range((id, collection, start)..(id, end.as_str(), ""))?
    } else {
        let upper = match cursor {
            Some(c) => (id, collection, c),
            None => (id, end.as_str(), ""),
        };
        records.range((id, collection, "")..upper)?
    };
    let rows: Box<dyn Iterator<Item = _>> = if reverse {
        Box::new(range)
    } else {
        Box::new(range.rev())
    };
    let mut out = Vec::new();
    for row in rows {
        let (k, v) = row?;
        let (_, collection, rkey) = k.value();
        if reverse && cursor == Some(rkey) {
            continue;
        }
        let path = format!("{collection}/{rkey}");
        if let Some(t) = &takedowns
            && t.get((id, path.as_str()))?.is_some()
        {
            continue;
        }
        out.push((rkey.to_owned(), rows::decode(v.value())?));
        if out.len() >= limit {
            break;
        }
    }
    Ok(out)
}

/// The collections account `id` holds records in.
pub fn collections(txn: &impl Reads, id: u64) -> Result<Vec<String>, StoreError> {
    let Some(records) = txn.table(RECORDS)? else {
        return Ok(Vec::new());
    };
    let mut out: Vec<String> = Vec::new();
    let mut from = String::new();
    while let Some(row) = records
        .range((id, from.as_str(), "")..(id + 1, "", ""))?
        .next()
    {
        let collection = row?.0.value().1.to_owned();
        from = after(&collection);
        out.push(collection);
    }
    Ok(out)
}

/// How many MST nodes and records account `id`'s repo holds.
pub fn counts(txn: &impl Reads, id: u64) -> Result<(u64, u64), StoreError> {
    let count = |n: usize| u64::try_from(n).unwrap_or(u64::MAX);
    let blocks = match txn.table(BLOCKS)? {
        Some(t) => count(t.range((id, &[][..])..(id + 1, &[][..]))?.count()),
        None => 0,
    };
    let records = match txn.table(RECORDS)? {
        Some(t) => count(t.range((id, "", "")..(id + 1, "", ""))?.count()),
        None => 0,
    };
    Ok((blocks, records))
}

/// Writes account `id`'s repo at `head` as a CAR into `out`: the whole repo in the streamable
/// order, or (with `since`) the commit and the nodes and records written after that rev.
pub fn write_export(
    txn: &impl Reads,
    id: u64,
    head: &RepoRow,
    since: Option<u64>,
    out: impl Write,
) -> Result<(), StoreError> {
    let blocks = txn
        .table(BLOCKS)?
        .ok_or_else(|| corrupt("the repo has no blocks"))?;
    let records = txn.table(RECORDS)?;
    let mut car = CarWriter::new(out, &[head.commit_cid]).map_err(corrupt)?;
    car.write_block(&head.commit_cid, &head.commit_block)
        .map_err(corrupt)?;
    if let Some(since) = since {
        for row in blocks.range((id, &[][..])..(id + 1, &[][..]))? {
            let (key, value) = row?;
            let (rev, bytes) = split_value(value.value());
            if rev > since
                && let Ok(cid) = Cid::try_from(key.value().1)
            {
                car.write_block(&cid, bytes).map_err(corrupt)?;
            }
        }
        if let Some(records) = &records {
            for row in records.range((id, "", "")..(id + 1, "", ""))? {
                let record: RecordRow = rows::decode(row?.1.value())?;
                if Tid::parse(&record.rev).is_ok_and(|r| r.as_u64() > since) {
                    car.write_block(&record.cid, &record.bytes)
                        .map_err(corrupt)?;
                }
            }
        }
        car.finish().flush()?;
        return Ok(());
    }
    let source = TableSource::new(&blocks, id);
    let mut tree = Mst::load(&source, head.data)?;
    let mut failure: Option<StoreError> = None;
    let walked = tree.walk_export(&source, &mut |item| {
        let written = match item {
            ExportItem::Node(cid, bytes) => car.write_block(cid, bytes).map_err(corrupt),
            ExportItem::Record(key, cid) => export_record(records.as_ref(), id, key, cid)
                .and_then(|bytes| car.write_block(cid, &bytes).map_err(corrupt)),
        };
        written.map_err(|e| {
            let message = e.to_string();
            failure = Some(e);
            MstError::Source(message)
        })
    });
    if let Some(e) = failure {
        return Err(e);
    }
    walked?;
    car.finish().flush()?;
    Ok(())
}

/// The bytes of the record at MST key `key`, which must have `cid`.
fn export_record<T: ReadableTable<(u64, &'static str, &'static str), &'static [u8]>>(
    records: Option<&T>,
    id: u64,
    key: &[u8],
    cid: &Cid,
) -> Result<Vec<u8>, StoreError> {
    let key = std::str::from_utf8(key).map_err(corrupt)?;
    let (collection, rkey) = key.split_once('/').unwrap_or((key, ""));
    let missing = || corrupt(format!("record {key} is missing"));
    let row: RecordRow =
        rows::get(records.ok_or_else(missing)?, (id, collection, rkey))?.ok_or_else(missing)?;
    if row.cid != *cid {
        return Err(corrupt(format!("record {key} does not match its tree")));
    }
    Ok(row.bytes)
}

/// A CAR with the head's commit, the MST nodes proving `path`'s presence or absence, and the
/// record if present.
pub fn proof(
    txn: &impl Reads,
    id: u64,
    head: &RepoRow,
    path: RecordPath<'_>,
) -> Result<Vec<u8>, StoreError> {
    let blocks = txn
        .table(BLOCKS)?
        .ok_or_else(|| corrupt("the repo has no blocks"))?;
    let source = TableSource::new(&blocks, id);
    let mut tree = Mst::load(&source, head.data)?;
    let proof = tree.covering_proof(&source, &[path.key().as_str()])?;
    let mut out = CarWriter::new(Vec::new(), &[head.commit_cid]).map_err(corrupt)?;
    out.write_block(&head.commit_cid, &head.commit_block)
        .map_err(corrupt)?;
    for (cid, bytes) in proof.iter() {
        out.write_block(cid, bytes).map_err(corrupt)?;
    }
    if let Some(row) = record(txn, id, path)? {
        out.write_block(&row.cid, &row.bytes).map_err(corrupt)?;
    }
    Ok(out.finish())
}

/// A CAR of the named blocks (the head's commit, MST nodes, records) and the CIDs not found.
pub fn blocks_car(
    txn: &impl Reads,
    id: u64,
    head: Option<&RepoRow>,
    cids: &[Cid],
) -> Result<(Vec<u8>, Vec<Cid>), StoreError> {
    let blocks = txn.table(BLOCKS)?;
    let record_cids = txn.table(RECORD_CIDS)?;
    let mut out = CarWriter::new(Vec::new(), &[]).map_err(corrupt)?;
    let mut missing = Vec::new();
    for cid in cids {
        let key = cid.to_bytes();
        if let Some(head) = head
            && head.commit_cid == *cid
        {
            out.write_block(cid, &head.commit_block).map_err(corrupt)?;
            continue;
        }
        if let Some(blocks) = &blocks
            && let Some(value) = blocks.get((id, key.as_slice()))?
        {
            out.write_block(cid, split_value(value.value()).1)
                .map_err(corrupt)?;
            continue;
        }
        let path = match &record_cids {
            Some(t) => t
                .range((id, key.as_slice(), "")..)?
                .next()
                .transpose()?
                .filter(|(k, _)| k.value().0 == id && k.value().1 == key.as_slice())
                .map(|(k, _)| k.value().2.to_owned()),
            None => None,
        };
        let row = match &path {
            Some(path) => {
                let (collection, rkey) = path.split_once('/').unwrap_or((path.as_str(), ""));
                record(txn, id, RecordPath { collection, rkey })?
            }
            None => None,
        };
        match row {
            Some(row) => out.write_block(cid, &row.bytes).map_err(corrupt)?,
            None => missing.push(*cid),
        }
    }
    Ok((out.finish(), missing))
}
