//! Following configured labelers: each labeler's `com.atproto.label.subscribeLabels` stream (at
//! the `#atproto_labeler` endpoint of its DID document) is read after a stored cursor; every label
//! must come from that labeler (`src`) and carry a valid signature by its `#atproto_label` key
//! (re-resolved once on a bad signature); a negation removes the label; `getServices` shows the
//! labeler's `app.bsky.labeler.service` record.
//!
//! Spec: <https://atproto.com/specs/label>. Labels are applied to views by `hydrate`; the value
//! `!takedown` hides the labeled content, as the reference treats its moderation labeler's
//! takedowns.

use std::sync::atomic::Ordering;
use std::time::Duration;

use futures_util::StreamExt;
use serde::Deserialize;
use serde_json::{Value as Json, json};
use tokio_tungstenite::tungstenite::Message as WsMessage;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

use super::hydrate::{Ctx, typed};
use super::index::Index;
use super::read;
use super::rows::{self, LabelRow};
use super::{Appview, AppviewError};
use crate::core::crypto::PublicKey;
use crate::core::label::{Label, LabelFrame, decode_label_frame};
use crate::core::syntax::Did;
use crate::net::Trust;

/// How long a labeler connection may stay silent before it is reopened.
const IDLE_TIMEOUT: Duration = Duration::from_secs(10 * 60);
/// Longest pause between reconnection attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(60);
/// Largest label frame read (a frame of many labels; the connection ends on a larger one).
const MAX_LABEL_FRAME: usize = 4 * 1024 * 1024;

#[derive(Debug, Default, Deserialize)]
pub struct ServicesParams {
    #[serde(default)]
    pub dids: Vec<String>,
    pub detailed: Option<bool>,
}

impl Appview {
    /// Follows one labeler for as long as the process runs.
    pub(super) async fn follow_labeler(&self, did: String) {
        let mut backoff = Duration::from_secs(1);
        loop {
            match self.follow_labeler_once(&did).await {
                Ok(()) => backoff = Duration::from_secs(1),
                Err(e) => {
                    tracing::warn!(labeler = %did, error = %e, "labeler stream stopped");
                }
            }
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(MAX_BACKOFF);
        }
    }

    /// The labeler's stream URL and signing key.
    async fn labeler_identity(&self, did: &str) -> Result<(String, PublicKey), AppviewError> {
        let parsed = Did::parse(did)
            .map_err(|e| AppviewError::InvalidRequest(format!("labeler {did}: {e}")))?;
        let document = self
            .inner
            .resolver
            .resolve(&parsed)
            .await
            .map_err(|e| AppviewError::Upstream(e.to_string()))?;
        let endpoint = document
            .service_endpoint("#atproto_labeler", "AtprotoLabeler")
            .ok_or_else(|| AppviewError::Upstream(format!("{did} names no labeler service")))?
            .trim_end_matches('/')
            .to_owned();
        let key = document
            .key_for("#atproto_label")
            .map_err(|e| AppviewError::Upstream(format!("{did} label key: {e}")))?;
        Ok((endpoint, key))
    }

