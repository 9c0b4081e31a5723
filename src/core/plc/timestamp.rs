//! The audit log's `createdAt` timestamps: a minimal RFC 3339 parser to unix microseconds, and the
//! directory's output form `YYYY-MM-DDTHH:MM:SS.sssZ`.
//!
//! Spec: <https://www.rfc-editor.org/rfc/rfc3339#section-5.6> and the did:plc spec's `createdAt`
//! format (<https://github.com/did-method-plc/did-method-plc/blob/main/website/spec/v0.1/did-plc.md>).
//! Private to `plc` as a stop-gap: it should give way to `core::syntax::Datetime` once that exists.
//!
//! Does not: accept leap seconds, lowercase `t`, a space separator, or the `-00:00` offset (atproto
//! forbids it); fraction digits past microseconds are truncated.

use super::PlcError;

const MICROS_PER_SECOND: i64 = 1_000_000;
const SECONDS_PER_DAY: i64 = 86_400;

/// Days from 1970-01-01 to the given proleptic Gregorian date (negative before it).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    // Shift the year to start in March so the leap day is the last day of the year.
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let year_of_era = y - era * 400;
    let month_from_march = (month + 9) % 12;
    let day_of_year = (153 * month_from_march + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// The date of a day count from 1970-01-01, inverse of [`days_from_civil`].
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z - era * 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_from_march = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_from_march + 2) / 5 + 1;
    let month = if month_from_march < 10 {
        month_from_march + 3
    } else {
        month_from_march - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

fn is_leap(year: i64) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Reads exactly `n` ASCII digits at `pos`.
fn digits(bytes: &[u8], pos: usize, n: usize) -> Option<i64> {
    let slice = bytes.get(pos..pos + n)?;
    slice.iter().try_fold(0i64, |acc, b| {
        b.is_ascii_digit().then(|| acc * 10 + i64::from(b - b'0'))
    })
}

/// Parses an RFC 3339 date-time (`2024-02-22T04:31:08.867Z`, `…+02:00`) to unix microseconds.
pub fn parse_micros(text: &str) -> Result<i64, PlcError> {
    parse(text).ok_or_else(|| PlcError::Timestamp(text.to_owned()))
}

fn parse(text: &str) -> Option<i64> {
    let b = text.as_bytes();
    let year = digits(b, 0, 4)?;
    let month = digits(b, 5, 2)?;
    let day = digits(b, 8, 2)?;
    let hour = digits(b, 11, 2)?;
    let minute = digits(b, 14, 2)?;
    let second = digits(b, 17, 2)?;
    let separators_ok = b.get(4) == Some(&b'-')
        && b.get(7) == Some(&b'-')
        && b.get(10) == Some(&b'T')
        && b.get(13) == Some(&b':')
        && b.get(16) == Some(&b':');
    if !separators_ok
        || !(1..=12).contains(&month)
        || day < 1
        || day > days_in_month(year, month)
        || hour > 23
        || minute > 59
        || second > 59
    {
        return None;
    }
    let mut pos = 19;
    let mut micros = 0i64;
    if b.get(pos) == Some(&b'.') {
        pos += 1;
        let start = pos;
        while b.get(pos).is_some_and(u8::is_ascii_digit) {
            if pos - start < 6 {
                micros = micros * 10 + i64::from(b[pos] - b'0');
            }
            pos += 1;
        }
        let count = pos - start;
        if count == 0 {
            return None;
        }
        for _ in count..6 {
            micros *= 10;
        }
    }
    let offset_seconds = match b.get(pos)? {
        b'Z' if pos + 1 == b.len() => 0,
        sign @ (b'+' | b'-') => {
            let hours = digits(b, pos + 1, 2)?;
            let minutes = digits(b, pos + 4, 2)?;
            if b.get(pos + 3) != Some(&b':') || pos + 6 != b.len() || hours > 23 || minutes > 59 {
                return None;
            }
            let magnitude = (hours * 60 + minutes) * 60;
            match sign {
                b'+' => magnitude,
                _ if magnitude == 0 => return None,
                _ => -magnitude,
            }
        }
        _ => return None,
    };
    let days = days_from_civil(year, month, day);
    let seconds = days * SECONDS_PER_DAY + hour * 3600 + minute * 60 + second - offset_seconds;
    Some(seconds * MICROS_PER_SECOND + micros)
}

/// Formats unix microseconds the way the PLC directory writes `createdAt`: UTC, milliseconds, `Z`
/// (sub-millisecond digits are dropped).
pub fn format_millis(unix_micros: i64) -> String {
    let seconds = unix_micros.div_euclid(MICROS_PER_SECOND);
    let millis = unix_micros.rem_euclid(MICROS_PER_SECOND) / 1000;
    let days = seconds.div_euclid(SECONDS_PER_DAY);
    let in_day = seconds.rem_euclid(SECONDS_PER_DAY);
    let (year, month, day) = civil_from_days(days);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{millis:03}Z",
        in_day / 3600,
        in_day / 60 % 60,
        in_day % 60
    )
}

