//! The composition root: opens the store, builds identity and the services, starts background work,
//! serves HTTP until SIGTERM/ctrl-c, then shuts down in order (stop accepting, finish requests, let
//! the writer commit what is queued).
//!
//! Listeners: `--listen` (plain HTTP, always), the relay's own (when on), and with TLS on the
//! HTTPS listener (the same router) and the port-80 listener (ACME HTTP-01 and redirects). TLS is
//! told which handle names to certify through [`HostedHandles`], the PDS-backed `HostPolicy`.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use futures_util::future::BoxFuture;
use tokio::net::TcpListener;

use crate::appview::{Appview, AppviewConfig, AppviewError, EventSource, RepoPage, SourceRepos};
use crate::clock::Clock;
use crate::config::{Config, Secret};
use crate::core::syntax::Did;
use crate::http::{
    AppServices, AppState, ListenerLimits, RedirectState, RelayState, fit_descriptor_limit,
    redirect_router, relay_router, router,
};
use crate::identity::{PlcClient, PlcDirectory, Resolver};
use crate::pds::{Pds, PdsConfig, PdsError, Reader};
use crate::ratelimit::RateLimits;
use crate::relay::{CarStream, LocalPds, LocalRepos, Relay, RelayError};
use crate::store::Store;
use crate::tls::{HostPolicy, HttpsListener, Tls};

/// How often uploads no record took up are collected.
const BLOB_GC_INTERVAL: Duration = Duration::from_secs(10 * 60);
/// How often expired refresh tokens are swept (and old events pruned).
const TOKEN_SWEEP_INTERVAL: Duration = Duration::from_secs(60 * 60);
/// How often suspensions that ran out are lifted.
const SUSPENSION_CHECK_INTERVAL: Duration = Duration::from_secs(60);
/// How long open connections may hold up shutdown after SIGTERM: an HTTP/2 client that never
/// acts on GOAWAY must not keep the process (and its queued writes) from stopping.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// The web UI's files, read on the blocking pool. The UI asks the built-in App View for app.bsky
/// calls, or the one the operator configured.
async fn web_ui(config: &Config) -> anyhow::Result<Arc<crate::web::WebUi>> {
    let shell = crate::web::ShellConfig {
        service_did: config.service_did.as_str().to_owned(),
        appview_proxy: match &config.appview {
            Some(appview) => appview.did_ref.clone(),
            None => format!("{}#bsky_appview", config.service_did),
        },
        public_url: config.public_url.clone(),
        hostname: config.hostname.clone(),
    };
    let web = tokio::task::spawn_blocking(move || crate::web::WebUi::load(shell))
        .await
        .context("preparing the web UI")?;
    let (files, raw, _, _) = web.sizes();
    tracing::debug!(
        version = web.version(),
        files,
        raw_bytes = raw,
        "web UI loaded"
    );
    Ok(Arc::new(web))
}

