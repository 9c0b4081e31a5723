//! `skyhold recover`: moves a did:plc account to a new server with the user's own rotation key,
//! without any help from the old server (which may be gone for good).
//!
//! The steps, each a public API call (the account-migration guide, with the old host replaced by
//! the rotation key): sign a PLC operation that makes a temporary key the DID's signing key; sign a
//! service-auth token with it for the new server's `createAccount`; create the account there; sign a
//! second PLC operation with the credentials the new server recommends (the user's key stays first
//! among the rotation keys); import a repo backup and its blobs if there are any; activate.
//!
//! Spec: <https://atproto.com/guides/account-migration> and the did:plc spec (rotation keys).

use std::path::PathBuf;

use anyhow::{Context, bail};
use clap::Args;
use serde_json::{Value, json};

use super::archive::Backup;
use crate::core::crypto::{Algorithm, Keypair};
use crate::core::jwt::{ServiceClaims, sign_es};
use crate::core::plc::{self, AtprotoChanges, Operation, UnsignedOperation};
use crate::identity::PlcClient;

#[derive(Args)]
pub struct RecoverArgs {
    /// The account's DID (did:plc); default: the one the backup given with --from names.
    #[arg(long)]
    did: Option<String>,
    /// The user's rotation key: a file from `skyhold key generate`, or a paper recovery key from
    /// the web UI copied into a file (spaces and dashes are ignored).
    #[arg(long)]
    rotation_key: PathBuf,
    /// The new server's URL.
    #[arg(long)]
    pds: String,
    /// The handle on the new server.
    #[arg(long)]
    handle: String,
    #[arg(long)]
    email: String,
    /// The password on the new server.
    #[arg(long, env = "SKYHOLD_RECOVER_PASSWORD", hide_env_values = true)]
    password: String,
    /// An invite code, if the new server needs one.
    #[arg(long)]
    invite_code: Option<String>,
    /// A device backup to restore: a `skyhold mirror` folder, or the archive (.tar) the web UI
    /// downloads. Holds the repo, its blobs and the DID.
    #[arg(long, conflicts_with_all = ["repo", "blobs"])]
    from: Option<PathBuf>,
    /// A repo export (CAR) to restore; without it (or --from) the account starts empty.
    #[arg(long)]
    repo: Option<PathBuf>,
    /// A folder of blobs named by CID (from a backup) to upload after the repo.
    #[arg(long)]
    blobs: Option<PathBuf>,
    /// The PLC directory.
    #[arg(long, env = "SKYHOLD_PLC_URL", default_value = crate::config::PUBLIC_PLC_URL)]
    plc_url: String,
}

pub fn run(args: RecoverArgs) -> i32 {
    super::admin_api::block_on(recover(args))
}

/// A small client for the new server.
struct NewServer {
    base: String,
    http: reqwest::Client,
}

