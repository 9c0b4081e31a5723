//! The Lexicon `cid` string format, checked as syntax only.
//!
//! Owns the cheap string check Lexicon validation applies to `cid` fields: a multibase prefix and
//! a bounded run of multibase alphabet characters. Does not decode the multibase, the multicodec or
//! the multihash; the full CID parser in the data model does that when a CID is actually used.
//! CIDv0 (`Qm…`, bare base58btc with no multibase prefix) is refused, as atproto requires CIDv1.
//!
//! Spec: <https://atproto.com/specs/data-model> (CID string encoding),
//! <https://atproto.com/specs/lexicon> (`cid` format)

/// The shortest string accepted (a prefix and a few characters of a tiny CID).
const MIN_LEN: usize = 8;
/// The longest string accepted: far beyond any real CID, and a bound on the work done.
const MAX_LEN: usize = 256;

/// Whether `input` looks like a CIDv1 string: 8 to 256 characters, a multibase prefix, then only
/// characters that some multibase alphabet uses (`A-Za-z0-9`, `+ / = - _`).
pub fn is_valid_cid_syntax(input: &str) -> bool {
    let bytes = input.as_bytes();
    let Some(&prefix) = bytes.first() else {
        return false;
    };
    (MIN_LEN..=MAX_LEN).contains(&bytes.len())
        && is_multibase_prefix(prefix)
        && bytes
            .iter()
            .all(|&b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'=' | b'-' | b'_'))
}

/// The ASCII multibase prefixes: base2, base8, base10, base16, base32 (hex, pad, z-base), base36,
/// base58 (btc, flickr), base64 (plain, pad, url, urlpad) and proquint.
fn is_multibase_prefix(b: u8) -> bool {
    matches!(
        b,
        b'0' | b'7'
            | b'9'
            | b'f'
            | b'F'
            | b'v'
            | b'V'
            | b't'
            | b'T'
            | b'b'
            | b'B'
            | b'c'
            | b'C'
            | b'h'
            | b'k'
            | b'K'
            | b'z'
            | b'Z'
            | b'm'
            | b'M'
            | b'u'
            | b'U'
            | b'p'
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(input: &str, expected: bool) {
        assert_eq!(is_valid_cid_syntax(input), expected, "{input:?}");
    }

    #[test]
    fn syntax() {
        check(
            "bafyreidfayvfuwqa7qlnopdjiqrxzs6blmoeu4rujcjtnci5beludirz2a",
            true,
        );
        check(
            "bafkreibme22gw2h7y2h7tg2fhqotaqjucnbc24deqo72b6mkl2egezxhvy",
            true,
        );
        check("zdj7WWeQ43G6JJvLWQWZpyHuAMq6uYWRjkBXFad11vE2LHhQ7", true);
        check("mBcDxtdWx0aWhhc2g+", true);
        check("uAXESIA_-abc", true);
        check(
            "f017012202c5f688262e0ece8569aa6f94d60aad55ca8d9d83734e4a7430d0cff6588ec2b",
            true,
        );
        check("QmbWqxBEKC3P8tqsKc98xmWNzrzDtRLMiMPL8wBuTGsMnR", false);
        check("example.com", false);
        check(
            "cid:bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi",
            false,
        );
        check(
            "bafybe igdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi",
            false,
        );
        check("bafy", false);
        check("noop", false);
        check("", false);
        check(&format!("b{}", "a".repeat(256)), false);
        check(
            "bafyreidfayvfuwqa7qlnopdjiqrxzs6blmoeu4rujcjtnci5beludirz2é",
            false,
        );
    }
}
