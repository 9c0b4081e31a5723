//! `Language`: the Lexicon `language` format, a BCP 47 (RFC 5646) language tag.
//!
//! Owns two levels of checking. [`Language::is_well_formed`] is the syntax check Lexicon
//! validation uses: the RFC 5646 grammar, narrowed as atproto narrows it (the primary language
//! subtag is 2 or 3 lowercase letters; the 4- and 5-to-8-letter forms are refused).
//! [`Language::parse`] additionally rejects tags that are well-formed but not "valid": a repeated
//! variant or a repeated extension singleton, compared without regard to case (RFC 5646 §2.2.9,
//! §4.1). Does not check subtags against the IANA registry or canonicalise case.
//!
//! Spec: <https://atproto.com/specs/lexicon> (`language`), RFC 5646 §2.1.

use super::{SyntaxError, SyntaxKind, check_len, string_traits};

/// A well-formed BCP 47 tag without repeated variants or extension singletons, such as `pt-BR`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Language(String);

/// The grandfathered tags of RFC 5646 §2.2.8, which do not follow the general grammar.
const GRANDFATHERED: [&str; 26] = [
    "en-GB-oed",
    "i-ami",
    "i-bnn",
    "i-default",
    "i-enochian",
    "i-hak",
    "i-klingon",
    "i-lux",
    "i-mingo",
    "i-navajo",
    "i-pwn",
    "i-tao",
    "i-tay",
    "i-tsu",
    "sgn-BE-FR",
    "sgn-BE-NL",
    "sgn-CH-DE",
    "art-lojban",
    "cel-gaulish",
    "no-bok",
    "no-nyn",
    "zh-guoyu",
    "zh-hakka",
    "zh-min",
    "zh-min-nan",
    "zh-xiang",
];

impl Language {
    /// Bound for the strict parse, whose duplicate check compares variants pairwise. Real tags are
    /// a few dozen characters; a longer one is treated as not valid (clients ignore such tags).
    pub const MAX_LEN: usize = 1024;

    /// Whether `input` is a well-formed tag: the check Lexicon validation applies.
    pub fn is_well_formed(input: &str) -> bool {
        GRANDFATHERED.contains(&input) || scan(input).is_ok()
    }

    /// Checks that `input` is well-formed and has no repeated variant or extension singleton.
    pub fn parse(input: &str) -> Result<Self, SyntaxError> {
        validate(input)?;
        Ok(Self(input.to_owned()))
    }

    fn from_string(input: String) -> Result<Self, SyntaxError> {
        validate(&input)?;
        Ok(Self(input))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The primary language subtag (`pt` in `pt-BR`), or `None` for a grandfathered or
    /// private-use-only tag.
    pub fn primary_language(&self) -> Option<&str> {
        if GRANDFATHERED.contains(&self.0.as_str()) {
            return None;
        }
        let first = self.0.split('-').next()?;
        (first.len() >= 2).then_some(first)
    }
}

string_traits!(Language);

fn validate(input: &str) -> Result<(), SyntaxError> {
    let invalid = |reason| SyntaxError::invalid(SyntaxKind::Language, reason, input);
    check_len(SyntaxKind::Language, input, Language::MAX_LEN)?;
    if GRANDFATHERED.contains(&input) {
        return Ok(());
    }
    let parts = scan(input).map_err(invalid)?;
    if has_repeated_variant(parts.variants) {
        return Err(invalid("repeated variant subtag"));
    }
    if parts.repeated_singleton {
        return Err(invalid("repeated extension singleton"));
    }
    Ok(())
}

/// What the strict parse needs to know beyond well-formedness.
struct Scanned<'a> {
    /// The variant subtags, joined by `-` as they appear in the tag.
    variants: &'a str,
    repeated_singleton: bool,
}

/// Walks the `langtag` or `privateuse` grammar of RFC 5646 §2.1 (atproto's narrowing of the
/// primary subtag included) and fails on the first subtag out of place.
///
/// The subtag classes that may follow one another are told apart by length and character class
/// alone, so a single left-to-right pass decides the grammar without backtracking.
fn scan(input: &str) -> Result<Scanned<'_>, &'static str> {
    let mut subtags = input.split('-').peekable();
    let first = subtags.next().unwrap_or_default();
    let empty = Scanned {
        variants: "",
        repeated_singleton: false,
    };
    if first.eq_ignore_ascii_case("x") {
        return private_use_tail(subtags).map(|()| empty);
    }
    if !(2..=3).contains(&first.len()) || !first.bytes().all(|b| b.is_ascii_lowercase()) {
        return Err("primary language subtag must be 2 or 3 lowercase letters");
    }
    // Byte offset of the end of the last subtag consumed, to slice out the variants.
    let mut position = first.len();

    // extlang: up to three 3-letter subtags.
    for _ in 0..3 {
        match subtags.next_if(|s| s.len() == 3 && is_alpha(s)) {
            Some(s) => position += 1 + s.len(),
            None => break,
        }
    }
    // script: 4 letters.
    if let Some(s) = subtags.next_if(|s| s.len() == 4 && is_alpha(s)) {
        position += 1 + s.len();
    }
    // region: 2 letters or 3 digits.
    if let Some(s) = subtags.next_if(|s| {
        (s.len() == 2 && is_alpha(s)) || (s.len() == 3 && s.bytes().all(|b| b.is_ascii_digit()))
    }) {
        position += 1 + s.len();
    }
    // variants: 5 to 8 alphanumerics, or a digit and 3 alphanumerics.
    let variants_start = position;
    while let Some(s) = subtags.next_if(|s| is_variant(s)) {
        position += 1 + s.len();
    }
    let variants = input.get(variants_start..position).unwrap_or_default();
    // extensions: a singleton other than x, then one or more subtags of 2 to 8 alphanumerics.
    let mut singletons: u64 = 0;
    let mut repeated_singleton = false;
    while let Some(singleton) = subtags.next_if(|s| s.len() == 1) {
        let c = singleton.as_bytes()[0].to_ascii_lowercase();
        if c == b'x' {
            return private_use_tail(subtags).map(|()| Scanned {
                variants,
                repeated_singleton,
            });
        }
        let Some(bit) = singleton_bit(c) else {
            return Err("extension singleton must be a letter or digit");
        };
        repeated_singleton |= singletons & bit != 0;
        singletons |= bit;
        let mut count = 0;
        while subtags
            .next_if(|s| (2..=8).contains(&s.len()) && is_alnum(s))
            .is_some()
        {
            count += 1;
        }
        if count == 0 {
            return Err("extension needs at least one subtag of 2 to 8 characters");
        }
    }
    if subtags.next().is_some() {
        return Err("subtag out of place or malformed");
    }
    Ok(Scanned {
        variants,
        repeated_singleton,
    })
}

