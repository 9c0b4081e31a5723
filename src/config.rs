//! Configuration: one value built from defaults, `SKYHOLD_*` environment variables and flags (in
//! that order of precedence), validated once, then handed to each service.
//!
//! With no configuration, `skyhold serve` runs a complete local network: 127.0.0.1:2583, data in
//! `./skyhold-data`, the embedded PLC directory, handles under `.test`, no invites, no TLS.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::Args;

use crate::core::syntax::Did;

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
    /// Directory of Lexicon schema files (JSON, searched recursively) that records are validated
    /// against, e.g. a checkout of the official `lexicons/` folder. Without it, records of every type
    /// are accepted with `validationStatus: "unknown"`.
    #[arg(long, env = "SKYHOLD_LEXICON_DIR")]
    pub lexicon_dir: Option<PathBuf>,
    /// Address the relay listens on (default in local mode: the port after the PDS's; otherwise off).
    #[arg(long, env = "SKYHOLD_RELAY_LISTEN")]
    pub relay_listen: Option<SocketAddr>,
    /// PDS hosts the relay follows from the start (`host[:port]`, comma separated).
    #[arg(long, env = "SKYHOLD_RELAY_HOSTS", value_delimiter = ',')]
    pub relay_hosts: Vec<String>,
    /// A big relay to follow for the DIDs in --relay-follow-dids only (`host[:port]`).
    #[arg(long, env = "SKYHOLD_RELAY_UPSTREAM")]
    pub relay_upstream: Option<String>,
    /// DIDs whose events the relay keeps from --relay-upstream (comma separated).
    #[arg(long, env = "SKYHOLD_RELAY_FOLLOW_DIDS", value_delimiter = ',')]
    pub relay_follow_dids: Vec<String>,
    /// Accept commits without `prevData` from hosts that predate sync 1.1.
    #[arg(long, env = "SKYHOLD_RELAY_LENIENT")]
    pub relay_lenient: bool,
    /// Hours of events kept for cursor replay (PDS and relay streams).
    #[arg(long, env = "SKYHOLD_EVENT_RETENTION_HOURS", default_value_t = 72)]
    pub event_retention_hours: u32,
    /// Log as JSON lines instead of text.
    #[arg(long, env = "SKYHOLD_LOG_JSON")]
    pub log_json: bool,
}

/// Where app.bsky.* requests go.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServiceRef {
    /// `did#service_id`, the `aud` of the service-auth tokens we mint.
    pub did_ref: String,
    pub url: String,
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
    pub log_json: bool,
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
        let admin_password = match args.admin_password {
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
        let (plc_url, embedded_plc) = match args.plc_url {
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
            lenient: args.relay_lenient,
            retention_micros: i64::from(args.event_retention_hours.max(1)) * 60 * 60 * 1_000_000,
        };
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
            log_json: args.log_json,
        })
    }
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
    }

    #[test]
    fn production_needs_an_admin_password_and_uses_the_public_directory() {
        let problems = config(&[
            "--listen",
            "0.0.0.0:443",
            "--public-url",
            "https://pds.example.com",
        ])
        .err()
        .unwrap();
        assert!(problems.iter().any(|p| p.contains("ADMIN_PASSWORD")));
        let c = config(&[
            "--listen",
            "0.0.0.0:443",
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
    }
}
