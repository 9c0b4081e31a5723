//! Authentication extractors: what a handler needs, said in its signature.
//!
//! Spec: <https://atproto.com/specs/xrpc#authentication>. `Authorization: Bearer <jwt>` carries a
//! session token; `Basic admin:<password>` the admin password. Errors follow the reference: no header
//! is 401 `AuthMissing`, a bad or wrong-kind token is 400 `InvalidToken`, an expired one 400
//! `ExpiredToken`.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use data_encoding::BASE64;

use super::AppState;
use super::limits::{client_key, exceeded};
use super::xrpc::XrpcError;
use crate::core::crypto::constant_time_eq;
use crate::core::syntax::Did;
use crate::pds::{Actor, AuthedAccount, Call, PdsError};
use crate::ratelimit::RateLimits;

/// The bearer token of a request, or why there is none.
fn bearer(parts: &Parts) -> Result<Option<&str>, XrpcError> {
    let Some(value) = parts.headers.get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    let value = value.to_str().map_err(|_| {
        XrpcError::new(
            StatusCode::BAD_REQUEST,
            "InvalidToken",
            "Malformed authorization header",
        )
    })?;
    let mut pieces = value.splitn(2, ' ');
    let (Some(kind), Some(token)) = (pieces.next(), pieces.next()) else {
        return Err(XrpcError::new(
            StatusCode::BAD_REQUEST,
            "InvalidToken",
            "Malformed authorization header",
        ));
    };
    if kind.eq_ignore_ascii_case("bearer") || kind.eq_ignore_ascii_case("dpop") {
        Ok(Some(token.trim()))
    } else if kind.eq_ignore_ascii_case("basic") {
        Ok(None)
    } else {
        Err(XrpcError::new(
            StatusCode::BAD_REQUEST,
            "InvalidToken",
            format!("Unsupported authorization type: {kind}"),
        ))
    }
}

fn missing() -> XrpcError {
    XrpcError::new(
        StatusCode::UNAUTHORIZED,
        "AuthMissing",
        "Authentication Required",
    )
}

/// The XRPC method a request calls (`/xrpc/<nsid>`).
fn method_of(parts: &Parts) -> &str {
    parts.uri.path().strip_prefix("/xrpc/").unwrap_or_default()
}

/// Whether the request carries an OAuth token (`Authorization: DPoP <token>`).
fn is_dpop(parts: &Parts) -> bool {
    parts
        .headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(' ').next())
        .is_some_and(|kind| kind.eq_ignore_ascii_case("dpop"))
}

/// The refusal of a DPoP proof on a resource request (RFC 9449 §7.1, §8): 401 with
/// `WWW-Authenticate: DPoP error=…` and a fresh nonce, which clients retry with.
fn dpop_rejection(state: &AppState, e: crate::pds::OAuthError) -> XrpcError {
    let (name, code) = if e.error == "use_dpop_nonce" {
        ("use_dpop_nonce", "use_dpop_nonce")
    } else {
        ("InvalidToken", "invalid_dpop_proof")
    };
    let mut error = XrpcError::new(StatusCode::UNAUTHORIZED, name, e.description);
    let challenge = format!("DPoP error=\"{code}\", algs=\"ES256 ES256K\"");
    if let Ok(value) = axum::http::HeaderValue::from_str(&challenge) {
        error.headers.push((header::WWW_AUTHENTICATE, value));
    }
    if let Ok(value) = axum::http::HeaderValue::from_str(&state.pds.oauth_nonce()) {
        error
            .headers
            .push((header::HeaderName::from_static("dpop-nonce"), value));
    }
    error
}

/// The caller of `call` with a session token or a DPoP-bound OAuth token (its proof checked
/// against this request). `aud` is where a proxied call goes.
pub async fn authenticate(
    parts: &Parts,
    state: &AppState,
    call: Call<'_>,
    aud: Option<&str>,
) -> Result<AuthedAccount, XrpcError> {
    let token = bearer(parts)?.ok_or_else(missing)?;
    if !is_dpop(parts) {
        return Ok(state.pds.authorize(token, call).await?);
    }
    let proof = parts.headers.get("dpop").and_then(|v| v.to_str().ok());
    let dpop = state
        .pds
        .oauth_check_dpop(proof, parts.method.as_str(), parts.uri.path(), Some(token))
        .map_err(|e| dpop_rejection(state, e))?;
    match state.pds.authorize_oauth(token, &dpop, call, aud).await {
        Ok(account) => Ok(account),
        // A bad, expired or revoked OAuth token is 401 `invalid_token` (RFC 6750 §3.1), which
        // tells a client to refresh, then to sign in again.
        Err(e @ (PdsError::InvalidToken(_) | PdsError::ExpiredToken(_))) => {
            let mut error = XrpcError::new(StatusCode::UNAUTHORIZED, "InvalidToken", e.to_string());
            let challenge = format!(
                "DPoP error=\"invalid_token\", error_description=\"{}\"",
                e.to_string().replace('"', "'")
            );
            if let Ok(value) = axum::http::HeaderValue::from_str(&challenge) {
                error.headers.push((header::WWW_AUTHENTICATE, value));
            }
            Err(error)
        }
        Err(e) => Err(e.into()),
    }
}

