//! Wall-clock time, read in one place so the rest of the code receives it as a value (core never
//! reads a clock). Services that decide by time (suspensions that end, tokens that expire, uploads
//! collected after an hour) hold a [`Clock`], which tests replace with one they move by hand.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// Microseconds since the Unix epoch.
pub fn now_micros() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_micros()).unwrap_or(i64::MAX))
}

/// Seconds since the Unix epoch.
pub fn now_secs() -> i64 {
    now_micros() / 1_000_000
}

/// Seconds since the Unix epoch, unsigned (0 before it).
pub fn now_secs_u64() -> u64 {
    u64::try_from(now_secs()).unwrap_or(0)
}

/// The current time as an atproto datetime string (`toISOString` form, milliseconds, `Z`).
pub fn now_datetime() -> String {
    datetime(now_micros())
}

/// `micros` as an atproto datetime string.
fn datetime(micros: i64) -> String {
    crate::core::syntax::Datetime::from_unix_millis(micros / 1000)
        .map(|d| d.as_str().to_owned())
        .unwrap_or_else(|_| "1970-01-01T00:00:00.000Z".to_owned())
}

/// The time a service goes by: the system's, or (in tests) one that moves only when told to.
#[derive(Clone, Debug, Default)]
pub struct Clock {
    manual: Option<Arc<AtomicI64>>,
}

impl Clock {
    /// The system's clock.
    pub fn system() -> Clock {
        Clock::default()
    }

    /// A clock standing at `micros` until [`Clock::advance`] moves it.
    #[cfg(test)]
    pub fn manual(micros: i64) -> Clock {
        Clock {
            manual: Some(Arc::new(AtomicI64::new(micros))),
        }
    }

    /// Moves a manual clock forward (the system clock moves by itself).
    #[cfg(test)]
    pub fn advance(&self, micros: i64) {
        if let Some(now) = &self.manual {
            now.fetch_add(micros, Ordering::SeqCst);
        }
    }

    pub fn now_micros(&self) -> i64 {
        match &self.manual {
            Some(now) => now.load(Ordering::SeqCst),
            None => now_micros(),
        }
    }

    pub fn now_secs(&self) -> i64 {
        self.now_micros() / 1_000_000
    }

    pub fn now_datetime(&self) -> String {
        datetime(self.now_micros())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_manual_clock_moves_only_when_told() {
        let clock = Clock::manual(1_700_000_000_000_000);
        let copy = clock.clone();
        assert_eq!(clock.now_datetime(), "2023-11-14T22:13:20.000Z");
        copy.advance(60 * 1_000_000);
        assert_eq!(clock.now_secs(), 1_700_000_060, "clones share the time");
        assert!(Clock::system().now_micros() > 1_700_000_000_000_000);
    }
}
