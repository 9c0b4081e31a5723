//! `/metrics` in the Prometheus text format (behind the admin password or an admin-role session),
//! the middleware that counts XRPC calls, and the sampler whose history the console turns into
//! rates. The same figures feed `blue.skyhold.admin.getServerStatus`, so the console and a
//! homelab's Grafana never disagree.
//!
//! Families (all prefixed `skyhold_`): requests and errors by XRPC method, record writes, events
//! of the PDS and the relay, firehose subscribers, relay hosts and dropped events, the App View's
//! cursor and lag, accounts by state, open reports, the store's durable commits, database and blob
//! bytes, disk space, certificate expiry, rate-limit refusals, the last backup.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::AppState;
use super::auth::AdminAuth;
use crate::metrics::{Exposition, Sample, global};
use crate::pds::StorageUsage;

/// How long a measurement of the store is reused (walking the blob directory costs a stat each).
const USAGE_TTL: Duration = Duration::from_secs(60);
/// Record writes, counted as the write rate.
const WRITE_METHODS: &[&str] = &[
    "com.atproto.repo.createRecord",
    "com.atproto.repo.putRecord",
    "com.atproto.repo.deleteRecord",
    "com.atproto.repo.applyWrites",
];

/// The last measurement of the store.
#[derive(Default)]
pub struct UsageCache(Mutex<Option<(Instant, StorageUsage)>>);

impl UsageCache {
    pub async fn get(&self, state: &AppState) -> StorageUsage {
        if let Some((at, usage)) = *self.0.lock().unwrap_or_else(|e| e.into_inner())
            && at.elapsed() < USAGE_TTL
        {
            return usage;
        }
        let usage = state.pds.storage_usage().await.unwrap_or_default();
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = Some((Instant::now(), usage));
        usage
    }
}

/// The label of an XRPC path: its NSID, or `_invalid` for garbage (the registry caps how many
/// distinct labels it keeps).
fn method_label(path: &str) -> Option<String> {
    let nsid = path.strip_prefix("/xrpc/")?;
    if nsid == "_health" {
        return None;
    }
    if crate::core::syntax::Nsid::parse(nsid).is_err() {
        return Some("_invalid".into());
    }
    Some(nsid.to_owned())
}

/// Counts every XRPC call by method and outcome, and record writes.
pub async fn track(request: Request, next: Next) -> Response {
    let label = method_label(request.uri().path());
    let start = Instant::now();
    let response = next.run(request).await;
    if response.status() == axum::http::StatusCode::TOO_MANY_REQUESTS {
        // Whatever limit refused it (per address, per account, the admin back-off), a refusal is
        // a 429; counted by the method it refused.
        global().rate_limited(label.as_deref().unwrap_or("_other"));
    }
    if let Some(method) = label {
        let status = response.status().as_u16();
        let micros = u64::try_from(start.elapsed().as_micros()).unwrap_or(u64::MAX);
        global().request(&method, status, micros);
        if status < 300 && WRITE_METHODS.contains(&method.as_str()) {
            global().write();
        }
    }
    response
}

/// The App View's source head and its cursor: (head, cursor).
pub async fn appview_position(state: &AppState) -> (u64, u64) {
    let head = match &state.relay {
        Some(relay) => relay.events().bounds().await.map(|b| b.1).unwrap_or(0),
        None => state.pds.events().bounds().await.map(|b| b.1).unwrap_or(0),
    };
    let cursor = state
        .appview
        .counters()
        .cursor
        .load(std::sync::atomic::Ordering::Relaxed);
    (head, cursor)
}

/// Takes a sample every `SAMPLE_SECS` for the console's rates.
pub fn start_sampler(state: &AppState) {
    crate::metrics::mark_start();
    let state = state.clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(crate::metrics::SAMPLE_SECS));
        loop {
            tick.tick().await;
            let pds_seq = state.pds.events().bounds().await.map(|b| b.1).unwrap_or(0);
            let relay_seq = match &state.relay {
                Some(relay) => relay.events().bounds().await.map(|b| b.1).unwrap_or(0),
                None => 0,
            };
            let (requests, errors) = global().request_totals();
            global().push_sample(Sample {
                at: crate::clock::now_secs(),
                pds_seq,
                relay_seq,
                writes: global().writes(),
                requests,
                errors,
            });
        }
    });
}

fn unix_seconds(datetime: &str) -> Option<f64> {
    crate::core::syntax::Datetime::parse(datetime)
        .ok()
        .map(|d| d.to_unix_micros() as f64 / 1e6)
}

