//! `Tid` (timestamp identifier) and `TidClock`, the generator of strictly increasing TIDs.
//!
//! Owns the 13-character base32-sortable syntax, the 64-bit layout (top bit 0, 53 bits of
//! microseconds since the UNIX epoch, 10 bits of clock id) and monotonic generation. Does not read
//! a clock or pick a random clock id: the caller passes the time and the clock id in.
//!
//! Spec: <https://atproto.com/specs/tid>

use super::{SyntaxError, SyntaxKind, string_traits};

/// The base32-sortable alphabet: ASCII order equals numeric order.
const ALPHABET: &[u8; 32] = b"234567abcdefghijklmnopqrstuvwxyz";
const LEN: usize = 13;
const CLOCK_ID_BITS: u32 = 10;
const CLOCK_ID_MASK: u64 = (1 << CLOCK_ID_BITS) - 1;

/// A TID such as `3jzfcijpj2z2a`: 13 characters of `234567a-z`, the first one of `234567a-j`.
///
/// Stored inline (no heap), so it is `Copy`. Because the alphabet is in ASCII order and the length
/// is fixed, the order of the strings is the order of the 64-bit values.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Tid([u8; LEN]);

impl Tid {
    /// The largest timestamp a TID holds: 53 bits of microseconds (about the year 2255).
    pub const MAX_TIMESTAMP_MICROS: u64 = (1 << 53) - 1;
    /// The largest clock id: 10 bits.
    pub const MAX_CLOCK_ID: u16 = (1 << CLOCK_ID_BITS) - 1;

    /// Checks `input` and copies it into a `Tid`.
    pub fn parse(input: &str) -> Result<Self, SyntaxError> {
        let invalid = |reason| Err(SyntaxError::invalid(SyntaxKind::Tid, reason, input));
        let Ok(bytes) = <[u8; LEN]>::try_from(input.as_bytes()) else {
            return invalid("must be exactly 13 characters");
        };
        if !bytes.iter().all(|&b| digit_value(b).is_some()) {
            return invalid("may only contain 234567a-z");
        }
        if !matches!(bytes[0], b'2'..=b'7' | b'a'..=b'j') {
            return invalid("first character must be one of 234567a-j");
        }
        Ok(Self(bytes))
    }

    fn from_string(input: String) -> Result<Self, SyntaxError> {
        Self::parse(&input)
    }

    /// Encodes a 64-bit value. Every `u64` has a 13-character encoding whose first character is
    /// in `2-7a-j`, so this cannot fail; values from [`Tid::from_parts`] also have the top bit 0.
    pub fn from_u64(value: u64) -> Self {
        let mut bytes = [b'2'; LEN];
        for (i, byte) in bytes.iter_mut().enumerate() {
            let shift = 5 * (LEN - 1 - i);
            // The first character carries only the top 4 bits (65 bits of room for 64).
            let digit = (value >> shift) & 0x1f;
            *byte = ALPHABET[digit as usize];
        }
        Self(bytes)
    }

    /// Builds a TID from a timestamp and a clock id. Out-of-range inputs are masked to their bit
    /// widths: `micros` to 53 bits, `clock_id` to 10 bits.
    pub fn from_parts(micros: u64, clock_id: u16) -> Self {
        let micros = micros & Self::MAX_TIMESTAMP_MICROS;
        let clock_id = u64::from(clock_id) & CLOCK_ID_MASK;
        Self::from_u64((micros << CLOCK_ID_BITS) | clock_id)
    }

    /// The 64-bit value the string encodes.
    pub fn as_u64(&self) -> u64 {
        self.0.iter().fold(0u64, |acc, &b| {
            (acc << 5) | u64::from(digit_value(b).unwrap_or_default())
        })
    }

    /// Microseconds since the UNIX epoch: the bits above the clock id. For the rare TIDs whose
    /// top bit is set (first character `c` to `j`, which the syntax allows) this is 54 bits wide.
    pub fn timestamp_micros(&self) -> u64 {
        self.as_u64() >> CLOCK_ID_BITS
    }

