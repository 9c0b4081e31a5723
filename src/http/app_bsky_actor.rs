//! `app.bsky.actor.*` views of the built-in App View (preferences stay with the PDS, in `app_bsky.rs`).
//!
//! Handlers parse, call one `Appview` method and render its lexicon-shaped output.

use axum::Json;
use axum::extract::State;
use serde_json::Value;

use super::AppState;
use super::auth::AppviewViewer;
use super::xrpc::{XrpcError, XrpcQuery};
use crate::appview::{ProfileParams, ProfilesParams, SearchActorsParams, SuggestionsParams};

pub async fn get_profile(
    State(state): State<AppState>,
    AppviewViewer(viewer): AppviewViewer,
    XrpcQuery(params): XrpcQuery<ProfileParams>,
) -> Result<Json<Value>, XrpcError> {
    Ok(Json(state.appview.get_profile(viewer, params).await?))
}

pub async fn get_profiles(
    State(state): State<AppState>,
    AppviewViewer(viewer): AppviewViewer,
    XrpcQuery(params): XrpcQuery<ProfilesParams>,
) -> Result<Json<Value>, XrpcError> {
    Ok(Json(state.appview.get_profiles(viewer, params).await?))
}

pub async fn get_suggestions(
    State(state): State<AppState>,
    AppviewViewer(viewer): AppviewViewer,
    XrpcQuery(params): XrpcQuery<SuggestionsParams>,
) -> Result<Json<Value>, XrpcError> {
    Ok(Json(state.appview.get_suggestions(viewer, params).await?))
}

pub async fn search_actors(
    State(state): State<AppState>,
    AppviewViewer(viewer): AppviewViewer,
    XrpcQuery(params): XrpcQuery<SearchActorsParams>,
) -> Result<Json<Value>, XrpcError> {
    Ok(Json(state.appview.search_actors(viewer, params).await?))
}

pub async fn search_actors_typeahead(
    State(state): State<AppState>,
    AppviewViewer(viewer): AppviewViewer,
    XrpcQuery(params): XrpcQuery<SearchActorsParams>,
) -> Result<Json<Value>, XrpcError> {
    Ok(Json(
        state
            .appview
            .search_actors_typeahead(viewer, params)
            .await?,
    ))
}
