//! Repo writes: createRecord, putRecord, deleteRecord and applyWrites, all through one commit
//! pipeline run on the writer thread.
//!
//! Spec: <https://atproto.com/specs/repository> (commits, MST), <https://atproto.com/specs/sync>
//! (`#commit` events with covering proofs and `prevData`), <https://atproto.com/specs/blob>.
//! Behaviour follows the reference PDS except where it would answer bad input with a 500: creating a
//! record that exists, or updating/deleting one that does not, inside applyWrites is a 400 here.
//!
//! Validation that needs no repo state (record shape, Lexicon, encoding) runs before the write job,
//! so the writer thread only does what must be serial. The job makes the checks that need the stored
//! state (the account may write, swaps, records exist or not, blobs were uploaded as described) and
//! hands the changes to the repo's owner (`repo_store::commit`), which writes them and the `#commit`
//! event in the same transaction.

use std::collections::HashSet;

use cid::Cid;

use super::account_store;
use super::blob_store;
use super::repo_store::{self, Change, NewRecord, RecordPath, Signer, TooBig};
use super::rows::{AccountStatus, RecordRow};
use super::{Pds, PdsError};
use crate::core::data::{self, BlobRef, Value};
use crate::core::lexicon::ValidationError;
use crate::core::repo::MAX_COMMIT_OPS;
use crate::core::syntax::{Did, Nsid, RecordKey, Tid};
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

/// What a write did to its record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WriteAction {
    Create,
    Update,
    Delete,
}

impl WriteAction {
    /// The name applyWrites results use (`#createResult`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            WriteAction::Create => "create",
            WriteAction::Update => "update",
            WriteAction::Delete => "delete",
        }
    }
}

/// What happened to one write.
#[derive(Clone, Debug)]
pub struct WriteResult {
    pub action: WriteAction,
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
    collection: Nsid,
    rkey: RecordKey,
    kind: Kind,
    swap: Swap,
    validation_status: Option<&'static str>,
}

impl Prepared {
    fn path(&self) -> RecordPath<'_> {
        RecordPath {
            collection: self.collection.as_str(),
            rkey: self.rkey.as_str(),
        }
    }

    /// The record's new version (`None` for a delete).
    fn new_record(&self) -> Option<NewRecord<'_>> {
        match &self.kind {
            Kind::Write {
                cid, bytes, blobs, ..
            } => Some(NewRecord {
                cid: *cid,
                bytes,
                blobs,
            }),
            Kind::Delete { .. } => None,
        }
    }
}

enum Kind {
    /// `mode` says whether the record must be new, must exist, or may be either.
    Write {
        mode: Mode,
        cid: Cid,
        bytes: Vec<u8>,
        blobs: Vec<BlobRef>,
    },
    Delete {
        must_exist: bool,
    },
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Create,
    Put,
    Update,
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
        let mut tids = self
            .inner
            .tids
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        tids.next(u64::try_from(self.clock().now_micros()).unwrap_or(0))
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
        let (mode, collection, rkey, record, swap) = match op {
            WriteOp::Delete {
                collection,
                rkey,
                swap_record,
                must_exist,
            } => {
                return Ok(Prepared {
                    collection,
                    rkey,
                    kind: Kind::Delete { must_exist },
                    swap: swap_record.map_or(Swap::None, Swap::MustBe),
                    validation_status: None,
                });
            }
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
                (Mode::Create, collection, rkey, record, Swap::None)
            }
            WriteOp::Put {
                collection,
                rkey,
                record,
                swap_record,
            } => {
                let swap = match swap_record {
                    None => Swap::None,
                    Some(None) => Swap::MustNotExist,
                    Some(Some(cid)) => Swap::MustBe(cid),
                };
                (Mode::Put, collection, rkey, record, swap)
            }
            WriteOp::Update {
                collection,
                rkey,
                record,
            } => (Mode::Update, collection, rkey, record, Swap::None),
        };
        let (cid, bytes, blobs, status) =
            self.prepare_record(&collection, &rkey, record, validate)?;
        Ok(Prepared {
            collection,
            rkey,
            kind: Kind::Write {
                mode,
                cid,
                bytes,
                blobs,
            },
            swap,
            validation_status: status,
        })
    }

    /// Applies `ops` to `did`'s repo in one signed commit.
    pub async fn apply_writes(
        &self,
        did: &Did,
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
            if !seen.insert((&p.collection, &p.rkey)) {
                return Err(PdsError::InvalidRequest(format!(
                    "Multiple writes to the same record: {}/{}",
                    p.collection, p.rkey
                )));
            }
        }
        let pds = self.clone();
        let did = did.clone();
        let (result, orphaned) = self
            .store()
            .write(move |txn| commit_job(&pds, txn, &did, &prepared, swap_commit))
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

type JobResult = Result<Result<(CommitResult, Vec<Cid>), PdsError>, StoreError>;

fn refuse(e: PdsError) -> JobResult {
    Ok(Err(e))
}

