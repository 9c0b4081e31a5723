//! HTTP: the axum router, XRPC errors and extractors, and one handler module per NSID group.
//! Handlers parse, call one service method and render; nothing here opens a table.
//!
//! Every request first passes `forwarded` (who the client is; forwarded headers only from trusted
//! proxies) and `handle_host` (handle hosts serve only `/.well-known/atproto-did`). The port-80
//! router of a TLS node is `redirect`.
//!
//! Spec: <https://atproto.com/specs/xrpc>.

mod account;
mod app_bsky;
mod app_bsky_actor;
mod app_bsky_bookmark;
mod app_bsky_feed;
mod app_bsky_graph;
mod app_bsky_labeler;
mod app_bsky_notification;
mod audit;
mod auth;
mod backup;
mod com_atproto_admin;
mod com_atproto_identity;
mod com_atproto_moderation;
mod com_atproto_repo;
mod com_atproto_server;
mod com_atproto_sync;
mod errors;
mod forwarded;
mod handle_host;
mod limits;
mod metrics;
mod migration;
mod oauth;
mod oauth_page;
mod operator;
mod params;
mod plc;
mod redirect;
mod relay;
mod serve;
mod skyhold_admin;
mod skyhold_oauth;
mod subscribe;
mod tail;
mod web;
mod well_known;

pub use forwarded::{PeerAddr, TrustedProxies};
pub use metrics::start_sampler;
pub use redirect::{RedirectState, router as redirect_router};
pub use relay::{RelayState, router as relay_router};
pub use serve::{ListenerLimits, fit_descriptor_limit, serve};
mod xrpc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::cors::CorsLayer;

use crate::appview::Appview;
use crate::config::Secret;
use crate::identity::PlcDirectory;
use crate::pds::Pds;
use crate::tls::Tls;

/// Largest JSON body accepted on record-write routes (the reference's 1,000,000 bytes).
const MAX_WRITE_BODY: usize = 1_000_000;
/// Largest JSON body on every other route (the reference's 150 KB).
const MAX_JSON_BODY: usize = 150 * 1024;

/// What every handler can reach. axum clones the state for every request: behind one `Arc` that is
/// one reference count, where cloning each service (stores, caches, clients) was ~230 allocations
/// per request (heaptrack, createRecord under load).
#[derive(Clone)]
pub struct AppState(std::sync::Arc<AppServices>);

impl AppState {
    pub fn new(services: AppServices) -> AppState {
        AppState(std::sync::Arc::new(services))
    }
}

impl std::ops::Deref for AppState {
    type Target = AppServices;
    fn deref(&self) -> &AppServices {
        &self.0
    }
}

/// The services behind [`AppState`].
pub struct AppServices {
    pub pds: Pds,
    pub appview: Appview,
    pub plc: Option<PlcDirectory>,
    pub admin_password: Secret,
    /// TLS, when this node terminates it (for the admin status).
    pub tls: Option<Tls>,
    /// Reverse proxies whose forwarded headers are believed.
    pub proxies: TrustedProxies,
    /// Online backups (`POST /admin/backup`).
    pub backups: crate::backup::Backups,
    /// The newest frames of the PDS's stream, shared by its subscribers.
    pub pds_tail: std::sync::Arc<subscribe::Tail>,
    /// Rate limits and the admin back-off.
    pub limits: crate::ratelimit::RateLimits,
    /// The outbound client (its counters are on `/admin/stats`).
    pub outbound: crate::net::Outbound,
    /// The built-in web UI's files and page shell.
    pub web: std::sync::Arc<crate::web::WebUi>,
    /// The mini relay, when it runs (the console's hosts and federation pages).
    pub relay: Option<crate::relay::Relay>,
    /// The room the store takes, measured at most once a minute.
    pub usage: std::sync::Arc<metrics::UsageCache>,
}

/// Cross-origin access as the reference PDS allows it (the `cors` package's defaults): any
/// origin, any method, the request's headers, no credentials, so a page elsewhere can call the API
/// with a token it holds but never with a browser's ambient credentials. Not on operator routes.
pub fn cors() -> CorsLayer {
    use tower_http::cors::{AllowHeaders, Any};
    CorsLayer::new()
        .allow_origin(Any)
        .allow_methods(Any)
        .allow_headers(AllowHeaders::mirror_request())
        .expose_headers(Any)
        .max_age(std::time::Duration::from_secs(86_400))
}

