//! `POST /admin/backup` (admin password): a consistent snapshot of the running node, streamed to
//! `skyhold backup` (format: `backup::stream`).

use axum::body::Body;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::Response;

use super::AppState;
use super::auth::PasswordAdmin;
use super::xrpc::XrpcError;
use crate::backup::BackupError;

pub async fn backup(
    State(state): State<AppState>,
    _admin: PasswordAdmin,
) -> Result<Response, XrpcError> {
    let stream = state.backups.stream().await.map_err(|e| match e {
        BackupError::Busy => {
            XrpcError::new(StatusCode::CONFLICT, "BackupInProgress", e.to_string())
        }
        other => XrpcError::internal(other),
    })?;
    super::audit::record(
        &state.pds,
        &crate::pds::Actor::Password,
        "backup",
        None,
        Some("online snapshot streamed to the command line".into()),
    )
    .await;
    Response::builder()
        .header(header::CONTENT_TYPE, "application/vnd.skyhold.backup")
        .header(header::CACHE_CONTROL, "no-store")
        .body(Body::from_stream(stream))
        .map_err(XrpcError::internal)
}
