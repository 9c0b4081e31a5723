//! The three did:plc operation kinds as serde types, signed and unsigned, plus the atproto builders,
//! operation CIDs and genesis DID derivation.
//!
//! Spec: <https://github.com/did-method-plc/did-method-plc/blob/main/website/spec/v0.1/did-plc.md>,
//! "Operation Serialization, Signing, and Validation" and "DID Creation". Field order in these
//! structs does not matter: the DRISL encoder sorts map keys. `prev` is always present (null for a
//! genesis op) and is a CID *string*, never a CBOR link. Unknown fields are refused, as the
//! reference implementation's schemas are strict, so a decoded op re-encodes to the bytes it was
//! signed over.
//!
//! Does not: check signatures or log order (see `signature.rs` and `audit.rs`).

use std::collections::BTreeMap;

use cid::Cid;
use serde::{Deserialize, Deserializer, Serialize};
use sha2::{Digest, Sha256};

use super::PlcError;
use super::signature::encode_sig;
use crate::core::crypto::Keypair;
use crate::core::data;

/// Length of the hash part of a did:plc identifier, in base32 characters.
const DID_SUFFIX_LEN: usize = 24;

/// The `services` entry type for an atproto PDS.
const PDS_SERVICE_TYPE: &str = "AtprotoPersonalDataServer";
/// The `services` id of the atproto PDS.
const PDS_SERVICE_ID: &str = "atproto_pds";
/// The `verificationMethods` name of the atproto repo signing key.
const ATPROTO_KEY_ID: &str = "atproto";

/// One `services` entry: `{type, endpoint}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Service {
    #[serde(rename = "type")]
    pub service_type: String,
    pub endpoint: String,
}

/// Deserialises a field that must be present but may be `null` (serde would otherwise treat a
/// missing `Option` field as `None`, and the op would then re-encode with a `prev` it never had).
fn required_nullable<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Option::<String>::deserialize(d)
}

/// A `plc_operation` without its signature: the bytes that get signed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UnsignedPlcOperation {
    /// Priority-ordered `did:key` rotation keys (index 0 has the most authority).
    pub rotation_keys: Vec<String>,
    /// Name (without `#`) → `did:key`.
    pub verification_methods: BTreeMap<String, String>,
    pub also_known_as: Vec<String>,
    /// Id (without `#`) → service.
    pub services: BTreeMap<String, Service>,
    /// CID string of the previous operation; `None` only for genesis.
    #[serde(deserialize_with = "required_nullable")]
    pub prev: Option<String>,
}

/// A signed `plc_operation`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PlcOperation {
    pub rotation_keys: Vec<String>,
    pub verification_methods: BTreeMap<String, String>,
    pub also_known_as: Vec<String>,
    pub services: BTreeMap<String, Service>,
    #[serde(deserialize_with = "required_nullable")]
    pub prev: Option<String>,
    /// Unpadded base64url of the 64-byte compact signature.
    pub sig: String,
}

/// A `plc_tombstone` without its signature.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UnsignedTombstone {
    /// CID string of the operation being tombstoned (never null).
    pub prev: String,
}

/// A signed `plc_tombstone`: deactivates the DID for good (unless nullified within the window).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Tombstone {
    pub prev: String,
    pub sig: String,
}

/// A legacy genesis-only `create` operation without its signature.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UnsignedLegacyCreate {
    pub signing_key: String,
    pub recovery_key: String,
    /// A bare handle, without `at://`.
    pub handle: String,
    /// The PDS URL.
    pub service: String,
    /// Always null; kept as a field so a non-null value is refused rather than dropped.
    #[serde(deserialize_with = "required_nullable")]
    pub prev: Option<String>,
}

/// A signed legacy `create` operation. Only ever a genesis op; new ones are not accepted.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LegacyCreate {
    pub signing_key: String,
    pub recovery_key: String,
    pub handle: String,
    pub service: String,
    #[serde(deserialize_with = "required_nullable")]
    pub prev: Option<String>,
    pub sig: String,
}

/// An operation before signing; its DRISL encoding is what the rotation key signs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum UnsignedOperation {
    #[serde(rename = "plc_operation")]
    Plc(UnsignedPlcOperation),
    #[serde(rename = "plc_tombstone")]
    Tombstone(UnsignedTombstone),
    #[serde(rename = "create")]
    LegacyCreate(UnsignedLegacyCreate),
}

/// A signed operation of any kind, as it appears in a log or a `POST /<did>` body.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum Operation {
    #[serde(rename = "plc_operation")]
    Plc(PlcOperation),
    #[serde(rename = "plc_tombstone")]
    Tombstone(Tombstone),
    #[serde(rename = "create")]
    LegacyCreate(LegacyCreate),
}

impl UnsignedOperation {
    /// The DRISL bytes that get signed.
    pub fn to_drisl(&self) -> Result<Vec<u8>, PlcError> {
        Ok(data::encode(self)?)
    }

