//! `skyhold serve`: run the server. With no flags, a complete local network on 127.0.0.1:2583.
//!
//! `--config FILE` (or `SKYHOLD_CONFIG`) reads the settings from an environment file such as
//! `/etc/skyhold/skyhold.env`, below flags and environment variables (see `config_file`); systemd
//! instead passes that file as the environment.

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;

use super::config_file;
use crate::config::{Config, ServeArgs};

#[derive(Args)]
pub struct ServeCommand {
    /// Read settings from this configuration file (KEY=value lines, as `skyhold init` writes).
    #[arg(long, env = "SKYHOLD_CONFIG")]
    config: Option<PathBuf>,
    #[command(flatten)]
    args: ServeArgs,
}

pub fn run(command: ServeCommand) -> i32 {
    let args = match command.config {
        None => command.args,
        Some(path) => match with_config_file(&path) {
            Ok(args) => args,
            Err(e) => {
                eprintln!("error: {e:#}");
                return 1;
            }
        },
    };
    serve(args)
}

/// Parses the command line again with the file's settings under it.
fn with_config_file(path: &std::path::Path) -> anyhow::Result<ServeArgs> {
    // Everything after `serve` except --config, which only this wrapper knows.
    let mut flags = Vec::new();
    let mut argv = std::env::args().skip_while(|a| a != "serve").skip(1);
    while let Some(arg) = argv.next() {
        if arg == "--config" {
            argv.next();
        } else if !arg.starts_with("--config=") {
            flags.push(arg);
        }
    }
    let loaded = config_file::load(Some(path), false, &flags)?;
    for name in &loaded.unknown {
        eprintln!(
            "warning: {name} in {} is not a setting of this skyhold; ignored",
            path.display()
        );
    }
    Ok(loaded.args)
}

fn serve(mut args: ServeArgs) -> i32 {
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
    let result = runtime.block_on(async move {
        // Bind first: with port 0 the real port decides the default public URL.
        let listener = tokio::net::TcpListener::bind(args.listen)
            .await
            .with_context(|| format!("binding {}", args.listen))?;
        args.listen = listener.local_addr()?;
        let config = Config::from_args(args).map_err(|problems| {
            anyhow::anyhow!("invalid configuration:\n  {}", problems.join("\n  "))
        })?;
        crate::telemetry::init(config.log_json);
        crate::app::serve(config, listener).await
    });
    match result {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("error: {e:#}");
            1
        }
    }
}
