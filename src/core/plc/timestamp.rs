//! The audit log's `createdAt` timestamps, read and written through [`Datetime`].
//!
//! Spec: the did:plc spec's `createdAt` format
//! (<https://github.com/did-method-plc/did-method-plc/blob/main/website/spec/v0.1/did-plc.md>): the
//! directory writes UTC with milliseconds and `Z`.

use super::PlcError;
use crate::core::syntax::Datetime;

/// Parses an RFC 3339 `createdAt` to unix microseconds.
pub fn parse_micros(text: &str) -> Result<i64, PlcError> {
    Datetime::parse(text)
        .map(|d| d.to_unix_micros())
        .map_err(|_| PlcError::Timestamp(text.to_owned()))
}

/// Formats unix microseconds the way the PLC directory writes `createdAt` (milliseconds, `Z`).
pub fn format_millis(unix_micros: i64) -> String {
    Datetime::from_unix_millis(unix_micros.div_euclid(1000))
        .map(|d| d.as_str().to_owned())
        .unwrap_or_else(|_| "1970-01-01T00:00:00.000Z".to_owned())
}

/// Truncates unix microseconds to whole milliseconds (toward the past), the precision `createdAt`
/// keeps.
pub fn truncate_to_millis(unix_micros: i64) -> i64 {
    unix_micros.div_euclid(1000).saturating_mul(1000)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_directory_timestamps() {
        assert_eq!(parse_micros("1970-01-01T00:00:00.000Z").unwrap(), 0);
        assert_eq!(
            parse_micros("2024-02-22T06:31:08.867+02:00").unwrap(),
            1_708_576_268_867_000
        );
        assert_eq!(
            format_millis(1_708_576_268_867_123),
            "2024-02-22T04:31:08.867Z"
        );
        assert!(parse_micros("2024-02-22 04:31:08Z").is_err());
        assert_eq!(truncate_to_millis(1_999), 1_000);
    }
}
