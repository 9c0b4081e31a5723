//! `app.bsky.*` calls the PDS answers itself (preferences), the gate that sends App View calls to
//! the built-in App View or to another one, and the proxy for everything this server does not
//! serve.

use axum::Json;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};

use super::AppState;
use super::auth::AccessAuth;
use super::xrpc::{XrpcError, XrpcJson};
use crate::pds::{AccessScope, Call, ProxyRequest};

/// Largest body passed on to a proxied procedure.
const MAX_PROXY_BODY: usize = 5 * 1024 * 1024;

pub async fn get_preferences(
    State(state): State<AppState>,
    AccessAuth(auth): AccessAuth,
) -> Result<Json<Value>, XrpcError> {
    let preferences = state
        .pds
        .get_preferences(&auth.did, auth.scope == AccessScope::Full)
        .await?;
    Ok(Json(json!({"preferences": preferences})))
}

#[derive(Deserialize)]
pub struct PutPreferencesInput {
    preferences: Vec<Value>,
}

pub async fn put_preferences(
    State(state): State<AppState>,
    AccessAuth(auth): AccessAuth,
    XrpcJson(input): XrpcJson<PutPreferencesInput>,
) -> Result<(), XrpcError> {
    state
        .pds
        .put_preferences(
            &auth.did,
            input.preferences,
            auth.scope == AccessScope::Full,
        )
        .await?;
    Ok(())
}

/// Whether a call goes to another App View: the caller names one with `atproto-proxy`, or the
/// operator configured one with `--appview`. The built-in App View is `<service DID>#bsky_appview`.
fn proxied_elsewhere(state: &AppState, proxy_header: Option<&str>) -> bool {
    let own = format!("{}#bsky_appview", state.appview.config().service_did);
    match proxy_header {
        Some(header) => header != own,
        None => state
            .pds
            .config()
            .appview
            .as_ref()
            .is_some_and(|a| a.did_ref != own),
    }
}

/// In front of the built-in App View's routes: calls meant for another service are proxied.
pub async fn appview_gate(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let header = request
        .headers()
        .get("atproto-proxy")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    if proxied_elsewhere(&state, header.as_deref()) {
        return match proxy(State(state), request).await {
            Ok(response) => response,
            Err(e) => e.into_response(),
        };
    }
    next.run(request).await
}

/// In front of methods this node answers as its own service (`createReport`: skyhold is its own
/// moderation service): a call whose `atproto-proxy` names another service DID is proxied there,
/// as the reference PDS does; no header, or this node's service DID with any service id, is
/// answered here.
pub async fn own_service_gate(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let elsewhere = request
        .headers()
        .get("atproto-proxy")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|header| {
            let did = header.split_once('#').map_or(header, |(did, _)| did);
            did != state.pds.config().service_did.as_str()
        });
    if elsewhere {
        return match proxy(State(state), request).await {
            Ok(response) => response,
            Err(e) => e.into_response(),
        };
    }
    next.run(request).await
}

/// Any `/xrpc/<nsid>` this server does not implement: proxied to the service the caller names (or
/// the configured App View), as the reference PDS does.
pub async fn proxy(State(state): State<AppState>, request: Request) -> Result<Response, XrpcError> {
    let method = request.method().clone();
    if method != Method::GET && method != Method::HEAD && method != Method::POST {
        return Err(XrpcError::invalid_request(
            "XRPC requests only supports GET and POST",
        ));
    }
    let nsid = request
        .uri()
        .path()
        .strip_prefix("/xrpc/")
        .unwrap_or_default()
        .to_owned();
    if crate::core::syntax::Nsid::parse(&nsid).is_err() {
        return Err(XrpcError::invalid_request("invalid xrpc path"));
    }
    let proxy_header = request
        .headers()
        .get("atproto-proxy")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    if !proxied_elsewhere(&state, proxy_header.as_deref()) {
        // The built-in App View is the target and does not serve this method.
        return Err(XrpcError::new(
            StatusCode::NOT_IMPLEMENTED,
            "MethodNotImplemented",
            "Method Not Implemented",
        ));
    }
    let (parts, body) = request.into_parts();
    let caller = super::auth::authenticate(
        &parts,
        &state,
        Call::Proxied(&nsid),
        proxy_header.as_deref(),
    )
    .await?;
    let body = axum::body::to_bytes(body, MAX_PROXY_BODY)
        .await
        .map_err(|_| {
            XrpcError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "PayloadTooLarge",
                "request entity too large",
            )
        })?;
    let headers = parts
        .headers
        .iter()
        .filter_map(|(n, v)| Some((n.as_str().to_owned(), v.to_str().ok()?.to_owned())))
        .collect();
    let response = state
        .pds
        .proxy(
            &caller,
            ProxyRequest {
                nsid,
                post: method == Method::POST,
                query: parts.uri.query().map(str::to_owned),
                proxy_header,
                headers,
                body,
            },
        )
        .await?;
    let mut out = Body::from(response.body).into_response();
    *out.status_mut() = StatusCode::from_u16(response.status).unwrap_or(StatusCode::BAD_GATEWAY);
    for (name, value) in response.headers {
        if let (Ok(name), Ok(value)) = (
            header::HeaderName::try_from(name.as_str()),
            header::HeaderValue::try_from(value.as_str()),
        ) {
            out.headers_mut().insert(name, value);
        }
    }
    Ok(out)
}
