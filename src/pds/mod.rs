//! The Personal Data Server: accounts, sessions, repositories, blobs, identity operations and the
//! local event log.
//!
//! Spec: <https://atproto.com/specs/xrpc>, <https://atproto.com/specs/repository>,
//! <https://atproto.com/specs/account>, <https://atproto.com/specs/blob>. Behaviour where the specs
//! are silent follows the reference PDS (`@atproto/pds`).
//!
//! Every repo write runs inside one store job: it reads the current root, applies the ops to the MST,
//! signs the commit and writes blocks, records, blob references and the `#commit` event in the same
//! transaction. The writer thread serialises all writes, so two writes to one repo can never race.

mod access;
mod account_email;
mod account_store;
mod accounts;
mod admin;
mod admin_roles;
mod app_passwords;
mod audit;
mod auth;
mod blob_store;
mod blobs;
mod crawlers;
mod did_web;
mod email;
mod error;
mod events;
mod handles;
mod identity_ops;
mod invites;
mod lifecycle;
mod mailer;
mod migration;
mod oauth;
mod password_hashing;
mod preferences;
mod proxy;
mod refresh_tokens;
mod repo_read;
mod repo_store;
mod repo_write;
mod reports;
mod rows;
mod secrets;
mod service_auth;
mod signing_keys;
mod sync_read;
#[cfg(test)]
mod tests;

use std::sync::{Arc, Mutex};

pub use crate::store::Usage as StorageUsage;
pub use access::Call;
pub use accounts::NewAccount;
pub use admin::AdminAccount;
pub use audit::{Actor, AuditEntry, MAX_AUDIT_PAGE};
pub use auth::{AccessScope, AuthedAccount, SessionOutput};
pub use blobs::MAX_BLOB_SIZE;
pub use crawlers::{CrawlerStatus, crawler_url};
pub use error::PdsError;
pub use invites::InviteInfo;
pub use lifecycle::{Moderation, Subject};
pub use oauth::{AuthorizationView, OAuthError, Params as OAuthParams};
pub use proxy::ProxyRequest;
pub use repo_read::MAX_LIST_LIMIT;
pub use repo_write::{CommitResult, WriteAction, WriteOp, WriteResult};
pub use reports::{MAX_REPORTS_PAGE, ReportFilter};
pub use rows::{AccountStatus, ReportRow, ReportState, ReportSubject};
pub use sync_read::Reader;

use crate::clock::Clock;
use crate::core::lexicon::Catalog;
use crate::core::syntax::{Did, TidClock};
use crate::identity::{HandleResolver, PlcClient, Resolver};
use crate::store::{EventLog, Store};

/// Where app.bsky.* requests go when the App View is not the built-in one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServiceRef {
    /// `did#service_id`, the `aud` of the service-auth tokens we mint.
    pub did_ref: String,
    pub url: String,
}

/// What the PDS needs from the configuration (`app.rs` builds it).
#[derive(Clone, Debug)]
pub struct PdsConfig {
    pub public_url: String,
    pub hostname: String,
    pub service_did: Did,
    pub handle_domains: Vec<String>,
    pub invite_required: bool,
    pub appview: Option<ServiceRef>,
    /// SMTP URL and From address, when mail is configured.
    pub smtp: Option<(String, String)>,
    /// New accounts get `did:web:<handle>`.
    pub did_web: bool,
    /// Relays asked to crawl this PDS (base URLs, see [`crawler_url`]).
    pub crawlers: Vec<String>,
}

/// The PDS service. Cheap to clone.
#[derive(Clone)]
pub struct Pds {
    inner: Arc<Inner>,
}

struct Inner {
    store: Store,
    /// `pds.seq`: every event, appended in the transaction of the change it describes.
    log: EventLog,
    config: PdsConfig,
    secrets: secrets::Secrets,
    plc: PlcClient,
    resolver: Resolver,
    handles: HandleResolver,
    http: crate::net::Outbound,
    /// Argon2 on its own bounded pool.
    hashing: password_hashing::PasswordHashing,
    /// Repo imports running (each holds its whole repo in memory).
    imports: Arc<tokio::sync::Semaphore>,
    /// Record keys and revs: TIDs that only grow.
    tids: Mutex<TidClock>,
    /// Wall-clock time (a manual clock in tests).
    clock: Clock,
    /// Lexicons records are validated against.
    catalog: Arc<Catalog>,
    /// SMTP, when configured; otherwise codes wait for the admin.
    mailer: Option<mailer::Mailer>,
    /// Parsed signing keys, so the writer thread does not re-derive a public key per commit.
    signing_keys: signing_keys::SigningKeys,
    /// The OAuth server's keys, nonces and caches.
    oauth: oauth::Runtime,
    /// The relays told about this server, and when each is asked next.
    crawlers: crawlers::Crawlers,
}

impl Pds {
    /// Opens the PDS over `store`, creating server secrets on first start.
    pub async fn open(
        store: Store,
        config: PdsConfig,
        plc: PlcClient,
        resolver: Resolver,
        http: crate::net::Outbound,
        catalog: Arc<Catalog>,
        clock: Clock,
    ) -> Result<Pds, PdsError> {
        let secrets = secrets::Secrets::load_or_create(&store).await?;
        let indexed = store
            .write(|txn| Ok(Ok::<_, PdsError>(refresh_tokens::index_existing(txn)?)))
            .await?;
        if indexed > 0 {
            tracing::info!(
                count = indexed,
                "indexed the stored refresh tokens by account"
            );
        }
        let mailer = match &config.smtp {
            Some((url, from)) => {
                Some(mailer::Mailer::new(url, from).map_err(PdsError::InvalidRequest)?)
            }
            None => None,
        };
        let oauth = oauth::Runtime::open(&store, http.clone(), !http.guarded()).await?;
        let clock_id = u16::from_be_bytes([secrets.jwt_key[0], secrets.jwt_key[1]]) & 0x3ff;
        Ok(Pds {
            inner: Arc::new(Inner {
                crawlers: crawlers::Crawlers::new(config.crawlers.clone()),
                log: EventLog::new(store.clone(), events::SEQ),
                store,
                config,
                secrets,
                plc,
                resolver,
                handles: HandleResolver::new(http.clone()),
                http,
                hashing: password_hashing::PasswordHashing::start(),
                imports: Arc::new(tokio::sync::Semaphore::new(
                    migration::MAX_CONCURRENT_IMPORTS,
                )),
                tids: Mutex::new(TidClock::new(clock_id)),
                clock,
                catalog,
                mailer,
                signing_keys: signing_keys::SigningKeys::default(),
                oauth,
            }),
        })
    }

    pub fn config(&self) -> &PdsConfig {
        &self.inner.config
    }

    fn store(&self) -> &Store {
        &self.inner.store
    }

    /// The clock the PDS reads (injected: tests move it), for handlers that compute its times.
    pub fn clock(&self) -> &Clock {
        &self.inner.clock
    }

    /// Password hashes (argon2) computed since the start.
    pub fn password_hashes(&self) -> u64 {
        self.inner.hashing.hashes()
    }

    /// Why the store cannot write now, if it cannot (a full disk).
    pub fn store_failure(&self) -> Option<String> {
        self.inner.store.write_failure()
    }
}
