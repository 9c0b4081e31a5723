//! MST key rules: a key's layer (height) and which keys are allowed.
//!
//! Spec: <https://atproto.com/specs/repository#mst-structure>.

use sha2::{Digest, Sha256};

/// Longest key accepted; real keys (`collection/rkey`) are far shorter (NSID ≤ 317, rkey ≤ 512).
const MAX_KEY_LEN: usize = 1024;

/// The layer of a key: leading zero bits of SHA-256(key), divided by two (fanout 4).
pub fn key_height(key: &[u8]) -> u8 {
    let digest = Sha256::digest(key);
    let mut zeros = 0u32;
    for byte in digest {
        if byte == 0 {
            zeros += 8;
        } else {
            zeros += byte.leading_zeros();
            break;
        }
    }
    // At most 256 zero bits, so the layer is at most 128 and fits a u8.
    (zeros / 2) as u8
}

/// Whether a key is `collection/rkey`: two non-empty segments of `A-Za-z0-9 . - _ ~ :`.
pub fn is_valid_key(key: &[u8]) -> bool {
    if key.is_empty() || key.len() > MAX_KEY_LEN {
        return false;
    }
    let mut slashes = 0;
    for &b in key {
        match b {
            b'/' => slashes += 1,
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'.' | b'-' | b'_' | b'~' | b':' => {}
            _ => return false,
        }
    }
    slashes == 1 && key[0] != b'/' && key[key.len() - 1] != b'/'
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heights_from_the_spec() {
        assert_eq!(key_height(b""), 0);
        assert_eq!(key_height(b"blue"), 1);
        assert_eq!(key_height(b"app.bsky.feed.post/454397e440ec"), 4);
        assert_eq!(key_height(b"app.bsky.feed.post/9adeb165882c"), 8);
    }

    #[test]
    fn key_validity() {
        assert!(is_valid_key(b"app.bsky.feed.post/3jzfcijpj2z2a"));
        assert!(is_valid_key(b"coll/self"));
        assert!(is_valid_key(b"a/b:c~d"));
        assert!(!is_valid_key(b"noslash"));
        assert!(!is_valid_key(b"a/b/c"));
        assert!(!is_valid_key(b"/b"));
        assert!(!is_valid_key(b"a/"));
        assert!(!is_valid_key(b"a/b c"));
        assert!(!is_valid_key(b""));
    }
}
