//! Configuration: one value built from defaults, `SKYHOLD_*` environment variables and flags (in
//! that order of precedence), validated once, then handed to each service.
//!
//! With no configuration, `skyhold serve` runs a complete local network: 127.0.0.1:2583, data in
//! `./skyhold-data`, the embedded PLC directory, handles under `.test`, no invites, no TLS.
//!
//! With an `https://` public URL outside local mode, TLS defaults to ACME with Let's Encrypt:
//! HTTPS on `[::]:443`, HTTP-01 and redirects on `[::]:80`, `--listen` staying a plain-HTTP
//! listener (loopback by default) for health checks. `docs/TLS.md` describes every TLS choice.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::Args;

use crate::core::syntax::Did;
use crate::http::TrustedProxies;
use crate::pds::ServiceRef;
use crate::tls::{AcmeConfig, ChallengeKind, HandleCerts, TlsConfig, TlsMode};

/// The public PLC directory, the default outside local mode.
pub const PUBLIC_PLC_URL: &str = "https://plc.directory";

/// Flags (and their environment variables) for `skyhold serve`.
#[derive(Args, Clone, Debug)]
pub struct ServeArgs {
    /// Directory for the database and blobs.
    #[arg(long, env = "SKYHOLD_DATA_DIR", default_value = "./skyhold-data")]
    pub data_dir: PathBuf,
    /// Address the PDS listens on.
    #[arg(long, env = "SKYHOLD_LISTEN", default_value = "127.0.0.1:2583")]
    pub listen: SocketAddr,
    /// Public URL of this server (default: http://localhost:PORT on loopback).
    #[arg(long, env = "SKYHOLD_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// Admin password for HTTP basic auth `admin:<password>` (default on loopback: generated and
    /// stored in the data directory as `admin-password`).
    #[arg(long, env = "SKYHOLD_ADMIN_PASSWORD", hide_env_values = true)]
    pub admin_password: Option<String>,
    /// PLC directory URL (default: the embedded one at <public URL>/plc in local mode, the public
    /// directory otherwise).
    #[arg(long, env = "SKYHOLD_PLC_URL")]
    pub plc_url: Option<String>,
    /// Handle suffixes accounts may register under, comma separated (default: `.test` locally,
    /// `.<hostname>` otherwise).
    #[arg(long, env = "SKYHOLD_HANDLE_DOMAINS", value_delimiter = ',')]
    pub handle_domains: Vec<String>,
    /// The DID method of new accounts: `plc` (portable, with recovery keys; the default) or `web`
    /// (`did:web:<handle>`, served by this server; see docs/ACCOUNTS.md for its limits).
    #[arg(long, env = "SKYHOLD_DID_METHOD", default_value = "plc", value_parser = ["plc", "web"])]
    pub did_method: String,
    /// Whether createAccount needs an invite code (default: no locally, yes otherwise).
    #[arg(long, env = "SKYHOLD_INVITE_REQUIRED")]
    pub invite_required: Option<bool>,
    /// Another App View for app.bsky.* calls, as `did#service_id url` (default: the built-in App
    /// View, `did:web:<host>#bsky_appview`).
    #[arg(long, env = "SKYHOLD_APPVIEW")]
    pub appview: Option<String>,
    /// DIDs of labelers whose labels the built-in App View applies (comma separated).
    #[arg(long, env = "SKYHOLD_APPVIEW_LABELERS", value_delimiter = ',')]
    pub appview_labelers: Vec<String>,
    /// Directory of extra Lexicon schema files (JSON, searched recursively), e.g. a community's own
    /// record types. They are added to the official schemas built into the binary; a file whose id
    /// is an official schema's replaces it.
    #[arg(long, env = "SKYHOLD_LEXICON_DIR")]
    pub lexicon_dir: Option<PathBuf>,
    /// Address the relay listens on (default in local mode: the port after the PDS's; otherwise off).
    #[arg(long, env = "SKYHOLD_RELAY_LISTEN")]
    pub relay_listen: Option<SocketAddr>,
    /// PDS hosts the relay follows from the start (`host[:port]`, comma separated).
    #[arg(long, env = "SKYHOLD_RELAY_HOSTS", value_delimiter = ',')]
    pub relay_hosts: Vec<String>,
    /// A big relay to take the carried accounts' events from (`host[:port]`), instead of following
    /// their PDSes. Carried: every account a member follows, plus --relay-follow-dids.
    #[arg(long, env = "SKYHOLD_RELAY_UPSTREAM")]
    pub relay_upstream: Option<String>,
    /// Accounts the relay carries whatever members follow (comma separated DIDs): their PDS (or
    /// --relay-upstream) is followed for them.
    #[arg(long, env = "SKYHOLD_RELAY_FOLLOW_DIDS", value_delimiter = ',')]
    pub relay_follow_dids: Vec<String>,
    /// Seconds an account no member follows any more stays carried by the relay (its events still
    /// taken), so an unfollow undone soon after costs no new backfill.
    #[arg(
        long,
        env = "SKYHOLD_RELAY_UNFOLLOW_GRACE_SECS",
        default_value_t = 3600
    )]
    pub relay_unfollow_grace_secs: u64,
    /// How many of each member's newest posts, likes and reposts (each kind) carry the accounts
    /// they answer, quote, like or repost; 0: only follows and subscribed lists carry an account.
    /// Posts a member interacted with stay indexed when their account is dropped.
    #[arg(long, env = "SKYHOLD_RELAY_CARRY_INTERACTIONS", default_value_t = 1000)]
    pub relay_carry_interactions: usize,
    /// Relays told about this server (`com.atproto.sync.requestCrawl`) at start and after new
    /// posts, at most every 20 minutes each: host names or URLs, comma separated, or `none`.
    /// Default: `https://bsky.network` outside local mode, none in local mode.
    #[arg(long, env = "SKYHOLD_CRAWLERS", value_delimiter = ',')]
    pub crawlers: Option<Vec<String>>,
    /// Accept commits without `prevData` from hosts that predate sync 1.1.
    #[arg(long, env = "SKYHOLD_RELAY_LENIENT")]
    pub relay_lenient: bool,
    /// New hosts `requestCrawl` may add per day.
    #[arg(long, env = "SKYHOLD_RELAY_NEW_HOSTS_PER_DAY", default_value_t = 50)]
    pub relay_new_hosts_per_day: u32,
    /// Accounts a host the operator did not configure may bring to the relay.
    #[arg(long, env = "SKYHOLD_RELAY_HOST_ACCOUNT_LIMIT", default_value_t = 100)]
    pub relay_host_account_limit: u64,
    /// Repo exports the relay fetches at once (resyncs and backfills).
    #[arg(long, env = "SKYHOLD_RELAY_RESYNC_CONCURRENCY", default_value_t = 2)]
    pub relay_resync_concurrency: usize,
    /// MiB of repo exports the relay holds in memory at once (also the largest export it takes).
    #[arg(long, env = "SKYHOLD_RELAY_RESYNC_MEMORY_MB", default_value_t = 256)]
    pub relay_resync_memory_mb: usize,
    /// Hours of events kept for cursor replay (PDS and relay streams).
    #[arg(long, env = "SKYHOLD_EVENT_RETENTION_HOURS", default_value_t = 72)]
    pub event_retention_hours: u32,
    /// SMTP server for account emails, e.g. `smtps://user:password@mail.example.com:465` (or
    /// `smtp://` for STARTTLS, `smtp+insecure://` for a plain local relay). Without it, codes are
    /// shown to the admin instead of emailed.
    #[arg(long, env = "SKYHOLD_SMTP_URL", hide_env_values = true)]
    pub smtp_url: Option<String>,
    /// The From address of account emails.
    #[arg(long, env = "SKYHOLD_SMTP_FROM")]
    pub smtp_from: Option<String>,
    /// Log as JSON lines instead of text.
    #[arg(long, env = "SKYHOLD_LOG_JSON")]
    pub log_json: bool,
    /// TLS: `acme` (certificates from an ACME CA), `files` (--tls-cert and --tls-key), or `off`
    /// (plain HTTP on --listen only, e.g. behind a reverse proxy). Default: `acme` when the public
    /// URL is https outside local mode, `off` otherwise.
    #[arg(long, env = "SKYHOLD_TLS", value_parser = ["acme", "files", "off"])]
    pub tls: Option<String>,
    /// Address of the HTTPS listener (TLS on).
    #[arg(long, env = "SKYHOLD_HTTPS_LISTEN", default_value = "[::]:443")]
    pub https_listen: SocketAddr,
    /// Address of the plain-HTTP listener that answers ACME HTTP-01 challenges and redirects
    /// everything else to HTTPS (TLS on), or `off` when only port 443 is reachable.
    #[arg(long, env = "SKYHOLD_HTTP_LISTEN", default_value = "[::]:80")]
    pub http_listen: String,
    /// ACME directory: `letsencrypt`, `letsencrypt-staging`, or the https URL of any RFC 8555 CA.
    #[arg(long, env = "SKYHOLD_ACME_DIRECTORY", default_value = "letsencrypt")]
    pub acme_directory: String,
    /// A PEM root certificate to trust for the ACME server's own HTTPS, besides the bundled
    /// roots (for a private or test CA such as pebble).
    #[arg(long, env = "SKYHOLD_ACME_CA_ROOT")]
    pub acme_ca_root: Option<PathBuf>,
    /// Contact email registered with the ACME CA.
    #[arg(long, env = "SKYHOLD_ACME_EMAIL")]
    pub acme_email: Option<String>,
    /// Challenge for the hostname and on-demand handle certificates: `http-01` (needs port 80) or
    /// `tls-alpn-01` (port 443 only). Default: `http-01`, or `tls-alpn-01` with --http-listen off.
    #[arg(long, env = "SKYHOLD_ACME_CHALLENGE", value_parser = ["http-01", "tls-alpn-01"])]
    pub acme_challenge: Option<String>,
    /// Certificates for handle hosts (`alice.<domain>`): `on-demand` (one per handle at its first
    /// TLS handshake), `wildcard` (one `*.<domain>` through DNS-01 and --dns01-hook) or `off`.
    #[arg(long, env = "SKYHOLD_HANDLE_CERTS", default_value = "on-demand", value_parser = ["on-demand", "wildcard", "off"])]
    pub handle_certs: String,
    /// Executable that publishes DNS-01 TXT records: called as `HOOK set|clear NAME VALUE`.
    #[arg(long, env = "SKYHOLD_DNS01_HOOK")]
    pub dns01_hook: Option<PathBuf>,
    /// Certificate chain (PEM) for `--tls files`.
    #[arg(long, env = "SKYHOLD_TLS_CERT")]
    pub tls_cert: Option<PathBuf>,
    /// Private key (PEM) for `--tls files`.
    #[arg(long, env = "SKYHOLD_TLS_KEY")]
    pub tls_key: Option<PathBuf>,
    /// Rate limits other than the defaults, as `name=points/window` (window: a number with s, m, h,
    /// d or w), comma separated, e.g. `global-ip=6000/5m,repo-write-hour=20000/1h`. The names and
    /// defaults are in docs/SECURITY.md.
    #[arg(long, env = "SKYHOLD_RATE_LIMITS", value_delimiter = ',')]
    pub rate_limits: Vec<String>,
    /// Connections each listener serves at once; more wait until one closes. Lowered to fit the
    /// process's file-descriptor limit.
    #[arg(long, env = "SKYHOLD_MAX_CONNECTIONS", default_value_t = 1024)]
    pub max_connections: usize,
    /// Seconds a client has to send a request's headers (also between requests on a kept-alive
    /// connection) before the connection is closed.
    #[arg(long, env = "SKYHOLD_HEADER_TIMEOUT_SECS", default_value_t = 10)]
    pub header_timeout_secs: u64,
    /// Reverse proxies (IP addresses or CIDR ranges, comma separated) whose `X-Forwarded-For` and
    /// `X-Forwarded-Proto` headers are believed; from anyone else they are ignored.
    #[arg(long, env = "SKYHOLD_TRUSTED_PROXIES", value_delimiter = ',')]
    pub trusted_proxies: Vec<String>,
}

