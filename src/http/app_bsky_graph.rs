//! `app.bsky.graph.*` views of the built-in App View, and the viewer's private mutes.
//!
//! Handlers parse, call one `Appview` method and render its lexicon-shaped output.

use axum::Json;
use axum::extract::State;
use serde_json::Value;

use super::AppState;
use super::auth::{AppviewViewer, RequiredViewer};
use super::xrpc::{XrpcError, XrpcJson, XrpcQuery};
use crate::appview::{
    GraphParams, ListInput, ListParams, ListsParams, MuteActorInput, PageParams,
    RelationshipsParams, StarterPackParams, ThreadInput, UrisParams,
};

pub async fn get_follows(
    State(state): State<AppState>,
    AppviewViewer(viewer): AppviewViewer,
    XrpcQuery(params): XrpcQuery<GraphParams>,
) -> Result<Json<Value>, XrpcError> {
    Ok(Json(
        state.appview.get_follow_list(viewer, params, true).await?,
    ))
}

pub async fn get_followers(
    State(state): State<AppState>,
    AppviewViewer(viewer): AppviewViewer,
    XrpcQuery(params): XrpcQuery<GraphParams>,
) -> Result<Json<Value>, XrpcError> {
    Ok(Json(
        state.appview.get_follow_list(viewer, params, false).await?,
    ))
}

pub async fn get_known_followers(
    State(state): State<AppState>,
    RequiredViewer(viewer): RequiredViewer,
    XrpcQuery(params): XrpcQuery<GraphParams>,
) -> Result<Json<Value>, XrpcError> {
    Ok(Json(
        state.appview.get_known_followers(viewer, params).await?,
    ))
}

pub async fn get_blocks(
    State(state): State<AppState>,
    RequiredViewer(viewer): RequiredViewer,
    XrpcQuery(params): XrpcQuery<PageParams>,
) -> Result<Json<Value>, XrpcError> {
    Ok(Json(state.appview.get_blocks(viewer, params).await?))
}

pub async fn get_mutes(
    State(state): State<AppState>,
    RequiredViewer(viewer): RequiredViewer,
    XrpcQuery(params): XrpcQuery<PageParams>,
) -> Result<Json<Value>, XrpcError> {
    Ok(Json(state.appview.get_mutes(viewer, params).await?))
}

pub async fn get_list_blocks(
    State(state): State<AppState>,
    RequiredViewer(viewer): RequiredViewer,
    XrpcQuery(params): XrpcQuery<PageParams>,
) -> Result<Json<Value>, XrpcError> {
    Ok(Json(
        state
            .appview
            .get_list_subscriptions(viewer, params, true)
            .await?,
    ))
}

pub async fn get_list_mutes(
    State(state): State<AppState>,
    RequiredViewer(viewer): RequiredViewer,
    XrpcQuery(params): XrpcQuery<PageParams>,
) -> Result<Json<Value>, XrpcError> {
    Ok(Json(
        state
            .appview
            .get_list_subscriptions(viewer, params, false)
            .await?,
    ))
}

pub async fn get_lists(
    State(state): State<AppState>,
    AppviewViewer(viewer): AppviewViewer,
    XrpcQuery(params): XrpcQuery<ListsParams>,
) -> Result<Json<Value>, XrpcError> {
    Ok(Json(state.appview.get_lists(viewer, params).await?))
}

pub async fn get_list(
    State(state): State<AppState>,
    AppviewViewer(viewer): AppviewViewer,
    XrpcQuery(params): XrpcQuery<ListParams>,
) -> Result<Json<Value>, XrpcError> {
    Ok(Json(state.appview.get_list(viewer, params).await?))
}

pub async fn get_relationships(
    State(state): State<AppState>,
    XrpcQuery(params): XrpcQuery<RelationshipsParams>,
) -> Result<Json<Value>, XrpcError> {
    Ok(Json(state.appview.get_relationships(params).await?))
}

pub async fn get_starter_pack(
    State(state): State<AppState>,
    AppviewViewer(viewer): AppviewViewer,
    XrpcQuery(params): XrpcQuery<StarterPackParams>,
) -> Result<Json<Value>, XrpcError> {
    Ok(Json(state.appview.get_starter_pack(viewer, params).await?))
}

pub async fn get_starter_packs(
    State(state): State<AppState>,
    AppviewViewer(viewer): AppviewViewer,
    XrpcQuery(params): XrpcQuery<UrisParams>,
) -> Result<Json<Value>, XrpcError> {
    Ok(Json(
        state.appview.get_starter_packs(viewer, params.uris).await?,
    ))
}

pub async fn get_actor_starter_packs(
    State(state): State<AppState>,
    AppviewViewer(viewer): AppviewViewer,
    XrpcQuery(params): XrpcQuery<GraphParams>,
) -> Result<Json<Value>, XrpcError> {
    Ok(Json(
        state
            .appview
            .get_actor_starter_packs(viewer, params)
            .await?,
    ))
}

/// `muteActor` (`MUTE` true) and `unmuteActor`.
pub async fn mute_actor<const MUTE: bool>(
    State(state): State<AppState>,
    RequiredViewer(viewer): RequiredViewer,
    XrpcJson(input): XrpcJson<MuteActorInput>,
) -> Result<(), XrpcError> {
    Ok(state.appview.set_mute(viewer, input, MUTE).await?)
}

/// `muteActorList` (`MUTE` true) and `unmuteActorList`.
pub async fn mute_actor_list<const MUTE: bool>(
    State(state): State<AppState>,
    RequiredViewer(viewer): RequiredViewer,
    XrpcJson(input): XrpcJson<ListInput>,
) -> Result<(), XrpcError> {
    Ok(state
        .appview
        .set_list_mute(viewer, input.list, MUTE)
        .await?)
}

/// `muteThread` (`MUTE` true) and `unmuteThread`.
pub async fn mute_thread<const MUTE: bool>(
    State(state): State<AppState>,
    RequiredViewer(viewer): RequiredViewer,
    XrpcJson(input): XrpcJson<ThreadInput>,
) -> Result<(), XrpcError> {
    Ok(state
        .appview
        .set_thread_mute(viewer, input.root, MUTE)
        .await?)
}
