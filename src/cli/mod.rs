//! The command line: one subcommand per file.
//!
//! `anyhow` is allowed here (and in `main.rs`): commands report failures to a person, not to code.

mod account;
mod admin;
mod admin_api;
mod archive;
mod backup;
mod config_file;
mod doctor;
mod email;
mod init;
mod invite;
mod key;
mod mirror;
mod recover;
mod repo;
mod report;
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
    /// Manage accounts on the running server (admin).
    #[command(subcommand)]
    Account(account::AccountCommand),
    /// The admin role (who may use the admin console) and the audit log (admin).
    #[command(subcommand)]
    Admin(admin::AdminCommand),
    /// Manage invite codes on the running server (admin).
    #[command(subcommand)]
    Invite(invite::InviteCommand),
    /// Reports members filed about accounts and posts (admin).
    #[command(subcommand)]
    Report(report::ReportCommand),
    /// Check the running server's email settings (admin).
    #[command(subcommand)]
    Email(email::EmailCommand),
    /// Keys a user holds (recovery keys for did:plc).
    #[command(subcommand)]
    Key(key::KeyCommand),
    /// Keep a verified local copy of an account (repo and blobs), updated incrementally; usable by
    /// `skyhold recover --from DIR`.
    Mirror(mirror::MirrorArgs),
    /// Move a did:plc account to a new server with your own rotation key (the old server may be gone).
    Recover(Box<recover::RecoverArgs>),
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
        Some(Command::Account(command)) => account::run(command),
        Some(Command::Admin(command)) => admin::run(command),
        Some(Command::Invite(command)) => invite::run(command),
        Some(Command::Report(command)) => report::run(command),
        Some(Command::Email(command)) => email::run(command),
        Some(Command::Key(command)) => key::run(command),
        Some(Command::Mirror(args)) => mirror::run(args),
        Some(Command::Recover(args)) => recover::run(*args),
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
         skyhold repo verify FILE.car    check signature, MST structure and every block hash\n  \
         skyhold account list|create|info|takedown|suspend|reset-password|codes|delete\n  \
         skyhold admin grant|revoke|list HANDLE   who may use the admin console (/console)\n  \
         skyhold admin audit             every admin action, newest first\n  \
         skyhold invite create|list|disable\n  \
         skyhold report list|show|resolve  what members reported\n  \
         skyhold email test ADDRESS\n  \
         skyhold key generate --out FILE  a recovery key you hold\n  \
         skyhold mirror --account H --dir D   a verified local copy of your account, kept up to date\n  \
         skyhold recover …               move your account with that key, even if its server is gone\n\n\
         Run `skyhold --help` for details.",
        env!("CARGO_PKG_VERSION")
    );
}
