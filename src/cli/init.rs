//! `skyhold init`: write the configuration file (the environment file systemd reads) for a public
//! node. Asks for the hostname, an email address and the admin password; `--non-interactive` takes
//! them from flags only (for scripts and tests). The file is checked by loading it the way `serve`
//! will before the command reports success.

use std::io::{BufRead, IsTerminal, Write};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use clap::Args;

use super::config_file::{self, DEFAULT_PATH, quote};
use crate::config::Config;

/// The commented reference of every setting (also installed as `skyhold.env.example`).
const TEMPLATE: &str = include_str!("../../packaging/skyhold.env");
/// The line in the template where the reference of settings starts.
const TEMPLATE_MARKER: &str = "# ---- every setting";

#[derive(Args)]
pub struct InitArgs {
    /// Where to write the configuration.
    #[arg(long, default_value = DEFAULT_PATH)]
    config: PathBuf,
    /// The server's public hostname, e.g. pds.example.com; handles will be <name>.<hostname>.
    #[arg(long)]
    hostname: Option<String>,
    /// Contact email, given to the certificate authority (Let's Encrypt).
    #[arg(long)]
    email: Option<String>,
    /// Admin password, at least 8 characters (default: a generated one, printed once).
    #[arg(long, hide_env_values = true)]
    admin_password: Option<String>,
    /// Where the database and blobs live.
    #[arg(long, default_value = "/var/lib/skyhold")]
    data_dir: PathBuf,
    /// Plain-HTTP listener (health checks and backups; the upstream of a reverse proxy).
    #[arg(long, default_value = "127.0.0.1:2583")]
    listen: SocketAddr,
    /// A reverse proxy in front terminates TLS: no certificates, no ports 80 and 443.
    #[arg(long)]
    behind_proxy: bool,
    /// Never ask; fail when the hostname or email is missing.
    #[arg(long)]
    non_interactive: bool,
    /// Replace an existing configuration file.
    #[arg(long)]
    force: bool,
}

pub fn run(args: InitArgs) -> i32 {
    match init(args) {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("error: {e:#}");
            1
        }
    }
}

/// The answers a configuration is written from.
struct Answers {
    hostname: String,
    email: String,
    admin_password: String,
    generated_password: bool,
    data_dir: PathBuf,
    listen: SocketAddr,
    behind_proxy: bool,
}

fn init(args: InitArgs) -> anyhow::Result<()> {
    if args.config.exists() && !args.force {
        bail!(
            "{} already exists; edit it, or run `skyhold init --force` to replace it",
            args.config.display()
        );
    }
    let interactive = !args.non_interactive && std::io::stdin().is_terminal();
    let mut input = std::io::stdin().lock();
    let answers = ask(&args, interactive, &mut input)?;
    let text = render(&answers, &crate::clock::now_datetime());
    write_private(&args.config, &text)?;
    // Read it back the way `serve` will, so that a mistake shows now and not at start-up.
    let loaded = config_file::load(Some(&args.config), false, &[])?;
    if let Err(problems) = Config::from_args(loaded.args) {
        bail!(
            "the configuration written to {} is not valid:\n  {}",
            args.config.display(),
            problems.join("\n  ")
        );
    }
    print_next_steps(&args.config, &answers);
    Ok(())
}

fn ask(args: &InitArgs, interactive: bool, input: &mut impl BufRead) -> anyhow::Result<Answers> {
    let hostname = match &args.hostname {
        Some(h) => h.clone(),
        None if interactive => prompt(
            input,
            "Public hostname of this server (e.g. pds.example.com)",
        )?,
        None => bail!("--hostname is required with --non-interactive"),
    };
    let hostname = check_hostname(&hostname)?;
    let email = match &args.email {
        Some(e) => e.clone(),
        None if interactive => prompt(input, "Contact email (for Let's Encrypt)")?,
        None => bail!("--email is required with --non-interactive"),
    };
    let email = check_email(&email)?;
    let (admin_password, generated_password) = match &args.admin_password {
        Some(p) => (p.clone(), false),
        None if interactive => {
            let typed = prompt_secret(input, "Admin password (empty: generate one)")?;
            if typed.is_empty() {
                (generate_password(), true)
            } else {
                (typed, false)
            }
        }
        None => (generate_password(), true),
    };
    check_password(&admin_password)?;
    let behind_proxy = args.behind_proxy
        || (interactive
            && prompt(
                input,
                "Does a reverse proxy in front of skyhold terminate TLS? [y/N]",
            )?
            .to_ascii_lowercase()
            .starts_with('y'));
    Ok(Answers {
        hostname,
        email,
        admin_password,
        generated_password,
        data_dir: args.data_dir.clone(),
        listen: args.listen,
        behind_proxy,
    })
}

