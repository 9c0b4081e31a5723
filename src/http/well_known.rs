//! Plain HTTP endpoints: health, `/.well-known/atproto-did` for handle hosts, the server's own
//! `did.json` and `robots.txt`.
//!
//! Spec: <https://atproto.com/specs/handle#https-well-known-method>.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::AppState;
use crate::core::syntax::Did;

/// `/xrpc/_health`: 200 while the node works; 503 (as the reference answers when its database
/// fails) while the store cannot write, so a supervisor sees it.
pub async fn health(State(state): State<AppState>) -> Response {
    let version = env!("CARGO_PKG_VERSION");
    match state.pds.store_failure() {
        None => Json(json!({"version": version})).into_response(),
        Some(why) => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({"version": version, "error": "Service Unavailable", "message": why})),
        )
            .into_response(),
    }
}

fn text(status: StatusCode, body: String) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        body,
    )
        .into_response()
}

/// The DID of the handle named by the request's host (`Host`, or `:authority` over HTTP/2).
pub async fn atproto_did(State(state): State<AppState>, headers: HeaderMap, uri: Uri) -> Response {
    let host = super::handle_host::host_of(&headers, &uri).unwrap_or_default();
    let hosted = state
        .pds
        .config()
        .handle_domains
        .iter()
        .any(|d| host.ends_with(d.as_str()));
    if !hosted {
        return text(StatusCode::NOT_FOUND, "User not found".into());
    }
    match state.pds.local_handle(&host).await {
        Ok(Some((did, status))) if status.is_active() => text(StatusCode::OK, did),
        Ok(_) => text(StatusCode::NOT_FOUND, "User not found".into()),
        Err(e) => {
            tracing::error!(error = %e, "well-known lookup failed");
            text(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Internal Server Error".into(),
            )
        }
    }
}

/// The did:web document of a did:web account when the request is for its handle's host, else
/// this server's own document.
pub async fn did_json(State(state): State<AppState>, headers: HeaderMap, uri: Uri) -> Json<Value> {
    let host = super::handle_host::host_of(&headers, &uri).unwrap_or_default();
    let hosted = match Did::parse(&format!("did:web:{host}")) {
        Ok(did) => state.pds.hosted_web_document(&did).await,
        Err(_) => None,
    };
    if let Some(document) = hosted.and_then(|d| serde_json::to_value(d).ok()) {
        return Json(document);
    }
    let config = state.pds.config();
    Json(json!({
        "@context": ["https://www.w3.org/ns/did/v1"],
        "id": config.service_did.as_str(),
        "service": [
            {
                "id": "#atproto_pds",
                "type": "AtprotoPersonalDataServer",
                "serviceEndpoint": config.public_url,
            },
            {
                "id": "#bsky_appview",
                "type": "BskyAppView",
                "serviceEndpoint": config.public_url,
            },
            {
                "id": "#bsky_fg",
                "type": "BskyFeedGenerator",
                "serviceEndpoint": config.public_url,
            },
        ],
    }))
}

pub async fn robots() -> Response {
    text(
        StatusCode::OK,
        "# Hello!\n\n# Crawling the public API is allowed\nUser-agent: *\nAllow: /\n".into(),
    )
}
