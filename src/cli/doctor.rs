//! `skyhold doctor`: checks what a node needs from its machine and the network, and says in plain
//! words what to fix. Exit code 0 when nothing is a problem, 1 otherwise (warnings do not count).
//!
//! Checks: the configuration; whether the server is running; DNS for the hostname and for the
//! handle wildcard (`*.<domain>` must reach the same machine); the listen ports (bindable, or in use
//! by the running server); certificates (the server's TLS status when it has one, and an HTTPS
//! request to the public URL with the bundled roots); the PLC directory; the clock (sane, and close
//! to the PLC directory's); free disk space for the data directory; the relays told about this
//! server (`--crawlers`: when each was last asked and what it answered, from the running server).
//!
//! Each check is split in two: a probe that touches the machine or the network, and a pure
//! `judge_*` function that turns what the probe saw into a [`Finding`]. The judgments are
//! unit-tested with made-up observations; the probes are thin.

use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use clap::Args;

use super::config_file::{self, Loaded};
use crate::config::Config;

/// How long one network probe may take.
const PROBE_TIMEOUT: Duration = Duration::from_secs(5);
/// Less free space than this is a problem.
const MIN_FREE_BYTES: u64 = 1 << 30;
/// A clock this far off breaks tokens and TLS: a problem.
const MAX_SKEW: Duration = Duration::from_secs(60);
/// A clock this far off deserves a look.
const WARN_SKEW: Duration = Duration::from_secs(5);
/// 2025-01-01T00:00:00Z: a clock before this has not been set (a Pi without a real-time clock
/// before NTP answers).
const EARLIEST_SANE_TIME: u64 = 1_735_689_600;

#[derive(Args)]
pub struct DoctorArgs {
    /// Configuration file (default: /etc/skyhold/skyhold.env when it exists).
    #[arg(long)]
    config: Option<PathBuf>,
}

/// How serious a finding is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    Ok,
    /// Information, e.g. a check that does not apply.
    Note,
    Warning,
    Problem,
}

/// One line of the report.
#[derive(Debug)]
pub struct Finding {
    pub level: Level,
    pub check: String,
    pub what: String,
    pub fix: Option<String>,
}

impl Finding {
    fn new(level: Level, check: impl Into<String>, what: impl Into<String>) -> Finding {
        Finding {
            level,
            check: check.into(),
            what: what.into(),
            fix: None,
        }
    }

    fn fix(mut self, fix: impl Into<String>) -> Finding {
        self.fix = Some(fix.into());
        self
    }
}

pub fn run(args: DoctorArgs) -> i32 {
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: starting the runtime: {e}");
            return 1;
        }
    };
    let loaded = match config_file::load(args.config.as_deref(), true, &[]) {
        Ok(loaded) => loaded,
        Err(e) => {
            println!("skyhold doctor");
            print_finding(
                &Finding::new(Level::Problem, "configuration", format!("{e:#}"))
                    .fix("fix the configuration file (or run `sudo skyhold init`)"),
            );
            println!("\n1 problem: fix it and run skyhold doctor again.");
            return 1;
        }
    };
    match &loaded.path {
        Some(path) => println!("skyhold doctor: settings from {}", path.display()),
        None => println!(
            "skyhold doctor: no configuration file (looked for {}); checking the defaults and \
             SKYHOLD_* variables",
            config_file::DEFAULT_PATH
        ),
    }
    let findings = runtime.block_on(examine(&loaded));
    report(&findings)
}

fn print_finding(finding: &Finding) {
    let label = match finding.level {
        Level::Ok => "ok",
        Level::Note => "note",
        Level::Warning => "WARNING",
        Level::Problem => "PROBLEM",
    };
    println!("  {label:<8} {:<16} {}", finding.check, finding.what);
    if let Some(fix) = &finding.fix {
        println!("  {:<8} {:<16} fix: {fix}", "", "");
    }
}

/// Prints the findings and a summary; returns the exit code.
fn report(findings: &[Finding]) -> i32 {
    for finding in findings {
        print_finding(finding);
    }
    let count = |level| findings.iter().filter(|f| f.level == level).count();
    let (problems, warnings) = (count(Level::Problem), count(Level::Warning));
    let plural = |n: usize, word: &str| format!("{n} {word}{}", if n == 1 { "" } else { "s" });
    println!();
    if problems > 0 {
        println!(
            "{}, {}: fix the problems above and run skyhold doctor again.",
            plural(problems, "problem"),
            plural(warnings, "warning")
        );
        1
    } else if warnings > 0 {
        println!(
            "no problems, {}: worth a look.",
            plural(warnings, "warning")
        );
        0
    } else {
        println!("no problems found.");
        0
    }
}