/// `GET /metrics`.
pub async fn metrics(State(state): State<AppState>, _admin: AdminAuth) -> Response {
    let text = exposition(&state).await;
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        Body::from(text),
    )
        .into_response()
}

async fn exposition(state: &AppState) -> String {
    let mut out = Exposition::default();
    let registry = global();
    out.gauge(
        "skyhold_build_info",
        "The running version.",
        &[("version", env!("CARGO_PKG_VERSION"))],
        1.0,
    );
    out.gauge(
        "skyhold_uptime_seconds",
        "Seconds since the server started.",
        &[],
        crate::metrics::uptime_seconds() as f64,
    );
    let requests = registry.requests();
    for (method, counts) in &requests {
        for (outcome, value) in [
            ("ok", counts.ok),
            ("client_error", counts.client_errors),
            ("server_error", counts.server_errors),
        ] {
            out.counter(
                "skyhold_xrpc_requests_total",
                "XRPC calls answered, by method and outcome (client_error: 4xx, server_error: 5xx).",
                &[("method", method), ("outcome", outcome)],
                value as f64,
            );
        }
    }
    for (method, counts) in &requests {
        out.counter(
            "skyhold_xrpc_request_seconds_total",
            "Time spent answering XRPC calls, by method.",
            &[("method", method)],
            counts.micros as f64 / 1e6,
        );
    }
    out.counter(
        "skyhold_repo_writes_total",
        "Record writes acknowledged (createRecord, putRecord, deleteRecord, applyWrites).",
        &[],
        registry.writes() as f64,
    );
    let pds_seq = state.pds.events().bounds().await.map(|b| b.1).unwrap_or(0);
    out.counter(
        "skyhold_pds_events_total",
        "Events this PDS has sequenced (its firehose's newest seq).",
        &[],
        pds_seq as f64,
    );
    let subscribers = registry.subscribers();
    for stream in ["pds", "relay"] {
        out.gauge(
            "skyhold_firehose_subscribers",
            "Clients subscribed to a firehose now (relays crawling this node subscribe to pds).",
            &[("stream", stream)],
            subscribers.iter().filter(|s| s.stream == stream).count() as f64,
        );
    }
    out.counter(
        "skyhold_firehose_subscriptions_total",
        "Firehose subscriptions opened.",
        &[],
        registry.subscriptions() as f64,
    );
    if let Some(relay) = &state.relay {
        relay_metrics(&mut out, relay).await;
    }
    appview_metrics(&mut out, state).await;
    if let Ok(counts) = state.pds.account_counts().await {
        for (status, count) in counts {
            out.gauge(
                "skyhold_accounts",
                "Accounts hosted here, by state.",
                &[("status", status.as_status().unwrap_or("active"))],
                count as f64,
            );
        }
    }
    if let Ok(open) = state.pds.open_report_count().await {
        out.gauge(
            "skyhold_reports_open",
            "Reports waiting for an admin.",
            &[],
            open as f64,
        );
    }
    store_metrics(&mut out, state).await;
    crawler_metrics(&mut out, state).await;
    if let Some(tls) = &state.tls {
        for cert in tls.status().certificates {
            if let Some(expiry) = unix_seconds(&cert.not_after) {
                out.gauge(
                    "skyhold_tls_certificate_expiry_timestamp_seconds",
                    "When each certificate expires (Unix time).",
                    &[("name", &cert.name)],
                    expiry,
                );
            }
        }
    }
    for (limit, count) in registry.rate_limited_counts() {
        out.counter(
            "skyhold_rate_limited_total",
            "Requests refused by a rate limit (429), by XRPC method.",
            &[("method", &limit)],
            count as f64,
        );
    }
    if let Ok(Some(backup)) = state.pds.last_audit("backup").await
        && let Some(at) = unix_seconds(&backup.at)
    {
        out.gauge(
            "skyhold_last_backup_timestamp_seconds",
            "When the last online backup was taken (Unix time).",
            &[],
            at,
        );
    }
    out.finish()
}

