//! `Datetime`: the Lexicon `datetime` format, an RFC 3339 timestamp that is also valid ISO 8601.
//!
//! Owns two levels of checking: the syntax ([`Datetime::is_valid_syntax`]: the digit layout, a
//! capital `T`, whole seconds, any number of fraction digits, a mandatory `Z` or `±hh:mm` that is
//! not `-00:00`) and the semantic parse ([`Datetime::parse`]: a real calendar date and time whose
//! UTC instant lies in the years 0000 to 9999). Also converts to and from UNIX microseconds.
//! Does not read a clock, parse other datetime layouts, or handle time zones beyond fixed offsets.
//!
//! Two choices where the spec is silent, both matching the reference implementations: the string
//! is at most [`Datetime::MAX_LEN`] bytes, and second `60` (a leap second) is rejected, because an
//! instant cannot be computed for it without smearing.
//!
//! Spec: <https://atproto.com/specs/lexicon> (`datetime`)

use super::{SyntaxError, SyntaxKind, check_len, string_traits};

const MICROS_PER_SECOND: i64 = 1_000_000;
const MICROS_PER_DAY: i64 = 86_400 * MICROS_PER_SECOND;
/// `0000-01-01T00:00:00Z` in microseconds since the UNIX epoch.
const MIN_MICROS: i64 = -719_528 * MICROS_PER_DAY;
/// `9999-12-31T23:59:59.999999Z` in microseconds since the UNIX epoch.
const MAX_MICROS: i64 = 2_932_897 * MICROS_PER_DAY - 1;

/// A validated datetime. The original string is kept as given (re-rendering could change a
/// record's bytes); the instant it denotes is computed once at parse time.
///
/// Ordering is by instant first, then by string, so it is chronological and consistent with
/// equality (two strings for the same instant, such as `Z` and `+00:00`, are not equal).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Datetime {
    micros: i64,
    text: String,
}

/// The fields of a string that has the datetime syntax, not yet checked for meaning.
struct Fields {
    year: i64,
    month: i64,
    day: i64,
    hour: i64,
    minute: i64,
    second: i64,
    /// The fraction truncated to microseconds.
    micros: i64,
    /// The UTC offset in minutes, east positive.
    offset_minutes: i64,
    offset_hour: i64,
    offset_minute: i64,
}

impl Datetime {
    /// Upper bound on the string length (the spec allows any number of fraction digits).
    pub const MAX_LEN: usize = 64;

    /// Checks syntax and meaning and keeps the string.
    pub fn parse(input: &str) -> Result<Self, SyntaxError> {
        let micros = validate(input)?;
        Ok(Self {
            micros,
            text: input.to_owned(),
        })
    }

    fn from_string(input: String) -> Result<Self, SyntaxError> {
        let micros = validate(&input)?;
        Ok(Self {
            micros,
            text: input,
        })
    }

    /// Whether `input` has the datetime syntax. A string can pass this and still fail
    /// [`Datetime::parse`], for example month `00` or hour `25`.
    pub fn is_valid_syntax(input: &str) -> bool {
        input.len() <= Self::MAX_LEN && fields(input).is_ok()
    }

    /// Renders a UNIX time in microseconds as `YYYY-MM-DDTHH:MM:SS.ffffffZ` (lossless).
    pub fn from_unix_micros(micros: i64) -> Result<Self, SyntaxError> {
        Ok(Self {
            micros,
            text: render(micros, Precision::Micros)?,
        })
    }

