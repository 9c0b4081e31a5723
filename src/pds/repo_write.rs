//! Repo writes: createRecord, putRecord, deleteRecord and applyWrites, all through one commit
//! pipeline run on the writer thread.
//!
//! Spec: <https://atproto.com/specs/repository> (commits, MST), <https://atproto.com/specs/sync>
//! (`#commit` events with covering proofs and `prevData`), <https://atproto.com/specs/blob>.
//! Behaviour follows the reference PDS except where it would answer bad input with a 500: creating a
//! record that exists, or updating/deleting one that does not, inside applyWrites is a 400 here.
//!
//! One job does everything in one transaction: check the swap, load the MST lazily, apply the ops,
//! sign the commit, store the new nodes and records, drop the nodes the commit replaced, update
//! blob references, and append the `#commit` event. Validation that needs no repo state (record
//! shape, Lexicon, encoding) runs before the job so the writer thread only does what must be serial.

use std::collections::{BTreeMap, HashSet};

use cid::Cid;
use redb::ReadableTable;

use super::blocks::{TableSource, block_value};
use super::rows::{self, AccountRow, BlobRow, RecordRow, RepoRow};
use super::tables::{
    ACCOUNTS, BLOB_HOLDERS, BLOB_REFS, BLOBS, BLOCKS, DID_IDS, RECORD_CIDS, RECORDS, REPOS,
    TEMP_BLOBS,
};
use super::{Pds, PdsError, sequencer};
use crate::clock::{now_datetime, now_micros};
use crate::core::car::write_car;
use crate::core::data::{self, BlobRef, Value};
use crate::core::firehose::{CommitMessage, CommitOp, Message};
use crate::core::lexicon::ValidationError;
use crate::core::mst::Mst;
use crate::core::repo::{MAX_COMMIT_BLOCKS_LEN, MAX_COMMIT_OPS, UnsignedCommit};
use crate::core::syntax::{Nsid, RecordKey, Tid};
use crate::store::{StoreError, WriteTransaction};

/// One write of a commit, as the caller asked for it.
#[derive(Clone, Debug)]
pub enum WriteOp {
    /// Fails if the record exists. No rkey: a fresh TID.
    Create {
        collection: Nsid,
        rkey: Option<RecordKey>,
        record: Value,
    },
    /// Creates or replaces (putRecord). `swap_record`: `Some(None)` = must not exist,
    /// `Some(Some(cid))` = must currently be `cid`.
    Put {
        collection: Nsid,
        rkey: RecordKey,
        record: Value,
        swap_record: Option<Option<Cid>>,
    },
    /// Replaces an existing record (applyWrites `#update`).
    Update {
        collection: Nsid,
        rkey: RecordKey,
        record: Value,
    },
    /// Deletes a record. `must_exist` is false for deleteRecord (a missing record is a no-op).
    Delete {
        collection: Nsid,
        rkey: RecordKey,
        swap_record: Option<Cid>,
        must_exist: bool,
    },
}

/// What happened to one write.
#[derive(Clone, Debug)]
pub struct WriteResult {
    /// `create`, `update` or `delete`.
    pub action: &'static str,
    pub uri: String,
    pub cid: Option<Cid>,
    pub validation_status: Option<&'static str>,
}

/// The outcome of a commit (`commit` is `None` when nothing changed).
#[derive(Clone, Debug)]
pub struct CommitResult {
    pub commit: Option<(Cid, String)>,
    pub results: Vec<WriteResult>,
}