/// Runs every check that applies to this configuration.
async fn examine(loaded: &Loaded) -> Vec<Finding> {
    let mut findings = Vec::new();
    for name in &loaded.unknown {
        findings.push(
            Finding::new(
                Level::Warning,
                "configuration",
                format!("{name} is not a setting of this skyhold version; it is ignored"),
            )
            .fix("check the spelling, or remove it"),
        );
    }
    let args = loaded.args.clone();
    let data_dir = args.data_dir.clone();
    let listen = args.listen;
    let config = Config::from_args(args);
    findings.push(judge_config(&config));

    let local = config_file::local_url(listen);
    let running = probe_health(&local).await;
    findings.push(judge_server(&local, running.as_ref().map(|_| ())));
    let running = running.is_ok();

    let clock_reference = match &config {
        Ok(config) if !config.embedded_plc => {
            let answer = probe_plc(&config.plc_url).await;
            findings.push(judge_plc(&config.plc_url, &answer));
            answer.ok().and_then(|a| a.date)
        }
        Ok(_) => {
            findings.push(Finding::new(
                Level::Note,
                "PLC directory",
                "the embedded directory (local mode): nothing to reach",
            ));
            None
        }
        Err(_) => None,
    };
    findings.push(judge_clock(SystemTime::now(), clock_reference));
    let (free, total) = probe_disk(&data_dir);
    let database =
        std::fs::metadata(data_dir.join(crate::store::DATABASE_FILE)).map_or(0, |m| m.len());
    findings.push(judge_disk(&data_dir, free.zip(total), database));

    let Ok(config) = config else {
        return findings;
    };
    let mut ports = vec![("listen", listen)];
    if let Some(relay) = config.relay_listen {
        ports.push(("relay", relay));
    }
    let tls = tls_settings(loaded, &config);
    if let Some(tls) = &tls {
        ports.push(("https", tls.https));
        if let Some(http) = tls.http {
            ports.push(("http (ACME)", http));
        }
    }
    for (role, address) in ports {
        findings.push(judge_port(role, address, &probe_bind(address), running));
    }
    let crawlers = if running {
        probe_admin(
            &local,
            "/xrpc/blue.skyhold.admin.listCrawlers",
            loaded,
            &data_dir,
        )
        .await
    } else {
        None
    };
    findings.extend(judge_crawlers(&config.crawlers, crawlers.as_ref()));
    if config.local_mode {
        findings.push(Finding::new(
            Level::Note,
            "DNS",
            "local mode: no DNS records, certificates or public ports are needed",
        ));
        return findings;
    }

    let host = config
        .hostname
        .split(':')
        .next()
        .unwrap_or_default()
        .to_owned();
    if host.parse::<IpAddr>().is_ok() || host == "localhost" {
        findings.push(
            Finding::new(
                Level::Warning,
                "DNS",
                format!(
                    "the public URL names {host}, not a DNS name: handles under it cannot work"
                ),
            )
            .fix("set SKYHOLD_PUBLIC_URL to https://<your hostname>"),
        );
    } else {
        let resolver = resolver();
        let host_answer = lookup(resolver.as_ref(), &host).await;
        findings.push(judge_host_dns(&host, &host_answer));
        let host_addresses = host_answer.unwrap_or_default();
        for domain in &config.handle_domains {
            let probe_name = format!("doctor-check-{}{domain}", random_label());
            let answer = lookup(resolver.as_ref(), &probe_name).await;
            findings.push(judge_wildcard_dns(domain, &answer, &host_addresses));
        }
    }

    if tls.is_some() || config.public_url.starts_with("https://") {
        if running && let Some(status) = probe_admin(&local, "/admin/tls", loaded, &data_dir).await
        {
            findings.extend(judge_certificates(&status));
        }
        findings.push(judge_https(
            &config.public_url,
            &probe_https(&config.public_url).await,
        ));
    }
    findings
}

// ---- judgments (pure) ----

fn judge_config(config: &Result<Config, Vec<String>>) -> Finding {
    match config {
        Ok(config) if config.local_mode => Finding::new(
            Level::Ok,
            "configuration",
            format!(
                "local mode ({}), data in {}",
                config.public_url,
                config.data_dir.display()
            ),
        ),
        Ok(config) => Finding::new(
            Level::Ok,
            "configuration",
            format!(
                "{}, handles under {}, data in {}",
                config.public_url,
                config.handle_domains.join(" "),
                config.data_dir.display()
            ),
        ),
        Err(problems) => Finding::new(
            Level::Problem,
            "configuration",
            format!("not valid: {}", problems.join("; ")),
        )
        .fix("correct these settings in the configuration file, then restart skyhold"),
    }
}

fn judge_server(url: &str, health: Result<(), &String>) -> Finding {
    match health {
        Ok(()) => Finding::new(Level::Ok, "server", format!("running, answering at {url}")),
        Err(e) => Finding::new(
            Level::Note,
            "server",
            format!("not answering at {url} ({e})"),
        )
        .fix("start it when the checks pass: sudo systemctl enable --now skyhold"),
    }
}

/// What binding a listen address showed.
#[derive(Debug, PartialEq, Eq)]
enum Bind {
    Free,
    InUse,
    /// Ports below 1024 need CAP_NET_BIND_SERVICE (the systemd unit grants it) or root.
    NeedsPrivilege,
    /// The address is not one of this machine's.
    NotLocal,
    Other(String),
}

