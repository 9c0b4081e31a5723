//! `skyhold key generate`: a secp256k1 key for the user to hold, e.g. as a did:plc recovery key
//! (`recoveryKey` at sign-up, or added later with a PLC operation). The secret is written as hex to
//! a file only its owner can read; the `did:key` is what goes into the DID's rotation keys.

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use clap::Subcommand;

use crate::core::crypto::{Algorithm, Keypair};

#[derive(Subcommand)]
pub enum KeyCommand {
    /// Generate a key: the secret goes to FILE (hex, mode 0600), the did:key is printed.
    Generate {
        /// Where to write the secret; must not exist yet.
        #[arg(long)]
        out: PathBuf,
    },
    /// Print the did:key of a secret key file.
    Show { file: PathBuf },
    /// End a did:plc for good with a rotation key you hold (a tombstone operation). Servers never
    /// do this on their own, not even when the account is deleted.
    Tombstone {
        #[arg(long)]
        did: String,
        /// The rotation key file (from `skyhold key generate`).
        #[arg(long)]
        rotation_key: PathBuf,
        #[arg(long, env = "SKYHOLD_PLC_URL", default_value = crate::config::PUBLIC_PLC_URL)]
        plc_url: String,
        /// Required: the DID stops resolving (the directory allows undoing it only for 72 hours,
        /// with a higher-priority rotation key).
        #[arg(long)]
        yes: bool,
    },
}

pub fn run(command: KeyCommand) -> i32 {
    let result = match command {
        KeyCommand::Generate { out } => generate(&out),
        KeyCommand::Show { file } => {
            read_key(&file).map(|key| println!("{}", key.public_key().to_did_key()))
        }
        KeyCommand::Tombstone {
            did,
            rotation_key,
            plc_url,
            yes,
        } => {
            return super::admin_api::block_on(tombstone(did, rotation_key, plc_url, yes));
        }
    };
    match result {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("error: {e:#}");
            1
        }
    }
}

fn generate(out: &Path) -> anyhow::Result<()> {
    let key = Keypair::generate(Algorithm::K256, &mut rand_core::OsRng);
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(out)
        .with_context(|| format!("creating {} (it must not exist yet)", out.display()))?;
    writeln!(file, "{}", data_encoding::HEXLOWER.encode(&key.to_bytes()))?;
    file.sync_all()?;
    println!("{}", key.public_key().to_did_key());
    eprintln!(
        "The secret is in {}. Keep it offline and safe: with it you can move your identity even if your server is gone.",
        out.display()
    );
    Ok(())
}

/// Reads a secret key file: 64 hex characters (secp256k1, what `skyhold key generate` writes), or
/// a multibase secret (`z…`, p256 or secp256k1: a paper recovery key from the web UI, or goat's
/// form). Spaces, dashes and line breaks are ignored, so a key copied from paper in groups reads
/// as it was printed.
pub fn read_key(path: &Path) -> anyhow::Result<Keypair> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    parse_key(&text).with_context(|| format!("{} does not hold a secret key", path.display()))
}

fn parse_key(text: &str) -> anyhow::Result<Keypair> {
    let compact: String = text
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .collect();
    if compact.starts_with('z') {
        return Keypair::from_multibase(&compact).context("not a valid multibase secret key");
    }
    let bytes = data_encoding::HEXLOWER_PERMISSIVE
        .decode(compact.as_bytes())
        .context("neither hex nor multibase (z…)")?;
    if bytes.len() != 32 {
        bail!("{} bytes; a secp256k1 secret key has 32", bytes.len());
    }
    Keypair::from_bytes(Algorithm::K256, &bytes).context("not a valid secp256k1 secret key")
}

async fn tombstone(
    did: String,
    rotation_key: PathBuf,
    plc_url: String,
    yes: bool,
) -> anyhow::Result<()> {
    if !yes {
        bail!("a tombstone ends the DID for good; add --yes to go ahead");
    }
    let key = read_key(&rotation_key)?;
    let plc = crate::identity::PlcClient::Remote {
        http: crate::net::Outbound::new(true),
        url: plc_url.trim_end_matches('/').to_owned(),
    };
    let last = plc
        .last_operation(&did)
        .await
        .context("reading the DID's PLC log")?;
    if !last
        .rotation_keys()
        .contains(&key.public_key().to_did_key())
    {
        bail!("this key is not one of {did}'s rotation keys");
    }
    let op = crate::core::plc::UnsignedOperation::Tombstone(crate::core::plc::UnsignedTombstone {
        prev: last.cid()?.to_string(),
    })
    .sign(&key)?;
    plc.submit(&did, &op)
        .await
        .context("submitting the tombstone")?;
    println!("{did} is tombstoned");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::parse_key;
    use crate::core::crypto::{Algorithm, Keypair};

    #[test]
    fn keys_read_as_hex_or_multibase_in_groups() {
        let k256 = Keypair::generate(Algorithm::K256, &mut rand_core::OsRng);
        let hex = data_encoding::HEXLOWER.encode(&k256.to_bytes());
        assert_eq!(parse_key(&hex).unwrap().public_key(), k256.public_key());
        let p256 = Keypair::generate(Algorithm::P256, &mut rand_core::OsRng);
        let text = p256.to_multibase();
        let grouped: Vec<String> = text
            .as_bytes()
            .chunks(4)
            .map(|c| String::from_utf8(c.to_vec()).unwrap())
            .collect();
        let on_paper = format!("{}\n{}\n", grouped[..6].join(" "), grouped[6..].join("-"));
        assert_eq!(
            parse_key(&on_paper).unwrap().public_key(),
            p256.public_key()
        );
        assert!(parse_key("zzzz").is_err());
        assert!(parse_key("abcd").is_err());
    }
}
