//! A bounded cache of resolved identities (signing key, PDS host), refreshed on `#identity`, on a
//! signature failure, and after [`TTL_MICROS`].
//!
//! A DID is resolved afresh at most [`FRESH_PER_WINDOW`] times per [`WINDOW_MICROS`]: a hostile
//! host that sends `#identity` events, or events whose DID document names another host, frame
//! after frame costs a few lookups per DID per minute, not one per frame; a real key rotation or
//! move needs one or two. The parsed signing key is what is cached (parsing a point costs a square
//! root; a relay checks a signature per event). After an `#identity` event the cached identity is
//! stale and never verifies again: it is resolved afresh, past the resolver's own cache, or, when
//! the budget is spent, the DID's events are refused until the next window, so a rotated-away key
//! never verifies another commit.

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

/// What the cache answers before any resolution.
#[derive(Debug)]
enum Lookup {
    Hit(Box<Identity>),
    /// Resolve; `fresh` bypasses the resolver's own cache.
    Resolve {
        fresh: bool,
    },
    /// Neither a usable cached identity nor a fresh look left in this window.
    Refuse,
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

/// Caches `identity`, first clearing the cache if it holds [`MAX_ENTRIES`] others.
fn insert_bounded(entries: &mut HashMap<String, Identity>, did: &str, identity: Identity) {
    if entries.len() >= MAX_ENTRIES && !entries.contains_key(did) {
        entries.clear();
    }
    entries.insert(did.to_owned(), identity);
}

impl IdentityCache {
    pub fn new(resolver: Resolver) -> IdentityCache {
        IdentityCache {
            resolver,
            entries: Mutex::new(HashMap::new()),
        }
    }

    /// What the cache answers for `did`; the budget of fresh resolutions is spent here.
    fn cached(&self, did: &str, fresh: bool) -> Lookup {
        let now = crate::clock::now_micros();
        let mut entries = self
            .entries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let Some(entry) = entries.get_mut(did) else {
            return Lookup::Resolve { fresh };
        };
        if now - entry.resolved_at >= TTL_MICROS {
            return Lookup::Resolve { fresh };
        }
        if !fresh && !entry.stale {
            return Lookup::Hit(Box::new(entry.clone()));
        }
        if now - entry.window.0 >= WINDOW_MICROS {
            entry.window = (now, 0);
        }
        if entry.window.1 >= FRESH_PER_WINDOW {
            // A stale identity (an `#identity` event said the document changed) may hold a key
            // that was rotated away: it never answers, even when no fresh look is left.
            return if entry.stale {
                Lookup::Refuse
            } else {
                Lookup::Hit(Box::new(entry.clone()))
            };
        }
        entry.window.1 += 1;
        // After an `#identity` event the resolver's own cache may still hold the old document.
        Lookup::Resolve { fresh: true }
    }

    /// The identity of `did`, resolving it when not cached (or when `fresh` is asked for).
    pub async fn get(&self, did: &str, fresh: bool) -> Option<Identity> {
        let fresh = match self.cached(did, fresh) {
            Lookup::Hit(found) => return Some(*found),
            Lookup::Refuse => return None,
            Lookup::Resolve { fresh } => fresh,
        };
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
        insert_bounded(&mut entries, did, identity.clone());
        Some(identity)
    }

    /// Caches an identity as if just resolved (the bench's way to fill the cache without a network).
    pub fn remember(&self, did: &str, key: Option<PublicKey>, pds_host: Option<String>) {
        let now = crate::clock::now_micros();
        let mut entries = self
            .entries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let identity = Identity {
            key,
            pds_host,
            resolved_at: now,
            stale: false,
            window: (now, 0),
        };
        insert_bounded(&mut entries, did, identity);
    }

    /// Identities cached.
    pub fn len(&self) -> usize {
        self.entries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .len()
    }