fn judge_port(role: &str, address: SocketAddr, bind: &Bind, server_running: bool) -> Finding {
    let check = format!("port {role}");
    match bind {
        Bind::Free => Finding::new(Level::Ok, check, format!("{address} is free for skyhold")),
        Bind::InUse if server_running => Finding::new(
            Level::Ok,
            check,
            format!("{address} is in use, by the running skyhold"),
        ),
        Bind::InUse => Finding::new(
            Level::Problem,
            check,
            format!("{address} is in use by another program, so skyhold cannot start"),
        )
        .fix(format!(
            "find it with `sudo ss -ltnp 'sport = :{}'` and stop it, or choose another address",
            address.port()
        )),
        Bind::NeedsPrivilege => Finding::new(
            Level::Warning,
            check,
            format!(
                "{address} needs privileges to bind; this user cannot test it (the systemd unit \
                 grants CAP_NET_BIND_SERVICE)"
            ),
        )
        .fix("run skyhold doctor with sudo to test the port"),
        Bind::NotLocal => Finding::new(
            Level::Problem,
            check,
            format!("{address} is not an address of this machine"),
        )
        .fix("listen on 0.0.0.0 / [::] or on one of this machine's addresses"),
        Bind::Other(e) => Finding::new(
            Level::Problem,
            check,
            format!("{address} cannot be bound: {e}"),
        ),
    }
}

type Lookup = Result<Vec<IpAddr>, String>;

fn judge_host_dns(host: &str, answer: &Lookup) -> Finding {
    match answer {
        Ok(addresses) if !addresses.is_empty() => {
            Finding::new(Level::Ok, "DNS", format!("{host} -> {}", list(addresses)))
        }
        Ok(_) | Err(_) => Finding::new(
            Level::Problem,
            "DNS",
            match answer {
                Err(e) => format!("{host} does not resolve ({e})"),
                Ok(_) => format!("{host} does not resolve: it has no A or AAAA record"),
            },
        )
        .fix(format!(
            "add an A record (IPv4) and/or AAAA record (IPv6) for {host} pointing at this \
             server's public address, at your DNS provider"
        )),
    }
}

fn judge_wildcard_dns(domain: &str, answer: &Lookup, host_addresses: &[IpAddr]) -> Finding {
    let wildcard = format!("*{domain}");
    match answer {
        Ok(addresses) if !addresses.is_empty() => {
            if host_addresses.is_empty() || addresses.iter().any(|a| host_addresses.contains(a)) {
                Finding::new(
                    Level::Ok,
                    "DNS handles",
                    format!("{wildcard} -> {}", list(addresses)),
                )
            } else {
                Finding::new(
                    Level::Warning,
                    "DNS handles",
                    format!(
                        "{wildcard} -> {}, not the hostname's {}",
                        list(addresses),
                        list(host_addresses)
                    ),
                )
                .fix(format!(
                    "point {wildcard} at the same address as the hostname (or make it a CNAME of it)"
                ))
            }
        }
        _ => Finding::new(
            Level::Problem,
            "DNS handles",
            format!("{wildcard} does not resolve: handles like alice{domain} will not work"),
        )
        .fix(format!(
            "add a wildcard record {wildcard} (A/AAAA, or a CNAME to the hostname) at your DNS \
             provider"
        )),
    }
}

