//! `blue.skyhold.oauth.*`: the apps a member has authorized with OAuth, and revoking one. The
//! web UI's Connected apps settings and `skyhold account apps` call them with the member's own
//! full session; app passwords and OAuth apps cannot (`pds::access`), so an app can neither see
//! the member's other apps nor disconnect them. No official lexicon covers this; the reference
//! PDS keeps it behind its own account pages.
//!
//! - `listApps` (query): `{apps: [{clientId, clientName?, clientUri?, logoUri?, loopback, scope,
//!   permissions: [words], createdAt, lastUsedAt, expiresAt, sessions}]}`.
//! - `revokeApp` (procedure, `{clientId}`): ends every session of that app at once, its access
//!   and refresh tokens with it; `{revoked: n}` (0 when the app was not authorized).
//!
//! The admin's pair for a member who asks (`skyhold account apps`, `skyhold account revoke-app`):
//! `blue.skyhold.admin.listAccountApps?account=` and `blue.skyhold.admin.revokeAccountApp
//! {account, clientId}`, the latter written to the audit log.

use axum::Json;
use axum::extract::State;
use serde::Deserialize;
use serde_json::{Value, json};

use super::AppState;
use super::audit;
use super::auth::{AccessAuth, AdminAuth};
use super::skyhold_admin::account_did;
use super::xrpc::{XrpcError, XrpcJson, XrpcQuery};

/// GET `blue.skyhold.oauth.listApps`.
pub async fn list_apps(
    State(state): State<AppState>,
    AccessAuth(account): AccessAuth,
) -> Result<Json<Value>, XrpcError> {
    let apps = state.pds.oauth_apps(&account.did).await?;
    Ok(Json(json!({ "apps": apps })))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RevokeAppInput {
    client_id: String,
}

/// POST `blue.skyhold.oauth.revokeApp`.
pub async fn revoke_app(
    State(state): State<AppState>,
    AccessAuth(account): AccessAuth,
    XrpcJson(input): XrpcJson<RevokeAppInput>,
) -> Result<Json<Value>, XrpcError> {
    let client_id = checked_client_id(&input.client_id)?;
    let revoked = state.pds.oauth_revoke_app(&account.did, client_id).await?;
    Ok(Json(json!({ "revoked": revoked })))
}

fn checked_client_id(client_id: &str) -> Result<&str, XrpcError> {
    if client_id.is_empty() || client_id.len() > 2048 {
        return Err(XrpcError::invalid_request("clientId is required"));
    }
    Ok(client_id)
}

#[derive(Deserialize)]
pub struct AccountParams {
    /// A DID or a handle hosted here.
    account: String,
}

/// GET `blue.skyhold.admin.listAccountApps`.
pub async fn admin_list_apps(
    State(state): State<AppState>,
    AdminAuth(_): AdminAuth,
    XrpcQuery(params): XrpcQuery<AccountParams>,
) -> Result<Json<Value>, XrpcError> {
    let did = account_did(&state, &params.account).await?;
    let apps = state.pds.oauth_apps(&did).await?;
    Ok(Json(json!({ "did": did, "apps": apps })))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AdminRevokeInput {
    account: String,
    client_id: String,
}

/// POST `blue.skyhold.admin.revokeAccountApp`.
pub async fn admin_revoke_app(
    State(state): State<AppState>,
    AdminAuth(actor): AdminAuth,
    XrpcJson(input): XrpcJson<AdminRevokeInput>,
) -> Result<Json<Value>, XrpcError> {
    let did = account_did(&state, &input.account).await?;
    let client_id = checked_client_id(&input.client_id)?;
    let revoked = state.pds.oauth_revoke_app(&did, client_id).await?;
    audit::record(
        &state.pds,
        &actor,
        "account.revokeApp",
        Some(did.to_string()),
        Some(client_id.to_owned()),
    )
    .await;
    Ok(Json(json!({ "revoked": revoked })))
}
