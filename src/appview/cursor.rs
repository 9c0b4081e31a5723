//! Pagination cursors: the key of the last item of a page, as `field:field:…:rkey` (record keys
//! may contain `:`, so the rkey is always the last field). Cursors are opaque to clients; one that
//! does not parse is refused with `InvalidRequest`.

use super::AppviewError;

/// Encodes numeric fields and a trailing text field.
pub fn encode(numbers: &[u64], text: &str) -> String {
    let mut out = String::new();
    for n in numbers {
        out.push_str(&n.to_string());
        out.push(':');
    }
    out.push_str(text);
    out
}

/// Decodes `N` numeric fields and the trailing text field.
pub fn decode<const N: usize>(cursor: &str) -> Result<([u64; N], String), AppviewError> {
    let bad = || AppviewError::InvalidRequest("malformed cursor".into());
    let mut parts = cursor.splitn(N + 1, ':');
    let mut numbers = [0u64; N];
    for slot in &mut numbers {
        *slot = parts.next().and_then(|p| p.parse().ok()).ok_or_else(bad)?;
    }
    let text = parts.next().ok_or_else(bad)?.to_owned();
    Ok((numbers, text))
}

/// Parses an optional cursor.
pub fn parse<const N: usize>(
    cursor: Option<&str>,
) -> Result<Option<([u64; N], String)>, AppviewError> {
    cursor
        .filter(|c| !c.is_empty())
        .map(decode::<N>)
        .transpose()
}

/// Clamps a page size to the lexicons' usual 1..=100.
pub fn limit(limit: Option<u32>, default: u32) -> usize {
    usize::try_from(limit.unwrap_or(default).clamp(1, 100)).unwrap_or(50)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_with_colons_in_the_rkey() {
        let c = encode(&[17, 3], "a:b:c");
        assert_eq!(decode::<2>(&c).unwrap(), ([17, 3], "a:b:c".to_owned()));
        assert_eq!(decode::<0>("x").unwrap(), ([], "x".to_owned()));
        assert!(decode::<2>("1:x").is_err());
        assert!(decode::<1>("nope:x").is_err());
        assert!(parse::<1>(Some("")).unwrap().is_none());
        assert_eq!(limit(Some(500), 50), 100);
        assert_eq!(limit(Some(0), 50), 1);
        assert_eq!(limit(None, 25), 25);
    }
}