fn list(addresses: &[IpAddr]) -> String {
    addresses
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// What asking the PLC directory showed.
#[derive(Debug)]
struct PlcAnswer {
    status: u16,
    /// Its clock, from the `Date` header.
    date: Option<SystemTime>,
}

fn judge_plc(url: &str, answer: &Result<PlcAnswer, String>) -> Finding {
    match answer {
        Ok(answer) if answer.status < 500 => {
            Finding::new(Level::Ok, "PLC directory", format!("{url} answers"))
        }
        Ok(answer) => Finding::new(
            Level::Problem,
            "PLC directory",
            format!("{url} answers with an error (HTTP {})", answer.status),
        )
        .fix("accounts cannot be created or change handles until it works; try again later"),
        Err(e) => Finding::new(
            Level::Problem,
            "PLC directory",
            format!("{url} cannot be reached: {e}"),
        )
        .fix("check this machine's internet access (DNS, firewall, proxy)"),
    }
}

fn judge_clock(now: SystemTime, reference: Option<SystemTime>) -> Finding {
    let secs = now.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    if secs < EARLIEST_SANE_TIME {
        return Finding::new(
            Level::Problem,
            "clock",
            format!(
                "the clock says {}, which cannot be right",
                crate::core::syntax::Datetime::from_unix_millis(
                    i64::try_from(secs).unwrap_or(0) * 1000
                )
                .map_or_else(|_| secs.to_string(), |d| d.as_str().to_owned())
            ),
        )
        .fix("set the time: sudo timedatectl set-ntp true (and check that NTP can reach the network)");
    }
    let Some(reference) = reference else {
        return Finding::new(
            Level::Note,
            "clock",
            "plausible; no other clock to compare with",
        );
    };
    let (skew, ahead) = match now.duration_since(reference) {
        Ok(d) => (d, true),
        Err(e) => (e.duration(), false),
    };
    let words = format!(
        "{:.0} s {} the PLC directory's clock",
        skew.as_secs_f64(),
        if ahead { "ahead of" } else { "behind" }
    );
    if skew > MAX_SKEW {
        Finding::new(Level::Problem, "clock", words)
            .fix("sync the clock: sudo timedatectl set-ntp true")
    } else if skew > WARN_SKEW {
        Finding::new(Level::Warning, "clock", words).fix("check NTP: timedatectl status")
    } else {
        Finding::new(Level::Ok, "clock", format!("in sync ({words})"))
    }
}

fn judge_disk(data_dir: &Path, space: Option<(u64, u64)>, database: u64) -> Finding {
    let gb = |bytes: u64| bytes as f64 / 1e9;
    let Some((free, total)) = space else {
        return Finding::new(
            Level::Warning,
            "disk",
            format!("cannot tell the free space at {}", data_dir.display()),
        );
    };
    let what = format!(
        "{:.1} GB free of {:.1} GB at {} (database {:.2} GB)",
        gb(free),
        gb(total),
        data_dir.display(),
        gb(database)
    );
    if free < MIN_FREE_BYTES {
        Finding::new(Level::Problem, "disk", what).fix(
            "free some space or move the data directory to a bigger disk: writes fail when it is full",
        )
    } else if free < database.saturating_mul(11) / 10 {
        Finding::new(Level::Warning, "disk", what)
            .fix("an online backup needs a database-sized copy in the data directory while it runs")
    } else if free < total / 20 {
        Finding::new(Level::Warning, "disk", what).fix("less than 5% is left")
    } else {
        Finding::new(Level::Ok, "disk", what)
    }
}

/// Findings from the server's TLS status (`GET /admin/tls`, JSON).
fn judge_certificates(status: &serde_json::Value) -> Vec<Finding> {
    let mut out = Vec::new();
    if status["mode"] == "off" {
        out.push(Finding::new(
            Level::Note,
            "certificates",
            "TLS is off in the server (a reverse proxy terminates it)",
        ));
        return out;
    }
    let empty = Vec::new();
    let certificates = status["certificates"].as_array().unwrap_or(&empty);
    for cert in certificates {
        let name = cert["name"].as_str().unwrap_or("?");
        let not_after = cert["notAfter"].as_str().unwrap_or("?");
        if cert["expired"] == true {
            out.push(
                Finding::new(
                    Level::Problem,
                    "certificates",
                    format!("{name}: expired on {not_after}"),
                )
                .fix("see the renewal error below or in the server log (journalctl -u skyhold)"),
            );
        }
        if let Some(failure) = cert.get("renewalFailure").filter(|f| !f.is_null()) {
            out.push(
                Finding::new(
                    Level::Warning,
                    "certificates",
                    format!(
                        "{name}: renewal is failing ({}); the current certificate is valid until {not_after}",
                        failure["lastError"].as_str().unwrap_or("unknown error")
                    ),
                )
                .fix("check DNS and that ports 80/443 reach this machine"),
            );
        }
    }
    for failing in status["failing"].as_array().unwrap_or(&empty) {
        out.push(
            Finding::new(
                Level::Problem,
                "certificates",
                format!(
                    "no certificate for {} yet: {}",
                    failing["name"].as_str().unwrap_or("?"),
                    failing["lastError"].as_str().unwrap_or("unknown error")
                ),
            )
            .fix("check DNS and that ports 80/443 reach this machine from the internet"),
        );
    }
    if out.is_empty() {
        let soonest = certificates
            .iter()
            .filter_map(|c| c["notAfter"].as_str())
            .min()
            .unwrap_or("none yet");
        out.push(Finding::new(
            Level::Ok,
            "certificates",
            format!(
                "{} certificate(s), none failing; first expiry {soonest}",
                certificates.len()
            ),
        ));
    }
    out
}

/// Findings about the relays told about this server: one per crawler from the running server's
/// status (`blue.skyhold.admin.listCrawlers`, JSON), or what the configuration says when the
/// server does not answer.
fn judge_crawlers(configured: &[String], status: Option<&serde_json::Value>) -> Vec<Finding> {
    let none = || {
        vec![Finding::new(
            Level::Note,
            "crawlers",
            "none: no relay is told about this server (SKYHOLD_CRAWLERS)",
        )]
    };
    let Some(status) = status else {
        return if configured.is_empty() {
            none()
        } else {
            vec![Finding::new(
                Level::Note,
                "crawlers",
                format!(
                    "{} (asked once the server runs; run doctor again then to see their answers)",
                    configured.join(", ")
                ),
            )]
        };
    };
    let empty = Vec::new();
    let crawlers = status["crawlers"].as_array().unwrap_or(&empty);
    if crawlers.is_empty() {
        return none();
    }
    crawlers
        .iter()
        .map(|c| {
            let url = c["url"].as_str().unwrap_or("?");
            let text = |field: &str| c[field].as_str().map(str::to_owned);
            let answer = match (c["status"].as_u64(), text("error")) {
                (Some(status), None) => format!("answered HTTP {status}"),
                (Some(status), Some(error)) => format!("answered HTTP {status}: {error}"),
                (None, Some(error)) => format!("did not answer ({error})"),
                (None, None) => "no answer yet".to_owned(),
            };
            let next = match (text("nextAttemptAt"), text("notBefore")) {
                _ if c["inFlight"] == true => "asking it now".to_owned(),
                (Some(at), _) => format!("next attempt at {at}"),
                (None, Some(at)) => format!("asked again after new posts, not before {at}"),
                (None, None) => "asked again after new posts".to_owned(),
            };
            match (c["state"].as_str(), text("lastAttemptAt")) {
                (Some("ok"), Some(at)) => Finding::new(
                    Level::Ok,
                    "crawlers",
                    format!("relay {url} last contacted at {at}, {answer}; {next}"),
                ),
                (Some("failing"), Some(at)) => Finding::new(
                    Level::Warning,
                    "crawlers",
                    format!(
                        "relay {url} last contacted at {at}, {answer}; {} failed in a row, {next}",
                        c["failures"].as_u64().unwrap_or(0)
                    ),
                )
                .fix(if c["status"].is_u64() {
                    "the relay refused: check the message, and that the public URL is this \
                     server's real hostname"
                } else {
                    "check this machine's outbound HTTPS (DNS, firewall, proxy); it keeps \
                     retrying with growing waits"
                }),
                _ => Finding::new(
                    Level::Note,
                    "crawlers",
                    format!("relay {url} not contacted yet; {next}"),
                ),
            }
        })
        .collect()
}

/// What an HTTPS request to the public URL showed.
#[derive(Debug)]
enum Https {
    Valid,
    /// No TCP connection from this machine.
    Unreachable(String),
    /// Connected, but TLS or HTTP failed.
    Failed(String),
}

fn judge_https(url: &str, outcome: &Https) -> Finding {
    match outcome {
        Https::Valid => Finding::new(
            Level::Ok,
            "HTTPS",
            format!("{url} answers with a valid certificate"),
        ),
        Https::Unreachable(e) => Finding::new(
            Level::Warning,
            "HTTPS",
            format!("{url} cannot be reached from this machine ({e})"),
        )
        .fix(
            "check from outside your network (e.g. a phone on mobile data); many home routers \
             cannot reach their own public address",
        ),
        Https::Failed(e) => Finding::new(
            Level::Problem,
            "HTTPS",
            format!("{url} connects but fails: {e}"),
        )
        .fix("check the certificate state above and the server log (journalctl -u skyhold)"),
    }
}

// ---- probes ----

fn http_client() -> Option<reqwest::Client> {
    Some(
        crate::net::OperatorClient {
            user_agent: concat!("skyhold-doctor/", env!("CARGO_PKG_VERSION")),
            timeout: Some(PROBE_TIMEOUT),
            read_timeout: None,
            connect_timeout: PROBE_TIMEOUT,
        }
        .build(),
    )
}

async fn probe_health(url: &str) -> Result<(), String> {
    let client = http_client().ok_or("no HTTP client")?;
    match client.get(format!("{url}/xrpc/_health")).send().await {
        Ok(r) if r.status().is_success() => Ok(()),
        Ok(r) => Err(format!("HTTP {}", r.status())),
        Err(e) => Err(error_chain(&e)),
    }
}

async fn probe_plc(url: &str) -> Result<PlcAnswer, String> {
    let client = http_client().ok_or("no HTTP client")?;
    let response = client
        .get(format!("{url}/_health"))
        .send()
        .await
        .map_err(|e| error_chain(&e))?;
    let date = response
        .headers()
        .get(reqwest::header::DATE)
        .and_then(|d| d.to_str().ok())
        .and_then(parse_http_date);
    Ok(PlcAnswer {
        status: response.status().as_u16(),
        date,
    })
}

/// An admin endpoint of the running server (its TLS status, its crawlers), when the server has it
/// and the admin password is at hand.
async fn probe_admin(
    url: &str,
    path: &str,
    loaded: &Loaded,
    data_dir: &Path,
) -> Option<serde_json::Value> {
    let password = config_file::admin_password(None, loaded, data_dir).ok()?;
    let response = http_client()?
        .get(format!("{url}{path}"))
        .basic_auth("admin", Some(password))
        .send()
        .await
        .ok()?;
    if !response.status().is_success() {
        return None;
    }
    response.json().await.ok()
}

async fn probe_https(public_url: &str) -> Https {
    let Some(rest) = public_url.strip_prefix("https://") else {
        return Https::Failed("the public URL is not https".into());
    };
    let authority = rest.split('/').next().unwrap_or_default();
    let target = if authority.contains(':') {
        authority.to_owned()
    } else {
        format!("{authority}:443")
    };
    match tokio::time::timeout(PROBE_TIMEOUT, tokio::net::TcpStream::connect(&target)).await {
        Ok(Ok(_)) => {}
        Ok(Err(e)) => return Https::Unreachable(e.to_string()),
        Err(_) => return Https::Unreachable("timed out".into()),
    }
    let Some(client) = http_client() else {
        return Https::Failed("no HTTP client".into());
    };
    match client
        .get(format!("{public_url}/xrpc/_health"))
        .send()
        .await
    {
        Ok(r) if r.status().is_success() => Https::Valid,
        Ok(r) => Https::Failed(format!("HTTP {}", r.status())),
        Err(e) => Https::Failed(error_chain(&e)),
    }
}

fn probe_bind(address: SocketAddr) -> Bind {
    match std::net::TcpListener::bind(address) {
        Ok(_) => Bind::Free,
        Err(e) => match e.kind() {
            std::io::ErrorKind::AddrInUse => Bind::InUse,
            std::io::ErrorKind::PermissionDenied => Bind::NeedsPrivilege,
            std::io::ErrorKind::AddrNotAvailable => Bind::NotLocal,
            _ => Bind::Other(e.to_string()),
        },
    }
}

/// Free and total bytes of the file system holding `dir` (or its nearest existing parent).
fn probe_disk(dir: &Path) -> (Option<u64>, Option<u64>) {
    let absolute = std::path::absolute(dir).unwrap_or_else(|_| dir.to_owned());
    let Some(existing) = absolute.ancestors().find(|p| p.exists()) else {
        return (None, None);
    };
    match rustix::fs::statvfs(existing) {
        Ok(stat) => (
            Some(stat.f_bavail.saturating_mul(stat.f_frsize)),
            Some(stat.f_blocks.saturating_mul(stat.f_frsize)),
        ),
        Err(_) => (None, None),
    }
}

fn resolver() -> Option<hickory_resolver::TokioResolver> {
    let mut builder = hickory_resolver::TokioResolver::builder_tokio().ok()?;
    builder.options_mut().timeout = Duration::from_secs(3);
    builder.options_mut().attempts = 2;
    builder.build().ok()
}

async fn lookup(resolver: Option<&hickory_resolver::TokioResolver>, name: &str) -> Lookup {
    let resolver = resolver.ok_or("no DNS resolver configured (/etc/resolv.conf)")?;
    match tokio::time::timeout(PROBE_TIMEOUT * 2, resolver.lookup_ip(format!("{name}."))).await {
        Ok(Ok(found)) => {
            let mut addresses: Vec<IpAddr> = found.iter().collect();
            addresses.sort();
            addresses.dedup();
            Ok(addresses)
        }
        // "No records" is an answer, not a failure to get one.
        Ok(Err(e)) if e.to_string().contains("no records found") => Ok(Vec::new()),
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err("timed out".into()),
    }
}

fn random_label() -> String {
    let mut bytes = [0u8; 4];
    rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, &mut bytes);
    data_encoding::HEXLOWER.encode(&bytes)
}

