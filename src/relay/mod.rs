//! The mini relay: follows the local PDS (in-process) and remote PDS hosts (WebSockets), verifies
//! every event (sync 1.1), keeps per-repo state and a copy of remote repos, and re-serves one merged,
//! re-sequenced firehose.
//!
//! Spec: <https://atproto.com/specs/sync> (the message validation checklist),
//! <https://atproto.com/specs/event-stream>, <https://atproto.com/specs/account>, and the
//! account-lifecycle guide. What is dropped and why is listed in docs/BEHAVIORS.md; every drop is
//! counted per reason.

mod backfill;
#[doc(hidden)]
pub mod bench_support;
mod budget;
mod carry;
mod counters;
mod forget;
mod hosts;
mod identities;
mod ingest;
mod local;
mod read;
mod rows;
mod scope;
mod status;
mod subscriber;
mod tables;

use std::collections::HashSet;
use std::sync::Arc;

use bytes::Bytes;
use futures_util::future::BoxFuture;
use tokio::sync::mpsc;

pub use counters::Counters;

use crate::identity::Resolver;
use crate::store::{EventLog, Store, StoreError};

/// How the relay is set up.
#[derive(Clone, Debug)]
pub struct RelayConfig {
    /// Hosts to follow from the start (`host[:port]`).
    pub hosts: Vec<String>,
    /// Local network: plain `ws://`/`http://` and `localhost` hosts are allowed.
    pub local_mode: bool,
    /// An upstream relay to take the carried accounts' events from (instead of their PDSes).
    pub upstream: Option<String>,
    /// The operator's additions to the carried set (`--relay-follow-dids`), never dropped; the
    /// rest of it is every account a local member follows.
    pub followed_dids: HashSet<String>,
    /// How long an account no member follows any more stays carried.
    pub unfollow_grace: std::time::Duration,
    /// Accept commits without `prevData` (from hosts that predate sync 1.1).
    pub lenient: bool,
    /// How long re-served events are kept for cursor replay.
    pub retention_micros: i64,
    /// New hosts `requestCrawl` may add per day (indigo's `HostPerDayLimit`).
    pub new_hosts_per_day: u32,
    /// Accounts a host the operator did not configure may bring (indigo's `DefaultRepoLimit`).
    pub host_account_limit: u64,
    /// Repo exports fetched at once for resyncs and backfills.
    pub resync_concurrency: usize,
    /// Bytes of repo exports held in memory at once, all downloads together; also the largest
    /// export fetched.
    pub resync_memory: usize,
}

/// The local PDS as the relay sees it: its host name, its event log (read directly) and its repos.
/// Wired in `app.rs`, so the relay never imports the PDS.
#[derive(Clone)]
pub struct LocalPds {
    /// The PDS's host as DID documents name it (`host[:port]`).
    pub hostname: String,
    pub log: EventLog,
    pub repos: Arc<dyn LocalRepos>,
}

/// The local PDS's repos.
pub trait LocalRepos: Send + Sync + 'static {
    /// A full CAR export of a local repo (the PDS's refusals as the relay's errors).
    fn export_repo(&self, did: &str) -> BoxFuture<'_, Result<CarStream, RelayError>>;
}

/// A CAR export as a stream of chunks.
pub type CarStream = mpsc::Receiver<Result<Bytes, std::io::Error>>;

/// Why a relay call failed.
#[derive(Debug, thiserror::Error)]
pub enum RelayError {
    /// 400 InvalidRequest.
    #[error("{0}")]
    InvalidRequest(String),
    /// 400 RepoNotFound.
    #[error("{0}")]
    RepoNotFound(String),
    /// 400 RepoTakendown.
    #[error("{0}")]
    RepoTakendown(String),
    /// 400 RepoSuspended.
    #[error("{0}")]
    RepoSuspended(String),
    /// 400 RepoDeactivated (deactivated, deleted, or another status that is not active).
    #[error("{0}")]
    RepoDeactivated(String),
    /// 400 RepoDesynchronized.
    #[error("{0}")]
    RepoDesynchronized(String),
    /// 404 HostNotFound.
    #[error("{0}")]
    HostNotFound(String),
    /// 400 for a host the relay refuses to crawl.
    #[error("{0}")]
    HostBanned(String),
    /// 502 UpstreamFailure.
    #[error("{0}")]
    Upstream(String),
    /// 429 RateLimitExceeded (the day's budget of new hosts is spent).
    #[error("{0}")]
    RateLimited(String),
    /// 500.
    #[error("{0}")]
    Internal(String),
}

impl From<StoreError> for RelayError {
    fn from(e: StoreError) -> Self {
        RelayError::Internal(e.to_string())
    }
}

crate::store::storage_errors!(RelayError);

/// The relay service. Cheap to clone.
#[derive(Clone)]
pub struct Relay {
    inner: Arc<Inner>,
}

