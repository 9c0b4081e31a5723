//! Client metadata documents and key sets, fetched through the node's one outbound client (in
//! production only public https addresses, with a size limit and a timeout) and cached for a
//! while, so a sign-in costs at most one fetch of each.
//!
//! Spec: <https://atproto.com/specs/oauth#clients>.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::core::oauth::client::{
    ClientIdKind, ClientMetadata, document_url, loopback_metadata, parse_client_id,
    validate_metadata,
};
use crate::core::oauth::jwk::{Jwk, parse_jwks};
use crate::net::{Outbound, Trust};

/// Largest metadata document or key set read.
const MAX_DOCUMENT_BYTES: usize = 64 * 1024;
/// How long a fetch may take.
const FETCH_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a fetched document is used before it is fetched again.
const CACHE_TTL: Duration = Duration::from_secs(10 * 60);
/// Most documents cached (oldest dropped first when full).
const CACHE_MAX: usize = 1000;

type Cached<T> = Mutex<HashMap<String, (Instant, Arc<T>)>>;

/// Fetches and caches client documents.
pub struct Clients {
    http: Outbound,
    local_mode: bool,
    metadata: Cached<ClientMetadata>,
    keys: Cached<Vec<Jwk>>,
}

fn cached<T>(cache: &Cached<T>, key: &str) -> Option<Arc<T>> {
    let guard = cache.lock().unwrap_or_else(|p| p.into_inner());
    guard
        .get(key)
        .filter(|(at, _)| at.elapsed() < CACHE_TTL)
        .map(|(_, v)| v.clone())
}

fn remember<T>(cache: &Cached<T>, key: &str, value: Arc<T>) {
    let mut guard = cache.lock().unwrap_or_else(|p| p.into_inner());
    if guard.len() >= CACHE_MAX {
        guard.retain(|_, (at, _)| at.elapsed() < CACHE_TTL);
        if guard.len() >= CACHE_MAX
            && let Some(oldest) = guard
                .iter()
                .min_by_key(|(_, (at, _))| *at)
                .map(|(k, _)| k.clone())
        {
            guard.remove(&oldest);
        }
    }
    guard.insert(key.to_owned(), (Instant::now(), value));
}

impl Clients {
    pub fn new(http: Outbound, local_mode: bool) -> Clients {
        Clients {
            http,
            local_mode,
            metadata: Mutex::default(),
            keys: Mutex::default(),
        }
    }

    async fn fetch_json(&self, url: &str) -> Result<serde_json::Value, String> {
        let parsed = url::Url::parse(url).map_err(|e| format!("{url}: {e}"))?;
        let fetched = document_url(&parsed, self.local_mode);
        let response = self
            .http
            .get(fetched.as_str(), Trust::Public)
            .map_err(|e| e.to_string())?
            .limit(MAX_DOCUMENT_BYTES)
            .timeout(FETCH_TIMEOUT)
            .header("accept", "application/json")
            .send()
            .await
            .map_err(|e| e.to_string())?;
        if !response.status().is_success() {
            return Err(format!("{url} answered {}", response.status()));
        }
        response.json().await.map_err(|e| e.to_string())
    }

    /// The checked metadata of `client_id`.
    pub async fn metadata(&self, client_id: &str) -> Result<Arc<ClientMetadata>, String> {
        if let Some(hit) = cached(&self.metadata, client_id) {
            return Ok(hit);
        }
        let meta = match parse_client_id(client_id, self.local_mode).map_err(|e| e.to_string())? {
            ClientIdKind::Loopback => loopback_metadata(client_id).map_err(|e| e.to_string())?,
            ClientIdKind::Discoverable(url) => {
                let json = self
                    .fetch_json(url.as_str())
                    .await
                    .map_err(|e| format!("client metadata could not be fetched: {e}"))?;
                validate_metadata(client_id, &json, self.local_mode)
                    .map_err(|e| format!("invalid client metadata: {e}"))?
            }
        };
        let meta = Arc::new(meta);
        remember(&self.metadata, client_id, meta.clone());
        Ok(meta)
    }

    /// The signing keys of a confidential client (inline, or fetched from its `jwks_uri`).
    pub async fn keys(&self, meta: &ClientMetadata) -> Result<Arc<Vec<Jwk>>, String> {
        if let Some(keys) = &meta.jwks {
            return Ok(Arc::new(keys.clone()));
        }
        let uri = meta.jwks_uri.as_deref().ok_or("the client has no keys")?;
        if let Some(hit) = cached(&self.keys, uri) {
            return Ok(hit);
        }
        let json = self
            .fetch_json(uri)
            .await
            .map_err(|e| format!("client keys could not be fetched: {e}"))?;
        let keys = Arc::new(parse_jwks(&json).map_err(|e| e.to_string())?);
        remember(&self.keys, uri, keys.clone());
        Ok(keys)
    }
}
