//! `AtUri`: an `at://` URI in the restricted form Lexicon `at-uri` fields use.
//!
//! Owns the syntax `at://<did|handle>[/<nsid>[/<rkey>]]` (no query, no fragment, no trailing slash,
//! at most 8 KiB) and access to its three parts. Does not accept the general AT-URI syntax (extra
//! path segments, queries, JSON-path fragments) and does not normalise: the string is kept as
//! given, so a record that carries it round-trips byte for byte.
//!
//! Spec: <https://atproto.com/specs/at-uri-scheme>

use super::{
    AtIdentifier, Nsid, RecordKey, SyntaxError, SyntaxKind, check_len, did, handle, nsid,
    record_key, string_traits,
};

const SCHEME: &str = "at://";

/// An AT-URI naming a repository, a collection in it, or one record.
///
/// Holds the string and the offsets of its parts, so parsing allocates only the string itself.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AtUri {
    uri: String,
    /// End of the authority (an offset into `uri`).
    authority_end: usize,
    /// End of the collection; equal to `authority_end` when there is no collection.
    collection_end: usize,
}

impl AtUri {
    /// The Lexicon limit on an AT-URI's length: 8 KiB.
    pub const MAX_LEN: usize = 8 * 1024;

    /// Checks `input` and copies it into an `AtUri`.
    pub fn parse(input: &str) -> Result<Self, SyntaxError> {
        let (authority_end, collection_end) = validate(input)?;
        Ok(Self {
            uri: input.to_owned(),
            authority_end,
            collection_end,
        })
    }

    fn from_string(input: String) -> Result<Self, SyntaxError> {
        let (authority_end, collection_end) = validate(&input)?;
        Ok(Self {
            uri: input,
            authority_end,
            collection_end,
        })
    }

    /// Builds `at://<authority>[/<collection>[/<rkey>]]` from validated parts. A record key needs
    /// a collection; that is the only way this fails (the parts are too short to pass 8 KiB).
    pub fn from_parts(
        authority: &AtIdentifier,
        collection: Option<&Nsid>,
        rkey: Option<&RecordKey>,
    ) -> Result<Self, SyntaxError> {
        match (collection, rkey) {
            (Some(collection), Some(rkey)) => Ok(Self::for_record(authority, collection, rkey)),
            (Some(collection), None) => {
                let uri = format!("{SCHEME}{authority}/{collection}");
                Ok(Self::with_offsets(uri, authority, Some(collection)))
            }
            (None, None) => Ok(Self::with_offsets(
                format!("{SCHEME}{authority}"),
                authority,
                None,
            )),
            (None, Some(rkey)) => Err(SyntaxError::invalid(
                SyntaxKind::AtUri,
                "a record key needs a collection",
                rkey.as_str(),
            )),
        }
    }

    /// The URI of one record: `at://<authority>/<collection>/<rkey>`.
    pub fn for_record(authority: &AtIdentifier, collection: &Nsid, rkey: &RecordKey) -> Self {
        let uri = format!("{SCHEME}{authority}/{collection}/{rkey}");
        Self::with_offsets(uri, authority, Some(collection))
    }

    fn with_offsets(uri: String, authority: &AtIdentifier, collection: Option<&Nsid>) -> Self {
        let authority_end = SCHEME.len() + authority.as_str().len();
        let collection_end =
            collection.map_or(authority_end, |c| authority_end + 1 + c.as_str().len());
        debug_assert!(validate(&uri) == Ok((authority_end, collection_end)));
        Self {
            uri,
            authority_end,
            collection_end,
        }
    }

    pub fn as_str(&self) -> &str {
        &self.uri
    }

    /// The authority (DID or handle) as written in the URI.
    pub fn authority_str(&self) -> &str {
        self.uri
            .get(SCHEME.len()..self.authority_end)
            .unwrap_or_default()
    }

    /// The authority as a DID or handle (a handle comes back lowercased).
    pub fn authority(&self) -> AtIdentifier {
        AtIdentifier::from_validated(self.authority_str())
    }

    /// The collection NSID as written, if the URI has one.
    pub fn collection_str(&self) -> Option<&str> {
        (self.collection_end > self.authority_end)
            .then(|| self.uri.get(self.authority_end + 1..self.collection_end))
            .flatten()
    }

    pub fn collection(&self) -> Option<Nsid> {
        self.collection_str().map(Nsid::from_validated)
    }

    /// The record key, if the URI names a record.
    pub fn rkey_str(&self) -> Option<&str> {
        (self.uri.len() > self.collection_end)
            .then(|| self.uri.get(self.collection_end + 1..))
            .flatten()
    }

    pub fn rkey(&self) -> Option<RecordKey> {
        self.rkey_str().map(RecordKey::from_validated)
    }
}

string_traits!(AtUri);

