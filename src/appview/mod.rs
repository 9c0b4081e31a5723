//! The App View: indexes `app.bsky.*` records from the relay's verified stream into `appview.*`
//! tables and serves the views Bluesky clients need (profiles, timelines, threads, likes, reposts,
//! follows, lists, notifications, search, feeds, bookmarks), with the viewer's state, blocks, mutes and
//! labels applied.
//!
//! Specs and references: the `app.bsky.*` lexicons (`../shared/lexicons/app/bsky/`), the account
//! lifecycle guide (<https://atproto.com/guides/account-lifecycle>), inter-service auth
//! (<https://atproto.com/specs/xrpc#inter-service-authentication-jwt>), labels
//! (<https://atproto.com/specs/label>), and where the lexicons are silent the reference App View
//! (`bluesky-social/atproto`, `packages/bsky`). Deviations are listed in docs/BEHAVIORS.md.
//!
//! Data flow: [`consumer`] reads the event log of an [`EventSource`] (the relay's merged log, or the
//! local PDS's when no relay runs) after a cursor stored in the same transaction as the index rows
//! it produces; `#sync` events and a first start on a log that no longer holds every event trigger
//! a backfill of whole repos ([`backfill`]); [`index`] applies each record; [`identity`] resolves
//! and verifies handles off the indexing path; views read the tables through [`read`] and build
//! lexicon shapes in [`hydrate`]. The App View never imports the PDS or the relay: `app.rs` wires
//! the event source.

mod actor;
mod auth;
mod backfill;
#[doc(hidden)]
pub mod bench_support;
mod bookmark;
mod consumer;
mod cursor;
mod error;
mod feed;
mod feedgen;
mod follow_graph;
mod follower;
mod forget;
mod graph;
mod hydrate;
mod identity;
mod index;
mod kind;
mod labeler;
mod moderation;
mod notification;
mod notification_prefs;
mod read;
mod records;
mod remote_post;
mod rows;
mod search;
mod search_index;
mod tables;
mod thread;
mod tokens;
mod viewer;

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;

use futures_util::future::BoxFuture;
use redb::ReadableTable;
use tokio::sync::{Mutex as AsyncMutex, mpsc};

pub use actor::{ProfileParams, ProfilesParams, SuggestionsParams};
pub use bookmark::{BookmarksParams, CreateBookmarkInput, DeleteBookmarkInput};
pub use error::AppviewError;
pub use feed::{
    ActorPageParams, AuthorFeedParams, ListFeedParams, SubjectParams, TimelineParams, UrisParams,
};
pub use feedgen::{FeedParams, FeedsParams};
pub use graph::{
    GraphParams, ListInput, ListParams, ListsParams, MuteActorInput, PageParams,
    RelationshipsParams, StarterPackParams, ThreadInput,
};
pub use labeler::ServicesParams;
pub use moderation::{StatusAttr as AppviewStatusAttr, SubjectStatusInput, SubjectStatusParams};
pub use notification::{ListNotificationsParams, PushInput, UnreadCountParams, UpdateSeenInput};
pub use notification_prefs::PutPriorityInput;
pub use search::{SearchActorsParams, SearchPostsParams};
pub use thread::ThreadParams;

use crate::core::crypto::PublicKey;
use crate::identity::{HandleResolver, Resolver};
use crate::store::{EventLog, Store, StoreError};

/// A page of repo DIDs and the cursor of the next page.
pub type RepoPage = (Vec<String>, Option<String>);

/// What the App View indexes: a stored event log (read directly) and the repos behind it. Wired
/// in `app.rs` to the relay (or to the local PDS when the relay is off), so the App View never
/// imports either.
#[derive(Clone)]
pub struct EventSource {
    /// A name for the source; the App View keeps one cursor per name, so switching sources
    /// (turning the relay on) starts over with a backfill.
    pub name: &'static str,
    pub log: EventLog,
    pub repos: Arc<dyn SourceRepos>,
}

/// The repos behind an [`EventSource`]'s log.
pub trait SourceRepos: Send + Sync + 'static {
    /// A full CAR export of a repo.
    fn export_repo(&self, did: &str) -> BoxFuture<'_, Result<Vec<u8>, AppviewError>>;
    /// A page of the DIDs of every repo behind the log, and the cursor of the next page.
    fn list_repos(&self, cursor: Option<String>) -> BoxFuture<'_, Result<RepoPage, AppviewError>>;
}

/// What the App View needs from the configuration.
#[derive(Clone, Debug)]
pub struct AppviewConfig {
    /// `did:web:<host>`: the `aud` service-auth tokens must carry (with or without
    /// `#bsky_appview`), and the DID of the built-in feed generator.
    pub service_did: String,
    /// This server's public URL (image URLs of accounts whose PDS is unknown point here).
    pub public_url: String,
    /// Local network: handles under non-public domains are checked against the PDS that hosts
    /// them (see docs/BEHAVIORS.md).
    pub local_mode: bool,
    /// DIDs of labelers whose labels are applied to views.
    pub labelers: Vec<String>,
}

