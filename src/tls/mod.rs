//! TLS for the node's own names: certificates from an ACME CA (RFC 8555) or the operator's files,
//! stored in redb (`tls.*` tables), chosen per handshake by SNI, issued on demand for hosted
//! handles, and renewed before they expire.
//!
//! - `acme`: the ACME client (instant-acme): account, orders, `http-01` (RFC 8555 §8.3),
//!   `tls-alpn-01` (RFC 8737) and `dns-01` (RFC 8555 §8.4, through the operator's hook), and
//!   ACME Renewal Information (RFC 9773).
//! - `certs`, `tables`: the certificate store. `challenges`: challenge responses in flight.
//! - `resolver`: the rustls certificate resolver (SNI, RFC 6066; ALPN, RFC 7301).
//! - `listener`: the HTTPS accept loop. `on_demand`: which handle names get certificates.
//! - `issuance`: one order at a time per name, back-off. `renew`: the renewal task.
//!
//! TLS depends on no service: which handles exist comes through the [`HostPolicy`] trait that
//! `app.rs` implements with the PDS. It serves no HTTP itself: `http` answers HTTP-01 requests by
//! asking [`Tls::http01`].

mod acme;
mod certs;
mod challenges;
mod dns01;
mod issuance;
mod listener;
mod on_demand;
mod renew;
mod resolver;
mod status;
mod tables;
mod x509;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

pub use listener::HttpsListener;
pub use on_demand::HostPolicy;
pub use status::TlsStatus;

use crate::clock::now_secs;
use crate::store::{Store, StoreError};
use certs::{CertRow, CertSource, CertStore, LiveCert};
use challenges::{ACME_TLS_ALPN, Challenges};
use issuance::{Issuance, Request};
use resolver::{CertResolver, FILES_KEY};

/// Where certificates come from.
#[derive(Clone, Debug)]
pub enum TlsMode {
    /// No TLS: plain HTTP only (local networks, or behind a reverse proxy).
    Off,
    /// The operator's certificate chain and key (PEM), re-read when they change.
    Files { cert: PathBuf, key: PathBuf },
    /// An ACME CA.
    Acme(AcmeConfig),
}

/// ACME settings.
#[derive(Clone, Debug)]
pub struct AcmeConfig {
    /// The CA's directory URL.
    pub directory_url: String,
    /// An extra root certificate (PEM) trusted for the CA's own HTTPS (a test CA such as pebble).
    pub ca_root: Option<PathBuf>,
    /// Contact email given to the CA (expiry notices).
    pub contact: Option<String>,
    /// The challenge used for the main hostname and for handles on demand.
    pub challenge: ChallengeKind,
    /// The DNS-01 hook, needed for the handle wildcard.
    pub dns01_hook: Option<PathBuf>,
}

/// An ACME challenge type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChallengeKind {
    Http01,
    TlsAlpn01,
    Dns01,
}

impl ChallengeKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ChallengeKind::Http01 => "http-01",
            ChallengeKind::TlsAlpn01 => "tls-alpn-01",
            ChallengeKind::Dns01 => "dns-01",
        }
    }
}

/// How handle hosts (`alice.example.com`) get certificates.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HandleCerts {
    /// One certificate per handle, at its first handshake.
    OnDemand,
    /// One `*.<handle domain>` certificate through DNS-01.
    Wildcard,
    /// None: handle hosts get no certificate (handles verified by DNS TXT only).
    Off,
}

/// What the TLS module needs from the configuration.
#[derive(Clone, Debug)]
pub struct TlsConfig {
    pub mode: TlsMode,
    /// The HTTPS listener.
    pub https_listen: SocketAddr,
    /// The plain-HTTP listener for HTTP-01 and redirects (`None`: not bound).
    pub http_listen: Option<SocketAddr>,
    /// The main hostname, without a port.
    pub hostname: String,
    /// Handle suffixes, each starting with a dot.
    pub handle_domains: Vec<String>,
    pub handle_certs: HandleCerts,
}

impl TlsConfig {
    /// TLS off (local mode and reverse proxies).
    pub fn off(hostname: String, handle_domains: Vec<String>) -> TlsConfig {
        TlsConfig {
            mode: TlsMode::Off,
            https_listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            http_listen: None,
            hostname,
            handle_domains,
            handle_certs: HandleCerts::Off,
        }
    }

    pub fn enabled(&self) -> bool {
        !matches!(self.mode, TlsMode::Off)
    }
}

/// Why getting or serving a certificate failed.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The CA refused or failed (its problem document, or a transport error).
    #[error("ACME: {0}")]
    Acme(String),
    /// The CA answered `rateLimited`.
    #[error("ACME rate limit: {0}")]
    RateLimited(String),
    #[error("DNS-01 hook: {0}")]
    Dns01Hook(String),
    #[error("certificate: {0}")]
    BadCertificate(String),
    #[error("configuration: {0}")]
    Config(String),
    /// The name failed recently and waits out its back-off.
    #[error("backing off until {until} after: {last_error}")]
    BackingOff { until: i64, last_error: String },
    /// Too many names are being issued at once.
    #[error("too many certificate orders in flight")]
    Busy,
    #[error("internal: {0}")]
    Internal(String),
}

