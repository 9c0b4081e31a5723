//! DID resolution over the network.
//!
//! Spec: <https://atproto.com/specs/did>. did:plc documents come from `<plc directory>/<did>`; did:web
//! documents from `https://<host>/.well-known/did.json` (hostname-level only, as atproto allows).
//! `did:web:localhost%3APORT` is fetched over plain http in local mode so local networks work (in
//! production every did:web document is a public https destination, see `net::outbound`). did:web documents
//! this server hosts itself (accounts created with `--did-method web`) come from the PDS in-process
//! through [`LocalDocuments`], so the relay and the PDS never fetch their own documents over HTTPS.
//!
//! Documents fetched over the network are cached as the reference PDS does: fresh for an hour, then
//! served while a background refresh runs, and kept for a day when the source cannot be reached.
//! `resolve_fresh` bypasses the cache where a stale answer would be wrong (activation, a signature
//! that does not verify, an `#identity` event). Documents from the embedded directory or hosted
//! here are read in-process and never cached.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use futures_util::future::BoxFuture;

use super::PlcClient;
use crate::core::did_document::DidDocument;
use crate::core::syntax::Did;
use crate::net::{Outbound, OutboundError, Trust};

/// Largest DID document accepted.
pub const MAX_DOCUMENT_LEN: usize = 256 * 1024;
/// A cached document younger than this is used as it is.
const FRESH_FOR: Duration = Duration::from_secs(60 * 60);
/// A cached document older than this is not used at all.
const KEPT_FOR: Duration = Duration::from_secs(24 * 60 * 60);
/// Most documents cached; the cache starts over when it fills (a community follows few DIDs).
const MAX_CACHED: usize = 50_000;

/// Documents fetched over the network, with when they were fetched.
type DocumentCache = Mutex<HashMap<String, (DidDocument, Instant)>>;

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
    client: Outbound,
    plc: PlcClient,
    plc_url: String,
    /// Set once the PDS exists (it needs the resolver to be built first).
    local: Arc<OnceLock<Arc<dyn LocalDocuments>>>,
    cache: Arc<DocumentCache>,
}

impl Resolver {
    pub fn new(client: Outbound, plc: PlcClient, plc_url: &str) -> Resolver {
        Resolver {
            client,
            plc,
            plc_url: plc_url.trim_end_matches('/').to_owned(),
            local: Arc::new(OnceLock::new()),
            cache: Arc::new(Mutex::new(HashMap::new())),
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
                // Plain http only for a local network's own names.
                let scheme = if local && !self.client.guarded() {
                    "http"
                } else {
                    "https"
                };
                Ok(format!("{scheme}://{host}/.well-known/did.json"))
            }
            other => Err(IdentityError::UnsupportedMethod(other.to_owned())),
        }
    }

    /// The DID document, from the cache when it is recent enough.
    pub async fn resolve(&self, did: &Did) -> Result<DidDocument, IdentityError> {
        if let Some(document) = self.in_process(did).await? {
            return Ok(document);
        }
        let cached = self.cached(did.as_str());
        if let Some((document, age)) = &cached {
            if *age < FRESH_FOR {
                return Ok(document.clone());
            }
            if *age < KEPT_FOR {
                let resolver = self.clone();
                let did = did.clone();
                tokio::spawn(async move {
                    if let Err(e) = resolver.resolve_fresh(&did).await {
                        tracing::debug!(%did, error = %e, "refreshing a cached DID document failed");
                    }
                });
                return Ok(document.clone());
            }
        }
        match self.fetch(did).await {
            Ok(document) => Ok(self.remember(did.as_str(), document)),
            Err(e) => match cached {
                Some((document, age)) if age < KEPT_FOR => {
                    tracing::warn!(%did, error = %e, "using a cached DID document");
                    Ok(document)
                }
                _ => Err(e),
            },
        }
    }

    /// The DID document as its source says now (and the cache learns it).
    pub async fn resolve_fresh(&self, did: &Did) -> Result<DidDocument, IdentityError> {
        if let Some(document) = self.in_process(did).await? {
            return Ok(document);
        }
        let document = self.fetch(did).await?;
        Ok(self.remember(did.as_str(), document))
    }

    /// Drops a cached document (after this server changed the DID).
    pub fn forget(&self, did: &str) {
        self.cache
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .remove(did);
    }

    fn cached(&self, did: &str) -> Option<(DidDocument, Duration)> {
        let cache = self
            .cache
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        cache
            .get(did)
            .map(|(document, at)| (document.clone(), at.elapsed()))
    }

    fn remember(&self, did: &str, document: DidDocument) -> DidDocument {
        let mut cache = self
            .cache
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if cache.len() >= MAX_CACHED {
            cache.clear();
        }
        cache.insert(did.to_owned(), (document.clone(), Instant::now()));
        document
    }

    /// Documents read in-process: hosted here, or in the embedded PLC directory.
    async fn in_process(&self, did: &Did) -> Result<Option<DidDocument>, IdentityError> {
        if let Some(local) = self.local.get()
            && let Some(document) = local.document(did.as_str()).await
        {
            return Ok(Some(document));
        }
        if did.is_plc() && matches!(self.plc, PlcClient::Embedded(_)) {
            return self.fetch(did).await.map(Some);
        }
        Ok(None)
    }

    /// Fetches and parses the DID document; its `id` must be the DID asked for.
    async fn fetch(&self, did: &Did) -> Result<DidDocument, IdentityError> {
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
        let url = self.document_url(did)?;
        let fetch_error = |reason: String| IdentityError::Fetch {
            did: did.to_string(),
            reason,
        };
        let response = self
            .client
            .get(&url, Trust::Public)
            .map_err(|e| fetch_error(e.to_string()))?
            .limit(MAX_DOCUMENT_LEN)
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
        let body = response.bytes().await.map_err(|e| match e {
            OutboundError::TooLarge(_) => fetch_error("document too large".into()),
            other => fetch_error(other.to_string()),
        })?;
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
