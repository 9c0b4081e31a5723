//! Unit tests for `Datetime`: syntax, semantic parse, and the UNIX-time conversions.

use super::*;
use proptest::prelude::*;

/// `Some(micros)` when `input` parses, `None` when it does not.
fn check(input: &str, expected: Option<i64>) {
    let parsed = Datetime::parse(input).ok().map(|d| d.to_unix_micros());
    assert_eq!(parsed, expected, "{input:?}");
    if expected.is_some() {
        assert!(Datetime::is_valid_syntax(input), "{input:?}");
    }
}

/// Passes the syntax check but fails the semantic parse.
fn check_semantic(input: &str) {
    assert!(Datetime::is_valid_syntax(input), "{input:?}");
    assert!(Datetime::parse(input).is_err(), "{input:?}");
}

fn check_syntax_invalid(input: &str) {
    assert!(!Datetime::is_valid_syntax(input), "{input:?}");
    assert!(Datetime::parse(input).is_err(), "{input:?}");
}

#[test]
fn valid() {
    check("1970-01-01T00:00:00Z", Some(0));
    check("1970-01-01T00:00:00.000001Z", Some(1));
    check("1970-01-01T00:00:00.0000019Z", Some(1));
    check("1969-12-31T23:59:59.999999Z", Some(-1));
    check("1985-04-12T23:20:50.123Z", Some(482_196_050_123_000));
    check("1985-04-12T23:20:50.123+00:00", Some(482_196_050_123_000));
    check("1985-04-13T01:20:50.123+02:00", Some(482_196_050_123_000));
    check("1985-04-12T16:20:50.123-07:00", Some(482_196_050_123_000));
    check(
        "1985-04-12T23:20:50.1235678912345Z",
        Some(482_196_050_123_567),
    );
    check("2000-02-29T00:00:00Z", Some(951_782_400_000_000));
    check("2024-02-29T12:00:00Z", Some(1_709_208_000_000_000));
    check("0000-01-01T00:00:00.000Z", Some(MIN_MICROS));
    check(
        "0000-02-29T00:00:00Z",
        Some(MIN_MICROS + 59 * MICROS_PER_DAY),
    );
    check("9999-12-31T23:59:59.999999Z", Some(MAX_MICROS));
    check(
        "0001-01-01T00:00:00-01:00",
        Some(MIN_MICROS + 366 * MICROS_PER_DAY + 3_600_000_000),
    );
}

#[test]
fn semantically_invalid() {
    check_semantic("1985-00-12T23:20:50.123Z");
    check_semantic("1985-04-00T23:20:50.123Z");
    check_semantic("1985-13-12T23:20:50.123Z");
    check_semantic("1985-04-31T23:20:50.123Z");
    check_semantic("1985-02-29T23:20:50.123Z");
    check_semantic("1900-02-29T23:20:50.123Z");
    check_semantic("1985-04-12T24:00:00Z");
    check_semantic("1985-04-12T25:20:50.123Z");
    check_semantic("1985-04-12T23:99:50.123Z");
    check_semantic("1985-04-12T23:20:60Z");
    check_semantic("1985-04-12T23:20:61.123Z");
    check_semantic("1985-04-12T23:20:50+24:00");
    check_semantic("1985-04-12T23:20:50+01:60");
    check_semantic("0000-01-01T00:00:00+01:00");
    check_semantic("9999-12-31T23:59:59-00:01");
}

#[test]
fn syntax_invalid() {
    for input in [
        "1985-04-12T23:20:50.123z",
        "1985-04-12t23:20:50.123Z",
        "1985-04-12T23:20:50.123-00:00",
        "1985-04-12 23:20:50.123Z",
        "1985-04-12T23:20:50.Z",
        "1985-04-12T23:20:50",
        "1985-04-12T23:20Z",
        "1985-04-12",
        "01985-04-12T23:20:50.123Z",
        "+001985-04-12T23:20:50.123Z",
        "-1985-04-12T23:20:50.123Z",
        "1985-4-12T23:20:50.123Z",
        "1985-04-12T23:20:50.123+0000",
        "1985-04-12T23:20:50.123+00",
        "1985-04-12T23:20:50.123+",
        "1985-04-12T23:20:50.123Z ",
        " 1985-04-12T23:20:50.123Z",
        "1985–04-12T23:20:50.123Z",
        "１985-04-12T23:20:50.123Z",
        "",
    ] {
        check_syntax_invalid(input);
    }
    let long = format!("1985-04-12T23:20:50.{}Z", "1".repeat(100));
    assert!(!Datetime::is_valid_syntax(&long));
    assert!(matches!(
        Datetime::parse(&long),
        Err(SyntaxError::TooLong { .. })
    ));
}