    /// Signs SHA-256 of the DRISL encoding with `key` (which should be one of the rotation keys in
    /// force) and attaches the unpadded base64url signature.
    pub fn sign(self, key: &Keypair) -> Result<Operation, PlcError> {
        let sig = encode_sig(&key.sign(&self.to_drisl()?));
        Ok(match self {
            UnsignedOperation::Plc(op) => Operation::Plc(PlcOperation {
                rotation_keys: op.rotation_keys,
                verification_methods: op.verification_methods,
                also_known_as: op.also_known_as,
                services: op.services,
                prev: op.prev,
                sig,
            }),
            UnsignedOperation::Tombstone(op) => {
                Operation::Tombstone(Tombstone { prev: op.prev, sig })
            }
            UnsignedOperation::LegacyCreate(op) => Operation::LegacyCreate(LegacyCreate {
                signing_key: op.signing_key,
                recovery_key: op.recovery_key,
                handle: op.handle,
                service: op.service,
                prev: op.prev,
                sig,
            }),
        })
    }
}

impl From<UnsignedPlcOperation> for UnsignedOperation {
    fn from(op: UnsignedPlcOperation) -> Self {
        UnsignedOperation::Plc(op)
    }
}

impl From<UnsignedTombstone> for UnsignedOperation {
    fn from(op: UnsignedTombstone) -> Self {
        UnsignedOperation::Tombstone(op)
    }
}

impl Operation {
    /// The operation without `sig`, whose DRISL encoding the signature covers.
    pub fn unsigned(&self) -> UnsignedOperation {
        match self {
            Operation::Plc(op) => UnsignedOperation::Plc(UnsignedPlcOperation {
                rotation_keys: op.rotation_keys.clone(),
                verification_methods: op.verification_methods.clone(),
                also_known_as: op.also_known_as.clone(),
                services: op.services.clone(),
                prev: op.prev.clone(),
            }),
            Operation::Tombstone(op) => UnsignedOperation::Tombstone(UnsignedTombstone {
                prev: op.prev.clone(),
            }),
            Operation::LegacyCreate(op) => UnsignedOperation::LegacyCreate(UnsignedLegacyCreate {
                signing_key: op.signing_key.clone(),
                recovery_key: op.recovery_key.clone(),
                handle: op.handle.clone(),
                service: op.service.clone(),
                prev: op.prev.clone(),
            }),
        }
    }

    /// The `sig` string as written (not yet decoded).
    pub fn sig(&self) -> &str {
        match self {
            Operation::Plc(op) => &op.sig,
            Operation::Tombstone(op) => &op.sig,
            Operation::LegacyCreate(op) => &op.sig,
        }
    }

    /// The `prev` CID string; `None` for a genesis op.
    pub fn prev(&self) -> Option<&str> {
        match self {
            Operation::Plc(op) => op.prev.as_deref(),
            Operation::Tombstone(op) => Some(&op.prev),
            Operation::LegacyCreate(op) => op.prev.as_deref(),
        }
    }

    /// Whether this is a genesis op (a `plc_operation` or legacy `create` with a null `prev`).
    pub fn is_genesis(&self) -> bool {
        !matches!(self, Operation::Tombstone(_)) && self.prev().is_none()
    }

    /// The rotation keys this op puts in force, in priority order. A legacy `create` gives
    /// `[recoveryKey, signingKey]` (either may sign, the recovery key first, as in the reference
    /// implementation); a tombstone gives none, so nothing can follow it.
    pub fn rotation_keys(&self) -> Vec<String> {
        match self {
            Operation::Plc(op) => op.rotation_keys.clone(),
            Operation::Tombstone(_) => Vec::new(),
            Operation::LegacyCreate(op) => vec![op.recovery_key.clone(), op.signing_key.clone()],
        }
    }

    /// The DRISL encoding of the signed op: what the CID and the DID hash cover.
    pub fn to_drisl(&self) -> Result<Vec<u8>, PlcError> {
        Ok(data::encode(self)?)
    }

    /// The dag-cbor CID of the signed op, the value later ops put in `prev`.
    pub fn cid(&self) -> Result<Cid, PlcError> {
        Ok(data::cid_for_cbor(&self.to_drisl()?))
    }

    /// This op as a `plc_operation` carrying the same state: a legacy `create` is converted the way
    /// the reference implementation normalises it (handle gains `at://`, the service URL gains
    /// `https://` if it has no scheme). `None` for a tombstone.
    pub fn normalized(&self) -> Option<UnsignedPlcOperation> {
        match self.unsigned() {
            UnsignedOperation::Plc(op) => Some(op),
            UnsignedOperation::Tombstone(_) => None,
            UnsignedOperation::LegacyCreate(op) => Some(UnsignedPlcOperation {
                rotation_keys: vec![op.recovery_key, op.signing_key.clone()],
                verification_methods: BTreeMap::from([(ATPROTO_KEY_ID.to_owned(), op.signing_key)]),
                also_known_as: vec![handle_uri(&op.handle)],
                services: BTreeMap::from([(PDS_SERVICE_ID.to_owned(), pds_service(&op.service))]),
                prev: op.prev,
            }),
        }
    }
}

