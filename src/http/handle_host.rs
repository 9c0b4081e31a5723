//! Host-based routing for handle hosts: a request whose `Host` is a handle under one of our handle
//! domains (`alice.example.com`), not the main hostname, may fetch only `/.well-known/atproto-did`
//! (the HTTPS handle-resolution method) and `/.well-known/did.json` (the document of a did:web
//! account); anything else is redirected to the same path on the main hostname, so each handle
//! host does not become a second copy of the server.
//!
//! Spec: <https://atproto.com/specs/handle#https-well-known-method>.

use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::AppState;

/// The only paths a handle host serves.
const HANDLE_HOST_PATHS: [&str; 2] = ["/.well-known/atproto-did", "/.well-known/did.json"];

/// The request's host name, lowercased, without a port: `Host`, or the URI authority (HTTP/2
/// sends `:authority` instead of `Host`).
pub fn host_of(headers: &HeaderMap, uri: &Uri) -> Option<String> {
    let raw = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .or_else(|| uri.authority().map(|a| a.as_str()))?;
    Some(strip_port(raw).to_ascii_lowercase())
}

/// [`host_of`] for a whole request.
pub fn request_host(request: &Request) -> Option<String> {
    host_of(request.headers(), request.uri())
}

/// `example.com:443` → `example.com`; `[::1]:80` → `[::1]`.
pub fn strip_port(host: &str) -> &str {
    if host.starts_with('[') {
        return host.split_inclusive(']').next().unwrap_or(host);
    }
    host.split(':').next().unwrap_or(host)
}

/// Whether `host` is a handle host: under a handle domain and not the main hostname.
pub fn is_handle_host(host: &str, main_host: &str, handle_domains: &[String]) -> bool {
    host != main_host && handle_domains.iter().any(|d| host.ends_with(d.as_str()))
}

/// The redirect target: the same path and query on the main public URL.
fn on_main_host(public_url: &str, uri: &Uri) -> String {
    let path = uri.path_and_query().map_or("/", |p| p.as_str());
    format!("{public_url}{path}")
}

pub async fn route(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let config = state.pds.config();
    let main_host = strip_port(&config.hostname);
    let Some(host) = request_host(&request) else {
        return next.run(request).await;
    };
    if !is_handle_host(&host, main_host, &config.handle_domains)
        || HANDLE_HOST_PATHS.contains(&request.uri().path())
    {
        return next.run(request).await;
    }
    let location = on_main_host(&config.public_url, request.uri());
    (
        StatusCode::PERMANENT_REDIRECT,
        [(header::LOCATION, location)],
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handle_hosts_are_under_a_handle_domain_but_not_the_main_host() {
        let domains = vec![".example.com".to_owned()];
        assert!(is_handle_host("alice.example.com", "example.com", &domains));
        assert!(!is_handle_host("example.com", "example.com", &domains));
        assert!(!is_handle_host(
            "pds.example.com",
            "pds.example.com",
            &domains
        ));
        assert!(!is_handle_host("other.org", "example.com", &domains));
        assert_eq!(strip_port("Alice.Example.com:8443"), "Alice.Example.com");
        assert_eq!(strip_port("[::1]:80"), "[::1]");
        let uri: Uri = "/xrpc/_health?x=1".parse().unwrap();
        assert_eq!(
            on_main_host("https://example.com", &uri),
            "https://example.com/xrpc/_health?x=1"
        );
    }
}
