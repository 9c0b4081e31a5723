//! The command line: one subcommand per file.
//!
//! `anyhow` is allowed here (and in `main.rs`): commands report failures to a person, not to code.

mod backup;
mod config_file;
mod doctor;
mod init;
mod repo;
mod restore;
mod serve;

use clap::{Parser, Subcommand};

/// A whole small AT Protocol community in one binary.
#[derive(Parser)]
#[command(name = "skyhold", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server (with no flags: a complete local network on 127.0.0.1:2583).
    Serve(Box<serve::ServeCommand>),
    /// Write the configuration file for a public node (asks for hostname, email, admin password).
    Init(init::InitArgs),
    /// Check DNS, ports, certificates, the PLC directory, the clock and disk space; say what to fix.
    Doctor(doctor::DoctorArgs),
    /// Back up a node (online while it runs, offline otherwise) into a new directory.
    Backup(backup::BackupArgs),
    /// Restore a backup into an empty data directory.
    Restore(restore::RestoreArgs),
    /// Inspect and verify repository exports (CAR files).
    #[command(subcommand)]
    Repo(repo::RepoCommand),
}

/// Runs the command line; returns the process exit code.
pub fn run() -> i32 {
    let cli = Cli::parse();
    match cli.command {
        None => {
            print_overview();
            0
        }
        Some(Command::Serve(command)) => serve::run(*command),
        Some(Command::Init(args)) => init::run(args),
        Some(Command::Doctor(args)) => doctor::run(args),
        Some(Command::Backup(args)) => backup::run(args),
        Some(Command::Restore(args)) => restore::run(args),
        Some(Command::Repo(command)) => repo::run(command),
    }
}

fn print_overview() {
    println!(
        "skyhold {}: a small AT Protocol community in one binary.\n\n\
         Available now:\n  \
         skyhold serve                   run a local network on 127.0.0.1:2583 (PDS + PLC directory)\n  \
         skyhold init                    write /etc/skyhold/skyhold.env for a public node\n  \
         skyhold doctor                  check DNS, ports, certificates, PLC, clock and disk\n  \
         skyhold backup DEST             consistent backup, online while the server runs\n  \
         skyhold restore SRC --data-dir D   bring a backup back\n  \
         skyhold repo inspect FILE.car   show a repo export's commit, DID, rev and records\n  \
         skyhold repo verify FILE.car    check signature, MST structure and every block hash\n\n\
         Run `skyhold --help` for details.",
        env!("CARGO_PKG_VERSION")
    );
}
