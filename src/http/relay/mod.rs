//! The relay's listener: its merged `subscribeRepos`, the sync queries a relay answers
//! (listRepos, getRepoStatus, getLatestCommit, getRepo, listHosts, getHostStatus,
//! listReposByCollection, requestCrawl), the Jetstream-style JSON stream, and host administration.
//!
//! Spec: <https://atproto.com/specs/sync> and the `com.atproto.sync.*` lexicons.

mod jetstream;

use axum::body::Body;
use axum::extract::{Path, Request, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};

use super::params;
use super::skyhold_admin::HostChange;
use super::subscribe::serve;
use super::xrpc::{XrpcError, XrpcJson, XrpcQuery, put_some, with_cursor};
use crate::config::Secret;
use crate::relay::Relay;

/// What the relay's handlers can reach.
#[derive(Clone)]
pub struct RelayState {
    pub relay: Relay,
    /// Where host bans and lifts are written to the audit log.
    pub pds: crate::pds::Pds,
    pub admin_password: Secret,
    /// The node's rate limits (crawl requests, the admin back-off).
    pub limits: crate::ratelimit::RateLimits,
    /// Reverse proxies whose forwarded headers are believed.
    pub proxies: super::TrustedProxies,
    /// The newest frames of the relay's stream, shared by its subscribers.
    pub tail: std::sync::Arc<super::subscribe::Tail>,
}

pub fn router(state: RelayState) -> Router {
    Router::new()
        .route(
            "/xrpc/_health",
            get(|| async { Json(json!({"version": env!("CARGO_PKG_VERSION")})) }),
        )
        .route(
            "/xrpc/com.atproto.sync.subscribeRepos",
            axum::routing::any(subscribe),
        )
        .route("/xrpc/com.atproto.sync.listRepos", get(list_repos))
        .route("/xrpc/com.atproto.sync.getRepoStatus", get(get_repo_status))
        .route(
            "/xrpc/com.atproto.sync.getLatestCommit",
            get(get_latest_commit),
        )
        .route("/xrpc/com.atproto.sync.getRepo", get(get_repo))
        .route("/xrpc/com.atproto.sync.listHosts", get(list_hosts))
        .route("/xrpc/com.atproto.sync.getHostStatus", get(get_host_status))
        .route(
            "/xrpc/com.atproto.sync.listReposByCollection",
            get(list_repos_by_collection),
        )
        .route("/xrpc/com.atproto.sync.requestCrawl", post(request_crawl))
        .route("/subscribe", get(jetstream::subscribe))
        .layer(super::cors())
        // Operator routes answer no cross-origin request.
        .route("/admin/hosts/{host}/ban", post(ban_host))
        .route("/admin/hosts/{host}/unban", post(unban_host))
        .route("/admin/hosts/{host}/account-limit", post(set_account_limit))
        .route("/admin/stats", get(stats))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            super::forwarded::relay_client_info,
        ))
        .layer(axum::middleware::from_fn(super::xrpc::log_errors))
        .with_state(state)
}

async fn subscribe(State(state): State<RelayState>, request: Request) -> Response {
    let log = state.relay.events().clone();
    serve("relay", log, state.tail.clone(), &state, request).await
}

#[derive(Deserialize)]
struct PageParams {
    limit: Option<usize>,
    cursor: Option<String>,
}

async fn list_repos(
    State(state): State<RelayState>,
    XrpcQuery(p): XrpcQuery<PageParams>,
) -> Result<Json<Value>, XrpcError> {
    let limit = params::limit(p.limit, 500, 1000)?;
    let (repos, cursor) = state.relay.list_repos(limit, p.cursor).await?;
    let repos: Vec<Value> = repos
        .iter()
        .map(|r| {
            let mut out = json!({"did": r.did, "head": r.head.map(|c| c.to_string()), "rev": r.rev, "active": r.active});
            put_some(&mut out, "status", r.status.as_ref());
            out
        })
        .collect();
    Ok(with_cursor(json!({"repos": repos}), cursor))
}

#[derive(Deserialize)]
struct DidParams {
    did: String,
}

async fn get_repo_status(
    State(state): State<RelayState>,
    XrpcQuery(p): XrpcQuery<DidParams>,
) -> Result<Json<Value>, XrpcError> {
    let info = state.relay.repo_status(&params::relay_did(&p.did)?).await?;
    let mut out = json!({"did": info.did, "active": info.active});
    put_some(&mut out, "status", info.status.as_ref());
    if info.active {
        out["rev"] = json!(info.rev);
    }
    Ok(Json(out))
}

async fn get_latest_commit(
    State(state): State<RelayState>,
    XrpcQuery(p): XrpcQuery<DidParams>,
) -> Result<Json<Value>, XrpcError> {
    let (head, rev) = state
        .relay
        .latest_commit(&params::relay_did(&p.did)?)
        .await?;
    Ok(Json(json!({"cid": head.to_string(), "rev": rev})))
}

