//! OAuth clients: what a `client_id` may be, the client metadata document checked against the
//! atproto profile, the virtual metadata of a loopback (`http://localhost`) development client,
//! and how a requested `redirect_uri` matches a registered one.
//!
//! *Checks* (metadata): `client_id` equals the URL it was fetched from; `dpop_bound_access_tokens`
//! is true; `scope` includes `atproto`; grant and response types are the atproto ones; every
//! redirect URI fits the application type (https for web apps, loopback IPs or a reverse-domain
//! scheme for native apps); `private_key_jwt` comes with keys (`jwks` or `jwks_uri`, not both) and
//! a supported signing algorithm; native apps are public; `client_uri` is on the client's origin.
//! Display-only fields (`logo_uri`, `tos_uri`, `policy_uri`) that are not https are dropped, not
//! refused.
//!
//! *Does not:* fetch anything, or check `jwks_uri`'s keys (the caller fetches them).
//!
//! Spec: <https://atproto.com/specs/oauth#clients>; where it is silent, the reference provider's
//! `client-manager.ts` (bluesky-social/atproto `packages/oauth/oauth-provider`).

use serde_json::Value;

use super::grant::ATPROTO;
use super::jwk::{Jwk, parse_jwks};

/// The signing algorithms this server verifies (client assertions and DPoP proofs).
pub const SIGNING_ALGS: [&str; 2] = ["ES256", "ES256K"];

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ClientError(pub String);

fn bad(message: impl Into<String>) -> ClientError {
    ClientError(message.into())
}

/// How the client authenticates at the token endpoint.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum AuthMethod {
    /// A public client.
    None,
    /// A confidential client: a JWT signed with a key from its key set.
    PrivateKeyJwt,
}

impl AuthMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            AuthMethod::None => "none",
            AuthMethod::PrivateKeyJwt => "private_key_jwt",
        }
    }
}

/// A client's metadata, checked.
#[derive(Clone, Debug)]
pub struct ClientMetadata {
    pub client_id: String,
    /// `native` (true) or `web`.
    pub native: bool,
    pub scope: String,
    pub redirect_uris: Vec<String>,
    pub refresh_grant: bool,
    pub auth_method: AuthMethod,
    pub auth_alg: Option<String>,
    /// The keys of a confidential client given inline.
    pub jwks: Option<Vec<Jwk>>,
    pub jwks_uri: Option<String>,
    pub client_name: Option<String>,
    pub client_uri: Option<String>,
    pub logo_uri: Option<String>,
    pub tos_uri: Option<String>,
    pub policy_uri: Option<String>,
    /// The virtual document of an `http://localhost` client.
    pub loopback: bool,
}

impl ClientMetadata {
    pub fn confidential(&self) -> bool {
        self.auth_method == AuthMethod::PrivateKeyJwt
    }

    /// Whether every token of `requested` (space-separated) is declared in the metadata.
    pub fn declares_scopes(&self, requested: &str) -> Result<(), ClientError> {
        let declared: Vec<&str> = self.scope.split(' ').collect();
        match requested
            .split(' ')
            .filter(|s| !s.is_empty())
            .find(|s| !declared.contains(s))
        {
            Some(missing) => Err(bad(format!(
                "scope \"{missing}\" is not declared in the client metadata"
            ))),
            None => Ok(()),
        }
    }

    /// The registered redirect URI that `requested` matches, or the only one when none is given.
    pub fn redirect_uri(&self, requested: Option<&str>) -> Result<String, ClientError> {
        match requested {
            Some(uri) if self.redirect_uris.iter().any(|r| redirect_matches(r, uri)) => {
                Ok(uri.to_owned())
            }
            Some(uri) => Err(bad(format!("redirect_uri {uri} is not registered"))),
            None if self.redirect_uris.len() == 1 => Ok(self.redirect_uris[0].clone()),
            None => Err(bad("redirect_uri is required")),
        }
    }
}

/// What kind of `client_id` a string is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ClientIdKind {
    /// `http://localhost[?redirect_uri=…&scope=…]`: metadata is made up here, never fetched.
    Loopback,
    /// An https URL where the metadata document lives.
    Discoverable(url::Url),
}