/// The write job: the checks against the stored state, then one commit through the repo's owner.
fn commit_job(
    pds: &Pds,
    txn: &WriteTransaction,
    did: &Did,
    prepared: &[Prepared],
    swap_commit: Option<Cid>,
) -> JobResult {
    let not_found = || PdsError::RepoNotFound(format!("Could not find repo: {did}"));
    let Some(account) = account_store::get(txn, did)? else {
        return refuse(not_found());
    };
    if !account.status.is_active() {
        return refuse(inactive_write_error(account.status));
    }
    let id = account.id;
    let Some(head) = repo_store::head(txn, id)? else {
        return refuse(not_found());
    };
    if let Some(swap) = swap_commit
        && swap != head.commit_cid
    {
        let message = format!("Commit was at {}", head.commit_cid);
        return refuse(PdsError::InvalidSwap(message));
    }
    let current = repo_store::records(txn, id, prepared.iter().map(Prepared::path))?;
    for (p, row) in prepared.iter().zip(&current) {
        if let Err(e) = check_current(did, p, row.as_ref()) {
            return refuse(e);
        }
    }
    let blobs: Vec<BlobRef> = prepared
        .iter()
        .filter_map(Prepared::new_record)
        .flat_map(|n| n.blobs.iter().cloned())
        .collect();
    if let Err(e) = blob_store::check_refs(txn, id, &blobs)? {
        return refuse(e);
    }
    let results = results(did, prepared, &current);
    // Nothing to do: every write is a put of the record already there, or a delete of nothing.
    let unchanged = prepared
        .iter()
        .zip(&current)
        .all(|(p, row)| match (&p.kind, row) {
            (Kind::Write { mode, cid, .. }, Some(row)) => *mode == Mode::Put && *cid == row.cid,
            (Kind::Delete { .. }, None) => true,
            _ => false,
        });
    if unchanged {
        let result = CommitResult {
            commit: None,
            results,
        };
        return Ok(Ok((result, Vec::new())));
    }
    let changes: Vec<Change<'_>> = prepared
        .iter()
        .zip(&current)
        .filter(|(p, row)| match (p.new_record(), row) {
            (Some(new), Some(row)) => new.cid != row.cid,
            (Some(_), None) => true,
            (None, row) => row.is_some(),
        })
        .map(|(p, row)| Change {
            path: p.path(),
            current: row.as_ref(),
            new: p.new_record(),
        })
        .collect();
    let key = pds
        .inner
        .signing_keys
        .get(id, &account.signing_key)
        .map_err(|e| StoreError::Corrupt(format!("signing key of {did}: {e}")))?;
    let signer = Signer {
        did: did.as_str(),
        key: &key,
        rev: pds.next_rev(Some(&head.rev)),
        time: pds.clock().now_datetime(),
    };
    match repo_store::commit(txn, id, &head, &changes, &signer, pds.events())? {
        Err(TooBig) => refuse(PdsError::InvalidRequest(
            "Too many writes. Max event size: 2MB".into(),
        )),
        Ok(done) => {
            let commit = Some((done.cid, done.rev));
            Ok(Ok((CommitResult { commit, results }, done.orphaned)))
        }
    }
}

/// The checks of one write against its record's stored version.
fn check_current(did: &Did, p: &Prepared, current: Option<&RecordRow>) -> Result<(), PdsError> {
    let existing = current.map(|r| r.cid);
    let swap_ok = match p.swap {
        Swap::None => true,
        Swap::MustNotExist => existing.is_none(),
        Swap::MustBe(cid) => existing == Some(cid),
    };
    if !swap_ok {
        let was = existing.map_or_else(|| "null".to_owned(), |c| c.to_string());
        return Err(PdsError::InvalidSwap(format!("Record was at {was}")));
    }
    let uri = || format!("at://{did}/{}/{}", p.collection, p.rkey);
    match (&p.kind, existing) {
        (
            Kind::Write {
                mode: Mode::Create, ..
            },
            Some(_),
        ) => Err(PdsError::InvalidRequest(format!(
            "Record already exists: {}",
            uri()
        ))),
        (
            Kind::Write {
                mode: Mode::Update, ..
            },
            None,
        )
        | (Kind::Delete { must_exist: true }, None) => Err(PdsError::InvalidRequest(format!(
            "Could not find record: {}",
            uri()
        ))),
        _ => Ok(()),
    }
}

/// What each write did, given the records' stored versions (a delete of nothing reports nothing).
fn results(did: &Did, prepared: &[Prepared], current: &[Option<RecordRow>]) -> Vec<WriteResult> {
    prepared
        .iter()
        .zip(current)
        .filter_map(|(p, row)| {
            let new = p.new_record();
            let action = match (&new, row) {
                (Some(_), Some(_)) => WriteAction::Update,
                (Some(_), None) => WriteAction::Create,
                (None, Some(_)) => WriteAction::Delete,
                (None, None) => return None,
            };
            Some(WriteResult {
                action,
                uri: format!("at://{did}/{}/{}", p.collection, p.rkey),
                cid: new.map(|n| n.cid),
                validation_status: p.validation_status,
            })
        })
        .collect()
}

/// The error a write to an inactive account gets (reference: 401 AccountDeactivated/Takedown).
pub(super) fn inactive_write_error(status: AccountStatus) -> PdsError {
    match status {
        AccountStatus::Takendown | AccountStatus::Suspended => {
            PdsError::AccountTakedown("Account has been taken down".into())
        }
        _ => PdsError::AccountDeactivated("Account is deactivated".into()),
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