    /// The 10-bit clock id.
    pub fn clock_id(&self) -> u16 {
        (self.as_u64() & CLOCK_ID_MASK) as u16
    }

    pub fn as_str(&self) -> &str {
        // Every byte comes from the ASCII alphabet (checked in `parse`, produced by `from_u64`),
        // so the conversion cannot fail; the fallback keeps this free of panics.
        std::str::from_utf8(&self.0).unwrap_or_default()
    }
}

string_traits!(Tid);

/// The value of one base32-sortable character.
fn digit_value(b: u8) -> Option<u8> {
    match b {
        b'2'..=b'7' => Some(b - b'2'),
        b'a'..=b'z' => Some(b - b'a' + 6),
        _ => None,
    }
}

/// Generates strictly increasing TIDs from a fixed clock id and the times the caller passes in.
///
/// Each TID's timestamp is the later of `now_micros` and one more than the previous timestamp, so
/// the output never repeats or goes backwards, even when the caller's clock steps back or several
/// TIDs fall in the same microsecond. At the 53-bit timestamp limit (the year 2255) it stops
/// advancing rather than wrapping around.
#[derive(Clone, Debug)]
pub struct TidClock {
    clock_id: u16,
    last_micros: Option<u64>,
}

impl TidClock {
    /// A generator with the given clock id (masked to 10 bits), normally chosen at random by the
    /// caller once per process.
    pub fn new(clock_id: u16) -> Self {
        Self {
            clock_id: clock_id & Tid::MAX_CLOCK_ID,
            last_micros: None,
        }
    }

    pub fn clock_id(&self) -> u16 {
        self.clock_id
    }

    /// The next TID for the current time `now_micros` (microseconds since the UNIX epoch).
    pub fn next(&mut self, now_micros: u64) -> Tid {
        let floor = self.last_micros.map_or(0, |last| last.saturating_add(1));
        let micros = now_micros.max(floor).min(Tid::MAX_TIMESTAMP_MICROS);
        self.last_micros = Some(micros);
        Tid::from_parts(micros, self.clock_id)
    }

