//! `app.bsky.bookmark.*` of the built-in App View: the viewer's private bookmarks.
//!
//! Handlers parse, call one `Appview` method and render its lexicon-shaped output.

use axum::Json;
use axum::extract::State;
use serde_json::Value;

use super::AppState;
use super::auth::RequiredViewer;
use super::xrpc::{XrpcError, XrpcJson, XrpcQuery};
use crate::appview::{BookmarksParams, CreateBookmarkInput, DeleteBookmarkInput};

pub async fn create_bookmark(
    State(state): State<AppState>,
    RequiredViewer(viewer): RequiredViewer,
    XrpcJson(input): XrpcJson<CreateBookmarkInput>,
) -> Result<(), XrpcError> {
    state.appview.create_bookmark(viewer, input).await?;
    Ok(())
}

pub async fn delete_bookmark(
    State(state): State<AppState>,
    RequiredViewer(viewer): RequiredViewer,
    XrpcJson(input): XrpcJson<DeleteBookmarkInput>,
) -> Result<(), XrpcError> {
    state.appview.delete_bookmark(viewer, input).await?;
    Ok(())
}

pub async fn get_bookmarks(
    State(state): State<AppState>,
    RequiredViewer(viewer): RequiredViewer,
    XrpcQuery(params): XrpcQuery<BookmarksParams>,
) -> Result<Json<Value>, XrpcError> {
    Ok(Json(state.appview.get_bookmarks(viewer, params).await?))
}
