//! The blob tables' one owner: each account's blob rows, which accounts hold a blob file (files are
//! shared by CID), which records use each blob, and the uploads no record uses yet.
//!
//! Spec: <https://atproto.com/specs/blob>. An upload is temporary until a record uses it; a blob no
//! record uses any more loses its row, and its file goes once no account holds it.

use cid::Cid;
use redb::{ReadableTable, TableDefinition};

use super::PdsError;
use super::rows::{self, BlobRow};
use crate::core::data::BlobRef;
use crate::store::{Reads, StoreError, WriteTransaction};

/// (account id, blob CID bytes) → blob row.
const BLOBS: TableDefinition<(u64, &[u8]), &[u8]> = TableDefinition::new("pds.blobs");
/// (blob CID bytes, account id) → (): which accounts hold a blob (the file is shared).
const BLOB_HOLDERS: TableDefinition<(&[u8], u64), ()> = TableDefinition::new("pds.blob_holders");
/// (account id, blob CID bytes, record path) → (): which records use a blob.
const BLOB_REFS: TableDefinition<(u64, &[u8], &str), ()> = TableDefinition::new("pds.blob_refs");
/// (upload time in micros, account id, blob CID bytes) → (): uploads no record uses yet, oldest
/// first.
const TEMP_BLOBS: TableDefinition<(u64, u64, &[u8]), ()> = TableDefinition::new("pds.temp_blobs");

/// The blobs a record's new and old versions use, for [`record_changes`].
pub struct RefChange<'a> {
    pub path: &'a str,
    pub old: Vec<Cid>,
    pub new: Vec<Cid>,
}

/// Account `id`'s row for a blob.
pub fn get(txn: &impl Reads, id: u64, cid: &Cid) -> Result<Option<BlobRow>, StoreError> {
    let Some(blobs) = txn.table(BLOBS)? else {
        return Ok(None);
    };
    let key = cid.to_bytes();
    rows::get(&blobs, (id, key.as_slice()))
}

fn put(txn: &WriteTransaction, id: u64, cid: &[u8], row: &BlobRow) -> Result<(), StoreError> {
    txn.open_table(BLOBS)?
        .insert((id, cid), rows::encode(row)?.as_slice())?;
    Ok(())
}

/// Whether any record of account `id` uses the blob.
fn referenced<T: ReadableTable<(u64, &'static [u8], &'static str), ()>>(
    refs: &T,
    id: u64,
    cid: &[u8],
) -> Result<bool, StoreError> {
    Ok(refs
        .range((id, cid, "")..)?
        .next()
        .transpose()?
        .is_some_and(|(k, _)| {
            let (a, c, _) = k.value();
            a == id && c == cid
        }))
}

/// Records a finished upload for account `id`: temporary unless a record already uses it (a
/// re-upload after a migration). An upload of a blob taken down is refused.
pub fn uploaded(
    txn: &WriteTransaction,
    id: u64,
    cid: &Cid,
    mime_type: String,
    size: u64,
    now_micros: u64,
) -> Result<Result<(), PdsError>, StoreError> {
    let key = cid.to_bytes();
    if let Some(existing) = get(txn, id, cid)? {
        if existing.takedown_ref.is_some() {
            return Ok(Err(PdsError::InvalidRequest(
                "Blob has been takendown, cannot re-upload".into(),
            )));
        }
        if !existing.temp {
            return Ok(Ok(()));
        }
        txn.open_table(TEMP_BLOBS)?
            .remove((existing.created_at_micros, id, key.as_slice()))?;
    }
    let temp = !referenced(&txn.open_table(BLOB_REFS)?, id, &key)?;
    let row = BlobRow {
        mime_type,
        size,
        created_at_micros: now_micros,
        temp,
        takedown_ref: None,
    };
    put(txn, id, &key, &row)?;
    txn.open_table(BLOB_HOLDERS)?
        .insert((key.as_slice(), id), ())?;
    if temp {
        txn.open_table(TEMP_BLOBS)?
            .insert((now_micros, id, key.as_slice()), ())?;
    }
    Ok(Ok(()))
}

/// Checks that account `id` uploaded every blob `blobs` references, as described.
pub fn check_refs(
    txn: &WriteTransaction,
    id: u64,
    blobs: &[BlobRef],
) -> Result<Result<(), PdsError>, StoreError> {
    if blobs.is_empty() {
        return Ok(Ok(()));
    }
    let table = txn.open_table(BLOBS)?;
    for blob in blobs {
        let key = blob.cid.to_bytes();
        let Some(row): Option<BlobRow> = rows::get(&table, (id, key.as_slice()))? else {
            let message = format!("Could not find blob: {}", blob.cid);
            return Ok(Err(PdsError::BlobNotFound(message)));
        };
        if row.mime_type != blob.mime_type {
            return Ok(Err(PdsError::InvalidMimeType(format!(
                "Referenced Mimetype does not match stored blob. Expected: {}, Got: {}",
                row.mime_type, blob.mime_type
            ))));
        }
        if Some(row.size) != blob.size {
            return Ok(Err(PdsError::InvalidSize(format!(
                "Referenced size does not match stored blob. Expected: {}, Got: {}",
                row.size,
                blob.size.unwrap_or(0)
            ))));
        }
    }
    Ok(Ok(()))
}

