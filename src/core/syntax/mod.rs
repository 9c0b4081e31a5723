//! Identifier syntax: the string formats of the AT Protocol, parsed into validated newtypes.
//!
//! Owns one type per identifier (`Did`, `Handle`, `Nsid`, `Tid`, `RecordKey`, `AtIdentifier`,
//! `AtUri`, `Datetime`, `Language`), the plain syntax checks for the Lexicon `cid` and `uri` string
//! formats, and the one error type they share, [`SyntaxError`]. Every newtype has a private field:
//! `parse` (or `FromStr`, `TryFrom`, serde `Deserialize`) is the only way in, so a value of the
//! type is proof that the string was checked.
//!
//! Does not do: resolution (handles, DIDs), CID decoding (see the data model), Lexicon validation,
//! NSID globs. Parsing allocates nothing beyond the final string, reads no clock, and panics on
//! no input.
//!
//! Specs: <https://atproto.com/specs/did>, <https://atproto.com/specs/handle>,
//! <https://atproto.com/specs/nsid>, <https://atproto.com/specs/tid>,
//! <https://atproto.com/specs/record-key>, <https://atproto.com/specs/at-uri-scheme>,
//! <https://atproto.com/specs/lexicon> (string formats).

mod at_identifier;
mod at_uri;
mod cid_string;
mod datetime;
mod did;
mod handle;
mod language;
mod nsid;
mod record_key;
mod tid;
mod uri;

pub use at_identifier::AtIdentifier;
pub use at_uri::AtUri;
pub use cid_string::is_valid_cid_syntax;
pub use datetime::Datetime;
pub use did::Did;
pub use handle::Handle;
pub use language::Language;
pub use nsid::Nsid;
pub use record_key::{RecordKey, RecordKeyType};
pub use tid::{Tid, TidClock};
pub use uri::is_valid_uri;

use std::fmt;

/// Which identifier format a [`SyntaxError`] is about, named as the specs name it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SyntaxKind {
    Did,
    Handle,
    Nsid,
    Tid,
    RecordKey,
    RecordKeyType,
    AtIdentifier,
    AtUri,
    Datetime,
    Language,
}

impl SyntaxKind {
    /// The name of the format in lower case, as used in error messages.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Did => "did",
            Self::Handle => "handle",
            Self::Nsid => "nsid",
            Self::Tid => "tid",
            Self::RecordKey => "record key",
            Self::RecordKeyType => "record key type",
            Self::AtIdentifier => "at-identifier",
            Self::AtUri => "at-uri",
            Self::Datetime => "datetime",
            Self::Language => "language tag",
        }
    }
}

impl fmt::Display for SyntaxKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A string that is not a valid identifier of the expected format.
///
/// Messages never quote more than [`MAX_QUOTED_CHARS`] characters of the input, so that a hostile
/// megabyte-long value cannot flood a log line or an error response.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SyntaxError {
    /// The input is longer than the format allows (checked before anything else).
    #[error("{kind} is too long: {len} bytes, at most {max} allowed")]
    TooLong {
        kind: SyntaxKind,
        len: usize,
        max: usize,
    },
    /// The input breaks a syntax or semantic rule of the format.
    #[error("invalid {kind} {input:?}: {reason}")]
    Invalid {
        kind: SyntaxKind,
        reason: &'static str,
        /// The input, cut to [`MAX_QUOTED_CHARS`] characters.
        input: String,
    },
    /// A record key with valid syntax that is not of the key type a schema requires.
    #[error("record key {rkey:?} does not match the key type {expected}")]
    RecordKeyTypeMismatch {
        /// The key type as written in the schema (`tid`, `nsid`, `literal:self`, ...).
        expected: String,
        /// The record key, cut to [`MAX_QUOTED_CHARS`] characters.
        rkey: String,
    },
}

