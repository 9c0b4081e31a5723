//! Backups: consistent online snapshots of a running node, offline copies of a stopped one, and
//! restore. Used by `skyhold backup` / `skyhold restore` and the admin endpoint
//! `POST /admin/backup`.
//!
//! A backup is a directory with the layout of a data directory, so that it is easy to inspect,
//! to copy with rsync or any backup tool (blob files never change), and to restore:
//!
//! ```text
//! DEST/skyhold.redb       the database, checked and closed cleanly
//! DEST/blobs/<cid>        every blob file of the snapshot
//! DEST/admin-password     the generated admin password (local mode only)
//! DEST/manifest.json      written last: a backup without it is incomplete
//! ```
//!
//! Online: the CLI calls `POST /admin/backup` with the admin password. The server takes a
//! [`Store::snapshot`](crate::store::Store::snapshot) into `<data dir>/backup-staging/` (the
//! database file copied between two group commits, blob files hard-linked; see `store::snapshot`
//! for why that copy is consistent), releases the writer, and streams the staging directory to the
//! client in the format of [`stream`]. The client checks every byte (the database's SHA-256, each
//! blob against its CID), opens the database copy once with redb and runs its integrity check, then
//! writes the manifest. Streaming (rather than the server writing to a path) keeps the server
//! within its sandbox (systemd `ProtectSystem=strict`) and works from another machine too.
//!
//! Offline: with no server running, the CLI opens the data directory itself and takes the same
//! snapshot with real copies.

mod client;
mod restore;
mod server;
pub mod stream;

use std::path::Path;

use serde::{Deserialize, Serialize};

pub use client::{backup_offline, receive};
pub use restore::restore;
pub use server::Backups;

use crate::store::StoreError;

/// The manifest file of a finished backup.
pub const MANIFEST_FILE: &str = "manifest.json";
/// The local-mode admin password file in a data directory.
pub const ADMIN_PASSWORD_FILE: &str = "admin-password";
/// `format` in every manifest.
const FORMAT: &str = "skyhold-backup";
/// The one layout version so far.
const VERSION: u32 = 1;

/// Why a backup or restore failed, in words for the operator.
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    #[error("another backup is running; try again when it has finished")]
    Busy,
    #[error("storage: {0}")]
    Store(#[from] StoreError),
    #[error("{context}: {source}")]
    Io {
        context: String,
        source: std::io::Error,
    },
    #[error("{0}")]
    Invalid(String),
}

impl BackupError {
    fn io(context: impl Into<String>) -> impl FnOnce(std::io::Error) -> BackupError {
        let context = context.into();
        move |source| BackupError::Io { context, source }
    }
}

/// What a backup holds; `manifest.json` in the backup directory and the last frame of a stream.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Manifest {
    pub format: String,
    pub version: u32,
    /// The skyhold version that took the snapshot.
    pub skyhold_version: String,
    /// When the snapshot was taken (atproto datetime).
    pub created_at: String,
    /// `online` (from a running server) or `offline`.
    pub mode: String,
    pub database: DatabaseEntry,
    pub blobs: BlobsEntry,
    /// Whether `admin-password` is included.
    pub admin_password: bool,
    /// How long the server's writes waited for the database copy, in milliseconds.
    pub paused_millis: u64,
    /// Tables found in the database (filled in once the copy has been checked).
    #[serde(default)]
    pub tables: Vec<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct DatabaseEntry {
    pub bytes: u64,
    /// Lower-case hex SHA-256 of the file.
    pub sha256: String,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct BlobsEntry {
    pub count: u64,
    pub bytes: u64,
}

impl Manifest {
    fn check_format(&self) -> Result<(), BackupError> {
        if self.format != FORMAT || self.version != VERSION {
            return Err(BackupError::Invalid(format!(
                "this is a {} version {} backup; this skyhold reads {FORMAT} version {VERSION}",
                self.format, self.version
            )));
        }
        Ok(())
    }
}

/// Makes `dest` an empty directory readable by its owner alone; refuses a non-empty one.
pub fn prepare_destination(dest: &Path) -> Result<(), BackupError> {
    use std::os::unix::fs::DirBuilderExt;
    match std::fs::read_dir(dest) {
        Ok(mut entries) => {
            if entries.next().is_some() {
                return Err(BackupError::Invalid(format!(
                    "{} is not empty; give a new directory for the backup",
                    dest.display()
                )));
            }
            Ok(())
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dest)
            .map_err(BackupError::io(format!("creating {}", dest.display()))),
        Err(e) => Err(BackupError::io(format!("reading {}", dest.display()))(e)),
    }
}

/// SHA-256 of a file, lower-case hex.
fn sha256_file(path: &Path) -> Result<String, BackupError> {
    use sha2::Digest;
    use std::io::Read;
    let mut file = std::fs::File::open(path)
        .map_err(BackupError::io(format!("opening {}", path.display())))?;
    let mut hasher = sha2::Sha256::new();
    let mut buffer = vec![0u8; 256 * 1024];
    loop {
        let n = file
            .read(&mut buffer)
            .map_err(BackupError::io(format!("reading {}", path.display())))?;
        if n == 0 {
            break;
        }
        hasher.update(&buffer[..n]);
    }
    Ok(data_encoding::HEXLOWER.encode(&hasher.finalize()))
}

/// Writes `manifest.json` last (temp file, fsync, rename), which marks the backup complete.
fn write_manifest(dest: &Path, manifest: &Manifest) -> Result<(), BackupError> {
    use std::io::Write;
    let text = serde_json::to_vec_pretty(manifest)
        .map_err(|e| BackupError::Invalid(format!("encoding the manifest: {e}")))?;
    let temp = dest.join(".manifest.json.tmp");
    let context = format!("writing {}", dest.join(MANIFEST_FILE).display());
    let mut file = {
        use std::os::unix::fs::OpenOptionsExt;
        std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&temp)
            .map_err(BackupError::io(&context))?
    };
    file.write_all(&text)
        .and_then(|()| file.write_all(b"\n"))
        .and_then(|()| file.sync_all())
        .map_err(BackupError::io(&context))?;
    std::fs::rename(&temp, dest.join(MANIFEST_FILE)).map_err(BackupError::io(&context))?;
    std::fs::File::open(dest)
        .and_then(|d| d.sync_all())
        .map_err(BackupError::io(&context))
}

