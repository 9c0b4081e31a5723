//! `/subscribe` on the relay listener: the merged stream as Jetstream-style JSON text frames,
//! filtered by `wantedCollections` (exact NSIDs or `prefix.*`) and `wantedDids`, resumable with
//! `cursor` (a relay seq).

use std::time::Duration;

use axum::extract::State;
use axum::extract::ws::{Message as WsMessage, WebSocket, WebSocketUpgrade};
use axum::response::Response;
use serde::Deserialize;

use super::RelayState;
use crate::core::firehose::{Frame, StreamStart, decode_frame, replay_start, to_jetstream};
use crate::http::xrpc::{XrpcError, XrpcQuery};
use crate::store::EventLog;

const SEND_TIMEOUT: Duration = Duration::from_secs(30);
const BATCH: usize = 500;
/// Most filter entries accepted (Jetstream's limits).
const MAX_COLLECTIONS: usize = 100;
const MAX_DIDS: usize = 10_000;

#[derive(Deserialize)]
pub struct Params {
    #[serde(default, rename = "wantedCollections")]
    wanted_collections: Vec<String>,
    #[serde(default, rename = "wantedDids")]
    wanted_dids: Vec<String>,
    cursor: Option<u64>,
}

struct Filter {
    collections: Vec<String>,
    dids: std::collections::HashSet<String>,
}

impl Filter {
    fn wants(&self, event: &serde_json::Value) -> bool {
        let did_ok =
            self.dids.is_empty() || event["did"].as_str().is_some_and(|d| self.dids.contains(d));
        let collection_ok = match event["commit"]["collection"].as_str() {
            None => true,
            Some(c) => {
                self.collections.is_empty()
                    || self.collections.iter().any(|w| match w.strip_suffix(".*") {
                        Some(prefix) => c.starts_with(prefix) && c[prefix.len()..].starts_with('.'),
                        None => w == c,
                    })
            }
        };
        did_ok && collection_ok
    }
}

pub async fn subscribe(
    State(state): State<RelayState>,
    XrpcQuery(params): XrpcQuery<Params>,
    ws: WebSocketUpgrade,
) -> Result<Response, XrpcError> {
    if params.wanted_collections.len() > MAX_COLLECTIONS || params.wanted_dids.len() > MAX_DIDS {
        return Err(XrpcError::invalid_request("too many filter entries"));
    }
    let filter = Filter {
        collections: params.wanted_collections,
        dids: params.wanted_dids.into_iter().collect(),
    };
    let log = state.relay.events().clone();
    Ok(ws.on_upgrade(move |socket| stream(log, socket, filter, params.cursor)))
}

async fn stream(log: EventLog, mut socket: WebSocket, filter: Filter, cursor: Option<u64>) {
    let mut notifications = log.notifications();
    let Ok((oldest, newest)) = log.bounds().await else {
        return;
    };
    let mut position = match replay_start(cursor, oldest, newest) {
        StreamStart::After(seq) | StreamStart::Outdated(seq) => seq,
        StreamStart::Future => newest,
    };
    loop {
        let Ok(batch) = log.after(position, BATCH).await else {
            return;
        };
        let caught_up = batch.len() < BATCH;
        for (seq, frame) in batch {
            position = seq;
            let Ok(Frame::Message(message)) = decode_frame(&frame) else {
                continue;
            };
            for event in to_jetstream(&message, seq) {
                if !filter.wants(&event) {
                    continue;
                }
                let sent = tokio::time::timeout(
                    SEND_TIMEOUT,
                    socket.send(WsMessage::Text(event.to_string().into())),
                )
                .await;
                if !matches!(sent, Ok(Ok(()))) {
                    return;
                }
            }
        }
        if caught_up {
            tokio::select! {
                changed = notifications.changed() => if changed.is_err() { return },
                incoming = socket.recv() => if matches!(incoming, None | Some(Err(_)) | Some(Ok(WsMessage::Close(_)))) { return },
            }
        }
    }
}