/// An error and its causes in one line, without the HTTP client's generic wrappers.
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut next: Option<&dyn std::error::Error> = Some(error);
    while let Some(cause) = next {
        let words = cause.to_string();
        let generic =
            words.starts_with("error sending request") || words.starts_with("client error");
        if !generic && !parts.iter().any(|p| p.contains(&words)) {
            parts.push(words);
        }
        next = cause.source();
    }
    if parts.is_empty() {
        error.to_string()
    } else {
        parts.join(": ")
    }
}

/// TLS settings as the server will use them, read by name so that doctor works whichever TLS
/// options this build has: `None` when the server does not terminate TLS.
struct TlsPorts {
    https: SocketAddr,
    http: Option<SocketAddr>,
}

fn tls_settings(loaded: &Loaded, config: &Config) -> Option<TlsPorts> {
    let default_mode = if config.public_url.starts_with("https://") && !config.local_mode {
        "acme"
    } else {
        "off"
    };
    let mode = loaded
        .setting("SKYHOLD_TLS")
        .unwrap_or_else(|| default_mode.to_owned());
    if mode == "off" {
        return None;
    }
    let https = loaded
        .setting("SKYHOLD_HTTPS_LISTEN")
        .and_then(|a| a.parse().ok())
        .unwrap_or_else(|| SocketAddr::from(([0u16; 8], 443)));
    let http = match loaded.setting("SKYHOLD_HTTP_LISTEN").as_deref() {
        Some("off") => None,
        Some(address) => address.parse().ok(),
        None if mode == "acme" => Some(SocketAddr::from(([0u16; 8], 80))),
        None => None,
    };
    Some(TlsPorts { https, http })
}