/// Checks the database copy in a finished backup directory (redb recovery, integrity check,
/// clean close), then records its final hash and tables and writes the manifest.
fn finish(dest: &Path, mut manifest: Manifest) -> Result<Manifest, BackupError> {
    let database = dest.join(crate::store::DATABASE_FILE);
    let check = crate::store::check_database_copy(&database)?;
    manifest.tables = check.tables;
    manifest.database.sha256 = sha256_file(&database)?;
    manifest.database.bytes = std::fs::metadata(&database)
        .map_err(BackupError::io(format!("reading {}", database.display())))?
        .len();
    write_manifest(dest, &manifest)?;
    Ok(manifest)
}

/// Reads and checks a backup directory's manifest.
pub fn read_manifest(src: &Path) -> Result<Manifest, BackupError> {
    let path = src.join(MANIFEST_FILE);
    let text = match std::fs::read(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(BackupError::Invalid(format!(
                "{} has no {MANIFEST_FILE}: it is not a skyhold backup, or the backup did not finish",
                src.display()
            )));
        }
        Err(e) => return Err(BackupError::io(format!("reading {}", path.display()))(e)),
    };
    let manifest: Manifest = serde_json::from_slice(&text)
        .map_err(|e| BackupError::Invalid(format!("{} is not valid: {e}", path.display())))?;
    manifest.check_format()?;
    Ok(manifest)
}

/// Whether a blob file name is a CID string (no path separators, nothing hidden).
fn is_blob_name(name: &str) -> bool {
    !name.is_empty() && name.len() <= 128 && name.bytes().all(|b| b.is_ascii_alphanumeric())
}

/// Checks that `digest` (SHA-256 of the content) is what the CID in `name` promises.
fn blob_matches(name: &str, digest: &[u8]) -> Result<(), BackupError> {
    let cid = cid::Cid::try_from(name).map_err(|e| {
        BackupError::Invalid(format!("blob file {name} is not named by a CID: {e}"))
    })?;
    if cid.hash().code() != 0x12 || cid.hash().digest() != digest {
        return Err(BackupError::Invalid(format!(
            "blob {name} is damaged: its content does not match its CID"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blob_names_must_be_plain_cids() {
        let cid = crate::core::data::cid_for_raw(b"x").to_string();
        assert!(is_blob_name(&cid));
        for bad in ["", "../x", "a/b", ".hidden", "tmp/x"] {
            assert!(!is_blob_name(bad), "{bad}");
        }
        use sha2::Digest;
        assert!(blob_matches(&cid, &sha2::Sha256::digest(b"x")).is_ok());
        assert!(blob_matches(&cid, &sha2::Sha256::digest(b"y")).is_err());
        assert!(blob_matches("notacid", &sha2::Sha256::digest(b"x")).is_err());
    }

    #[test]
    fn a_manifest_of_another_format_is_refused() {
        let manifest = Manifest {
            format: FORMAT.into(),
            version: VERSION + 1,
            skyhold_version: "9".into(),
            created_at: "2026-01-01T00:00:00.000Z".into(),
            mode: "online".into(),
            database: DatabaseEntry {
                bytes: 1,
                sha256: String::new(),
            },
            blobs: BlobsEntry { count: 0, bytes: 0 },
            admin_password: false,
            paused_millis: 0,
            tables: vec![],
        };
        assert!(manifest.check_format().is_err());
    }
}