impl NewServer {
    async fn call(
        &self,
        method: reqwest::Method,
        nsid: &str,
        token: Option<&str>,
        body: Option<Body>,
    ) -> anyhow::Result<Value> {
        let mut request = self
            .http
            .request(method, format!("{}/xrpc/{nsid}", self.base));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        request = match body {
            Some(Body::Json(value)) => request.json(&value),
            Some(Body::Bytes(bytes, kind)) => request.header("content-type", kind).body(bytes),
            None => request,
        };
        let response = request
            .send()
            .await
            .with_context(|| format!("calling {nsid} on {}", self.base))?;
        let status = response.status();
        let bytes = response.bytes().await?;
        let value: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        if !status.is_success() {
            bail!(
                "{nsid} failed: {} {}",
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
        Ok(value)
    }
}

enum Body {
    Json(Value),
    Bytes(Vec<u8>, &'static str),
}

/// Where the repo and blobs come from: a device backup, or a CAR file and a blob folder.
enum Content {
    Backup(Backup),
    Files {
        repo: Option<PathBuf>,
        blobs: Option<PathBuf>,
    },
}

impl Content {
    fn repo(&self) -> anyhow::Result<Option<Vec<u8>>> {
        match self {
            Content::Backup(backup) => backup.repo(),
            Content::Files {
                repo: Some(path), ..
            } => Ok(Some(
                std::fs::read(path).with_context(|| format!("reading {}", path.display()))?,
            )),
            Content::Files { repo: None, .. } => Ok(None),
        }
    }

    fn has_blobs(&self) -> bool {
        !matches!(self, Content::Files { blobs: None, .. })
    }

    fn blob(&self, cid: &str) -> anyhow::Result<Option<Vec<u8>>> {
        match self {
            Content::Backup(backup) => backup.blob(cid),
            Content::Files {
                blobs: Some(folder),
                ..
            } => Ok(std::fs::read(folder.join(cid)).ok()),
            Content::Files { blobs: None, .. } => Ok(None),
        }
    }
}

#[allow(
    clippy::too_many_lines,
    reason = "the recovery dialogue, one step after another"
)]
async fn recover(args: RecoverArgs) -> anyhow::Result<()> {
    let content = match &args.from {
        Some(path) => Content::Backup(Backup::open(path)?),
        None => Content::Files {
            repo: args.repo.clone(),
            blobs: args.blobs.clone(),
        },
    };
    let named = match &content {
        Content::Backup(backup) => backup.state()?.map(|s| s.did),
        Content::Files { .. } => None,
    };
    let did = match (&args.did, named) {
        (Some(did), Some(named)) if *did != named => {
            bail!("the backup is of {named}, not {did}")
        }
        (Some(did), _) => did.clone(),
        (None, Some(named)) => named,
        (None, None) => bail!("give --did (the backup does not name the account)"),
    };
    let did_text = did;
    if !did_text.starts_with("did:plc:") {
        bail!("only did:plc identities have rotation keys to recover with");
    }
    let user_key = super::key::read_key(&args.rotation_key)?;
    let user_did_key = user_key.public_key().to_did_key();
    let plc = PlcClient::Remote {
        http: crate::net::Outbound::new(true),
        url: args.plc_url.trim_end_matches('/').to_owned(),
    };
    let server = NewServer {
        base: args.pds.trim_end_matches('/').to_owned(),
        http: crate::net::OperatorClient {
            user_agent: concat!("skyhold-recover/", env!("CARGO_PKG_VERSION")),
            timeout: Some(std::time::Duration::from_secs(300)),
            read_timeout: None,
            connect_timeout: std::time::Duration::from_secs(10),
        }
        .build(),
    };

    let last = plc
        .last_operation(&did_text)
        .await
        .context("reading the DID's PLC log")?;
    if !last.rotation_keys().contains(&user_did_key) {
        bail!(
            "{user_did_key} is not one of {}'s rotation keys, so it cannot sign for it",
            did_text
        );
    }

    // 1. A temporary signing key, so the new server can check a service-auth token from the DID.
    let temporary = Keypair::generate(Algorithm::K256, &mut rand_core::OsRng);
    let step_one = sign_update(
        &last,
        &AtprotoChanges {
            signing_key: Some(temporary.public_key().to_did_key()),
            ..AtprotoChanges::default()
        },
        &user_key,
    )?;
    plc.submit(&did_text, &step_one)
        .await
        .context("submitting the temporary-key operation")?;
    eprintln!("1/5 the DID's signing key is now a temporary key");

    // 2. The account on the new server.
    let description = server
        .call(
            reqwest::Method::GET,
            "com.atproto.server.describeServer",
            None,
            None,
        )
        .await?;
    let server_did = description
        .get("did")
        .and_then(Value::as_str)
        .context("describeServer gave no DID")?;
    let now = crate::clock::now_secs();
    let claims = ServiceClaims {
        iss: did_text.clone(),
        aud: server_did.to_owned(),
        exp: now + 120,
        iat: Some(now),
        jti: Some(data_encoding::HEXLOWER.encode(&rand_bytes())),
        lxm: Some("com.atproto.server.createAccount".into()),
    };
    let token = sign_es(&claims, &temporary);
    let mut input = json!({"did": did_text, "handle": args.handle, "email": args.email, "password": args.password});
    if let Some(code) = &args.invite_code {
        input["inviteCode"] = json!(code);
    }
    let created = server
        .call(
            reqwest::Method::POST,
            "com.atproto.server.createAccount",
            Some(&token),
            Some(Body::Json(input)),
        )
        .await?;
    let access = created
        .get("accessJwt")
        .and_then(Value::as_str)
        .context("createAccount gave no session")?
        .to_owned();
    eprintln!("2/5 the account exists on {} (deactivated)", server.base);

    // 3. The DID points to the new server; the user's key stays first.
    let credentials = server
        .call(
            reqwest::Method::GET,
            "com.atproto.identity.getRecommendedDidCredentials",
            Some(&access),
            None,
        )
        .await?;
    let mut rotation_keys = vec![user_did_key.clone()];
    for key in credentials
        .get("rotationKeys")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        if let Some(key) = key.as_str()
            && key != user_did_key
        {
            rotation_keys.push(key.to_owned());
        }
    }
    let mut update = plc::update(&step_one, &AtprotoChanges::default())?;
    update.rotation_keys = rotation_keys;
    if let Some(aka) = credentials.get("alsoKnownAs") {
        update.also_known_as = serde_json::from_value(aka.clone()).context("alsoKnownAs")?;
    }
    if let Some(methods) = credentials.get("verificationMethods") {
        update.verification_methods =
            serde_json::from_value(methods.clone()).context("verificationMethods")?;
    }
    if let Some(services) = credentials.get("services") {
        update.services = serde_json::from_value(services.clone()).context("services")?;
    }
    let step_two = UnsignedOperation::Plc(update).sign(&user_key)?;
    server
        .call(
            reqwest::Method::POST,
            "com.atproto.identity.submitPlcOperation",
            Some(&access),
            Some(Body::Json(json!({"operation": step_two}))),
        )
        .await?;
    eprintln!("3/5 the DID document names {}", server.base);

