//! Replay protection for DPoP proofs and client assertions: each `jti` is accepted once while it
//! could still be valid. Kept in memory: a proof older than `core::oauth::dpop::MAX_PROOF_AGE_SECS`
//! is refused anyway, so only the last few minutes matter.

use std::collections::HashMap;
use std::sync::Mutex;

/// Most ids remembered; past it the expired ones are dropped, then new ids are refused until
/// room frees up (a flood cannot make the server forget an id that is still live).
const MAX_IDS: usize = 200_000;

#[derive(Default)]
pub struct Replay {
    seen: Mutex<HashMap<String, i64>>,
}

impl Replay {
    /// Records `jti` (scoped by `kind`, so a proof and an assertion never collide) until
    /// `valid_until`; false when it was already seen or there is no room.
    pub fn first_use(&self, kind: &str, jti: &str, valid_until: i64, now: i64) -> bool {
        let mut seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        if seen.len() >= MAX_IDS {
            seen.retain(|_, until| *until >= now);
            if seen.len() >= MAX_IDS {
                return false;
            }
        }
        let key = format!("{kind}\0{jti}");
        match seen.get(&key) {
            Some(until) if *until >= now => false,
            _ => {
                seen.insert(key, valid_until);
                true
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_id_is_accepted_once_while_live() {
        let replay = Replay::default();
        assert!(replay.first_use("dpop", "a", 100, 0));
        assert!(!replay.first_use("dpop", "a", 100, 50));
        assert!(replay.first_use("assertion", "a", 100, 50));
        assert!(replay.first_use("dpop", "a", 300, 101));
    }
}
