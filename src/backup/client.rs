//! The receiving side of a backup: writing a stream from a running server into a backup
//! directory, checking every byte, and the offline backup of a stopped node.

use std::path::Path;

use sha2::Digest;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};

use super::stream::{Frame, read_frame, read_magic};
use super::{
    ADMIN_PASSWORD_FILE, BackupError, BlobsEntry, DatabaseEntry, FORMAT, Manifest, VERSION,
    blob_matches, finish, sha256_file,
};
use crate::store::{BlobCopy, DATABASE_FILE, Store};

/// Writes a backup stream into `dest` (an empty directory), checks it and writes the manifest.
pub async fn receive(
    mut input: impl AsyncRead + Unpin,
    dest: &Path,
) -> Result<Manifest, BackupError> {
    read_magic(&mut input).await?;
    let blobs_dir = dest.join("blobs");
    tokio::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(&blobs_dir)
        .await
        .map_err(BackupError::io(format!("creating {}", blobs_dir.display())))?;
    let mut database_sha256 = None;
    let mut blob_count = 0u64;
    let mut blob_bytes = 0u64;
    let mut admin_password = false;
    let manifest = loop {
        match read_frame(&mut input).await? {
            Frame::File { name, size } => {
                let path = dest.join(&name);
                let digest = copy_exact(&mut input, &path, size).await?;
                if let Some(blob) = name.strip_prefix("blobs/") {
                    blob_matches(blob, &digest)?;
                    blob_count += 1;
                    blob_bytes += size;
                } else if name == DATABASE_FILE {
                    database_sha256 = Some(data_encoding::HEXLOWER.encode(&digest));
                } else if name == ADMIN_PASSWORD_FILE {
                    admin_password = true;
                    set_private(&path)?;
                }
            }
            Frame::End(manifest) => break manifest,
        }
    };
    if database_sha256.as_deref() != Some(manifest.database.sha256.as_str()) {
        return Err(BackupError::Invalid(
            "the database arrived damaged: its SHA-256 does not match the server's".into(),
        ));
    }
    if blob_count != manifest.blobs.count
        || blob_bytes != manifest.blobs.bytes
        || admin_password != manifest.admin_password
    {
        return Err(BackupError::Invalid(format!(
            "the backup is incomplete: {blob_count} blobs ({blob_bytes} bytes) arrived, the server \
             sent {} ({} bytes)",
            manifest.blobs.count, manifest.blobs.bytes
        )));
    }
    let dest = dest.to_owned();
    tokio::task::spawn_blocking(move || finish(&dest, manifest))
        .await
        .map_err(|e| BackupError::Invalid(format!("checking the backup failed: {e}")))?
}

/// Copies exactly `size` bytes from the stream into a new file, fsyncs it, returns its SHA-256.
async fn copy_exact(
    input: &mut (impl AsyncRead + Unpin),
    path: &Path,
    size: u64,
) -> Result<[u8; 32], BackupError> {
    let context = format!("writing {}", path.display());
    // Every file of a backup (the database holds every key) is readable by its owner alone.
    let mut file = tokio::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .await
        .map_err(BackupError::io(&context))?;
    let mut hasher = sha2::Sha256::new();
    let mut left = size;
    let mut buffer = vec![0u8; 256 * 1024];
    while left > 0 {
        let want = usize::try_from(left)
            .unwrap_or(buffer.len())
            .min(buffer.len());
        let n = input.read(&mut buffer[..want]).await.map_err(|e| {
            BackupError::Invalid(format!(
                "the backup stream ended early ({e}); the server's log says why"
            ))
        })?;
        if n == 0 {
            return Err(BackupError::Invalid(
                "the backup stream ended early; the server's log says why".into(),
            ));
        }
        hasher.update(&buffer[..n]);
        file.write_all(&buffer[..n])
            .await
            .map_err(BackupError::io(&context))?;
        left -= n as u64;
    }
    file.sync_all().await.map_err(BackupError::io(&context))?;
    Ok(hasher.finalize().into())
}

fn set_private(path: &Path) -> Result<(), BackupError> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
        .map_err(BackupError::io(format!("protecting {}", path.display())))
}

/// Backs up a data directory no server is using: the same snapshot, with real copies.
pub async fn backup_offline(data_dir: &Path, dest: &Path) -> Result<Manifest, BackupError> {
    if !data_dir.join(DATABASE_FILE).is_file() {
        return Err(BackupError::Invalid(format!(
            "{} holds no skyhold database ({DATABASE_FILE})",
            data_dir.display()
        )));
    }
    let created_at = crate::clock::now_datetime();
    let store = Store::open(data_dir)?;
    let snapshot = store.snapshot(dest, BlobCopy::Copy).await;
    store.shutdown().await;
    drop(store);
    let snapshot = snapshot?;
    let admin_password = data_dir.join(ADMIN_PASSWORD_FILE);
    let has_password = admin_password.is_file();
    if has_password {
        let target = dest.join(ADMIN_PASSWORD_FILE);
        std::fs::copy(&admin_password, &target).map_err(BackupError::io(format!(
            "copying {}",
            admin_password.display()
        )))?;
        set_private(&target)?;
    }
    let manifest = Manifest {
        format: FORMAT.into(),
        version: VERSION,
        skyhold_version: env!("CARGO_PKG_VERSION").into(),
        created_at,
        mode: "offline".into(),
        database: DatabaseEntry {
            bytes: snapshot.database_bytes,
            sha256: sha256_file(&dest.join(DATABASE_FILE))?,
        },
        blobs: BlobsEntry {
            count: snapshot.blobs.len() as u64,
            bytes: snapshot.blob_bytes,
        },
        admin_password: has_password,
        paused_millis: 0,
        tables: Vec::new(),
    };
    let dest = dest.to_owned();
    tokio::task::spawn_blocking(move || finish(&dest, manifest))
        .await
        .map_err(|e| BackupError::Invalid(format!("checking the backup failed: {e}")))?
}
