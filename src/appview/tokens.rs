//! Tokenizing text for the search indexes: lowercased runs of letters and digits (Unicode-aware),
//! each at most [`MAX_TOKEN_BYTES`], at most [`MAX_TOKENS`] distinct ones per text.
//!
//! This is deliberately simple: no stemming, no stop words, no phrase positions. A query matches a
//! post when every query token is one of the post's tokens (posts), or a prefix of one of the
//! actor's tokens (actors). The limits are documented in docs/BEHAVIORS.md.

/// Longest token kept (longer runs are cut at a character boundary).
pub const MAX_TOKEN_BYTES: usize = 64;
/// Most distinct tokens indexed per text (a post is at most 3000 bytes of text anyway).
pub const MAX_TOKENS: usize = 128;

/// The distinct tokens of `text`, in first-seen order.
pub fn tokens(text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut current = String::new();
    let flush = |current: &mut String, out: &mut Vec<String>| {
        if !current.is_empty() {
            let token = truncate(current);
            if !out.iter().any(|t| t == token) && out.len() < MAX_TOKENS {
                out.push(token.to_owned());
            }
            current.clear();
        }
    };
    for c in text.chars() {
        if c.is_alphanumeric() {
            current.extend(c.to_lowercase());
        } else {
            flush(&mut current, &mut out);
        }
    }
    flush(&mut current, &mut out);
    out
}

fn truncate(token: &str) -> &str {
    if token.len() <= MAX_TOKEN_BYTES {
        return token;
    }
    let mut end = MAX_TOKEN_BYTES;
    while !token.is_char_boundary(end) {
        end -= 1;
    }
    &token[..end]
}

/// Tokens for finding an account: its whole handle, each part of the handle, and the words of its
/// display name.
pub fn actor_tokens(handle: Option<&str>, display_name: Option<&str>) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(handle) = handle {
        let handle = handle.to_lowercase();
        out.push(truncate(&handle).to_owned());
        for t in tokens(&handle) {
            if !out.contains(&t) {
                out.push(t);
            }
        }
    }
    if let Some(name) = display_name {
        for t in tokens(name) {
            if !out.contains(&t) {
                out.push(t);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(text: &str, expected: &[&str]) {
        assert_eq!(tokens(text), expected, "{text:?}");
    }

    #[test]
    fn words() {
        check("Hello, World! hello", &["hello", "world"]);
        check("ÉCOLE été", &["école", "été"]);
        check(
            "rust-lang.org #RustLang",
            &["rust", "lang", "org", "rustlang"],
        );
        check("", &[]);
        check("  ...  ", &[]);
        check("日本語 テキスト", &["日本語", "テキスト"]);
    }

    #[test]
    fn long_tokens_are_cut_on_a_char_boundary() {
        let long = "é".repeat(100);
        let t = tokens(&long);
        assert_eq!(t.len(), 1);
        assert!(t[0].len() <= MAX_TOKEN_BYTES);
        assert!(t[0].chars().all(|c| c == 'é'));
    }

    #[test]
    fn actor_tokens_include_the_whole_handle() {
        assert_eq!(
            actor_tokens(Some("Alice.test"), Some("Alice Liddell")),
            vec!["alice.test", "alice", "test", "liddell"]
        );
        assert!(actor_tokens(None, None).is_empty());
    }
}
