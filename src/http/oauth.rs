//! The OAuth endpoints: the two metadata documents, PAR, the authorization page (sign-in and
//! consent in one form, see `oauth_page`), token and revocation. Errors are OAuth's
//! `{"error", "error_description"}`, not XRPC's; every PAR and token answer carries a fresh
//! `DPoP-Nonce`.
//!
//! Spec: <https://atproto.com/specs/oauth>, RFC 8414 (server metadata), RFC 9728 (resource
//! metadata), RFC 9126 (PAR), RFC 9449 (DPoP), RFC 7009 (revocation).

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::AppState;
use super::oauth_page;
use crate::pds::{OAuthError, OAuthParams};

/// Algorithms accepted for DPoP proofs and client assertions.
const SIGNING_ALGS: [&str; 2] = ["ES256", "ES256K"];

fn nonce_header(state: &AppState) -> (header::HeaderName, HeaderValue) {
    let nonce =
        HeaderValue::from_str(&state.pds.oauth_nonce()).unwrap_or(HeaderValue::from_static(""));
    (header::HeaderName::from_static("dpop-nonce"), nonce)
}

/// An OAuth error answer (with a nonce, so a client can retry at once).
fn oauth_error(state: &AppState, e: OAuthError) -> Response {
    let status = StatusCode::from_u16(e.status).unwrap_or(StatusCode::BAD_REQUEST);
    let mut response = (
        status,
        [
            nonce_header(state),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
        ],
        Json(json!({"error": e.error, "error_description": e.description})),
    )
        .into_response();
    if e.error == "use_dpop_nonce" {
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("DPoP error=\"use_dpop_nonce\""),
        );
    }
    response
}

/// `/.well-known/oauth-protected-resource` (RFC 9728).
pub async fn protected_resource(State(state): State<AppState>) -> Response {
    let issuer = state.pds.oauth_issuer();
    Json(json!({
        "resource": issuer,
        "authorization_servers": [issuer],
        "scopes_supported": [],
        "bearer_methods_supported": ["header"],
        "resource_documentation": "https://atproto.com",
    }))
    .into_response()
}

/// `/.well-known/oauth-authorization-server` (RFC 8414 and the atproto profile).
pub async fn authorization_server(State(state): State<AppState>) -> Response {
    let issuer = state.pds.oauth_issuer();
    Json(json!({
        "issuer": issuer,
        "scopes_supported": ["atproto", "transition:generic", "transition:chat.bsky", "transition:email"],
        "subject_types_supported": ["public"],
        "response_types_supported": ["code"],
        "response_modes_supported": ["query", "fragment"],
        "grant_types_supported": ["authorization_code", "refresh_token"],
        "code_challenge_methods_supported": ["S256"],
        "ui_locales_supported": ["en-US"],
        "display_values_supported": ["page", "touch"],
        "request_parameter_supported": false,
        "request_uri_parameter_supported": true,
        "require_request_uri_registration": true,
        "authorization_response_iss_parameter_supported": true,
        "jwks_uri": format!("{issuer}/oauth/jwks"),
        "authorization_endpoint": format!("{issuer}/oauth/authorize"),
        "token_endpoint": format!("{issuer}/oauth/token"),
        "token_endpoint_auth_methods_supported": ["none", "private_key_jwt"],
        "token_endpoint_auth_signing_alg_values_supported": SIGNING_ALGS,
        "revocation_endpoint": format!("{issuer}/oauth/revoke"),
        "pushed_authorization_request_endpoint": format!("{issuer}/oauth/par"),
        "require_pushed_authorization_requests": true,
        "dpop_signing_alg_values_supported": SIGNING_ALGS,
        "protected_resources": [issuer],
        "client_id_metadata_document_supported": true,
    }))
    .into_response()
}

/// `/oauth/client-metadata.json`: the client metadata document of the node's own web UI, the
/// same for whoever fetches it (`pds::oauth::web_client`).
pub async fn web_client_metadata(State(state): State<AppState>) -> Response {
    (
        [(
            header::CACHE_CONTROL,
            HeaderValue::from_static("public, max-age=600"),
        )],
        Json(state.pds.oauth_web_client_document()),
    )
        .into_response()
}

/// `/oauth/jwks`: the server signs its tokens with a symmetric key, so it publishes no keys.
pub async fn jwks() -> Response {
    Json(json!({"keys": []})).into_response()
}

/// Reads form fields (`application/x-www-form-urlencoded`, or a JSON object of strings).
fn params(headers: &HeaderMap, body: &[u8]) -> Result<OAuthParams, OAuthError> {
    let json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| t.starts_with("application/json"));
    if json {
        let value: serde_json::Map<String, serde_json::Value> = serde_json::from_slice(body)
            .map_err(|_| OAuthError::new(400, "invalid_request", "body is not a JSON object"))?;
        Ok(value
            .into_iter()
            .filter_map(|(k, v)| v.as_str().map(|s| (k, s.to_owned())))
            .collect())
    } else {
        Ok(url::form_urlencoded::parse(body).into_owned().collect())
    }
}

fn dpop_header(headers: &HeaderMap) -> Option<&str> {
    headers.get("dpop").and_then(|v| v.to_str().ok())
}