fn is_ip_host(url: &url::Url) -> bool {
    matches!(
        url.host(),
        Some(url::Host::Ipv4(_)) | Some(url::Host::Ipv6(_))
    )
}

/// Names under the special-use or local top-level domains, and single labels: never valid for a
/// client in production.
pub fn is_local_hostname(host: &str) -> bool {
    let mut labels = host.rsplit('.');
    let tld = labels.next().unwrap_or_default().to_ascii_lowercase();
    labels.next().is_none()
        || matches!(
            tld.as_str(),
            "test" | "local" | "localhost" | "invalid" | "example" | "internal" | "arpa"
        )
}

/// Reads a `client_id`. `local_mode` (a node on loopback for development) also accepts a port
/// and a local host name on an https client id; production refuses both, as the spec does.
pub fn parse_client_id(text: &str, local_mode: bool) -> Result<ClientIdKind, ClientError> {
    if text.starts_with("http://localhost") {
        loopback_parts(text)?;
        return Ok(ClientIdKind::Loopback);
    }
    let url = url::Url::parse(text).map_err(|_| bad("client_id is not a URL"))?;
    if url.scheme() != "https" {
        return Err(bad(
            "client_id must be an https URL (or the http://localhost form)",
        ));
    }
    if url.as_str() != text {
        return Err(bad("client_id must be in canonical form"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(bad("client_id must not contain credentials"));
    }
    if url.fragment().is_some() {
        return Err(bad("client_id must not contain a fragment"));
    }
    if url.path() == "/" || url.path().ends_with('/') {
        return Err(bad("client_id must have a path that does not end with /"));
    }
    if is_ip_host(&url) {
        return Err(bad("client_id must not be an IP address"));
    }
    if !local_mode {
        if url.port().is_some() {
            return Err(bad("client_id must not contain a port"));
        }
        if is_local_hostname(url.host_str().unwrap_or_default()) {
            return Err(bad("client_id must be on a public host name"));
        }
    }
    Ok(ClientIdKind::Discoverable(url))
}

/// Where a client document (metadata or key set) at `url` is fetched from. A node in local mode
/// fetches the documents of a `*.localhost` name (RFC 6761 §6.3: such names are this machine)
/// over plain http from `127.0.0.1`, same port and path: a developer's confidential client on
/// their own machine needs no certificate for a conversation that never leaves it, while its
/// client id keeps the https form the spec and the client libraries require. Production never
/// gets here with such a name (`parse_client_id` refuses local names and ports), and every
/// other URL is fetched as it is.
pub fn document_url(url: &url::Url, local_mode: bool) -> url::Url {
    let on_this_machine = url
        .host_str()
        .is_some_and(|h| h.to_ascii_lowercase().ends_with(".localhost"));
    if !(local_mode && on_this_machine && url.scheme() == "https") {
        return url.clone();
    }
    let mut fetched = url.clone();
    // Both setters only fail for URLs that cannot have a host; this one has.
    let _ = fetched.set_scheme("http");
    let _ = fetched.set_host(Some("127.0.0.1"));
    if url.port().is_none() {
        let _ = fetched.set_port(Some(443));
    }
    fetched
}

/// The redirect URIs and scope of a loopback client id.
fn loopback_parts(text: &str) -> Result<(Vec<String>, String), ClientError> {
    let url = url::Url::parse(text).map_err(|_| bad("client_id is not a URL"))?;
    if url.scheme() != "http"
        || url.host_str() != Some("localhost")
        || url.port().is_some()
        || url.path() != "/"
        || url.fragment().is_some()
        || !url.username().is_empty()
        || url.password().is_some()
    {
        return Err(bad(
            "a loopback client_id is http://localhost with no port and no path",
        ));
    }
    let mut redirects = Vec::new();
    let mut scope = None;
    for (key, value) in url.query_pairs() {
        match key.as_ref() {
            "redirect_uri" => {
                let uri = url::Url::parse(&value).map_err(|_| bad("invalid redirect_uri"))?;
                if uri.scheme() != "http"
                    || !matches!(uri.host_str(), Some("127.0.0.1") | Some("[::1]"))
                {
                    return Err(bad(
                        "a loopback client's redirect_uri must be http://127.0.0.1 or http://[::1]",
                    ));
                }
                redirects.push(value.into_owned());
            }
            "scope" if scope.is_none() => scope = Some(value.into_owned()),
            "scope" => return Err(bad("scope may be given once")),
            other => return Err(bad(format!("unknown client_id parameter {other:?}"))),
        }
    }
    if redirects.is_empty() {
        redirects = vec!["http://127.0.0.1/".into(), "http://[::1]/".into()];
    }
    Ok((redirects, scope.unwrap_or_else(|| ATPROTO.to_owned())))
}

/// The virtual metadata of a loopback client id (a public native client).
pub fn loopback_metadata(client_id: &str) -> Result<ClientMetadata, ClientError> {
    let (redirect_uris, scope) = loopback_parts(client_id)?;
    if !scope.split(' ').any(|s| s == ATPROTO) {
        return Err(bad("scope must include \"atproto\""));
    }
    Ok(ClientMetadata {
        client_id: client_id.to_owned(),
        native: true,
        scope,
        redirect_uris,
        refresh_grant: true,
        auth_method: AuthMethod::None,
        auth_alg: None,
        jwks: None,
        jwks_uri: None,
        client_name: None,
        client_uri: None,
        logo_uri: None,
        tos_uri: None,
        policy_uri: None,
        loopback: true,
    })
}

fn strings(value: Option<&Value>, name: &str) -> Result<Vec<String>, ClientError> {
    match value {
        None => Ok(Vec::new()),
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| {
                v.as_str()
                    .map(str::to_owned)
                    .ok_or_else(|| bad(format!("{name} must be an array of strings")))
            })
            .collect(),
        Some(_) => Err(bad(format!("{name} must be an array of strings"))),
    }
}

fn optional_string(json: &Value, name: &str) -> Result<Option<String>, ClientError> {
    match json.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(bad(format!("{name} must be a string"))),
    }
}