/// The TLS service. Cheap to clone.
#[derive(Clone)]
pub struct Tls {
    inner: Arc<Inner>,
}

struct Inner {
    config: TlsConfig,
    certs: CertStore,
    challenges: Challenges,
    acme: Option<acme::Acme>,
    policy: Arc<dyn HostPolicy>,
    issuance: Issuance,
    server_config: Arc<rustls::ServerConfig>,
    renew_wake: tokio::sync::Notify,
    /// Modification times of the operator's files when last read.
    files_seen: Mutex<Option<(std::time::SystemTime, std::time::SystemTime)>>,
}

impl Tls {
    /// Opens the certificate store and, with `--tls files`, reads the operator's certificate (an
    /// unreadable or mismatched pair stops the start).
    pub async fn open(
        store: Store,
        config: TlsConfig,
        policy: Arc<dyn HostPolicy>,
    ) -> Result<Tls, TlsError> {
        let certs = CertStore::load(store.clone()).await?;
        let challenges = Challenges::default();
        let acme = match &config.mode {
            TlsMode::Acme(acme) => Some(acme::Acme::new(
                acme.clone(),
                store.clone(),
                challenges.clone(),
            )),
            TlsMode::Off | TlsMode::Files { .. } => None,
        };
        let files = matches!(config.mode, TlsMode::Files { .. });
        let resolver = CertResolver::new(
            certs.clone(),
            challenges.clone(),
            config.hostname.clone(),
            files,
        );
        let mut server_config = rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .map_err(|e| TlsError::Internal(e.to_string()))?
        .with_no_client_auth()
        .with_cert_resolver(Arc::new(resolver));
        server_config.alpn_protocols =
            vec![b"h2".to_vec(), b"http/1.1".to_vec(), ACME_TLS_ALPN.to_vec()];
        let tls = Tls {
            inner: Arc::new(Inner {
                config,
                certs,
                challenges,
                acme,
                policy,
                issuance: Issuance::default(),
                server_config: Arc::new(server_config),
                renew_wake: tokio::sync::Notify::new(),
                files_seen: Mutex::new(None),
            }),
        };
        if files {
            tls.load_files()?;
        }
        Ok(tls)
    }

    /// Starts the background task that obtains and renews certificates.
    pub fn start(&self) {
        tokio::spawn(renew::run(self.clone()));
    }

    /// The rustls configuration of the HTTPS listener.
    pub fn server_config(&self) -> Arc<rustls::ServerConfig> {
        self.inner.server_config.clone()
    }

    /// The key authorization to answer at `/.well-known/acme-challenge/<token>`, while an order
    /// waits for it.
    pub fn http01(&self, token: &str) -> Option<String> {
        self.inner.challenges.http01(token)
    }

    /// What an operator sees: certificates, renewals, failures.
    pub fn status(&self) -> TlsStatus {
        status::status(self)
    }

    fn challenge_kind(&self) -> ChallengeKind {
        match &self.inner.config.mode {
            TlsMode::Acme(acme) => acme.challenge,
            TlsMode::Off | TlsMode::Files { .. } => ChallengeKind::Http01,
        }
    }

    /// The certificates the node always needs: its hostname's, and the handle wildcard's when
    /// configured.
    fn required(&self) -> Vec<Request> {
        let config = &self.inner.config;
        let mut required = vec![Request {
            key: config.hostname.clone(),
            names: vec![config.hostname.clone()],
            kind: self.challenge_kind(),
            on_demand: false,
            renewing: None,
        }];
        if config.handle_certs == HandleCerts::Wildcard {
            for domain in &config.handle_domains {
                let wildcard = format!("*{domain}");
                required.push(Request {
                    key: wildcard.clone(),
                    names: vec![wildcard],
                    kind: ChallengeKind::Dns01,
                    on_demand: false,
                    renewing: None,
                });
            }
        }
        required
    }

    async fn obtain(&self, request: Request) -> Result<Arc<LiveCert>, TlsError> {
        let Some(acme) = self.inner.acme.as_ref() else {
            return Err(TlsError::Config("ACME is not configured".into()));
        };
        let cert = self
            .inner
            .issuance
            .obtain(acme, &self.inner.certs, request)
            .await?;
        // The renewal task sleeps until the earliest known renewal; a new certificate may be due
        // earlier than that.
        self.inner.renew_wake.notify_one();
        Ok(cert)
    }