    /// Renders a UNIX time in milliseconds as `YYYY-MM-DDTHH:MM:SS.fffZ`, the form JavaScript's
    /// `Date.toISOString()` produces and the reference implementation writes.
    pub fn from_unix_millis(millis: i64) -> Result<Self, SyntaxError> {
        let micros = millis
            .checked_mul(1000)
            .ok_or_else(|| out_of_range(millis))?;
        Ok(Self {
            micros,
            text: render(micros, Precision::Millis)?,
        })
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Microseconds since the UNIX epoch (negative before 1970). Fraction digits beyond the
    /// sixth are truncated.
    pub fn to_unix_micros(&self) -> i64 {
        self.micros
    }
}

string_traits!(Datetime);

/// Checks syntax and meaning; returns the instant in microseconds since the UNIX epoch.
fn validate(input: &str) -> Result<i64, SyntaxError> {
    let invalid = |reason| SyntaxError::invalid(SyntaxKind::Datetime, reason, input);
    check_len(SyntaxKind::Datetime, input, Datetime::MAX_LEN)?;
    let f = fields(input).map_err(invalid)?;
    if !(1..=12).contains(&f.month) {
        return Err(invalid("month must be 01 to 12"));
    }
    if f.day < 1 || f.day > days_in_month(f.year, f.month) {
        return Err(invalid("day does not exist in that month"));
    }
    if f.hour > 23 || f.minute > 59 {
        return Err(invalid("time must be 00:00 to 23:59"));
    }
    if f.second > 59 {
        return Err(invalid(
            "seconds must be 00 to 59 (leap seconds are not supported)",
        ));
    }
    if f.offset_hour > 23 || f.offset_minute > 59 {
        return Err(invalid("timezone offset out of range"));
    }
    let local = days_from_civil(f.year, f.month, f.day) * MICROS_PER_DAY
        + ((f.hour * 60 + f.minute) * 60 + f.second) * MICROS_PER_SECOND
        + f.micros;
    let utc = local - f.offset_minutes * 60 * MICROS_PER_SECOND;
    if !(MIN_MICROS..=MAX_MICROS).contains(&utc) {
        return Err(invalid(
            "normalises to a time outside the years 0000 to 9999",
        ));
    }
    Ok(utc)
}

/// Reads the fields of `YYYY-MM-DDTHH:MM:SS[.f+](Z|±HH:MM)`, checking the layout only.
fn fields(input: &str) -> Result<Fields, &'static str> {
    let b = input.as_bytes();
    let layout = b.len() >= 20
        && b[4] == b'-'
        && b[7] == b'-'
        && b[10] == b'T'
        && b[13] == b':'
        && b[16] == b':';
    if !layout {
        return Err("must look like YYYY-MM-DDTHH:MM:SS with a timezone");
    }
    let num = |range: std::ops::Range<usize>| -> Result<i64, &'static str> {
        let digits = b.get(range).ok_or("truncated")?;
        if !digits.iter().all(u8::is_ascii_digit) {
            return Err("must look like YYYY-MM-DDTHH:MM:SS with a timezone");
        }
        Ok(digits.iter().fold(0, |n, d| n * 10 + i64::from(d - b'0')))
    };
    let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (hour, minute, second) = (num(11..13)?, num(14..16)?, num(17..19)?);

    let mut i = 19;
    let mut micros = 0;
    if b[i] == b'.' {
        i += 1;
        let start = i;
        while b.get(i).is_some_and(u8::is_ascii_digit) {
            if i - start < 6 {
                micros = micros * 10 + i64::from(b[i] - b'0');
            }
            i += 1;
        }
        if i == start {
            return Err("fraction needs at least one digit");
        }
        for _ in (i - start)..6 {
            micros *= 10;
        }
    }

    let zone = b.get(i..).unwrap_or_default();
    let (offset_hour, offset_minute, sign) = match zone {
        b"Z" => (0, 0, 0),
        b"-00:00" => return Err("timezone -00:00 is not allowed (use Z)"),
        [sign @ (b'+' | b'-'), _, _, b':', _, _] => {
            let sign = if *sign == b'+' { 1 } else { -1 };
            (num(i + 1..i + 3)?, num(i + 4..i + 6)?, sign)
        }
        _ => return Err("timezone must be Z or ±hh:mm"),
    };
    Ok(Fields {
        year,
        month,
        day,
        hour,
        minute,
        second,
        micros,
        offset_minutes: sign * (offset_hour * 60 + offset_minute),
        offset_hour,
        offset_minute,
    })
}

fn is_leap_year(year: i64) -> bool {
    year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if is_leap_year(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a date in the proleptic Gregorian calendar.
///
/// Counts in 400-year eras starting on March 1st, so that the leap day is the last day of a
/// year and each era has the same 146 097 days.
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year.rem_euclid(400);
    let month_from_march = (month + 9) % 12;
    let day_of_year = (153 * month_from_march + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// The inverse of [`days_from_civil`]: `(year, month, day)`.
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let days = days + 719_468;
    let era = days.div_euclid(146_097);
    let day_of_era = days.rem_euclid(146_097);
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

#[derive(Clone, Copy)]
enum Precision {
    Millis,
    Micros,
}

/// Renders an instant as UTC with a `Z`, failing outside the years 0000 to 9999.
fn render(micros: i64, precision: Precision) -> Result<String, SyntaxError> {
    if !(MIN_MICROS..=MAX_MICROS).contains(&micros) {
        return Err(out_of_range(micros));
    }
    let (year, month, day) = civil_from_days(micros.div_euclid(MICROS_PER_DAY));
    let of_day = micros.rem_euclid(MICROS_PER_DAY);
    let seconds = of_day / MICROS_PER_SECOND;
    let (hour, minute, second) = (seconds / 3600, seconds / 60 % 60, seconds % 60);
    let fraction = of_day % MICROS_PER_SECOND;
    let date_time = format!("{year:04}-{month:02}-{day:02}T{hour:02}:{minute:02}:{second:02}");
    Ok(match precision {
        Precision::Millis => format!("{date_time}.{:03}Z", fraction / 1000),
        Precision::Micros => format!("{date_time}.{fraction:06}Z"),
    })
}

fn out_of_range(value: i64) -> SyntaxError {
    SyntaxError::invalid(
        SyntaxKind::Datetime,
        "timestamp outside the years 0000 to 9999",
        &value.to_string(),
    )
}

#[cfg(test)]
mod tests;