fn https_only(uri: Option<String>) -> Option<String> {
    uri.filter(|u| url::Url::parse(u).is_ok_and(|p| p.scheme() == "https"))
}

fn no_duplicates(values: &[String], name: &str) -> Result<(), ClientError> {
    for (i, v) in values.iter().enumerate() {
        if values[i + 1..].contains(v) {
            return Err(bad(format!("duplicate {name} {v:?}")));
        }
    }
    Ok(())
}

/// Checks one redirect URI against the client's kind (see the module doc).
fn check_redirect(
    uri: &str,
    native: bool,
    client_host: Option<&str>,
    local_mode: bool,
) -> Result<(), ClientError> {
    let parsed =
        url::Url::parse(uri).map_err(|_| bad(format!("redirect_uri {uri} is not a URL")))?;
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(bad("redirect_uri must not contain credentials"));
    }
    match parsed.scheme() {
        "http" => {
            if !matches!(parsed.host_str(), Some("127.0.0.1") | Some("[::1]")) {
                return Err(bad(
                    "only loopback IP redirect URIs (127.0.0.1, [::1]) may use http",
                ));
            }
            if !native {
                return Err(bad("loopback redirect URIs are only for native apps"));
            }
        }
        "https" => {
            let host = parsed.host_str().unwrap_or_default();
            if !local_mode && (is_local_hostname(host) || is_ip_host(&parsed)) {
                return Err(bad(format!(
                    "redirect_uri {uri} must be on a public host name"
                )));
            }
        }
        scheme if scheme.contains('.') => {
            if !native {
                return Err(bad("custom-scheme redirect URIs are only for native apps"));
            }
            if let Some(host) = client_host {
                let reversed: Vec<&str> = host.split('.').rev().collect();
                if scheme != reversed.join(".") {
                    return Err(bad(format!(
                        "a custom redirect scheme must be the client's host reversed ({})",
                        reversed.join(".")
                    )));
                }
            }
            if !uri[scheme.len()..].starts_with(":/") || uri[scheme.len()..].starts_with("://") {
                return Err(bad("a custom-scheme redirect URI is scheme:/path"));
            }
        }
        other => return Err(bad(format!("redirect URI scheme {other:?} is not allowed"))),
    }
    Ok(())
}

