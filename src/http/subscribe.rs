//! `com.atproto.sync.subscribeRepos`: the WebSocket event stream, for the PDS (its own repos) and for
//! the relay (the merged, re-sequenced stream), each read from its stored `EventLog`.
//!
//! Spec: <https://atproto.com/specs/event-stream>. Non-GET requests get 405, requests without a
//! WebSocket upgrade 426 (both as XRPC errors). A subscriber reads the stored log at its own pace; one
//! that stops reading is cut with `ConsumerTooSlow` rather than allowed to hold memory.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::ws::{Message as WsMessage, WebSocket, WebSocketUpgrade};
use axum::extract::{FromRequestParts, Request};
use axum::http::{Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use futures_util::SinkExt;
use serde::Deserialize;
use tokio::sync::watch;

pub use super::tail::{SharedFrames, Tail};
use super::xrpc::{XrpcError, XrpcQuery};
use crate::core::firehose::{
    InfoMessage, Message, StreamStart, encode_error_frame, encode_frame, replay_start,
};
use crate::store::EventLog;

/// How long one frame may take to send before the subscriber counts as too slow.
const SEND_TIMEOUT: Duration = Duration::from_secs(30);
/// How often an idle stream is pinged.
const PING_INTERVAL: Duration = Duration::from_secs(30);
/// Events read per batch.
const BATCH: usize = 500;

#[derive(Deserialize)]
struct Params {
    cursor: Option<u64>,
}

/// Answers a subscription request (checking method and upgrade first) from `log`, whose newest
/// frames its head subscribers share through `tail` (one per log, for the process's life). `name`
/// (`pds` or `relay`) is how the admin console and `/metrics` name the stream's subscribers.
pub async fn serve<S: Send + Sync>(
    name: &'static str,
    log: EventLog,
    tail: Arc<Tail>,
    state: &S,
    request: Request,
) -> Response {
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
    let params = match XrpcQuery::<Params>::from_request_parts(&mut parts, state).await {
        Ok(XrpcQuery(p)) => p,
        Err(e) => return e.into_response(),
    };
    let ws = match WebSocketUpgrade::from_request_parts(&mut parts, state).await {
        Ok(ws) => ws,
        Err(e) => return e.into_response(),
    };
    // Who subscribes is what tells an operator their node is being crawled.
    let peer = parts
        .extensions
        .get::<super::forwarded::Client>()
        .map(|c| c.ip.to_string())
        .unwrap_or_else(|| "unknown".into());
    let agent = parts
        .headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.chars().take(200).collect());
    ws.on_upgrade(move |socket| async move {
        let _listed = crate::metrics::global().subscribe(name, peer, agent);
        stream(log, tail, socket, params.cursor).await;
    })
}

async fn send(socket: &mut WebSocket, frame: Bytes) -> bool {
    matches!(
        tokio::time::timeout(SEND_TIMEOUT, socket.send(WsMessage::Binary(frame))).await,
        Ok(Ok(()))
    )
}

/// Sends a batch of frames with one flush at the end (one write for many frames when the socket
/// keeps up); false if the subscriber does not take them within the send timeout.
async fn send_all(socket: &mut WebSocket, frames: SharedFrames) -> bool {
    let sent = async {
        for (_, frame) in frames {
            socket.feed(WsMessage::Binary(frame)).await?;
        }
        socket.flush().await
    };
    matches!(tokio::time::timeout(SEND_TIMEOUT, sent).await, Ok(Ok(())))
}

async fn close_with(socket: &mut WebSocket, error: &str, message: &str) {
    if let Ok(frame) = encode_error_frame(error, Some(message)) {
        let _ = send(socket, frame.into()).await;
    }
    let _ = socket.send(WsMessage::Close(None)).await;
}

async fn stream(log: EventLog, tail: Arc<Tail>, mut socket: WebSocket, cursor: Option<u64>) {
    let mut notifications = log.notifications();
    let (oldest, newest) = match log.bounds().await {
        Ok(b) => b,
        Err(_) if log.is_closed() => return,
        Err(e) => {
            tracing::error!(error = %e, "event log unreadable");
            return;
        }
    };
    let mut position = match replay_start(cursor, oldest, newest) {
        StreamStart::After(seq) => seq,
        StreamStart::Outdated(seq) => {
            let info = Message::Info(InfoMessage {
                name: "OutdatedCursor".into(),
                message: Some("Requested cursor exceeded limit. Possibly missing events".into()),
            });
            if let Ok(frame) = encode_frame(&info)
                && !send(&mut socket, frame.into()).await
            {
                return;
            }
            seq
        }
        StreamStart::Future => {
            close_with(&mut socket, "FutureCursor", "Cursor in the future.").await;
            return;
        }
    };
    loop {
        let batch = match tail
            .after(position, BATCH, |after, limit| log.after(after, limit))
            .await
        {
            Ok(batch) => batch,
            // The node is stopping: the stream ends like any other.
            Err(_) if log.is_closed() => return,
            Err(e) => {
                tracing::error!(error = %e, "event log read failed");
                return;
            }
        };
        let caught_up = batch.len() < BATCH;
        if let Some((last, _)) = batch.last() {
            let last = *last;
            if !send_all(&mut socket, batch).await {
                close_with(&mut socket, "ConsumerTooSlow", "Stream consumer too slow").await;
                return;
            }
            position = last;
        }
        if caught_up && !wait_for_events(&mut notifications, &mut socket).await {
            return;
        }
    }
}

/// Waits for new events, answering pings and noticing a client that went away (false then).
async fn wait_for_events(notifications: &mut watch::Receiver<u64>, socket: &mut WebSocket) -> bool {
    loop {
        tokio::select! {
            changed = notifications.changed() => return changed.is_ok(),
            incoming = socket.recv() => match incoming {
                None | Some(Err(_)) | Some(Ok(WsMessage::Close(_))) => return false,
                Some(Ok(_)) => {}
            },
            () = tokio::time::sleep(PING_INTERVAL) => {
                if socket.send(WsMessage::Ping(Vec::new().into())).await.is_err() {
                    return false;
                }
            }
        }
    }
}

/// The PDS's `subscribeRepos` route.
pub async fn subscribe_repos(
    axum::extract::State(state): axum::extract::State<super::AppState>,
    request: Request,
) -> Response {
    let log = state.pds.events().clone();
    serve("pds", log, state.pds_tail.clone(), &state, request).await
}
