//! `skyhold backup DEST`: a consistent backup of a node into a new directory.
//!
//! Online when the server answers (at `--url`, or at the configured `--listen` address): the server
//! takes the snapshot between two group commits and streams it (see `backup`), so it never stops.
//! Offline otherwise: the data directory is opened directly (the server cannot start meanwhile).

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, bail};
use clap::Args;
use futures_util::TryStreamExt;

use super::config_file;
use crate::backup::{Manifest, backup_offline, prepare_destination, receive};

#[derive(Args)]
pub struct BackupArgs {
    /// New (or empty) directory to write the backup into.
    dest: PathBuf,
    /// Configuration file (default: /etc/skyhold/skyhold.env when it exists).
    #[arg(long)]
    config: Option<PathBuf>,
    /// The data directory (default: from the configuration).
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// URL of the running server (default: its configured --listen address on this machine).
    #[arg(long)]
    url: Option<String>,
    /// Admin password (default: from the configuration, or the data directory's admin-password).
    /// Prefer the variable to the flag: a flag's value shows in the process list.
    #[arg(long, env = "SKYHOLD_ADMIN_PASSWORD", hide_env_values = true)]
    admin_password: Option<String>,
    /// Back up the data directory directly; the server must be stopped.
    #[arg(long, conflicts_with = "url")]
    offline: bool,
}

pub fn run(args: BackupArgs) -> i32 {
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
    match runtime.block_on(backup(args)) {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("error: {e:#}");
            1
        }
    }
}

async fn backup(args: BackupArgs) -> anyhow::Result<()> {
    let loaded = config_file::load(args.config.as_deref(), true, &[])?;
    let data_dir = args
        .data_dir
        .clone()
        .unwrap_or_else(|| loaded.args.data_dir.clone());
    let url = args
        .url
        .clone()
        .unwrap_or_else(|| config_file::local_url(loaded.args.listen));
    let online = !args.offline && (args.url.is_some() || server_answers(&url).await);
    let dest_existed = args.dest.exists();
    prepare_destination(&args.dest)?;
    let result = if online {
        match config_file::admin_password(args.admin_password.as_deref(), &loaded, &data_dir) {
            Ok(password) => backup_online(&url, &password, &args.dest).await,
            Err(e) => Err(e),
        }
    } else {
        backup_offline(&data_dir, &args.dest)
            .await
            .with_context(|| {
                format!(
                    "backing up {} offline (no server answered at {url}; give --url if it runs \
                     elsewhere)",
                    data_dir.display()
                )
            })
    };
    match result {
        Ok(manifest) => {
            print_summary(&manifest, &args.dest, if online { &url } else { "" });
            Ok(())
        }
        Err(e) => {
            // Leave nothing that could be mistaken for a backup.
            let _ = std::fs::remove_dir_all(&args.dest);
            if dest_existed {
                let _ = std::fs::create_dir_all(&args.dest);
            }
            Err(e)
        }
    }
}

fn client() -> anyhow::Result<reqwest::Client> {
    // No overall timeout: a large backup takes as long as it takes. A stalled one fails on the read
    // timeout.
    Ok(crate::net::OperatorClient {
        user_agent: concat!("skyhold-backup/", env!("CARGO_PKG_VERSION")),
        timeout: None,
        read_timeout: Some(Duration::from_secs(300)),
        connect_timeout: Duration::from_secs(10),
    }
    .build())
}

async fn server_answers(url: &str) -> bool {
    let Ok(client) = client() else { return false };
    client
        .get(format!("{url}/xrpc/_health"))
        .timeout(Duration::from_secs(3))
        .send()
        .await
        .is_ok_and(|r| r.status().is_success())
}

async fn backup_online(
    url: &str,
    password: &str,
    dest: &std::path::Path,
) -> anyhow::Result<Manifest> {
    let response = client()?
        .post(format!("{}/admin/backup", url.trim_end_matches('/')))
        .basic_auth("admin", Some(password))
        .send()
        .await
        .with_context(|| format!("connecting to {url}"))?;
    let status = response.status();
    if !status.is_success() {
        let body = response.text().await.unwrap_or_default();
        let detail = serde_json::from_str::<serde_json::Value>(&body)
            .ok()
            .and_then(|v| v["message"].as_str().map(str::to_owned))
            .unwrap_or(body);
        match status.as_u16() {
            401 | 403 => bail!("{url} refused the admin password"),
            404 => bail!("{url} has no backup endpoint: is it a skyhold server of this version?"),
            _ => bail!("{url} answered {status}: {detail}"),
        }
    }
    let body =
        tokio_util::io::StreamReader::new(response.bytes_stream().map_err(std::io::Error::other));
    Ok(receive(body, dest).await?)
}

fn print_summary(manifest: &Manifest, dest: &std::path::Path, url: &str) {
    let mb = |bytes: u64| bytes as f64 / 1_000_000.0;
    let source = if url.is_empty() {
        "offline backup (the server was not running)".to_owned()
    } else {
        format!(
            "online backup of {url}; writes waited {} ms for the database copy",
            manifest.paused_millis
        )
    };
    println!("{source}");
    println!("written to {}", dest.display());
    println!(
        "  database: {:.1} MB, {} tables, integrity checked",
        mb(manifest.database.bytes),
        manifest.tables.len()
    );
    println!(
        "  blobs:    {} files, {:.1} MB, each checked against its CID",
        manifest.blobs.count,
        mb(manifest.blobs.bytes)
    );
    println!(
        "restore with: skyhold restore {} --data-dir DIR",
        dest.display()
    );
}