/// Counters of the indexer's work, for `/admin/stats`-style reporting and the benchmark.
#[derive(Default)]
pub struct Counters {
    /// The seq of the source's last event indexed (the App View's lag is the source's head minus
    /// this).
    pub cursor: AtomicU64,
    pub events: AtomicU64,
    pub records: AtomicU64,
    pub backfills: AtomicU64,
    pub labels: AtomicU64,
    /// Records removed because their account left the carried set ([`forget`]).
    pub forgotten_records: AtomicU64,
    /// Accounts whose forgetting finished.
    pub forgotten_accounts: AtomicU64,
}

/// The App View service. Cheap to clone.
#[derive(Clone)]
pub struct Appview {
    inner: Arc<Inner>,
}

struct Inner {
    store: Store,
    config: AppviewConfig,
    resolver: Resolver,
    handles: HandleResolver,
    http: crate::net::Outbound,
    /// DIDs whose handle needs (re)checking.
    identity_queue: mpsc::Sender<String>,
    identity_receiver: AsyncMutex<Option<mpsc::Receiver<String>>>,
    /// Signing keys of service-auth issuers: DID → (key, resolved at micros).
    keys: std::sync::Mutex<HashMap<String, (PublicKey, i64)>>,
    counters: Counters,
    /// Bumped when the follow graph may have changed ([`follow_graph`]).
    graph_changes: tokio::sync::watch::Sender<u64>,
    /// DIDs of the local PDS's members (`app.rs` keeps it current), for [`follow_graph`].
    members: std::sync::RwLock<std::collections::HashSet<String>>,
    /// Whether `members` was set since start ([`forget`] waits for it).
    members_known: std::sync::atomic::AtomicBool,
    /// Woken when accounts are queued to be forgotten ([`forget`]).
    forgets_wanted: tokio::sync::Notify,
    /// `getRecord` requests of threads' missing posts in flight ([`remote_post`]).
    fetch_slots: tokio::sync::Semaphore,
    /// Posts that could not be fetched lately ([`remote_post`]).
    fetch_failures: remote_post::FetchFailures,
    /// What indexing in a log's transaction passes on once it is committed ([`follower`]).
    after_commit: follower::AfterCommit,
    /// Woken when a repo is queued for a whole backfill ([`backfill`]).
    backfills_wanted: tokio::sync::Notify,
    /// The post search index's own file and follower ([`search_index`]).
    search: search_index::SearchIndex,
}

/// DIDs waiting for identity resolution before the indexer waits for the resolver.
const IDENTITY_QUEUE: usize = 10_000;

impl Appview {
    /// Opens the App View over `store`, creating its tables.
    pub async fn open(
        store: Store,
        config: AppviewConfig,
        resolver: Resolver,
        http: crate::net::Outbound,
    ) -> Result<Appview, AppviewError> {
        store
            .write(|txn| {
                tables::create_all(txn).map_err(|e| StoreError::Database(e.to_string()))?;
                // The search terms moved to their own file, rebuilt from the posts.
                txn.delete_table(search_index::LEGACY_TERMS)?;
                let mut meta = txn.open_table(tables::META)?;
                if meta.get(search_index::EPOCH_KEY)?.is_none() {
                    let epoch = rand_core::RngCore::next_u64(&mut rand_core::OsRng).max(1);
                    meta.insert(search_index::EPOCH_KEY, epoch)?;
                }
                Ok(Ok::<_, AppviewError>(()))
            })
            .await?;
        let search = search_index::SearchIndex::open(&store)?;
        let (identity_queue, receiver) = mpsc::channel(IDENTITY_QUEUE);
        Ok(Appview {
            inner: Arc::new(Inner {
                store,
                config,
                resolver,
                handles: HandleResolver::new(http.clone()),
                http,
                identity_queue,
                identity_receiver: AsyncMutex::new(Some(receiver)),
                keys: std::sync::Mutex::new(HashMap::new()),
                counters: Counters::default(),
                graph_changes: tokio::sync::watch::Sender::new(0),
                members: Default::default(),
                members_known: std::sync::atomic::AtomicBool::new(false),
                forgets_wanted: tokio::sync::Notify::new(),
                fetch_slots: tokio::sync::Semaphore::new(remote_post::CONCURRENT_FETCHES),
                fetch_failures: remote_post::FetchFailures::default(),
                after_commit: follower::AfterCommit::default(),
                backfills_wanted: tokio::sync::Notify::new(),
                search,
            }),
        })
    }

    fn store(&self) -> &Store {
        &self.inner.store
    }

    pub fn config(&self) -> &AppviewConfig {
        &self.inner.config
    }

    /// What the indexer has done so far.
    pub fn counters(&self) -> &Counters {
        &self.inner.counters
    }

    /// Starts indexing `source`, resolving identities, and following the configured labelers.
    pub async fn start(&self, source: EventSource) {
        if let Some(receiver) = self.inner.identity_receiver.lock().await.take() {
            let appview = self.clone();
            tokio::spawn(async move { appview.resolve_identities(receiver).await });
        }
        tokio::spawn(self.clone().run_after_commit());
        tokio::spawn(self.clone().run_forgets());
        self.start_search_index();
        let appview = self.clone();
        tokio::spawn(async move { appview.follow(source).await });
        for labeler in self.inner.config.labelers.clone() {
            let appview = self.clone();
            tokio::spawn(async move { appview.follow_labeler(labeler).await });
        }
    }
}