/// A record ready to store: CID, DRISL bytes, the blobs it uses, its validation status.
type EncodedRecord = (Cid, Vec<u8>, Vec<BlobRef>, Option<&'static str>);

/// A write after the checks that need no repo state.
struct Prepared {
    collection: String,
    rkey: String,
    kind: Kind,
    swap: Swap,
    validation_status: Option<&'static str>,
}

enum Kind {
    Create {
        cid: Cid,
        bytes: Vec<u8>,
        blobs: Vec<BlobRef>,
    },
    Put {
        cid: Cid,
        bytes: Vec<u8>,
        blobs: Vec<BlobRef>,
    },
    Update {
        cid: Cid,
        bytes: Vec<u8>,
        blobs: Vec<BlobRef>,
    },
    Delete {
        must_exist: bool,
    },
}

enum Swap {
    None,
    MustNotExist,
    MustBe(Cid),
}

impl Pds {
    /// Validates a record for `collection`/`rkey` per the `validate` flag; returns the status to
    /// report (`None` when validation was skipped).
    fn validate_record(
        &self,
        collection: &Nsid,
        rkey: &RecordKey,
        record: &Value,
        validate: Option<bool>,
    ) -> Result<Option<&'static str>, PdsError> {
        if validate == Some(false) {
            return Ok(None);
        }
        match self.inner.catalog.validate_record(collection, rkey, record) {
            Ok(()) => Ok(Some("valid")),
            Err(ValidationError::LexiconNotFound(_)) if validate.is_none() => Ok(Some("unknown")),
            Err(ValidationError::LexiconNotFound(_)) => Err(PdsError::InvalidRequest(format!(
                "Unknown lexicon type: {collection}"
            ))),
            Err(ValidationError::RecordKey(e)) => Err(PdsError::InvalidRequest(format!(
                "Invalid record key for {collection}: {e}"
            ))),
            Err(e) => Err(PdsError::InvalidRequest(format!(
                "Invalid {collection} record: {e}"
            ))),
        }
    }

    fn next_tid(&self) -> Tid {
        let mut clock = self
            .inner
            .clock
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        clock.next(u64::try_from(now_micros()).unwrap_or(0))
    }

    /// Checks and encodes one record write.
    fn prepare_record(
        &self,
        collection: &Nsid,
        rkey: &RecordKey,
        mut record: Value,
        validate: Option<bool>,
    ) -> Result<EncodedRecord, PdsError> {
        let Value::Map(map) = &mut record else {
            return Err(PdsError::InvalidRequest("Record must be an object".into()));
        };
        match map.get("$type") {
            None => {
                map.insert("$type".into(), Value::from(collection.as_str()));
            }
            Some(Value::String(t)) if t == collection.as_str() => {}
            Some(Value::String(t)) => {
                return Err(PdsError::InvalidRequest(format!(
                    "Invalid $type: expected {collection}, got {t}"
                )));
            }
            Some(_) => {
                return Err(PdsError::InvalidRequest(
                    "Invalid $type: must be a string".into(),
                ));
            }
        }
        let blobs = BlobRef::collect(&record);
        if let Some(legacy) = blobs.iter().find(|b| b.size.is_none()) {
            return Err(PdsError::InvalidRequest(format!(
                "Legacy blobs are not allowed ({})",
                legacy.cid
            )));
        }
        let status = self.validate_record(collection, rkey, &record, validate)?;
        let bytes = data::encode_value(&record)?;
        if bytes.len() as u64 > crate::core::repo::MAX_RECORD_LEN {
            return Err(PdsError::InvalidRequest(format!(
                "Record is too large: {} bytes (max {})",
                bytes.len(),
                crate::core::repo::MAX_RECORD_LEN
            )));
        }
        Ok((data::cid_for_cbor(&bytes), bytes, blobs, status))
    }

    fn prepare(&self, op: WriteOp, validate: Option<bool>) -> Result<Prepared, PdsError> {
        Ok(match op {
            WriteOp::Create {
                collection,
                rkey,
                record,
            } => {
                let rkey = match rkey {
                    Some(rkey) => rkey,
                    None => RecordKey::parse(self.next_tid().as_str())
                        .map_err(|e| PdsError::Internal(e.to_string()))?,
                };
                let (cid, bytes, blobs, status) =
                    self.prepare_record(&collection, &rkey, record, validate)?;
                Prepared {
                    collection: collection.to_string(),
                    rkey: rkey.to_string(),
                    kind: Kind::Create { cid, bytes, blobs },
                    swap: Swap::None,
                    validation_status: status,
                }
            }
            WriteOp::Put {
                collection,
                rkey,
                record,
                swap_record,
            } => {
                let (cid, bytes, blobs, status) =
                    self.prepare_record(&collection, &rkey, record, validate)?;
                Prepared {
                    collection: collection.to_string(),
                    rkey: rkey.to_string(),
                    kind: Kind::Put { cid, bytes, blobs },
                    swap: match swap_record {
                        None => Swap::None,
                        Some(None) => Swap::MustNotExist,
                        Some(Some(cid)) => Swap::MustBe(cid),
                    },
                    validation_status: status,
                }
            }
            WriteOp::Update {
                collection,
                rkey,
                record,
            } => {
                let (cid, bytes, blobs, status) =
                    self.prepare_record(&collection, &rkey, record, validate)?;
                Prepared {
                    collection: collection.to_string(),
                    rkey: rkey.to_string(),
                    kind: Kind::Update { cid, bytes, blobs },
                    swap: Swap::None,
                    validation_status: status,
                }
            }
            WriteOp::Delete {
                collection,
                rkey,
                swap_record,
                must_exist,
            } => Prepared {
                collection: collection.to_string(),
                rkey: rkey.to_string(),
                kind: Kind::Delete { must_exist },
                swap: swap_record.map_or(Swap::None, Swap::MustBe),
                validation_status: None,
            },
        })
    }

    /// Applies `ops` to `did`'s repo in one signed commit.
    pub async fn apply_writes(
        &self,
        did: &str,
        ops: Vec<WriteOp>,
        swap_commit: Option<Cid>,
        validate: Option<bool>,
    ) -> Result<CommitResult, PdsError> {
        if ops.len() > MAX_COMMIT_OPS {
            return Err(PdsError::InvalidRequest(format!(
                "Too many writes. Max: {MAX_COMMIT_OPS}"
            )));
        }
        let prepared = if small_payload(&ops) {
            ops.into_iter()
                .map(|op| self.prepare(op, validate))
                .collect::<Result<Vec<_>, _>>()?
        } else {
            let pds = self.clone();
            tokio::task::spawn_blocking(move || {
                ops.into_iter()
                    .map(|op| pds.prepare(op, validate))
                    .collect::<Result<Vec<_>, _>>()
            })
            .await
            .map_err(|e| PdsError::Internal(e.to_string()))??
        };
        let mut seen = HashSet::new();
        for p in &prepared {
            if !seen.insert((p.collection.clone(), p.rkey.clone())) {
                return Err(PdsError::InvalidRequest(format!(
                    "Multiple writes to the same record: {}/{}",
                    p.collection, p.rkey
                )));
            }
        }
        let pds = self.clone();
        let did = did.to_owned();
        let (result, orphaned) = self
            .store()
            .write(move |txn| commit_job(&pds, txn, &did, prepared, swap_commit))
            .await?;
        for cid in orphaned {
            self.delete_blob_file_if_unused(&cid).await;
        }
        Ok(result)
    }

    /// The next rev for a repo now at `current`: the clock's next TID, or just above `current` if the
    /// clock is behind it (after an import from a host whose clock ran ahead).
    pub(super) fn next_rev(&self, current: Option<&str>) -> Tid {
        let next = self.next_tid();
        match current.and_then(|c| Tid::parse(c).ok()) {
            Some(current) if next <= current => Tid::from_u64(current.as_u64() + 1),
            _ => next,
        }
    }
}

