//! The Lexicon `uri` string format: any URI with a scheme, checked loosely.
//!
//! Owns the generic check Lexicon validation applies to `uri` fields: an RFC 3986 scheme, a colon,
//! then a non-empty rest with no whitespace or control characters, at most 8 KiB in all. Does not
//! parse the authority, path or query, percent-decode, or check scheme-specific rules (`at-uri`
//! and `did` have their own types). Non-ASCII characters after the scheme are accepted, as the
//! reference implementation accepts them, so that records it writes validate here too.
//!
//! Spec: <https://atproto.com/specs/lexicon> (`uri`), RFC 3986 §3.1

/// The Lexicon limit on a `uri` string: 8 KiB.
pub const MAX_URI_LEN: usize = 8 * 1024;

/// Whether `input` is a URI as the Lexicon `uri` format accepts it.
pub fn is_valid_uri(input: &str) -> bool {
    if input.len() > MAX_URI_LEN {
        return false;
    }
    let Some((scheme, rest)) = input.split_once(':') else {
        return false;
    };
    is_scheme(scheme)
        && !rest.is_empty()
        && !rest.chars().any(|c| c.is_whitespace() || c.is_control())
}

/// RFC 3986 `scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." )`.
fn is_scheme(scheme: &str) -> bool {
    let mut bytes = scheme.bytes();
    bytes.next().is_some_and(|b| b.is_ascii_alphabetic())
        && bytes.all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(input: &str, expected: bool) {
        assert_eq!(is_valid_uri(input), expected, "{input:?}");
    }

    #[test]
    fn syntax() {
        check("https://example.com", true);
        check("https://example.com/path?q=blah&yes=true#frag.123", true);
        check("dns:example.com", true);
        check("at://handle.example.com/nsid/rkey", true);
        check(
            "did:key:zQ3shZc2QzApp2oymGvQbzP8eKheVshBHbU4ZYjeXqwSKEn6N",
            true,
        );
        check("microsoft.windows.camera:thing", true);
        check("content-type:text/plan", true);
        check("go://?Mercedes%20Benz", true);
        check("web+app:thing", true);
        check("https://例え.jp/パス", true);
        check("example.com", false);
        check("://example.com", false);
        check("//example.com", false);
        check("http:", false);
        check(".http://example.com", false);
        check("-http://example.com", false);
        check("1http://example.com", false);
        check("12345", false);
        check("127.0.0.1", false);
        check("https://example.com/path gap", false);
        check("https://example.com/\u{a0}", false);
        check("https://example.com/\u{7f}", false);
        check(" https://example.com", false);
        check("https://example.com ", false);
        check("", false);
        check(&format!("https://example.com/{}", "x".repeat(5000)), true);
        check(&format!("https://example.com/{}", "x".repeat(8200)), false);
    }
}
