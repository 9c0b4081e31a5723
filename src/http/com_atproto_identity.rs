//! `com.atproto.identity.*` handlers.

use axum::Json;
use axum::extract::State;
use serde::Deserialize;
use serde_json::{Value, json};

use super::AppState;
use super::auth::AccessAuth;
use super::xrpc::{XrpcError, XrpcJson, XrpcQuery};

#[derive(Deserialize)]
pub struct ResolveHandleParams {
    handle: String,
}

pub async fn resolve_handle(
    State(state): State<AppState>,
    XrpcQuery(params): XrpcQuery<ResolveHandleParams>,
) -> Result<Json<Value>, XrpcError> {
    let did = state.pds.resolve_handle(&params.handle).await?;
    Ok(Json(json!({"did": did})))
}

#[derive(Deserialize)]
pub struct UpdateHandleInput {
    handle: String,
}

pub async fn update_handle(
    State(state): State<AppState>,
    AccessAuth(auth): AccessAuth,
    XrpcJson(input): XrpcJson<UpdateHandleInput>,
) -> Result<(), XrpcError> {
    state.pds.update_handle(&auth.did, &input.handle).await?;
    Ok(())
}
