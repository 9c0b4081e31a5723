//! `skyhold repo inspect|verify`: check any atproto repo export.
//!
//! `verify` checks every block hash, the MST structure and, with `--key` or by resolving the DID
//! (the commit's, or `--did`), the commit signature. Exit code 0 means verified; 1 means not, with
//! the reason on stderr.

use std::fs::File;
use std::io::BufReader;
use std::path::PathBuf;

use anyhow::{Context, bail};
use clap::Subcommand;

use crate::core::crypto::PublicKey;
use crate::core::repo::{LoadedRepo, RepoReport, load_car, verify_repo};
use crate::core::syntax::Did;
use crate::identity::{PlcClient, Resolver};

/// The public PLC directory, used to resolve did:plc when no other directory is given.
const DEFAULT_PLC_URL: &str = "https://plc.directory";

#[derive(Subcommand)]
pub enum RepoCommand {
    /// Show the commit, DID, rev and record counts per collection.
    Inspect { file: PathBuf },
    /// Verify the signature, the MST structure and every block hash.
    Verify {
        file: PathBuf,
        /// Resolve this DID's signing key (default: the DID named in the commit).
        #[arg(long, conflicts_with = "key")]
        did: Option<String>,
        /// Verify against this key (did:key:…) instead of resolving the DID.
        #[arg(long)]
        key: Option<String>,
        /// PLC directory used to resolve did:plc.
        #[arg(long, env = "SKYHOLD_PLC_URL", default_value = DEFAULT_PLC_URL)]
        plc_url: String,
    },
}

pub fn run(command: RepoCommand) -> i32 {
    let result = match command {
        RepoCommand::Inspect { file } => inspect(&file),
        RepoCommand::Verify {
            file,
            did,
            key,
            plc_url,
        } => verify(&file, did.as_deref(), key.as_deref(), &plc_url),
    };
    match result {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("error: {e:#}");
            1
        }
    }
}

fn load(file: &PathBuf) -> anyhow::Result<LoadedRepo> {
    let input = File::open(file).with_context(|| format!("opening {}", file.display()))?;
    load_car(BufReader::new(input)).with_context(|| format!("reading {}", file.display()))
}

fn print_report(report: &RepoReport) {
    println!("commit:   {}", report.commit_cid);
    println!("did:      {}", report.did);
    println!("rev:      {}", report.rev);
    println!("version:  {}", report.version);
    println!("data:     {}", report.data);
    println!("blocks:   {}", report.blocks);
    println!("records:  {}", report.records);
    for (collection, count) in &report.collections {
        println!("  {collection}: {count}");
    }
}

fn inspect(file: &PathBuf) -> anyhow::Result<()> {
    let repo = load(file)?;
    let report = verify_repo(&repo, None).context("the repo structure is invalid")?;
    print_report(&report);
    Ok(())
}

fn verify(
    file: &PathBuf,
    did: Option<&str>,
    key: Option<&str>,
    plc_url: &str,
) -> anyhow::Result<()> {
    let repo = load(file)?;
    let key = match key {
        Some(key) => PublicKey::from_did_key(key).context("--key must be a did:key")?,
        None => {
            let did = did.unwrap_or(&repo.commit.did);
            if did != repo.commit.did {
                bail!("the commit is for {}, not {did}", repo.commit.did);
            }
            resolve_key(did, plc_url)?
        }
    };
    let report = verify_repo(&repo, Some(&key)).context("verification failed")?;
    print_report(&report);
    println!(
        "verified: signature ({}), MST structure, {} block hashes",
        key.to_did_key(),
        report.blocks
    );
    Ok(())
}

fn resolve_key(did: &str, plc_url: &str) -> anyhow::Result<PublicKey> {
    let did = Did::parse(did).context("invalid DID")?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let http = crate::net::Outbound::new(true);
    let plc = PlcClient::Remote {
        http: http.clone(),
        url: plc_url.trim_end_matches('/').to_owned(),
    };
    let resolver = Resolver::new(http, plc, plc_url);
    let document = runtime
        .block_on(resolver.resolve(&did))
        .with_context(|| format!("resolving {did} (use --key to verify offline)"))?;
    document
        .signing_key()
        .with_context(|| format!("the DID document of {did} has no usable signing key"))
}
