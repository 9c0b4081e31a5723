//! A bounded cache of resolved identities (signing key, PDS host), refreshed on `#identity`, on a
//! signature failure, and after [`TTL_MICROS`].
//!
//! A DID is resolved afresh at most [`FRESH_PER_WINDOW`] times per [`WINDOW_MICROS`]: a hostile
//! host that sends `#identity` events, or events whose DID document names another host, frame
//! after frame costs a few lookups per DID per minute, not one per frame; a real key rotation or
//! move needs one or two.

use std::collections::HashMap;
use std::sync::Mutex;

use crate::core::crypto::PublicKey;
use crate::core::syntax::Did;
use crate::identity::Resolver;

/// How long a resolved identity is trusted.
const TTL_MICROS: i64 = 60 * 60 * 1_000_000;
/// Most identities kept; the cache is cleared when it fills (a community is small).
const MAX_ENTRIES: usize = 100_000;
/// Fresh resolutions of one DID per window; beyond them the cached identity answers.
const FRESH_PER_WINDOW: u32 = 4;
const WINDOW_MICROS: i64 = 60 * 1_000_000;

/// What the relay needs from a DID document.
#[derive(Clone, Debug)]
pub struct Identity {
    pub key: Option<PublicKey>,
    /// `host[:port]` of the `#atproto_pds` endpoint.
    pub pds_host: Option<String>,
    resolved_at: i64,
    /// Set by [`IdentityCache::forget`]: the next use resolves again (within the budget).
    stale: bool,
    /// Start of the current window and fresh resolutions in it.
    window: (i64, u32),
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

    /// The cached identity, unless it must be resolved again (expired, or stale or a fresh one
    /// asked for, within the budget); the budget is spent here.
    fn cached(&self, did: &str, fresh: bool) -> Option<Identity> {
        let now = crate::clock::now_micros();
        let mut entries = self
            .entries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let entry = entries.get_mut(did)?;
        if now - entry.resolved_at >= TTL_MICROS {
            return None;
        }
        if !fresh && !entry.stale {
            return Some(entry.clone());
        }
        if now - entry.window.0 >= WINDOW_MICROS {
            entry.window = (now, 0);
        }
        if entry.window.1 >= FRESH_PER_WINDOW {
            return Some(entry.clone());
        }
        entry.window.1 += 1;
        None
    }

    /// The identity of `did`, resolving it when not cached (or when `fresh` is asked for).
    pub async fn get(&self, did: &str, fresh: bool) -> Option<Identity> {
        if let Some(found) = self.cached(did, fresh) {
            return Some(found);
        }
        let parsed = Did::parse(did).ok()?;
        let document = if fresh {
            self.resolver.resolve_fresh(&parsed).await.ok()?
        } else {
            self.resolver.resolve(&parsed).await.ok()?
        };
        let now = crate::clock::now_micros();
        let mut entries = self
            .entries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let window = entries.get(did).map_or((now, 1), |e| e.window);
        let identity = Identity {
            key: document.signing_key().ok(),
            pds_host: document.pds_endpoint().and_then(host_of),
            resolved_at: now,
            stale: false,
            window,
        };
        if entries.len() >= MAX_ENTRIES {
            entries.clear();
        }
        entries.insert(did.to_owned(), identity.clone());
        Some(identity)
    }

    /// Marks the cached identity stale: the next use resolves it again (within the budget).
    pub fn forget(&self, did: &str) {
        if let Some(entry) = self
            .entries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get_mut(did)
        {
            entry.stale = true;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{FRESH_PER_WINDOW, Identity, IdentityCache, WINDOW_MICROS};

    #[test]
    fn fresh_resolutions_of_one_did_are_budgeted() {
        let cache = IdentityCache::new(crate::identity::Resolver::new(
            crate::net::Outbound::new(true),
            crate::identity::PlcClient::Remote {
                http: crate::net::Outbound::new(true),
                url: "http://127.0.0.1:9".into(),
            },
            "http://127.0.0.1:9",
        ));
        let now = crate::clock::now_micros();
        let did = "did:plc:aaaaaaaaaaaaaaaaaaaaaaaa";
        cache.entries.lock().unwrap().insert(
            did.into(),
            Identity {
                key: None,
                pds_host: Some("pds.example.com".into()),
                resolved_at: now,
                stale: false,
                window: (now, 0),
            },
        );
        assert!(cache.cached(did, false).is_some(), "a plain use is cached");
        for _ in 0..FRESH_PER_WINDOW {
            assert!(
                cache.cached(did, true).is_none(),
                "within the budget: resolve"
            );
        }
        assert!(cache.cached(did, true).is_some(), "budget spent: cached");
        cache.forget(did);
        assert!(
            cache.cached(did, false).is_some(),
            "stale, but the budget is spent"
        );
        cache.entries.lock().unwrap().get_mut(did).unwrap().window.0 -= WINDOW_MICROS;
        assert!(
            cache.cached(did, false).is_none(),
            "a new window: stale resolves again"
        );
    }
}
