//! Client metadata documents and key sets, fetched through the node's one outbound client (in
//! production only public https addresses, with a size limit and a timeout) and cached for a
//! while, so a sign-in costs at most one fetch of each.
//!
//! The app's logo (`logo_uri`) is fetched the same way and served from the node's own origin,
//! so the sign-in page and the web UI never load another origin: raster images only (PNG, JPEG,
//! WebP, GIF, checked by their first bytes, never SVG, which can carry script), 256 KiB at most,
//! cached (a logo that cannot be had too, so a broken one is not fetched on every view).
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

/// Largest logo read.
const MAX_LOGO_BYTES: usize = 256 * 1024;
/// Most logos cached (so at most 64 × 256 KiB = 16 MiB of them in memory).
const LOGO_CACHE_MAX: usize = 64;

/// An app's logo, checked and ready to serve.
pub struct ClientLogo {
    pub content_type: &'static str,
    pub bytes: bytes::Bytes,
}

/// The image type of `bytes`, from their first bytes: the raster formats a browser shows.
fn raster_type(bytes: &[u8]) -> Option<&'static str> {
    if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some("image/png")
    } else if bytes.starts_with(&[0xff, 0xd8, 0xff]) {
        Some("image/jpeg")
    } else if bytes.starts_with(b"GIF87a") || bytes.starts_with(b"GIF89a") {
        Some("image/gif")
    } else if bytes.len() >= 12 && &bytes[..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
        Some("image/webp")
    } else {
        None
    }
}

type Cached<T> = Mutex<HashMap<String, (Instant, Arc<T>)>>;

/// Fetches and caches client documents.
pub struct Clients {
    http: Outbound,
    local_mode: bool,
    /// The node's own web UI (`web_client`): its client id and metadata, never fetched.
    own: (String, Arc<ClientMetadata>),
    metadata: Cached<ClientMetadata>,
    keys: Cached<Vec<Jwk>>,
    /// By client id; `None` when the app has no logo that can be shown.
    logos: Cached<Option<Arc<ClientLogo>>>,
}

fn cached<T>(cache: &Cached<T>, key: &str) -> Option<Arc<T>> {
    let guard = cache.lock().unwrap_or_else(|p| p.into_inner());
    guard
        .get(key)
        .filter(|(at, _)| at.elapsed() < CACHE_TTL)
        .map(|(_, v)| v.clone())
}

fn remember<T>(cache: &Cached<T>, key: &str, value: Arc<T>) {
    remember_at_most(cache, key, value, CACHE_MAX)
}

fn remember_at_most<T>(cache: &Cached<T>, key: &str, value: Arc<T>, max: usize) {
    let mut guard = cache.lock().unwrap_or_else(|p| p.into_inner());
    if guard.len() >= max {
        guard.retain(|_, (at, _)| at.elapsed() < CACHE_TTL);
        if guard.len() >= max
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
    pub fn new(http: Outbound, local_mode: bool, own: ClientMetadata) -> Clients {
        Clients {
            http,
            local_mode,
            own: (own.client_id.clone(), Arc::new(own)),
            metadata: Mutex::default(),
            keys: Mutex::default(),
            logos: Mutex::default(),
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
        if client_id == self.own.0 {
            return Ok(self.own.1.clone());
        }
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

    /// The logo of `client_id`, when its metadata names one that is a raster image.
    pub async fn logo(&self, client_id: &str) -> Option<Arc<ClientLogo>> {
        if let Some(hit) = cached(&self.logos, client_id) {
            return hit.as_ref().clone();
        }
        let meta = self.metadata(client_id).await.ok()?;
        let logo = match meta.logo_uri.as_deref() {
            Some(uri) => match self.fetch_logo(uri).await {
                Ok(logo) => Some(Arc::new(logo)),
                Err(e) => {
                    tracing::debug!(client_id, "app logo not served: {e}");
                    None
                }
            },
            None => None,
        };
        remember_at_most(
            &self.logos,
            client_id,
            Arc::new(logo.clone()),
            LOGO_CACHE_MAX,
        );
        logo
    }

    async fn fetch_logo(&self, uri: &str) -> Result<ClientLogo, String> {
        let parsed = url::Url::parse(uri).map_err(|e| format!("{uri}: {e}"))?;
        let fetched = document_url(&parsed, self.local_mode);
        let response = self
            .http
            .get(fetched.as_str(), Trust::Public)
            .map_err(|e| e.to_string())?
            .limit(MAX_LOGO_BYTES)
            .timeout(FETCH_TIMEOUT)
            .header("accept", "image/png, image/jpeg, image/webp, image/gif")
            .send()
            .await
            .map_err(|e| e.to_string())?;
        if !response.status().is_success() {
            return Err(format!("{uri} answered {}", response.status()));
        }
        let declared = response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .map(|v| v.trim().to_ascii_lowercase())
            .unwrap_or_default();
        let bytes = response.bytes().await.map_err(|e| e.to_string())?;
        let content_type = raster_type(&bytes).ok_or("not a PNG, JPEG, WebP or GIF image")?;
        if declared != content_type {
            return Err(format!("served as {declared:?}, but is {content_type}"));
        }
        Ok(ClientLogo {
            content_type,
            bytes,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::raster_type;

    #[test]
    fn only_raster_images_are_logos() {
        assert_eq!(raster_type(b"\x89PNG\r\n\x1a\n...."), Some("image/png"));
        assert_eq!(raster_type(&[0xff, 0xd8, 0xff, 0xe0]), Some("image/jpeg"));
        assert_eq!(raster_type(b"GIF89a.."), Some("image/gif"));
        assert_eq!(raster_type(b"RIFF\0\0\0\0WEBPVP8 "), Some("image/webp"));
        assert_eq!(
            raster_type(b"<svg xmlns=\"http://www.w3.org/2000/svg\"/>"),
            None
        );
        assert_eq!(raster_type(b"<?xml version=\"1.0\"?><svg/>"), None);
        assert_eq!(raster_type(b""), None);
    }
}