fn prompt(input: &mut impl BufRead, question: &str) -> anyhow::Result<String> {
    eprint!("{question}: ");
    std::io::stderr().flush()?;
    let mut line = String::new();
    if input.read_line(&mut line)? == 0 {
        bail!("no answer (end of input)");
    }
    Ok(line.trim().to_owned())
}

/// Reads a line without echoing it when `stty` can turn echo off.
fn prompt_secret(input: &mut impl BufRead, question: &str) -> anyhow::Result<String> {
    let stty = |arg: &str| {
        std::process::Command::new("stty")
            .arg(arg)
            .stdin(std::process::Stdio::inherit())
            .stderr(std::process::Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    let hidden = std::io::stdin().is_terminal() && stty("-echo");
    let answer = prompt(input, question);
    if hidden {
        stty("echo");
        eprintln!();
    }
    answer
}

fn generate_password() -> String {
    let mut bytes = [0u8; 18];
    rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, &mut bytes);
    data_encoding::BASE64URL_NOPAD.encode(&bytes)
}

/// A DNS name of at least two labels, lower-cased; not an IP address, not a URL.
fn check_hostname(raw: &str) -> anyhow::Result<String> {
    let host = raw.trim().trim_end_matches('.').to_ascii_lowercase();
    if host.parse::<std::net::IpAddr>().is_ok() {
        bail!("the hostname must be a DNS name, not an IP address: handles are <name>.<hostname>");
    }
    if host.contains("://") || host.contains('/') {
        bail!("give the hostname alone (pds.example.com), not a URL");
    }
    crate::core::syntax::Handle::parse(&host)
        .map_err(|e| anyhow::anyhow!("{host:?} is not a valid hostname: {e}"))?;
    Ok(host)
}

fn check_email(raw: &str) -> anyhow::Result<String> {
    let email = raw.trim();
    match email.split_once('@') {
        Some((user, domain))
            if !user.is_empty()
                && domain.contains('.')
                && !email.chars().any(|c| c.is_whitespace() || c.is_control()) =>
        {
            Ok(email.to_owned())
        }
        _ => bail!("{email:?} is not an email address"),
    }
}

fn check_password(password: &str) -> anyhow::Result<()> {
    if password.chars().count() < 8 {
        bail!("the admin password must have at least 8 characters");
    }
    if password.chars().any(char::is_control) {
        bail!("the admin password must not contain control characters or line breaks");
    }
    Ok(())
}

/// The configuration file: the chosen settings, then the commented reference of every setting.
fn render(answers: &Answers, now: &str) -> String {
    let mut out = format!(
        "# skyhold configuration, written by `skyhold init` at {now}.\n\
         # systemd reads it (EnvironmentFile= in skyhold.service); so do `skyhold doctor` and\n\
         # `skyhold backup`. It holds the admin password: keep it readable by root only.\n\
         # After a change: sudo systemctl restart skyhold\n\n"
    );
    let mut line = |key: &str, value: &str| {
        out.push_str(key);
        out.push('=');
        out.push_str(&quote(value));
        out.push('\n');
    };
    line(
        "SKYHOLD_PUBLIC_URL",
        &format!("https://{}", answers.hostname),
    );
    line("SKYHOLD_ADMIN_PASSWORD", &answers.admin_password);
    line("SKYHOLD_DATA_DIR", &answers.data_dir.to_string_lossy());
    line("SKYHOLD_LISTEN", &answers.listen.to_string());
    line("SKYHOLD_ACME_EMAIL", &answers.email);
    if answers.behind_proxy {
        line("SKYHOLD_TLS", "off");
    }
    out.push('\n');
    match TEMPLATE.find(TEMPLATE_MARKER) {
        Some(start) => out.push_str(&TEMPLATE[start..]),
        None => out.push_str(TEMPLATE),
    }
    out
}

/// Writes the file readable by its owner alone (it holds the admin password): a temporary file
/// renamed into place, so a failed write never leaves half a configuration.
fn write_private(path: &Path, text: &str) -> anyhow::Result<()> {
    use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o755)
            .create(parent)
            .with_context(|| format!("creating {}", parent.display()))?;
    }
    let temp = path.with_extension("env.tmp");
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&temp)
        .with_context(|| format!("writing {}", temp.display()))?;
    file.write_all(text.as_bytes())
        .and_then(|()| file.sync_all())
        .with_context(|| format!("writing {}", temp.display()))?;
    std::fs::rename(&temp, path).with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}

