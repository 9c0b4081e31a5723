//! `com.atproto.sync.subscribeRepos` on the PDS: the WebSocket event stream of this server's repos.
//!
//! Spec: <https://atproto.com/specs/event-stream>. Non-GET requests get 405, requests without a
//! WebSocket upgrade 426 (both as XRPC errors). A subscriber reads the stored log at its own pace; one
//! that stops reading is cut with `ConsumerTooSlow` rather than allowed to hold memory.

use std::time::Duration;

use axum::extract::ws::{Message as WsMessage, WebSocket, WebSocketUpgrade};
use axum::extract::{FromRequestParts, Request, State};
use axum::http::{Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::AppState;
use super::xrpc::{XrpcError, XrpcQuery};
use crate::core::firehose::{InfoMessage, Message, encode_error_frame, encode_frame};
use crate::pds::{EVENT_BATCH, Pds, StreamStart};

/// How long one frame may take to send before the subscriber counts as too slow.
const SEND_TIMEOUT: Duration = Duration::from_secs(30);
/// How often an idle stream is pinged.
const PING_INTERVAL: Duration = Duration::from_secs(30);

#[derive(Deserialize)]
struct Params {
    cursor: Option<u64>,
}

pub async fn subscribe_repos(State(state): State<AppState>, request: Request) -> Response {
    if request.method() != Method::GET {
        return XrpcError::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "MethodNotAllowed",
            "subscriptions need GET",
        )
        .into_response();
    }
    let upgrade = request
        .headers()
        .get(header::UPGRADE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("websocket"));
    if !upgrade {
        return XrpcError::new(
            StatusCode::UPGRADE_REQUIRED,
            "UpgradeRequired",
            "this endpoint is a WebSocket",
        )
        .into_response();
    }
    let (mut parts, _) = request.into_parts();
    let params = match XrpcQuery::<Params>::from_request_parts(&mut parts, &state).await {
        Ok(XrpcQuery(p)) => p,
        Err(e) => return e.into_response(),
    };
    let ws = match WebSocketUpgrade::from_request_parts(&mut parts, &state).await {
        Ok(ws) => ws,
        Err(e) => return e.into_response(),
    };
    let pds = state.pds.clone();
    ws.on_upgrade(move |socket| stream(pds, socket, params.cursor))
}

async fn send(socket: &mut WebSocket, frame: Vec<u8>) -> bool {
    matches!(
        tokio::time::timeout(SEND_TIMEOUT, socket.send(WsMessage::Binary(frame.into()))).await,
        Ok(Ok(()))
    )
}

async fn close_with(socket: &mut WebSocket, error: &str, message: &str) {
    if let Ok(frame) = encode_error_frame(error, Some(message)) {
        let _ = send(socket, frame).await;
    }
    let _ = socket.send(WsMessage::Close(None)).await;
}

async fn stream(pds: Pds, mut socket: WebSocket, cursor: Option<u64>) {
    let mut notifications = pds.commit_notifications();
    let mut position = match pds.stream_start(cursor).await {
        Ok(StreamStart::After(seq)) => seq,
        Ok(StreamStart::Outdated(seq)) => {
            let info = Message::Info(InfoMessage {
                name: "OutdatedCursor".into(),
                message: Some("Requested cursor exceeded limit. Possibly missing events".into()),
            });
            if let Ok(frame) = encode_frame(&info)
                && !send(&mut socket, frame).await
            {
                return;
            }
            seq
        }
        Ok(StreamStart::Future) => {
            close_with(&mut socket, "FutureCursor", "Cursor in the future.").await;
            return;
        }
        Err(e) => {
            tracing::error!(error = %e, "firehose start failed");
            return;
        }
    };
    loop {
        let batch = match pds.events_after(position, EVENT_BATCH).await {
            Ok(batch) => batch,
            Err(e) => {
                tracing::error!(error = %e, "firehose read failed");
                return;
            }
        };
        let caught_up = batch.len() < EVENT_BATCH;
        for (seq, frame) in batch {
            if !send(&mut socket, frame).await {
                close_with(&mut socket, "ConsumerTooSlow", "Stream consumer too slow").await;
                return;
            }
            position = seq;
        }
        if !caught_up {
            continue;
        }
        // Wait for a commit, answering pings and noticing a client that went away.
        loop {
            tokio::select! {
                changed = notifications.changed() => {
                    if changed.is_err() {
                        return;
                    }
                    break;
                }
                incoming = socket.recv() => match incoming {
                    None | Some(Err(_)) | Some(Ok(WsMessage::Close(_))) => return,
                    Some(Ok(_)) => {}
                },
                () = tokio::time::sleep(PING_INTERVAL) => {
                    if socket.send(WsMessage::Ping(Vec::new().into())).await.is_err() {
                        return;
                    }
                }
            }
        }
    }
}