    /// Makes every later TID newer than `seen`, for example the last `rev` stored before a restart.
    pub fn observe(&mut self, seen: &Tid) {
        let micros = seen.timestamp_micros().min(Tid::MAX_TIMESTAMP_MICROS);
        if self.last_micros.is_none_or(|last| last < micros) {
            self.last_micros = Some(micros);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn check(input: &str, expected: bool) {
        assert_eq!(Tid::parse(input).is_ok(), expected, "{input:?}");
    }

    #[test]
    fn syntax() {
        check("3jzfcijpj2z2a", true);
        check("7777777777777", true);
        check("3zzzzzzzzzzzz", true);
        check("2222222222222", true);
        check("a222222222222", true);
        check("j222222222222", true);
        check("azzzzzzzzzzzz", true);
        check("3jzfcijpj2z21", false);
        check("0000000000000", false);
        check("3JZFCIJPJ2Z2A", false);
        check("3jzfcijpj2z2aa", false);
        check("3jzfcijpj2z2", false);
        check("222", false);
        check("3jzf-cij-pj2z-2a", false);
        check("zzzzzzzzzzzzz", false);
        check("kjzfcijpj2z2a", false);
        check("3jzfcijpj2z2é", false);
        check("", false);
    }

    #[test]
    fn known_values() {
        assert_eq!(Tid::from_u64(0).as_str(), "2222222222222");
        assert_eq!(Tid::parse("2222222222222").unwrap().as_u64(), 0);
        assert_eq!(Tid::from_u64(u64::MAX).as_str(), "jzzzzzzzzzzzz");
        assert_eq!(Tid::from_u64(1 << 63).as_str(), "c222222222222");
        let tid = Tid::parse("3jzfcijpj2z2a").unwrap();
        assert_eq!(Tid::from_parts(tid.timestamp_micros(), tid.clock_id()), tid);
        // 2023-03-08: a plausible creation time for this example in the spec.
        assert_eq!(
            tid.timestamp_micros() / 1_000_000 / 86_400 / 365 + 1970,
            2023
        );
    }

    #[test]
    fn from_parts_masks_out_of_range_inputs() {
        let tid = Tid::from_parts(u64::MAX, u16::MAX);
        assert_eq!(tid.timestamp_micros(), Tid::MAX_TIMESTAMP_MICROS);
        assert_eq!(tid.clock_id(), Tid::MAX_CLOCK_ID);
        assert_eq!(tid.as_u64() >> 63, 0);
    }

    #[test]
    fn clock_steps_past_repeats_and_backward_steps() {
        let mut clock = TidClock::new(7);
        let a = clock.next(1_000);
        let b = clock.next(1_000);
        let c = clock.next(500);
        let d = clock.next(5_000);
        assert_eq!(
            [a, b, c, d].map(|t| t.timestamp_micros()),
            [1_000, 1_001, 1_002, 5_000]
        );
        assert!(a < b && b < c && c < d);
        assert!([a, b, c, d].iter().all(|t| t.clock_id() == 7));
        clock.observe(&Tid::from_parts(9_000, 1));
        assert_eq!(clock.next(10).timestamp_micros(), 9_001);
        clock.observe(&Tid::from_parts(10, 1));
        assert_eq!(clock.next(10).timestamp_micros(), 9_002);
    }

    #[test]
    fn clock_saturates_at_the_limit() {
        let mut clock = TidClock::new(2000);
        assert_eq!(clock.clock_id(), 2000 & Tid::MAX_CLOCK_ID);
        let last = clock.next(u64::MAX);
        assert_eq!(last.timestamp_micros(), Tid::MAX_TIMESTAMP_MICROS);
        assert_eq!(clock.next(0), last);
    }

    proptest! {
        #[test]
        fn parts_round_trip(
            micros in 0..=Tid::MAX_TIMESTAMP_MICROS,
            clock_id in 0..=Tid::MAX_CLOCK_ID,
        ) {
            let tid = Tid::from_parts(micros, clock_id);
            prop_assert_eq!(tid.timestamp_micros(), micros);
            prop_assert_eq!(tid.clock_id(), clock_id);
            prop_assert_eq!(Tid::parse(tid.as_str()).unwrap(), tid);
            prop_assert_eq!(tid.as_u64() >> 63, 0);
        }

        #[test]
        fn u64_round_trip_and_order(a: u64, b: u64) {
            let (ta, tb) = (Tid::from_u64(a), Tid::from_u64(b));
            prop_assert_eq!(ta.as_u64(), a);
            prop_assert_eq!(Tid::parse(ta.as_str()).unwrap(), ta);
            prop_assert_eq!(ta.cmp(&tb), a.cmp(&b));
            prop_assert_eq!(ta.as_str().cmp(tb.as_str()), a.cmp(&b));
        }

        #[test]
        fn parse_never_panics(s in "\\PC{0,20}") {
            if let Ok(tid) = Tid::parse(&s) {
                prop_assert_eq!(tid.as_str(), s.as_str());
                prop_assert_eq!(Tid::from_u64(tid.as_u64()), tid);
            }
        }

        #[test]
        fn clock_is_strictly_monotonic(
            clock_id in 0..=Tid::MAX_CLOCK_ID,
            start in 0u64..(1 << 52),
            steps in proptest::collection::vec(-1_000_000i64..1_000_000, 1..200),
        ) {
            let mut clock = TidClock::new(clock_id);
            let mut now = start;
            let mut previous: Option<Tid> = None;
            for step in steps {
                now = now.saturating_add_signed(step);
                let tid = clock.next(now);
                prop_assert!(tid.timestamp_micros() >= now.min(Tid::MAX_TIMESTAMP_MICROS));
                prop_assert_eq!(tid.clock_id(), clock_id);
                if let Some(prev) = previous {
                    prop_assert!(prev < tid);
                    prop_assert!(prev.as_str() < tid.as_str());
                }
                previous = Some(tid);
            }
        }
    }
}