/// Moves the references of records that changed in one commit: the old versions' references go,
/// the new ones' come (making their uploads permanent), and the blobs no record of the account
/// uses any more lose their rows. Returns those blobs (their files may be unused now).
pub fn record_changes(
    txn: &WriteTransaction,
    id: u64,
    changes: &[RefChange<'_>],
) -> Result<Vec<Cid>, StoreError> {
    if changes.iter().all(|c| c.old.is_empty() && c.new.is_empty()) {
        return Ok(Vec::new());
    }
    let mut refs = txn.open_table(BLOB_REFS)?;
    for change in changes {
        for cid in &change.old {
            refs.remove((id, cid.to_bytes().as_slice(), change.path))?;
        }
    }
    for change in changes {
        for cid in &change.new {
            refs.insert((id, cid.to_bytes().as_slice(), change.path), ())?;
        }
    }
    make_permanent(txn, id, changes.iter().flat_map(|c| &c.new))?;
    let mut orphaned = Vec::new();
    for cid in changes.iter().flat_map(|c| &c.old) {
        let key = cid.to_bytes();
        if !referenced(&refs, id, &key)?
            && txn
                .open_table(BLOBS)?
                .remove((id, key.as_slice()))?
                .is_some()
        {
            txn.open_table(BLOB_HOLDERS)?.remove((key.as_slice(), id))?;
            orphaned.push(*cid);
        }
    }
    Ok(orphaned)
}

/// Uploads of account `id` that a record now uses stop being temporary.
fn make_permanent<'a>(
    txn: &WriteTransaction,
    id: u64,
    cids: impl Iterator<Item = &'a Cid>,
) -> Result<(), StoreError> {
    for cid in cids {
        let key = cid.to_bytes();
        if let Some(mut row) = get(txn, id, cid)?
            && row.temp
        {
            txn.open_table(TEMP_BLOBS)?
                .remove((row.created_at_micros, id, key.as_slice()))?;
            row.temp = false;
            put(txn, id, &key, &row)?;
        }
    }
    Ok(())
}

/// Replaces every reference of account `id` with `refs` (an imported repo's records); uploads
/// they use become permanent.
pub fn replace_refs(
    txn: &WriteTransaction,
    id: u64,
    refs: &[(Cid, String)],
) -> Result<(), StoreError> {
    let mut table = txn.open_table(BLOB_REFS)?;
    table.retain_in((id, &[][..], "")..(id + 1, &[][..], ""), |_, ()| false)?;
    for (cid, path) in refs {
        table.insert((id, cid.to_bytes().as_slice(), path.as_str()), ())?;
    }
    drop(table);
    make_permanent(txn, id, refs.iter().map(|(cid, _)| cid))
}

/// Every (blob, record path) reference of account `id`, in blob order.
pub fn refs(txn: &impl Reads, id: u64) -> Result<Vec<(Cid, String)>, StoreError> {
    let Some(table) = txn.table(BLOB_REFS)? else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    for row in table.range((id, &[][..], "")..(id + 1, &[][..], ""))? {
        let (k, _) = row?;
        let (_, cid, path) = k.value();
        if let Ok(cid) = Cid::try_from(cid) {
            out.push((cid, path.to_owned()));
        }
    }
    Ok(out)
}

/// Whether any account holds the blob's file.
pub fn held(txn: &impl Reads, cid: &Cid) -> Result<bool, StoreError> {
    let Some(holders) = txn.table(BLOB_HOLDERS)? else {
        return Ok(false);
    };
    let key = cid.to_bytes();
    Ok(holders
        .range((key.as_slice(), 0u64)..)?
        .next()
        .transpose()?
        .is_some_and(|(k, _)| k.value().0 == key.as_slice()))
}

/// Removes the uploads made before `cutoff_micros` that no record took up; returns them.
pub fn collect_temp(txn: &WriteTransaction, cutoff_micros: u64) -> Result<Vec<Cid>, StoreError> {
    let mut temp = txn.open_table(TEMP_BLOBS)?;
    let mut due = Vec::new();
    for row in temp.range(..(cutoff_micros, 0u64, &[][..]))? {
        let (key, _) = row?;
        let (at, id, cid) = key.value();
        due.push((at, id, cid.to_vec()));
    }
    let mut blobs = txn.open_table(BLOBS)?;
    let mut holders = txn.open_table(BLOB_HOLDERS)?;
    let mut out = Vec::new();
    for (at, id, cid) in due {
        temp.remove((at, id, cid.as_slice()))?;
        blobs.remove((id, cid.as_slice()))?;
        holders.remove((cid.as_slice(), id))?;
        out.extend(Cid::try_from(cid.as_slice()).ok());
    }
    Ok(out)
}

/// Takes a blob down (`Some`) or restores it (`None`).
pub fn set_takedown(
    txn: &WriteTransaction,
    id: u64,
    cid: &Cid,
    takedown: Option<String>,
) -> Result<Result<(), PdsError>, StoreError> {
    let Some(mut row) = get(txn, id, cid)? else {
        return Ok(Err(PdsError::BlobNotFound("Blob not found".into())));
    };
    row.takedown_ref = takedown;
    put(txn, id, &cid.to_bytes(), &row)?;
    Ok(Ok(()))
}

/// Removes every blob row and reference of account `id`; returns its blobs (their files may be
/// unused now).
pub fn purge(txn: &WriteTransaction, id: u64) -> Result<Vec<Cid>, StoreError> {
    txn.open_table(BLOB_REFS)?
        .retain_in((id, &[][..], "")..(id + 1, &[][..], ""), |_, ()| false)?;
    let mut cids = Vec::new();
    let mut blobs = txn.open_table(BLOBS)?;
    for row in blobs.extract_from_if((id, &[][..])..(id + 1, &[][..]), |_, _| true)? {
        cids.push(row?.0.value().1.to_vec());
    }
    let mut holders = txn.open_table(BLOB_HOLDERS)?;
    for cid in &cids {
        holders.remove((cid.as_slice(), id))?;
    }
    txn.open_table(TEMP_BLOBS)?
        .retain(|(_, owner, _), ()| owner != id)?;
    Ok(cids
        .iter()
        .filter_map(|c| Cid::try_from(c.as_slice()).ok())
        .collect())
}
