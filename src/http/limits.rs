//! Which rate limits each XRPC call spends, and the answers they give: `429 RateLimitExceeded` with
//! the headers the reference PDS sends (`RateLimit-Limit`, `RateLimit-Remaining`, `RateLimit-Reset`
//! in seconds since the epoch, `RateLimit-Policy` as `<points>;w=<seconds>`, and `Retry-After` on a
//! refusal), the same headers on answers that spent a limit, all exposed to browsers.
//!
//! Three places spend, as soon as each key is known: [`rate_limit`] (every XRPC call, keyed by the
//! client's address: the global limit and [`ADDRESS_LIMITS`]), the `AccessAuth` extractor
//! ([`spend_for_account`]: [`ACCOUNT_LIMITS`], keyed by the caller's DID), and the handlers of
//! createSession (identifier and address) and repo writes (points per operation).
//! The limits themselves and their numbers are `crate::ratelimit`'s.

use std::sync::{Arc, Mutex};

use axum::extract::{Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::AppState;
use super::forwarded::Client;
use super::xrpc::XrpcError;
use crate::ratelimit::{Exceeded, LimitId, RateLimits, Status, address_key};

/// Limits spent per call of a method, keyed by the client's address.
const ADDRESS_LIMITS: &[(&str, &[LimitId])] = &[
    ("com.atproto.server.createAccount", &[LimitId::Signup]),
    (
        "com.atproto.server.requestPasswordReset",
        &[LimitId::PasswordResetHour, LimitId::PasswordResetDay],
    ),
    (
        "com.atproto.server.resetPassword",
        &[LimitId::ResetPassword],
    ),
    (
        "com.atproto.server.deleteAccount",
        &[LimitId::DeleteAccount],
    ),
    ("com.atproto.repo.uploadBlob", &[LimitId::BlobDay]),
    ("com.atproto.sync.getRepo", &[LimitId::SyncGetRepo]),
];

/// Limits spent per call of a method, keyed by the caller's account.
const ACCOUNT_LIMITS: &[(&str, &[LimitId])] = &[
    (
        "com.atproto.identity.updateHandle",
        &[LimitId::Handle5m, LimitId::HandleDay],
    ),
    (
        "com.atproto.server.requestEmailUpdate",
        &[LimitId::EmailHour, LimitId::EmailDay],
    ),
    (
        "com.atproto.server.requestEmailConfirmation",
        &[LimitId::EmailHour, LimitId::EmailDay],
    ),
    (
        "com.atproto.server.requestAccountDelete",
        &[LimitId::AccountDeleteDay],
    ),
];

/// Calls outside the global limit: the health check, and `sync.getRepo` (a relay's backfill
/// path, with its own limit, as the reference).
const OUTSIDE_GLOBAL: &[&str] = &["_health", "com.atproto.sync.getRepo"];

/// Points of repo writes, as the reference counts them.
pub const CREATE_POINTS: u32 = 3;
pub const UPDATE_POINTS: u32 = 2;
pub const DELETE_POINTS: u32 = 1;

/// The tightest status of the limits a request spent, filled in as it goes.
#[derive(Clone, Default)]
pub struct Spent(Arc<Mutex<Option<Status>>>);

impl Spent {
    fn record(&self, status: Option<Status>) {
        let Some(status) = status else { return };
        let mut slot = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if slot.is_none_or(|s| status.remaining < s.remaining) {
            *slot = Some(status);
        }
    }

    fn get(&self) -> Option<Status> {
        *self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// The `RateLimit-*` headers for `status`.
fn status_headers(status: Status) -> Vec<(HeaderName, HeaderValue)> {
    let number = |n: u64| HeaderValue::from(n);
    vec![
        (
            HeaderName::from_static("ratelimit-limit"),
            number(u64::from(status.limit)),
        ),
        (
            HeaderName::from_static("ratelimit-remaining"),
            number(u64::from(status.remaining)),
        ),
        (
            HeaderName::from_static("ratelimit-reset"),
            number(status.reset_at),
        ),
        (
            HeaderName::from_static("ratelimit-policy"),
            HeaderValue::from_str(&format!("{};w={}", status.limit, status.window_secs))
                .unwrap_or_else(|_| HeaderValue::from_static("0")),
        ),
        (
            header::ACCESS_CONTROL_EXPOSE_HEADERS,
            HeaderValue::from_static(
                "RateLimit-Limit, RateLimit-Reset, RateLimit-Remaining, RateLimit-Policy, Retry-After",
            ),
        ),
    ]
}

/// The 429 for a refused request.
pub fn exceeded(Exceeded(status): Exceeded) -> XrpcError {
    let mut error = XrpcError::new(
        StatusCode::TOO_MANY_REQUESTS,
        "RateLimitExceeded",
        "Rate Limit Exceeded",
    );
    error.headers = status_headers(status);
    let wait = status
        .reset_at
        .saturating_sub(crate::clock::now_secs_u64())
        .max(1);
    error
        .headers
        .push((header::RETRY_AFTER, HeaderValue::from(wait)));
    error
}

/// The client's address key (the forwarded client when a trusted proxy says so).
pub fn client_key(extensions: &axum::http::Extensions) -> (std::net::IpAddr, String) {
    let ip = extensions
        .get::<Client>()
        .map_or(std::net::IpAddr::from([127, 0, 0, 1]), |c| c.ip);
    (ip, address_key(ip))
}

fn limits_of<'a>(table: &'a [(&str, &'a [LimitId])], nsid: &str) -> &'a [LimitId] {
    table
        .iter()
        .find(|(name, _)| *name == nsid)
        .map_or(&[][..], |(_, ids)| *ids)
}

/// Every XRPC call: the global limit and the method's address limits, before the handler runs;
/// afterwards the tightest status any limit reported goes into the answer's headers.
pub async fn rate_limit(
    State(state): State<AppState>,
    mut request: Request,
    next: Next,
) -> Response {
    let Some(nsid) = request.uri().path().strip_prefix("/xrpc/") else {
        return next.run(request).await;
    };
    if request.method() == axum::http::Method::OPTIONS {
        return next.run(request).await;
    }
    let nsid = nsid.to_owned();
    let (_, key) = client_key(request.extensions());
    let mut spends: Vec<(LimitId, &str, u32)> = limits_of(ADDRESS_LIMITS, &nsid)
        .iter()
        .map(|id| (*id, key.as_str(), 1))
        .collect();
    if !OUTSIDE_GLOBAL.contains(&nsid.as_str()) {
        spends.push((LimitId::GlobalIp, key.as_str(), 1));
    }
    let spent = Spent::default();
    match state.limits.consume_all(&spends) {
        Ok(status) => spent.record(status),
        Err(refused) => return exceeded(refused).into_response(),
    }
    request.extensions_mut().insert(spent.clone());
    let mut response = next.run(request).await;
    if let Some(status) = spent.get()
        && !response.headers().contains_key("ratelimit-limit")
    {
        for (name, value) in status_headers(status) {
            response.headers_mut().insert(name, value);
        }
    }
    response
}

/// Spends `spends` for a request (its answer reports the tightest), or refuses it.
pub fn spend(
    limits: &RateLimits,
    extensions: &axum::http::Extensions,
    spends: &[(LimitId, &str, u32)],
) -> Result<(), XrpcError> {
    let status = limits.consume_all(spends).map_err(exceeded)?;
    if let Some(spent) = extensions.get::<Spent>() {
        spent.record(status);
    }
    Ok(())
}

/// The account limits of the method `parts` calls, for the authenticated `did`.
pub fn spend_for_account(
    state: &AppState,
    parts: &Parts,
    nsid: &str,
    did: &str,
) -> Result<(), XrpcError> {
    let spends: Vec<(LimitId, &str, u32)> = limits_of(ACCOUNT_LIMITS, nsid)
        .iter()
        .map(|id| (*id, did, 1))
        .collect();
    if spends.is_empty() {
        return Ok(());
    }
    spend(&state.limits, &parts.extensions, &spends)
}

/// createSession: per identifier and address (the reference's `${identifier}-${ip}`).
pub fn spend_for_login(
    state: &AppState,
    extensions: &axum::http::Extensions,
    identifier: &str,
) -> Result<(), XrpcError> {
    let (_, address) = client_key(extensions);
    let key = format!("{}-{address}", identifier.trim().to_ascii_lowercase());
    spend(
        &state.limits,
        extensions,
        &[(LimitId::Login5m, &key, 1), (LimitId::LoginDay, &key, 1)],
    )
}

/// Repo writes of `did` worth `points`.
pub fn spend_for_writes(
    state: &AppState,
    extensions: &axum::http::Extensions,
    did: &str,
    points: u32,
) -> Result<(), XrpcError> {
    spend(
        &state.limits,
        extensions,
        &[
            (LimitId::RepoWriteHour, did, points),
            (LimitId::RepoWriteDay, did, points),
        ],
    )
}
