//! The set of accounts the relay carries from hosts it follows only in part (an upstream relay, or
//! a PDS followed because members follow some of its accounts): the operator's additions
//! (`--relay-follow-dids`, never dropped) and every account a member of the local PDS needs (follows,
//! interactions, subscribed lists: the App View's `follow_graph.rs` says which and why).
//!
//! Spec: <https://atproto.com/specs/sync> (a relay may carry any subset of the network's repos).
//! The member part is replaced as a whole from the App View's follow rows (`app.rs` wires the two),
//! so a follow seen twice or a restart cannot make it drift, and an account stays while any reason
//! holds (the part is their union). An account no member needs any more
//! stays for a grace period (`--relay-unfollow-grace-secs`): an unfollow and a re-follow a minute
//! later do not cost a second backfill, and its events keep flowing meanwhile. After it, the
//! account is dropped and forgotten (`forget`).
//!
//! Read on every event from such a host, before any identity or signature work: one read lock and
//! one or two hash lookups.

use std::collections::{HashMap, HashSet};
use std::sync::RwLock;
use std::time::{Duration, Instant};

/// The carried set; shared by the relay's subscribers.
pub struct Scope {
    state: RwLock<State>,
    grace: Duration,
}

#[derive(Default)]
struct State {
    /// `--relay-follow-dids`: kept whatever members do.
    operator: HashSet<String>,
    /// Accounts members need now (follow, interaction, list).
    members: HashSet<String>,
    /// Accounts members stopped following, and since when.
    released: HashMap<String, Instant>,
}

impl State {
    fn carries(&self, did: &str, now: Instant, grace: Duration) -> bool {
        self.operator.contains(did)
            || self.members.contains(did)
            || self
                .released
                .get(did)
                .is_some_and(|since| now.saturating_duration_since(*since) < grace)
    }
}

/// How big the set is, for the admin view and `/metrics`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ScopeSize {
    /// Accounts carried now (each counted once).
    pub carried: usize,
    pub operator: usize,
    pub members: usize,
    /// Accounts no member follows that are still in their grace period.
    pub releasing: usize,
}

