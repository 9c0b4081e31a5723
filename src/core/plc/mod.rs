//! did:plc: operations (build, sign, verify), audit-log validation, and the DID document a PLC
//! directory serves.
//!
//! Spec: <https://github.com/did-method-plc/did-method-plc/blob/main/website/spec/v0.1/did-plc.md>
//! (v0.3.0) and the repository's `README.md`. An identity is a chain of signed operations; the DID is
//! derived from the hash of the first one, and each later operation names its predecessor by CID and
//! is signed by a rotation key in force at that point. A higher-priority rotation key may fork the
//! chain within [`RECOVERY_WINDOW_MICROS`], nullifying the operations it forks off.
//!
//! Pure, like all of `core`: nothing here does I/O or reads a clock. Timestamps come in as RFC 3339
//! strings (log entries) or unix microseconds (`now`).
//!
//! Does not: store logs, resolve DIDs over the network, or rate-limit submissions (the embedded
//! directory service owns those).

mod audit;
mod document;
mod operation;
mod signature;
mod timestamp;

#[cfg(test)]
mod tests;

pub use audit::{LogEntry, active_head, apply_operation, check_new_operation, validate_audit_log};
pub use document::DocumentData;
pub use operation::{
    AtprotoChanges, LegacyCreate, Operation, PlcOperation, Service, Tombstone,
    UnsignedLegacyCreate, UnsignedOperation, UnsignedPlcOperation, UnsignedTombstone,
    did_for_genesis, genesis, update,
};
pub use signature::{decode_sig, encode_sig, verify_signature};

use crate::core::data::DataError;

/// Largest DRISL encoding of a signed operation, in bytes (spec: "the current limit is 7500 bytes").
pub const MAX_OP_BYTES: usize = 7500;

/// Fewest rotation keys a new `plc_operation` may list (spec: "must include at least 1 key").
pub const MIN_ROTATION_KEYS: usize = 1;

/// Most rotation keys a new `plc_operation` may list (spec: "at most 5 keys, with no duplication").
pub const MAX_ROTATION_KEYS: usize = 5;

/// Most `verificationMethods` entries (spec changelog v0.2: "a total limit of 10").
pub const MAX_VERIFICATION_METHODS: usize = 10;

/// How long after an operation a higher-priority rotation key may still nullify it: 72 hours,
/// inclusive (an op exactly 72 h later is still in time).
pub const RECOVERY_WINDOW_MICROS: i64 = 72 * 60 * 60 * 1_000_000;

/// Why a did:plc operation or log was refused. The messages follow the reference implementation's
/// wording where it has one ("operations not correctly ordered", "invalid signature").
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PlcError {
    /// The operation's shape is wrong: bad JSON, an unknown `type`, a missing or extra field, a
    /// non-null `prev` on a genesis op, or a new op breaking a content rule.
    #[error("improperly formatted operation: {0}")]
    Malformed(String),
    /// The signed operation encodes to more than [`MAX_OP_BYTES`].
    #[error("operation is {0} bytes of DAG-CBOR, over the limit of {MAX_OP_BYTES}")]
    TooLarge(usize),
    /// `sig` is not strict unpadded base64url (padding, a foreign character such as a newline, or
    /// non-zero trailing bits).
    #[error("invalid signature encoding: {0}")]
    SignatureEncoding(String),
    /// No allowed rotation key verifies the signature (this includes DER and high-S signatures,
    /// and an empty set of allowed keys).
    #[error("invalid signature")]
    InvalidSignature,
    /// The genesis operation does not hash to the DID it claims.
    #[error("hash of genesis operation does not match DID: expected {expected}, got {actual}")]
    GenesisHash { expected: String, actual: String },
    /// The operation does not extend the log: `prev` names no active operation, names a tombstone,
    /// is null on a non-genesis op, or the timestamps do not increase.
    #[error("operations not correctly ordered: {0}")]
    Misordered(&'static str),
    /// A nullifying operation came more than 72 hours after the first operation it nullifies.
    #[error(
        "recovery operation is {lapsed_micros} µs after the operation it nullifies, outside the 72 h window"
    )]
    LateRecovery { lapsed_micros: i64 },
    /// A log entry's `cid` is not the CID of its operation.
    #[error("log entry cid {stated} does not match the operation's cid {computed}")]
    CidMismatch { stated: String, computed: String },
    /// A log entry's `did` differs from the DID of the log.
    #[error("log entry did {stated} does not match the log's did {expected}")]
    DidMismatch { stated: String, expected: String },
    /// A log entry's `nullified` flag disagrees with what replaying the log gives.
    #[error("log entry {cid} is marked nullified={stated} but replay gives nullified={computed}")]
    NullifiedMismatch {
        cid: String,
        stated: bool,
        computed: bool,
    },
    /// An audit log with no entries.
    #[error("audit log is empty")]
    EmptyLog,
    /// A `createdAt` (or other) timestamp that is not RFC 3339.
    #[error("invalid timestamp {0:?}")]
    Timestamp(String),
    /// DRISL encoding failed.
    #[error(transparent)]
    Data(#[from] DataError),
}