/// Checks the restricted syntax; returns the end offsets of the authority and the collection.
fn validate(input: &str) -> Result<(usize, usize), SyntaxError> {
    let invalid = |reason| Err(SyntaxError::invalid(SyntaxKind::AtUri, reason, input));
    check_len(SyntaxKind::AtUri, input, AtUri::MAX_LEN)?;
    let Some(rest) = input.strip_prefix(SCHEME) else {
        return invalid("must start with \"at://\"");
    };
    let (authority, path) = match rest.split_once('/') {
        Some((authority, path)) => (authority, Some(path)),
        None => (rest, None),
    };
    let authority_ok = if authority.starts_with("did:") {
        did::validate(authority).is_ok()
    } else {
        handle::validate(authority).is_ok()
    };
    if !authority_ok {
        return invalid("authority is not a valid did or handle");
    }
    let authority_end = SCHEME.len() + authority.len();
    let Some(path) = path else {
        return Ok((authority_end, authority_end));
    };
    let (collection, rkey) = match path.split_once('/') {
        Some((collection, rkey)) => (collection, Some(rkey)),
        None => (path, None),
    };
    if nsid::validate(collection).is_err() {
        return invalid("collection is not a valid nsid");
    }
    let collection_end = authority_end + 1 + collection.len();
    if rkey.is_some_and(|rkey| record_key::validate(rkey).is_err()) {
        return invalid("record key is not valid (or the path has extra segments)");
    }
    Ok((authority_end, collection_end))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(input: &str, expected: bool) {
        assert_eq!(AtUri::parse(input).is_ok(), expected, "{input:?}");
    }

    #[test]
    fn syntax() {
        check("at://did:plc:asdf123", true);
        check("at://user.bsky.social", true);
        check("at://did:plc:asdf123/com.atproto.feed.post", true);
        check("at://did:plc:asdf123/com.atproto.feed.post/record", true);
        check("at://did:abc:123/io.nsid.someFunc/...", true);
        check("at://did:abc:123/io.nsid.someFunc/:", true);
        check("at://foo.com/com.example.foo/123", true);
        check("at://User.Bsky.Social/com.example.foo/123", true);
        check("AT://did:plc:asdf123", false);
        check("at:/did:plc:asdf123", false);
        check("at://", false);
        check("at:///com.example.foo", false);
        check("at://did:plc:asdf123/", false);
        check("at://user.bsky.social/", false);
        check("at://did:plc:asdf123/com.atproto.feed.post/", false);
        check("at://did:plc:asdf123/com.atproto.feed.post/record/", false);
        check("at://did:plc:asdf123/com.atproto.feed.post/a/b", false);
        check("at://user.bsky.social//com.atproto.feed.post", false);
        check("at://did:plc:asdf123#frag", false);
        check("at://did:plc:asdf123/com.atproto.feed.post?q=1", false);
        check("at://did:plc:asdf123/com.atproto.feed.post/.", false);
        check("at://did:plc:asdf123/com.atproto.feed.post/..", false);
        check("at://did:plc:asdf123/com.atproto.feed.post/%30", false);
        check("at://foo.com/example/123", false);
        check("at://computer", false);
        check("at://example.com:3000", false);
        check("at://user:pass@foo.com", false);
        check("at://@handle.example.com", false);
        check(" at://did:plc:asdf123", false);
        check("at://did:plc:asdf123 ", false);
    }

    #[test]
    fn length_limit() {
        let base = "at://did:plc:asdf123/com.atproto.feed.post/";
        check(&format!("{base}{}", "o".repeat(512)), true);
        let err = AtUri::parse(&format!("{base}{}", "o".repeat(8200))).unwrap_err();
        assert!(matches!(err, SyntaxError::TooLong { .. }), "{err}");
    }

    #[test]
    fn parts() {
        let uri = AtUri::parse("at://Alice.Test/app.bsky.feed.post/3k5nobkf2w72g").unwrap();
        assert_eq!(uri.authority_str(), "Alice.Test");
        assert_eq!(uri.authority().as_str(), "alice.test");
        assert_eq!(uri.collection_str(), Some("app.bsky.feed.post"));
        assert_eq!(uri.collection().unwrap().name(), "post");
        assert_eq!(uri.rkey_str(), Some("3k5nobkf2w72g"));
        assert_eq!(uri.rkey().unwrap().as_str(), "3k5nobkf2w72g");
        assert_eq!(
            uri.to_string(),
            "at://Alice.Test/app.bsky.feed.post/3k5nobkf2w72g"
        );

        let repo = AtUri::parse("at://did:plc:abc").unwrap();
        assert_eq!(repo.authority().as_did().unwrap().method(), "plc");
        assert_eq!((repo.collection_str(), repo.rkey_str()), (None, None));

        let collection = AtUri::parse("at://did:plc:abc/app.bsky.feed.like").unwrap();
        assert_eq!(collection.collection_str(), Some("app.bsky.feed.like"));
        assert_eq!(collection.rkey_str(), None);
    }

    #[test]
    fn from_parts_round_trips() {
        let did = AtIdentifier::parse("did:plc:abc").unwrap();
        let nsid = Nsid::parse("app.bsky.feed.post").unwrap();
        let rkey = RecordKey::parse("3k5nobkf2w72g").unwrap();
        for (collection, key, expected) in [
            (None, None, "at://did:plc:abc"),
            (Some(&nsid), None, "at://did:plc:abc/app.bsky.feed.post"),
            (
                Some(&nsid),
                Some(&rkey),
                "at://did:plc:abc/app.bsky.feed.post/3k5nobkf2w72g",
            ),
        ] {
            let built = AtUri::from_parts(&did, collection, key).unwrap();
            assert_eq!(built, AtUri::parse(expected).unwrap());
        }
        assert!(AtUri::from_parts(&did, None, Some(&rkey)).is_err());
        assert_eq!(
            AtUri::for_record(&did, &nsid, &rkey).as_str(),
            "at://did:plc:abc/app.bsky.feed.post/3k5nobkf2w72g"
        );
    }
}