/// The App View's position in its source log, and what it indexed and forgot.
async fn appview_metrics(out: &mut Exposition, state: &AppState) {
    let (head, cursor) = appview_position(state).await;
    out.gauge(
        "skyhold_appview_cursor",
        "The last event the App View indexed.",
        &[],
        cursor as f64,
    );
    out.gauge(
        "skyhold_appview_lag_events",
        "Events the App View has not indexed yet.",
        &[],
        head.saturating_sub(cursor) as f64,
    );
    let indexer = state.appview.counters();
    out.counter(
        "skyhold_appview_records_indexed_total",
        "Records the App View indexed.",
        &[],
        indexer.records.load(std::sync::atomic::Ordering::Relaxed) as f64,
    );
    out.counter(
        "skyhold_appview_forgotten_records_total",
        "Indexed records removed because their account left the relay's carried set (what members interacted with stays).",
        &[],
        indexer
            .forgotten_records
            .load(std::sync::atomic::Ordering::Relaxed) as f64,
    );
    out.counter(
        "skyhold_appview_forgotten_accounts_total",
        "Accounts that left the relay's carried set and whose indexed records were removed.",
        &[],
        indexer
            .forgotten_accounts
            .load(std::sync::atomic::Ordering::Relaxed) as f64,
    );
    if let Ok(queued) = state.appview.forgetting().await {
        out.gauge(
            "skyhold_appview_forgetting_accounts",
            "Accounts that left the relay's carried set whose records are still being removed.",
            &[],
            queued as f64,
        );
    }
}

/// The relay's hosts, events and refusals.
async fn relay_metrics(out: &mut Exposition, relay: &crate::relay::Relay) {
    if let Ok((hosts, _)) = relay.list_hosts(1000, None).await {
        let mut by_status = std::collections::BTreeMap::<String, u64>::new();
        for host in hosts {
            *by_status.entry(host.status.to_owned()).or_default() += 1;
        }
        for (status, count) in by_status {
            out.gauge(
                "skyhold_relay_hosts",
                "Hosts the relay knows, by status.",
                &[("status", &status)],
                count as f64,
            );
        }
    }
    let scope = relay.scope_size();
    out.gauge(
        "skyhold_relay_carried_accounts",
        "Accounts the relay carries from hosts followed in part: followed by members, added by the operator, or in their grace period after the last unfollow.",
        &[],
        scope.carried as f64,
    );
    out.gauge(
        "skyhold_relay_scoped_hosts",
        "PDS hosts followed only for the carried accounts they serve (subscribed now).",
        &[],
        relay.subscribed_scoped_hosts() as f64,
    );
    let counters = relay.counters();
    out.counter(
        "skyhold_relay_events_accepted_total",
        "Events the relay verified and accepted.",
        &[],
        counters.accepted.load(std::sync::atomic::Ordering::Relaxed) as f64,
    );
    for (reason, count) in counters.dropped() {
        out.counter(
            "skyhold_relay_events_dropped_total",
            "Events the relay refused, by reason.",
            &[("reason", reason)],
            count as f64,
        );
    }
    let relay_seq = relay.events().bounds().await.map(|b| b.1).unwrap_or(0);
    out.counter(
        "skyhold_relay_events_total",
        "Events in the relay's merged stream (its newest seq).",
        &[],
        relay_seq as f64,
    );
}

/// The relays told about this node: failures in a row and the last accepted request, per crawler.
async fn crawler_metrics(out: &mut Exposition, state: &AppState) {
    let Ok(crawlers) = state.pds.crawler_statuses().await else {
        return;
    };
    for crawler in crawlers {
        let labels = [("crawler", crawler.url.as_str())];
        out.gauge(
            "skyhold_crawler_failures",
            "Failed requestCrawl calls in a row to a configured crawler (0: it took the last one).",
            &labels,
            f64::from(crawler.failures),
        );
        if let Some(at) = crawler.last_success {
            out.gauge(
                "skyhold_crawler_last_success_seconds",
                "When a configured crawler last took a requestCrawl (Unix time).",
                &labels,
                (at / 1_000_000) as f64,
            );
        }
    }
}

/// The room the store takes and what is left on its disk.
async fn store_metrics(out: &mut Exposition, state: &AppState) {
    out.counter(
        "skyhold_store_commits_total",
        "Write transactions the store committed durably, each one flush (fdatasync) of the database file.",
        &[],
        global().store_commits() as f64,
    );
    let usage = state.usage.get(state).await;
    out.gauge(
        "skyhold_store_database_bytes",
        "Size of the database files (the store and its side files, such as the search index).",
        &[],
        usage.database_bytes as f64,
    );
    out.gauge(
        "skyhold_store_blob_bytes",
        "Bytes of blob files (images, videos).",
        &[],
        usage.blob_bytes as f64,
    );
    out.gauge(
        "skyhold_store_blob_files",
        "Blob files kept.",
        &[],
        usage.blob_files as f64,
    );
    if let (Some(free), Some(total)) = (usage.disk_free, usage.disk_total) {
        out.gauge(
            "skyhold_disk_free_bytes",
            "Free space on the data directory's file system.",
            &[],
            free as f64,
        );
        out.gauge(
            "skyhold_disk_size_bytes",
            "Size of the data directory's file system.",
            &[],
            total as f64,
        );
    }
}
