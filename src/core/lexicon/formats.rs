//! [`StringFormat`]: the `format` values a Lexicon `string` may declare, and the check each implies.
//!
//! The checks are the syntax layer's: each format is accepted in its most expansive valid syntax
//! (any DID method, any handle TLD), as the spec asks; problems beyond syntax are left to the
//! application. `datetime` is checked strictly (syntax and meaning, such as no month `00`);
//! `language` only for being well-formed; `cid` only as CID string syntax.
//!
//! Spec: <https://atproto.com/specs/lexicon#string-formats>

use std::fmt;

use crate::core::syntax::{
    AtIdentifier, AtUri, Datetime, Did, Handle, Language, Nsid, RecordKey, Tid,
    is_valid_cid_syntax, is_valid_uri,
};

/// A Lexicon string format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum StringFormat {
    AtIdentifier,
    AtUri,
    Cid,
    Datetime,
    Did,
    Handle,
    Nsid,
    Tid,
    RecordKey,
    Uri,
    Language,
}

impl StringFormat {
    /// Every format, in the order the spec lists them.
    pub const ALL: [StringFormat; 11] = [
        Self::AtIdentifier,
        Self::AtUri,
        Self::Cid,
        Self::Datetime,
        Self::Did,
        Self::Handle,
        Self::Nsid,
        Self::Tid,
        Self::RecordKey,
        Self::Uri,
        Self::Language,
    ];

    /// The format named by a schema's `format` value, if it is one the spec defines.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|f| f.as_str() == name)
    }

    /// The name as schemas write it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::AtIdentifier => "at-identifier",
            Self::AtUri => "at-uri",
            Self::Cid => "cid",
            Self::Datetime => "datetime",
            Self::Did => "did",
            Self::Handle => "handle",
            Self::Nsid => "nsid",
            Self::Tid => "tid",
            Self::RecordKey => "record-key",
            Self::Uri => "uri",
            Self::Language => "language",
        }
    }

    /// Whether `value` has this format.
    pub fn check(self, value: &str) -> bool {
        match self {
            Self::AtIdentifier => AtIdentifier::parse(value).is_ok(),
            Self::AtUri => AtUri::parse(value).is_ok(),
            Self::Cid => is_valid_cid_syntax(value),
            Self::Datetime => Datetime::parse(value).is_ok(),
            Self::Did => Did::parse(value).is_ok(),
            Self::Handle => Handle::parse(value).is_ok(),
            Self::Nsid => Nsid::parse(value).is_ok(),
            Self::Tid => Tid::parse(value).is_ok(),
            Self::RecordKey => RecordKey::parse(value).is_ok(),
            Self::Uri => is_valid_uri(value),
            Self::Language => Language::is_well_formed(value),
        }
    }
}

impl fmt::Display for StringFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(format: &str, value: &str, expected: bool) {
        let format = StringFormat::from_name(format).unwrap();
        assert_eq!(format.check(value), expected, "{format} {value:?}");
    }

    #[test]
    fn names_round_trip() {
        for format in StringFormat::ALL {
            assert_eq!(StringFormat::from_name(format.as_str()), Some(format));
        }
        assert_eq!(StringFormat::from_name("email"), None);
        assert_eq!(StringFormat::from_name("DID"), None);
    }

    #[test]
    fn each_format_accepts_and_rejects() {
        check("at-identifier", "did:plc:abc", true);
        check("at-identifier", "alice.example.com", true);
        check("at-identifier", "@alice.example.com", false);
        check("at-uri", "at://did:plc:abc/app.bsky.feed.post/3k", true);
        check("at-uri", "https://example.com", false);
        check(
            "cid",
            "bafyreiclp443lavogvhj3d2ob2cxbfuscni2k5jk7bebjzg7khl3esabwq",
            true,
        );
        check("cid", "123", false);
        check("datetime", "2023-10-30T22:25:23Z", true);
        check("datetime", "2023-00-30T22:25:23Z", false);
        check("did", "did:web:example.com", true);
        check("did", "did:Web:example.com", false);
        check("handle", "Alice.Example.com", true);
        check("handle", "123", false);
        check("nsid", "com.example.fooBar", true);
        check("nsid", "com.example", false);
        check("tid", "3kznmn7xqxl22", true);
        check("tid", "000", false);
        check("record-key", "self", true);
        check("record-key", "..", false);
        check("uri", "https://example.com/a?b#c", true);
        check("uri", "example.com", false);
        check("language", "pt-BR", true);
        check("language", "123", false);
    }
}