    /// Makes sure a certificate for `name` (the ClientHello's SNI; `None`: no SNI) is in the store
    /// if the node should have one, issuing it on demand. Refusals are silent: the resolver then
    /// finds nothing and the handshake fails.
    pub async fn prepare(&self, name: Option<&str>) {
        let config = &self.inner.config;
        let name = name.unwrap_or(&config.hostname);
        if self.inner.acme.is_none() || self.has_certificate_for(name) {
            return;
        }
        // A name waiting out its back-off is not retried (nor logged) at every handshake.
        if let Some(attempt) = self.inner.certs.attempt(name)
            && attempt.next_attempt > now_secs()
        {
            return;
        }
        if name == config.hostname {
            let mut required = self.required();
            required.truncate(1);
            if let Some(request) = required.pop()
                && let Err(error) = self.obtain(request).await
            {
                tracing::warn!(%name, %error, "no certificate for the main hostname");
            }
            return;
        }
        if config.handle_certs != HandleCerts::OnDemand
            || !on_demand::eligible(name, &config.handle_domains)
        {
            return;
        }
        if !self.inner.policy.allows(name).await {
            tracing::debug!(%name, "no certificate on demand: not a hosted handle");
            return;
        }
        let issued = on_demand::issued_in_window(
            self.inner
                .certs
                .all()
                .iter()
                .filter(|(_, c)| c.row.on_demand)
                .map(|(_, c)| c.row.first_issued_at),
            now_secs(),
        );
        if issued >= on_demand::WEEKLY_BUDGET {
            tracing::warn!(%name, issued, "no certificate on demand: the weekly budget of new names is used up (consider --handle-certs wildcard)");
            return;
        }
        if !self.inner.policy.may_issue(name).await {
            tracing::warn!(%name, "no certificate on demand: this account's share of new names is used up for now");
            return;
        }
        let request = Request {
            key: name.to_owned(),
            names: vec![name.to_owned()],
            kind: self.challenge_kind(),
            on_demand: true,
            renewing: None,
        };
        if let Err(error) = self.obtain(request).await {
            tracing::warn!(%name, %error, "on-demand certificate failed");
        }
    }

    fn has_certificate_for(&self, name: &str) -> bool {
        self.inner.certs.get(name).is_some()
            || resolver::wildcard_for(name).is_some_and(|w| self.inner.certs.get(&w).is_some())
    }

    /// Reads the operator's certificate files into memory.
    fn load_files(&self) -> Result<(), TlsError> {
        let TlsMode::Files { cert, key } = &self.inner.config.mode else {
            return Ok(());
        };
        let read = |path: &PathBuf| {
            std::fs::read(path).map_err(|e| TlsError::Config(format!("{}: {e}", path.display())))
        };
        let modified = |path: &PathBuf| {
            std::fs::metadata(path)
                .and_then(|m| m.modified())
                .unwrap_or(std::time::UNIX_EPOCH)
        };
        let seen = (modified(cert), modified(key));
        let chain_pem = String::from_utf8(read(cert)?)
            .map_err(|_| TlsError::Config(format!("{} is not PEM text", cert.display())))?;
        let key_pem = String::from_utf8(read(key)?)
            .map_err(|_| TlsError::Config(format!("{} is not PEM text", key.display())))?;
        let now = now_secs();
        let live = LiveCert::from_row(CertRow {
            names: Vec::new(),
            chain_pem,
            key_pem,
            source: CertSource::Files,
            directory: String::new(),
            on_demand: false,
            issued_at: now,
            first_issued_at: now,
            renew_at: i64::MAX,
            ari_next_check: None,
        })
        .map_err(|e| TlsError::Config(format!("{} / {}: {e}", cert.display(), key.display())))?;
        if !live.facts.dns_names.is_empty()
            && !live.facts.dns_names.iter().any(|n| {
                n == &self.inner.config.hostname
                    || resolver::wildcard_for(&self.inner.config.hostname).as_ref() == Some(n)
            })
        {
            tracing::warn!(
                names = ?live.facts.dns_names,
                hostname = %self.inner.config.hostname,
                "the certificate file does not name this host"
            );
        }
        tracing::info!(
            file = %cert.display(),
            not_after = live.facts.not_after,
            "serving the operator's certificate"
        );
        self.inner.certs.set_memory_only(FILES_KEY, live);
        if let Ok(mut slot) = self.inner.files_seen.lock() {
            *slot = Some(seen);
        }
        Ok(())
    }

    /// Re-reads the operator's files when either changed; a bad new pair keeps the old one.
    fn reload_files_if_changed(&self) {
        let TlsMode::Files { cert, key } = &self.inner.config.mode else {
            return;
        };
        let modified = |path: &PathBuf| std::fs::metadata(path).and_then(|m| m.modified()).ok();
        let now = (modified(cert), modified(key));
        let seen = self.inner.files_seen.lock().ok().and_then(|s| *s);
        let changed = match (now, seen) {
            ((Some(c), Some(k)), Some((sc, sk))) => c != sc || k != sk,
            _ => false,
        };
        if changed && let Err(error) = self.load_files() {
            tracing::warn!(%error, "the changed certificate files could not be loaded; still serving the previous certificate");
        }
    }
}
