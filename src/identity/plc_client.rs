//! Talking to the PLC directory: the embedded one in-process (no socket to ourselves, works before
//! the listener is up), or a remote one over HTTP(S).
//!
//! Spec: the did:plc directory API
//! (<https://github.com/did-method-plc/did-method-plc/blob/main/website/spec/plc-server-openapi3.yaml>).

use super::plc_directory::{PlcDirectory, PlcDirectoryError};
use super::resolver::IdentityError;
use crate::core::did_document::DidDocument;
use crate::core::plc::Operation;
use crate::net::{Outbound, Trust};

/// Largest answer read from a remote directory (an operation or a document).
const MAX_RESPONSE_LEN: usize = 256 * 1024;

#[derive(Clone)]
pub enum PlcClient {
    Embedded(PlcDirectory),
    Remote { http: Outbound, url: String },
}

fn directory_error(did: &str, e: PlcDirectoryError) -> IdentityError {
    match e {
        PlcDirectoryError::NotFound(_) | PlcDirectoryError::Tombstoned(_) => {
            IdentityError::NotFound(did.to_owned())
        }
        other => IdentityError::Fetch {
            did: did.to_owned(),
            reason: other.to_string(),
        },
    }
}

impl PlcClient {
    /// Submits an operation (genesis or update) for `did`.
    pub async fn submit(&self, did: &str, op: &Operation) -> Result<(), IdentityError> {
        match self {
            PlcClient::Embedded(directory) => directory
                .submit(did, op.clone(), crate::clock::now_micros())
                .await
                .map_err(|e| IdentityError::Rejected(e.to_string())),
            PlcClient::Remote { http, url } => {
                let fail = |reason: String| IdentityError::Fetch {
                    did: did.to_owned(),
                    reason,
                };
                let response = http
                    .post(&format!("{url}/{did}"), Trust::Operator)
                    .map_err(|e| fail(e.to_string()))?
                    .limit(MAX_RESPONSE_LEN)
                    .json(op)
                    .send()
                    .await
                    .map_err(|e| fail(e.to_string()))?;
                if response.status().is_success() {
                    return Ok(());
                }
                let status = response.status();
                let body = response.text().await.unwrap_or_default();
                Err(IdentityError::Rejected(format!(
                    "PLC directory answered {status}: {body}"
                )))
            }
        }
    }

    /// The DID document.
    pub async fn document(&self, did: &str) -> Result<DidDocument, IdentityError> {
        match self {
            PlcClient::Embedded(directory) => directory
                .document(did)
                .await
                .map_err(|e| directory_error(did, e)),
            PlcClient::Remote { http, url } => fetch_json(http, &format!("{url}/{did}"), did).await,
        }
    }

    /// The newest active operation.
    pub async fn last_operation(&self, did: &str) -> Result<Operation, IdentityError> {
        match self {
            PlcClient::Embedded(directory) => directory
                .last_operation(did)
                .await
                .map_err(|e| directory_error(did, e)),
            PlcClient::Remote { http, url } => {
                fetch_json(http, &format!("{url}/{did}/log/last"), did).await
            }
        }
    }
}

async fn fetch_json<T: serde::de::DeserializeOwned>(
    http: &Outbound,
    url: &str,
    did: &str,
) -> Result<T, IdentityError> {
    let fail = |reason: String| IdentityError::Fetch {
        did: did.to_owned(),
        reason,
    };
    let response = http
        .get(url, Trust::Operator)
        .map_err(|e| fail(e.to_string()))?
        .limit(MAX_RESPONSE_LEN)
        .send()
        .await
        .map_err(|e| fail(e.to_string()))?;
    if response.status() == reqwest::StatusCode::NOT_FOUND
        || response.status() == reqwest::StatusCode::GONE
    {
        return Err(IdentityError::NotFound(did.to_owned()));
    }
    if !response.status().is_success() {
        return Err(fail(format!("HTTP {}", response.status())));
    }
    response
        .json()
        .await
        .map_err(|e| fail(format!("bad response: {e}")))
}
