//! What `benches/appview.rs` needs from the App View, and nothing more: open one over a fresh
//! store, index a stream of `#commit` frames through the real consumer path (an event log read
//! after the cursor, prepare, group-committed write jobs, cursor), call the views the benchmark
//! measures, and read table sizes. The App View is crate-private; this facade keeps it so while letting the bench target
//! (a separate crate) drive it. The generated community and all measuring live in the bench.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::future::BoxFuture;
use serde_json::Value as Json;

use super::AppviewError;
use super::index::AccountChange;
use super::{
    Appview, AppviewConfig, AuthorFeedParams, EventSource, ListNotificationsParams, RepoPage,
    SourceRepos, ThreadParams, TimelineParams,
};
use crate::core::firehose::{Frame, Message, decode_frame};
use crate::identity::{PlcClient, Resolver};
use crate::store::{EventLog, LogTable, Store, StoreError};

/// Builds the frame of one seq (1-based); `None` skips it.
pub type FrameFn = Arc<dyn Fn(u64) -> Option<Vec<u8>> + Send + Sync>;

/// (table name, stored bytes, metadata bytes, fragmented bytes).
pub type TableStats = Vec<(&'static str, u64, u64, u64)>;

/// An App View over its own store, with no network: the PLC directory and every PDS point at a
/// closed loopback port, and handles are written up front instead of resolved.
pub struct BenchAppview {
    appview: Appview,
    store: Store,
}

impl BenchAppview {
    /// Opens a new store in `dir` and records `accounts` as (DID, handle) with verified handles.
    pub async fn open(dir: &Path, accounts: &[(String, String)]) -> Result<Self, String> {
        let store = Store::open(dir).map_err(|e| e.to_string())?;
        let http = crate::net::Outbound::new(true);
        let unreachable = "http://127.0.0.1:9";
        let plc = PlcClient::Remote {
            http: http.clone(),
            url: unreachable.into(),
        };
        let resolver = Resolver::new(http.clone(), plc, unreachable);
        let config = AppviewConfig {
            service_did: "did:web:bench.invalid".into(),
            public_url: "http://bench.invalid".into(),
            local_mode: true,
            labelers: Vec::new(),
        };
        let appview = Appview::open(store.clone(), config, resolver, http)
            .await
            .map_err(|e| e.to_string())?;
        // Handles are known up front: drain the identity queue without resolving anything.
        if let Some(mut queue) = appview.inner.identity_receiver.lock().await.take() {
            tokio::spawn(async move { while queue.recv().await.is_some() {} });
        }
        for chunk in accounts.chunks(1000) {
            let changes = chunk
                .iter()
                .map(|(did, handle)| {
                    let change = AccountChange::Identity {
                        handle: Some(handle.clone()),
                        pds: Some("http://bench.invalid".into()),
                    };
                    (did.clone(), change)
                })
                .collect();
            appview
                .write_identities(changes)
                .await
                .map_err(|e| e.to_string())?;
        }
        Ok(BenchAppview { appview, store })
    }

    /// Writes frames 1..=`total` into an event log of the bench's store (untimed), then indexes
    /// them through the real consumer path and returns how long indexing took once the stored
    /// cursor reaches `total`, or fails after `deadline` so a stuck indexer cannot hang the
    /// benchmark.
    pub async fn index(
        &self,
        total: u64,
        frames: FrameFn,
        deadline: Duration,
    ) -> Result<Duration, String> {
        let log = EventLog::new(self.store.clone(), BENCH_LOG);
        let mut next = 1;
        while next <= total {
            let end = total.min(next + FILL_BATCH - 1);
            let messages: Vec<Message> = (next..=end)
                .filter_map(|seq| frames(seq))
                .filter_map(|frame| match decode_frame(&frame) {
                    Ok(Frame::Message(message)) => Some(message),
                    _ => None,
                })
                .collect();
            let writer = log.clone();
            self.store
                .write(move |txn| {
                    for message in messages {
                        writer.append(txn, message)?;
                    }
                    Ok(Ok::<_, StoreError>(()))
                })
                .await
                .map_err(|e| e.to_string())?;
            next = end + 1;
        }
        let source = EventSource {
            name: "bench",
            log,
            repos: Arc::new(NoRepos),
        };
        let key = "cursor:bench".to_owned();
        let follower = self.appview.clone();
        let started = Instant::now();
        let indexing = tokio::spawn(async move { follower.follow(source).await });
        self.appview.start_search_index();
        let result = loop {
            tokio::time::sleep(Duration::from_millis(50)).await;
            match self.appview.stored_cursor(key.clone()).await {
                // Indexing is done once the post search index (its own file) has caught up too.
                Ok(Some(cursor))
                    if cursor >= total
                        && matches!(self.appview.search_caught_up().await, Ok(true)) =>
                {
                    break Ok(started.elapsed());
                }
                Ok(_) if started.elapsed() > deadline => {
                    break Err(format!("indexing did not finish within {deadline:?}"));
                }
                Ok(_) => {}
                Err(e) => break Err(e.to_string()),
            }
        };
        indexing.abort();
        result
    }

    pub async fn get_timeline(&self, viewer: &str, limit: u16) -> Result<Json, String> {
        let params = TimelineParams {
            limit: Some(limit.into()),
            cursor: None,
        };
        let out = self.appview.get_timeline(viewer.to_owned(), params).await;
        out.map_err(|e| e.to_string())
    }

    pub async fn get_post_thread(&self, viewer: &str, uri: &str) -> Result<Json, String> {
        let params = ThreadParams {
            uri: uri.to_owned(),
            depth: None,
            parent_height: None,
        };
        let out = self
            .appview
            .get_post_thread(Some(viewer.to_owned()), params)
            .await;
        out.map_err(|e| e.to_string())
    }

    pub async fn get_author_feed(
        &self,
        viewer: &str,
        actor: &str,
        limit: u16,
    ) -> Result<Json, String> {
        let params = AuthorFeedParams {
            actor: actor.to_owned(),
            limit: Some(limit.into()),
            ..Default::default()
        };
        let out = self
            .appview
            .get_author_feed(Some(viewer.to_owned()), params)
            .await;
        out.map_err(|e| e.to_string())
    }

    pub async fn list_notifications(&self, viewer: &str) -> Result<Json, String> {
        let params = ListNotificationsParams::default();
        let out = self
            .appview
            .list_notifications(viewer.to_owned(), params)
            .await;
        out.map_err(|e| e.to_string())
    }

    /// Sizes of every `appview.*` table.
    pub fn table_stats(&self) -> Result<TableStats, String> {
        let txn = self.store.read_now().map_err(|e| e.to_string())?;
        super::tables::table_stats(&txn).map_err(|e| e.to_string())
    }

    /// Lets the writer commit what is queued and closes the store.
    pub async fn shutdown(self) {
        self.appview.shutdown().await;
        self.store.shutdown().await;
    }
}

/// The bench's log (frames written up front, then indexed).
const BENCH_LOG: LogTable = LogTable::new("bench.seq");
/// Frames written per transaction while filling the log.
const FILL_BATCH: u64 = 10_000;

/// The benchmark has no repos to export or list.
struct NoRepos;

impl SourceRepos for NoRepos {
    fn export_repo(&self, _did: &str) -> BoxFuture<'_, Result<Vec<u8>, AppviewError>> {
        let refusal = AppviewError::Upstream("the benchmark has no repo exports".to_owned());
        Box::pin(async { Err(refusal) })
    }

    fn list_repos(&self, _cursor: Option<String>) -> BoxFuture<'_, Result<RepoPage, AppviewError>> {
        Box::pin(async { Ok((Vec::new(), None)) })
    }
}