/// Checks a fetched metadata document for `client_id` (see the module doc).
pub fn validate_metadata(
    client_id: &str,
    json: &Value,
    local_mode: bool,
) -> Result<ClientMetadata, ClientError> {
    if !json.is_object() {
        return Err(bad("client metadata must be a JSON object"));
    }
    if json.get("client_id").and_then(Value::as_str) != Some(client_id) {
        return Err(bad("client_id in the metadata does not match the URL"));
    }
    let client_url = url::Url::parse(client_id).map_err(|_| bad("client_id is not a URL"))?;
    let native = match optional_string(json, "application_type")?.as_deref() {
        None | Some("web") => false,
        Some("native") => true,
        Some(other) => return Err(bad(format!("application_type {other:?}"))),
    };
    if json
        .get("dpop_bound_access_tokens")
        .and_then(Value::as_bool)
        != Some(true)
    {
        return Err(bad("dpop_bound_access_tokens must be true"));
    }
    let scope = optional_string(json, "scope")?.ok_or_else(|| bad("scope is required"))?;
    let scopes: Vec<String> = scope.split(' ').map(str::to_owned).collect();
    if !scopes.iter().any(|s| s == ATPROTO) {
        return Err(bad("scope must include \"atproto\""));
    }
    no_duplicates(&scopes, "scope")?;
    let grants = strings(json.get("grant_types"), "grant_types")?;
    no_duplicates(&grants, "grant type")?;
    if let Some(g) = grants
        .iter()
        .find(|g| !matches!(g.as_str(), "authorization_code" | "refresh_token"))
    {
        return Err(bad(format!("grant type {g:?} is not supported")));
    }
    if !grants.iter().any(|g| g == "authorization_code") {
        return Err(bad("grant_types must include authorization_code"));
    }
    let responses = strings(json.get("response_types"), "response_types")?;
    if !responses.iter().any(|r| r == "code") {
        return Err(bad("response_types must include code"));
    }
    if let Some(subject) = optional_string(json, "subject_type")?
        && subject != "public"
    {
        return Err(bad("only the public subject_type is supported"));
    }
    let redirect_uris = strings(json.get("redirect_uris"), "redirect_uris")?;
    if redirect_uris.is_empty() {
        return Err(bad("at least one redirect_uri is required"));
    }
    for uri in &redirect_uris {
        check_redirect(uri, native, client_url.host_str(), local_mode)?;
    }
    let auth_method = match optional_string(json, "token_endpoint_auth_method")?.as_deref() {
        None | Some("none") => AuthMethod::None,
        Some("private_key_jwt") => AuthMethod::PrivateKeyJwt,
        Some(other) => {
            return Err(bad(format!(
                "token_endpoint_auth_method {other:?} is not supported"
            )));
        }
    };
    let auth_alg = optional_string(json, "token_endpoint_auth_signing_alg")?;
    let jwks_uri = optional_string(json, "jwks_uri")?;
    let jwks = match json.get("jwks") {
        None | Some(Value::Null) => None,
        Some(set) if auth_method == AuthMethod::PrivateKeyJwt => {
            Some(parse_jwks(set).map_err(|e| bad(e.to_string()))?)
        }
        Some(_) => None,
    };
    match auth_method {
        AuthMethod::None => {
            if auth_alg.is_some() {
                return Err(bad(
                    "token_endpoint_auth_signing_alg is not allowed for a public client",
                ));
            }
        }
        AuthMethod::PrivateKeyJwt => {
            if native {
                return Err(bad("native apps must be public clients"));
            }
            match auth_alg.as_deref() {
                Some(alg) if SIGNING_ALGS.contains(&alg) => {}
                Some(alg) => {
                    return Err(bad(format!(
                        "token_endpoint_auth_signing_alg {alg:?} is not supported"
                    )));
                }
                None => return Err(bad("token_endpoint_auth_signing_alg is required")),
            }
            match (&jwks, &jwks_uri) {
                (Some(_), Some(_)) => return Err(bad("jwks and jwks_uri are mutually exclusive")),
                (None, None) => return Err(bad("private_key_jwt needs jwks or jwks_uri")),
                (None, Some(uri)) => {
                    if !url::Url::parse(uri).is_ok_and(|u| u.scheme() == "https") {
                        return Err(bad("jwks_uri must be an https URL"));
                    }
                }
                (Some(_), None) => {}
            }
        }
    }
    let client_uri = optional_string(json, "client_uri")?;
    if let Some(uri) = &client_uri {
        let same_origin = url::Url::parse(uri).is_ok_and(|u| u.origin() == client_url.origin());
        if !same_origin {
            return Err(bad("client_uri must be on the same origin as client_id"));
        }
    }
    let client_name = optional_string(json, "client_name")?
        .map(|n| {
            n.chars()
                .filter(|c| !c.is_control())
                .take(100)
                .collect::<String>()
        })
        .filter(|n| !n.trim().is_empty());
    Ok(ClientMetadata {
        client_id: client_id.to_owned(),
        native,
        scope,
        redirect_uris,
        refresh_grant: grants.iter().any(|g| g == "refresh_token"),
        auth_method,
        auth_alg,
        jwks,
        jwks_uri,
        client_name,
        client_uri,
        logo_uri: https_only(optional_string(json, "logo_uri")?),
        tos_uri: https_only(optional_string(json, "tos_uri")?),
        policy_uri: https_only(optional_string(json, "policy_uri")?),
        loopback: false,
    })
}

