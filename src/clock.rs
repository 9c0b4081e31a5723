//! Wall-clock time, read in one place so the rest of the code receives it as a value (core never
//! reads a clock).

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
    crate::core::syntax::Datetime::from_unix_millis(now_micros() / 1000)
        .map(|d| d.as_str().to_owned())
        .unwrap_or_else(|_| "1970-01-01T00:00:00.000Z".to_owned())
}