#[test]
fn keeps_the_original_string() {
    let dt = Datetime::parse("1985-04-12T23:20:50.120+01:00").unwrap();
    assert_eq!(dt.as_str(), "1985-04-12T23:20:50.120+01:00");
    assert_eq!(dt.to_string(), "1985-04-12T23:20:50.120+01:00");
    let a = Datetime::parse("1985-04-12T23:20:50Z").unwrap();
    let b = Datetime::parse("1985-04-12T23:20:50+00:00").unwrap();
    assert_ne!(a, b);
    assert_eq!(a.to_unix_micros(), b.to_unix_micros());
    let earlier = Datetime::parse("1985-04-13T00:00:00+02:00").unwrap();
    assert!(earlier < a, "ordering is chronological");
}

#[test]
fn renders_unix_times() {
    let dt = Datetime::from_unix_millis(482_196_050_123).unwrap();
    assert_eq!(dt.as_str(), "1985-04-12T23:20:50.123Z");
    let dt = Datetime::from_unix_micros(482_196_050_123_456).unwrap();
    assert_eq!(dt.as_str(), "1985-04-12T23:20:50.123456Z");
    assert_eq!(
        Datetime::from_unix_micros(-1).unwrap().as_str(),
        "1969-12-31T23:59:59.999999Z"
    );
    assert_eq!(
        Datetime::from_unix_micros(MIN_MICROS).unwrap().as_str(),
        "0000-01-01T00:00:00.000000Z"
    );
    assert_eq!(
        Datetime::from_unix_millis(MAX_MICROS / 1000)
            .unwrap()
            .as_str(),
        "9999-12-31T23:59:59.999Z"
    );
    assert!(Datetime::from_unix_micros(MIN_MICROS - 1).is_err());
    assert!(Datetime::from_unix_micros(MAX_MICROS + 1).is_err());
    assert!(Datetime::from_unix_millis(i64::MAX).is_err());
    assert!(Datetime::from_unix_micros(i64::MIN).is_err());
}

#[test]
fn calendar_arithmetic_agrees_both_ways() {
    assert_eq!(days_from_civil(1970, 1, 1), 0);
    assert_eq!(days_from_civil(0, 1, 1), -719_528);
    assert_eq!(days_from_civil(10_000, 1, 1), 2_932_897);
    assert_eq!(civil_from_days(-719_528), (0, 1, 1));
    for days in (-719_528..2_932_897).step_by(97) {
        let (y, m, d) = civil_from_days(days);
        assert!((1..=12).contains(&m) && d >= 1 && d <= days_in_month(y, m));
        assert_eq!(days_from_civil(y, m, d), days);
    }
}

proptest! {
    #[test]
    fn micros_round_trip(micros in MIN_MICROS..=MAX_MICROS) {
        let dt = Datetime::from_unix_micros(micros).unwrap();
        let reparsed = Datetime::parse(dt.as_str()).unwrap();
        prop_assert_eq!(reparsed.to_unix_micros(), micros);
        prop_assert_eq!(reparsed, dt);
    }

    #[test]
    fn millis_round_trip(millis in (MIN_MICROS / 1000)..=(MAX_MICROS / 1000)) {
        let dt = Datetime::from_unix_millis(millis).unwrap();
        prop_assert_eq!(dt.as_str().len(), 24);
        prop_assert_eq!(Datetime::parse(dt.as_str()).unwrap().to_unix_micros(), millis * 1000);
    }

    #[test]
    fn parse_never_panics(s in "[0-9T:.Z+-]{0,40}|\\PC{0,40}") {
        let _ = Datetime::is_valid_syntax(&s);
        if let Ok(dt) = Datetime::parse(&s) {
            prop_assert_eq!(dt.as_str(), s.as_str());
        }
    }
}