/// `POST /oauth/par`.
pub async fn par(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let result = async {
        let dpop = state
            .pds
            .oauth_check_dpop(dpop_header(&headers), "POST", "/oauth/par", None)?;
        let params = params(&headers, &body)?;
        state.pds.oauth_par(params, &dpop).await
    }
    .await;
    match result {
        Ok((request_uri, expires_in)) => (
            StatusCode::CREATED,
            [
                nonce_header(&state),
                (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
            ],
            Json(json!({"request_uri": request_uri, "expires_in": expires_in})),
        )
            .into_response(),
        Err(e) => oauth_error(&state, e),
    }
}

/// `POST /oauth/token`.
pub async fn token(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let result = async {
        let dpop =
            state
                .pds
                .oauth_check_dpop(dpop_header(&headers), "POST", "/oauth/token", None)?;
        let params = params(&headers, &body)?;
        state.pds.oauth_token(params, &dpop).await
    }
    .await;
    match result {
        Ok(tokens) => (
            [
                nonce_header(&state),
                (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
            ],
            Json(tokens),
        )
            .into_response(),
        Err(e) => oauth_error(&state, e),
    }
}

/// `POST /oauth/revoke`: 200 whether or not the token was known (RFC 7009 §2.2).
pub async fn revoke(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let result = async {
        let params = params(&headers, &body)?;
        state.pds.oauth_revoke(params).await
    }
    .await;
    match result {
        Ok(()) => ([nonce_header(&state)], Json(json!({}))).into_response(),
        Err(e) => oauth_error(&state, e),
    }
}

/// `GET /oauth/authorize?client_id=…&request_uri=…[&account=…]`: the sign-in and consent page.
/// A browser that signed in here before gets the account chooser first, unless the app named
/// the account (`login_hint`) or one was chosen (`account`, empty for another account).
pub async fn authorize_page(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(query): Query<std::collections::HashMap<String, String>>,
) -> Response {
    let client_id = query
        .get("client_id")
        .map(String::as_str)
        .unwrap_or_default();
    let request_uri = query
        .get("request_uri")
        .map(String::as_str)
        .unwrap_or_default();
    let mut view = match state.pds.oauth_authorization(client_id, request_uri).await {
        Ok(view) => view,
        Err(e) => return oauth_page::error(&e.description),
    };
    // The page shows the logo only when the node has it to serve (fetched once, then cached).
    if view.logo_uri.is_some() && state.pds.oauth_client_logo(client_id).await.is_none() {
        view.logo_uri = None;
    }
    let mut choices = Vec::new();
    match query.get("account") {
        Some(chosen) => view.login_hint = Some(chosen.clone()).filter(|c| !c.is_empty()),
        None if view.login_hint.is_none() => {
            let remembered = oauth_page::remembered_accounts(&headers);
            match state.pds.oauth_known_accounts(&remembered).await {
                Ok(known) => choices = known.into_iter().map(|(_, handle)| handle).collect(),
                Err(e) => return oauth_page::error(&e.description),
            }
        }
        None => {}
    }
    oauth_page::consent(&view, None, state.pds.oauth_issuer(), &choices)
}

/// `GET /oauth/client-logo?client_id=…`: the app's logo, fetched by the node and served from its
/// own origin (the sign-in page and the web UI load no other origin); 404 when the app has no
/// logo that can be shown, so the page shows its initial instead.
pub async fn client_logo(
    State(state): State<AppState>,
    Query(query): Query<std::collections::HashMap<String, String>>,
) -> Response {
    let Some(client_id) = query.get("client_id").filter(|c| !c.is_empty()) else {
        return (StatusCode::BAD_REQUEST, "client_id is required").into_response();
    };
    let Some(logo) = state.pds.oauth_client_logo(client_id).await else {
        return (StatusCode::NOT_FOUND, "no logo").into_response();
    };
    let mut response = logo.bytes.clone().into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(logo.content_type),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    // As long as the node keeps the app's metadata (10 minutes).
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=600"),
    );
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; sandbox"),
    );
    response
}

/// `POST /oauth/authorize`: the form of the page, sign-in and decision together.
pub async fn authorize_submit(
    State(state): State<AppState>,
    extensions: axum::http::Extensions,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let form: OAuthParams = url::form_urlencoded::parse(&body).into_owned().collect();
    let field = |name: &str| form.get(name).map(String::as_str).unwrap_or_default();
    if let Err(why) = oauth_page::check_csrf(&headers, field("csrf"), state.pds.oauth_issuer()) {
        return oauth_page::error(why);
    }
    let (client_id, request_uri) = (field("client_id"), field("request_uri"));
    let outcome = if field("decision") == "deny" {
        state
            .pds
            .oauth_deny(client_id, request_uri)
            .await
            .map(|location| Ok((location, None)))
    } else if let Err(e) = super::limits::spend_for_login(&state, &extensions, field("identifier"))
    {
        // The same budget as createSession: the page is no way around its limit.
        return oauth_page::too_many(&e.message);
    } else {
        state
            .pds
            .oauth_approve(
                client_id,
                request_uri,
                field("identifier"),
                field("password"),
            )
            .await
            .map(|outcome| outcome.map(|(location, did)| (location, Some(did))))
    };
    match outcome {
        Ok(Ok((location, Some(did)))) => {
            let remember = oauth_page::remember_account(&headers, &did, state.pds.oauth_issuer());
            oauth_page::redirect(&location, Some(remember))
        }
        Ok(Ok((location, None))) => oauth_page::redirect(&location, None),
        Ok(Err(message)) => match state.pds.oauth_authorization(client_id, request_uri).await {
            Ok(mut view) => {
                view.login_hint = Some(field("identifier").to_owned());
                oauth_page::consent(&view, Some(&message), state.pds.oauth_issuer(), &[])
            }
            Err(e) => oauth_page::error(&e.description),
        },
        Err(e) => oauth_page::error(&e.description),
    }
}