    // 4. Content from a backup.
    let mut uploaded = 0usize;
    let mut absent = 0usize;
    if let Some(car) = content.repo()? {
        server
            .call(
                reqwest::Method::POST,
                "com.atproto.repo.importRepo",
                Some(&access),
                Some(Body::Bytes(car, "application/vnd.ipld.car")),
            )
            .await?;
        if content.has_blobs() {
            let mut cursor: Option<String> = None;
            loop {
                let mut nsid = "com.atproto.repo.listMissingBlobs?limit=1000".to_owned();
                if let Some(c) = &cursor {
                    nsid.push_str(&format!("&cursor={c}"));
                }
                let missing = server
                    .call(reqwest::Method::GET, &nsid, Some(&access), None)
                    .await?;
                let blobs: Vec<String> = missing
                    .get("blobs")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .filter_map(|b| b.get("cid").and_then(Value::as_str).map(str::to_owned))
                    .collect();
                for cid in &blobs {
                    let Some(bytes) = content.blob(cid)? else {
                        eprintln!("    blob {cid} is not in the backup");
                        absent += 1;
                        continue;
                    };
                    server
                        .call(
                            reqwest::Method::POST,
                            "com.atproto.repo.uploadBlob",
                            Some(&access),
                            Some(Body::Bytes(bytes, "application/octet-stream")),
                        )
                        .await?;
                    uploaded += 1;
                }
                cursor = missing
                    .get("cursor")
                    .and_then(Value::as_str)
                    .map(str::to_owned);
                if cursor.is_none() || blobs.is_empty() {
                    break;
                }
            }
        }
    }
    if absent > 0 {
        eprintln!(
            "    {absent} blob(s) were not in the backup; the records that use them show no image"
        );
    }
    eprintln!("4/5 restored the repo backup and {uploaded} blob(s)");

    // 5. Live again.
    server
        .call(
            reqwest::Method::POST,
            "com.atproto.server.activateAccount",
            Some(&access),
            None,
        )
        .await?;
    eprintln!("5/5 the account is active on {}", server.base);
    println!(
        "{} now lives on {} as {}",
        did_text, server.base, args.handle
    );
    Ok(())
}

fn sign_update(
    previous: &Operation,
    changes: &AtprotoChanges,
    key: &Keypair,
) -> anyhow::Result<Operation> {
    let unsigned = plc::update(previous, changes)?;
    Ok(UnsignedOperation::Plc(unsigned).sign(key)?)
}

fn rand_bytes() -> [u8; 16] {
    let mut bytes = [0u8; 16];
    rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, &mut bytes);
    bytes
}