/// The built-in App View's routes. A call that names another App View (`atproto-proxy`, or a
/// configured `--appview`) is proxied instead, by [`app_bsky::appview_gate`].
#[allow(
    clippy::too_many_lines,
    reason = "a route table: one entry per XRPC method"
)]
fn appview_routes(state: &AppState) -> Router<AppState> {
    Router::new()
        .route(
            "/xrpc/app.bsky.actor.getProfile",
            get(app_bsky_actor::get_profile),
        )
        .route(
            "/xrpc/app.bsky.actor.getProfiles",
            get(app_bsky_actor::get_profiles),
        )
        .route(
            "/xrpc/app.bsky.actor.getSuggestions",
            get(app_bsky_actor::get_suggestions),
        )
        .route(
            "/xrpc/app.bsky.actor.searchActors",
            get(app_bsky_actor::search_actors),
        )
        .route(
            "/xrpc/app.bsky.actor.searchActorsTypeahead",
            get(app_bsky_actor::search_actors_typeahead),
        )
        .route(
            "/xrpc/app.bsky.feed.getTimeline",
            get(app_bsky_feed::get_timeline),
        )
        .route(
            "/xrpc/app.bsky.feed.getAuthorFeed",
            get(app_bsky_feed::get_author_feed),
        )
        .route(
            "/xrpc/app.bsky.feed.getPostThread",
            get(app_bsky_feed::get_post_thread),
        )
        .route(
            "/xrpc/app.bsky.feed.getPosts",
            get(app_bsky_feed::get_posts),
        )
        .route(
            "/xrpc/app.bsky.feed.getLikes",
            get(app_bsky_feed::get_likes),
        )
        .route(
            "/xrpc/app.bsky.feed.getRepostedBy",
            get(app_bsky_feed::get_reposted_by),
        )
        .route(
            "/xrpc/app.bsky.feed.getQuotes",
            get(app_bsky_feed::get_quotes),
        )
        .route(
            "/xrpc/app.bsky.feed.getActorLikes",
            get(app_bsky_feed::get_actor_likes),
        )
        .route(
            "/xrpc/app.bsky.feed.getActorFeeds",
            get(app_bsky_feed::get_actor_feeds),
        )
        .route(
            "/xrpc/app.bsky.feed.getListFeed",
            get(app_bsky_feed::get_list_feed),
        )
        .route(
            "/xrpc/app.bsky.feed.searchPosts",
            get(app_bsky_feed::search_posts),
        )
        .route("/xrpc/app.bsky.feed.getFeed", get(app_bsky_feed::get_feed))
        .route(
            "/xrpc/app.bsky.feed.getFeedSkeleton",
            get(app_bsky_feed::get_feed_skeleton),
        )
        .route(
            "/xrpc/app.bsky.feed.getFeedGenerator",
            get(app_bsky_feed::get_feed_generator),
        )
        .route(
            "/xrpc/app.bsky.feed.getFeedGenerators",
            get(app_bsky_feed::get_feed_generators),
        )
        .route(
            "/xrpc/app.bsky.graph.getFollows",
            get(app_bsky_graph::get_follows),
        )
        .route(
            "/xrpc/app.bsky.graph.getFollowers",
            get(app_bsky_graph::get_followers),
        )
        .route(
            "/xrpc/app.bsky.graph.getKnownFollowers",
            get(app_bsky_graph::get_known_followers),
        )
        .route(
            "/xrpc/app.bsky.graph.getBlocks",
            get(app_bsky_graph::get_blocks),
        )
        .route(
            "/xrpc/app.bsky.graph.getMutes",
            get(app_bsky_graph::get_mutes),
        )
        .route(
            "/xrpc/app.bsky.graph.getListBlocks",
            get(app_bsky_graph::get_list_blocks),
        )
        .route(
            "/xrpc/app.bsky.graph.getListMutes",
            get(app_bsky_graph::get_list_mutes),
        )
        .route(
            "/xrpc/app.bsky.graph.getLists",
            get(app_bsky_graph::get_lists),
        )
        .route(
            "/xrpc/app.bsky.graph.getList",
            get(app_bsky_graph::get_list),
        )
        .route(
            "/xrpc/app.bsky.graph.getRelationships",
            get(app_bsky_graph::get_relationships),
        )
        .route(
            "/xrpc/app.bsky.graph.getStarterPack",
            get(app_bsky_graph::get_starter_pack),
        )
        .route(
            "/xrpc/app.bsky.graph.getStarterPacks",
            get(app_bsky_graph::get_starter_packs),
        )
        .route(
            "/xrpc/app.bsky.graph.getActorStarterPacks",
            get(app_bsky_graph::get_actor_starter_packs),
        )
        .route(
            "/xrpc/app.bsky.graph.muteActor",
            post(app_bsky_graph::mute_actor::<true>),
        )
        .route(
            "/xrpc/app.bsky.graph.unmuteActor",
            post(app_bsky_graph::mute_actor::<false>),
        )
        .route(
            "/xrpc/app.bsky.graph.muteActorList",
            post(app_bsky_graph::mute_actor_list::<true>),
        )
        .route(
            "/xrpc/app.bsky.graph.unmuteActorList",
            post(app_bsky_graph::mute_actor_list::<false>),
        )
        .route(
            "/xrpc/app.bsky.graph.muteThread",
            post(app_bsky_graph::mute_thread::<true>),
        )
        .route(
            "/xrpc/app.bsky.graph.unmuteThread",
            post(app_bsky_graph::mute_thread::<false>),
        )
        .route(
            "/xrpc/app.bsky.notification.listNotifications",
            get(app_bsky_notification::list_notifications),
        )
        .route(
            "/xrpc/app.bsky.notification.getUnreadCount",
            get(app_bsky_notification::get_unread_count),
        )
        .route(
            "/xrpc/app.bsky.notification.updateSeen",
            post(app_bsky_notification::update_seen),
        )
        .route(
            "/xrpc/app.bsky.notification.getPreferences",
            get(app_bsky_notification::get_preferences),
        )
        .route(
            "/xrpc/app.bsky.notification.putPreferences",
            post(app_bsky_notification::put_preferences),
        )
        .route(
            "/xrpc/app.bsky.notification.putPreferencesV2",
            post(app_bsky_notification::put_preferences_v2),
        )
        .route(
            "/xrpc/app.bsky.notification.registerPush",
            post(app_bsky_notification::register_push),
        )
        .route(
            "/xrpc/app.bsky.notification.unregisterPush",
            post(app_bsky_notification::unregister_push),
        )
        .route(
            "/xrpc/app.bsky.bookmark.createBookmark",
            post(app_bsky_bookmark::create_bookmark),
        )
        .route(
            "/xrpc/app.bsky.bookmark.deleteBookmark",
            post(app_bsky_bookmark::delete_bookmark),
        )
        .route(
            "/xrpc/app.bsky.bookmark.getBookmarks",
            get(app_bsky_bookmark::get_bookmarks),
        )
        .route(
            "/xrpc/app.bsky.labeler.getServices",
            get(app_bsky_labeler::get_services),
        )
        .route(
            "/xrpc/app.bsky.feed.describeFeedGenerator",
            get(app_bsky_feed::describe_feed_generator),
        )
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            app_bsky::appview_gate,
        ))
}

