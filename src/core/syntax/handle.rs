//! `Handle`: a human-friendly account name in DNS hostname syntax, normalised to lowercase.
//!
//! Owns the hostname syntax check, lowercase normalisation, the `handle.invalid` marker, and the
//! list of top-level domains that are valid syntax but must never be registered or resolved.
//! Does not resolve handles (DNS TXT, `/.well-known/atproto-did`) or check that a TLD exists.
//!
//! Spec: <https://atproto.com/specs/handle>

use super::{SyntaxError, SyntaxKind, check_len, string_traits};

/// A handle such as `alice.example.com`, always stored in lowercase.
///
/// Syntax: at most [`Handle::MAX_LEN`] ASCII bytes, at least two dot-separated labels of 1 to 63
/// letters, digits and hyphens, no label starting or ending with a hyphen, and a last label (the
/// TLD) that starts with a letter.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Handle(String);

/// Top-level domains that are valid handle syntax but must fail registration and resolution.
const DISALLOWED_TLDS: [&str; 8] = [
    "alt",
    "arpa",
    "example",
    "internal",
    "invalid",
    "local",
    "localhost",
    "onion",
];

impl Handle {
    /// The DNS limit on a hostname's length.
    pub const MAX_LEN: usize = 253;
    /// The DNS limit on one label's length.
    pub const MAX_LABEL_LEN: usize = 63;
    /// The marker shown in place of a handle that failed bidirectional verification.
    pub const INVALID: &'static str = "handle.invalid";

    /// Checks `input` and stores it lowercased.
    pub fn parse(input: &str) -> Result<Self, SyntaxError> {
        validate(input)?;
        Ok(Self(input.to_ascii_lowercase()))
    }

    fn from_string(mut input: String) -> Result<Self, SyntaxError> {
        validate(&input)?;
        input.make_ascii_lowercase();
        Ok(Self(input))
    }

    /// Wraps a string already known to be a valid handle (a slice of another validated value).
    pub(super) fn from_validated(input: &str) -> Self {
        debug_assert!(validate(input).is_ok());
        Self(input.to_ascii_lowercase())
    }

    /// The `handle.invalid` marker as a value.
    pub fn invalid() -> Self {
        Self(Self::INVALID.to_owned())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether this is the `handle.invalid` marker rather than a real handle.
    pub fn is_invalid_marker(&self) -> bool {
        self.0 == Self::INVALID
    }

    /// The last label, for example `com` in `alice.example.com`.
    pub fn tld(&self) -> &str {
        self.0.rsplit('.').next().unwrap_or_default()
    }

    /// Whether the TLD is one of `.alt .arpa .example .internal .invalid .local .localhost .onion`:
    /// valid syntax, but never allowed for registration or resolution.
    pub fn is_disallowed_tld(&self) -> bool {
        DISALLOWED_TLDS.contains(&self.tld())
    }
}

string_traits!(Handle);

/// Checks hostname syntax as the handle spec restricts it; case-insensitive.
pub(super) fn validate(input: &str) -> Result<(), SyntaxError> {
    let invalid = |reason| Err(SyntaxError::invalid(SyntaxKind::Handle, reason, input));
    check_len(SyntaxKind::Handle, input, Handle::MAX_LEN)?;
    if !input.contains('.') {
        return invalid("must have at least two labels");
    }
    let mut last = "";
    for label in input.split('.') {
        if let Err(reason) = check_label(label) {
            return invalid(reason);
        }
        last = label;
    }
    if !last.starts_with(|c: char| c.is_ascii_alphabetic()) {
        return invalid("top-level domain must start with a letter");
    }
    Ok(())
}

/// Checks one DNS label: 1 to 63 letters, digits or hyphens, not starting or ending with a hyphen.
pub(super) fn check_label(label: &str) -> Result<(), &'static str> {
    let bytes = label.as_bytes();
    let (Some(&first), Some(&last)) = (bytes.first(), bytes.last()) else {
        return Err("empty label");
    };
    if bytes.len() > Handle::MAX_LABEL_LEN {
        return Err("label longer than 63 characters");
    }
    if !bytes
        .iter()
        .all(|&b| b.is_ascii_alphanumeric() || b == b'-')
    {
        return Err("labels may only contain ASCII letters, digits and hyphens");
    }
    if first == b'-' || last == b'-' {
        return Err("label must not start or end with a hyphen");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(input: &str, expected: bool) {
        assert_eq!(Handle::parse(input).is_ok(), expected, "{input:?}");
    }

    #[test]
    fn syntax() {
        check("jay.bsky.social", true);
        check("8.cn", true);
        check("name.t--t", true);
        check("XX.LCS.MIT.EDU", true);
        check("a.co", true);
        check("xn--notarealidn.com", true);
        check("xn--fiqa61au8b7zsevnm8ak20mc4a87e.xn--fiqs8s", true);
        check("example.t", true);
        check("laptop.local", true);
        check("handle.invalid", true);
        check("jo@hn.test", false);
        check("💩.test", false);
        check("john..test", false);
        check("xn--bcher-.tld", false);
        check("john.0", false);
        check("cn.8", false);
        check("www.masełkowski.pl.com", false);
        check("org", false);
        check("name.org.", false);
        check(".name.org", false);
        check("-a.org", false);
        check("a-.org", false);
        check("a.-org", false);
        check("127.0.0.1", false);
        check("fe80::1", false);
        check("", false);
        check(".", false);
        check("a.b\0", false);
    }

    #[test]
    fn length_limits() {
        let label63 = "o".repeat(63);
        check(&format!("short.{label63}.test"), true);
        check(&format!("short.{label63}o.test"), false);
        // 4 × 63-char labels plus 3 dots is 255 bytes: one label cut to 61 gives exactly 253.
        let exact = format!("{label63}.{label63}.{label63}.{}", "a".repeat(61));
        assert_eq!(exact.len(), 253);
        check(&exact, true);
        check(&format!("a{exact}"), false);
    }

    #[test]
    fn normalises_to_lowercase() {
        let handle = Handle::parse("Alice.Example.COM").unwrap();
        assert_eq!(handle.as_str(), "alice.example.com");
        assert_eq!(handle, Handle::parse("alice.example.com").unwrap());
        assert_eq!(handle.tld(), "com");
        let owned = Handle::try_from("BOB.test".to_owned()).unwrap();
        assert_eq!(owned.as_str(), "bob.test");
    }

    #[test]
    fn disallowed_tlds_and_marker() {
        for (input, disallowed) in [
            ("laptop.local", true),
            ("blah.arpa", true),
            ("x.ONION", true),
            ("a.example", true),
            ("a.localhost", true),
            ("a.internal", true),
            ("a.alt", true),
            ("a.test", false),
            ("alice.example.com", false),
            ("localhost.com", false),
        ] {
            assert_eq!(
                Handle::parse(input).unwrap().is_disallowed_tld(),
                disallowed,
                "{input}"
            );
        }
        let marker = Handle::invalid();
        assert!(marker.is_invalid_marker() && marker.is_disallowed_tld());
        assert_eq!(marker, Handle::parse("Handle.Invalid").unwrap());
        assert!(!Handle::parse("a.test").unwrap().is_invalid_marker());
    }
}