/// Whether a requested redirect URI matches a registered one: exactly, except that a loopback IP
/// redirect ignores the port (the app picks a free one at run time).
pub fn redirect_matches(registered: &str, requested: &str) -> bool {
    if registered == requested {
        return true;
    }
    let (Ok(r), Ok(q)) = (url::Url::parse(registered), url::Url::parse(requested)) else {
        return false;
    };
    let loopback = |u: &url::Url| {
        u.scheme() == "http" && matches!(u.host_str(), Some("127.0.0.1") | Some("[::1]"))
    };
    loopback(&r)
        && loopback(&q)
        && r.host_str() == q.host_str()
        && r.path() == q.path()
        && r.query() == q.query()
        && q.fragment().is_none()
}

#[cfg(test)]
mod tests {
    #[test]
    fn localhost_documents_are_fetched_over_loopback_in_local_mode_only() {
        let url = url::Url::parse("https://app.localhost:8123/client-metadata.json").unwrap();
        assert_eq!(
            super::document_url(&url, true).as_str(),
            "http://127.0.0.1:8123/client-metadata.json"
        );
        assert_eq!(super::document_url(&url, false), url);
        let public = url::Url::parse("https://app.example.com/client-metadata.json").unwrap();
        assert_eq!(super::document_url(&public, true), public);
    }

    use super::*;