/// A caller with an access token that may call this method: which credentials reach which method
/// is decided in one place, `pds::access`.
pub struct AccessAuth(pub AuthedAccount);

impl FromRequestParts<AppState> for AccessAuth {
    type Rejection = XrpcError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let method = method_of(parts);
        let account = authenticate(parts, state, Call::Xrpc(method), None).await?;
        super::limits::spend_for_account(state, parts, method, account.did.as_str())?;
        Ok(AccessAuth(account))
    }
}

/// Optionally authenticated: a valid token, or none (a present but invalid token is an error).
pub struct OptionalAuth(pub Option<AuthedAccount>);

impl FromRequestParts<AppState> for OptionalAuth {
    type Rejection = XrpcError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        match bearer(parts)? {
            None => Ok(OptionalAuth(None)),
            Some(_) => {
                let AccessAuth(account) = AccessAuth::from_request_parts(parts, state).await?;
                Ok(OptionalAuth(Some(account)))
            }
        }
    }
}

/// The raw bearer token of a request, if any (for calls that accept a service-auth token).
pub struct BearerToken(pub Option<String>);

impl FromRequestParts<AppState> for BearerToken {
    type Rejection = XrpcError;

    async fn from_request_parts(
        parts: &mut Parts,
        _state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        Ok(BearerToken(bearer(parts)?.map(str::to_owned)))
    }
}

/// The raw refresh token of a request (checked by the session calls themselves).
pub struct RefreshToken(pub String);

impl FromRequestParts<AppState> for RefreshToken {
    type Rejection = XrpcError;

    async fn from_request_parts(
        parts: &mut Parts,
        _state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let token = bearer(parts)?.ok_or_else(missing)?;
        Ok(RefreshToken(token.to_owned()))
    }
}

/// What a request's `Authorization` says about the admin password.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AdminAttempt {
    /// No `Basic` credentials (or no admin password is set).
    Absent,
    Right,
    Wrong,
}

/// Reads `Basic admin:<password>` and compares it with the admin password in constant time.
pub fn admin_attempt(headers: &axum::http::HeaderMap, expected: &str) -> AdminAttempt {
    if expected.is_empty() {
        return AdminAttempt::Absent;
    }
    let Some(value) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    else {
        return AdminAttempt::Absent;
    };
    let Some(encoded) = value
        .get(..6)
        .filter(|kind| kind.eq_ignore_ascii_case("basic "))
        .map(|_| &value[6..])
    else {
        return AdminAttempt::Absent;
    };
    let decoded = BASE64.decode(encoded.trim().as_bytes()).unwrap_or_default();
    let (user, password) = match decoded.iter().position(|b| *b == b':') {
        Some(i) => (&decoded[..i], &decoded[i + 1..]),
        None => (&decoded[..], &[][..]),
    };
    // Both compares always run, so the time says nothing about which part was wrong.
    let user_ok = constant_time_eq(user, b"admin");
    let password_ok = constant_time_eq(password, expected.as_bytes());
    if user_ok && password_ok {
        AdminAttempt::Right
    } else {
        AdminAttempt::Wrong
    }
}

/// The admin gate with its back-off (`ratelimit::AdminBackoff`): an address that failed too often
/// is refused (429) before its password is even compared; failures and successes are recorded.
/// `Ok(true)` for the admin, `Ok(false)` for a request without admin credentials.
pub fn admin_gate(
    limits: &RateLimits,
    extensions: &axum::http::Extensions,
    headers: &axum::http::HeaderMap,
    expected: &str,
) -> Result<bool, XrpcError> {
    let attempt = admin_attempt(headers, expected);
    if attempt == AdminAttempt::Absent {
        return Ok(false);
    }
    let (ip, key) = client_key(extensions);
    limits.admin().check(ip, &key).map_err(exceeded)?;
    match attempt {
        AdminAttempt::Right => {
            limits.admin().succeeded(&key);
            Ok(true)
        }
        _ => {
            limits.admin().failed(&key);
            Err(XrpcError::auth_required("Authentication Required"))
        }
    }
}

/// The admin: HTTP basic auth with the admin password, or the full-access session of an account
/// holding the admin role (`pds::admin_roles`). App-password and taken-down sessions never carry
/// admin powers, whatever the account's role. The actor is what the audit log records.
pub struct AdminAuth(pub Actor);

