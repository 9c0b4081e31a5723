//! Following a remote host's `subscribeRepos` over a WebSocket: reconnecting with backoff, resuming
//! from the stored cursor, and passing every frame to ingest.
//!
//! Spec: <https://atproto.com/specs/event-stream>. A frame that does not decode is counted and skipped
//! (one bad frame does not cost the host its connection); a frame over the size limit ends the
//! connection, which is then re-established after the cursor.

use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use tokio_tungstenite::tungstenite::Message as WsMessage;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

use super::ingest::Origin;
use super::rows::HostRow;
use super::{Relay, RelayError};
use crate::core::firehose::{Frame, MAX_FRAME_LEN, decode_frame};

const MIN_BACKOFF: Duration = Duration::from_secs(1);
const MAX_BACKOFF: Duration = Duration::from_secs(60);
/// A connection with nothing (not even a ping) for this long is presumed dead.
const IDLE_TIMEOUT: Duration = Duration::from_secs(120);

impl Relay {
    /// Runs a subscription task for `host` unless one is running.
    pub(super) fn spawn_subscriber(&self, host: &str) {
        {
            let mut running = self
                .inner
                .running
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            if !running.insert(host.to_owned()) {
                return;
            }
        }
        let relay = self.clone();
        let host = host.to_owned();
        tokio::spawn(async move {
            relay.follow_host(&host).await;
            relay
                .inner
                .running
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .remove(&host);
        });
    }

    async fn follow_host(&self, host: &str) {
        let mut backoff = MIN_BACKOFF;
        loop {
            let row = match self.host_row(host).await {
                Ok(Some(row)) => row,
                Ok(None) => return,
                Err(e) => {
                    tracing::error!(%host, error = %e, "reading host state failed");
                    tokio::time::sleep(backoff).await;
                    continue;
                }
            };
            if row.status == "banned" {
                return;
            }
            match self.connect_once(host, &row).await {
                Ok(()) => backoff = MIN_BACKOFF,
                Err(e) => {
                    tracing::info!(%host, error = %e, retry_in = ?backoff, "host connection ended");
                    let _ = self.set_host_status(host, "offline").await;
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(MAX_BACKOFF);
                }
            }
        }
    }

    /// One connection: returns when it ends.
    async fn connect_once(&self, host: &str, row: &HostRow) -> Result<(), RelayError> {
        let scheme = if self.scheme(host) == "http" {
            "ws"
        } else {
            "wss"
        };
        let url = format!(
            "{scheme}://{host}/xrpc/com.atproto.sync.subscribeRepos?cursor={}",
            row.cursor
        );
        let mut config = WebSocketConfig::default();
        config.max_message_size = Some(MAX_FRAME_LEN + 1024);
        config.max_frame_size = Some(MAX_FRAME_LEN + 1024);
        let connector =
            tokio_tungstenite::Connector::Rustls(Arc::new(crate::net::tls_client_config_http1()));
        let (mut socket, _) = tokio::time::timeout(
            Duration::from_secs(30),
            tokio_tungstenite::connect_async_tls_with_config(
                &url,
                Some(config),
                false,
                Some(connector),
            ),
        )
        .await
        .map_err(|_| RelayError::Upstream("connect timed out".into()))?
        .map_err(|e| RelayError::Upstream(format!("connect: {e}")))?;
        self.set_host_status(host, "active").await?;
        tracing::info!(%host, cursor = row.cursor, "following host");
        let origin = if row.aggregator {
            Origin::Aggregator(host)
        } else {
            Origin::Host(host)
        };
        loop {
            let next = tokio::time::timeout(IDLE_TIMEOUT, socket.next())
                .await
                .map_err(|_| RelayError::Upstream("idle for too long".into()))?;
            let message = match next {
                None => return Err(RelayError::Upstream("connection closed".into())),
                Some(Err(e)) => {
                    if e.to_string().contains("too long") || e.to_string().contains("Space limit") {
                        self.inner.counters.drop_event("frame_too_large");
                    }
                    return Err(RelayError::Upstream(format!("read: {e}")));
                }
                Some(Ok(m)) => m,
            };
            let bytes = match message {
                WsMessage::Binary(bytes) => bytes,
                WsMessage::Close(_) => return Err(RelayError::Upstream("closed by host".into())),
                _ => continue,
            };
            match decode_frame(&bytes) {
                Ok(Frame::Message(message)) => {
                    let seq = message
                        .seq()
                        .and_then(|s| u64::try_from(s).ok())
                        .unwrap_or(0);
                    self.ingest(origin, seq, message).await?;
                }
                Ok(Frame::Error(error)) => {
                    tracing::warn!(%host, error = %error.error, message = ?error.message, "host sent an error");
                    if error.error == "FutureCursor" {
                        // The host's sequence restarted: follow it from its current position.
                        self.reset_cursor(host).await?;
                    }
                    return Err(RelayError::Upstream(format!("host error {}", error.error)));
                }
                Ok(Frame::Unknown(_)) => {}
                Err(e) => {
                    tracing::debug!(%host, error = %e, "undecodable frame");
                    self.inner.counters.drop_event("undecodable_frame");
                }
            }
        }
    }
}