/// Runs the server on an already bound listener.
#[allow(
    clippy::too_many_lines,
    reason = "the composition root: one step per service, in start order"
)]
pub async fn serve(config: Config, listener: TcpListener) -> anyhow::Result<()> {
    let listeners = 1
        + usize::from(config.relay_listen.is_some())
        + if config.tls.enabled() {
            1 + usize::from(config.tls.http_listen.is_some())
        } else {
            0
        };
    let bounds = ListenerLimits {
        max_connections: fit_descriptor_limit(config.max_connections, listeners),
        header_timeout: config.header_timeout,
    };
    if bounds.max_connections < config.max_connections {
        tracing::warn!(
            configured = config.max_connections,
            used = bounds.max_connections,
            "the file-descriptor limit is too low for SKYHOLD_MAX_CONNECTIONS; raise LimitNOFILE"
        );
    }
    let store = Store::open(&config.data_dir).context("opening the data directory")?;
    let http = crate::net::Outbound::new(config.local_mode);
    let plc_directory = config
        .embedded_plc
        .then(|| PlcDirectory::new(store.clone()));
    let plc = match &plc_directory {
        Some(directory) => PlcClient::Embedded(directory.clone()),
        None => PlcClient::Remote {
            http: http.clone(),
            url: config.plc_url.clone(),
        },
    };
    let resolver = Resolver::new(http.clone(), plc.clone(), &config.plc_url);
    let catalog = Arc::new(match &config.lexicon_dir {
        Some(dir) => crate::lexicons::with_operator_schemas(dir)?,
        None => crate::lexicons::official()?,
    });
    let pds = Pds::open(
        store.clone(),
        pds_config(&config),
        plc,
        resolver.clone(),
        http.clone(),
        catalog,
        Clock::system(),
    )
    .await
    .context("opening the PDS")?;
    resolver.serve_local_documents(Arc::new(pds.clone()));
    let admin_password = admin_password(&config)?;
    let limits = RateLimits::open(store.clone(), config.rate_limits.clone())
        .await
        .context("loading the rate limits")?;
    limits.spawn_flush();

    spawn_background(pds.clone(), config.relay.retention_micros);

    let appview = Appview::open(
        store.clone(),
        AppviewConfig {
            service_did: config.service_did.as_str().to_owned(),
            public_url: config.public_url.clone(),
            local_mode: config.local_mode,
            labelers: config.appview_labelers.clone(),
        },
        resolver.clone(),
        http.clone(),
    )
    .await
    .context("opening the App View")?;

    // The App View indexes the relay's verified stream; without a relay, the local PDS's own log.
    let pds_repos = Arc::new(PdsRepos(pds.clone()));
    let mut appview_source = EventSource {
        name: "pds",
        log: pds.events().clone(),
        repos: pds_repos.clone(),
    };
    let mut relay_service = None;
    let relay_server = match config.relay_listen {
        Some(address) => {
            let relay_listener = TcpListener::bind(address)
                .await
                .with_context(|| format!("binding the relay listener {address}"))?;
            let local = LocalPds {
                hostname: config.hostname.clone(),
                log: pds.events().clone(),
                repos: pds_repos,
            };
            let relay = Relay::new(
                store.clone(),
                config.relay.clone(),
                resolver.clone(),
                http.clone(),
                Some(local),
            );
            relay.start().await.context("starting the relay")?;
            appview_source = EventSource {
                name: "relay",
                log: relay.events().clone(),
                repos: Arc::new(RelayRepos(relay.clone())),
            };
            relay_service = Some(relay.clone());
            let state = RelayState {
                relay,
                pds: pds.clone(),
                admin_password: admin_password.clone(),
                limits: limits.clone(),
                proxies: config.trusted_proxies.clone(),
                tail: Default::default(),
            };
            let address = relay_listener.local_addr()?;
            println!("skyhold relay listening on http://{address}");
            Some(tokio::spawn(crate::http::serve(
                relay_listener,
                relay_router(state),
                bounds,
                false,
                shutdown_signal(),
            )))
        }
        None => None,
    };

    appview.start(appview_source).await;
    if let Some(relay) = &relay_service {
        tokio::spawn(carry_member_follows(
            pds.clone(),
            appview.clone(),
            relay.clone(),
            config.carry_interactions,
        ));
        tokio::spawn(forget_dropped_accounts(appview.clone(), relay.clone()));
    }

    let tls = if config.tls.enabled() {
        let policy: Arc<dyn HostPolicy> = Arc::new(HostedHandles {
            pds: pds.clone(),
            limits: limits.clone(),
        });
        let tls = Tls::open(store.clone(), config.tls.clone(), policy)
            .await
            .context("starting TLS")?;
        Some(tls)
    } else {
        None
    };

    let web = web_ui(&config).await?;
    let crawling = pds.clone();
    let state = AppState::new(AppServices {
        web,
        pds,
        appview: appview.clone(),
        plc: plc_directory,
        admin_password,
        backups: crate::backup::Backups::new(store.clone(), config.data_dir.clone()),
        pds_tail: Default::default(),
        tls: tls.clone(),
        proxies: config.trusted_proxies.clone(),
        limits: limits.clone(),
        outbound: http.clone(),
        relay: relay_service,
        usage: Default::default(),
    });
    crate::http::start_sampler(&state);
    let app = router(state);
    let tls_servers = match &tls {
        Some(tls) => serve_tls(&config, tls, app.clone(), bounds).await?,
        None => Vec::new(),
    };
    let address = listener.local_addr()?;
    tracing::info!(
        %address,
        public_url = %config.public_url,
        plc = %config.plc_url,
        local_mode = config.local_mode,
        "serving"
    );
    // The readiness line tests and scripts wait for.
    println!("skyhold listening on http://{address}");
    let main_server = crate::http::serve(listener, app, bounds, false, shutdown_signal());
    // Only now: a relay that takes the request calls back (describeServer, subscribeRepos) at once.
    crawling.start_crawlers();
    tokio::select! {
        () = main_server => {}
        () = grace_expired() => tracing::warn!("connections still open after the shutdown grace period; closing them"),
    }
    for server in relay_server.into_iter().chain(tls_servers) {
        if tokio::time::timeout(SHUTDOWN_GRACE, server).await.is_err() {
            tracing::warn!("a listener still had open connections after the shutdown grace period");
        }
    }
    tracing::info!("shutting down: committing queued writes");
    if let Err(error) = limits.flush().await {
        tracing::warn!(%error, "saving rate limit windows failed");
    }
    appview.shutdown().await;
    store.shutdown().await;
    Ok(())
}