impl FromRequestParts<AppState> for AdminAuth {
    type Rejection = XrpcError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        if bearer(parts)?.is_some() {
            let AccessAuth(account) = AccessAuth::from_request_parts(parts, state).await?;
            return admin_member(state, account).await.map(AdminAuth);
        }
        if password_admin(parts, state)? {
            Ok(AdminAuth(Actor::Password))
        } else {
            Err(XrpcError::auth_required("Authentication Required"))
        }
    }
}

/// Whether the request carries the right admin password (through the back-off of [`admin_gate`]).
fn password_admin(parts: &Parts, state: &AppState) -> Result<bool, XrpcError> {
    admin_gate(
        &state.limits,
        &parts.extensions,
        &parts.headers,
        state.admin_password.expose(),
    )
}

/// The actor for a session of an account with the admin role.
async fn admin_member(state: &AppState, account: AuthedAccount) -> Result<Actor, XrpcError> {
    if !(account.scope == crate::pds::AccessScope::Full) {
        return Err(XrpcError::new(
            StatusCode::FORBIDDEN,
            "Forbidden",
            "Admin powers need a sign-in with the account's password, not an app password",
        ));
    }
    if !state.pds.has_admin_role(&account.did).await? {
        return Err(XrpcError::new(
            StatusCode::FORBIDDEN,
            "Forbidden",
            "This account is not an admin of this server",
        ));
    }
    Ok(Actor::Member { did: account.did })
}

/// The admin password itself, for what only the operator may do (grant the admin role, take a
/// backup of the whole node with its secrets).
pub struct PasswordAdmin;

impl FromRequestParts<AppState> for PasswordAdmin {
    type Rejection = XrpcError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        if password_admin(parts, state)? {
            Ok(PasswordAdmin)
        } else if bearer(parts)?.is_some() {
            Err(XrpcError::new(
                StatusCode::FORBIDDEN,
                "Forbidden",
                "Only the admin password may do this",
            ))
        } else {
            Err(XrpcError::auth_required("Authentication Required"))
        }
    }
}

/// Who reads a sync endpoint: the admin, an account (its own inactive repo stays visible to it), or
/// anyone. An invalid token is an error rather than a silent downgrade.
pub struct SyncReader {
    admin: bool,
    account: Option<Did>,
}

impl SyncReader {
    pub fn reader(&self) -> crate::pds::Reader<'_> {
        if self.admin {
            return crate::pds::Reader::Admin;
        }
        match &self.account {
            Some(did) => crate::pds::Reader::Account(did),
            None => crate::pds::Reader::Anyone,
        }
    }
}

impl FromRequestParts<AppState> for SyncReader {
    type Rejection = XrpcError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        if admin_gate(
            &state.limits,
            &parts.extensions,
            &parts.headers,
            state.admin_password.expose(),
        )? {
            return Ok(SyncReader {
                admin: true,
                account: None,
            });
        }
        let OptionalAuth(account) = OptionalAuth::from_request_parts(parts, state).await?;
        Ok(SyncReader {
            admin: false,
            account: account.map(|a| a.did),
        })
    }
}

/// The viewer of an App View call: nobody (no `Authorization`), an account of this PDS (a session
/// token: the built-in App View answers its own PDS's users in-process), or an account whose PDS
/// proxied the call with an inter-service token addressed to the App View (checked by
/// `Appview::verify_service_token` for the method called). An invalid token is an error, never a
/// silent downgrade to an anonymous read.
pub struct AppviewViewer(pub Option<String>);

impl FromRequestParts<AppState> for AppviewViewer {
    type Rejection = XrpcError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let Some(token) = bearer(parts)? else {
            return Ok(AppviewViewer(None));
        };
        let session = crate::core::jwt::parse(token)
            .ok()
            .is_some_and(|t| t.header.typ.as_deref() == Some("at+jwt"));
        let method = method_of(parts).to_owned();
        if session {
            // The same rule as any session call: a taken-down account's token reads nothing.
            let account = authenticate(parts, state, Call::Xrpc(&method), None).await?;
            return Ok(AppviewViewer(Some(account.did.to_string())));
        }
        let issuer = state.appview.verify_service_token(token, &method).await?;
        Ok(AppviewViewer(Some(issuer)))
    }
}

/// An App View call that needs a viewer.
pub struct RequiredViewer(pub String);

impl FromRequestParts<AppState> for RequiredViewer {
    type Rejection = XrpcError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        match AppviewViewer::from_request_parts(parts, state).await? {
            AppviewViewer(Some(did)) => Ok(RequiredViewer(did)),
            AppviewViewer(None) => Err(missing()),
        }
    }
}
