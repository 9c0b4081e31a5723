//! Following a remote host's `subscribeRepos` over a WebSocket: reconnecting with backoff, resuming
//! from the stored cursor, and passing every frame to ingest.
//!
//! Spec: <https://atproto.com/specs/event-stream>. A frame for an account the relay does not carry
//! is dropped after reading only its header and its body's `seq` and account
//! (`core::firehose::peek_frame`): a busy upstream sends mostly those, and decoding them whole (the
//! CAR slice included) would cost most of a core. A frame that does not decode is counted and skipped
//! (one bad frame does not cost the host its connection); a frame over the size limit ends the
//! connection, which is then re-established after the cursor.

use std::collections::VecDeque;
use std::time::Duration;

use futures_util::StreamExt;
use tokio_tungstenite::tungstenite::Message as WsMessage;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

use super::ingest::{Ingested, Origin, QueuedCommit, set_cursor};
use super::rows::HostRow;
use super::status::{DropReason, HostStatus};
use super::{Relay, RelayError};
use crate::core::firehose::{Frame, MAX_FRAME_LEN, Message, decode_frame, peek_frame};

const MIN_BACKOFF: Duration = Duration::from_secs(1);
const MAX_BACKOFF: Duration = Duration::from_secs(60);
/// Commits of one host checked and queued for writing but not yet known durable. While they wait,
/// the next frames are decoded and verified, so one fsync serves many events (group commit) instead
/// of each event waiting for its own.
const MAX_QUEUED_COMMITS: usize = 256;
/// A connection with nothing (not even a ping) for this long is presumed dead.
const IDLE_TIMEOUT: Duration = Duration::from_secs(120);
/// How often the cursor moves past events filtered out (accounts not carried) when nothing kept
/// moves it: a write per filtered event would cost a busy upstream's rate in commits, and what a
/// crash loses is only a few seconds of events to filter again.
const FILTERED_CURSOR_INTERVAL: Duration = Duration::from_secs(2);

/// The newest upstream seq filtered out and not yet stored as the host's cursor.
struct Filtered {
    seq: Option<u64>,
    stored_at: std::time::Instant,
}

impl Filtered {
    fn new() -> Filtered {
        Filtered {
            seq: None,
            stored_at: std::time::Instant::now(),
        }
    }
}

/// How a connection to a host ended.
struct Ended {
    /// Whether the WebSocket was established (the host was reachable) before it ended.
    connected: bool,
    error: RelayError,
}