    async fn follow_labeler_once(&self, did: &str) -> Result<(), AppviewError> {
        let (endpoint, mut key) = self.labeler_identity(did).await?;
        let cursor_key = format!("labeler:{did}");
        let cursor = self.stored_cursor(cursor_key.clone()).await?.unwrap_or(0);
        let ws = endpoint
            .replacen("https://", "wss://", 1)
            .replacen("http://", "ws://", 1);
        let url = format!("{ws}/xrpc/com.atproto.label.subscribeLabels?cursor={cursor}");
        let mut config = WebSocketConfig::default();
        config.max_message_size = Some(MAX_LABEL_FRAME);
        config.max_frame_size = Some(MAX_LABEL_FRAME);
        let mut socket = self
            .inner
            .http
            .websocket(&url, Trust::Public, config)
            .await
            .map_err(|e| AppviewError::Upstream(format!("connect: {e}")))?;
        tracing::info!(labeler = %did, cursor, "following labeler");
        loop {
            let next = tokio::time::timeout(IDLE_TIMEOUT, socket.next())
                .await
                .map_err(|_| AppviewError::Upstream("idle for too long".into()))?;
            let bytes = match next {
                None => return Ok(()),
                Some(Err(e)) => return Err(AppviewError::Upstream(format!("read: {e}"))),
                Some(Ok(WsMessage::Binary(bytes))) => bytes,
                Some(Ok(WsMessage::Close(_))) => return Ok(()),
                Some(Ok(_)) => continue,
            };
            let (seq, labels) = match decode_label_frame(&bytes) {
                Ok(LabelFrame::Labels { seq, labels }) => (seq, labels),
                Ok(LabelFrame::Other) => continue,
                Ok(LabelFrame::Error(e)) => {
                    return Err(AppviewError::Upstream(format!("labeler error {e}")));
                }
                Err(e) => {
                    tracing::debug!(labeler = %did, error = %e, "undecodable label frame");
                    continue;
                }
            };
            let mut accepted = Vec::new();
            for label in labels {
                if label.src != did {
                    continue;
                }
                if label.verify(&key).is_err() {
                    // The key may have rotated: look again once.
                    match self.labeler_identity(did).await {
                        Ok((_, fresh)) => key = fresh,
                        Err(_) => continue,
                    }
                    if label.verify(&key).is_err() {
                        tracing::debug!(labeler = %did, uri = %label.uri, "label with a bad signature dropped");
                        continue;
                    }
                }
                accepted.push(label);
            }
            let count = accepted.len() as u64;
            self.store_labels(accepted, &cursor_key, u64::try_from(seq).unwrap_or(0))
                .await?;
            self.inner
                .counters
                .labels
                .fetch_add(count, Ordering::Relaxed);
        }
    }

    /// Stores verified labels (a negation removes its label) and the stream cursor.
    async fn store_labels(
        &self,
        labels: Vec<Label>,
        cursor_key: &str,
        seq: u64,
    ) -> Result<(), AppviewError> {
        let cursor_key = cursor_key.to_owned();
        let now = u64::try_from(crate::clock::now_micros()).unwrap_or(0);
        self.store()
            .write(move |txn| {
                let mut ix = Index::open(txn, now)?;
                for label in &labels {
                    let key = (label.uri.as_str(), label.src.as_str(), label.val.as_str());
                    if label.neg == Some(true) {
                        ix.t.labels.table_mut()?.remove(key)?;
                    } else {
                        let row = LabelRow {
                            ver: label.ver,
                            cid: label.cid.clone(),
                            neg: false,
                            cts: label.cts.clone(),
                            exp: label.exp.clone(),
                            sig: label.sig.clone().unwrap_or_default(),
                        };
                        ix.t.labels
                            .table_mut()?
                            .insert(key, rows::encode(&row)?.as_slice())?;
                    }
                }
                ix.t.meta.table_mut()?.insert(cursor_key.as_str(), seq)?;
                Ok(Ok::<_, AppviewError>(()))
            })
            .await
    }

    /// `app.bsky.labeler.getServices`.
    pub async fn get_services(
        &self,
        viewer: Option<String>,
        params: ServicesParams,
    ) -> Result<Json, AppviewError> {
        let config = self.config().clone();
        self.read_view(move |t| {
            let ctx = Ctx::new(t, &config, viewer.as_deref())?;
            let detailed = params.detailed.unwrap_or(false);
            let mut views = Vec::new();
            for did in &params.dids {
                let Some(id) = read::actor_id(t, did)? else {
                    continue;
                };
                if t.labeler_services.table()?.get(id)?.is_none() {
                    continue;
                }
                if let Some(view) = ctx.labeler_view(id, detailed)? {
                    views.push(if detailed {
                        typed("app.bsky.labeler.defs#labelerViewDetailed", view)
                    } else {
                        typed("app.bsky.labeler.defs#labelerView", view)
                    });
                }
            }
            Ok(json!({"views": views}))
        })
        .await
    }
}