/// Truncates unix microseconds to whole milliseconds (toward the past), the precision `createdAt`
/// keeps.
pub fn truncate_to_millis(unix_micros: i64) -> i64 {
    // Saturates at the far past instead of overflowing; no real clock is there.
    unix_micros.div_euclid(1000).saturating_mul(1000)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(text: &str, expected: Option<i64>) {
        assert_eq!(parse(text), expected, "{text}");
    }

    #[test]
    fn parses_rfc3339() {
        check("1970-01-01T00:00:00.000Z", Some(0));
        check("1970-01-01T00:00:00Z", Some(0));
        check(
            "1970-01-04T00:00:02.000Z",
            Some((3 * 86_400 + 2) * 1_000_000),
        );
        // date -u -d 2025-07-25T14:33:23Z +%s
        check("2025-07-25T14:33:23.810Z", Some(1_753_454_003_810_000));
        check("2025-07-25T16:33:23.810+02:00", Some(1_753_454_003_810_000));
        check("2025-07-25T14:33:23.8101239Z", Some(1_753_454_003_810_123));
        check("2000-02-29T00:00:00Z", Some(951_782_400_000_000));
        check("1969-12-31T23:59:59.5Z", Some(-500_000));
        check("2025-07-25T14:33:23.810", None);
        check("2025-07-25 14:33:23Z", None);
        check("2025-07-25t14:33:23Z", None);
        check("2025-02-29T00:00:00Z", None);
        check("2025-13-01T00:00:00Z", None);
        check("2025-07-25T24:00:00Z", None);
        check("2025-07-25T14:33:60Z", None);
        check("2025-07-25T14:33:23.Z", None);
        check("2025-07-25T14:33:23Zjunk", None);
        check("2025-07-25T14:33:23-00:00", None);
        check("2025-07-25T14:33:23+0200", None);
        check("", None);
        check("2025-07-25T14:33:2\u{e9}Z", None);
    }

    proptest::proptest! {
        #[test]
        fn never_panics(text in "\\PC{0,40}") {
            let _ = parse(&text);
        }

        #[test]
        fn near_misses_never_panic(
            text in "[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]{0,12})?(Z|[+-][0-9]{2}:[0-9]{2})?"
        ) {
            if let Some(micros) = parse(&text) {
                // Offsets can carry a date past year 0000 or 9999, which the form cannot hold.
                let formatted = format_millis(micros);
                if formatted.len() == 24 && formatted.starts_with(|c: char| c.is_ascii_digit()) {
                    proptest::prop_assert_eq!(parse(&formatted), Some(truncate_to_millis(micros)));
                }
            }
        }
    }

    #[test]
    fn formats_and_round_trips() {
        assert_eq!(format_millis(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(
            format_millis(1_753_454_003_810_999),
            "2025-07-25T14:33:23.810Z"
        );
        assert_eq!(format_millis(-500_000), "1969-12-31T23:59:59.500Z");
        for micros in [
            0,
            951_782_400_000_000,
            1_753_454_003_810_000,
            -86_400_000_000,
            4_102_444_800_000_000,
        ] {
            assert_eq!(parse(&format_millis(micros)), Some(micros));
        }
        assert_eq!(truncate_to_millis(1_999), 1_000);
        assert_eq!(truncate_to_millis(-1), -1_000);
        assert_eq!(truncate_to_millis(i64::MIN), i64::MIN);
        assert!(format_millis(i64::MIN).ends_with('Z'));
        assert!(format_millis(i64::MAX).ends_with('Z'));
    }
}