/// Binds the HTTPS listener and, when configured, the port-80 listener (each serves until
/// shutdown), then starts obtaining and renewing certificates.
async fn serve_tls(
    config: &Config,
    tls: &Tls,
    app: axum::Router,
    bounds: ListenerLimits,
) -> anyhow::Result<Vec<tokio::task::JoinHandle<()>>> {
    let mut servers = Vec::new();
    let https_address = config.tls.https_listen;
    let tcp = TcpListener::bind(https_address)
        .await
        .with_context(|| format!("binding the HTTPS listener {https_address}"))?;
    let bound = tcp.local_addr()?;
    let https = HttpsListener::new(tcp, tls.clone())?;
    servers.push(tokio::spawn(crate::http::serve(
        https,
        app,
        bounds,
        true,
        shutdown_signal(),
    )));
    println!("skyhold listening on https://{bound}");
    if let Some(http_address) = config.tls.http_listen {
        let tcp = TcpListener::bind(http_address)
            .await
            .with_context(|| format!("binding the HTTP listener {http_address}"))?;
        let bound = tcp.local_addr()?;
        let state = RedirectState {
            tls: tls.clone(),
            public_url: config.public_url.clone(),
            handle_domains: config.handle_domains.clone(),
        };
        servers.push(tokio::spawn(crate::http::serve(
            tcp,
            redirect_router(state),
            bounds,
            false,
            shutdown_signal(),
        )));
        println!("skyhold listening on http://{bound} (ACME HTTP-01, redirects to HTTPS)");
    }
    // Orders start only now: their challenges are answered on the listeners just bound.
    tls.start();
    Ok(servers)
}

/// Which names get TLS certificates on demand: handles of active accounts hosted on this PDS, each
/// account ordering at most `handle-cert-week` new names a week (its handle changes cannot use up
/// everyone's budget).
struct HostedHandles {
    pds: Pds,
    limits: RateLimits,
}

impl HostPolicy for HostedHandles {
    fn allows<'a>(&'a self, name: &'a str) -> BoxFuture<'a, bool> {
        Box::pin(async move {
            match self.pds.local_handle(name).await {
                Ok(Some((_, status))) => status.is_active(),
                Ok(None) => false,
                Err(error) => {
                    tracing::warn!(%error, "handle lookup for a TLS certificate failed");
                    false
                }
            }
        })
    }

    fn may_issue<'a>(&'a self, name: &'a str) -> BoxFuture<'a, bool> {
        Box::pin(async move {
            match self.pds.local_handle(name).await {
                Ok(Some((did, _))) => self
                    .limits
                    .consume(crate::ratelimit::LimitId::HandleCertWeek, &did, 1)
                    .is_ok(),
                _ => false,
            }
        })
    }
}

/// The admin password: configured, or (local mode only) generated once and kept in the data
/// directory, readable by its owner alone. Its value is never logged.
fn admin_password(config: &Config) -> anyhow::Result<Secret> {
    if !config.admin_password.expose().is_empty() {
        return Ok(config.admin_password.clone());
    }
    let path = config.data_dir.join("admin-password");
    if let Ok(existing) = std::fs::read_to_string(&path) {
        return Ok(Secret::new(existing.trim().to_owned()));
    }
    let mut bytes = [0u8; 18];
    rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, &mut bytes);
    let password = data_encoding::BASE64URL_NOPAD.encode(&bytes);
    write_private(&path, &password).with_context(|| format!("writing {}", path.display()))?;
    tracing::info!(file = %path.display(), "generated an admin password");
    Ok(Secret::new(password))
}

fn write_private(path: &std::path::Path, contents: &str) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(contents.as_bytes())?;
    file.sync_all()
}