impl SyntaxError {
    /// The identifier format the error is about.
    pub fn kind(&self) -> SyntaxKind {
        match self {
            Self::TooLong { kind, .. } | Self::Invalid { kind, .. } => *kind,
            Self::RecordKeyTypeMismatch { .. } => SyntaxKind::RecordKey,
        }
    }

    pub(crate) fn invalid(kind: SyntaxKind, reason: &'static str, input: &str) -> Self {
        Self::Invalid {
            kind,
            reason,
            input: quote(input),
        }
    }

    pub(crate) fn too_long(kind: SyntaxKind, len: usize, max: usize) -> Self {
        Self::TooLong { kind, len, max }
    }
}

/// How many characters of a rejected input an error message may quote.
pub const MAX_QUOTED_CHARS: usize = 64;

/// The input cut to [`MAX_QUOTED_CHARS`] characters (on a char boundary), marked `…` when cut.
pub(crate) fn quote(input: &str) -> String {
    match input.char_indices().nth(MAX_QUOTED_CHARS) {
        Some((cut, _)) => format!("{}…", &input[..cut]),
        None => input.to_owned(),
    }
}

/// Fails with [`SyntaxError::TooLong`] when `input` is longer than `max` bytes.
pub(crate) fn check_len(kind: SyntaxKind, input: &str, max: usize) -> Result<(), SyntaxError> {
    if input.len() > max {
        return Err(SyntaxError::too_long(kind, input.len(), max));
    }
    Ok(())
}

