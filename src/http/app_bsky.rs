//! `app.bsky.*` calls the PDS answers itself (preferences), and the proxy for everything it does not
//! serve.

use axum::Json;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};

use super::AppState;
use super::auth::AccessAuth;
use super::xrpc::{XrpcError, XrpcJson};
use crate::pds::{AccessScope, ProxyRequest};

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
    if proxy_header.is_none() && state.pds.config().appview.is_none() {
        return Err(XrpcError::invalid_request(format!(
            "No service configured for {nsid}"
        )));
    }
    let (mut parts, body) = request.into_parts();
    let AccessAuth(caller) =
        <AccessAuth as axum::extract::FromRequestParts<AppState>>::from_request_parts(
            &mut parts, &state,
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
