//! Restore: a backup directory becomes a data directory again.
//!
//! Blob files are copied first (each checked against its CID), then the database is copied to a
//! temporary name, checked against the manifest's SHA-256 and with redb's integrity check, and
//! renamed into place last: a data directory holds `skyhold.redb` only once everything else is
//! there, and an interrupted restore can simply be run again.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use sha2::Digest;

use super::{
    ADMIN_PASSWORD_FILE, BackupError, Manifest, blob_matches, is_blob_name, read_manifest,
};
use crate::store::DATABASE_FILE;

/// What a restore did.
#[derive(Debug)]
pub struct RestoreSummary {
    pub manifest: Manifest,
    pub blobs: u64,
    pub database_bytes: u64,
    /// The owner the files were given (when run as root into a directory someone else owns).
    pub owner: Option<(u32, u32)>,
}

/// Restores the backup in `src` into `data_dir`, which must not hold a database yet.
pub fn restore(src: &Path, data_dir: &Path) -> Result<RestoreSummary, BackupError> {
    use std::os::unix::fs::{DirBuilderExt, MetadataExt};
    let manifest = read_manifest(src)?;
    let target = data_dir.join(DATABASE_FILE);
    if target.exists() {
        return Err(BackupError::Invalid(format!(
            "{} already holds a database; restore into an empty data directory (move the old one \
             away first, with the server stopped)",
            data_dir.display()
        )));
    }
    let blobs_dir = data_dir.join("blobs");
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(&blobs_dir)
        .map_err(BackupError::io(format!("creating {}", blobs_dir.display())))?;
    // Run as root into a directory that belongs to the service user (e.g. /var/lib/skyhold
    // made by systemd): hand the files to that user, or the server could not open them.
    let owner = std::fs::metadata(data_dir)
        .ok()
        .filter(|m| rustix::process::geteuid().is_root() && m.uid() != 0)
        .map(|m| (m.uid(), m.gid()));
    let mut restored: Vec<PathBuf> = vec![blobs_dir.clone()];

    let mut blobs = 0u64;
    let src_blobs = src.join("blobs");
    let entries = std::fs::read_dir(&src_blobs)
        .map_err(BackupError::io(format!("reading {}", src_blobs.display())))?;
    for entry in entries {
        let entry = entry.map_err(BackupError::io(format!("reading {}", src_blobs.display())))?;
        let name = entry.file_name().into_string().unwrap_or_default();
        if !is_blob_name(&name) {
            return Err(BackupError::Invalid(format!(
                "unexpected file {} in the backup",
                entry.path().display()
            )));
        }
        let to = blobs_dir.join(&name);
        let digest = copy_checked(&entry.path(), &to)?;
        blob_matches(&name, &digest)?;
        restored.push(to);
        blobs += 1;
    }
    if blobs != manifest.blobs.count {
        return Err(BackupError::Invalid(format!(
            "the backup should hold {} blobs but has {blobs}",
            manifest.blobs.count
        )));
    }
    let password = src.join(ADMIN_PASSWORD_FILE);
    let password_target = data_dir.join(ADMIN_PASSWORD_FILE);
    if password.is_file() && !password_target.exists() {
        copy_checked(&password, &password_target)?;
        restored.push(password_target);
    }

    let temp = data_dir.join(format!("{DATABASE_FILE}.restoring"));
    let digest = copy_checked(&src.join(DATABASE_FILE), &temp)?;
    if data_encoding::HEXLOWER.encode(&digest) != manifest.database.sha256 {
        let _ = std::fs::remove_file(&temp);
        return Err(BackupError::Invalid(format!(
            "{} is damaged: its SHA-256 does not match the manifest",
            src.join(DATABASE_FILE).display()
        )));
    }
    if let Err(e) = crate::store::check_database_copy(&temp) {
        let _ = std::fs::remove_file(&temp);
        return Err(e.into());
    }
    if let Some((uid, gid)) = owner {
        for path in restored.iter().chain([&temp]) {
            std::os::unix::fs::chown(path, Some(uid), Some(gid)).map_err(BackupError::io(
                format!("giving {} to uid {uid}", path.display()),
            ))?;
        }
    }
    std::fs::rename(&temp, &target).map_err(BackupError::io(format!(
        "moving {} into place",
        target.display()
    )))?;
    std::fs::File::open(data_dir)
        .and_then(|d| d.sync_all())
        .map_err(BackupError::io(format!("syncing {}", data_dir.display())))?;
    let database_bytes = std::fs::metadata(&target).map_or(0, |m| m.len());
    Ok(RestoreSummary {
        manifest,
        blobs,
        database_bytes,
        owner,
    })
}

/// Copies a file (owner-only permissions), fsyncs it, and returns the SHA-256 of what was copied.
fn copy_checked(from: &Path, to: &Path) -> Result<[u8; 32], BackupError> {
    use std::os::unix::fs::OpenOptionsExt;
    let mut input = std::fs::File::open(from)
        .map_err(BackupError::io(format!("opening {}", from.display())))?;
    let context = format!("writing {}", to.display());
    let mut output = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(to)
        .map_err(BackupError::io(&context))?;
    let mut hasher = sha2::Sha256::new();
    let mut buffer = vec![0u8; 256 * 1024];
    loop {
        let n = input
            .read(&mut buffer)
            .map_err(BackupError::io(format!("reading {}", from.display())))?;
        if n == 0 {
            break;
        }
        hasher.update(&buffer[..n]);
        output
            .write_all(&buffer[..n])
            .map_err(BackupError::io(&context))?;
    }
    output.sync_all().map_err(BackupError::io(&context))?;
    Ok(hasher.finalize().into())
}
