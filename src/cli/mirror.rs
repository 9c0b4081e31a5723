//! `skyhold mirror`: keeps a verified local copy of an account (its repository and blobs) on the
//! member's own machine, updated incrementally, ready for `skyhold recover --from DIR` if the
//! account's server is ever gone.
//!
//! Each run: resolve the DID (its signing key and PDS); fetch only what changed since the last run
//! (`com.atproto.sync.getRepo` with `since`), merge it with the blocks already kept and verify the
//! whole repository (signature by the DID's current key, every block hash, the MST); then fetch the
//! blobs the mirror lacks (`listBlobs`, `getBlob`), each checked against its CID. Files are written
//! to a temporary name and renamed, and `mirror.json` is written last, so an interrupted run leaves
//! the previous mirror whole. A diff that cannot be verified against the kept blocks (a server
//! that rewrote history, a mirror from another account) is replaced by a full export.
//!
//! Layout (the same as the web UI's device backup, once unpacked):
//!
//! ```text
//! DIR/repo.car       the whole repository, streamable CAR order
//! DIR/blobs/<cid>    every blob the records use
//! DIR/mirror.json    DID, rev, commit, when, counts
//! ```
//!
//! Spec: <https://atproto.com/specs/sync> (getRepo `since`, listBlobs, getBlob),
//! <https://atproto.com/specs/repository>.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use clap::Args;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::core::car::verify_block;
use crate::core::crypto::PublicKey;
use crate::core::mst::{MemoryBlocks, Mst};
use crate::core::repo::{LoadedRepo, RepoReport, export_car, load_car, verify_repo};
use crate::core::syntax::{Did, Handle};
use crate::identity::{HandleResolver, PlcClient, Resolver};

/// The state file of a mirror.
pub const STATE_FILE: &str = "mirror.json";
/// The repository export in a mirror.
pub const REPO_FILE: &str = "repo.car";
/// The blob folder in a mirror.
pub const BLOBS_DIR: &str = "blobs";

#[derive(Args)]
pub struct MirrorArgs {
    /// The account: a handle or a DID (default: the one the mirror already holds).
    #[arg(long)]
    account: Option<String>,
    /// The mirror's folder (created on the first run).
    #[arg(long)]
    dir: PathBuf,
    /// Ask this server instead of the one the DID document names (e.g. a LAN address).
    #[arg(long)]
    pds: Option<String>,
    /// The PLC directory (to resolve did:plc).
    #[arg(long, env = "SKYHOLD_PLC_URL", default_value = crate::config::PUBLIC_PLC_URL)]
    plc_url: String,
}

/// What `mirror.json` says.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MirrorState {
    pub did: String,
    #[serde(default)]
    pub handle: Option<String>,
    pub rev: String,
    #[serde(default)]
    pub commit: Option<String>,
    #[serde(default)]
    pub updated_at: Option<String>,
    #[serde(default)]
    pub records: usize,
    #[serde(default)]
    pub blobs: usize,
}

pub fn run(args: MirrorArgs) -> i32 {
    super::admin_api::block_on(mirror(args))
}

/// Reads a mirror's state file, if there is one.
pub fn read_state(dir: &Path) -> anyhow::Result<Option<MirrorState>> {
    let path = dir.join(STATE_FILE);
    match std::fs::read(&path) {
        Ok(bytes) => Ok(Some(
            serde_json::from_slice(&bytes)
                .with_context(|| format!("reading {}", path.display()))?,
        )),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e).with_context(|| format!("reading {}", path.display())),
    }
}

/// Writes `bytes` to `path` through a temporary file in the same folder, then renames it.
fn write_atomically(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let tmp = path.with_extension("partial");
    std::fs::write(&tmp, bytes).with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::File::open(&tmp)?.sync_all()?;
    std::fs::rename(&tmp, path).with_context(|| format!("renaming to {}", path.display()))?;
    Ok(())
}

