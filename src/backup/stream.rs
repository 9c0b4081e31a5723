//! The backup stream: how `POST /admin/backup` sends a snapshot to `skyhold backup`.
//!
//! ```text
//! "SKYHOLD-BACKUP 1\n"
//! 'F' name-length:u16 name size:u64 <size bytes>      one file (big-endian integers)
//! ...
//! 'E' length:u32 <manifest JSON>                       the end
//! ```
//!
//! File names are `skyhold.redb`, `admin-password` and `blobs/<cid>`; nothing else is accepted.
//! A stream that stops before the end frame is incomplete: the server failed midway (its log says
//! why) or the connection broke.

use tokio::io::{AsyncRead, AsyncReadExt};

use super::{ADMIN_PASSWORD_FILE, BackupError, Manifest, is_blob_name};
use crate::store::DATABASE_FILE;

/// The first bytes of every backup stream.
pub const MAGIC: &[u8] = b"SKYHOLD-BACKUP 1\n";
/// Longest file name in a stream.
const MAX_NAME: usize = 256;
/// Largest manifest in a stream.
const MAX_MANIFEST: u32 = 1 << 20;

/// The header of a file frame; the file's bytes follow it.
pub fn file_header(name: &str, size: u64) -> Vec<u8> {
    let mut out = Vec::with_capacity(11 + name.len());
    out.push(b'F');
    // Names are ours and short (checked by `is_valid_name` on the way in).
    out.extend_from_slice(&u16::try_from(name.len()).unwrap_or(u16::MAX).to_be_bytes());
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(&size.to_be_bytes());
    out
}

/// The end frame.
pub fn end_frame(manifest: &Manifest) -> Result<Vec<u8>, BackupError> {
    let json = serde_json::to_vec(manifest)
        .map_err(|e| BackupError::Invalid(format!("encoding the manifest: {e}")))?;
    let len = u32::try_from(json.len())
        .ok()
        .filter(|len| *len <= MAX_MANIFEST)
        .ok_or_else(|| BackupError::Invalid("the manifest is too large".into()))?;
    let mut out = Vec::with_capacity(5 + json.len());
    out.push(b'E');
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(&json);
    Ok(out)
}

/// One frame as read: a file (whose `size` bytes the caller reads next) or the end.
#[derive(Debug)]
pub enum Frame {
    File { name: String, size: u64 },
    End(Manifest),
}

/// Whether `name` may appear in a stream (and so be written under the destination).
pub fn is_valid_name(name: &str) -> bool {
    name == DATABASE_FILE
        || name == ADMIN_PASSWORD_FILE
        || name.strip_prefix("blobs/").is_some_and(is_blob_name)
}

fn ended_early(e: &std::io::Error) -> BackupError {
    BackupError::Invalid(format!(
        "the backup stream ended early ({e}); the server's log says why"
    ))
}

/// Reads and checks the stream's first bytes.
pub async fn read_magic(input: &mut (impl AsyncRead + Unpin)) -> Result<(), BackupError> {
    let mut magic = [0u8; MAGIC.len()];
    input
        .read_exact(&mut magic)
        .await
        .map_err(|e| ended_early(&e))?;
    if magic != MAGIC {
        return Err(BackupError::Invalid(
            "the server did not send a skyhold backup stream".into(),
        ));
    }
    Ok(())
}

/// Reads the next frame header (or the end frame with its manifest).
pub async fn read_frame(input: &mut (impl AsyncRead + Unpin)) -> Result<Frame, BackupError> {
    let kind = input.read_u8().await.map_err(|e| ended_early(&e))?;
    match kind {
        b'F' => {
            let len = usize::from(input.read_u16().await.map_err(|e| ended_early(&e))?);
            if len > MAX_NAME {
                return Err(BackupError::Invalid(
                    "a file name in the stream is too long".into(),
                ));
            }
            let mut name = vec![0u8; len];
            input
                .read_exact(&mut name)
                .await
                .map_err(|e| ended_early(&e))?;
            let name = String::from_utf8(name)
                .ok()
                .filter(|n| is_valid_name(n))
                .ok_or_else(|| {
                    BackupError::Invalid("the stream names an unexpected file".into())
                })?;
            let size = input.read_u64().await.map_err(|e| ended_early(&e))?;
            Ok(Frame::File { name, size })
        }
        b'E' => {
            let len = input.read_u32().await.map_err(|e| ended_early(&e))?;
            if len > MAX_MANIFEST {
                return Err(BackupError::Invalid("the manifest is too large".into()));
            }
            let mut json = vec![0u8; len as usize];
            input
                .read_exact(&mut json)
                .await
                .map_err(|e| ended_early(&e))?;
            let manifest: Manifest = serde_json::from_slice(&json)
                .map_err(|e| BackupError::Invalid(format!("the stream's manifest: {e}")))?;
            manifest.check_format()?;
            Ok(Frame::End(manifest))
        }
        other => Err(BackupError::Invalid(format!(
            "unexpected frame type {other:#04x} in the backup stream"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backup::{BlobsEntry, DatabaseEntry};

    fn manifest() -> Manifest {
        Manifest {
            format: "skyhold-backup".into(),
            version: 1,
            skyhold_version: "0.1.0".into(),
            created_at: "2026-01-01T00:00:00.000Z".into(),
            mode: "online".into(),
            database: DatabaseEntry {
                bytes: 3,
                sha256: "ab".into(),
            },
            blobs: BlobsEntry { count: 0, bytes: 0 },
            admin_password: false,
            paused_millis: 1,
            tables: vec![],
        }
    }

    #[tokio::test]
    async fn frames_round_trip() {
        let mut bytes = MAGIC.to_vec();
        bytes.extend(file_header("skyhold.redb", 3));
        bytes.extend(b"abc");
        bytes.extend(end_frame(&manifest()).unwrap());
        let mut input = bytes.as_slice();
        read_magic(&mut input).await.unwrap();
        let Frame::File { name, size } = read_frame(&mut input).await.unwrap() else {
            panic!("expected a file frame");
        };
        assert_eq!((name.as_str(), size), ("skyhold.redb", 3));
        let mut content = [0u8; 3];
        input.read_exact(&mut content).await.unwrap();
        let Frame::End(end) = read_frame(&mut input).await.unwrap() else {
            panic!("expected the end frame");
        };
        assert_eq!(end, manifest());
    }

    #[tokio::test]
    async fn bad_streams_are_refused_in_words() {
        let mut input: &[u8] = b"HTTP/1.1 200 OK\r\n";
        assert!(read_magic(&mut input).await.is_err());
        for name in ["../etc/passwd", "blobs/../../x", "other-file", "blobs/"] {
            let header = file_header(name, 0);
            let mut input = header.as_slice();
            assert!(read_frame(&mut input).await.is_err(), "{name}");
        }
        let mut truncated: &[u8] = &file_header("skyhold.redb", 10)[..5];
        let error = read_frame(&mut truncated).await.unwrap_err().to_string();
        assert!(error.contains("ended early"), "{error}");
    }
}
