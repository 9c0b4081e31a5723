//! Blobs: uploads, the account's blob rows, serving, and collecting uploads no record uses.
//!
//! Spec: <https://atproto.com/specs/blob>. An upload is streamed to a file named by its CID and
//! recorded as temporary; a record that references it makes it permanent; a temporary blob still
//! unreferenced after [`TEMP_BLOB_TTL_MICROS`] is deleted, as is a blob no record uses any more. The
//! MIME type is sniffed from the bytes where they say what they are, as the reference does.

use cid::Cid;
use redb::ReadableTable;

use super::rows::{self, BlobRow};
use super::tables::{BLOB_HOLDERS, BLOB_REFS, BLOBS, DID_IDS, TEMP_BLOBS};
use super::{Pds, PdsError};
use crate::clock::now_micros;
use crate::store::{StoreError, TempBlob, open_read_table};

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
        did: &str,
        upload: TempBlob,
        head: Vec<u8>,
        declared_mime: &str,
    ) -> Result<UploadedBlob, PdsError> {
        let store = self.store().clone();
        let (cid, size) = tokio::task::spawn_blocking(move || store.blobs().commit(upload))
            .await
            .map_err(|e| PdsError::Internal(e.to_string()))??;
        let mime_type = sniff_mime(&head).unwrap_or(declared_mime).to_owned();
        let did = did.to_owned();
        let now = u64::try_from(now_micros()).unwrap_or(0);
        let row_mime = mime_type.clone();
        self.store()
            .write(move |txn| {
                let Some(id) = txn
                    .open_table(DID_IDS)?
                    .get(did.as_str())?
                    .map(|v| v.value())
                else {
                    return Ok(Err(PdsError::RepoNotFound(format!(
                        "Could not find repo: {did}"
                    ))));
                };
                let key = cid.to_bytes();
                let mut blobs = txn.open_table(BLOBS)?;
                let existing = blobs
                    .get((id, key.as_slice()))?
                    .map(|v| rows::decode::<BlobRow>(v.value()))
                    .transpose()?;
                if let Some(existing) = &existing {
                    if existing.takedown_ref.is_some() {
                        return Ok(Err(PdsError::InvalidRequest(
                            "Blob has been takendown, cannot re-upload".into(),
                        )));
                    }
                    if !existing.temp {
                        return Ok(Ok(()));
                    }
                    txn.open_table(TEMP_BLOBS)?.remove((
                        existing.created_at_micros,
                        id,
                        key.as_slice(),
                    ))?;
                }
                // Already referenced by a record (re-upload after a migration): permanent at once.
                let referenced = txn
                    .open_table(BLOB_REFS)?
                    .range((id, key.as_slice(), "")..)?
                    .next()
                    .transpose()?
                    .is_some_and(|(k, _)| {
                        let (a, c, _) = k.value();
                        a == id && c == key.as_slice()
                    });
                let row = BlobRow {
                    mime_type: row_mime,
                    size,
                    created_at_micros: now,
                    temp: !referenced,
                    takedown_ref: None,
                };
                blobs.insert((id, key.as_slice()), rows::encode(&row)?.as_slice())?;
                txn.open_table(BLOB_HOLDERS)?
                    .insert((key.as_slice(), id), ())?;
                if !referenced {
                    txn.open_table(TEMP_BLOBS)?
                        .insert((now, id, key.as_slice()), ())?;
                }
                Ok(Ok::<_, PdsError>(()))
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
        let key = cid.to_bytes();
        let held = self
            .store()
            .read(move |txn| {
                let Some(holders) = open_read_table(txn, BLOB_HOLDERS)? else {
                    return Ok::<_, StoreError>(false);
                };
                Ok(holders
                    .range((key.as_slice(), 0u64)..)?
                    .next()
                    .transpose()?
                    .is_some_and(|(k, _)| k.value().0 == key.as_slice()))
            })
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
        let cutoff = u64::try_from(now_micros() - TEMP_BLOB_TTL_MICROS).unwrap_or(0);
        let expired: Vec<Cid> = self
            .store()
            .write(move |txn| {
                let mut temp = txn.open_table(TEMP_BLOBS)?;
                let mut due = Vec::new();
                for row in temp.range(..(cutoff, 0u64, &[][..]))? {
                    let (key, _) = row?;
                    let (at, id, cid) = key.value();
                    due.push((at, id, cid.to_vec()));
                }
                let mut blobs = txn.open_table(BLOBS)?;
                let mut holders = txn.open_table(BLOB_HOLDERS)?;
                let mut out = Vec::new();
                for (at, id, cid) in due {
                    temp.remove((at, id, cid.as_slice()))?;
                    blobs.remove((id, cid.as_slice()))?;
                    holders.remove((cid.as_slice(), id))?;
                    if let Ok(cid) = Cid::try_from(cid.as_slice()) {
                        out.push(cid);
                    }
                }
                Ok(Ok::<_, PdsError>(out))
            })
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