fn spawn_background(pds: Pds, event_retention_micros: i64) {
    let gc = pds.clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(BLOB_GC_INTERVAL);
        loop {
            tick.tick().await;
            match gc.collect_temp_blobs().await {
                Ok(0) => {}
                Ok(n) => tracing::info!(count = n, "collected unreferenced uploads"),
                Err(e) => tracing::warn!(error = %e, "blob collection failed"),
            }
        }
    });
    let suspensions = pds.clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(SUSPENSION_CHECK_INTERVAL);
        loop {
            tick.tick().await;
            if let Err(e) = suspensions.lift_expired_suspensions().await {
                tracing::warn!(error = %e, "lifting expired suspensions failed");
            }
        }
    });
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(TOKEN_SWEEP_INTERVAL);
        loop {
            tick.tick().await;
            if let Err(e) = pds.sweep_refresh_tokens().await {
                tracing::warn!(error = %e, "refresh token sweep failed");
            }
            if let Err(e) = pds.sweep_oauth().await {
                tracing::warn!(error = %e, "OAuth session sweep failed");
            }
            let cutoff = crate::clock::now_micros() - event_retention_micros;
            if let Err(e) = pds.events().prune(cutoff).await {
                tracing::warn!(error = %e, "event log pruning failed");
            }
        }
    });
}

/// The local PDS's repos, as the relay reads them.
struct PdsRepos(Pds);

impl LocalRepos for PdsRepos {
    fn export_repo(&self, did: &str) -> BoxFuture<'_, Result<CarStream, RelayError>> {
        let did = Did::parse(did).map_err(|e| RelayError::InvalidRequest(e.to_string()));
        Box::pin(async move {
            let export = self.0.export_repo(&did?, None, Reader::Admin).await;
            export.map_err(|error| match error {
                // The repo's own state keeps its name; anything else is the PDS failing.
                PdsError::RepoNotFound(m) => RelayError::RepoNotFound(m),
                PdsError::RepoTakendown(m) => RelayError::RepoTakendown(m),
                PdsError::RepoSuspended(m) => RelayError::RepoSuspended(m),
                PdsError::RepoDeactivated(m) => RelayError::RepoDeactivated(m),
                other => RelayError::Upstream(other.to_string()),
            })
        })
    }
}

/// The PDS's part of the configuration.
fn pds_config(config: &Config) -> PdsConfig {
    PdsConfig {
        public_url: config.public_url.clone(),
        hostname: config.hostname.clone(),
        service_did: config.service_did.clone(),
        handle_domains: config.handle_domains.clone(),
        invite_required: config.invite_required,
        appview: config.appview.clone(),
        smtp: config.smtp_url.clone().zip(config.smtp_from.clone()),
        did_web: config.did_web,
        crawlers: config.crawlers.clone(),
    }
}

/// Resolves `SHUTDOWN_GRACE` after the shutdown signal.
async fn grace_expired() {
    shutdown_signal().await;
    tokio::time::sleep(SHUTDOWN_GRACE).await;
}

/// Collects a streamed CAR export (a failure on the way is the source failing).
async fn collect_car(
    stream: Result<CarStream, impl std::fmt::Display>,
) -> Result<Vec<u8>, AppviewError> {
    let upstream = |e: &dyn std::fmt::Display| AppviewError::Upstream(e.to_string());
    let mut stream = stream.map_err(|e| upstream(&e))?;
    let mut car = Vec::new();
    while let Some(chunk) = stream.recv().await {
        car.extend_from_slice(&chunk.map_err(|e| upstream(&e))?);
    }
    Ok(car)
}

/// A page of repos from a source's listing, for the App View (a failed listing is internal).
fn repo_page<R>(
    listed: Result<(Vec<R>, Option<String>), impl std::fmt::Display>,
    did: impl Fn(R) -> String,
) -> Result<RepoPage, AppviewError> {
    let (repos, next) = listed.map_err(|e| AppviewError::Internal(e.to_string()))?;
    Ok((repos.into_iter().map(did).collect(), next))
}

