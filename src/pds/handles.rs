//! Handle rules for accounts on this server: syntax, disallowed TLDs, the service-domain label
//! limits and the reserved names.
//!
//! Spec: <https://atproto.com/specs/handle>. The label limits (3 to 18 characters, no dots before
//! the service domain) follow the reference PDS.

use super::PdsError;
use crate::core::syntax::Handle;

const MIN_LABEL_LEN: usize = 3;
const MAX_LABEL_LEN: usize = 18;

/// Labels no account may take under a service domain: protocol words and names people would take
/// to be the server itself.
const RESERVED: &[&str] = &[
    "about",
    "abuse",
    "account",
    "accounts",
    "admin",
    "administrator",
    "api",
    "app",
    "appview",
    "atp",
    "atproto",
    "auth",
    "blob",
    "blobs",
    "bluesky",
    "bsky",
    "cdn",
    "chat",
    "did",
    "docs",
    "feed",
    "feeds",
    "firehose",
    "handle",
    "help",
    "host",
    "info",
    "jetstream",
    "labeler",
    "lex",
    "lexicon",
    "localhost",
    "login",
    "mail",
    "moderation",
    "mod",
    "nsid",
    "oauth",
    "official",
    "ozone",
    "pds",
    "plc",
    "postmaster",
    "relay",
    "repo",
    "root",
    "security",
    "server",
    "skyhold",
    "staff",
    "static",
    "status",
    "support",
    "sync",
    "system",
    "tid",
    "web",
    "webmaster",
    "www",
    "xrpc",
];

/// Checks a handle for a new account (or a handle change) against this server's rules. Returns the
/// normalised handle and whether it is under one of `domains`.
pub fn check_handle(input: &str, domains: &[String]) -> Result<(Handle, bool), PdsError> {
    let lowered = input.trim().to_ascii_lowercase();
    let handle = Handle::parse(&lowered).map_err(|e| PdsError::InvalidHandle(e.to_string()))?;
    if handle.is_disallowed_tld() {
        return Err(PdsError::InvalidHandle(
            "Handle TLD is invalid or disallowed".into(),
        ));
    }
    let Some(domain) = domains
        .iter()
        .find(|d| handle.as_str().ends_with(d.as_str()))
    else {
        return Ok((handle, false));
    };
    let front = &handle.as_str()[..handle.as_str().len() - domain.len()];
    if front.contains('.') {
        return Err(PdsError::InvalidHandle(
            "Invalid characters in handle".into(),
        ));
    }
    if front.len() < MIN_LABEL_LEN {
        return Err(PdsError::InvalidHandle("Handle too short".into()));
    }
    if front.len() > MAX_LABEL_LEN {
        return Err(PdsError::InvalidHandle("Handle too long".into()));
    }
    if RESERVED.contains(&front) {
        return Err(PdsError::HandleNotAvailable("Reserved handle".into()));
    }
    Ok((handle, true))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn domains() -> Vec<String> {
        vec![".test".into()]
    }

    #[test]
    fn service_domain_rules() {
        assert_eq!(
            check_handle("Alice.TEST", &domains()).unwrap().0.as_str(),
            "alice.test"
        );
        assert!(check_handle("alice.test", &domains()).unwrap().1);
        assert!(matches!(
            check_handle("al.test", &domains()),
            Err(PdsError::InvalidHandle(_))
        ));
        assert!(matches!(
            check_handle("a.b.test", &domains()),
            Err(PdsError::InvalidHandle(_))
        ));
        assert!(matches!(
            check_handle("abcdefghijklmnopqrs.test", &domains()),
            Err(PdsError::InvalidHandle(_))
        ));
        assert!(matches!(
            check_handle("admin.test", &domains()),
            Err(PdsError::HandleNotAvailable(_))
        ));
        assert!(matches!(
            check_handle("bad_handle.test", &domains()),
            Err(PdsError::InvalidHandle(_))
        ));
        assert!(matches!(
            check_handle("alice.local", &domains()),
            Err(PdsError::InvalidHandle(_))
        ));
        assert!(!check_handle("alice.example.com", &domains()).unwrap().1);
    }
}
