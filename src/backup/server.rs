//! The server side of an online backup: snapshot into a staging directory inside the data
//! directory, then stream it (format in [`super::stream`]) and remove it.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use bytes::Bytes;
use sha2::Digest;
use tokio::sync::mpsc;

use super::stream::{end_frame, file_header};
use super::{
    ADMIN_PASSWORD_FILE, BackupError, BlobsEntry, DatabaseEntry, FORMAT, Manifest, VERSION,
};
use crate::store::{BlobCopy, DATABASE_FILE, Snapshot, Store};

/// Where a snapshot waits while it is streamed; inside the data directory so that blob files can
/// be hard-linked (same file system) and the sandboxed server may write there.
const STAGING_DIR: &str = "backup-staging";
/// Size of the chunks sent.
const CHUNK: usize = 256 * 1024;

/// Online backups of this node, one at a time.
#[derive(Clone)]
pub struct Backups {
    store: Store,
    data_dir: PathBuf,
    running: Arc<tokio::sync::Mutex<()>>,
}

impl Backups {
    /// Removes what a backup interrupted by a crash left behind.
    pub fn new(store: Store, data_dir: PathBuf) -> Backups {
        let _ = std::fs::remove_dir_all(data_dir.join(STAGING_DIR));
        Backups {
            store,
            data_dir,
            running: Arc::new(tokio::sync::Mutex::new(())),
        }
    }

    /// Takes a snapshot and returns the stream that sends it. The staging copy is removed when the
    /// stream ends or the client goes away.
    pub async fn stream(
        &self,
    ) -> Result<tokio_stream::wrappers::ReceiverStream<Result<Bytes, std::io::Error>>, BackupError>
    {
        let guard = self
            .running
            .clone()
            .try_lock_owned()
            .map_err(|_| BackupError::Busy)?;
        let staging = self.data_dir.join(STAGING_DIR);
        match std::fs::remove_dir_all(&staging) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                return Err(BackupError::io(format!("clearing {}", staging.display()))(
                    e,
                ));
            }
            _ => {}
        }
        let created_at = crate::clock::now_datetime();
        let snapshot = match self.store.snapshot(&staging, BlobCopy::Link).await {
            Ok(snapshot) => snapshot,
            Err(e) => {
                let _ = std::fs::remove_dir_all(&staging);
                return Err(e.into());
            }
        };
        tracing::info!(
            database_bytes = snapshot.database_bytes,
            blobs = snapshot.blobs.len(),
            paused_ms = snapshot.paused.as_millis(),
            "backup snapshot taken"
        );
        let admin_password = self.data_dir.join(ADMIN_PASSWORD_FILE);
        let admin_password = admin_password.is_file().then_some(admin_password);
        let (sender, receiver) = mpsc::channel(8);
        tokio::task::spawn_blocking(move || {
            let _one_at_a_time = guard;
            let result = send(
                &sender,
                &staging,
                &snapshot,
                admin_password.as_deref(),
                created_at,
            );
            match result {
                Ok(()) => tracing::info!("backup sent"),
                Err(e) => {
                    tracing::warn!(error = %e, "backup stream stopped");
                    let _ = sender.blocking_send(Err(std::io::Error::other(e.to_string())));
                }
            }
            let _ = std::fs::remove_dir_all(&staging);
        });
        Ok(tokio_stream::wrappers::ReceiverStream::new(receiver))
    }
}

type Sender = mpsc::Sender<Result<Bytes, std::io::Error>>;

fn push(sender: &Sender, bytes: Vec<u8>) -> Result<(), BackupError> {
    sender
        .blocking_send(Ok(Bytes::from(bytes)))
        .map_err(|_| BackupError::Invalid("the client went away".into()))
}

/// Sends one file; returns its SHA-256. The size in the header is the size the snapshot saw:
/// files in the staging directory do not change.
fn send_file(sender: &Sender, name: &str, path: &Path) -> Result<[u8; 32], BackupError> {
    let mut file = std::fs::File::open(path)
        .map_err(BackupError::io(format!("opening {}", path.display())))?;
    let size = file
        .metadata()
        .map_err(BackupError::io(format!("reading {}", path.display())))?
        .len();
    push(sender, file_header(name, size))?;
    let mut hasher = sha2::Sha256::new();
    let mut left = size;
    while left > 0 {
        let mut chunk = vec![0u8; usize::try_from(left).unwrap_or(CHUNK).min(CHUNK)];
        file.read_exact(&mut chunk)
            .map_err(BackupError::io(format!("reading {}", path.display())))?;
        hasher.update(&chunk);
        left -= chunk.len() as u64;
        push(sender, chunk)?;
    }
    Ok(hasher.finalize().into())
}

fn send(
    sender: &Sender,
    staging: &Path,
    snapshot: &Snapshot,
    admin_password: Option<&Path>,
    created_at: String,
) -> Result<(), BackupError> {
    push(sender, super::stream::MAGIC.to_vec())?;
    let database_sha256 = send_file(sender, DATABASE_FILE, &staging.join(DATABASE_FILE))?;
    for name in &snapshot.blobs {
        send_file(
            sender,
            &format!("blobs/{name}"),
            &staging.join("blobs").join(name),
        )?;
    }
    if let Some(path) = admin_password {
        send_file(sender, ADMIN_PASSWORD_FILE, path)?;
    }
    let manifest = Manifest {
        format: FORMAT.into(),
        version: VERSION,
        skyhold_version: env!("CARGO_PKG_VERSION").into(),
        created_at,
        mode: "online".into(),
        database: DatabaseEntry {
            bytes: snapshot.database_bytes,
            sha256: data_encoding::HEXLOWER.encode(&database_sha256),
        },
        blobs: BlobsEntry {
            count: snapshot.blobs.len() as u64,
            bytes: snapshot.blob_bytes,
        },
        admin_password: admin_password.is_some(),
        paused_millis: u64::try_from(snapshot.paused.as_millis()).unwrap_or(u64::MAX),
        tables: Vec::new(),
    };
    push(sender, end_frame(&manifest)?)
}
