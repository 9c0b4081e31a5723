//! DID documents: pulling out what atproto needs (handle, `#atproto` signing key, PDS endpoint).
//!
//! Spec: <https://atproto.com/specs/did#did-documents>. Ids may be relative (`#atproto`) or full
//! (`did:…#atproto`); the key may be a `Multikey` or one of the legacy key types; the handle is the
//! first `at://` entry of `alsoKnownAs`.

use serde::{Deserialize, Serialize};

use crate::core::crypto::{CryptoError, PublicKey};

/// A DID document, keeping only the fields atproto reads (others are ignored on input).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DidDocument {
    #[serde(rename = "@context", default, skip_serializing_if = "Vec::is_empty")]
    pub context: Vec<String>,
    pub id: String,
    #[serde(default)]
    pub also_known_as: Vec<String>,
    #[serde(default)]
    pub verification_method: Vec<VerificationMethod>,
    #[serde(default)]
    pub service: Vec<Service>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VerificationMethod {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub controller: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public_key_multibase: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Service {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: String,
    /// A string in practice; other JSON forms exist in the wild and are ignored.
    pub service_endpoint: serde_json::Value,
}

/// Why a DID document lacks what atproto needs.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DidDocumentError {
    #[error("no #atproto verification method")]
    NoSigningKey,
    #[error("signing key: {0}")]
    Key(#[from] CryptoError),
}

impl DidDocument {
    fn matches_fragment(&self, id: &str, fragment: &str) -> bool {
        id == fragment
            || id
                .strip_prefix(self.id.as_str())
                .is_some_and(|rest| rest == fragment)
    }

    /// The handle claimed by the document (first `at://` alias), without checking it resolves back.
    pub fn handle(&self) -> Option<&str> {
        self.also_known_as
            .iter()
            .find_map(|aka| aka.strip_prefix("at://"))
    }

    /// The repo signing key (`#atproto`).
    pub fn signing_key(&self) -> Result<PublicKey, DidDocumentError> {
        self.key_for("#atproto")
    }

    /// The key with this fragment id (e.g. `#atproto_label` for labelers).
    pub fn key_for(&self, fragment: &str) -> Result<PublicKey, DidDocumentError> {
        let method = self
            .verification_method
            .iter()
            .find(|m| self.matches_fragment(&m.id, fragment))
            .ok_or(DidDocumentError::NoSigningKey)?;
        let multibase = method
            .public_key_multibase
            .as_deref()
            .ok_or(DidDocumentError::NoSigningKey)?;
        Ok(PublicKey::from_verification_method(
            &method.kind,
            multibase,
        )?)
    }

    /// The endpoint of the service with this fragment id and type.
    pub fn service_endpoint(&self, fragment: &str, kind: &str) -> Option<&str> {
        self.service
            .iter()
            .find(|s| self.matches_fragment(&s.id, fragment) && s.kind == kind)
            .and_then(|s| s.service_endpoint.as_str())
    }

    /// The PDS endpoint (`#atproto_pds`, type `AtprotoPersonalDataServer`).
    pub fn pds_endpoint(&self) -> Option<&str> {
        self.service_endpoint("#atproto_pds", "AtprotoPersonalDataServer")
    }
}
