//! What a PLC directory serves for a DID: the state view (`GET /<did>/data`) and the DID document
//! (`GET /<did>`), both rendered from the DID's newest active operation.
//!
//! Spec: <https://github.com/did-method-plc/did-method-plc/blob/main/website/spec/v0.1/did-plc.md>,
//! "DID Resolution" and "Presentation as DID Document"; the exact shape follows the reference
//! directory: verification method ids are absolute (`<did>#atproto`), service ids are relative
//! (`#atproto_pds`), every key is a `Multikey`, and `@context` gains the suite of each key curve in
//! use. Entries are listed in DRISL key order (shorter names first), which is the order the
//! reference directory's database hands them back in.
//!
//! Does not: resolve anything, or render tombstoned DIDs (there is no document; directories answer
//! 404).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{Operation, Service};
use crate::core::crypto::{Algorithm, PublicKey};
use crate::core::did_document::{DidDocument, Service as DidService, VerificationMethod};

/// The base `@context` of every did:plc document.
const BASE_CONTEXT: [&str; 2] = [
    "https://www.w3.org/ns/did/v1",
    "https://w3id.org/security/multikey/v1",
];
/// Added to `@context` when a p256 key is present.
const P256_CONTEXT: &str = "https://w3id.org/security/suites/ecdsa-2019/v1";
/// Added to `@context` when a k256 key is present.
const K256_CONTEXT: &str = "https://w3id.org/security/suites/secp256k1-2019/v1";

/// The PLC state of a DID (`GET /<did>/data`): the fields of its newest op, plus the DID.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DocumentData {
    pub did: String,
    pub verification_methods: BTreeMap<String, String>,
    pub rotation_keys: Vec<String>,
    pub also_known_as: Vec<String>,
    pub services: BTreeMap<String, Service>,
}

/// Map entries in DRISL key order: shorter keys first, then bytewise.
fn drisl_order<V>(map: &BTreeMap<String, V>) -> Vec<(&String, &V)> {
    let mut entries: Vec<_> = map.iter().collect();
    entries.sort_by(|(a, _), (b, _)| a.len().cmp(&b.len()).then_with(|| a.cmp(b)));
    entries
}

impl DocumentData {
    /// The state an op leaves the DID in (a legacy `create` is normalised); `None` for a
    /// tombstone, which leaves no state.
    pub fn from_operation(did: &str, op: &Operation) -> Option<DocumentData> {
        let op = op.normalized()?;
        Some(DocumentData {
            did: did.to_owned(),
            verification_methods: op.verification_methods,
            rotation_keys: op.rotation_keys,
            also_known_as: op.also_known_as,
            services: op.services,
        })
    }

    /// The DID document for this state. Keys that are not k256/p256 `did:key`s are still listed
    /// (as `Multikey`, with the `did:key:` prefix removed) but add no `@context` entry.
    pub fn to_did_document(&self) -> DidDocument {
        let mut context: Vec<String> = BASE_CONTEXT.iter().map(|c| (*c).to_owned()).collect();
        let mut verification_method = Vec::new();
        for (name, key) in drisl_order(&self.verification_methods) {
            let suite = match PublicKey::from_did_key(key).map(|k| k.algorithm()) {
                Ok(Algorithm::P256) => Some(P256_CONTEXT),
                Ok(Algorithm::K256) => Some(K256_CONTEXT),
                Err(_) => None,
            };
            if let Some(suite) = suite
                && !context.iter().any(|c| c == suite)
            {
                context.push(suite.to_owned());
            }
            verification_method.push(VerificationMethod {
                id: format!("{}#{name}", self.did),
                kind: "Multikey".to_owned(),
                controller: self.did.clone(),
                public_key_multibase: Some(key.strip_prefix("did:key:").unwrap_or(key).to_owned()),
            });
        }
        let service = drisl_order(&self.services)
            .into_iter()
            .map(|(id, service)| DidService {
                id: format!("#{id}"),
                kind: service.service_type.clone(),
                service_endpoint: serde_json::Value::String(service.endpoint.clone()),
            })
            .collect();
        DidDocument {
            context,
            id: self.did.clone(),
            also_known_as: self.also_known_as.clone(),
            verification_method,
            service,
        }
    }
}