/// Methods this node answers as its own service unless the caller names another one
/// ([`app_bsky::own_service_gate`]).
fn own_service_routes(state: &AppState) -> Router<AppState> {
    Router::new()
        .route(
            "/xrpc/com.atproto.moderation.createReport",
            post(com_atproto_moderation::create_report),
        )
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            app_bsky::own_service_gate,
        ))
}

/// Every route of the main listener.
#[allow(
    clippy::too_many_lines,
    reason = "a route table: one entry per XRPC method"
)]
pub fn router(state: AppState) -> Router {
    let writes = Router::new()
        .route(
            "/xrpc/com.atproto.repo.createRecord",
            post(com_atproto_repo::create_record),
        )
        .route(
            "/xrpc/com.atproto.repo.putRecord",
            post(com_atproto_repo::put_record),
        )
        .route(
            "/xrpc/com.atproto.repo.applyWrites",
            post(com_atproto_repo::apply_writes),
        )
        .layer(DefaultBodyLimit::max(MAX_WRITE_BODY));
    let blobs = Router::new()
        .route(
            "/xrpc/com.atproto.repo.uploadBlob",
            post(com_atproto_repo::upload_blob),
        )
        .route(
            "/xrpc/com.atproto.repo.importRepo",
            post(migration::import_repo),
        )
        .layer(DefaultBodyLimit::disable());
    let xrpc = Router::new()
        .route("/xrpc/_health", get(well_known::health))
        .route(
            "/xrpc/com.atproto.server.describeServer",
            get(com_atproto_server::describe_server),
        )
        .route(
            "/xrpc/com.atproto.server.createAccount",
            post(com_atproto_server::create_account),
        )
        .route(
            "/xrpc/com.atproto.server.createSession",
            post(com_atproto_server::create_session),
        )
        .route(
            "/xrpc/com.atproto.server.refreshSession",
            post(com_atproto_server::refresh_session),
        )
        .route(
            "/xrpc/com.atproto.server.getSession",
            get(com_atproto_server::get_session),
        )
        .route(
            "/xrpc/com.atproto.server.deleteSession",
            post(com_atproto_server::delete_session),
        )
        .route(
            "/xrpc/com.atproto.server.createAppPassword",
            post(com_atproto_server::create_app_password),
        )
        .route(
            "/xrpc/com.atproto.server.listAppPasswords",
            get(com_atproto_server::list_app_passwords),
        )
        .route(
            "/xrpc/com.atproto.server.revokeAppPassword",
            post(com_atproto_server::revoke_app_password),
        )
        .route(
            "/xrpc/com.atproto.server.createInviteCode",
            post(com_atproto_server::create_invite_code),
        )
        .route(
            "/xrpc/com.atproto.server.createInviteCodes",
            post(com_atproto_server::create_invite_codes),
        )
        .route(
            "/xrpc/com.atproto.server.getAccountInviteCodes",
            get(com_atproto_server::get_account_invite_codes),
        )
        .route(
            "/xrpc/com.atproto.server.getServiceAuth",
            get(com_atproto_server::get_service_auth),
        )
        .route(
            "/xrpc/com.atproto.server.activateAccount",
            post(account::activate_account),
        )
        .route(
            "/xrpc/com.atproto.server.deactivateAccount",
            post(account::deactivate_account),
        )
        .route(
            "/xrpc/com.atproto.server.checkAccountStatus",
            get(account::check_account_status),
        )
        .route(
            "/xrpc/com.atproto.server.requestAccountDelete",
            post(account::request_account_delete),
        )
        .route(
            "/xrpc/com.atproto.server.deleteAccount",
            post(account::delete_account),
        )
        .route(
            "/xrpc/com.atproto.server.requestEmailConfirmation",
            post(account::request_email_confirmation),
        )
        .route(
            "/xrpc/com.atproto.server.confirmEmail",
            post(account::confirm_email),
        )
        .route(
            "/xrpc/com.atproto.server.requestEmailUpdate",
            post(account::request_email_update),
        )
        .route(
            "/xrpc/com.atproto.server.updateEmail",
            post(account::update_email),
        )
        .route(
            "/xrpc/com.atproto.server.requestPasswordReset",
            post(account::request_password_reset),
        )
        .route(
            "/xrpc/com.atproto.server.resetPassword",
            post(account::reset_password),
        )
        .route(
            "/xrpc/com.atproto.repo.listMissingBlobs",
            get(migration::list_missing_blobs),
        )
        .route(
            "/xrpc/com.atproto.identity.getRecommendedDidCredentials",
            get(migration::get_recommended_did_credentials),
        )
        .route(
            "/xrpc/com.atproto.identity.requestPlcOperationSignature",
            post(migration::request_plc_operation_signature),
        )
        .route(
            "/xrpc/com.atproto.identity.signPlcOperation",
            post(migration::sign_plc_operation),
        )
        .route(
            "/xrpc/com.atproto.identity.submitPlcOperation",
            post(migration::submit_plc_operation),
        )
        .route(
            "/xrpc/com.atproto.admin.getAccountInfo",
            get(com_atproto_admin::get_account_info),
        )
        .route(
            "/xrpc/com.atproto.admin.getAccountInfos",
            get(com_atproto_admin::get_account_infos),
        )
        .route(
            "/xrpc/com.atproto.admin.searchAccounts",
            get(com_atproto_admin::search_accounts),
        )
        .route(
            "/xrpc/com.atproto.admin.updateSubjectStatus",
            post(com_atproto_admin::update_subject_status),
        )
        .route(
            "/xrpc/com.atproto.admin.getSubjectStatus",
            get(com_atproto_admin::get_subject_status),
        )
        .route(
            "/xrpc/com.atproto.admin.updateAccountHandle",
            post(com_atproto_admin::update_account_handle),
        )
        .route(
            "/xrpc/com.atproto.admin.updateAccountEmail",
            post(com_atproto_admin::update_account_email),
        )
        .route(
            "/xrpc/com.atproto.admin.updateAccountPassword",
            post(com_atproto_admin::update_account_password),
        )
        .route(
            "/xrpc/com.atproto.admin.deleteAccount",
            post(com_atproto_admin::delete_account),
        )
        .route(
            "/xrpc/com.atproto.admin.disableAccountInvites",
            post(com_atproto_admin::set_account_invites::<true>),
        )
        .route(
            "/xrpc/com.atproto.admin.enableAccountInvites",
            post(com_atproto_admin::set_account_invites::<false>),
        )
        .route(
            "/xrpc/com.atproto.admin.disableInviteCodes",
            post(com_atproto_admin::disable_invite_codes),
        )
        .route(
            "/xrpc/com.atproto.admin.getInviteCodes",
            get(com_atproto_admin::get_invite_codes),
        )
        .route(
            "/xrpc/blue.skyhold.identity.getPlcData",
            get(migration::get_plc_data),
        )
        .route(
            "/xrpc/blue.skyhold.oauth.listApps",
            get(skyhold_oauth::list_apps),
        )
        .route(
            "/xrpc/blue.skyhold.oauth.revokeApp",
            post(skyhold_oauth::revoke_app),
        )
        .route(
            "/xrpc/blue.skyhold.admin.listAccountApps",
            get(skyhold_oauth::admin_list_apps),
        )
        .route(
            "/xrpc/blue.skyhold.admin.revokeAccountApp",
            post(skyhold_oauth::admin_revoke_app),
        )
        .route(
            "/xrpc/blue.skyhold.admin.getRole",
            get(skyhold_admin::get_role),
        )
        .route(
            "/xrpc/blue.skyhold.admin.listAccounts",
            get(skyhold_admin::list_accounts),
        )
        .route(
            "/xrpc/blue.skyhold.admin.getAccount",
            get(skyhold_admin::get_account),
        )
        .route(
            "/xrpc/blue.skyhold.admin.suspendAccount",
            post(skyhold_admin::suspend_account),
        )
        .route(
            "/xrpc/blue.skyhold.admin.listReports",
            get(skyhold_admin::list_reports),
        )
        .route(
            "/xrpc/blue.skyhold.admin.getReport",
            get(skyhold_admin::get_report),
        )
        .route(
            "/xrpc/blue.skyhold.admin.resolveReport",
            post(skyhold_admin::resolve_report),
        )
        .route(
            "/xrpc/blue.skyhold.admin.getAuditLog",
            get(skyhold_admin::get_audit_log),
        )
        .route(
            "/xrpc/blue.skyhold.admin.listAdmins",
            get(skyhold_admin::list_admins),
        )
        .route(
            "/xrpc/blue.skyhold.admin.updateRole",
            post(skyhold_admin::update_role),
        )
        .route(
            "/xrpc/blue.skyhold.admin.listPendingCodes",
            get(skyhold_admin::list_pending_codes),
        )
        .route(
            "/xrpc/blue.skyhold.admin.listHosts",
            get(skyhold_admin::list_hosts),
        )
        .route(
            "/xrpc/blue.skyhold.admin.addHost",
            post(skyhold_admin::add_host),
        )
        .route(
            "/xrpc/blue.skyhold.admin.banHost",
            post(skyhold_admin::ban_host),
        )
        .route(
            "/xrpc/blue.skyhold.admin.unbanHost",
            post(skyhold_admin::unban_host),
        )
        .route(
            "/xrpc/blue.skyhold.admin.requestCrawl",
            post(skyhold_admin::request_crawl),
        )
        .route(
            "/xrpc/blue.skyhold.admin.listCrawlers",
            get(skyhold_admin::list_crawlers),
        )
        .route(
            "/xrpc/blue.skyhold.admin.getTlsStatus",
            get(skyhold_admin::get_tls_status),
        )
        .route(
            "/xrpc/blue.skyhold.admin.sendTestEmail",
            post(skyhold_admin::send_test_email),
        )
        .route(
            "/xrpc/blue.skyhold.admin.getServerStatus",
            get(skyhold_admin::get_server_status),
        )
        .route(
            "/xrpc/com.atproto.identity.resolveHandle",
            get(com_atproto_identity::resolve_handle),
        )
        .route(
            "/xrpc/com.atproto.identity.updateHandle",
            post(com_atproto_identity::update_handle),
        )
        .route(
            "/xrpc/app.bsky.actor.getPreferences",
            get(app_bsky::get_preferences),
        )
        .route(
            "/xrpc/app.bsky.actor.putPreferences",
            post(app_bsky::put_preferences),
        )
        .route(
            "/xrpc/com.atproto.repo.deleteRecord",
            post(com_atproto_repo::delete_record),
        )
        .route(
            "/xrpc/com.atproto.repo.getRecord",
            get(com_atproto_repo::get_record),
        )
        .route(
            "/xrpc/com.atproto.repo.listRecords",
            get(com_atproto_repo::list_records),
        )
        .route(
            "/xrpc/com.atproto.repo.describeRepo",
            get(com_atproto_repo::describe_repo),
        )
        .route(
            "/xrpc/com.atproto.sync.getRepo",
            get(com_atproto_sync::get_repo),
        )
        .route(
            "/xrpc/com.atproto.sync.getLatestCommit",
            get(com_atproto_sync::get_latest_commit),
        )
        .route(
            "/xrpc/com.atproto.sync.getRepoStatus",
            get(com_atproto_sync::get_repo_status),
        )
        .route(
            "/xrpc/com.atproto.sync.listRepos",
            get(com_atproto_sync::list_repos),
        )
        .route(
            "/xrpc/com.atproto.sync.getBlob",
            get(com_atproto_sync::get_blob),
        )
        .route(
            "/xrpc/com.atproto.sync.getRecord",
            get(com_atproto_sync::get_record),
        )
        .route(
            "/xrpc/com.atproto.sync.getBlocks",
            get(com_atproto_sync::get_blocks),
        )
        .route(
            "/xrpc/com.atproto.sync.listBlobs",
            get(com_atproto_sync::list_blobs),
        )
        .route(
            "/xrpc/com.atproto.sync.subscribeRepos",
            axum::routing::any(subscribe::subscribe_repos),
        )
        .merge(appview_routes(&state))
        .merge(own_service_routes(&state))
        .layer(DefaultBodyLimit::max(MAX_JSON_BODY));
    let api = Router::new()
        .merge(writes)
        .merge(blobs)
        .merge(xrpc)
        .route("/xrpc/{*nsid}", axum::routing::any(app_bsky::proxy))
        .route("/.well-known/atproto-did", get(well_known::atproto_did))
        .route(
            "/.well-known/oauth-protected-resource",
            get(oauth::protected_resource),
        )
        .route(
            "/.well-known/oauth-authorization-server",
            get(oauth::authorization_server),
        )
        .route("/oauth/jwks", get(oauth::jwks))
        .route(
            "/oauth/client-metadata.json",
            get(oauth::web_client_metadata),
        )
        .route("/oauth/par", post(oauth::par))
        .route("/oauth/token", post(oauth::token))
        .route("/oauth/revoke", post(oauth::revoke))
        .route("/oauth/client-logo", get(oauth::client_logo))
        .route(
            "/oauth/authorize",
            get(oauth::authorize_page).post(oauth::authorize_submit),
        )
        .route("/.well-known/did.json", get(well_known::did_json))
        .route("/robots.txt", get(well_known::robots))
        .route("/assets/{version}/{*path}", get(web::asset))
        .route("/profile/{actor}", get(web::profile))
        .route("/profile/{actor}/post/{rkey}", get(web::post))
        .route("/", get(web::shell))
        .nest("/plc", plc::router())
        .route("/{segment}", get(web::root_segment))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            limits::rate_limit,
        ))
        .layer(cors());
    // Operator routes answer no cross-origin request (no CORS headers, not even to a preflight).
    let operator = Router::new()
        .route("/admin/codes", get(skyhold_admin::list_pending_codes))
        .route(
            "/admin/accounts/{did}/suspend",
            post(operator::suspend_account),
        )
        .route("/admin/email/test", post(skyhold_admin::send_test_email))
        .route("/admin/tls", get(skyhold_admin::get_tls_status))
        .route("/admin/stats", get(operator::stats))
        .route("/admin/reports", get(com_atproto_moderation::list_reports))
        .route(
            "/admin/reports/{id}",
            get(com_atproto_moderation::get_report),
        )
        .route(
            "/admin/reports/{id}/resolve",
            post(com_atproto_moderation::resolve_report),
        )
        .route("/admin/backup", post(backup::backup))
        .route("/metrics", get(metrics::metrics));
    Router::new()
        .merge(api)
        .merge(operator)
        .fallback(web::shell)
        .layer(CatchPanicLayer::custom(|_| {
            axum::response::IntoResponse::into_response(xrpc::XrpcError::internal(
                "a handler panicked",
            ))
        }))
        .layer(axum::middleware::from_fn(xrpc::log_errors))
        .layer(axum::middleware::from_fn(metrics::track))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            handle_host::route,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            forwarded::client_info,
        ))
        .with_state(state)
}