/// Merges a diff's blocks into the kept ones and verifies the result as a whole repository.
fn merge_and_verify(
    kept: Option<&LoadedRepo>,
    diff: LoadedRepo,
    key: &PublicKey,
) -> anyhow::Result<(LoadedRepo, RepoReport)> {
    let mut blocks = MemoryBlocks::new();
    if let Some(kept) = kept {
        blocks.extend(kept.blocks.iter().map(|(c, b)| (*c, b.clone())));
    }
    blocks.extend(diff.blocks.iter().map(|(c, b)| (*c, b.clone())));
    let merged = LoadedRepo {
        commit_cid: diff.commit_cid,
        commit: diff.commit,
        blocks,
        bad_blocks: diff.bad_blocks,
    };
    let report = verify_repo(&merged, Some(key))?;
    Ok((merged, report))
}

/// The repository in the streamable order, with only the blocks the current commit reaches.
fn export(repo: &LoadedRepo) -> anyhow::Result<Vec<u8>> {
    let commit = repo
        .blocks
        .get(&repo.commit_cid)
        .context("the commit block is missing")?;
    let mut mst = Mst::load(&repo.blocks, repo.commit.data)?;
    Ok(export_car(
        Vec::new(),
        (&repo.commit_cid, commit),
        &mut mst,
        &repo.blocks,
    )?)
}

struct Source {
    base: String,
    did: String,
    http: reqwest::Client,
}

impl Source {
    async fn get(&self, nsid: &str, query: &[(&str, &str)]) -> anyhow::Result<Vec<u8>> {
        let query = serde_html_form::to_string(query).context("encoding the query")?;
        let response = self
            .http
            .get(format!("{}/xrpc/{nsid}?{query}", self.base))
            .timeout(std::time::Duration::from_secs(300))
            .send()
            .await
            .with_context(|| format!("calling {nsid} on {}", self.base))?;
        let status = response.status();
        let body = response.bytes().await?.to_vec();
        if !status.is_success() {
            let value: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
            bail!(
                "{nsid} failed (HTTP {}): {} {}",
                status.as_u16(),
                value
                    .get("error")
                    .and_then(Value::as_str)
                    .unwrap_or("Error"),
                value
                    .get("message")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
            );
        }
        Ok(body)
    }

    async fn repo(&self, since: Option<&str>) -> anyhow::Result<LoadedRepo> {
        let mut query = vec![("did", self.did.as_str())];
        if let Some(since) = since {
            query.push(("since", since));
        }
        let car = self.get("com.atproto.sync.getRepo", &query).await?;
        Ok(load_car(&car[..])?)
    }

    /// Every blob CID the repository's records use.
    async fn blob_cids(&self) -> anyhow::Result<Vec<String>> {
        let mut out = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let mut query = vec![("did", self.did.as_str()), ("limit", "1000")];
            if let Some(c) = &cursor {
                query.push(("cursor", c.as_str()));
            }
            let page: Value =
                serde_json::from_slice(&self.get("com.atproto.sync.listBlobs", &query).await?)?;
            let cids: Vec<String> = page
                .get("cids")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(|c| c.as_str().map(str::to_owned))
                .collect();
            if cids.is_empty() {
                return Ok(out);
            }
            out.extend(cids);
            cursor = page
                .get("cursor")
                .and_then(Value::as_str)
                .map(str::to_owned);
            if cursor.is_none() {
                return Ok(out);
            }
        }
    }
}

async fn resolve_did(account: &str) -> anyhow::Result<Did> {
    let account = account.trim().trim_start_matches('@');
    if account.starts_with("did:") {
        return Did::parse(account).context("invalid DID");
    }
    let handle = Handle::parse(&account.to_ascii_lowercase()).context("invalid handle")?;
    HandleResolver::new(crate::net::Outbound::new(true))
        .resolve(&handle)
        .await
        .with_context(|| format!("{handle} does not resolve to a DID (give the DID instead)"))
}