/// The validated configuration.
#[derive(Clone)]
pub struct Config {
    pub data_dir: PathBuf,
    /// Without a trailing slash.
    pub public_url: String,
    pub hostname: String,
    /// `did:web:<host>` of this server (the `aud` of session tokens, the PDS service DID).
    pub service_did: Did,
    pub admin_password: Secret,
    pub plc_url: String,
    /// Whether the PLC directory is this server's own.
    pub embedded_plc: bool,
    /// Each starts with a dot.
    pub handle_domains: Vec<String>,
    pub invite_required: bool,
    /// Another App View to proxy app.bsky.* to (`None`: the built-in one).
    pub appview: Option<ServiceRef>,
    /// Labelers the built-in App View follows.
    pub appview_labelers: Vec<String>,
    pub local_mode: bool,
    pub lexicon_dir: Option<PathBuf>,
    /// Where the relay listens (`None`: no relay).
    pub relay_listen: Option<SocketAddr>,
    pub relay: crate::relay::RelayConfig,
    /// Newest interactions of each kind per member that carry their subjects' authors
    /// (`appview/follow_graph.rs`).
    pub carry_interactions: usize,
    /// Relays asked to crawl this server (base URLs).
    pub crawlers: Vec<String>,
    /// New accounts get `did:web:<handle>` instead of a did:plc.
    pub did_web: bool,
    pub smtp_url: Option<String>,
    pub smtp_from: Option<String>,
    pub log_json: bool,
    pub tls: TlsConfig,
    pub trusted_proxies: TrustedProxies,
    pub rate_limits: crate::ratelimit::RateLimitConfig,
    /// Connections per listener, before fitting the descriptor limit.
    pub max_connections: usize,
    pub header_timeout: std::time::Duration,
}

