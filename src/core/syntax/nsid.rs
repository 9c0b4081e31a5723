//! `Nsid`: a namespaced identifier naming a Lexicon schema (`com.atproto.repo.createRecord`).
//!
//! Owns the syntax check and the split into domain authority and name. Does not accept the glob
//! form (`com.atproto.*`), resolve schemas, or normalise case: the name is case-sensitive and the
//! spec says implementations should not force-lowercase an NSID, so the string is kept as given.
//!
//! The spec also caps the authority at 253 characters, but the reference implementations check
//! only the 317-character total, and the interop fixtures list a valid NSID with a 283-character
//! authority; we follow them, so only the total is limited.
//!
//! Spec: <https://atproto.com/specs/nsid>

use super::handle::check_label;
use super::{SyntaxError, SyntaxKind, check_len, string_traits};

/// An NSID: a reversed domain authority followed by a name segment.
///
/// Syntax: ASCII, at least three dot-separated segments, at most [`Nsid::MAX_LEN`] bytes. The
/// authority (all segments but the last) is DNS labels whose first segment starts with a letter;
/// the name is 1 to 63 letters and digits starting with a letter.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Nsid(String);

impl Nsid {
    pub const MAX_LEN: usize = 317;
    pub const MAX_NAME_LEN: usize = 63;

    /// Checks `input` and copies it into an `Nsid`.
    pub fn parse(input: &str) -> Result<Self, SyntaxError> {
        validate(input)?;
        Ok(Self(input.to_owned()))
    }

    fn from_string(input: String) -> Result<Self, SyntaxError> {
        validate(&input)?;
        Ok(Self(input))
    }

    /// Wraps a string already known to be a valid NSID (a slice of another validated value).
    pub(super) fn from_validated(input: &str) -> Self {
        debug_assert!(validate(input).is_ok());
        Self(input.to_owned())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The domain authority as written, in reversed order: `com.atproto.repo` for
    /// `com.atproto.repo.createRecord`.
    pub fn authority(&self) -> &str {
        self.0.rsplit_once('.').map(|(a, _)| a).unwrap_or_default()
    }

    /// The authority as a lowercase hostname in DNS order: `repo.atproto.com` for
    /// `com.atproto.repo.createRecord` (the name used for `_lexicon` DNS lookups).
    pub fn domain_authority(&self) -> String {
        let mut out = String::with_capacity(self.authority().len());
        for (i, segment) in self.authority().rsplit('.').enumerate() {
            if i > 0 {
                out.push('.');
            }
            out.push_str(segment);
        }
        out.make_ascii_lowercase();
        out
    }

    /// The name segment: `createRecord` in `com.atproto.repo.createRecord`.
    pub fn name(&self) -> &str {
        self.0.rsplit('.').next().unwrap_or_default()
    }

    /// Every segment in order, the name last.
    pub fn segments(&self) -> impl Iterator<Item = &str> {
        self.0.split('.')
    }
}

string_traits!(Nsid);

pub(super) fn validate(input: &str) -> Result<(), SyntaxError> {
    let invalid = |reason| Err(SyntaxError::invalid(SyntaxKind::Nsid, reason, input));
    check_len(SyntaxKind::Nsid, input, Nsid::MAX_LEN)?;
    let Some((authority, name)) = input.rsplit_once('.') else {
        return invalid("must have at least three segments");
    };
    let mut segments = 0;
    for segment in authority.split('.') {
        if let Err(reason) = check_label(segment) {
            return invalid(reason);
        }
        segments += 1;
    }
    if segments < 2 {
        return invalid("must have at least three segments");
    }
    if !authority.starts_with(|c: char| c.is_ascii_alphabetic()) {
        return invalid("first segment must start with a letter");
    }
    if name.is_empty() || name.len() > Nsid::MAX_NAME_LEN {
        return invalid("name segment must be 1 to 63 characters");
    }
    if !name.starts_with(|c: char| c.is_ascii_alphabetic()) {
        return invalid("name segment must start with a letter");
    }
    if !name.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return invalid("name segment may only contain ASCII letters and digits");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(input: &str, expected: bool) {
        assert_eq!(Nsid::parse(input).is_ok(), expected, "{input:?}");
    }

    #[test]
    fn syntax() {
        check("com.example.fooBar", true);
        check("net.users.bob.ping", true);
        check("a-0.b-1.c", true);
        check("a.b.c", true);
        check("com.example.fooBarV2", true);
        check("cn.8.lex.stuff", true);
        check("one.two.three.four-and.FiVe", true);
        check("com.example.f00", true);
        check("com.exa💩ple.thing", false);
        check("com.example", false);
        check("com.example.3", false);
        check("com.example.*", false);
        check("com.example.foo*", false);
        check("*", false);
        check("a-0.b-1.c-3", false);
        check("1.0.0.127.record", false);
        check("0two.example.foo", false);
        check("com.example-.foo", false);
        check("com.-example.foo", false);
        check("com..example.foo", false);
        check("com.example.", false);
        check(".com.example.foo", false);
        check("com.atproto.feed.p_st", false);
        check("one.two.three ", false);
        check("", false);
    }

    #[test]
    fn length_limits() {
        let seg63 = "o".repeat(63);
        check(&format!("com.{seg63}.foo"), true);
        check(&format!("com.{seg63}o.foo"), false);
        check(&format!("com.example.{seg63}"), true);
        check(&format!("com.example.{seg63}o"), false);
        // The total is capped at 317, the authority alone not at 253 (see the module doc).
        let authority = format!("a{}.{seg63}.{seg63}.{seg63}", "b".repeat(60));
        assert_eq!(authority.len(), 253);
        check(&format!("{authority}.{seg63}"), true);
        check(&format!("{authority}.b.{}", "x".repeat(61)), true);
        check(&format!("{authority}.b.{}", "x".repeat(62)), false);
    }

    #[test]
    fn parts() {
        let nsid = Nsid::parse("com.Atproto.repo.createRecord").unwrap();
        assert_eq!(nsid.authority(), "com.Atproto.repo");
        assert_eq!(nsid.domain_authority(), "repo.atproto.com");
        assert_eq!(nsid.name(), "createRecord");
        assert_eq!(
            nsid.segments().collect::<Vec<_>>(),
            ["com", "Atproto", "repo", "createRecord"]
        );
        assert_eq!(nsid.as_str(), "com.Atproto.repo.createRecord");
    }
}
