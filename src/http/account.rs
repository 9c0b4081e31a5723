//! `com.atproto.server.*` account management: activation, deactivation, status, deletion, and the
//! email and password flows.

use axum::Json;
use axum::extract::State;
use serde::Deserialize;
use serde_json::{Value, json};

use super::AppState;
use super::auth::AccessAuth;
use super::params;
use super::xrpc::{XrpcError, XrpcJson};

pub async fn activate_account(
    State(state): State<AppState>,
    AccessAuth(auth): AccessAuth,
) -> Result<(), XrpcError> {
    state.pds.activate_account(&auth.did).await?;
    Ok(())
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct DeactivateAccountInput {
    delete_after: Option<String>,
}

pub async fn deactivate_account(
    State(state): State<AppState>,
    AccessAuth(auth): AccessAuth,
    body: axum::body::Bytes,
) -> Result<(), XrpcError> {
    // The input is optional: clients send `{}`, nothing, or `{"deleteAfter": …}`.
    let input: DeactivateAccountInput = if body.iter().all(u8::is_ascii_whitespace) {
        DeactivateAccountInput::default()
    } else {
        serde_json::from_slice(&body)
            .map_err(|e| XrpcError::invalid_request(format!("Invalid request body: {e}")))?
    };
    if let Some(at) = &input.delete_after
        && crate::core::syntax::Datetime::parse(at).is_err()
    {
        return Err(XrpcError::invalid_request("deleteAfter must be a datetime"));
    }
    state
        .pds
        .deactivate_account(&auth.did, input.delete_after)
        .await?;
    Ok(())
}

pub async fn check_account_status(
    State(state): State<AppState>,
    AccessAuth(auth): AccessAuth,
) -> Result<Json<Value>, XrpcError> {
    let report = state.pds.check_account_status(&auth.did).await?;
    Ok(Json(json!({
        "activated": report.activated,
        "validDid": report.valid_did,
        "repoCommit": report.repo_commit.to_string(),
        "repoRev": report.repo_rev,
        "repoBlocks": report.repo_blocks,
        "indexedRecords": report.indexed_records,
        "privateStateValues": 0,
        "expectedBlobs": report.expected_blobs,
        "importedBlobs": report.imported_blobs,
    })))
}

pub async fn request_account_delete(
    State(state): State<AppState>,
    AccessAuth(auth): AccessAuth,
) -> Result<(), XrpcError> {
    state.pds.request_account_delete(&auth.did).await?;
    Ok(())
}

#[derive(Deserialize)]
pub struct DeleteAccountInput {
    did: String,
    password: String,
    token: String,
}

pub async fn delete_account(
    State(state): State<AppState>,
    XrpcJson(input): XrpcJson<DeleteAccountInput>,
) -> Result<(), XrpcError> {
    state
        .pds
        .delete_account(
            &params::account_did(&input.did)?,
            Some((&input.password, &input.token)),
        )
        .await?;
    Ok(())
}

pub async fn request_email_confirmation(
    State(state): State<AppState>,
    AccessAuth(auth): AccessAuth,
) -> Result<(), XrpcError> {
    state.pds.request_email_confirmation(&auth.did).await?;
    Ok(())
}

#[derive(Deserialize)]
pub struct ConfirmEmailInput {
    email: String,
    token: String,
}

pub async fn confirm_email(
    State(state): State<AppState>,
    AccessAuth(auth): AccessAuth,
    XrpcJson(input): XrpcJson<ConfirmEmailInput>,
) -> Result<(), XrpcError> {
    state
        .pds
        .confirm_email(&auth.did, &input.email, &input.token)
        .await?;
    Ok(())
}

pub async fn request_email_update(
    State(state): State<AppState>,
    AccessAuth(auth): AccessAuth,
) -> Result<Json<Value>, XrpcError> {
    let token_required = state.pds.request_email_update(&auth.did).await?;
    Ok(Json(json!({"tokenRequired": token_required})))
}

#[derive(Deserialize)]
pub struct UpdateEmailInput {
    email: String,
    token: Option<String>,
}

pub async fn update_email(
    State(state): State<AppState>,
    AccessAuth(auth): AccessAuth,
    XrpcJson(input): XrpcJson<UpdateEmailInput>,
) -> Result<(), XrpcError> {
    state
        .pds
        .update_email(&auth.did, &input.email, input.token.as_deref(), false)
        .await?;
    Ok(())
}

#[derive(Deserialize)]
pub struct RequestPasswordResetInput {
    email: String,
}

pub async fn request_password_reset(
    State(state): State<AppState>,
    XrpcJson(input): XrpcJson<RequestPasswordResetInput>,
) -> Result<(), XrpcError> {
    state.pds.request_password_reset(&input.email).await?;
    Ok(())
}

#[derive(Deserialize)]
pub struct ResetPasswordInput {
    token: String,
    password: String,
}

pub async fn reset_password(
    State(state): State<AppState>,
    XrpcJson(input): XrpcJson<ResetPasswordInput>,
) -> Result<(), XrpcError> {
    state
        .pds
        .reset_password(&input.token, &input.password)
        .await?;
    Ok(())
}
