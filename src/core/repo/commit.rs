//! The signed commit object at the top of every repository.
//!
//! Spec: <https://atproto.com/specs/repository#commit-objects>. `{did, version: 3, data, rev, prev:
//! null, sig}`; the signature covers SHA-256 of the DRISL encoding of the commit without `sig`, and the
//! commit's CID covers the signed commit. `prev` must be present (as null) in v3.

use cid::Cid;
use serde::{Deserialize, Serialize};

use crate::core::crypto::{CryptoError, Keypair, PublicKey};
use crate::core::data::{self, DataError};

/// Why a commit was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CommitError {
    #[error("commit does not decode: {0}")]
    Decode(#[from] DataError),
    #[error("unsupported repo version {0}")]
    Version(i64),
    #[error("commit signature: {0}")]
    Signature(#[from] CryptoError),
    #[error("v3 commit has no rev")]
    MissingRev,
}

/// A commit before signing.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnsignedCommit {
    pub did: String,
    pub version: i64,
    pub data: Cid,
    /// Absent only in version 2 commits, which are read but never written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rev: Option<String>,
    /// Always present; `null` in practice.
    pub prev: Option<Cid>,
}

/// A signed commit.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Commit {
    pub did: String,
    pub version: i64,
    pub data: Cid,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rev: Option<String>,
    pub prev: Option<Cid>,
    #[serde(with = "serde_bytes")]
    pub sig: Vec<u8>,
}

impl UnsignedCommit {
    /// A version 3 commit of `data` at revision `rev`.
    pub fn new(did: &str, data: Cid, rev: &str) -> UnsignedCommit {
        UnsignedCommit {
            did: did.to_owned(),
            version: 3,
            data,
            rev: Some(rev.to_owned()),
            prev: None,
        }
    }

    pub fn sign(self, key: &Keypair) -> Result<Commit, CommitError> {
        let bytes = data::encode(&self)?;
        let sig = key.sign(&bytes).to_vec();
        Ok(Commit {
            did: self.did,
            version: self.version,
            data: self.data,
            rev: self.rev,
            prev: self.prev,
            sig,
        })
    }
}

impl Commit {
    /// Decodes a commit block strictly (canonical DRISL) and checks the version.
    pub fn decode(bytes: &[u8]) -> Result<Commit, CommitError> {
        let commit: Commit = data::decode(bytes)?;
        match commit.version {
            3 if commit.rev.is_none() => Err(CommitError::MissingRev),
            2 | 3 => Ok(commit),
            other => Err(CommitError::Version(other)),
        }
    }

    /// The commit's block bytes and CID.
    pub fn encode(&self) -> Result<(Cid, Vec<u8>), CommitError> {
        let bytes = data::encode(self)?;
        Ok((data::cid_for_cbor(&bytes), bytes))
    }

    pub fn unsigned(&self) -> UnsignedCommit {
        UnsignedCommit {
            did: self.did.clone(),
            version: self.version,
            data: self.data,
            rev: self.rev.clone(),
            prev: self.prev,
        }
    }

    /// Checks the signature against the account's current signing key. Version 3 commits must be
    /// low-S; version 2 commits (read-only history, signed before the low-S rule) may be high-S.
    pub fn verify(&self, key: &PublicKey) -> Result<(), CommitError> {
        let bytes = data::encode(&self.unsigned())?;
        if self.version == 2 {
            key.verify_allowing_high_s(&bytes, &self.sig)?;
        } else {
            key.verify(&bytes, &self.sig)?;
        }
        Ok(())
    }

    /// The revision (empty for v2 commits, which have none).
    pub fn rev(&self) -> &str {
        self.rev.as_deref().unwrap_or("")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::crypto::Algorithm;

    #[test]
    fn sign_encode_decode_verify() {
        let key = Keypair::generate(Algorithm::K256, &mut rand_core::OsRng);
        let data_cid = data::cid_for_cbor(b"\xa0");
        let commit = UnsignedCommit::new("did:plc:abc", data_cid, "3jzfcijpj2z2a")
            .sign(&key)
            .unwrap();
        let (cid, bytes) = commit.encode().unwrap();
        assert_eq!(data::cid_for_cbor(&bytes), cid);
        let decoded = Commit::decode(&bytes).unwrap();
        assert_eq!(decoded, commit);
        decoded.verify(&key.public_key()).unwrap();
        let other = Keypair::generate(Algorithm::K256, &mut rand_core::OsRng);
        assert!(decoded.verify(&other.public_key()).is_err());
        // `prev` is present as null in the encoding.
        let value = data::decode_value(&bytes).unwrap();
        assert_eq!(value.get("prev"), Some(&data::Value::Null));
    }
}