    #[test]
    fn loopback_client_ids() {
        let meta = loopback_metadata(
            "http://localhost?redirect_uri=http%3A%2F%2F127.0.0.1%2Fcallback&scope=atproto%20transition%3Ageneric",
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(meta.redirect_uris, vec!["http://127.0.0.1/callback"]);
        assert_eq!(meta.scope, "atproto transition:generic");
        assert!(meta.native && !meta.confidential());
        assert_eq!(
            meta.redirect_uri(Some("http://127.0.0.1:54321/callback"))
                .ok(),
            Some("http://127.0.0.1:54321/callback".to_owned())
        );
        assert!(
            meta.redirect_uri(Some("http://127.0.0.1:54321/other"))
                .is_err()
        );
        assert_eq!(
            loopback_metadata("http://localhost")
                .map(|m| m.redirect_uris.len())
                .ok(),
            Some(2)
        );
        for bad in [
            "http://localhost:8080",
            "http://localhost/path",
            "http://127.0.0.1",
            "http://localhost?redirect_uri=https%3A%2F%2Fevil.example%2F",
            "http://localhost?scope=transition%3Ageneric",
        ] {
            assert!(
                parse_client_id(bad, false).is_err() || loopback_metadata(bad).is_err(),
                "{bad}"
            );
        }
    }

    #[test]
    fn discoverable_client_ids_in_production_and_local_mode() {
        assert!(parse_client_id("https://app.example.com/client-metadata.json", false).is_ok());
        for bad in [
            "https://app.example.com/",
            "https://app.example.com/dir/",
            "https://app.example.com:8443/m.json",
            "https://203.0.113.5/m.json",
            "https://app.test/m.json",
            "http://app.example.com/m.json",
            "https://user@app.example.com/m.json",
            "https://app.example.com/a/../m.json",
        ] {
            assert!(parse_client_id(bad, false).is_err(), "{bad}");
        }
        assert!(parse_client_id("https://client.localhost:8443/m.json", true).is_ok());
    }

    fn statusphere() -> Value {
        serde_json::json!({"redirect_uris":["https://statusphere.mozzius.dev/oauth/callback"],"response_types":["code"],"grant_types":["authorization_code","refresh_token"],"scope":"atproto transition:generic","token_endpoint_auth_method":"none","application_type":"web","client_id":"https://statusphere.mozzius.dev/oauth-client-metadata.json","client_name":"Statusphere React App","client_uri":"https://statusphere.mozzius.dev","dpop_bound_access_tokens":true})
    }

    #[test]
    fn metadata_rules() {
        let id = "https://statusphere.mozzius.dev/oauth-client-metadata.json";
        let meta = validate_metadata(id, &statusphere(), false).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(meta.client_name.as_deref(), Some("Statusphere React App"));
        assert!(meta.refresh_grant && !meta.confidential());
        let refuse = |edit: &dyn Fn(&mut Value), why: &str| {
            let mut json = statusphere();
            edit(&mut json);
            assert!(
                validate_metadata(id, &json, false).is_err(),
                "accepted: {why}"
            );
        };
        refuse(&|j| j["dpop_bound_access_tokens"] = false.into(), "no DPoP");
        refuse(&|j| j["scope"] = "transition:generic".into(), "no atproto");
        refuse(
            &|j| j["client_id"] = "https://other.example/m.json".into(),
            "other id",
        );
        refuse(
            &|j| j["redirect_uris"] = serde_json::json!(["http://127.0.0.1/cb"]),
            "web loopback",
        );
        refuse(
            &|j| j["redirect_uris"] = serde_json::json!(["https://localhost/cb"]),
            "local host",
        );
        refuse(
            &|j| j["grant_types"] = serde_json::json!(["implicit"]),
            "implicit",
        );
        refuse(
            &|j| j["client_uri"] = "https://elsewhere.example".into(),
            "client_uri origin",
        );
        refuse(
            &|j| j["token_endpoint_auth_method"] = "private_key_jwt".into(),
            "no keys",
        );
        refuse(
            &|j| j["token_endpoint_auth_method"] = "client_secret_basic".into(),
            "secret",
        );
        refuse(
            &|j| j["scope"] = "atproto atproto".into(),
            "duplicate scope",
        );
    }

    #[test]
    fn native_custom_schemes_are_the_reversed_host() {
        let id = "https://app.example.com/client-metadata.json";
        let json = |uri: &str| {
            serde_json::json!({"client_id": id, "application_type": "native", "redirect_uris": [uri],
                "response_types": ["code"], "grant_types": ["authorization_code"], "scope": "atproto",
                "dpop_bound_access_tokens": true})
        };
        assert!(validate_metadata(id, &json("com.example.app:/callback"), false).is_ok());
        assert!(validate_metadata(id, &json("com.evil.app:/callback"), false).is_err());
        assert!(validate_metadata(id, &json("com.example.app://callback"), false).is_err());
    }
}