/// Writes whose records hold at most this many bytes of keys, strings and bytes (all records together)
/// are validated and encoded on the calling task: that is microseconds of work, less than handing it
/// to the blocking pool and back, two thread wake-ups that cost milliseconds on a busy machine. Larger
/// writes go to the blocking pool, so a big record never stalls the reactor.
const INLINE_PREPARE_MAX_BYTES: usize = 16 * 1024;

fn small_payload(ops: &[WriteOp]) -> bool {
    let mut budget = INLINE_PREPARE_MAX_BYTES;
    ops.iter().all(|op| match op {
        WriteOp::Create { record, .. }
        | WriteOp::Put { record, .. }
        | WriteOp::Update { record, .. } => within_budget(record, &mut budget),
        WriteOp::Delete { .. } => true,
    })
}

/// Charges `value`'s size (8 bytes per scalar or container, plus string, byte and key lengths) to
/// `budget`; false as soon as it runs out, so a huge record costs no more than the budget to measure.
fn within_budget(value: &Value, budget: &mut usize) -> bool {
    let mut charge = |n: usize| match budget.checked_sub(n) {
        Some(left) => {
            *budget = left;
            true
        }
        None => false,
    };
    let own = match value {
        Value::String(s) => s.len(),
        Value::Bytes(b) => b.len(),
        _ => 8,
    };
    if !charge(own) {
        return false;
    }
    match value {
        Value::List(items) => items.iter().all(|item| within_budget(item, budget)),
        Value::Map(map) => map.iter().all(|(key, item)| {
            match budget.checked_sub(key.len()) {
                Some(left) => *budget = left,
                None => return false,
            }
            within_budget(item, budget)
        }),
        _ => true,
    }
}

