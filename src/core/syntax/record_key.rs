//! `RecordKey` (the name of a record within a collection) and `RecordKeyType` (the key scheme a
//! record Lexicon declares: `tid`, `nsid`, `literal:<value>` or `any`).
//!
//! Owns the baseline record-key syntax that every key meets whatever its type, and the check of a
//! key against a declared type. Does not know which collection uses which type: that comes from
//! the Lexicon schema.
//!
//! Spec: <https://atproto.com/specs/record-key>

use std::fmt;

use super::{Nsid, SyntaxError, SyntaxKind, Tid, check_len, quote, string_traits};

/// A record key: 1 to 512 characters of `A-Za-z0-9.-_:~`, never `.` or `..`. Case-sensitive.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RecordKey(String);

impl RecordKey {
    pub const MAX_LEN: usize = 512;

    /// Checks `input` and copies it into a `RecordKey`.
    pub fn parse(input: &str) -> Result<Self, SyntaxError> {
        validate(input)?;
        Ok(Self(input.to_owned()))
    }

    fn from_string(input: String) -> Result<Self, SyntaxError> {
        validate(&input)?;
        Ok(Self(input))
    }

    /// Wraps a string already known to be a valid record key (a slice of another validated value).
    pub(super) fn from_validated(input: &str) -> Self {
        debug_assert!(validate(input).is_ok());
        Self(input.to_owned())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

string_traits!(RecordKey);

impl From<Tid> for RecordKey {
    /// Every TID is a valid record key.
    fn from(tid: Tid) -> Self {
        Self(tid.as_str().to_owned())
    }
}

pub(super) fn validate(input: &str) -> Result<(), SyntaxError> {
    let invalid = |reason| Err(SyntaxError::invalid(SyntaxKind::RecordKey, reason, input));
    check_len(SyntaxKind::RecordKey, input, RecordKey::MAX_LEN)?;
    if input.is_empty() {
        return invalid("must not be empty");
    }
    if input == "." || input == ".." {
        return invalid("must not be \".\" or \"..\"");
    }
    if !input.bytes().all(is_record_key_byte) {
        return invalid("may only contain A-Z a-z 0-9 . - _ : ~");
    }
    Ok(())
}

/// Whether `b` may appear in a record key: alphanumerics and `.-_:~`.
fn is_record_key_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_' | b':' | b'~')
}

/// The record-key scheme a record Lexicon declares in its `key` field.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RecordKeyType {
    /// `tid`: the key must be a TID.
    Tid,
    /// `nsid`: the key must be an NSID.
    Nsid,
    /// `literal:<value>`: the key must be exactly this value (most often `self`).
    Literal(String),
    /// `any`: any valid record key.
    Any,
}

impl RecordKeyType {
    /// Parses a Lexicon `key` string. A literal's value must itself be a valid record key.
    pub fn parse(input: &str) -> Result<Self, SyntaxError> {
        match input {
            "tid" => Ok(Self::Tid),
            "nsid" => Ok(Self::Nsid),
            "any" => Ok(Self::Any),
            _ => match input.strip_prefix("literal:") {
                Some(value) if validate(value).is_ok() => Ok(Self::Literal(value.to_owned())),
                Some(_) => Err(SyntaxError::invalid(
                    SyntaxKind::RecordKeyType,
                    "literal value is not a valid record key",
                    input,
                )),
                None => Err(SyntaxError::invalid(
                    SyntaxKind::RecordKeyType,
                    "must be tid, nsid, any or literal:<value>",
                    input,
                )),
            },
        }
    }

    fn from_string(input: String) -> Result<Self, SyntaxError> {
        Self::parse(&input)
    }

    /// Checks that `rkey` is of this type.
    pub fn check(&self, rkey: &RecordKey) -> Result<(), SyntaxError> {
        let matches = match self {
            Self::Tid => Tid::parse(rkey.as_str()).is_ok(),
            Self::Nsid => Nsid::parse(rkey.as_str()).is_ok(),
            Self::Literal(value) => rkey.as_str() == value,
            Self::Any => true,
        };
        if matches {
            Ok(())
        } else {
            Err(SyntaxError::RecordKeyTypeMismatch {
                expected: quote(&self.to_string()),
                rkey: quote(rkey.as_str()),
            })
        }
    }
}

impl fmt::Display for RecordKeyType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Tid => f.write_str("tid"),
            Self::Nsid => f.write_str("nsid"),
            Self::Literal(value) => write!(f, "literal:{value}"),
            Self::Any => f.write_str("any"),
        }
    }
}

impl std::str::FromStr for RecordKeyType {
    type Err = SyntaxError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl serde::Serialize for RecordKeyType {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for RecordKeyType {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = String::deserialize(deserializer)?;
        Self::from_string(s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(input: &str, expected: bool) {
        assert_eq!(RecordKey::parse(input).is_ok(), expected, "{input:?}");
    }

    #[test]
    fn syntax() {
        check("3jui7kd54zh2y", true);
        check("self", true);
        check("example.com", true);
        check("~1.2-3_", true);
        check("dHJ1ZQ", true);
        check("pre:fix", true);
        check("_", true);
        check(":", true);
        check("...", true);
        check(&"o".repeat(512), true);
        check(&"o".repeat(513), false);
        check("", false);
        check(".", false);
        check("..", false);
        check("alpha/beta", false);
        check("#extra", false);
        check("@handle", false);
        check("any space", false);
        check("any+space", false);
        check("number[3]", false);
        check("number(3)", false);
        check("\"quote\"", false);
        check("dHJ1ZQ==", false);
        check("%30", false);
        check("é", false);
    }

    fn check_type(key_type: &str, rkey: &str, expected: bool) {
        let key_type = RecordKeyType::parse(key_type).unwrap();
        let rkey = RecordKey::parse(rkey).unwrap();
        assert_eq!(key_type.check(&rkey).is_ok(), expected, "{key_type} {rkey}");
    }

    #[test]
    fn key_types() {
        check_type("tid", "3jzfcijpj2z2a", true);
        check_type("tid", "self", false);
        check_type("nsid", "com.example.fooBar", true);
        check_type("nsid", "3jzfcijpj2z2a", false);
        check_type("literal:self", "self", true);
        check_type("literal:self", "Self", false);
        check_type("any", "anything:~", true);
        for bad in ["", "TID", "literal:", "literal:a/b", "literal", "any "] {
            assert!(RecordKeyType::parse(bad).is_err(), "{bad:?}");
        }
        for good in ["tid", "nsid", "any", "literal:self"] {
            assert_eq!(RecordKeyType::parse(good).unwrap().to_string(), good);
        }
        let err = RecordKeyType::parse("literal:self")
            .unwrap()
            .check(&RecordKey::parse("other").unwrap())
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "record key \"other\" does not match the key type literal:self"
        );
    }
}
