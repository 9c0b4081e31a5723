//! DID resolution over the network.
//!
//! Spec: <https://atproto.com/specs/did>. did:plc documents come from `<plc directory>/<did>`; did:web
//! documents from `https://<host>/.well-known/did.json` (hostname-level only, as atproto allows).
//! `did:web:localhost%3APORT` is fetched over plain http so local networks work. did:web documents
//! this server hosts itself (accounts created with `--did-method web`) come from the PDS in-process
//! through [`LocalDocuments`], so the relay and the PDS never fetch their own documents over HTTPS.

use std::sync::{Arc, OnceLock};

use futures_util::future::BoxFuture;

use super::PlcClient;
use crate::core::did_document::DidDocument;
use crate::core::syntax::Did;

/// Largest DID document accepted.
pub const MAX_DOCUMENT_LEN: usize = 256 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum IdentityError {
    #[error("DID {0} not found")]
    NotFound(String),
    #[error("unsupported DID method: {0}")]
    UnsupportedMethod(String),
    #[error("invalid did:web identifier {0}")]
    InvalidWeb(String),
    #[error("resolving {did}: {reason}")]
    Fetch { did: String, reason: String },
    #[error("the document served for {did} is for {id}")]
    WrongDocument { did: String, id: String },
    #[error("the PLC directory refused the operation: {0}")]
    Rejected(String),
}

/// did:web documents this server hosts.
pub trait LocalDocuments: Send + Sync {
    /// The document for `did` when it is hosted here.
    fn document<'a>(&'a self, did: &'a str) -> BoxFuture<'a, Option<DidDocument>>;
}

/// Resolves DIDs through a PLC directory (embedded or remote) and did:web.
#[derive(Clone)]
pub struct Resolver {
    client: reqwest::Client,
    plc: PlcClient,
    plc_url: String,
    /// Set once the PDS exists (it needs the resolver to be built first).
    local: Arc<OnceLock<Arc<dyn LocalDocuments>>>,
}

impl Resolver {
    pub fn new(client: reqwest::Client, plc: PlcClient, plc_url: &str) -> Resolver {
        Resolver {
            client,
            plc,
            plc_url: plc_url.trim_end_matches('/').to_owned(),
            local: Arc::new(OnceLock::new()),
        }
    }

    /// Lets this resolver (and its clones) answer for did:web documents hosted here.
    pub fn serve_local_documents(&self, local: Arc<dyn LocalDocuments>) {
        let _ = self.local.set(local);
    }

    /// The document URL for a DID.
    pub fn document_url(&self, did: &Did) -> Result<String, IdentityError> {
        match did.method() {
            "plc" => Ok(format!("{}/{}", self.plc_url, did.as_str())),
            "web" => {
                let identifier = did.identifier();
                // A colon in the identifier means a path, which atproto does not allow.
                if identifier.is_empty() || identifier.contains(':') {
                    return Err(IdentityError::InvalidWeb(did.to_string()));
                }
                let host = identifier.replace("%3A", ":").replace("%3a", ":");
                let local = host == "localhost" || host.starts_with("localhost:");
                if host.contains(':') && !local {
                    return Err(IdentityError::InvalidWeb(did.to_string()));
                }
                let scheme = if local { "http" } else { "https" };
                Ok(format!("{scheme}://{host}/.well-known/did.json"))
            }
            other => Err(IdentityError::UnsupportedMethod(other.to_owned())),
        }
    }

    /// Fetches and parses the DID document; its `id` must be the DID asked for.
    pub async fn resolve(&self, did: &Did) -> Result<DidDocument, IdentityError> {
        if did.is_plc() {
            let document = self.plc.document(did.as_str()).await?;
            if document.id != did.as_str() {
                return Err(IdentityError::WrongDocument {
                    did: did.to_string(),
                    id: document.id,
                });
            }
            return Ok(document);
        }
        if let Some(local) = self.local.get()
            && let Some(document) = local.document(did.as_str()).await
        {
            return Ok(document);
        }
        let url = self.document_url(did)?;
        let fetch_error = |reason: String| IdentityError::Fetch {
            did: did.to_string(),
            reason,
        };
        let response = self
            .client
            .get(&url)
            .send()
            .await
            .map_err(|e| fetch_error(e.to_string()))?;
        if response.status() == reqwest::StatusCode::NOT_FOUND
            || response.status() == reqwest::StatusCode::GONE
        {
            return Err(IdentityError::NotFound(did.to_string()));
        }
        if !response.status().is_success() {
            return Err(fetch_error(format!("HTTP {}", response.status())));
        }
        let body = response
            .bytes()
            .await
            .map_err(|e| fetch_error(e.to_string()))?;
        if body.len() > MAX_DOCUMENT_LEN {
            return Err(fetch_error("document too large".into()));
        }
        let document: DidDocument =
            serde_json::from_slice(&body).map_err(|e| fetch_error(format!("bad document: {e}")))?;
        if document.id != did.as_str() {
            return Err(IdentityError::WrongDocument {
                did: did.to_string(),
                id: document.id,
            });
        }
        Ok(document)
    }
}