/// Interns a DID, assigning the next id if it has none.
pub(super) fn intern_did(txn: &WriteTransaction, did: &str) -> Result<u64, StoreError> {
    let mut ids = txn.open_table(DID_IDS)?;
    if let Some(id) = ids.get(did)? {
        return Ok(id.value());
    }
    let mut names = txn.open_table(super::tables::ID_DIDS)?;
    let next = names.last()?.map_or(1, |(k, _)| k.value() + 1);
    ids.insert(did, next)?;
    names.insert(next, did)?;
    Ok(next)
}

type JobResult = Result<Result<(CommitResult, Vec<Cid>), PdsError>, StoreError>;

fn refuse(e: PdsError) -> JobResult {
    Ok(Err(e))
}

fn commit_job(
    pds: &Pds,
    txn: &WriteTransaction,
    did: &str,
    prepared: Vec<Prepared>,
    swap_commit: Option<Cid>,
) -> JobResult {
    let Some(account) = txn
        .open_table(ACCOUNTS)?
        .get(did)?
        .map(|v| rows::decode::<AccountRow>(v.value()))
        .transpose()?
    else {
        return refuse(PdsError::RepoNotFound(format!(
            "Could not find repo: {did}"
        )));
    };
    if let Some(status) = account.status.as_status() {
        return refuse(inactive_write_error(status));
    }
    let id = account.id;
    let Some(repo) = txn
        .open_table(REPOS)?
        .get(id)?
        .map(|v| rows::decode::<RepoRow>(v.value()))
        .transpose()?
    else {
        return refuse(PdsError::RepoNotFound(format!(
            "Could not find repo: {did}"
        )));
    };
    if let Some(swap) = swap_commit
        && swap != repo.commit_cid
    {
        return refuse(PdsError::InvalidSwap(format!(
            "Commit was at {}",
            repo.commit_cid
        )));
    }
    let uri = |p: &Prepared| format!("at://{did}/{}/{}", p.collection, p.rkey);

    // Current state of every touched record, and the checks that need it.
    let mut records = txn.open_table(RECORDS)?;
    let mut current: Vec<Option<RecordRow>> = Vec::with_capacity(prepared.len());
    for p in &prepared {
        let row = records
            .get((id, p.collection.as_str(), p.rkey.as_str()))?
            .map(|v| rows::decode::<RecordRow>(v.value()))
            .transpose()?;
        let existing = row.as_ref().map(|r| r.cid);
        let swap_ok = match p.swap {
            Swap::None => true,
            Swap::MustNotExist => existing.is_none(),
            Swap::MustBe(cid) => existing == Some(cid),
        };
        if !swap_ok {
            let was = existing.map_or_else(|| "null".to_owned(), |c| c.to_string());
            return refuse(PdsError::InvalidSwap(format!("Record was at {was}")));
        }
        match (&p.kind, &existing) {
            (Kind::Create { .. }, Some(_)) => {
                return refuse(PdsError::InvalidRequest(format!(
                    "Record already exists: {}",
                    uri(p)
                )));
            }
            (Kind::Update { .. }, None) | (Kind::Delete { must_exist: true }, None) => {
                return refuse(PdsError::InvalidRequest(format!(
                    "Could not find record: {}",
                    uri(p)
                )));
            }
            _ => {}
        }
        current.push(row);
    }

    // Blobs the new records use must have been uploaded by this account, as described.
    let mut blobs = txn.open_table(BLOBS)?;
    for p in &prepared {
        let refs = match &p.kind {
            Kind::Create { blobs, .. } | Kind::Put { blobs, .. } | Kind::Update { blobs, .. } => {
                blobs
            }
            Kind::Delete { .. } => continue,
        };
        for blob in refs {
            let key = blob.cid.to_bytes();
            let Some(row) = blobs
                .get((id, key.as_slice()))?
                .map(|v| rows::decode::<BlobRow>(v.value()))
                .transpose()?
            else {
                return refuse(PdsError::BlobNotFound(format!(
                    "Could not find blob: {}",
                    blob.cid
                )));
            };
            if row.mime_type != blob.mime_type {
                return refuse(PdsError::Named {
                    error: "InvalidMimeType",
                    message: format!(
                        "Referenced Mimetype does not match stored blob. Expected: {}, Got: {}",
                        row.mime_type, blob.mime_type
                    ),
                });
            }
            if Some(row.size) != blob.size {
                return refuse(PdsError::Named {
                    error: "InvalidSize",
                    message: format!(
                        "Referenced size does not match stored blob. Expected: {}, Got: {}",
                        row.size,
                        blob.size.unwrap_or(0)
                    ),
                });
            }
        }
    }

    // Nothing to do: every write is a put of the record already there, or a delete of nothing.
    let changes = prepared
        .iter()
        .zip(&current)
        .any(|(p, cur)| match (&p.kind, cur) {
            (Kind::Put { cid, .. }, Some(row)) => *cid != row.cid,
            (Kind::Delete { .. }, None) => false,
            _ => true,
        });
    if !changes {
        let results = prepared
            .iter()
            .zip(&current)
            .filter(|(p, _)| !matches!(p.kind, Kind::Delete { .. }))
            .map(|(p, cur)| WriteResult {
                action: "update",
                uri: uri(p),
                cid: cur.as_ref().map(|r| r.cid),
                validation_status: p.validation_status,
            })
            .collect();
        return Ok(Ok((
            CommitResult {
                commit: None,
                results,
            },
            Vec::new(),
        )));
    }

    // The MST work: load lazily, apply, hash, prove.
    let mut block_table = txn.open_table(BLOCKS)?;
    let rev = pds.next_rev(Some(&repo.rev));
    let rev_number = rev.as_u64();
    let rev_text = rev.to_string();
    let (new_root, new_nodes, removed_nodes, proof, ops, results, record_blocks) = {
        let source = TableSource::new(&block_table, id);
        let mut tree = Mst::load(&source, repo.data)?;
        let mut ops = Vec::new();
        let mut results = Vec::new();
        let mut record_blocks: Vec<(Cid, Vec<u8>)> = Vec::new();
        for (p, cur) in prepared.iter().zip(&current) {
            let key = format!("{}/{}", p.collection, p.rkey);
            let prev = cur.as_ref().map(|r| r.cid);
            match &p.kind {
                Kind::Create { cid, bytes, .. }
                | Kind::Put { cid, bytes, .. }
                | Kind::Update { cid, bytes, .. } => {
                    if prev == Some(*cid) {
                        results.push(WriteResult {
                            action: "update",
                            uri: uri(p),
                            cid: Some(*cid),
                            validation_status: p.validation_status,
                        });
                        continue;
                    }
                    tree.upsert(&source, &key, *cid)?;
                    let action = if prev.is_some() { "update" } else { "create" };
                    ops.push(CommitOp {
                        action: action.into(),
                        path: key,
                        cid: Some(*cid),
                        prev,
                    });
                    record_blocks.push((*cid, bytes.clone()));
                    results.push(WriteResult {
                        action,
                        uri: uri(p),
                        cid: Some(*cid),
                        validation_status: p.validation_status,
                    });
                }
                Kind::Delete { .. } => {
                    if prev.is_none() {
                        continue;
                    }
                    tree.remove(&source, &key)?;
                    ops.push(CommitOp {
                        action: "delete".into(),
                        path: key,
                        cid: None,
                        prev,
                    });
                    results.push(WriteResult {
                        action: "delete",
                        uri: uri(p),
                        cid: None,
                        validation_status: None,
                    });
                }
            }
        }
        let (new_root, new_nodes) = tree.commit()?;
        let touched = tree.touched_cids()?;
        let removed: Vec<Cid> = source
            .fetched()
            .into_iter()
            .filter(|cid| !touched.contains(cid))
            .collect();
        let keys: Vec<&str> = ops.iter().map(|op| op.path.as_str()).collect();
        let proof = tree.covering_proof(&source, &keys)?;
        (
            new_root,
            new_nodes,
            removed,
            proof,
            ops,
            results,
            record_blocks,
        )
    };

    let key = match pds.inner.signing_keys.get(id, &account.signing_key) {
        Ok(key) => key,
        Err(e) => return Err(StoreError::Corrupt(format!("signing key of {did}: {e}"))),
    };
    let commit = UnsignedCommit::new(did, new_root, &rev_text)
        .sign(&key)
        .map_err(|e| StoreError::Corrupt(e.to_string()))?;
    let (commit_cid, commit_bytes) = commit
        .encode()
        .map_err(|e| StoreError::Corrupt(e.to_string()))?;

    // The #commit event's CAR: commit, new nodes, proof nodes, new records.
    let mut event_blocks: BTreeMap<Cid, &[u8]> = BTreeMap::new();
    for (cid, bytes) in &new_nodes {
        event_blocks.insert(*cid, bytes);
    }
    for (cid, bytes) in proof.iter() {
        event_blocks.insert(*cid, bytes);
    }
    for (cid, bytes) in &record_blocks {
        event_blocks.insert(*cid, bytes);
    }
    let mut car_blocks: Vec<(&Cid, &[u8])> = vec![(&commit_cid, commit_bytes.as_slice())];
    car_blocks.extend(event_blocks.iter().map(|(c, b)| (c, *b)));
    let car =
        write_car(&[commit_cid], car_blocks).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    if car.len() > MAX_COMMIT_BLOCKS_LEN {
        return refuse(PdsError::InvalidRequest(
            "Too many writes. Max event size: 2MB".into(),
        ));
    }

    // Store: nodes, records, blob references, root, event.
    for (cid, bytes) in &new_nodes {
        let cid_bytes = cid.to_bytes();
        block_table.insert(
            (id, cid_bytes.as_slice()),
            block_value(rev_number, bytes).as_slice(),
        )?;
    }
    for cid in &removed_nodes {
        if !new_nodes.iter().any(|(c, _)| c == cid) {
            let cid_bytes = cid.to_bytes();
            block_table.remove((id, cid_bytes.as_slice()))?;
        }
    }
    let mut record_cids = txn.open_table(RECORD_CIDS)?;
    let mut blob_refs = txn.open_table(BLOB_REFS)?;
    let mut temp_blobs = txn.open_table(TEMP_BLOBS)?;
    let mut orphaned = Vec::new();
    for (p, cur) in prepared.iter().zip(&current) {
        let path = format!("{}/{}", p.collection, p.rkey);
        let (new, new_blobs) = match &p.kind {
            Kind::Create { cid, bytes, blobs }
            | Kind::Put { cid, bytes, blobs }
            | Kind::Update { cid, bytes, blobs } => (Some((cid, bytes)), blobs.as_slice()),
            Kind::Delete { .. } => (None, &[][..]),
        };
        if let (Some(old), Some((new_cid, _))) = (cur, new)
            && old.cid == *new_cid
        {
            continue;
        }
        if let Some(old) = cur {
            let old_cid = old.cid.to_bytes();
            record_cids.remove((id, old_cid.as_slice(), path.as_str()))?;
            let old_value =
                data::decode_value(&old.bytes).map_err(|e| StoreError::Corrupt(e.to_string()))?;
            for blob in BlobRef::collect(&old_value) {
                let blob_key = blob.cid.to_bytes();
                blob_refs.remove((id, blob_key.as_slice(), path.as_str()))?;
            }
        }
        match new {
            Some((cid, bytes)) => {
                let row = RecordRow {
                    cid: *cid,
                    rev: rev_text.clone(),
                    bytes: bytes.clone(),
                };
                records.insert(
                    (id, p.collection.as_str(), p.rkey.as_str()),
                    rows::encode(&row)?.as_slice(),
                )?;
                let cid_bytes = cid.to_bytes();
                record_cids.insert((id, cid_bytes.as_slice(), path.as_str()), ())?;
                for blob in new_blobs {
                    let blob_key = blob.cid.to_bytes();
                    blob_refs.insert((id, blob_key.as_slice(), path.as_str()), ())?;
                    let row = blobs
                        .get((id, blob_key.as_slice()))?
                        .map(|v| rows::decode::<BlobRow>(v.value()))
                        .transpose()?;
                    if let Some(mut row) = row
                        && row.temp
                    {
                        temp_blobs.remove((row.created_at_micros, id, blob_key.as_slice()))?;
                        row.temp = false;
                        blobs.insert((id, blob_key.as_slice()), rows::encode(&row)?.as_slice())?;
                    }
                }
            }
            None => {
                records.remove((id, p.collection.as_str(), p.rkey.as_str()))?;
            }
        }
        // Blobs the old version used that no record uses any more are deleted.
        if let Some(old) = cur {
            let old_value =
                data::decode_value(&old.bytes).map_err(|e| StoreError::Corrupt(e.to_string()))?;
            for blob in BlobRef::collect(&old_value) {
                let blob_key = blob.cid.to_bytes();
                let still_used = blob_refs
                    .range((id, blob_key.as_slice(), "")..)?
                    .next()
                    .transpose()?
                    .is_some_and(|(k, _)| {
                        let (a, c, _) = k.value();
                        a == id && c == blob_key.as_slice()
                    });
                if !still_used && blobs.remove((id, blob_key.as_slice()))?.is_some() {
                    txn.open_table(BLOB_HOLDERS)?
                        .remove((blob_key.as_slice(), id))?;
                    orphaned.push(blob.cid);
                }
            }
        }
    }
    let new_repo = RepoRow {
        commit_cid,
        commit_block: commit_bytes,
        rev: rev_text.clone(),
        data: new_root,
    };
    txn.open_table(REPOS)?
        .insert(id, rows::encode(&new_repo)?.as_slice())?;
    let event = Message::Commit(Box::new(CommitMessage {
        seq: 0,
        rebase: false,
        too_big: false,
        repo: did.to_owned(),
        commit: commit_cid,
        rev: rev_text.clone(),
        since: Some(repo.rev.clone()),
        blocks: car,
        ops,
        blobs: Vec::new(),
        prev_data: Some(repo.data),
        time: now_datetime(),
    }));
    sequencer::append(txn, event)?;
    Ok(Ok((
        CommitResult {
            commit: Some((commit_cid, rev_text)),
            results,
        },
        orphaned,
    )))
}

