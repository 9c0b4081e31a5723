//! `app.bsky.notification.*` of the built-in App View.
//!
//! Handlers parse, call one `Appview` method and render its lexicon-shaped output.

use axum::Json;
use axum::extract::State;
use serde_json::Value;

use super::AppState;
use super::auth::RequiredViewer;
use super::xrpc::{XrpcError, XrpcJson, XrpcQuery};
use crate::appview::{
    ListNotificationsParams, PushInput, PutPriorityInput, UnreadCountParams, UpdateSeenInput,
};

pub async fn list_notifications(
    State(state): State<AppState>,
    RequiredViewer(viewer): RequiredViewer,
    XrpcQuery(params): XrpcQuery<ListNotificationsParams>,
) -> Result<Json<Value>, XrpcError> {
    Ok(Json(
        state.appview.list_notifications(viewer, params).await?,
    ))
}

pub async fn get_unread_count(
    State(state): State<AppState>,
    RequiredViewer(viewer): RequiredViewer,
    XrpcQuery(params): XrpcQuery<UnreadCountParams>,
) -> Result<Json<Value>, XrpcError> {
    Ok(Json(state.appview.unread_count(viewer, params).await?))
}

pub async fn update_seen(
    State(state): State<AppState>,
    RequiredViewer(viewer): RequiredViewer,
    XrpcJson(input): XrpcJson<UpdateSeenInput>,
) -> Result<(), XrpcError> {
    state.appview.update_seen(viewer, input).await?;
    Ok(())
}

pub async fn register_push(
    State(state): State<AppState>,
    RequiredViewer(viewer): RequiredViewer,
    XrpcJson(input): XrpcJson<PushInput>,
) -> Result<(), XrpcError> {
    state.appview.set_push_token(viewer, input, true).await?;
    Ok(())
}

pub async fn unregister_push(
    State(state): State<AppState>,
    RequiredViewer(viewer): RequiredViewer,
    XrpcJson(input): XrpcJson<PushInput>,
) -> Result<(), XrpcError> {
    state.appview.set_push_token(viewer, input, false).await?;
    Ok(())
}

pub async fn get_preferences(
    State(state): State<AppState>,
    RequiredViewer(viewer): RequiredViewer,
) -> Result<Json<Value>, XrpcError> {
    Ok(Json(state.appview.notification_preferences(viewer).await?))
}

pub async fn put_preferences_v2(
    State(state): State<AppState>,
    RequiredViewer(viewer): RequiredViewer,
    XrpcJson(input): XrpcJson<Value>,
) -> Result<Json<Value>, XrpcError> {
    Ok(Json(
        state
            .appview
            .put_notification_preferences(viewer, input)
            .await?,
    ))
}

/// The legacy putPreferences (`priority`).
pub async fn put_preferences(
    State(state): State<AppState>,
    RequiredViewer(viewer): RequiredViewer,
    XrpcJson(input): XrpcJson<PutPriorityInput>,
) -> Result<(), XrpcError> {
    state
        .appview
        .put_notification_priority(viewer, input)
        .await?;
    Ok(())
}
