//! Following the local PDS in-process: its event log is read after the relay's cursor and every event
//! goes through the same checks as a remote host's.

use std::time::Duration;

use super::Relay;
use super::ingest::{LOCAL_HOST, Origin};
use crate::core::firehose::{Frame, decode_frame};

/// Events read per batch.
const BATCH: usize = 500;

impl Relay {
    pub(super) async fn follow_local(&self) {
        let Some(local) = self.inner.local.clone() else {
            return;
        };
        let mut notifications = local.log.notifications();
        loop {
            let cursor = match self.host_cursor(LOCAL_HOST).await {
                Ok(c) => c,
                // The node is stopping.
                Err(_) if local.log.is_closed() => return,
                Err(e) => {
                    tracing::error!(error = %e, "reading the local cursor failed");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    continue;
                }
            };
            let batch = match local.log.after(cursor, BATCH).await {
                Ok(b) => b,
                Err(_) if local.log.is_closed() => return,
                Err(e) => {
                    tracing::error!(error = %e, "reading local events failed");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    continue;
                }
            };
            let full = batch.len() == BATCH;
            let mut failed = false;
            for (seq, frame) in batch {
                match decode_frame(&frame) {
                    Ok(Frame::Message(message)) => {
                        let origin = Origin::Local(&local.hostname);
                        if let Err(e) = self.ingest(origin, seq, message).await {
                            if local.log.is_closed() {
                                return;
                            }
                            // Not skipped: the events after it would move the cursor past it for
                            // good. The batch is read again from the cursor after a pause.
                            tracing::error!(seq, error = %e, "local event failed");
                            tokio::time::sleep(Duration::from_secs(1)).await;
                            failed = true;
                            break;
                        }
                    }
                    _ => {
                        tracing::error!(seq, "undecodable local event");
                        let _ = self.skip(LOCAL_HOST, seq).await;
                    }
                }
            }
            if !full && !failed && notifications.changed().await.is_err() {
                return;
            }
        }
    }
}