/// Parses an HTTP date in its only current form, IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`).
fn parse_http_date(text: &str) -> Option<SystemTime> {
    let mut parts = text.split_whitespace();
    let (_weekday, day, month, year, time, zone) = (
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
    );
    if zone != "GMT" || parts.next().is_some() {
        return None;
    }
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let month = MONTHS.iter().position(|m| *m == month)? as i64 + 1;
    let day: i64 = day.parse().ok()?;
    let year: i64 = year.parse().ok()?;
    let mut hms = time.split(':').map(|p| p.parse::<i64>().ok());
    let (h, m, s) = (hms.next()??, hms.next()??, hms.next()??);
    if !(1..=31).contains(&day) || h > 23 || m > 59 || s > 60 {
        return None;
    }
    // Days from 1970-01-01 to the civil date (Howard Hinnant's algorithm).
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let secs = u64::try_from(days * 86_400 + h * 3600 + m * 60 + s).ok()?;
    Some(UNIX_EPOCH + Duration::from_secs(secs))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(secs)
    }

    #[test]
    fn http_dates_parse() {
        assert_eq!(
            parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT"),
            Some(at(784_111_777))
        );
        assert_eq!(
            parse_http_date("Tue, 24 Nov 2026 10:00:00 GMT"),
            Some(at(1_795_514_400))
        );
        assert_eq!(parse_http_date("Sunday, 06-Nov-94 08:49:37 GMT"), None);
        assert_eq!(parse_http_date("garbage"), None);
    }

    #[test]
    fn clock_checks() {
        let now = at(1_795_514_400);
        assert_eq!(judge_clock(at(1_000), None).level, Level::Problem);
        assert_eq!(judge_clock(now, None).level, Level::Note);
        assert_eq!(judge_clock(now, Some(now)).level, Level::Ok);
        let behind = judge_clock(now, Some(now + Duration::from_secs(10)));
        assert_eq!(behind.level, Level::Warning);
        assert!(behind.what.contains("behind"), "{}", behind.what);
        assert_eq!(
            judge_clock(now, Some(now - Duration::from_secs(120))).level,
            Level::Problem
        );
    }

    #[test]
    fn disk_checks() {
        let dir = Path::new("/var/lib/skyhold");
        const GB: u64 = 1_000_000_000;
        assert_eq!(
            judge_disk(dir, Some((500_000_000, 32 * GB)), 0).level,
            Level::Problem
        );
        assert_eq!(
            judge_disk(dir, Some((20 * GB, 32 * GB)), GB).level,
            Level::Ok
        );
        // Not enough room for the staging copy of an online backup.
        assert_eq!(
            judge_disk(dir, Some((3 * GB, 32 * GB)), 5 * GB).level,
            Level::Warning
        );
        assert_eq!(
            judge_disk(dir, Some((2 * GB, 100 * GB)), 0).level,
            Level::Warning
        );
        assert_eq!(judge_disk(dir, None, 0).level, Level::Warning);
    }

    #[test]
    fn dns_checks() {
        let a: IpAddr = "192.0.2.10".parse().unwrap();
        let b: IpAddr = "198.51.100.7".parse().unwrap();
        assert_eq!(
            judge_host_dns("pds.example.com", &Ok(vec![a])).level,
            Level::Ok
        );
        let missing = judge_host_dns("pds.example.com", &Err("NXDOMAIN".into()));
        assert_eq!(missing.level, Level::Problem);
        assert!(missing.fix.unwrap().contains("A record"));
        assert_eq!(
            judge_host_dns("x.example", &Ok(vec![])).level,
            Level::Problem
        );
        let domain = ".pds.example.com";
        assert_eq!(
            judge_wildcard_dns(domain, &Ok(vec![a]), &[a]).level,
            Level::Ok
        );
        assert_eq!(
            judge_wildcard_dns(domain, &Ok(vec![b]), &[a]).level,
            Level::Warning
        );
        let none = judge_wildcard_dns(domain, &Err("no records".into()), &[a]);
        assert_eq!(none.level, Level::Problem);
        assert!(none.what.contains("*.pds.example.com"), "{}", none.what);
    }

    #[test]
    fn port_checks() {
        let address: SocketAddr = "[::]:443".parse().unwrap();
        assert_eq!(
            judge_port("https", address, &Bind::Free, false).level,
            Level::Ok
        );
        assert_eq!(
            judge_port("https", address, &Bind::InUse, true).level,
            Level::Ok
        );
        let taken = judge_port("https", address, &Bind::InUse, false);
        assert_eq!(taken.level, Level::Problem);
        assert!(taken.fix.unwrap().contains("sport = :443"));
        assert_eq!(
            judge_port("https", address, &Bind::NeedsPrivilege, false).level,
            Level::Warning
        );
        assert_eq!(
            judge_port("https", address, &Bind::NotLocal, false).level,
            Level::Problem
        );
    }

    #[test]
    fn binding_probe_sees_a_taken_port() {
        let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        assert_eq!(probe_bind(taken.local_addr().unwrap()), Bind::InUse);
        let free = taken.local_addr().unwrap();
        drop(taken);
        assert_eq!(probe_bind(free), Bind::Free);
        assert_eq!(
            probe_bind("192.0.2.1:8080".parse().unwrap()),
            Bind::NotLocal
        );
    }

    #[test]
    fn plc_and_https_checks() {
        let ok = PlcAnswer {
            status: 200,
            date: None,
        };
        assert_eq!(judge_plc("https://plc.directory", &Ok(ok)).level, Level::Ok);
        let down = PlcAnswer {
            status: 503,
            date: None,
        };
        assert_eq!(
            judge_plc("https://plc.directory", &Ok(down)).level,
            Level::Problem
        );
        assert_eq!(
            judge_plc("https://plc.directory", &Err("timed out".into())).level,
            Level::Problem
        );
        let url = "https://pds.example.com";
        assert_eq!(judge_https(url, &Https::Valid).level, Level::Ok);
        assert_eq!(
            judge_https(url, &Https::Unreachable("refused".into())).level,
            Level::Warning
        );
        assert_eq!(
            judge_https(url, &Https::Failed("invalid peer certificate".into())).level,
            Level::Problem
        );
    }

    #[test]
    fn certificate_checks() {
        let off = judge_certificates(&serde_json::json!({"mode": "off"}));
        assert_eq!(off[0].level, Level::Note);
        let healthy = judge_certificates(&serde_json::json!({
            "mode": "acme",
            "certificates": [{"name": "pds.example.com", "notAfter": "2027-02-01T00:00:00.000Z",
                              "expired": false, "renewalFailure": null}],
            "failing": []
        }));
        assert_eq!(healthy.len(), 1);
        assert_eq!(healthy[0].level, Level::Ok);
        let broken = judge_certificates(&serde_json::json!({
            "mode": "acme",
            "certificates": [{"name": "pds.example.com", "notAfter": "2026-01-01T00:00:00.000Z",
                              "expired": true,
                              "renewalFailure": {"lastError": "connection refused"}}],
            "failing": [{"name": "alice.pds.example.com", "lastError": "DNS problem"}]
        }));
        let levels: Vec<Level> = broken.iter().map(|f| f.level).collect();
        assert_eq!(levels, vec![Level::Problem, Level::Warning, Level::Problem]);
        assert!(broken[2].what.contains("DNS problem"));
    }

    #[test]
    fn crawler_checks() {
        let none = judge_crawlers(&[], None);
        assert_eq!((none.len(), none[0].level), (1, Level::Note));
        let stopped = judge_crawlers(&["https://bsky.network".into()], None);
        assert!(stopped[0].what.contains("https://bsky.network"));
        let status = serde_json::json!({"crawlers": [
            {"url": "https://bsky.network", "state": "ok", "status": 200, "failures": 0,
             "inFlight": false, "lastAttemptAt": "2026-12-03T20:11:00.000Z",
             "notBefore": "2026-12-03T20:31:00.000Z"},
            {"url": "https://relay.example", "state": "failing", "failures": 3,
             "inFlight": false, "error": "connection refused",
             "lastAttemptAt": "2026-12-03T20:11:40.000Z",
             "nextAttemptAt": "2026-12-03T20:12:20.000Z"},
            {"url": "https://picky.example", "state": "failing", "failures": 1, "status": 400,
             "error": "unknown host", "inFlight": false,
             "lastAttemptAt": "2026-12-03T20:11:00.000Z",
             "nextAttemptAt": "2026-12-03T20:31:00.000Z"},
            {"url": "https://new.example", "state": "pending", "failures": 0, "inFlight": true},
        ]});
        let found = judge_crawlers(&[], Some(&status));
        let levels: Vec<Level> = found.iter().map(|f| f.level).collect();
        assert_eq!(
            levels,
            [Level::Ok, Level::Warning, Level::Warning, Level::Note]
        );
        assert_eq!(
            found[0].what,
            "relay https://bsky.network last contacted at 2026-12-03T20:11:00.000Z, answered \
             HTTP 200; asked again after new posts, not before 2026-12-03T20:31:00.000Z"
        );
        assert_eq!(
            found[1].what,
            "relay https://relay.example last contacted at 2026-12-03T20:11:40.000Z, did not \
             answer (connection refused); 3 failed in a row, next attempt at \
             2026-12-03T20:12:20.000Z"
        );
        assert!(found[1].fix.as_deref().unwrap().contains("outbound"));
        assert!(found[2].what.contains("answered HTTP 400: unknown host"));
        assert!(found[2].fix.as_deref().unwrap().contains("refused"));
        assert_eq!(
            found[3].what,
            "relay https://new.example not contacted yet; asking it now"
        );
    }

    #[test]
    fn the_report_fails_on_problems_only() {
        let warning = Finding::new(Level::Warning, "x", "y");
        assert_eq!(report(&[warning]), 0);
        let problem = Finding::new(Level::Problem, "x", "y");
        assert_eq!(report(&[problem]), 1);
    }
}