impl Scope {
    pub fn new(operator: HashSet<String>, grace: Duration) -> Scope {
        Scope {
            state: RwLock::new(State {
                operator,
                ..State::default()
            }),
            grace,
        }
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, State> {
        self.state
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, State> {
        self.state
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Whether events for `did` are kept.
    pub fn contains(&self, did: &str) -> bool {
        self.read().carries(did, Instant::now(), self.grace)
    }

    /// Replaces the accounts members follow; returns those that were not carried before (they need
    /// a backfill: the relay dropped their events until now).
    pub fn set_members(&self, follows: HashSet<String>, now: Instant) -> Vec<String> {
        let mut state = self.write();
        let entered: Vec<String> = follows
            .iter()
            .filter(|did| !state.carries(did, now, self.grace))
            .cloned()
            .collect();
        let left: Vec<String> = state
            .members
            .iter()
            .filter(|did| !follows.contains(*did))
            .cloned()
            .collect();
        for did in left {
            state.released.insert(did, now);
        }
        for did in &follows {
            state.released.remove(did);
        }
        state.members = follows;
        entered
    }

    /// Starts the grace period of `dids` now, unless they are carried for a reason (the accounts
    /// carried before a restart that no member needs after it).
    pub fn release(&self, dids: impl IntoIterator<Item = String>, now: Instant) {
        let mut state = self.write();
        for did in dids {
            if !state.operator.contains(&did)
                && !state.members.contains(&did)
                && !state.released.contains_key(&did)
            {
                state.released.insert(did, now);
            }
        }
    }

    /// Forgets accounts whose grace period is over; returns those that left the set.
    pub fn expire(&self, now: Instant) -> Vec<String> {
        let mut state = self.write();
        let grace = self.grace;
        let over: Vec<String> = state
            .released
            .iter()
            .filter(|(_, since)| now.saturating_duration_since(**since) >= grace)
            .map(|(did, _)| did.clone())
            .collect();
        for did in &over {
            state.released.remove(did);
        }
        over.into_iter()
            .filter(|did| !state.operator.contains(did))
            .collect()
    }

    /// Every account carried now.
    pub fn dids(&self) -> Vec<String> {
        let state = self.read();
        let now = Instant::now();
        let mut all: HashSet<&String> = state.operator.iter().chain(&state.members).collect();
        all.extend(
            state
                .released
                .iter()
                .filter(|(_, since)| now.saturating_duration_since(**since) < self.grace)
                .map(|(did, _)| did),
        );
        all.into_iter().cloned().collect()
    }

    pub fn size(&self) -> ScopeSize {
        let state = self.read();
        let now = Instant::now();
        let releasing = state
            .released
            .iter()
            .filter(|(did, since)| {
                now.saturating_duration_since(**since) < self.grace
                    && !state.operator.contains(*did)
            })
            .count();
        let members_only = state
            .members
            .iter()
            .filter(|did| !state.operator.contains(*did))
            .count();
        ScopeSize {
            carried: state.operator.len() + members_only + releasing,
            operator: state.operator.len(),
            members: state.members.len(),
            releasing,
        }
    }

    /// How often released accounts are looked at: a fraction of the grace period, so one leaves
    /// at most a quarter of it late.
    pub fn sweep_interval(&self) -> Duration {
        (self.grace / 4).clamp(Duration::from_millis(100), Duration::from_secs(60))
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;
    use std::time::{Duration, Instant};

    use super::{Scope, ScopeSize};

    fn set(dids: &[&str]) -> HashSet<String> {
        dids.iter().map(|d| (*d).to_owned()).collect()
    }

    fn sorted(mut dids: Vec<String>) -> Vec<String> {
        dids.sort();
        dids
    }

    #[test]
    fn followed_accounts_enter_once_and_leave_after_the_grace_period() {
        let grace = Duration::from_secs(60);
        let scope = Scope::new(HashSet::new(), grace);
        let t0 = Instant::now();
        assert_eq!(
            sorted(scope.set_members(set(&["did:plc:a", "did:plc:b"]), t0)),
            ["did:plc:a", "did:plc:b"]
        );
        // Seen again (another member, a recompute): no second backfill.
        assert!(
            scope
                .set_members(set(&["did:plc:a", "did:plc:b"]), t0)
                .is_empty()
        );
        // b is unfollowed: still carried during the grace period.
        assert!(scope.set_members(set(&["did:plc:a"]), t0).is_empty());
        assert!(scope.contains("did:plc:b"));
        assert_eq!(
            scope.size(),
            ScopeSize {
                carried: 2,
                operator: 0,
                members: 1,
                releasing: 1
            }
        );
        assert!(scope.expire(t0 + grace / 2).is_empty());
        // Followed again within the grace period: it never left, so no backfill.
        assert!(
            scope
                .set_members(set(&["did:plc:a", "did:plc:b"]), t0 + grace / 2)
                .is_empty()
        );
        assert!(
            scope
                .set_members(set(&["did:plc:a"]), t0 + grace)
                .is_empty()
        );
        assert_eq!(scope.expire(t0 + grace * 2), ["did:plc:b"]);
        assert!(!scope.contains("did:plc:b"));
        assert_eq!(scope.size().carried, 1);
        // Followed after it left: it enters again, and is backfilled again.
        assert_eq!(
            scope.set_members(set(&["did:plc:a", "did:plc:b"]), t0 + grace * 3),
            ["did:plc:b"]
        );
    }

    #[test]
    fn the_operators_accounts_are_never_dropped() {
        let grace = Duration::ZERO;
        let scope = Scope::new(set(&["did:plc:op"]), grace);
        let t0 = Instant::now();
        assert!(scope.contains("did:plc:op"));
        // A member following it too changes nothing: it was carried already.
        assert!(scope.set_members(set(&["did:plc:op"]), t0).is_empty());
        assert!(scope.set_members(HashSet::new(), t0).is_empty());
        assert!(scope.expire(t0 + Duration::from_secs(1)).is_empty());
        assert!(scope.contains("did:plc:op"));
        assert_eq!(scope.dids(), ["did:plc:op"]);
        assert_eq!(
            scope.size(),
            ScopeSize {
                carried: 1,
                operator: 1,
                members: 0,
                releasing: 0
            }
        );
    }

    #[test]
    fn a_zero_grace_period_drops_at_once_and_unknown_accounts_are_not_carried() {
        let scope = Scope::new(HashSet::new(), Duration::ZERO);
        let t0 = Instant::now();
        assert!(!scope.contains("did:plc:x"));
        scope.set_members(set(&["did:plc:x"]), t0);
        assert!(scope.contains("did:plc:x"));
        scope.set_members(HashSet::new(), t0);
        assert!(!scope.contains("did:plc:x"));
        assert_eq!(scope.expire(t0), ["did:plc:x"]);
        assert_eq!(scope.sweep_interval(), Duration::from_millis(100));
    }

    #[test]
    fn accounts_carried_before_a_restart_that_nobody_needs_are_released() {
        let grace = Duration::from_secs(60);
        let scope = Scope::new(set(&["did:plc:op"]), grace);
        let t0 = Instant::now();
        scope.set_members(set(&["did:plc:friend"]), t0);
        scope.release(set(&["did:plc:op", "did:plc:friend", "did:plc:old"]), t0);
        assert!(
            scope.contains("did:plc:old"),
            "carried for its grace period"
        );
        assert_eq!(scope.size().releasing, 1);
        assert!(scope.expire(t0 + grace / 2).is_empty());
        assert_eq!(scope.expire(t0 + grace), ["did:plc:old"]);
        assert!(scope.contains("did:plc:friend") && scope.contains("did:plc:op"));
    }
}