/// The rest of a private-use section after its `x`: one or more subtags of 1 to 8 alphanumerics.
fn private_use_tail<'a>(subtags: impl Iterator<Item = &'a str>) -> Result<(), &'static str> {
    let mut count = 0;
    for subtag in subtags {
        if !(1..=8).contains(&subtag.len()) || !is_alnum(subtag) {
            return Err("private-use subtags must be 1 to 8 letters or digits");
        }
        count += 1;
    }
    if count == 0 {
        return Err("private use needs at least one subtag");
    }
    Ok(())
}

fn is_variant(s: &str) -> bool {
    is_alnum(s)
        && ((5..=8).contains(&s.len()) || (s.len() == 4 && s.as_bytes()[0].is_ascii_digit()))
}

/// A bit per possible singleton (`0-9`, `a-z`), for finding repeats without allocating.
fn singleton_bit(c: u8) -> Option<u64> {
    match c {
        b'0'..=b'9' => Some(1 << (c - b'0')),
        b'a'..=b'z' => Some(1 << (10 + c - b'a')),
        _ => None,
    }
}

/// Whether any variant appears twice, ignoring case. Pairwise, bounded by [`Language::MAX_LEN`].
fn has_repeated_variant(variants: &str) -> bool {
    let mut rest = variants.split('-').filter(|v| !v.is_empty());
    while let Some(variant) = rest.next() {
        if rest
            .clone()
            .any(|other| other.eq_ignore_ascii_case(variant))
        {
            return true;
        }
    }
    false
}

fn is_alpha(s: &str) -> bool {
    s.bytes().all(|b| b.is_ascii_alphabetic())
}

fn is_alnum(s: &str) -> bool {
    s.bytes().all(|b| b.is_ascii_alphanumeric())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `Some(true)` valid, `Some(false)` well-formed but not valid, `None` not well-formed.
    fn check(input: &str, expected: Option<bool>) {
        let actual = Language::is_well_formed(input).then(|| Language::parse(input).is_ok());
        assert_eq!(actual, expected, "{input:?}");
        if actual.is_none() {
            assert!(Language::parse(input).is_err(), "{input:?}");
        }
    }

    #[test]
    fn well_formed_and_valid() {
        for tag in [
            "ja",
            "ban",
            "pt-BR",
            "hy-Latn-IT-arevela",
            "zh-Hant",
            "sgn-BE-NL",
            "es-419",
            "en-GB-boont-r-extended-sequence-x-private",
            "zh-hakka",
            "i-default",
            "en-GB-oed",
            "de-CH-1901",
            "qaa-Qaaa-QM-x-southern",
            "X-fr-CH",
            "x-a",
            "de-X-foo",
            "sl-rozaj-biske",
            "en-u-co-phonebk-t-en-US",
            "zh-yue-min-nan-Hant-HK",
            "en-1234",
        ] {
            check(tag, Some(true));
        }
    }

    #[test]
    fn well_formed_but_not_valid() {
        check("de-DE-1901-1901", Some(false));
        check("en-rozaj-ROZAJ", Some(false));
        check("en-a-foo-a-bar", Some(false));
        check("en-u-co-phonebk-U-ca-buddhist", Some(false));
        check("sl-rozaj-biske-rozaj", Some(false));
    }

    #[test]
    fn not_well_formed() {
        for tag in [
            "",
            "jaja",
            ".",
            "123",
            "JA",
            "j",
            "ja-",
            "a-DE",
            "de-419-DE",
            "en--US",
            "-en",
            "en-a",
            "en-a-x-y",
            "en-x",
            "x",
            "en-abcdefghi",
            "en-US-x-abcdefghi",
            "ja_JP",
            "en-Latn-Latn",
            "én",
            "ja-JP ",
            "EN-gb-OED",
            "i-unknown",
        ] {
            check(tag, None);
        }
    }

    #[test]
    fn accessors_and_limits() {
        assert_eq!(
            Language::parse("pt-BR").unwrap().primary_language(),
            Some("pt")
        );
        assert_eq!(
            Language::parse("i-default").unwrap().primary_language(),
            None
        );
        assert_eq!(
            Language::parse("x-private").unwrap().primary_language(),
            None
        );
        let long = format!("en{}", "-abcde".repeat(1000));
        assert!(Language::is_well_formed(&long));
        assert!(matches!(
            Language::parse(&long),
            Err(SyntaxError::TooLong { .. })
        ));
    }
}
