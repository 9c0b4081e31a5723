//! Not an API: what `benches/scale.rs` measures of the relay without a network: the early filter
//! (a frame's routing fields against the carried set, as the subscriber decides) and what the state
//! of the carried accounts costs in memory (the set, each account's cached identity and PDS host).
//!
//! Spec: <https://atproto.com/specs/sync>. A bench target is a separate crate that reaches only
//! public items; this facade keeps the relay itself private.

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use super::identities::IdentityCache;
use super::scope::Scope;
use crate::core::crypto::PublicKey;
use crate::core::firehose::{FrameError, peek_frame};

/// The carried set, filled with accounts members follow.
pub struct CarriedSet {
    scope: Scope,
}

impl CarriedSet {
    pub fn new(dids: impl IntoIterator<Item = String>) -> CarriedSet {
        let scope = Scope::new(HashSet::new(), Duration::from_secs(3600));
        scope.set_members(dids.into_iter().collect(), Instant::now());
        CarriedSet { scope }
    }

    /// Whether the subscriber drops `frame` before decoding it (its account is not carried).
    pub fn filters_out(&self, frame: &[u8]) -> Result<bool, FrameError> {
        let peek = peek_frame(frame)?;
        Ok(peek.did.is_some_and(|did| !self.scope.contains(did)))
    }
}

/// Everything the relay holds in memory per carried account: the set, the cached identity (parsed
/// key, PDS host) and the account's PDS host for retiring hosts.
pub struct CarriedState {
    pub set: CarriedSet,
    identities: IdentityCache,
    hosts: HashMap<String, String>,
}

impl CarriedState {
    /// `accounts`: (DID, signing key, PDS host).
    pub fn new(accounts: Vec<(String, PublicKey, String)>) -> CarriedState {
        let identities = IdentityCache::new(crate::identity::Resolver::new(
            crate::net::Outbound::new(true),
            crate::identity::PlcClient::Remote {
                http: crate::net::Outbound::new(true),
                url: "http://127.0.0.1:9".into(),
            },
            "http://127.0.0.1:9",
        ));
        let mut hosts = HashMap::new();
        for (did, key, host) in &accounts {
            identities.remember(did, Some(key.clone()), Some(host.clone()));
            hosts.insert(did.clone(), host.clone());
        }
        CarriedState {
            set: CarriedSet::new(accounts.into_iter().map(|(did, _, _)| did)),
            identities,
            hosts,
        }
    }

    /// Accounts held (each structure holds every one).
    pub fn len(&self) -> usize {
        self.hosts.len().min(self.identities.len())
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}
