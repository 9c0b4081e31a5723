//! Blob files: content-addressed files under `<data dir>/blobs/`, named by CID.
//!
//! Spec: <https://atproto.com/specs/blob>. An upload streams into `blobs/tmp/` while its SHA-256 is
//! computed, is fsynced, then renamed to its CID (and the directory fsynced), so a blob file either
//! exists whole or not at all. Which accounts reference a blob lives in redb, with the owning service.

use std::io::Write;
use std::path::{Path, PathBuf};

use cid::Cid;
use sha2::{Digest, Sha256};

use super::StoreError;
use crate::core::data::cid_for_raw;

/// The blob directory.
#[derive(Clone, Debug)]
pub struct BlobFiles {
    dir: PathBuf,
    tmp: PathBuf,
}

/// An upload being written: bytes go in, a CID comes out.
pub struct TempBlob {
    file: std::fs::File,
    path: PathBuf,
    hasher: Sha256,
    size: u64,
    finished: bool,
}

impl BlobFiles {
    pub fn open(dir: &Path) -> Result<BlobFiles, StoreError> {
        let tmp = dir.join("tmp");
        std::fs::create_dir_all(&tmp)?;
        super::private_dir(dir)?;
        super::private_dir(&tmp)?;
        // Leftovers from uploads interrupted by a crash are never referenced.
        for entry in std::fs::read_dir(&tmp)? {
            let _ = std::fs::remove_file(entry?.path());
        }
        Ok(BlobFiles {
            dir: dir.to_owned(),
            tmp,
        })
    }

    /// The directory blob files live in (uploads in progress are in its `tmp/`).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn path(&self, cid: &Cid) -> PathBuf {
        self.dir.join(cid.to_string())
    }

    /// Starts an upload.
    pub fn create_temp(&self) -> Result<TempBlob, StoreError> {
        let mut name = [0u8; 16];
        rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, &mut name);
        let path = self.tmp.join(data_encoding::HEXLOWER.encode(&name));
        let file = {
            use std::os::unix::fs::OpenOptionsExt;
            std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(&path)?
        };
        Ok(TempBlob {
            file,
            path,
            hasher: Sha256::new(),
            size: 0,
            finished: false,
        })
    }

    /// Makes a finished upload durable under its CID (a no-op when that blob already exists).
    pub fn commit(&self, mut temp: TempBlob) -> Result<(Cid, u64), StoreError> {
        temp.file.flush()?;
        temp.file.sync_all()?;
        let digest = std::mem::take(&mut temp.hasher).finalize();
        let cid = cid_from_digest(&digest);
        let target = self.path(&cid);
        if target.is_file() {
            std::fs::remove_file(&temp.path)?;
        } else {
            std::fs::rename(&temp.path, &target)?;
            std::fs::File::open(&self.dir)?.sync_all()?;
        }
        temp.finished = true;
        Ok((cid, temp.size))
    }

    /// Writes a whole blob held in memory.
    #[cfg(test)]
    pub fn put(&self, bytes: &[u8]) -> Result<(Cid, u64), StoreError> {
        let mut temp = self.create_temp()?;
        temp.write(bytes)?;
        self.commit(temp)
    }

    pub fn delete(&self, cid: &Cid) -> Result<(), StoreError> {
        match std::fs::remove_file(self.path(cid)) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e.into()),
            _ => Ok(()),
        }
    }
}

fn cid_from_digest(digest: &[u8]) -> Cid {
    // Same construction as `cid_for_raw`, from a digest computed while streaming.
    let hash = multihash::Multihash::<64>::wrap(0x12, digest)
        .unwrap_or_else(|_| unreachable!("a 32-byte digest fits"));
    let cid = Cid::new_v1(crate::core::data::CODEC_RAW, hash);
    debug_assert_eq!(cid.codec(), cid_for_raw(b"").codec());
    cid
}

impl TempBlob {
    pub fn write(&mut self, bytes: &[u8]) -> Result<(), StoreError> {
        self.file.write_all(bytes)?;
        self.hasher.update(bytes);
        self.size += bytes.len() as u64;
        Ok(())
    }

    pub fn size(&self) -> u64 {
        self.size
    }
}

impl Drop for TempBlob {
    fn drop(&mut self) {
        if !self.finished {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upload_commits_under_its_cid() {
        let dir = std::env::temp_dir().join(format!("skyhold-blobs-{}", std::process::id()));
        let files = BlobFiles::open(&dir).unwrap();
        let mut temp = files.create_temp().unwrap();
        temp.write(b"hello ").unwrap();
        temp.write(b"world").unwrap();
        let (cid, size) = files.commit(temp).unwrap();
        assert_eq!(cid, cid_for_raw(b"hello world"));
        assert_eq!(size, 11);
        assert_eq!(std::fs::read(files.path(&cid)).unwrap(), b"hello world");
        // Same content again: no error, same CID.
        assert_eq!(files.put(b"hello world").unwrap().0, cid);
        // An abandoned upload leaves nothing behind.
        let abandoned = files.create_temp().unwrap();
        drop(abandoned);
        assert_eq!(std::fs::read_dir(dir.join("tmp")).unwrap().count(), 0);
        files.delete(&cid).unwrap();
        assert!(!files.path(&cid).exists());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
