//! `app.bsky.feed.*` views of the built-in App View.
//!
//! Handlers parse, call one `Appview` method and render its lexicon-shaped output.

use axum::Json;
use axum::extract::State;
use serde_json::Value;

use super::AppState;
use super::auth::{AppviewViewer, RequiredViewer};
use super::xrpc::{XrpcError, XrpcQuery};
use crate::appview::{
    ActorPageParams, AuthorFeedParams, FeedParams, FeedsParams, ListFeedParams, SearchPostsParams,
    SubjectParams, ThreadParams, TimelineParams, UrisParams,
};

pub async fn get_timeline(
    State(state): State<AppState>,
    RequiredViewer(viewer): RequiredViewer,
    XrpcQuery(params): XrpcQuery<TimelineParams>,
) -> Result<Json<Value>, XrpcError> {
    Ok(Json(state.appview.get_timeline(viewer, params).await?))
}

pub async fn get_author_feed(
    State(state): State<AppState>,
    AppviewViewer(viewer): AppviewViewer,
    XrpcQuery(params): XrpcQuery<AuthorFeedParams>,
) -> Result<Json<Value>, XrpcError> {
    Ok(Json(state.appview.get_author_feed(viewer, params).await?))
}

pub async fn get_post_thread(
    State(state): State<AppState>,
    AppviewViewer(viewer): AppviewViewer,
    XrpcQuery(params): XrpcQuery<ThreadParams>,
) -> Result<Json<Value>, XrpcError> {
    Ok(Json(state.appview.get_post_thread(viewer, params).await?))
}

pub async fn get_posts(
    State(state): State<AppState>,
    AppviewViewer(viewer): AppviewViewer,
    XrpcQuery(params): XrpcQuery<UrisParams>,
) -> Result<Json<Value>, XrpcError> {
    Ok(Json(state.appview.get_posts(viewer, params).await?))
}

pub async fn get_likes(
    State(state): State<AppState>,
    AppviewViewer(viewer): AppviewViewer,
    XrpcQuery(params): XrpcQuery<SubjectParams>,
) -> Result<Json<Value>, XrpcError> {
    Ok(Json(state.appview.get_likes(viewer, params).await?))
}

pub async fn get_reposted_by(
    State(state): State<AppState>,
    AppviewViewer(viewer): AppviewViewer,
    XrpcQuery(params): XrpcQuery<SubjectParams>,
) -> Result<Json<Value>, XrpcError> {
    Ok(Json(state.appview.get_reposted_by(viewer, params).await?))
}

pub async fn get_quotes(
    State(state): State<AppState>,
    AppviewViewer(viewer): AppviewViewer,
    XrpcQuery(params): XrpcQuery<SubjectParams>,
) -> Result<Json<Value>, XrpcError> {
    Ok(Json(state.appview.get_quotes(viewer, params).await?))
}

pub async fn get_actor_likes(
    State(state): State<AppState>,
    RequiredViewer(viewer): RequiredViewer,
    XrpcQuery(params): XrpcQuery<ActorPageParams>,
) -> Result<Json<Value>, XrpcError> {
    Ok(Json(state.appview.get_actor_likes(viewer, params).await?))
}

pub async fn get_actor_feeds(
    State(state): State<AppState>,
    AppviewViewer(viewer): AppviewViewer,
    XrpcQuery(params): XrpcQuery<ActorPageParams>,
) -> Result<Json<Value>, XrpcError> {
    Ok(Json(state.appview.get_actor_feeds(viewer, params).await?))
}

pub async fn get_list_feed(
    State(state): State<AppState>,
    AppviewViewer(viewer): AppviewViewer,
    XrpcQuery(params): XrpcQuery<ListFeedParams>,
) -> Result<Json<Value>, XrpcError> {
    Ok(Json(state.appview.get_list_feed(viewer, params).await?))
}

pub async fn search_posts(
    State(state): State<AppState>,
    AppviewViewer(viewer): AppviewViewer,
    XrpcQuery(params): XrpcQuery<SearchPostsParams>,
) -> Result<Json<Value>, XrpcError> {
    Ok(Json(state.appview.search_posts(viewer, params).await?))
}

pub async fn get_feed(
    State(state): State<AppState>,
    AppviewViewer(viewer): AppviewViewer,
    XrpcQuery(params): XrpcQuery<FeedParams>,
) -> Result<Json<Value>, XrpcError> {
    Ok(Json(state.appview.get_feed(viewer, params).await?))
}

pub async fn get_feed_skeleton(
    State(state): State<AppState>,
    AppviewViewer(viewer): AppviewViewer,
    XrpcQuery(params): XrpcQuery<FeedParams>,
) -> Result<Json<Value>, XrpcError> {
    Ok(Json(state.appview.get_feed_skeleton(viewer, params).await?))
}

pub async fn get_feed_generator(
    State(state): State<AppState>,
    AppviewViewer(viewer): AppviewViewer,
    XrpcQuery(params): XrpcQuery<FeedParams>,
) -> Result<Json<Value>, XrpcError> {
    Ok(Json(
        state
            .appview
            .get_feed_generator(viewer, params.feed)
            .await?,
    ))
}

pub async fn get_feed_generators(
    State(state): State<AppState>,
    AppviewViewer(viewer): AppviewViewer,
    XrpcQuery(params): XrpcQuery<FeedsParams>,
) -> Result<Json<Value>, XrpcError> {
    Ok(Json(
        state.appview.get_feed_generators(viewer, params).await?,
    ))
}

pub async fn describe_feed_generator(State(state): State<AppState>) -> Json<Value> {
    Json(state.appview.describe_feed_generator())
}
