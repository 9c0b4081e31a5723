//! The plain-HTTP listener of a TLS node (port 80): it answers ACME HTTP-01 challenges
//! (RFC 8555 §8.3, `/.well-known/acme-challenge/<token>`) and redirects every other request to
//! HTTPS, keeping the host when it is ours (the main hostname or a handle host) and the path.

use axum::Router;
use axum::extract::{Path, Request, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use super::handle_host::{is_handle_host, request_host, strip_port};
use crate::tls::Tls;

/// What the port-80 router needs.
#[derive(Clone)]
pub struct RedirectState {
    pub tls: Tls,
    /// The main public URL (`https://host[:port]`), without a trailing slash.
    pub public_url: String,
    pub handle_domains: Vec<String>,
}

/// The router of the plain-HTTP listener.
pub fn router(state: RedirectState) -> Router {
    Router::new()
        .route("/.well-known/acme-challenge/{token}", get(http01))
        .fallback(to_https)
        .with_state(state)
}

async fn http01(State(state): State<RedirectState>, Path(token): Path<String>) -> Response {
    match state.tls.http01(&token) {
        Some(key_authorization) => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "application/octet-stream")],
            key_authorization,
        )
            .into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

async fn to_https(State(state): State<RedirectState>, request: Request) -> Response {
    let authority = state
        .public_url
        .strip_prefix("https://")
        .unwrap_or(&state.public_url);
    let main_host = strip_port(authority);
    let port = &authority[main_host.len()..];
    let host = request_host(&request)
        .filter(|h| h == main_host || is_handle_host(h, main_host, &state.handle_domains))
        .unwrap_or_else(|| main_host.to_owned());
    let path = request.uri().path_and_query().map_or("/", |p| p.as_str());
    (
        StatusCode::PERMANENT_REDIRECT,
        [(header::LOCATION, format!("https://{host}{port}{path}"))],
    )
        .into_response()
}