/// The pause before reconnecting, and the backoff after that. A connection that was established
/// resets the backoff: a host that restarts now and then is not made to wait as long as one that
/// has been unreachable for minutes.
fn backoff_after(backoff: Duration, connected: bool) -> (Duration, Duration) {
    let pause = if connected { MIN_BACKOFF } else { backoff };
    (pause, (pause * 2).min(MAX_BACKOFF))
}

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
        let mut was_connected = false;
        loop {
            let row = match self.host_row(host).await {
                Ok(Some(row)) => row,
                Ok(None) => return,
                // The node is stopping.
                Err(_) if self.store().is_closed() => return,
                Err(e) => {
                    tracing::error!(%host, error = %e, "reading host state failed");
                    tokio::time::sleep(backoff).await;
                    continue;
                }
            };
            if row.status == HostStatus::Banned || self.is_retired(host) {
                return;
            }
            if was_connected
                && row.scoped
                && row.cursor == 0
                && let Err(e) = self.catch_up_quiet_host(host).await
            {
                tracing::warn!(%host, error = %e, "catching up a quiet host's accounts failed");
            }
            let ended = self.connect_once(host, &row).await;
            was_connected |= ended.connected;
            let (pause, next) = backoff_after(backoff, ended.connected);
            tracing::info!(%host, error = %ended.error, retry_in = ?pause, "host connection ended");
            let _ = self.set_host_status(host, HostStatus::Offline).await;
            tokio::time::sleep(pause).await;
            backoff = next;
        }
    }

    /// One connection, until it ends. Commits still queued for writing are waited for before the
    /// next connection reads the stored cursor.
    async fn connect_once(&self, host: &str, row: &HostRow) -> Ended {
        let mut connected = false;
        let mut queued = VecDeque::new();
        let mut filtered = Filtered::new();
        let error = match self
            .connect_and_read(host, row, &mut connected, &mut queued, &mut filtered)
            .await
        {
            Ok(never) => match never {},
            Err(e) => e,
        };
        let error = match self.settle_all(&mut queued).await {
            Ok(()) => error,
            Err(e) => e,
        };
        let error = match self.store_filtered_cursor(host, &mut filtered).await {
            Ok(()) => error,
            Err(e) => e,
        };
        Ended { connected, error }
    }

    /// Moves the host's cursor past the events filtered out since the last time. Queued behind
    /// the commits before them, so the cursor never passes a kept event that is not durable.
    async fn store_filtered_cursor(
        &self,
        host: &str,
        filtered: &mut Filtered,
    ) -> Result<(), RelayError> {
        filtered.stored_at = std::time::Instant::now();
        let Some(seq) = filtered.seq.take() else {
            return Ok(());
        };
        let host = host.to_owned();
        // The answer is not awaited: the write is ordered with the others all the same.
        let _answer = self
            .store()
            .write_queued(move |txn| {
                set_cursor(txn, &host, seq)?;
                Ok(Ok::<_, RelayError>(()))
            })
            .await?;
        Ok(())
    }

    /// Drops an event for an account the relay does not carry, having read only the frame header
    /// and the body's `seq` and account; `false` if the event is to be decoded and checked.
    async fn filter_out(
        &self,
        host: &str,
        origin: Origin<'_>,
        bytes: &[u8],
        filtered: &mut Filtered,
    ) -> Result<bool, RelayError> {
        let peek = match peek_frame(bytes) {
            Ok(peek) => peek,
            Err(e) => {
                tracing::debug!(%host, error = %e, "undecodable frame");
                self.inner.counters.drop_event(DropReason::UndecodableFrame);
                return Ok(true);
            }
        };
        let Some(did) = peek.did else {
            return Ok(false);
        };
        if self.carries(origin, did) {
            return Ok(false);
        }
        self.inner.counters.drop_event(DropReason::NotFollowed);
        if let Some(seq) = peek.seq.and_then(|s| u64::try_from(s).ok()) {
            filtered.seq = Some(filtered.seq.map_or(seq, |s| s.max(seq)));
        }
        if filtered.stored_at.elapsed() >= FILTERED_CURSOR_INTERVAL {
            self.store_filtered_cursor(host, filtered).await?;
        }
        Ok(true)
    }

    /// Waits for every queued commit, oldest first.
    async fn settle_all(&self, queued: &mut VecDeque<QueuedCommit>) -> Result<(), RelayError> {
        while let Some(commit) = queued.pop_front() {
            self.settle(commit).await?;
        }
        Ok(())
    }

    /// Connects, then ingests frames until the connection fails; sets `connected` once it is up.
    async fn connect_and_read(
        &self,
        host: &str,
        row: &HostRow,
        connected: &mut bool,
        queued: &mut VecDeque<QueuedCommit>,
        filtered: &mut Filtered,
    ) -> Result<std::convert::Infallible, RelayError> {
        let scheme = if self.scheme(host) == "http" {
            "ws"
        } else {
            "wss"
        };
        // A host followed for a few carried accounts starts live: their history comes by backfill,
        // and replaying everything else the host ever sequenced would only be filtered out.
        let url = if row.scoped && row.cursor == 0 {
            format!("{scheme}://{host}/xrpc/com.atproto.sync.subscribeRepos")
        } else {
            format!(
                "{scheme}://{host}/xrpc/com.atproto.sync.subscribeRepos?cursor={}",
                row.cursor
            )
        };
        let mut config = WebSocketConfig::default();
        config.max_message_size = Some(MAX_FRAME_LEN + 1024);
        config.max_frame_size = Some(MAX_FRAME_LEN + 1024);
        let mut socket = self
            .inner
            .http
            .websocket(&url, self.trust_for(host), config)
            .await
            .map_err(|e| RelayError::Upstream(format!("connect: {e}")))?;
        *connected = true;
        self.set_host_status(host, HostStatus::Active).await?;
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
                        self.inner.counters.drop_event(DropReason::FrameTooLarge);
                    }
                    return Err(RelayError::Upstream(format!("read: {e}")));
                }
                Some(Ok(m)) => m,
            };
            if self.is_retired(host) {
                return Err(RelayError::Upstream(
                    "no carried account lives on the host any more".into(),
                ));
            }
            let bytes = match message {
                WsMessage::Binary(bytes) => bytes,
                WsMessage::Close(_) => return Err(RelayError::Upstream("closed by host".into())),
                _ => continue,
            };
            if self.filter_out(host, origin, &bytes, filtered).await? {
                continue;
            }
            match decode_frame(&bytes) {
                Ok(Frame::Message(message)) => {
                    let seq = message
                        .seq()
                        .and_then(|s| u64::try_from(s).ok())
                        .unwrap_or(0);
                    if !matches!(message, Message::Commit(_)) {
                        // #sync, #identity and #account read the stored repo: it must be current.
                        self.settle_all(queued).await?;
                    }
                    match self.ingest_queued(origin, seq, message).await? {
                        Ingested::Done => {}
                        Ingested::Queued(commit) => queued.push_back(commit),
                    }
                    // Settle what is already durable, and bound the queue.
                    while queued.len() >= MAX_QUEUED_COMMITS
                        || queued.front().is_some_and(QueuedCommit::is_answered)
                    {
                        if let Some(commit) = queued.pop_front() {
                            self.settle(commit).await?;
                        }
                    }
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
                    self.inner.counters.drop_event(DropReason::UndecodableFrame);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::{MAX_BACKOFF, MIN_BACKOFF, backoff_after};

    #[track_caller]
    fn check(backoff: u64, connected: bool, pause: u64, next: u64) {
        assert_eq!(
            backoff_after(Duration::from_secs(backoff), connected),
            (Duration::from_secs(pause), Duration::from_secs(next))
        );
    }

    #[test]
    fn backoff_grows_while_unreachable_and_resets_after_a_connection() {
        assert_eq!(
            (MIN_BACKOFF, MAX_BACKOFF),
            (Duration::from_secs(1), Duration::from_secs(60))
        );
        check(1, false, 1, 2);
        check(2, false, 2, 4);
        check(32, false, 32, 60);
        check(60, false, 60, 60);
        // A connection that came up and later dropped starts over.
        check(60, true, 1, 2);
        check(8, true, 1, 2);
    }
}
