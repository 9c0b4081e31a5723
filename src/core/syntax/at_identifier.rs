//! `AtIdentifier`: the Lexicon `at-identifier` format, either a DID or a handle.
//!
//! Owns the choice between the two: a value starting with `did:` is a DID, anything else must be a
//! handle (a handle cannot contain `:`, so the choice is never ambiguous). Does not resolve a
//! handle to a DID.
//!
//! Spec: <https://atproto.com/specs/lexicon> (`at-identifier`)

use super::{Did, Handle, SyntaxError, SyntaxKind, string_traits};

/// A DID or a handle, as accepted in XRPC parameters and AT-URI authorities.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum AtIdentifier {
    Did(Did),
    Handle(Handle),
}

impl AtIdentifier {
    /// Parses a DID if `input` starts with `did:`, otherwise a handle (lowercased).
    pub fn parse(input: &str) -> Result<Self, SyntaxError> {
        if input.starts_with("did:") {
            Did::parse(input).map(Self::Did)
        } else {
            Handle::parse(input).map(Self::Handle)
        }
        .map_err(retag)
    }

    fn from_string(input: String) -> Result<Self, SyntaxError> {
        if input.starts_with("did:") {
            Did::try_from(input).map(Self::Did)
        } else {
            Handle::try_from(input).map(Self::Handle)
        }
        .map_err(retag)
    }

    /// Wraps a string already known to be a valid DID or handle.
    pub(super) fn from_validated(input: &str) -> Self {
        if input.starts_with("did:") {
            Self::Did(Did::from_validated(input))
        } else {
            Self::Handle(Handle::from_validated(input))
        }
    }

    pub fn as_str(&self) -> &str {
        match self {
            Self::Did(did) => did.as_str(),
            Self::Handle(handle) => handle.as_str(),
        }
    }

    pub fn as_did(&self) -> Option<&Did> {
        match self {
            Self::Did(did) => Some(did),
            Self::Handle(_) => None,
        }
    }

    pub fn as_handle(&self) -> Option<&Handle> {
        match self {
            Self::Handle(handle) => Some(handle),
            Self::Did(_) => None,
        }
    }
}

string_traits!(AtIdentifier);

impl From<Did> for AtIdentifier {
    fn from(did: Did) -> Self {
        Self::Did(did)
    }
}

impl From<Handle> for AtIdentifier {
    fn from(handle: Handle) -> Self {
        Self::Handle(handle)
    }
}

/// Reports a DID or handle error as an at-identifier error, keeping the reason.
fn retag(err: SyntaxError) -> SyntaxError {
    match err {
        SyntaxError::Invalid { reason, input, .. } => SyntaxError::Invalid {
            kind: SyntaxKind::AtIdentifier,
            reason,
            input,
        },
        SyntaxError::TooLong { len, max, .. } => SyntaxError::TooLong {
            kind: SyntaxKind::AtIdentifier,
            len,
            max,
        },
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(input: &str, expected: Option<&str>) {
        let parsed = AtIdentifier::parse(input).ok();
        let kind = parsed.as_ref().map(|id| match id {
            AtIdentifier::Did(_) => "did",
            AtIdentifier::Handle(_) => "handle",
        });
        assert_eq!(kind, expected, "{input:?}");
    }

    #[test]
    fn syntax() {
        check("did:plc:abc", Some("did"));
        check("did:method:VAL", Some("did"));
        check("alice.example.com", Some("handle"));
        check("XX.LCS.MIT.EDU", Some("handle"));
        check("did:thing.test", None);
        check("did:thing", None);
        check("john.0", None);
        check("@handle", None);
        check("email@example.com", None);
        check("DID:method:val", None);
        check("", None);
    }

    #[test]
    fn accessors_and_errors() {
        let id = AtIdentifier::parse("Alice.Test").unwrap();
        assert_eq!(id.as_str(), "alice.test");
        assert!(id.as_handle().is_some() && id.as_did().is_none());
        let id: AtIdentifier = "did:web:example.com".parse().unwrap();
        assert_eq!(id.as_did().unwrap().method(), "web");
        let err = AtIdentifier::parse("john.0").unwrap_err();
        assert_eq!(err.kind(), SyntaxKind::AtIdentifier);
        let err = AtIdentifier::try_from("did:X:y".to_owned()).unwrap_err();
        assert_eq!(err.kind(), SyntaxKind::AtIdentifier);
    }
}