async fn get_repo(
    State(state): State<RelayState>,
    XrpcQuery(p): XrpcQuery<DidParams>,
) -> Result<Response, XrpcError> {
    let stream = state.relay.repo_car(&params::relay_did(&p.did)?).await?;
    let mut response =
        Body::from_stream(tokio_stream::wrappers::ReceiverStream::new(stream)).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/vnd.ipld.car"),
    );
    Ok(response)
}

async fn list_hosts(
    State(state): State<RelayState>,
    XrpcQuery(p): XrpcQuery<PageParams>,
) -> Result<Json<Value>, XrpcError> {
    let limit = params::limit(p.limit, 200, 1000)?;
    let (hosts, cursor) = state.relay.list_hosts(limit, p.cursor).await?;
    let hosts: Vec<Value> = hosts
        .iter()
        .map(|h| json!({"hostname": h.hostname, "seq": h.seq, "accountCount": h.account_count, "status": h.status}))
        .collect();
    Ok(with_cursor(json!({"hosts": hosts}), cursor))
}

#[derive(Deserialize)]
struct HostParams {
    hostname: String,
}

async fn get_host_status(
    State(state): State<RelayState>,
    XrpcQuery(p): XrpcQuery<HostParams>,
) -> Result<Json<Value>, XrpcError> {
    let h = state.relay.host_status(&p.hostname).await?;
    Ok(Json(
        json!({"hostname": h.hostname, "seq": h.seq, "accountCount": h.account_count, "status": h.status}),
    ))
}

#[derive(Deserialize)]
struct CollectionParams {
    collection: String,
    limit: Option<usize>,
    cursor: Option<String>,
}

async fn list_repos_by_collection(
    State(state): State<RelayState>,
    XrpcQuery(p): XrpcQuery<CollectionParams>,
) -> Result<Json<Value>, XrpcError> {
    crate::core::syntax::Nsid::parse(&p.collection)
        .map_err(|e| XrpcError::invalid_request(format!("Invalid collection: {e}")))?;
    let limit = params::limit(p.limit, 500, 2000)?;
    let (dids, cursor) = state
        .relay
        .list_repos_by_collection(&p.collection, limit, p.cursor)
        .await?;
    let repos: Vec<Value> = dids.iter().map(|d| json!({"did": d})).collect();
    Ok(with_cursor(json!({"repos": repos}), cursor))
}

#[derive(Deserialize)]
struct CrawlInput {
    hostname: String,
}

async fn request_crawl(
    State(state): State<RelayState>,
    extensions: axum::http::Extensions,
    XrpcJson(input): XrpcJson<CrawlInput>,
) -> Result<(), XrpcError> {
    let (_, key) = super::limits::client_key(&extensions);
    super::limits::spend(
        &state.limits,
        &extensions,
        &[(crate::ratelimit::LimitId::Crawl, &key, 1)],
    )?;
    state.relay.request_crawl(&input.hostname).await?;
    Ok(())
}

/// The admin password on the relay's listener (with the node's back-off); checked before the
/// body is read.
struct RelayAdmin;

impl axum::extract::FromRequestParts<RelayState> for RelayAdmin {
    type Rejection = XrpcError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &RelayState,
    ) -> Result<RelayAdmin, XrpcError> {
        let password = state.admin_password.expose();
        match super::auth::admin_gate(&state.limits, &parts.extensions, &parts.headers, password)? {
            true => Ok(RelayAdmin),
            false => Err(XrpcError::auth_required("Authentication Required")),
        }
    }
}

async fn change_host(state: &RelayState, host: &str, change: HostChange) -> Result<(), XrpcError> {
    let actor = crate::pds::Actor::Password;
    super::skyhold_admin::change_host(&state.relay, &state.pds, &actor, host, change).await
}

async fn ban_host(
    State(state): State<RelayState>,
    _admin: RelayAdmin,
    Path(host): Path<String>,
) -> Result<(), XrpcError> {
    change_host(&state, &host, HostChange::Ban).await
}

async fn unban_host(
    State(state): State<RelayState>,
    _admin: RelayAdmin,
    Path(host): Path<String>,
) -> Result<(), XrpcError> {
    change_host(&state, &host, HostChange::Unban).await
}

#[derive(Deserialize)]
struct AccountLimitInput {
    /// Most accounts the host may bring; `null` for the host's default.
    limit: Option<u64>,
}

async fn set_account_limit(
    State(state): State<RelayState>,
    _admin: RelayAdmin,
    Path(host): Path<String>,
    XrpcJson(input): XrpcJson<AccountLimitInput>,
) -> Result<(), XrpcError> {
    state.relay.set_account_limit(&host, input.limit).await?;
    Ok(())
}

async fn stats(State(state): State<RelayState>, _admin: RelayAdmin) -> Json<Value> {
    let c = state.relay.counters();
    Json(json!({
        "accepted": c.accepted.load(std::sync::atomic::Ordering::Relaxed),
        "dropped": c.dropped(),
        "resyncs": c.resyncs.load(std::sync::atomic::Ordering::Relaxed),
        "backfilledRecords": c.backfilled_records.load(std::sync::atomic::Ordering::Relaxed),
    }))
}
