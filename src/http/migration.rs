//! Moving an account in and out: `com.atproto.repo.importRepo`, `listMissingBlobs`,
//! `com.atproto.identity.{getRecommendedDidCredentials, requestPlcOperationSignature,
//! signPlcOperation, submitPlcOperation}`.
//!
//! Guide: <https://atproto.com/guides/account-migration>.

use axum::Json;
use axum::body::Body;
use axum::extract::State;
use futures_util::TryStreamExt;
use serde::Deserialize;
use serde_json::{Value, json};
use tokio_util::io::{StreamReader, SyncIoBridge};

use super::AppState;
use super::auth::AccessAuth;
use super::xrpc::{XrpcError, XrpcJson, XrpcQuery, with_cursor};
use crate::core::plc::Operation;
use crate::core::syntax::Did;

/// `importRepo`: the CAR is read as it arrives and verified before anything is stored.
pub async fn import_repo(
    State(state): State<AppState>,
    AccessAuth(auth): AccessAuth,
    body: Body,
) -> Result<(), XrpcError> {
    state.pds.check_not_taken_down(&auth.did).await?;
    let stream = body.into_data_stream().map_err(std::io::Error::other);
    let reader = SyncIoBridge::new(StreamReader::new(stream));
    state.pds.import_repo(&auth.did, reader).await?;
    Ok(())
}

#[derive(Deserialize)]
pub struct ListMissingBlobsParams {
    limit: Option<usize>,
    cursor: Option<String>,
}

pub async fn list_missing_blobs(
    State(state): State<AppState>,
    AccessAuth(auth): AccessAuth,
    XrpcQuery(params): XrpcQuery<ListMissingBlobsParams>,
) -> Result<Json<Value>, XrpcError> {
    let (blobs, cursor) = state
        .pds
        .list_missing_blobs(&auth.did, params.limit.unwrap_or(500), params.cursor)
        .await?;
    let blobs: Vec<Value> = blobs
        .into_iter()
        .map(|(cid, uri)| json!({"cid": cid.to_string(), "recordUri": uri}))
        .collect();
    Ok(with_cursor(json!({"blobs": blobs}), cursor))
}

pub async fn get_recommended_did_credentials(
    State(state): State<AppState>,
    AccessAuth(auth): AccessAuth,
) -> Result<Json<Value>, XrpcError> {
    Ok(Json(
        state.pds.recommended_did_credentials(&auth.did).await?,
    ))
}

pub async fn request_plc_operation_signature(
    State(state): State<AppState>,
    AccessAuth(auth): AccessAuth,
) -> Result<(), XrpcError> {
    state.pds.request_plc_operation_signature(&auth.did).await?;
    Ok(())
}

#[derive(Deserialize)]
pub struct SignPlcOperationInput {
    token: Option<String>,
    #[serde(flatten)]
    changes: serde_json::Map<String, Value>,
}

pub async fn sign_plc_operation(
    State(state): State<AppState>,
    AccessAuth(auth): AccessAuth,
    XrpcJson(input): XrpcJson<SignPlcOperationInput>,
) -> Result<Json<Value>, XrpcError> {
    let token = input.token.ok_or_else(|| {
        XrpcError::invalid_request("email confirmation token required to sign PLC operations")
    })?;
    let operation = state
        .pds
        .sign_plc_operation(&auth, &token, &Value::Object(input.changes))
        .await?;
    let operation = serde_json::to_value(&operation).map_err(XrpcError::internal)?;
    Ok(Json(json!({"operation": operation})))
}

#[derive(Deserialize)]
pub struct SubmitPlcOperationInput {
    operation: Value,
}

pub async fn submit_plc_operation(
    State(state): State<AppState>,
    AccessAuth(auth): AccessAuth,
    XrpcJson(input): XrpcJson<SubmitPlcOperationInput>,
) -> Result<(), XrpcError> {
    let operation: Operation = serde_json::from_value(input.operation)
        .map_err(|e| XrpcError::invalid_request(format!("Invalid operation: {e}")))?;
    state.pds.submit_plc_operation(&auth.did, operation).await?;
    Ok(())
}

#[derive(Deserialize)]
pub struct PlcDataParams {
    did: Option<String>,
}

/// GET `blue.skyhold.identity.getPlcData`: the current PLC state of a did:plc (the caller's own by
/// default) from the directory this node uses, so a member's browser can list their rotation keys
/// and keep them when it adds a recovery key or moves the account (the directory itself may be on
/// another origin the page cannot reach).
pub async fn get_plc_data(
    State(state): State<AppState>,
    AccessAuth(account): AccessAuth,
    XrpcQuery(params): XrpcQuery<PlcDataParams>,
) -> Result<Json<Value>, XrpcError> {
    let did = match params.did {
        Some(did) => Did::parse(&did).map_err(|e| XrpcError::invalid_request(e.to_string()))?,
        None => account.did,
    };
    let data = state.pds.plc_data(&did).await?;
    Ok(Json(
        serde_json::to_value(data).map_err(XrpcError::internal)?,
    ))
}
