//! `skyhold restore SRC --data-dir DIR`: bring a backup back into an empty data directory, checking
//! every file (see `backup::restore`). Stop the server first; start it afterwards.

use std::path::PathBuf;

use clap::Args;

use super::config_file;

#[derive(Args)]
pub struct RestoreArgs {
    /// The backup directory (made by `skyhold backup`).
    src: PathBuf,
    /// Data directory to restore into; it must hold no database (default: from the configuration).
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// Configuration file (default: /etc/skyhold/skyhold.env when it exists).
    #[arg(long)]
    config: Option<PathBuf>,
}

pub fn run(args: RestoreArgs) -> i32 {
    let data_dir = match args.data_dir {
        Some(dir) => dir,
        None => match config_file::load(args.config.as_deref(), true, &[]) {
            Ok(loaded) => loaded.args.data_dir,
            Err(e) => {
                eprintln!("error: {e:#}");
                return 1;
            }
        },
    };
    match crate::backup::restore(&args.src, &data_dir) {
        Ok(summary) => {
            println!(
                "restored the {} backup taken {} (skyhold {}) into {}",
                summary.manifest.mode,
                summary.manifest.created_at,
                summary.manifest.skyhold_version,
                data_dir.display()
            );
            println!(
                "  database: {:.1} MB, integrity checked",
                summary.database_bytes as f64 / 1_000_000.0
            );
            println!(
                "  blobs:    {} files, each checked against its CID",
                summary.blobs
            );
            if let Some((uid, gid)) = summary.owner {
                println!(
                    "  owner:    files given to uid {uid}, gid {gid} (the data directory's owner)"
                );
            }
            println!("start the server on it (e.g. systemctl start skyhold)");
            0
        }
        Err(e) => {
            eprintln!("error: {e}");
            1
        }
    }
}
