//! A bounded cache of resolved identities (signing key, PDS host), refreshed on `#identity`, on a
//! signature failure, and after [`TTL_MICROS`].

use std::collections::HashMap;
use std::sync::Mutex;

use crate::core::crypto::PublicKey;
use crate::core::syntax::Did;
use crate::identity::Resolver;

/// How long a resolved identity is trusted.
const TTL_MICROS: i64 = 60 * 60 * 1_000_000;
/// Most identities kept; the cache is cleared when it fills (a community is small).
const MAX_ENTRIES: usize = 100_000;

/// What the relay needs from a DID document.
#[derive(Clone, Debug)]
pub struct Identity {
    pub key: Option<PublicKey>,
    /// `host[:port]` of the `#atproto_pds` endpoint.
    pub pds_host: Option<String>,
    resolved_at: i64,
}

pub struct IdentityCache {
    resolver: Resolver,
    entries: Mutex<HashMap<String, Identity>>,
}

/// `host[:port]` of a URL.
pub fn host_of(url: &str) -> Option<String> {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))?;
    let host = rest.split('/').next()?;
    (!host.is_empty()).then(|| host.to_ascii_lowercase())
}

impl IdentityCache {
    pub fn new(resolver: Resolver) -> IdentityCache {
        IdentityCache {
            resolver,
            entries: Mutex::new(HashMap::new()),
        }
    }

    fn cached(&self, did: &str) -> Option<Identity> {
        let entries = self
            .entries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        entries
            .get(did)
            .filter(|i| crate::clock::now_micros() - i.resolved_at < TTL_MICROS)
            .cloned()
    }

    /// The identity of `did`, resolving it when not cached (or when `fresh` is asked for).
    pub async fn get(&self, did: &str, fresh: bool) -> Option<Identity> {
        if !fresh && let Some(found) = self.cached(did) {
            return Some(found);
        }
        let parsed = Did::parse(did).ok()?;
        let document = if fresh {
            self.resolver.resolve_fresh(&parsed).await.ok()?
        } else {
            self.resolver.resolve(&parsed).await.ok()?
        };
        let identity = Identity {
            key: document.signing_key().ok(),
            pds_host: document.pds_endpoint().and_then(host_of),
            resolved_at: crate::clock::now_micros(),
        };
        let mut entries = self
            .entries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if entries.len() >= MAX_ENTRIES {
            entries.clear();
        }
        entries.insert(did.to_owned(), identity.clone());
        Some(identity)
    }

    pub fn forget(&self, did: &str) {
        self.entries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .remove(did);
    }
}