    /// Removes the cached identity (an account the relay no longer carries).
    pub fn evict(&self, did: &str) {
        self.entries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .remove(did);
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
    use super::{FRESH_PER_WINDOW, IdentityCache, Lookup, MAX_ENTRIES, WINDOW_MICROS};
    use crate::core::crypto::{Algorithm, Keypair, PublicKey};

    const DID: &str = "did:plc:aaaaaaaaaaaaaaaaaaaaaaaa";

    /// A cache whose resolver reaches nothing (a closed local port): every resolution fails.
    fn cache_holding(key: &PublicKey) -> IdentityCache {
        let cache = IdentityCache::new(crate::identity::Resolver::new(
            crate::net::Outbound::new(true),
            crate::identity::PlcClient::Remote {
                http: crate::net::Outbound::new(true),
                url: "http://127.0.0.1:9".into(),
            },
            "http://127.0.0.1:9",
        ));
        cache.remember(DID, Some(key.clone()), Some("pds.example.com".into()));
        cache
    }

    fn key() -> PublicKey {
        Keypair::generate(Algorithm::K256, &mut rand_core::OsRng).public_key()
    }

    #[test]
    fn fresh_resolutions_of_one_did_are_budgeted() {
        let cache = cache_holding(&key());
        assert!(
            matches!(cache.cached(DID, false), Lookup::Hit(_)),
            "a plain use is cached"
        );
        for _ in 0..FRESH_PER_WINDOW {
            assert!(
                matches!(cache.cached(DID, true), Lookup::Resolve { fresh: true }),
                "within the budget: resolve"
            );
        }
        assert!(
            matches!(cache.cached(DID, true), Lookup::Hit(_)),
            "budget spent: cached"
        );
        cache.entries.lock().unwrap().get_mut(DID).unwrap().window.0 -= WINDOW_MICROS;
        assert!(
            matches!(cache.cached(DID, true), Lookup::Resolve { fresh: true }),
            "a new window: resolve again"
        );
        assert!(matches!(
            cache.cached("did:plc:bbbbbbbbbbbbbbbbbbbbbbbb", false),
            Lookup::Resolve { fresh: false }
        ));
    }

    #[test]
    fn the_cache_never_holds_more_than_its_bound() {
        let key = key();
        let cache = cache_holding(&key);
        for i in 0..=MAX_ENTRIES {
            cache.remember(&format!("did:plc:{i:024}"), Some(key.clone()), None);
            assert!(cache.len() <= MAX_ENTRIES);
        }
        // Cleared when full (a community's accounts fit many times over), the newest kept.
        assert!(cache.len() < 10);
        assert!(matches!(
            cache.cached(&format!("did:plc:{MAX_ENTRIES:024}"), false),
            Lookup::Hit(_)
        ));
    }

    #[tokio::test]
    async fn after_an_identity_event_the_cached_key_never_verifies_again() {
        let old = key();
        let cache = cache_holding(&old);
        assert_eq!(cache.get(DID, false).await.unwrap().key, Some(old.clone()));
        // An #identity event (a key rotation, say): the next use resolves past every cache.
        cache.forget(DID);
        assert!(matches!(
            cache.cached(DID, false),
            Lookup::Resolve { fresh: true }
        ));
        // Resolution fails here: the old key is not answered instead.
        assert!(cache.get(DID, false).await.is_none());
        // Nor once the window's fresh looks are spent.
        cache.entries.lock().unwrap().get_mut(DID).unwrap().window.1 = FRESH_PER_WINDOW;
        assert!(matches!(cache.cached(DID, false), Lookup::Refuse));
        assert!(cache.get(DID, false).await.is_none());
        assert!(cache.get(DID, true).await.is_none());
        // The new document's key replaces it, and only that one answers.
        let new = key();
        cache.remember(DID, Some(new.clone()), Some("pds.example.com".into()));
        assert_eq!(cache.get(DID, false).await.unwrap().key, Some(new));
    }
}