/// `at://` + handle, accepting a handle that already has the prefix (or a stray `http(s)://`).
fn handle_uri(handle: &str) -> String {
    if handle.starts_with("at://") {
        return handle.to_owned();
    }
    let bare = handle
        .strip_prefix("https://")
        .or_else(|| handle.strip_prefix("http://"))
        .unwrap_or(handle);
    format!("at://{bare}")
}

/// The `atproto_pds` service entry, giving a scheme-less endpoint `https://`.
fn pds_service(endpoint: &str) -> Service {
    let endpoint = if endpoint.starts_with("https://") || endpoint.starts_with("http://") {
        endpoint.to_owned()
    } else {
        format!("https://{endpoint}")
    };
    Service {
        service_type: PDS_SERVICE_TYPE.to_owned(),
        endpoint,
    }
}

/// The standard atproto genesis op: `verificationMethods {atproto: signing key}`,
/// `alsoKnownAs ["at://<handle>"]`, `services {atproto_pds: {AtprotoPersonalDataServer, endpoint}}`,
/// `prev: null`. Sign it with one of `rotation_keys`, then derive the DID with [`did_for_genesis`].
///
/// Does not check the rotation keys; [`check_new_operation`](super::check_new_operation) does.
pub fn genesis(
    rotation_keys: Vec<String>,
    signing_key_did_key: &str,
    handle: &str,
    pds_endpoint: &str,
) -> UnsignedPlcOperation {
    UnsignedPlcOperation {
        rotation_keys,
        verification_methods: BTreeMap::from([(
            ATPROTO_KEY_ID.to_owned(),
            signing_key_did_key.to_owned(),
        )]),
        also_known_as: vec![handle_uri(handle)],
        services: BTreeMap::from([(PDS_SERVICE_ID.to_owned(), pds_service(pds_endpoint))]),
        prev: None,
    }
}

/// Changes an atproto update op makes to the previous state; `None` keeps a field as it was.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AtprotoChanges {
    /// New `did:key` for `verificationMethods.atproto`.
    pub signing_key: Option<String>,
    /// New handle: replaces the first `at://` entry of `alsoKnownAs` (or is put first if none).
    pub handle: Option<String>,
    /// New endpoint for `services.atproto_pds`.
    pub pds_endpoint: Option<String>,
    /// New rotation keys, in priority order.
    pub rotation_keys: Option<Vec<String>>,
}

/// An update op that follows `previous` (its `prev` is `previous`'s CID), carrying `previous`'s
/// state with `changes` applied. Other verification methods, aliases and services are kept.
///
/// Fails if `previous` is a tombstone: nothing may follow one.
pub fn update(
    previous: &Operation,
    changes: &AtprotoChanges,
) -> Result<UnsignedPlcOperation, PlcError> {
    let mut op = previous
        .normalized()
        .ok_or(PlcError::Misordered("cannot update a tombstoned DID"))?;
    op.prev = Some(previous.cid()?.to_string());
    if let Some(key) = &changes.signing_key {
        op.verification_methods
            .insert(ATPROTO_KEY_ID.to_owned(), key.clone());
    }
    if let Some(handle) = &changes.handle {
        let uri = handle_uri(handle);
        match op.also_known_as.iter().position(|a| a.starts_with("at://")) {
            Some(i) => op.also_known_as[i] = uri,
            None => op.also_known_as.insert(0, uri),
        }
    }
    if let Some(endpoint) = &changes.pds_endpoint {
        op.services
            .insert(PDS_SERVICE_ID.to_owned(), pds_service(endpoint));
    }
    if let Some(keys) = &changes.rotation_keys {
        op.rotation_keys = keys.clone();
    }
    Ok(op)
}

/// The DID a signed genesis op defines: `did:plc:` + the first 24 characters of the lowercase,
/// unpadded base32 of SHA-256 over the op's DRISL encoding.
pub fn did_for_genesis(op: &Operation) -> Result<String, PlcError> {
    if !op.is_genesis() {
        return Err(PlcError::Misordered(
            "only a genesis operation defines a DID",
        ));
    }
    let digest = Sha256::digest(op.to_drisl()?);
    let encoded = data_encoding::BASE32_NOPAD
        .encode(&digest)
        .to_ascii_lowercase();
    // 32 bytes encode to 52 base32 characters, so the prefix always exists.
    let suffix = encoded.get(..DID_SUFFIX_LEN).unwrap_or(&encoded);
    Ok(format!("did:plc:{suffix}"))
}
