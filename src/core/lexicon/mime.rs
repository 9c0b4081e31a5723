//! [`MimePattern`]: one entry of a `blob` schema's `accept` list, checked when the schema is loaded
//! and matched against a blob's MIME type when data is validated.
//!
//! A pattern is an exact `type/subtype`, a `type/*` glob, or `*/*` (anything). Partial globs
//! (`text/ht*`) and a bare `*` are not supported by the spec, so they are refused at load time
//! instead of being given some guessed meaning. Matching is exact and case-sensitive, as in the
//! reference implementations.
//!
//! Spec: <https://atproto.com/specs/lexicon#blob>

use std::fmt;

/// A parsed `accept` pattern.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum MimePattern {
    /// `*/*`: any MIME type.
    Any,
    /// `type/*`: the type part followed by `/` (stored as `type/`).
    TypeGlob(String),
    /// A full `type/subtype`.
    Exact(String),
}

impl MimePattern {
    /// Parses one `accept` entry, or says why it is not a supported pattern.
    pub fn parse(input: &str) -> Result<Self, &'static str> {
        if input == "*/*" {
            return Ok(Self::Any);
        }
        let Some((kind, subtype)) = input.split_once('/') else {
            return Err("must be a mime type of the form type/subtype, type/* or */*");
        };
        let is_token = |part: &str| {
            !part.is_empty()
                && part
                    .bytes()
                    .all(|b| b.is_ascii_graphic() && !matches!(b, b'/' | b'*'))
        };
        if !is_token(kind) {
            return Err("must be a mime type of the form type/subtype, type/* or */*");
        }
        if subtype == "*" {
            return Ok(Self::TypeGlob(format!("{kind}/")));
        }
        if !is_token(subtype) {
            return Err("partial globs and malformed mime types are not supported");
        }
        Ok(Self::Exact(input.to_owned()))
    }

    /// Whether a blob of MIME type `mime_type` is accepted by this pattern.
    pub fn matches(&self, mime_type: &str) -> bool {
        match self {
            Self::Any => !mime_type.is_empty(),
            Self::TypeGlob(prefix) => {
                mime_type.len() > prefix.len() && mime_type.starts_with(prefix.as_str())
            }
            Self::Exact(exact) => mime_type == exact,
        }
    }
}

impl fmt::Display for MimePattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Any => f.write_str("*/*"),
            Self::TypeGlob(prefix) => write!(f, "{prefix}*"),
            Self::Exact(exact) => f.write_str(exact),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(pattern: &str, mime_type: &str, expected: bool) {
        let parsed = MimePattern::parse(pattern).unwrap();
        assert_eq!(parsed.matches(mime_type), expected, "{pattern} {mime_type}");
        assert_eq!(parsed.to_string(), pattern);
    }

    #[test]
    fn matching() {
        check("*/*", "text/plain", true);
        check("*/*", "", false);
        check("image/*", "image/png", true);
        check("image/*", "image/", false);
        check("image/*", "imagex/png", false);
        check("image/*", "video/mp4", false);
        check("image/png", "image/png", true);
        check("image/png", "image/pngx", false);
        check("image/png", "IMAGE/PNG", false);
    }

    #[test]
    fn unsupported_patterns_are_refused() {
        for bad in [
            "*", "", "image", "text/ht*", "*/png", "image/", "/png", "a b/c", "a/*/*",
        ] {
            assert!(MimePattern::parse(bad).is_err(), "{bad:?}");
        }
    }
}