/// A secret string whose `Debug` and `Display` never show it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: String) -> Secret {
        Secret(value)
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<redacted>")
    }
}

impl Config {
    /// Builds and validates the configuration; every problem is reported at once.
    #[allow(
        clippy::too_many_lines,
        reason = "one validation per flag, in flag order"
    )]
    pub fn from_args(args: ServeArgs) -> Result<Config, Vec<String>> {
        let mut problems = Vec::new();
        let local_mode = args.listen.ip().is_loopback() && args.public_url.is_none();
        let public_url = args
            .public_url
            .clone()
            .unwrap_or_else(|| format!("http://localhost:{}", args.listen.port()))
            .trim_end_matches('/')
            .to_owned();
        let hostname = match host_of(&public_url) {
            Some(host) => host,
            None => {
                problems.push(format!(
                    "public URL {public_url:?} is not an http(s) URL with a host"
                ));
                String::new()
            }
        };
        let service_did = match Did::parse(&format!("did:web:{}", hostname.replace(':', "%3A"))) {
            Ok(did) => Some(did),
            Err(e) => {
                problems.push(format!("cannot make a did:web from host {hostname:?}: {e}"));
                None
            }
        };
        let admin_password = match args.admin_password.clone() {
            Some(p) if p.len() < 8 => {
                problems.push("the admin password must have at least 8 characters".into());
                None
            }
            Some(p) => Some(p),
            None if local_mode => None,
            None => {
                problems.push("SKYHOLD_ADMIN_PASSWORD is required outside local mode".into());
                None
            }
        };
        let (plc_url, embedded_plc) = match args.plc_url.clone() {
            Some(url) => {
                let url = url.trim_end_matches('/').to_owned();
                let embedded = url == format!("{public_url}/plc");
                (url, embedded)
            }
            None if local_mode => (format!("{public_url}/plc"), true),
            None => (PUBLIC_PLC_URL.to_owned(), false),
        };
        let handle_domains = if args.handle_domains.is_empty() {
            if local_mode {
                vec![".test".to_owned()]
            } else {
                vec![format!(
                    ".{}",
                    hostname.split(':').next().unwrap_or_default()
                )]
            }
        } else {
            args.handle_domains
                .iter()
                .map(|d| {
                    let d = d.trim().to_ascii_lowercase();
                    if d.starts_with('.') {
                        d
                    } else {
                        format!(".{d}")
                    }
                })
                .collect()
        };
        let relay_listen = args.relay_listen.or_else(|| {
            (local_mode && args.listen.port() != 0 && args.listen.port() < u16::MAX)
                .then(|| SocketAddr::new(args.listen.ip(), args.listen.port() + 1))
        });
        let mut followed_dids = std::collections::HashSet::new();
        for did in &args.relay_follow_dids {
            match Did::parse(did.trim()) {
                Ok(did) => {
                    followed_dids.insert(did.to_string());
                }
                Err(e) => problems.push(format!("--relay-follow-dids: {did:?} is not a DID: {e}")),
            }
        }
        let relay = crate::relay::RelayConfig {
            hosts: args.relay_hosts.clone(),
            local_mode,
            upstream: args.relay_upstream.clone(),
            followed_dids,
            unfollow_grace: std::time::Duration::from_secs(args.relay_unfollow_grace_secs),
            lenient: args.relay_lenient,
            retention_micros: i64::from(args.event_retention_hours.max(1)) * 60 * 60 * 1_000_000,
            new_hosts_per_day: args.relay_new_hosts_per_day,
            host_account_limit: args.relay_host_account_limit,
            resync_concurrency: args.relay_resync_concurrency.max(1),
            resync_memory: args.relay_resync_memory_mb.clamp(1, 64 * 1024) * 1024 * 1024,
        };
        let crawlers = crawlers(args.crawlers.as_deref(), local_mode, &mut problems);
        if args.smtp_url.is_some() != args.smtp_from.is_some() {
            problems.push("--smtp-url and --smtp-from go together".into());
        }
        let mut appview_labelers = Vec::new();
        for did in &args.appview_labelers {
            match Did::parse(did.trim()) {
                Ok(did) => appview_labelers.push(did.to_string()),
                Err(e) => problems.push(format!("--appview-labelers: {did:?} is not a DID: {e}")),
            }
        }
        let appview = match args.appview.as_deref().map(parse_service_ref) {
            Some(Ok(r)) => Some(r),
            Some(Err(e)) => {
                problems.push(e);
                None
            }
            None => None,
        };
        let tls = tls_config(
            &args,
            local_mode,
            &public_url,
            &hostname,
            &handle_domains,
            &mut problems,
        );
        let trusted_proxies = TrustedProxies::parse(&args.trusted_proxies).unwrap_or_else(|e| {
            problems.push(format!("--trusted-proxies: {e}"));
            TrustedProxies::default()
        });
        let rate_limits =
            crate::ratelimit::parse_overrides(&args.rate_limits).unwrap_or_else(|mut bad| {
                problems.append(&mut bad);
                crate::ratelimit::RateLimitConfig::default()
            });
        if !problems.is_empty() {
            return Err(problems);
        }
        let Some(service_did) = service_did else {
            return Err(problems);
        };
        Ok(Config {
            admin_password: Secret(admin_password.unwrap_or_default()),
            data_dir: args.data_dir,
            public_url,
            hostname,
            service_did,
            plc_url,
            embedded_plc,
            handle_domains,
            invite_required: args.invite_required.unwrap_or(!local_mode),
            appview,
            appview_labelers,
            local_mode,
            lexicon_dir: args.lexicon_dir,
            relay_listen,
            relay,
            carry_interactions: args.relay_carry_interactions,
            crawlers,
            did_web: args.did_method == "web",
            smtp_url: args.smtp_url,
            smtp_from: args.smtp_from,
            log_json: args.log_json,
            tls,
            trusted_proxies,
            rate_limits,
            max_connections: args.max_connections.max(1),
            header_timeout: std::time::Duration::from_secs(args.header_timeout_secs.clamp(1, 3600)),
        })
    }
}

