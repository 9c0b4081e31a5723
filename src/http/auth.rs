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
use super::xrpc::XrpcError;
use crate::pds::{Actor, AuthedAccount};

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
    if kind.eq_ignore_ascii_case("bearer") {
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

/// A caller with a valid access token (any scope, app passwords included).
pub struct AccessAuth(pub AuthedAccount);

impl FromRequestParts<AppState> for AccessAuth {
    type Rejection = XrpcError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let token = bearer(parts)?.ok_or_else(missing)?;
        let account = state.pds.verify_access(token)?;
        // A token outlives a takedown or deletion by up to its lifetime; the account decides.
        if account.scope != crate::pds::AccessScope::Takendown {
            state.pds.check_not_taken_down(&account.did).await?;
        }
        Ok(AccessAuth(account))
    }
}

/// A caller with a full-access token (a password login, not an app password).
pub struct FullAccessAuth(pub AuthedAccount);

impl FromRequestParts<AppState> for FullAccessAuth {
    type Rejection = XrpcError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let AccessAuth(account) = AccessAuth::from_request_parts(parts, state).await?;
        if !account.is_full() {
            return Err(XrpcError::new(
                StatusCode::BAD_REQUEST,
                "InvalidToken",
                "Bad token scope",
            ));
        }
        Ok(FullAccessAuth(account))
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

/// Whether the request carries `Basic admin:<password>` with the right password.
pub fn is_admin(parts: &Parts, state: &AppState) -> bool {
    let expected = state.admin_password.expose();
    if expected.is_empty() {
        return false;
    }
    let Some(value) = parts
        .headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let Some(encoded) = value
        .strip_prefix("Basic ")
        .or_else(|| value.strip_prefix("basic "))
    else {
        return false;
    };
    let Ok(decoded) = BASE64.decode(encoded.trim().as_bytes()) else {
        return false;
    };
    let Ok(text) = String::from_utf8(decoded) else {
        return false;
    };
    let Some((user, password)) = text.split_once(':') else {
        return false;
    };
    // Compare in constant time so the response time says nothing about the password.
    let a = password.as_bytes();
    let b = expected.as_bytes();
    let same = a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0;
    user == "admin" && same
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
        if is_admin(parts, state) {
            Ok(AdminAuth(Actor::Password))
        } else {
            Err(XrpcError::auth_required("Authentication Required"))
        }
    }
}

/// The actor for a session of an account with the admin role.
async fn admin_member(state: &AppState, account: AuthedAccount) -> Result<Actor, XrpcError> {
    if !account.is_full() {
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
        if is_admin(parts, state) {
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
    account: Option<String>,
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
        if is_admin(parts, state) {
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
        if session {
            return Ok(AppviewViewer(Some(state.pds.verify_access(token)?.did)));
        }
        let method = parts
            .uri
            .path()
            .strip_prefix("/xrpc/")
            .unwrap_or_default()
            .to_owned();
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
