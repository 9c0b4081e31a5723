//! `com.atproto.admin.updateSubjectStatus` / `getSubjectStatus`: the operator's takedowns in the
//! built-in App View (admin basic auth).
//!
//! Handlers parse, call one `Appview` method and render its lexicon-shaped output.

use axum::Json;
use axum::extract::State;
use serde_json::Value;

use super::AppState;
use super::auth::AdminAuth;
use super::xrpc::{XrpcError, XrpcJson, XrpcQuery};
use crate::appview::{SubjectStatusInput, SubjectStatusParams};

pub async fn update_subject_status(
    State(state): State<AppState>,
    _admin: AdminAuth,
    XrpcJson(input): XrpcJson<SubjectStatusInput>,
) -> Result<Json<Value>, XrpcError> {
    Ok(Json(state.appview.update_subject_status(input).await?))
}

pub async fn get_subject_status(
    State(state): State<AppState>,
    _admin: AdminAuth,
    XrpcQuery(params): XrpcQuery<SubjectStatusParams>,
) -> Result<Json<Value>, XrpcError> {
    Ok(Json(state.appview.get_subject_status(params).await?))
}