fn print_next_steps(path: &Path, answers: &Answers) {
    let host = &answers.hostname;
    println!("wrote {}", path.display());
    if answers.generated_password {
        println!(
            "admin password (generated; also in that file): {}",
            answers.admin_password
        );
    }
    println!("\nnext steps:");
    println!(
        "  1. DNS: A (IPv4) and/or AAAA (IPv6) records for {host} and for *.{host} (the handles),\n     \
         pointing at this server's public address."
    );
    if answers.behind_proxy {
        println!(
            "  2. Reverse proxy: send https://{host} and https://*.{host} to http://{} (WebSockets\n     \
             included, for subscribeRepos).",
            answers.listen
        );
    } else {
        println!(
            "  2. Ports 80 and 443 must reach this machine (on a home network: forward them on the\n     \
             router). Certificates come from Let's Encrypt at the first start."
        );
    }
    println!("  3. Start it:   sudo systemctl enable --now skyhold   (after a change: restart)");
    println!("  4. Check it:   sudo skyhold doctor");
    println!("  5. Back it up: sudo skyhold backup /srv/backups/skyhold-$(date +%F)");
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The reference installed as skyhold.env.example sets nothing and names every setting.
    #[test]
    fn the_template_documents_every_setting_and_sets_none() {
        assert!(config_file::parse(TEMPLATE).unwrap().is_empty());
        let command = <config_file::ServeFlags as clap::CommandFactory>::command();
        let missing: Vec<String> = command
            .get_arguments()
            .filter_map(|a| a.get_env())
            .map(|e| e.to_string_lossy().into_owned())
            .filter(|env| !TEMPLATE.contains(&format!("#{env}=")))
            .collect();
        assert!(
            missing.is_empty(),
            "packaging/skyhold.env lacks {missing:?}"
        );
    }

    #[test]
    fn hostnames_emails_and_passwords_are_checked() {
        assert_eq!(
            check_hostname(" PDS.Example.com. ").unwrap(),
            "pds.example.com"
        );
        assert!(check_hostname("192.0.2.1").is_err());
        assert!(check_hostname("https://pds.example.com").is_err());
        assert!(check_hostname("localhost").is_err());
        assert!(check_email("me@example.com").is_ok());
        assert!(check_email("me@localhost").is_err());
        assert!(check_email("not an email").is_err());
        assert!(check_password("short").is_err());
        assert!(check_password("long enough\n").is_err());
        assert!(check_password("a long 'n' \"quoted\" $password").is_ok());
        assert_eq!(generate_password().len(), 24);
    }

    #[test]
    fn answers_come_from_prompts_when_interactive() {
        let args = InitArgs {
            config: PathBuf::from("unused"),
            hostname: None,
            email: None,
            admin_password: None,
            data_dir: PathBuf::from("/var/lib/skyhold"),
            listen: "127.0.0.1:2583".parse().unwrap(),
            behind_proxy: false,
            non_interactive: false,
            force: false,
        };
        let mut input = "pds.example.com\nme@example.com\n\ny\n".as_bytes();
        let answers = ask(&args, true, &mut input).unwrap();
        assert_eq!(answers.hostname, "pds.example.com");
        assert_eq!(answers.email, "me@example.com");
        assert!(answers.generated_password);
        assert!(answers.behind_proxy);
        let mut empty = "".as_bytes();
        assert!(ask(&args, false, &mut empty).is_err());
    }

    #[test]
    fn the_written_file_reads_back_as_a_valid_production_configuration() {
        let answers = Answers {
            hostname: "pds.example.com".into(),
            email: "me@example.com".into(),
            admin_password: "it's a \"secret\" $1".into(),
            generated_password: false,
            data_dir: PathBuf::from("/var/lib/skyhold"),
            listen: "127.0.0.1:2583".parse().unwrap(),
            behind_proxy: true,
        };
        let text = render(&answers, "2026-01-01T00:00:00.000Z");
        let parsed: std::collections::BTreeMap<String, String> =
            config_file::parse(&text).unwrap().into_iter().collect();
        assert_eq!(parsed["SKYHOLD_PUBLIC_URL"], "https://pds.example.com");
        assert_eq!(parsed["SKYHOLD_ADMIN_PASSWORD"], answers.admin_password);
        assert_eq!(parsed["SKYHOLD_TLS"], "off");
        assert_eq!(parsed["SKYHOLD_ACME_EMAIL"], "me@example.com");
        // The reference part is all comments.
        assert_eq!(parsed.len(), 6, "{parsed:?}");
        assert!(text.contains("#SKYHOLD_EVENT_RETENTION_HOURS=72"));
    }
}
