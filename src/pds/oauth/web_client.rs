//! The built-in web UI as an OAuth client of its own node: its client metadata document, served
//! at `/oauth/client-metadata.json` to anyone who asks (the same document for every fetcher),
//! and recognised by the node itself without a fetch over the network.
//!
//! It is a public web client (`token_endpoint_auth_method: none`, PKCE, DPoP-bound tokens) whose
//! one redirect URI is the UI's callback route on the node's own origin. In production the
//! client id is an https URL on a public host name, a valid discoverable client id for anyone;
//! in local mode (`http://localhost:PORT`) no spec form fits a UI served from that origin: the
//! loopback `http://localhost?redirect_uri=…` form must redirect to `127.0.0.1`, another
//! browser origin, where the PKCE verifier and the DPoP key kept by the page are not found.
//! Building the metadata here from the node's own configuration, for its own client id only,
//! works the same in both modes and never opens a way in for another client.
//!
//! The scope asks for what the UI does today: records and blobs and proxied calls
//! (`transition:generic`), email settings (`account:email?action=manage`), importing a repository
//! when moving in or restoring (`account:repo?action=manage`), and the handle and PLC operations
//! of the recovery key and moving out (`identity:*`). What no permission covers (app passwords,
//! deactivation, deletion requests, invite codes, Connected apps, admin powers) the UI reaches
//! with the account's password asked again (docs/OAUTH.md, "The built-in web UI").
//!
//! Spec: <https://atproto.com/specs/oauth#clients>, <https://atproto.com/specs/permission>.

use serde_json::{Value, json};

use crate::core::oauth::client::{AuthMethod, ClientMetadata};

/// Where the node serves the document; the UI's client id is this path on the node's origin.
pub const METADATA_PATH: &str = "/oauth/client-metadata.json";
/// The UI's callback route (web/lib/router.js).
pub const REDIRECT_PATH: &str = "/signin/callback";
/// What the UI asks for (see the module doc).
pub const SCOPE: &str =
    "atproto transition:generic account:email?action=manage account:repo?action=manage identity:*";

/// The web UI's client id on a node whose public URL is `issuer`.
pub fn client_id(issuer: &str) -> String {
    format!("{issuer}{METADATA_PATH}")
}

fn client_name(hostname: &str) -> String {
    format!("{hostname} web app")
}

/// The client metadata document.
pub fn document(issuer: &str, hostname: &str) -> Value {
    json!({
        "client_id": client_id(issuer),
        "client_name": client_name(hostname),
        "client_uri": issuer,
        "application_type": "web",
        "redirect_uris": [format!("{issuer}{REDIRECT_PATH}")],
        "scope": SCOPE,
        "grant_types": ["authorization_code", "refresh_token"],
        "response_types": ["code"],
        "token_endpoint_auth_method": "none",
        "dpop_bound_access_tokens": true,
    })
}

/// The same document, as the node's checked metadata.
pub fn metadata(issuer: &str, hostname: &str) -> ClientMetadata {
    ClientMetadata {
        client_id: client_id(issuer),
        native: false,
        scope: SCOPE.to_owned(),
        redirect_uris: vec![format!("{issuer}{REDIRECT_PATH}")],
        refresh_grant: true,
        auth_method: AuthMethod::None,
        auth_alg: None,
        jwks: None,
        jwks_uri: None,
        client_name: Some(client_name(hostname)),
        client_uri: Some(issuer.to_owned()),
        logo_uri: None,
        tos_uri: None,
        policy_uri: None,
        loopback: false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::oauth::client::{ClientIdKind, parse_client_id, validate_metadata};
    use crate::core::oauth::grant::is_known_scope;

    #[test]
    fn in_production_the_document_is_a_valid_discoverable_client() {
        let issuer = "https://pds.example.com";
        let id = client_id(issuer);
        assert!(matches!(
            parse_client_id(&id, false),
            Ok(ClientIdKind::Discoverable(_))
        ));
        let checked = validate_metadata(&id, &document(issuer, "pds.example.com"), false)
            .expect("a third party accepts the document");
        let built = metadata(issuer, "pds.example.com");
        assert_eq!(checked.client_id, built.client_id);
        assert_eq!(checked.scope, built.scope);
        assert_eq!(checked.redirect_uris, built.redirect_uris);
        assert_eq!(checked.native, built.native);
        assert_eq!(checked.refresh_grant, built.refresh_grant);
        assert_eq!(checked.auth_method, built.auth_method);
        assert_eq!(checked.client_name, built.client_name);
        assert_eq!(checked.client_uri, built.client_uri);
    }

    #[test]
    fn every_scope_is_one_the_server_grants() {
        for token in SCOPE.split(' ') {
            assert!(is_known_scope(token), "{token}");
        }
    }
}