/// The main Bluesky relay, asked to crawl production nodes unless told otherwise.
pub const DEFAULT_CRAWLER: &str = "https://bsky.network";

/// The crawlers' base URLs: the ones given (`none` or an empty value for none), else the default
/// for the mode.
fn crawlers(given: Option<&[String]>, local_mode: bool, problems: &mut Vec<String>) -> Vec<String> {
    let Some(given) = given else {
        return if local_mode {
            Vec::new()
        } else {
            vec![DEFAULT_CRAWLER.to_owned()]
        };
    };
    let mut out: Vec<String> = Vec::new();
    for entry in given.iter().map(|e| e.trim()) {
        if entry.is_empty() || entry.eq_ignore_ascii_case("none") {
            continue;
        }
        match crate::pds::crawler_url(entry) {
            Ok(url) if !out.contains(&url) => out.push(url),
            Ok(_) => {}
            Err(e) => problems.push(format!("--crawlers: {e}")),
        }
    }
    out
}

/// The TLS settings, with every problem found added to `problems`.
#[allow(
    clippy::too_many_lines,
    reason = "the TLS derivation, one case per mode"
)]
fn tls_config(
    args: &ServeArgs,
    local_mode: bool,
    public_url: &str,
    hostname: &str,
    handle_domains: &[String],
    problems: &mut Vec<String>,
) -> TlsConfig {
    let bare_host = hostname.split(':').next().unwrap_or_default().to_owned();
    let off = TlsConfig::off(bare_host.clone(), handle_domains.to_vec());
    let https_url = public_url.starts_with("https://");
    let mode = args.tls.as_deref().unwrap_or(if https_url && !local_mode {
        "acme"
    } else {
        "off"
    });
    let tls_only = [
        ("--tls-cert", args.tls_cert.is_some()),
        ("--tls-key", args.tls_key.is_some()),
    ];
    if mode == "off" {
        for (flag, given) in tls_only {
            if given {
                problems.push(format!("{flag} needs --tls files"));
            }
        }
        return off;
    }
    if !https_url {
        problems.push(format!(
            "--tls {mode} needs an https:// public URL (got {public_url:?})"
        ));
    }
    let http_listen = match args.http_listen.as_str() {
        "off" | "" => None,
        text => match text.parse::<SocketAddr>() {
            Ok(address) => Some(address),
            Err(_) => {
                problems.push(format!(
                    "--http-listen must be an address such as [::]:80, or off (got {text:?})"
                ));
                None
            }
        },
    };
    for (flag, address) in [
        ("--https-listen", Some(args.https_listen)),
        ("--http-listen", http_listen),
    ] {
        if let Some(address) = address
            && overlaps(address, args.listen)
        {
            problems.push(format!(
                "{flag} {address} overlaps --listen {}: with TLS on, --listen is the plain-HTTP \
                 listener (e.g. 127.0.0.1:2583 for health checks); move one of them",
                args.listen
            ));
        }
    }
    if let Some(http) = http_listen
        && overlaps(http, args.https_listen)
    {
        problems.push("--http-listen and --https-listen overlap".into());
    }
    let handle_certs = match args.handle_certs.as_str() {
        "wildcard" => HandleCerts::Wildcard,
        "off" => HandleCerts::Off,
        _ => HandleCerts::OnDemand,
    };
    let tls_mode = if mode == "files" {
        match (&args.tls_cert, &args.tls_key) {
            (Some(cert), Some(key)) => {
                for path in [cert, key] {
                    if !path.is_file() {
                        problems.push(format!("{} is not a readable file", path.display()));
                    }
                }
                TlsMode::Files {
                    cert: cert.clone(),
                    key: key.clone(),
                }
            }
            _ => {
                problems.push("--tls files needs --tls-cert and --tls-key".into());
                TlsMode::Off
            }
        }
    } else {
        for (flag, given) in tls_only {
            if given {
                problems.push(format!("{flag} needs --tls files"));
            }
        }
        if bare_host.parse::<std::net::IpAddr>().is_ok() || !bare_host.contains('.') {
            problems.push(format!(
                "ACME certificates need a DNS name with a dot as the public URL's host (got {bare_host:?})"
            ));
        }
        let directory_url = match args.acme_directory.as_str() {
            "letsencrypt" => instant_acme::LetsEncrypt::Production.url().to_owned(),
            "letsencrypt-staging" => instant_acme::LetsEncrypt::Staging.url().to_owned(),
            url if url.starts_with("https://") => url.to_owned(),
            other => {
                problems.push(format!(
                    "--acme-directory must be letsencrypt, letsencrypt-staging or an https:// URL (got {other:?})"
                ));
                String::new()
            }
        };
        if let Some(root) = &args.acme_ca_root
            && !root.is_file()
        {
            problems.push(format!(
                "--acme-ca-root {} is not a readable file",
                root.display()
            ));
        }
        if let Some(email) = &args.acme_email
            && (!email.contains('@') || email.contains(char::is_whitespace))
        {
            problems.push(format!("--acme-email {email:?} is not an email address"));
        }
        let challenge = match args.acme_challenge.as_deref() {
            Some("tls-alpn-01") => ChallengeKind::TlsAlpn01,
            Some(_) => ChallengeKind::Http01,
            None if http_listen.is_none() => ChallengeKind::TlsAlpn01,
            None => ChallengeKind::Http01,
        };
        if challenge == ChallengeKind::Http01 && http_listen.is_none() {
            problems.push("--acme-challenge http-01 needs --http-listen".into());
        }
        if handle_certs == HandleCerts::Wildcard {
            match &args.dns01_hook {
                Some(hook) if hook.is_file() => {}
                Some(hook) => problems.push(format!(
                    "--dns01-hook {} is not an executable file",
                    hook.display()
                )),
                None => problems.push(
                    "--handle-certs wildcard needs --dns01-hook (DNS-01 is the only way to a wildcard)"
                        .into(),
                ),
            }
        }
        TlsMode::Acme(AcmeConfig {
            directory_url,
            ca_root: args.acme_ca_root.clone(),
            contact: args.acme_email.clone(),
            challenge,
            dns01_hook: args.dns01_hook.clone(),
        })
    };
    TlsConfig {
        mode: tls_mode,
        https_listen: args.https_listen,
        http_listen,
        hostname: bare_host,
        handle_domains: handle_domains.to_vec(),
        handle_certs,
    }
}

