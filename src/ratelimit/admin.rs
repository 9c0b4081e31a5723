//! The admin password's back-off: an address may fail [`FREE_FAILURES`] times, then waits a second
//! after the next failure and twice as long after each further one (up to [`MAX_DELAY_SECS`]) before it may try again, even with
//! the right password; a success clears it. When all addresses together have failed
//! [`GLOBAL_FAILURES_PER_HOUR`] times in an hour, only loopback addresses (the command line on the
//! machine itself) may try until the hour ends, so a guesser with many addresses gets no further.
//!
//! At the 2,257 guesses per second the review measured, an 8-character password fell to a short
//! script; with this back-off one address gets about 20 guesses a day.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;

use super::{Exceeded, HOUR, Status};

/// The name of these rows in the store.
pub const STORE_NAME: &str = "admin-failures";
/// How long a failure is remembered.
pub const KEPT_FOR_SECS: u64 = 24 * HOUR;
/// Failures an address may make before it has to wait.
pub const FREE_FAILURES: u32 = 5;
/// The longest wait.
pub const MAX_DELAY_SECS: u64 = HOUR;
/// Failures of all addresses together per hour before only loopback may try.
pub const GLOBAL_FAILURES_PER_HOUR: u32 = 100;
/// The store key of the all-addresses count.
const GLOBAL_KEY: &str = "*";

#[derive(Clone, Copy, Debug)]
struct Failures {
    /// The last failure (per address) or the window's start (all addresses).
    at: u64,
    count: u32,
    dirty: bool,
}

pub struct AdminBackoff {
    per_address: Mutex<HashMap<String, Failures>>,
    global: Mutex<Failures>,
}

/// How long an address that failed `count` times waits after its last failure.
fn delay(count: u32) -> u64 {
    if count <= FREE_FAILURES {
        return 0;
    }
    let doublings = (count - FREE_FAILURES - 1).min(20);
    (1u64 << doublings).min(MAX_DELAY_SECS)
}

impl AdminBackoff {
    /// From stored (key, at, count) rows.
    pub(super) fn restore(rows: Vec<(String, u64, u32)>, now: u64) -> AdminBackoff {
        let mut per_address = HashMap::new();
        let mut global = Failures {
            at: now,
            count: 0,
            dirty: false,
        };
        for (key, at, count) in rows {
            let failures = Failures {
                at,
                count,
                dirty: false,
            };
            if key == GLOBAL_KEY {
                if at + HOUR > now {
                    global = failures;
                }
            } else if at + KEPT_FOR_SECS > now {
                per_address.insert(key, failures);
            }
        }
        AdminBackoff {
            per_address: Mutex::new(per_address),
            global: Mutex::new(global),
        }
    }

    /// Whether `ip` (keyed as `key`) may try the admin password now.
    pub fn check(&self, ip: IpAddr, key: &str) -> Result<(), Exceeded> {
        let now = crate::clock::now_secs_u64();
        {
            let global = self
                .global
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            if global.at + HOUR > now
                && global.count >= GLOBAL_FAILURES_PER_HOUR
                && !ip.to_canonical().is_loopback()
            {
                return Err(Exceeded(Status {
                    limit: GLOBAL_FAILURES_PER_HOUR,
                    remaining: 0,
                    reset_at: global.at + HOUR,
                    window_secs: HOUR,
                }));
            }
        }
        let per_address = self
            .per_address
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(failures) = per_address.get(key) {
            let wait = delay(failures.count);
            // Times are whole seconds: a failure at 10.9 s is stored as 10, so the wait runs through
            // second `at + wait` inclusive and lasts at least `wait` seconds, never less.
            if wait > 0 && failures.at + wait >= now {
                return Err(Exceeded(Status {
                    limit: FREE_FAILURES,
                    remaining: 0,
                    reset_at: failures.at + wait + 1,
                    window_secs: wait,
                }));
            }
        }
        Ok(())
    }

    /// Records a wrong admin password from `key`.
    pub fn failed(&self, key: &str) {
        let now = crate::clock::now_secs_u64();
        {
            let mut per_address = self
                .per_address
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            if per_address.len() >= super::MAX_KEYS {
                per_address.retain(|_, f| f.at + KEPT_FOR_SECS > now);
            }
            let failures = per_address.entry(key.to_owned()).or_insert(Failures {
                at: now,
                count: 0,
                dirty: true,
            });
            if failures.at + KEPT_FOR_SECS <= now {
                failures.count = 0;
            }
            failures.count = failures.count.saturating_add(1);
            failures.at = now;
            failures.dirty = true;
        }
        let mut global = self
            .global
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if global.at + HOUR <= now {
            global.at = now;
            global.count = 0;
        }
        global.count = global.count.saturating_add(1);
        global.dirty = true;
    }

    /// Clears `key`'s failures after the right password.
    pub fn succeeded(&self, key: &str) {
        let mut per_address = self
            .per_address
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(failures) = per_address.get_mut(key) {
            failures.count = 0;
            failures.dirty = true;
        }
    }

    /// The rows changed since the last flush, as (key, at, count).
    pub(super) fn take_dirty(&self) -> Vec<(String, u64, u32)> {
        let mut rows = Vec::new();
        {
            let mut per_address = self
                .per_address
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            for (key, failures) in per_address.iter_mut().filter(|(_, f)| f.dirty) {
                failures.dirty = false;
                rows.push((key.clone(), failures.at, failures.count));
            }
        }
        let mut global = self
            .global
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if global.dirty {
            global.dirty = false;
            rows.push((GLOBAL_KEY.to_owned(), global.at, global.count));
        }
        rows
    }

    pub(super) fn sweep(&self, now: u64) {
        self.per_address
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .retain(|_, f| f.count > 0 && f.at + KEPT_FOR_SECS > now || f.dirty);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_wait_doubles_after_the_free_failures() {
        assert_eq!(
            (0..10).map(delay).collect::<Vec<_>>(),
            [0, 0, 0, 0, 0, 0, 1, 2, 4, 8]
        );
        assert_eq!(delay(40), MAX_DELAY_SECS);
    }

    #[test]
    fn an_address_waits_and_loopback_outlasts_a_distributed_guesser() {
        let backoff = AdminBackoff::restore(Vec::new(), crate::clock::now_secs_u64());
        let ip: IpAddr = "192.0.2.7".parse().unwrap();
        for _ in 0..=FREE_FAILURES {
            assert!(backoff.check(ip, "192.0.2.7").is_ok());
            backoff.failed("192.0.2.7");
        }
        let refused = backoff.check(ip, "192.0.2.7").unwrap_err();
        assert_eq!(refused.0.remaining, 0);
        assert!(
            backoff
                .check("192.0.2.8".parse().unwrap(), "192.0.2.8")
                .is_ok()
        );
        backoff.succeeded("192.0.2.7");
        assert!(backoff.check(ip, "192.0.2.7").is_ok());
        // Many addresses, one failure each.
        for n in 0..GLOBAL_FAILURES_PER_HOUR {
            backoff.failed(&format!("198.51.100.{n}"));
        }
        assert!(
            backoff
                .check("203.0.113.1".parse().unwrap(), "203.0.113.1")
                .is_err()
        );
        assert!(
            backoff
                .check("127.0.0.1".parse().unwrap(), "127.0.0.1")
                .is_ok()
        );
        assert!(backoff.check("::1".parse().unwrap(), "::1").is_ok());
        assert_eq!(
            backoff.take_dirty().len(),
            GLOBAL_FAILURES_PER_HOUR as usize + 2
        );
        assert!(backoff.take_dirty().is_empty(), "flushed rows are clean");
    }
}