async fn mirror(args: MirrorArgs) -> anyhow::Result<()> {
    std::fs::create_dir_all(args.dir.join(BLOBS_DIR))
        .with_context(|| format!("creating {}", args.dir.display()))?;
    let previous = read_state(&args.dir)?;
    // The member's own tool: it fetches what the member names, as given.
    let http = crate::net::Outbound::new(true);
    let plc_url = args.plc_url.trim_end_matches('/').to_owned();
    let plc = PlcClient::Remote {
        http: http.clone(),
        url: plc_url.clone(),
    };
    let resolver = Resolver::new(http.clone(), plc, &plc_url);
    let did = match (&args.account, &previous) {
        (Some(account), _) => resolve_did(account).await?,
        (None, Some(state)) => {
            Did::parse(&state.did).context("mirror.json names an invalid DID")?
        }
        (None, None) => bail!("give --account (a handle or DID) for a new mirror"),
    };
    let previous = previous.filter(|state| {
        let same = state.did == did.as_str();
        if !same {
            eprintln!(
                "{} holds a mirror of {}; starting over for {did}",
                args.dir.display(),
                state.did
            );
        }
        same
    });
    let document = resolver
        .resolve_fresh(&did)
        .await
        .with_context(|| format!("resolving {did}"))?;
    let key = document
        .signing_key()
        .with_context(|| format!("the DID document of {did} has no signing key"))?;
    let base = match &args.pds {
        Some(pds) => pds.trim_end_matches('/').to_owned(),
        None => document
            .pds_endpoint()
            .with_context(|| format!("the DID document of {did} names no PDS (give --pds)"))?
            .trim_end_matches('/')
            .to_owned(),
    };
    let source = Source {
        base,
        did: did.as_str().to_owned(),
        http: crate::net::OperatorClient {
            user_agent: concat!("skyhold-mirror/", env!("CARGO_PKG_VERSION")),
            timeout: Some(std::time::Duration::from_secs(300)),
            read_timeout: None,
            connect_timeout: std::time::Duration::from_secs(10),
        }
        .build(),
    };

    // The repository: what changed since the last run, merged and verified as a whole.
    let repo_path = args.dir.join(REPO_FILE);
    let kept = match &previous {
        Some(_) if repo_path.exists() => {
            let bytes = std::fs::read(&repo_path)?;
            load_car(&bytes[..]).ok()
        }
        _ => None,
    };
    let since = kept
        .as_ref()
        .and(previous.as_ref())
        .map(|state| state.rev.clone());
    let (repo, report, incremental) = match &since {
        Some(since) => {
            let diff = source.repo(Some(since)).await?;
            match merge_and_verify(kept.as_ref(), diff, &key) {
                Ok((repo, report)) => (repo, report, true),
                Err(error) => {
                    eprintln!(
                        "the changes since {since} do not verify against the mirror ({error:#}); fetching the whole repository"
                    );
                    let full = source.repo(None).await?;
                    let (repo, report) = merge_and_verify(None, full, &key)?;
                    (repo, report, false)
                }
            }
        }
        None => {
            let full = source.repo(None).await?;
            let (repo, report) = merge_and_verify(None, full, &key)?;
            (repo, report, false)
        }
    };
    if report.did != did.as_str() {
        bail!(
            "{} served a repository of {}, not {did}",
            source.base,
            report.did
        );
    }
    let changed = previous.as_ref().is_none_or(|p| p.rev != report.rev);
    if changed || !repo_path.exists() {
        write_atomically(&repo_path, &export(&repo)?)?;
    }

    // The blobs the mirror lacks, each checked against its CID.
    let mut fetched = 0usize;
    let cids = source.blob_cids().await?;
    for text in &cids {
        let cid = cid::Cid::try_from(text.as_str())
            .with_context(|| format!("listBlobs gave an invalid CID {text}"))?;
        let path = args.dir.join(BLOBS_DIR).join(text);
        if path.exists() {
            continue;
        }
        let bytes = source
            .get(
                "com.atproto.sync.getBlob",
                &[("did", did.as_str()), ("cid", text)],
            )
            .await?;
        if !verify_block(&cid, &bytes) {
            bail!("blob {text} from {} does not match its CID", source.base);
        }
        write_atomically(&path, &bytes)?;
        fetched += 1;
    }

    let state = MirrorState {
        did: did.as_str().to_owned(),
        handle: document.handle().map(str::to_owned),
        rev: report.rev.clone(),
        commit: Some(report.commit_cid.to_string()),
        updated_at: Some(crate::clock::now_datetime()),
        records: report.records,
        blobs: cids.len(),
    };
    write_atomically(
        &args.dir.join(STATE_FILE),
        &serde_json::to_vec_pretty(&state)?,
    )?;
    println!(
        "{} mirrored in {}: rev {} ({}), {} records, {} blobs ({} new), signature and {} blocks verified",
        did,
        args.dir.display(),
        report.rev,
        if incremental {
            "changes since the last run"
        } else {
            "full copy"
        },
        report.records,
        cids.len(),
        fetched,
        report.blocks
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::crypto::{Algorithm, Keypair};
    use crate::core::data::encode_value;
    use crate::core::repo::UnsignedCommit;

    /// A repo with `n` records signed by `key`, as a loaded CAR.
    fn repo(key: &Keypair, records: &[(&str, &str)], rev: &str) -> LoadedRepo {
        let mut blocks = MemoryBlocks::new();
        let mut entries = Vec::new();
        for (path, text) in records {
            let value = crate::core::data::from_json(&serde_json::json!({"text": text})).unwrap();
            let bytes = encode_value(&value).unwrap();
            let cid = crate::core::data::cid_for_cbor(&bytes);
            blocks.insert(cid, bytes);
            entries.push(((*path).to_owned(), cid));
        }
        let mut mst = Mst::from_entries(entries).unwrap();
        let (root, nodes) = mst.commit().unwrap();
        for (cid, bytes) in nodes {
            blocks.insert(cid, bytes);
        }
        let commit = UnsignedCommit::new("did:plc:abcdefghijklmnopqrstuvwx", root, rev)
            .sign(key)
            .unwrap();
        let (commit_cid, bytes) = commit.encode().unwrap();
        blocks.insert(commit_cid, bytes);
        LoadedRepo {
            commit_cid,
            commit,
            blocks,
            bad_blocks: Vec::new(),
        }
    }

    #[test]
    fn a_diff_merges_with_kept_blocks_and_a_foreign_one_does_not() {
        let key = Keypair::generate(Algorithm::K256, &mut rand_core::OsRng);
        let old = repo(&key, &[("app.bsky.feed.post/3k2a", "one")], "3kaaaaaaaaaa2");
        let new = repo(
            &key,
            &[
                ("app.bsky.feed.post/3k2a", "one"),
                ("app.bsky.feed.post/3k2b", "two"),
            ],
            "3kaaaaaaaaab2",
        );
        // A diff: everything but the unchanged record.
        let unchanged = *old
            .blocks
            .iter()
            .find(|(c, _)| new.blocks.contains(c) && **c != new.commit_cid)
            .unwrap()
            .0;
        let mut diff_blocks = MemoryBlocks::new();
        diff_blocks.extend(
            new.blocks
                .iter()
                .filter(|(c, _)| **c != unchanged)
                .map(|(c, b)| (*c, b.clone())),
        );
        let diff = || LoadedRepo {
            commit_cid: new.commit_cid,
            commit: new.commit.clone(),
            blocks: diff_blocks.clone(),
            bad_blocks: Vec::new(),
        };
        let (merged, report) = merge_and_verify(Some(&old), diff(), &key.public_key()).unwrap();
        assert_eq!(report.records, 2);
        let car = export(&merged).unwrap();
        let reloaded = load_car(&car[..]).unwrap();
        assert_eq!(
            verify_repo(&reloaded, Some(&key.public_key()))
                .unwrap()
                .records,
            2
        );
        // Without the kept blocks the diff alone is incomplete.
        assert!(merge_and_verify(None, diff(), &key.public_key()).is_err());
        // Another key did not sign it.
        let other = Keypair::generate(Algorithm::K256, &mut rand_core::OsRng);
        assert!(merge_and_verify(Some(&old), diff(), &other.public_key()).is_err());
    }
}