/// Whether binding both addresses would clash: same port, and the same IP or either unspecified.
fn overlaps(a: SocketAddr, b: SocketAddr) -> bool {
    a.port() == b.port()
        && a.port() != 0
        && (a.ip() == b.ip() || a.ip().is_unspecified() || b.ip().is_unspecified())
}

/// The `host[:port]` of an http(s) URL.
fn host_of(url: &str) -> Option<String> {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))?;
    let host = rest.split('/').next()?;
    (!host.is_empty() && !host.contains('@')).then(|| host.to_ascii_lowercase())
}

fn parse_service_ref(text: &str) -> Result<ServiceRef, String> {
    let mut parts = text.split_whitespace();
    match (parts.next(), parts.next(), parts.next()) {
        (Some(did_ref), Some(url), None)
            if did_ref.starts_with("did:") && did_ref.contains('#') =>
        {
            Ok(ServiceRef {
                did_ref: did_ref.to_owned(),
                url: url.trim_end_matches('/').to_owned(),
            })
        }
        _ => Err(format!(
            "--appview must be \"did:…#service_id https://url\", got {text:?}"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Wrapper {
        #[command(flatten)]
        args: ServeArgs,
    }

    fn config(flags: &[&str]) -> Result<Config, Vec<String>> {
        let mut argv = vec!["skyhold"];
        argv.extend_from_slice(flags);
        Config::from_args(Wrapper::parse_from(argv).args)
    }

    #[test]
    fn defaults_are_a_local_network() {
        let c = config(&[]).unwrap();
        assert!(c.local_mode);
        assert_eq!(c.public_url, "http://localhost:2583");
        assert_eq!(c.plc_url, "http://localhost:2583/plc");
        assert!(c.embedded_plc);
        assert_eq!(c.handle_domains, vec![".test"]);
        assert!(!c.invite_required);
        assert_eq!(c.service_did.as_str(), "did:web:localhost%3A2583");
        assert!(c.crawlers.is_empty(), "a local network tells no relay");
    }

    #[test]
    fn crawlers_default_to_the_bluesky_relay_in_production() {
        let production = [
            "--public-url",
            "https://pds.example.com",
            "--admin-password",
            "long-enough",
        ];
        let with = |extra: &[&str]| {
            let mut flags = production.to_vec();
            flags.extend_from_slice(extra);
            config(&flags)
        };
        assert_eq!(with(&[]).unwrap().crawlers, vec![DEFAULT_CRAWLER]);
        assert!(with(&["--crawlers", "none"]).unwrap().crawlers.is_empty());
        assert!(with(&["--crawlers", ""]).unwrap().crawlers.is_empty());
        assert_eq!(
            with(&[
                "--crawlers",
                "bsky.network, https://relay.example/,bsky.network"
            ])
            .unwrap()
            .crawlers,
            vec!["https://bsky.network", "https://relay.example"]
        );
        assert_eq!(
            config(&["--crawlers", "http://127.0.0.1:2584"])
                .unwrap()
                .crawlers,
            vec!["http://127.0.0.1:2584"],
            "a local network may name one"
        );
        let problems = with(&["--crawlers", "https://relay.example/xrpc"])
            .err()
            .unwrap();
        assert!(
            problems.iter().any(|p| p.contains("--crawlers")),
            "{problems:?}"
        );
    }

    #[test]
    fn production_needs_an_admin_password_and_uses_the_public_directory() {
        let problems = config(&["--public-url", "https://pds.example.com"])
            .err()
            .unwrap();
        assert!(problems.iter().any(|p| p.contains("ADMIN_PASSWORD")));
        let c = config(&[
            "--public-url",
            "https://pds.example.com",
            "--admin-password",
            "long-enough",
        ])
        .unwrap();
        assert_eq!(c.plc_url, PUBLIC_PLC_URL);
        assert_eq!(c.handle_domains, vec![".pds.example.com"]);
        assert!(c.invite_required);
        assert_eq!(c.service_did.as_str(), "did:web:pds.example.com");
        assert_eq!(format!("{:?}", c.admin_password), "<redacted>");
        // TLS defaults to ACME with Let's Encrypt, certificates on demand for handles.
        assert!(matches!(&c.tls.mode, TlsMode::Acme(a) if a.challenge == ChallengeKind::Http01));
        assert_eq!(c.tls.hostname, "pds.example.com");
        assert_eq!(c.tls.https_listen.port(), 443);
        assert_eq!(c.tls.http_listen.map(|a| a.port()), Some(80));
        assert_eq!(c.tls.handle_certs, HandleCerts::OnDemand);
    }

    #[test]
    fn tls_choices_are_validated_together() {
        let base = [
            "--public-url",
            "https://pds.example.com",
            "--admin-password",
            "long-enough",
        ];
        let with = |extra: &[&str]| {
            let mut flags = base.to_vec();
            flags.extend_from_slice(extra);
            config(&flags)
        };
        // Behind a reverse proxy: TLS off, forwarded headers from the proxy only.
        let c = with(&["--tls", "off", "--trusted-proxies", "10.0.0.0/8,::1"]).unwrap();
        assert!(!c.tls.enabled());
        assert!(c.trusted_proxies.trusts("10.1.2.3".parse().unwrap()));
        assert!(!c.trusted_proxies.trusts("192.0.2.1".parse().unwrap()));
        // Only port 443 open: TLS-ALPN-01 is the default challenge.
        let c = with(&["--http-listen", "off"]).unwrap();
        assert!(matches!(&c.tls.mode, TlsMode::Acme(a) if a.challenge == ChallengeKind::TlsAlpn01));
        let problems = with(&["--http-listen", "off", "--acme-challenge", "http-01"])
            .err()
            .unwrap();
        assert!(
            problems.iter().any(|p| p.contains("needs --http-listen")),
            "{problems:?}"
        );
        // Every problem at once.
        let problems = with(&[
            "--handle-certs",
            "wildcard",
            "--acme-directory",
            "http://insecure.example/dir",
            "--acme-email",
            "not an email",
            "--tls-cert",
            "/nonexistent",
            "--listen",
            "0.0.0.0:443",
            "--trusted-proxies",
            "not-an-ip",
        ])
        .err()
        .unwrap();
        for needle in [
            "--dns01-hook",
            "--acme-directory",
            "--acme-email",
            "--tls-cert needs --tls files",
            "overlaps --listen",
            "--trusted-proxies",
        ] {
            assert!(
                problems.iter().any(|p| p.contains(needle)),
                "{needle}: {problems:?}"
            );
        }
        let problems = with(&["--tls", "files"]).err().unwrap();
        assert!(
            problems
                .iter()
                .any(|p| p.contains("--tls-cert and --tls-key"))
        );
        // ACME needs a DNS name.
        let problems = config(&[
            "--public-url",
            "https://192.0.2.7",
            "--admin-password",
            "long-enough",
        ])
        .err()
        .unwrap();
        assert!(
            problems.iter().any(|p| p.contains("DNS name")),
            "{problems:?}"
        );
        // Local mode stays plain HTTP.
        assert!(!config(&[]).unwrap().tls.enabled());
    }
}
