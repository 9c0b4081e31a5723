//! Audit logs (`GET /<did>/log/audit`): replaying a whole log to validate it, and appending one new
//! operation the way a PLC directory does on `POST /<did>`, including recovery forks.
//!
//! Spec: <https://github.com/did-method-plc/did-method-plc/blob/main/website/spec/v0.1/did-plc.md>,
//! "Key Rotation & Account Recovery" and "Audit Logs". Both entry points share one rule, `attach`:
//! a new op names an *active* (non-nullified) op as `prev`; if that op already has successors, the
//! new op forks them off (nullifies them), which only a rotation key of higher priority than the one
//! that signed the first successor may do, within 72 hours of it (inclusive). Timestamps must
//! increase. Nothing may follow a tombstone.
//!
//! Existing logs are judged by the rules every op had to pass when it was accepted; the stricter
//! rules for *new* ops (1–5 unique rotation keys, no legacy `create`, field limits) live in
//! [`check_new_operation`] and only [`apply_operation`] applies them, because real logs hold
//! duplicate and empty rotation key lists that a verifier must accept.
//!
//! Does not: store anything, read a clock, or rate-limit.

use std::collections::HashSet;

use serde::{Deserialize, Serialize};

use super::signature::verify_signature;
use super::timestamp::{format_millis, parse_micros, truncate_to_millis};
use super::{
    MAX_OP_BYTES, MAX_ROTATION_KEYS, MAX_VERIFICATION_METHODS, MIN_ROTATION_KEYS, Operation,
    PlcError, RECOVERY_WINDOW_MICROS, did_for_genesis,
};
use crate::core::crypto::PublicKey;
use crate::core::data;

/// Most `alsoKnownAs` entries in a new op (reference directory server limit).
const MAX_ALSO_KNOWN_AS: usize = 10;
/// Longest `alsoKnownAs` entry: a 253-char handle plus `at://` (reference directory server limit).
const MAX_ALSO_KNOWN_AS_LEN: usize = 258;
/// Most `services` entries in a new op (reference directory server limit).
const MAX_SERVICES: usize = 10;
/// Longest `services` or `verificationMethods` id (reference directory server limit).
const MAX_ID_LEN: usize = 32;
/// Longest service `type` (reference directory server limit).
const MAX_SERVICE_TYPE_LEN: usize = 256;
/// Longest service `endpoint` (reference directory server limit).
const MAX_SERVICE_ENDPOINT_LEN: usize = 512;
/// Longest `verificationMethods` key string; k256 keys are 57 chars, BLS12-381 143 (reference
/// directory server limit).
const MAX_DID_KEY_LEN: usize = 256;

/// One entry of an audit log, exactly as `GET /<did>/log/audit` serves it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LogEntry {
    pub did: String,
    pub operation: Operation,
    /// CID string of `operation`.
    pub cid: String,
    /// Whether a recovery fork cut this op out of the active chain.
    pub nullified: bool,
    /// When the directory accepted the op, RFC 3339.
    pub created_at: String,
}

/// An active op as [`attach`] sees it.
struct Link<'a> {
    /// Position of the op's entry in the log.
    index: usize,
    op: &'a Operation,
    cid: &'a str,
    created_at: i64,
}

/// Where a new op joins the active chain: it keeps `active[..keep]` and nullifies the rest.
struct Attachment {
    keep: usize,
}