struct Inner {
    store: Store,
    config: RelayConfig,
    http: crate::net::Outbound,
    identities: identities::IdentityCache,
    /// `relay.seq`: the merged, re-sequenced stream.
    log: EventLog,
    local: Option<LocalPds>,
    counters: Counters,
    /// Repos waiting for or in a resync (so one is not fetched twice at once); bounded.
    resyncing: std::sync::Mutex<HashSet<String>>,
    /// Resyncs that may fetch at once.
    resync_slots: Arc<tokio::sync::Semaphore>,
    /// Memory for the exports being fetched.
    resync_memory: budget::ByteBudget,
    /// Accounts of each host with an account limit: those stored when it was first counted, and
    /// the new DIDs admitted since.
    host_accounts: std::sync::Mutex<std::collections::HashMap<String, (u64, HashSet<String>)>>,
    /// Hosts with a running subscription task.
    running: std::sync::Mutex<HashSet<String>>,
    /// The accounts carried from hosts followed in part.
    scope: scope::Scope,
    /// PDS hosts followed only for the carried accounts they serve (not for all of them).
    scoped_hosts: std::sync::RwLock<HashSet<String>>,
    /// The PDS host of each carried account, as last resolved (to retire hosts nobody needs).
    carried_hosts: std::sync::Mutex<std::collections::HashMap<String, String>>,
    /// Scoped hosts no carried account lives on any more: their subscriptions end.
    retired_hosts: std::sync::RwLock<HashSet<String>>,
    /// Whether the members' follows were set once since start (the first time, accounts the relay
    /// already holds were carried before the restart and need no backfill).
    scope_seeded: std::sync::atomic::AtomicBool,
    /// Remote accounts stored at start that came from scoped hosts or the upstream relay, until
    /// the first member set releases those no member needs ([`forget`]).
    stored_carried: std::sync::Mutex<Option<HashSet<String>>>,
    /// Accounts that left the carried set, for whoever forgets their indexed content ([`forget`]).
    dropped_sender: mpsc::UnboundedSender<Vec<String>>,
    dropped_receiver: std::sync::Mutex<Option<mpsc::UnboundedReceiver<Vec<String>>>>,
}

impl Relay {
    pub fn new(
        store: Store,
        config: RelayConfig,
        resolver: Resolver,
        http: crate::net::Outbound,
        local: Option<LocalPds>,
    ) -> Relay {
        let (dropped_sender, dropped_receiver) = mpsc::unbounded_channel();
        Relay {
            inner: Arc::new(Inner {
                log: EventLog::new(store.clone(), tables::SEQ),
                identities: identities::IdentityCache::new(resolver),
                resync_slots: Arc::new(tokio::sync::Semaphore::new(
                    config.resync_concurrency.max(1),
                )),
                resync_memory: budget::ByteBudget::new(config.resync_memory),
                scope: scope::Scope::new(config.followed_dids.clone(), config.unfollow_grace),
                scoped_hosts: std::sync::RwLock::new(HashSet::new()),
                carried_hosts: std::sync::Mutex::new(std::collections::HashMap::new()),
                retired_hosts: std::sync::RwLock::new(HashSet::new()),
                scope_seeded: std::sync::atomic::AtomicBool::new(false),
                stored_carried: std::sync::Mutex::new(None),
                dropped_sender,
                dropped_receiver: std::sync::Mutex::new(Some(dropped_receiver)),
                store,
                config,
                http,
                local,
                counters: Counters::default(),
                resyncing: std::sync::Mutex::new(HashSet::new()),
                running: std::sync::Mutex::new(HashSet::new()),
                host_accounts: std::sync::Mutex::new(std::collections::HashMap::new()),
            }),
        }
    }

    fn store(&self) -> &Store {
        &self.inner.store
    }

    pub fn counters(&self) -> &Counters {
        &self.inner.counters
    }

    /// The relay's merged event log (`subscribeRepos`, Jetstream, the App View).
    pub fn events(&self) -> &EventLog {
        &self.inner.log
    }

    /// Starts following the local PDS and every known host (configured, crawled before, upstream).
    pub async fn start(&self) -> Result<(), RelayError> {
        if self.inner.local.is_some() {
            let relay = self.clone();
            tokio::spawn(async move { relay.follow_local().await });
        }
        for host in self.inner.config.hosts.clone() {
            self.add_host(&host, false).await?;
        }
        if let Some(upstream) = self.inner.config.upstream.clone() {
            self.add_host(&upstream, true).await?;
        }
        self.load_scoped_hosts().await?;
        self.load_stored_carried().await?;
        for host in self.known_hosts().await? {
            // A host followed in part is followed again once an account carried there is.
            if !self.is_scoped_host(&host) {
                self.spawn_subscriber(&host);
            }
        }
        self.start_scope();
        let relay = self.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(std::time::Duration::from_secs(60 * 60));
            loop {
                tick.tick().await;
                let cutoff = crate::clock::now_micros() - relay.inner.config.retention_micros;
                if let Err(e) = relay.inner.log.prune(cutoff).await {
                    tracing::warn!(error = %e, "relay event pruning failed");
                }
            }
        });
        Ok(())
    }
}