/// The error a write to an inactive account gets (reference: 401 AccountDeactivated/Takedown).
pub(super) fn inactive_write_error(status: &str) -> PdsError {
    match status {
        "takendown" | "suspended" => {
            PdsError::AccountTakedown("Account has been taken down".into())
        }
        _ => PdsError::Named {
            error: "AccountDeactivated",
            message: "Account is deactivated".into(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn post(text_len: usize) -> WriteOp {
        let record = data::from_json(&serde_json::json!({
            "$type": "app.bsky.feed.post", "createdAt": "2026-01-01T00:00:00.000Z",
            "text": "x".repeat(text_len), "langs": ["en"]
        }))
        .unwrap();
        WriteOp::Create {
            collection: Nsid::parse("app.bsky.feed.post").unwrap(),
            rkey: None,
            record,
        }
    }

    #[test]
    fn small_writes_are_prepared_inline_and_large_ones_are_not() {
        assert!(small_payload(&[post(300)]), "an ordinary post");
        assert!(small_payload(&[post(300), post(300), post(300)]));
        assert!(
            !small_payload(&[post(INLINE_PREPARE_MAX_BYTES)]),
            "one big record"
        );
        let many: Vec<WriteOp> = (0..200).map(|_| post(100)).collect();
        assert!(
            !small_payload(&many),
            "the budget covers all records together"
        );
        let delete = WriteOp::Delete {
            collection: Nsid::parse("app.bsky.feed.post").unwrap(),
            rkey: RecordKey::parse("3jzfcijpj2z2a").unwrap(),
            swap_record: None,
            must_exist: true,
        };
        assert!(small_payload(&vec![delete; 200]), "deletes carry no record");
    }
}