/// Implements the string-facing traits every string newtype shares: `Display`, `AsRef<str>`,
/// `FromStr`, `TryFrom<&str>`, `TryFrom<String>`, serde `Serialize` (as a plain string) and
/// `Deserialize` (through `TryFrom<String>`, so deserialising validates).
///
/// The type must provide `parse(&str) -> Result<Self, SyntaxError>`,
/// `from_string(String) -> Result<Self, SyntaxError>` (which may reuse the buffer) and
/// `as_str(&self) -> &str`.
macro_rules! string_traits {
    ($ty:ty) => {
        impl ::std::fmt::Display for $ty {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl ::std::convert::AsRef<str> for $ty {
            fn as_ref(&self) -> &str {
                self.as_str()
            }
        }

        impl ::std::str::FromStr for $ty {
            type Err = super::SyntaxError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Self::parse(s)
            }
        }

        impl ::std::convert::TryFrom<&str> for $ty {
            type Error = super::SyntaxError;
            fn try_from(s: &str) -> Result<Self, Self::Error> {
                Self::parse(s)
            }
        }

        impl ::std::convert::TryFrom<String> for $ty {
            type Error = super::SyntaxError;
            fn try_from(s: String) -> Result<Self, Self::Error> {
                Self::from_string(s)
            }
        }

        impl ::serde::Serialize for $ty {
            fn serialize<S: ::serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        impl<'de> ::serde::Deserialize<'de> for $ty {
            fn deserialize<D: ::serde::Deserializer<'de>>(
                deserializer: D,
            ) -> Result<Self, D::Error> {
                let s = <String as ::serde::Deserialize>::deserialize(deserializer)?;
                Self::from_string(s).map_err(<D::Error as ::serde::de::Error>::custom)
            }
        }
    };
}
pub(crate) use string_traits;

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Runs every parser and check on `input`; none may panic, and an accepted value must keep or
    /// (for handles) lowercase the input.
    fn parse_everything(input: &str) {
        if let Ok(v) = Did::parse(input) {
            assert_eq!(v.as_str(), input);
        }
        if let Ok(v) = Handle::parse(input) {
            assert_eq!(v.as_str(), input.to_ascii_lowercase());
        }
        if let Ok(v) = Nsid::parse(input) {
            assert_eq!(v.as_str(), input);
        }
        if let Ok(v) = Tid::parse(input) {
            assert_eq!(v.as_str(), input);
        }
        if let Ok(v) = RecordKey::parse(input) {
            assert_eq!(v.as_str(), input);
        }
        if let Ok(v) = AtIdentifier::parse(input) {
            assert_eq!(v.as_str(), v.to_string());
        }
        if let Ok(v) = AtUri::parse(input) {
            assert_eq!(v.as_str(), input);
            let _ = (v.authority(), v.collection(), v.rkey());
        }
        if let Ok(v) = Datetime::parse(input) {
            assert_eq!(v.as_str(), input);
        }
        if let Ok(v) = Language::parse(input) {
            assert_eq!(v.as_str(), input);
        }
        let _ = Language::is_well_formed(input);
        let _ = Datetime::is_valid_syntax(input);
        let _ = RecordKeyType::parse(input);
        let _ = is_valid_cid_syntax(input);
        let _ = is_valid_uri(input);
    }

    #[test]
    fn huge_inputs_are_rejected_cheaply() {
        for input in [
            "a".repeat(10_000_000),
            format!("did:plc:{}", "a".repeat(10_000_000)),
            format!("at://did:plc:a/{}", "é".repeat(5_000_000)),
            format!("{}.com", "a.".repeat(5_000_000)),
            format!("en{}", "-abcde".repeat(1_000_000)),
        ] {
            parse_everything(&input);
            // Every parser refuses, with a message that quotes only the start of the input.
            let refusals = [
                Did::parse(&input).err(),
                Handle::parse(&input).err(),
                Nsid::parse(&input).err(),
                Tid::parse(&input).err(),
                RecordKey::parse(&input).err(),
                AtIdentifier::parse(&input).err(),
                AtUri::parse(&input).err(),
                Datetime::parse(&input).err(),
                Language::parse(&input).err(),
            ];
            for (parser, refusal) in refusals.iter().enumerate() {
                let refusal = refusal
                    .as_ref()
                    .unwrap_or_else(|| panic!("parser #{parser} accepted a huge input"));
                assert!(
                    refusal.to_string().len() < 1_000,
                    "parser #{parser}: {refusal}"
                );
            }
            assert!(!is_valid_cid_syntax(&input));
        }
    }

    proptest! {
        #[test]
        fn no_parser_panics(input in "\\PC{0,80}|[a-z0-9.:/@%#?-]{0,80}|at://[a-zA-Z0-9.:/_~-]{0,80}") {
            parse_everything(&input);
        }
    }

    #[test]
    fn quote_cuts_long_input_on_a_char_boundary() {
        assert_eq!(quote("abc"), "abc");
        let long = "é".repeat(1000);
        let quoted = quote(&long);
        assert_eq!(quoted.chars().count(), MAX_QUOTED_CHARS + 1);
        assert!(quoted.ends_with('…'));
    }

    #[test]
    fn messages_are_lower_case_and_bounded() {
        let err = Did::parse(&format!("did:web:{}", "x!".repeat(1_000_000))).unwrap_err();
        assert!(err.to_string().len() < 200, "{err}");
        let err = Did::parse("DID:web:x").unwrap_err();
        assert_eq!(err.kind(), SyntaxKind::Did);
        assert!(err.to_string().starts_with("invalid did"), "{err}");
    }

    #[test]
    fn serde_round_trips_as_a_plain_string_and_validates() {
        let did: Did = serde_json::from_str(r#""did:plc:abc""#).unwrap();
        assert_eq!(serde_json::to_string(&did).unwrap(), r#""did:plc:abc""#);
        assert!(serde_json::from_str::<Did>(r#""did:PLC:abc""#).is_err());
        let handle: Handle = serde_json::from_str(r#""Alice.Example.COM""#).unwrap();
        assert_eq!(handle.as_str(), "alice.example.com");
        let tid: Tid = serde_json::from_str(r#""3jzfcijpj2z2a""#).unwrap();
        assert_eq!(serde_json::to_string(&tid).unwrap(), r#""3jzfcijpj2z2a""#);
        assert!(serde_json::from_str::<AtUri>(r#""at://x""#).is_err());
        assert!(serde_json::from_str::<Datetime>(r#""1985-00-12T23:20:50Z""#).is_err());
    }
}
