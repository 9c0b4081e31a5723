//! Blobs: uploads, the account's blob rows, serving, and collecting uploads no record uses.
//!
//! Spec: <https://atproto.com/specs/blob>. An upload is streamed to a file named by its CID and
//! recorded as temporary; a record that references it makes it permanent; a temporary blob still
//! unreferenced after [`TEMP_BLOB_TTL_MICROS`] is deleted, as is a blob no record uses any more. The
//! MIME type is sniffed from the bytes where they say what they are, as the reference does.

use cid::Cid;

use super::{Pds, PdsError, account_store, blob_store};
use crate::core::syntax::Did;
use crate::store::TempBlob;

/// Largest upload accepted (the reference's default `blobUploadLimit` is 5 MiB; video needs more).
pub const MAX_BLOB_SIZE: u64 = 100 * 1024 * 1024;
/// How long an upload may wait for a record before it is collected (spec: at least an hour).
pub const TEMP_BLOB_TTL_MICROS: i64 = 60 * 60 * 1_000_000;

/// What `uploadBlob` returns.
#[derive(Clone, Debug)]
pub struct UploadedBlob {
    pub cid: Cid,
    pub mime_type: String,
    pub size: u64,
}

/// The MIME type the first bytes declare, for the formats clients upload.
pub fn sniff_mime(head: &[u8]) -> Option<&'static str> {
    let starts = |magic: &[u8]| head.starts_with(magic);
    if starts(b"\xFF\xD8\xFF") {
        Some("image/jpeg")
    } else if starts(b"\x89PNG\r\n\x1a\n") {
        Some("image/png")
    } else if starts(b"GIF87a") || starts(b"GIF89a") {
        Some("image/gif")
    } else if head.len() >= 12 && &head[0..4] == b"RIFF" && &head[8..12] == b"WEBP" {
        Some("image/webp")
    } else if head.len() >= 12 && &head[4..8] == b"ftyp" {
        match &head[8..12] {
            b"avif" | b"avis" => Some("image/avif"),
            b"heic" | b"heix" | b"mif1" => Some("image/heic"),
            b"qt  " => Some("video/quicktime"),
            _ => Some("video/mp4"),
        }
    } else if starts(b"\x1A\x45\xDF\xA3") {
        Some("video/webm")
    } else {
        None
    }
}

impl Pds {
    /// Starts an upload; feed it with [`TempBlob::write`], then call [`Pds::finish_upload`].
    pub fn start_upload(&self) -> Result<TempBlob, PdsError> {
        Ok(self.store().blobs().create_temp()?)
    }

    /// Makes an upload durable and records it for `did` (temporary until a record uses it).
    pub async fn finish_upload(
        &self,
        did: &Did,
        upload: TempBlob,
        head: Vec<u8>,
        declared_mime: &str,
    ) -> Result<UploadedBlob, PdsError> {
        let store = self.store().clone();
        let (cid, size) = tokio::task::spawn_blocking(move || store.blobs().commit(upload))
            .await
            .map_err(|e| PdsError::Internal(e.to_string()))??;
        let mime_type = sniff_mime(&head).unwrap_or(declared_mime).to_owned();
        let did = did.clone();
        let now = u64::try_from(self.clock().now_micros()).unwrap_or(0);
        let row_mime = mime_type.clone();
        self.store()
            .write(move |txn| {
                let id = match account_store::repo_id(txn, &did)? {
                    Ok(id) => id,
                    Err(e) => return Ok(Err(e)),
                };
                blob_store::uploaded(txn, id, &cid, row_mime, size, now)
            })
            .await?;
        Ok(UploadedBlob {
            cid,
            mime_type,
            size,
        })
    }

    /// Deletes a blob's file when no account holds it any more.
    pub(super) async fn delete_blob_file_if_unused(&self, cid: &Cid) {
        let held_cid = *cid;
        let held = self
            .store()
            .read(move |txn| blob_store::held(txn, &held_cid))
            .await;
        match held {
            Ok(false) => {
                if let Err(e) = self.store().blobs().delete(cid) {
                    tracing::warn!(%cid, error = %e, "deleting an unused blob file failed");
                }
            }
            Ok(true) => {}
            Err(e) => tracing::warn!(%cid, error = %e, "checking blob holders failed"),
        }
    }

    /// Deletes uploads no record took up within the grace period; returns how many.
    pub async fn collect_temp_blobs(&self) -> Result<usize, PdsError> {
        let cutoff = u64::try_from(self.clock().now_micros() - TEMP_BLOB_TTL_MICROS).unwrap_or(0);
        let expired: Vec<Cid> = self
            .store()
            .write(move |txn| Ok(Ok::<_, PdsError>(blob_store::collect_temp(txn, cutoff)?)))
            .await?;
        for cid in &expired {
            self.delete_blob_file_if_unused(cid).await;
        }
        Ok(expired.len())
    }
}

#[cfg(test)]
mod tests {
    use super::sniff_mime;

    #[test]
    fn sniffs_common_media() {
        assert_eq!(sniff_mime(b"\xFF\xD8\xFF\xE0rest"), Some("image/jpeg"));
        assert_eq!(sniff_mime(b"\x89PNG\r\n\x1a\nrest"), Some("image/png"));
        assert_eq!(sniff_mime(b"RIFF\0\0\0\0WEBPVP8 "), Some("image/webp"));
        assert_eq!(sniff_mime(b"\0\0\0\x20ftypisom"), Some("video/mp4"));
        assert_eq!(sniff_mime(b"hello"), None);
    }
}