/// Checks: that `op` extends the active chain as a PLC directory requires. For a first op: it is a
/// genesis op, signed by one of its own rotation keys, hashing to `did`. Otherwise: `prev` names an
/// active op that is not a tombstone; without a fork, a rotation key of that op signed it and it is
/// later than that op; with a fork, a key of higher priority than the one that signed the first
/// forked-off op signed it, it is later than the newest active op and at most 72 h after the first
/// forked-off op.
/// Does not check: the op's shape, size, or CID (callers do), nor `active` itself.
fn attach(did: &str, active: &[Link<'_>], op: &Operation, at: i64) -> Result<Attachment, PlcError> {
    let Some(head) = active.last() else {
        if !op.is_genesis() {
            return Err(PlcError::Misordered(
                "the first operation must be a genesis operation",
            ));
        }
        verify_signature(op, &op.rotation_keys())?;
        let actual = did_for_genesis(op)?;
        if actual != did {
            return Err(PlcError::GenesisHash {
                expected: did.to_owned(),
                actual,
            });
        }
        return Ok(Attachment { keep: 0 });
    };
    let prev = op.prev().ok_or(PlcError::Misordered(
        "a genesis operation for a DID that already exists",
    ))?;
    let position = active
        .iter()
        .position(|link| link.cid == prev)
        .ok_or(PlcError::Misordered(
            "prev is not the cid of an active operation",
        ))?;
    let base = &active[position];
    if matches!(base.op, Operation::Tombstone(_)) {
        return Err(PlcError::Misordered("prev is a tombstone"));
    }
    let keys = base.op.rotation_keys();
    let Some(first_forked) = active.get(position + 1) else {
        verify_signature(op, &keys)?;
        if at <= base.created_at {
            return Err(PlcError::Misordered(
                "timestamp is not after the previous operation",
            ));
        }
        return Ok(Attachment { keep: active.len() });
    };
    // A fork: only keys above the one that signed the first forked-off op may make it.
    let disputed = verify_signature(first_forked.op, &keys)?;
    let stronger = keys.get(..disputed).unwrap_or_default();
    verify_signature(op, stronger)?;
    if at <= head.created_at {
        return Err(PlcError::Misordered(
            "timestamp is not after the newest operation",
        ));
    }
    let lapsed_micros = at.saturating_sub(first_forked.created_at);
    if lapsed_micros > RECOVERY_WINDOW_MICROS {
        return Err(PlcError::LateRecovery { lapsed_micros });
    }
    Ok(Attachment { keep: position + 1 })
}

/// Checks: the rules every op in any log must meet: `prev` strings are canonical CIDv1 strings, a
/// legacy `create` has a null `prev`, and the signed op is at most [`MAX_OP_BYTES`] of DRISL.
fn check_stored_operation(op: &Operation) -> Result<(), PlcError> {
    if let Operation::LegacyCreate(create) = op
        && create.prev.is_some()
    {
        return Err(PlcError::Malformed(
            "a legacy create operation must have a null prev".into(),
        ));
    }
    if let Some(prev) = op.prev() {
        let cid = data::parse_cid(prev)
            .map_err(|e| PlcError::Malformed(format!("prev is not a CID: {e}")))?;
        if cid.to_string() != prev {
            return Err(PlcError::Malformed(
                "prev is not a base32 CID string".into(),
            ));
        }
    }
    let size = op.to_drisl()?.len();
    if size > MAX_OP_BYTES {
        return Err(PlcError::TooLarge(size));
    }
    Ok(())
}

/// Checks: the rules for an op a directory is asked to accept now, on top of those for stored ops:
/// no legacy `create`; 1–5 unique rotation keys, each a k256 or p256 `did:key`; at most 10
/// verification methods, each a syntactically valid `did:key` (any key type); and the reference
/// directory's limits on `alsoKnownAs` (at most 10, unique, 258 chars each) and `services` (at most
/// 10; id 32, type 256, endpoint 512 chars).
/// Does not check: signatures or order (see [`apply_operation`]).
pub fn check_new_operation(op: &Operation) -> Result<(), PlcError> {
    check_stored_operation(op)?;
    let op = match op {
        Operation::Plc(op) => op,
        Operation::Tombstone(_) => return Ok(()),
        Operation::LegacyCreate(_) => {
            return Err(PlcError::Malformed(
                "legacy create operations are no longer accepted".into(),
            ));
        }
    };
    let malformed = |message: String| Err(PlcError::Malformed(message));
    let keys = &op.rotation_keys;
    if !(MIN_ROTATION_KEYS..=MAX_ROTATION_KEYS).contains(&keys.len()) {
        return malformed(format!(
            "{} rotation keys; between {MIN_ROTATION_KEYS} and {MAX_ROTATION_KEYS} are required",
            keys.len()
        ));
    }
    if keys.iter().collect::<HashSet<_>>().len() != keys.len() {
        return malformed("duplicate rotation key".into());
    }
    for key in keys {
        if let Err(e) = PublicKey::from_did_key(key) {
            return malformed(format!("invalid rotation key {key:?}: {e}"));
        }
    }
    if op.verification_methods.len() > MAX_VERIFICATION_METHODS {
        return malformed(format!(
            "more than {MAX_VERIFICATION_METHODS} verification methods"
        ));
    }
    for (id, key) in &op.verification_methods {
        if id.len() > MAX_ID_LEN || key.len() > MAX_DID_KEY_LEN || !is_did_key_syntax(key) {
            return malformed(format!("invalid verification method {id:?}: {key:?}"));
        }
    }
    if op.also_known_as.len() > MAX_ALSO_KNOWN_AS {
        return malformed(format!("more than {MAX_ALSO_KNOWN_AS} alsoKnownAs entries"));
    }
    let mut seen = HashSet::new();
    for aka in &op.also_known_as {
        if aka.len() > MAX_ALSO_KNOWN_AS_LEN || !seen.insert(aka) {
            return malformed(format!("invalid or duplicate alsoKnownAs entry {aka:?}"));
        }
    }
    if op.services.len() > MAX_SERVICES {
        return malformed(format!("more than {MAX_SERVICES} services"));
    }
    for (id, service) in &op.services {
        if id.len() > MAX_ID_LEN
            || service.service_type.len() > MAX_SERVICE_TYPE_LEN
            || service.endpoint.len() > MAX_SERVICE_ENDPOINT_LEN
        {
            return malformed(format!("service {id:?} exceeds a length limit"));
        }
    }
    Ok(())
}

/// `did:key:` followed by a base58btc multibase string (`z…`), whatever the key type.
fn is_did_key_syntax(key: &str) -> bool {
    key.strip_prefix("did:key:z")
        .is_some_and(|body| !body.is_empty() && bs58::decode(body).into_vec().is_ok())
}

/// Validates a whole audit log by replaying it in order, each op as if submitted at its
/// `createdAt`, and returns the active head (the newest non-nullified entry).
///
/// Checks: every entry has the log's DID and the CID of its operation; the genesis op hashes to
/// the DID and is signed by one of its own rotation keys (a legacy `create` by its recovery or
/// signing key); each later op passes the directory's rules (see the module doc); the size limit;
/// and that each entry's `nullified` flag is what the replay gives.
/// Does not check: the rules only new ops must meet ([`check_new_operation`]), so historic
/// duplicate or empty rotation key lists are accepted.
pub fn validate_audit_log(log: &[LogEntry]) -> Result<&LogEntry, PlcError> {
    let did = &log.first().ok_or(PlcError::EmptyLog)?.did;
    let mut nullified = vec![false; log.len()];
    let mut active: Vec<Link<'_>> = Vec::new();
    for (index, entry) in log.iter().enumerate() {
        if &entry.did != did {
            return Err(PlcError::DidMismatch {
                stated: entry.did.clone(),
                expected: did.clone(),
            });
        }
        check_stored_operation(&entry.operation)?;
        let computed = entry.operation.cid()?.to_string();
        if computed != entry.cid {
            return Err(PlcError::CidMismatch {
                stated: entry.cid.clone(),
                computed,
            });
        }
        let created_at = parse_micros(&entry.created_at)?;
        let attachment = attach(did, &active, &entry.operation, created_at)?;
        for forked in active.drain(attachment.keep..) {
            nullified[forked.index] = true;
        }
        active.push(Link {
            index,
            op: &entry.operation,
            cid: &entry.cid,
            created_at,
        });
    }
    for (entry, computed) in log.iter().zip(nullified) {
        if entry.nullified != computed {
            return Err(PlcError::NullifiedMismatch {
                cid: entry.cid.clone(),
                stated: entry.nullified,
                computed,
            });
        }
    }
    active
        .last()
        .and_then(|head| log.get(head.index))
        .ok_or(PlcError::EmptyLog)
}

/// Applies one submitted op to a DID's audit log, as a PLC directory does for `POST /<did>`, and
/// returns the new audit log: the given entries, with those the op forks off now marked
/// `nullified`, followed by the new entry stamped `now` (truncated to milliseconds). An empty `log`
/// means the op must be the DID's genesis.
///
/// `log` may be the full audit log or only its active entries; nullified entries are carried over
/// and otherwise ignored. The stored entries are trusted (their CIDs and signatures are not
/// re-checked); run [`validate_audit_log`] for that.
///
/// Checks: [`check_new_operation`], then the directory's ordering, signature, fork-priority and
/// 72 h rules against the active entries (see the module doc). `now` must be later than the newest
/// active entry; a caller whose clock has not moved on should retry rather than reuse a timestamp.
pub fn apply_operation(
    did: &str,
    log: &[LogEntry],
    op: Operation,
    now_unix_micros: i64,
) -> Result<Vec<LogEntry>, PlcError> {
    check_new_operation(&op)?;
    let mut active = Vec::new();
    for (index, entry) in log.iter().enumerate() {
        if entry.did != did {
            return Err(PlcError::DidMismatch {
                stated: entry.did.clone(),
                expected: did.to_owned(),
            });
        }
        if !entry.nullified {
            active.push(Link {
                index,
                op: &entry.operation,
                cid: &entry.cid,
                created_at: parse_micros(&entry.created_at)?,
            });
        }
    }
    let at = truncate_to_millis(now_unix_micros);
    let attachment = attach(did, &active, &op, at)?;
    let forked: HashSet<usize> = active
        .get(attachment.keep..)
        .unwrap_or_default()
        .iter()
        .map(|link| link.index)
        .collect();
    let cid = op.cid()?.to_string();
    let mut updated: Vec<LogEntry> = log
        .iter()
        .enumerate()
        .map(|(index, entry)| LogEntry {
            nullified: entry.nullified || forked.contains(&index),
            ..entry.clone()
        })
        .collect();
    updated.push(LogEntry {
        did: did.to_owned(),
        operation: op,
        cid,
        nullified: false,
        created_at: format_millis(at),
    });
    Ok(updated)
}

/// The newest active (non-nullified) entry of a log: the one that defines the DID's current state.
pub fn active_head(log: &[LogEntry]) -> Option<&LogEntry> {
    log.iter().rev().find(|entry| !entry.nullified)
}