/// The repos behind the relay's merged log, for the App View.
/// Keeps the relay's carried set equal to what the local members need (follows, interactions,
/// subscribed lists: `appview/follow_graph.rs`), recomputed from the App View each time that may
/// have changed (and now and then, for members who left and interactions that ended).
async fn carry_member_follows(pds: Pds, appview: Appview, relay: Relay, interactions: usize) {
    let mut changes = appview.graph_changes();
    let mut identities_checked = tokio::time::Instant::now();
    loop {
        changes.borrow_and_update();
        match member_follows(&pds, &appview, interactions).await {
            Ok(follows) => relay.set_member_follows(follows),
            Err(error) => tracing::warn!(%error, "reading what members follow failed"),
        }
        if identities_checked.elapsed() >= CARRIED_IDENTITIES_REFRESH {
            identities_checked = tokio::time::Instant::now();
            appview.recheck_identities(relay.carried_dids()).await;
        }
        if let Ok(Err(_)) = tokio::time::timeout(MEMBER_FOLLOWS_REFRESH, changes.changed()).await {
            // The App View is gone: the node is stopping.
            return;
        }
        // Changes come in bursts (a member liking a thread, a backfill): one recomputation each.
        tokio::time::sleep(MEMBER_FOLLOWS_SETTLE).await;
    }
}

/// Has the App View forget what it indexed of each account the relay stopped carrying (a member
/// interaction keeps its post: `appview/index/forget.rs`), then the relay drop its copy. The App
/// View's queue is durable and the relay's copy goes last, so a restart in between finishes it.
async fn forget_dropped_accounts(appview: Appview, relay: Relay) {
    let Some(mut dropped) = relay.dropped_accounts() else {
        return;
    };
    while let Some(dids) = dropped.recv().await {
        // Followed again since it left: it stays whole.
        let dids: Vec<String> = dids
            .into_iter()
            .filter(|did| !relay.carries_account(did))
            .collect();
        if let Err(error) = appview.forget_accounts(dids.clone()).await {
            // The relay's copy stays: the next start finds the account and drops it again.
            tracing::warn!(%error, "queueing dropped accounts to be forgotten failed");
            continue;
        }
        if let Err(error) = relay.forget_repos(&dids).await {
            tracing::warn!(%error, "removing the relay's copies of dropped accounts failed");
        }
    }
}

/// How long the carried set waits after a change for the ones that follow it.
const MEMBER_FOLLOWS_SETTLE: Duration = Duration::from_millis(200);

/// How often the carried set is recomputed without a change in the follow graph.
const MEMBER_FOLLOWS_REFRESH: Duration = Duration::from_secs(5 * 60);
/// How often the handles of carried accounts are verified again without an `#identity` event
/// (a handle's DNS record or well-known file can change without one).
const CARRIED_IDENTITIES_REFRESH: Duration = Duration::from_secs(6 * 60 * 60);

/// Every account an active member of the local PDS needs carried.
async fn member_follows(
    pds: &Pds,
    appview: &Appview,
    interactions: usize,
) -> anyhow::Result<std::collections::HashSet<String>> {
    let mut members = Vec::new();
    let mut cursor = None;
    loop {
        let (page, next) = pds.list_repos(1000, cursor.as_deref()).await?;
        members.extend(page.into_iter().filter(|r| r.active).map(|r| r.did));
        match next {
            Some(n) => cursor = Some(n),
            None => break,
        }
    }
    appview.set_members(&members);
    Ok(appview.wanted_by(members, interactions).await?.all())
}

struct RelayRepos(Relay);

impl SourceRepos for RelayRepos {
    fn export_repo(&self, did: &str) -> BoxFuture<'_, Result<Vec<u8>, AppviewError>> {
        let did = Did::parse(did).map_err(|e| AppviewError::Upstream(e.to_string()));
        Box::pin(async move { collect_car(self.0.repo_car(&did?).await).await })
    }

    fn list_repos(&self, cursor: Option<String>) -> BoxFuture<'_, Result<RepoPage, AppviewError>> {
        Box::pin(async move { repo_page(self.0.list_repos(1000, cursor).await, |r| r.did) })
    }
}

impl SourceRepos for PdsRepos {
    fn export_repo(&self, did: &str) -> BoxFuture<'_, Result<Vec<u8>, AppviewError>> {
        let stream = LocalRepos::export_repo(self, did);
        Box::pin(async move { collect_car(stream.await).await })
    }

    fn list_repos(&self, cursor: Option<String>) -> BoxFuture<'_, Result<RepoPage, AppviewError>> {
        Box::pin(async move {
            let listed = self.0.list_repos(1000, cursor.as_deref()).await;
            repo_page(listed, |r| r.did)
        })
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
}
