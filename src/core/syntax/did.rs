//! `Did`: a decentralized identifier in the generic DID syntax that atproto accepts.
//!
//! Owns the syntax check (any method, as Lexicon validation requires) and the method accessors.
//! Whether a method is supported (`plc`, `web`) is a separate question from syntax, answered by
//! [`Did::is_supported_method`]. Does not check percent-encoding (the spec leaves that to
//! registration and resolution), `did:web` hostname rules, or anything about the DID document.
//!
//! Spec: <https://atproto.com/specs/did>

use super::{SyntaxError, SyntaxKind, check_len, string_traits};

/// A DID, for example `did:plc:ewvi7nxzyoun6zhxrhs64oiz`.
///
/// Syntax: `did:`, a method of lowercase letters, `:`, then an identifier of `A-Za-z0-9._:%-`
/// that is not empty and does not end in `:` or `%`. At most [`Did::MAX_LEN`] bytes.
/// Case-sensitive.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Did(String);

impl Did {
    /// The atproto hard limit on DID length.
    pub const MAX_LEN: usize = 2048;

    /// Checks `input` and copies it into a `Did`.
    pub fn parse(input: &str) -> Result<Self, SyntaxError> {
        validate(input)?;
        Ok(Self(input.to_owned()))
    }

    fn from_string(input: String) -> Result<Self, SyntaxError> {
        validate(&input)?;
        Ok(Self(input))
    }

    /// Wraps a string already known to be a valid DID (a slice of another validated value).
    pub(super) fn from_validated(input: &str) -> Self {
        debug_assert!(validate(input).is_ok());
        Self(input.to_owned())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The method name, for example `plc` in `did:plc:…`.
    pub fn method(&self) -> &str {
        let rest = self.0.get(4..).unwrap_or_default();
        rest.split(':').next().unwrap_or_default()
    }

    /// The method-specific identifier: everything after `did:<method>:`.
    pub fn identifier(&self) -> &str {
        let skip = 4 + self.method().len() + 1;
        self.0.get(skip..).unwrap_or_default()
    }

    pub fn is_plc(&self) -> bool {
        self.method() == "plc"
    }

    pub fn is_web(&self) -> bool {
        self.method() == "web"
    }

    /// Whether the method is one atproto supports (`plc` or `web`). A DID with another method is
    /// still valid syntax: callers report it as an unsupported method, not as bad syntax.
    pub fn is_supported_method(&self) -> bool {
        self.is_plc() || self.is_web()
    }
}

string_traits!(Did);

/// Checks the generic DID syntax and the length limit.
pub(super) fn validate(input: &str) -> Result<(), SyntaxError> {
    let invalid = |reason| Err(SyntaxError::invalid(SyntaxKind::Did, reason, input));
    check_len(SyntaxKind::Did, input, Did::MAX_LEN)?;
    let Some(rest) = input.strip_prefix("did:") else {
        return invalid("must start with \"did:\"");
    };
    let Some((method, identifier)) = rest.split_once(':') else {
        return invalid("missing \":\" after the method");
    };
    if method.is_empty() {
        return invalid("empty method");
    }
    if !method.bytes().all(|b| b.is_ascii_lowercase()) {
        return invalid("method must be lowercase letters only");
    }
    let Some(&last) = identifier.as_bytes().last() else {
        return invalid("empty method-specific identifier");
    };
    if !identifier.bytes().all(is_identifier_byte) {
        return invalid("identifier may only contain A-Z a-z 0-9 . _ : % -");
    }
    if last == b':' || last == b'%' {
        return invalid("must not end in \":\" or \"%\"");
    }
    Ok(())
}

fn is_identifier_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b':' | b'%' | b'-')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(input: &str, expected: bool) {
        assert_eq!(Did::parse(input).is_ok(), expected, "{input:?}");
    }

    #[test]
    fn syntax() {
        check("did:plc:ewvi7nxzyoun6zhxrhs64oiz", true);
        check("did:web:user.example.com", true);
        check("did:m:v", true);
        check("did:method::::val", true);
        check("did:method:-:_:.", true);
        check("did:method:val%BB", true);
        check("did:method:%zz", true);
        check("did:web:localhost%3A1234", true);
        check("did:METHOD:val", false);
        check("did:m123:val", false);
        check("DID:method:val", false);
        check("did:method:", false);
        check("did:method:val:", false);
        check("did:method:val%", false);
        check("did::val", false);
        check("did:method", false);
        check("did:method:val/two", false);
        check("did:method:val?two", false);
        check("did:method:val#two", false);
        check("did:method:vál", false);
        check("did:méthod:val", false);
        check("", false);
        check("did:", false);
        check(" did:m:v", false);
        check("did:m:v ", false);
    }

    #[test]
    fn length_limit() {
        let prefix = "did:plc:";
        check(
            &format!("{prefix}{}", "a".repeat(Did::MAX_LEN - prefix.len())),
            true,
        );
        let err = Did::parse(&format!("{prefix}{}", "a".repeat(Did::MAX_LEN))).unwrap_err();
        assert!(
            matches!(err, SyntaxError::TooLong { max: 2048, .. }),
            "{err}"
        );
    }

    #[test]
    fn accessors() {
        let did = Did::parse("did:plc:ewvi7nxzyoun6zhxrhs64oiz").unwrap();
        assert_eq!(did.method(), "plc");
        assert_eq!(did.identifier(), "ewvi7nxzyoun6zhxrhs64oiz");
        assert!(did.is_plc() && !did.is_web() && did.is_supported_method());
        let did = Did::parse("did:web:example.com").unwrap();
        assert!(did.is_web() && did.is_supported_method());
        let did = Did::parse("did:key:zQ3sh").unwrap();
        assert_eq!(did.method(), "key");
        assert!(!did.is_supported_method());
        assert_eq!(did.to_string(), "did:key:zQ3sh");
        assert_eq!("did:key:zQ3sh".parse::<Did>().unwrap(), did);
    }
}
