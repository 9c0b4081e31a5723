//! The web UI's routes: versioned assets, and the HTML shell for every client route (with the
//! meta tags of public profiles and posts, read from the App View as a signed-out viewer).
//!
//! Assets: strong ETags, gzip or brotli bodies made once (at a file's first request), a year of
//! caching for the current version's URLs. Pages: `no-cache`, a strict Content-Security-Policy, and headers that
//! forbid framing and sniffing. `/xrpc/*`, `/.well-known/*`, `/plc/*`, `/oauth/*` and `/admin/*`
//! never fall through to the UI.

use std::io::Write;

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};

use super::AppState;
use crate::appview::{AppviewError, ProfileParams, UrisParams};
use crate::web::{CLIENT_ROUTES, Encoding, Meta, Page};

/// Path prefixes that belong to the protocol, never to the UI.
const RESERVED: &[&str] = &["xrpc", ".well-known", "plc", "oauth", "admin", "assets"];
/// The page that moves an account in, signing in to its old server from the browser.
const MOVE_IN: &str = "move-in";
/// A year: assets under the current version's prefix never change.
const IMMUTABLE: &str = "public, max-age=31536000, immutable";

fn accept_encoding(headers: &HeaderMap) -> Encoding {
    Encoding::negotiate(
        headers
            .get(header::ACCEPT_ENCODING)
            .and_then(|v| v.to_str().ok()),
    )
}

/// Whether `If-None-Match` names `etag` (or `*`); weak tags compare equal to strong ones.
fn not_modified(headers: &HeaderMap, etag: &str) -> bool {
    headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|list| {
            list.split(',')
                .map(|t| t.trim().trim_start_matches("W/"))
                .any(|t| t == etag || t == "*")
        })
}

/// `GET /assets/{version}/{*path}`.
pub async fn asset(
    State(state): State<AppState>,
    Path((version, path)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    let Some(asset) = state.web.asset(&path) else {
        return (StatusCode::NOT_FOUND, "Not Found").into_response();
    };
    if !asset.compressed() {
        let compressing = asset.clone();
        // A join error leaves the file uncompressed: it is then served as it is.
        let _ = tokio::task::spawn_blocking(move || compressing.compress()).await;
    }
    let (body, encoding, etag) = asset.variant(accept_encoding(&headers));
    // An old page asking for an old version gets today's file, revalidated every time.
    let cache = if version == state.web.version() {
        IMMUTABLE
    } else {
        "no-cache"
    };
    let mut response = if not_modified(&headers, &etag) {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        let mut response = Body::from(body).into_response();
        let out = response.headers_mut();
        out.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static(asset.content_type),
        );
        if let Some(encoding) = encoding {
            out.insert(header::CONTENT_ENCODING, HeaderValue::from_static(encoding));
        }
        response
    };
    let out = response.headers_mut();
    out.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    out.insert(header::VARY, HeaderValue::from_static("Accept-Encoding"));
    out.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    if let Ok(etag) = HeaderValue::from_str(&etag) {
        out.insert(header::ETAG, etag);
    }
    response
}

/// The shell for `page`, with the security headers every page carries.
fn page(state: &AppState, status: StatusCode, page: &Page, headers: &HeaderMap) -> Response {
    let html = state.web.render(page);
    let gzip = accept_encoding(headers) != Encoding::Identity;
    let (body, encoding) = match gzip.then(|| gzip_fast(html.as_bytes())).flatten() {
        Some(compressed) => (compressed, Some("gzip")),
        None => (html.into_bytes(), None),
    };
    let mut response = (status, body).into_response();
    let out = response.headers_mut();
    out.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    if let Some(encoding) = encoding {
        out.insert(header::CONTENT_ENCODING, HeaderValue::from_static(encoding));
    }
    out.insert(header::VARY, HeaderValue::from_static("Accept-Encoding"));
    out.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    if let Ok(csp) = HeaderValue::from_str(state.web.content_security_policy(page)) {
        out.insert(header::CONTENT_SECURITY_POLICY, csp);
    }
    out.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    out.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    out.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    out.insert(
        "permissions-policy",
        HeaderValue::from_static("camera=(), microphone=(), geolocation=(), interest-cohort=()"),
    );
    out.insert(
        "cross-origin-opener-policy",
        HeaderValue::from_static("same-origin"),
    );
    response
}

/// Pages are a few KB and differ by route: compressed per request at a fast level.
fn gzip_fast(data: &[u8]) -> Option<Vec<u8>> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder.write_all(data).ok()?;
    encoder.finish().ok()
}

/// `GET /`, `/invite/CODE` and every other client route without server-side data.
pub async fn shell(State(state): State<AppState>, uri: Uri, headers: HeaderMap) -> Response {
    let first = uri
        .path()
        .trim_start_matches('/')
        .split('/')
        .next()
        .unwrap_or_default();
    if RESERVED.contains(&first) {
        return (StatusCode::NOT_FOUND, "Not Found").into_response();
    }
    let status = if CLIENT_ROUTES.contains(&first) {
        StatusCode::OK
    } else {
        StatusCode::NOT_FOUND
    };
    let shell = Page {
        remote_connect: first == MOVE_IN,
        ..Page::default()
    };
    page(&state, status, &shell, &headers)
}

/// `GET /{segment}`: a did:plc document when the embedded directory is asked at the root (as
/// the reference directory answers), otherwise a client route such as `/search`.
pub async fn root_segment(
    state: State<AppState>,
    Path(segment): Path<String>,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    if segment.starts_with("did:plc:") {
        return super::plc::root_document(state, Path(segment)).await;
    }
    shell(state, uri, headers).await
}

/// Whether a view failed because the account or post does not exist.
fn status_of(error: &AppviewError) -> StatusCode {
    match error {
        AppviewError::InvalidRequest(_) | AppviewError::Named { .. } => StatusCode::NOT_FOUND,
        _ => StatusCode::OK,
    }
}

/// `GET /profile/{actor}`: the shell with the profile's meta tags.
pub async fn profile(
    State(state): State<AppState>,
    Path(actor): Path<String>,
    headers: HeaderMap,
) -> Response {
    let view = state
        .appview
        .get_profile(None, ProfileParams { actor })
        .await;
    let (status, meta) = match view {
        Ok(view) => (
            StatusCode::OK,
            Meta::profile(&view, &state.pds.config().public_url),
        ),
        Err(e) => (status_of(&e), None),
    };
    let shell = Page {
        meta,
        ..Page::default()
    };
    page(&state, status, &shell, &headers)
}

/// `GET /profile/{actor}/post/{rkey}`: the shell with the post's meta tags.
pub async fn post(
    State(state): State<AppState>,
    Path((actor, rkey)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    let profile = state
        .appview
        .get_profile(None, ProfileParams { actor })
        .await;
    let did = match &profile {
        Ok(view) => view["did"].as_str().unwrap_or_default().to_owned(),
        Err(e) => return page(&state, status_of(e), &Page::default(), &headers),
    };
    let uri = format!("at://{did}/app.bsky.feed.post/{rkey}");
    let posts = state
        .appview
        .get_posts(None, UrisParams { uris: vec![uri] })
        .await;
    let post = posts.ok().and_then(|p| p["posts"].get(0).cloned());
    let (status, meta) = match post {
        Some(post) => (
            StatusCode::OK,
            Meta::post(&post, &state.pds.config().public_url),
        ),
        None => (StatusCode::NOT_FOUND, None),
    };
    let shell = Page {
        meta,
        ..Page::default()
    };
    page(&state, status, &shell, &headers)
}
