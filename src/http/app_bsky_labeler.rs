//! `app.bsky.labeler.getServices` of the built-in App View.
//!
//! Handlers parse, call one `Appview` method and render its lexicon-shaped output.

use axum::Json;
use axum::extract::State;
use serde_json::Value;

use super::AppState;
use super::auth::AppviewViewer;
use super::xrpc::{XrpcError, XrpcQuery};
use crate::appview::ServicesParams;

pub async fn get_services(
    State(state): State<AppState>,
    AppviewViewer(viewer): AppviewViewer,
    XrpcQuery(params): XrpcQuery<ServicesParams>,
) -> Result<Json<Value>, XrpcError> {
    Ok(Json(state.appview.get_services(viewer, params).await?))
}
