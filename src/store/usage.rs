//! How much room the store takes and how much is left: the database files, the blob files, and the
//! file system they live on. Read by the admin console and `/metrics`; walking the blob directory
//! costs one `stat` per blob, so callers cache the answer.

use super::Store;

/// Bytes used and free, as the file system reports them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Usage {
    pub database_bytes: u64,
    pub blob_bytes: u64,
    pub blob_files: u64,
    /// Free for an unprivileged process, and the file system's size (`None` if statvfs failed).
    pub disk_free: Option<u64>,
    pub disk_total: Option<u64>,
}

impl Store {
    /// Measures the store now (blocking: run it off the reactor).
    pub fn usage(&self) -> Usage {
        // The store's file and its side files (`side_file.rs`): every `.redb` file beside it.
        let dir = self.path.parent().unwrap_or(std::path::Path::new("."));
        let database_bytes = std::fs::read_dir(dir).map_or(0, |entries| {
            entries
                .flatten()
                .filter(|e| e.path().extension().is_some_and(|x| x == "redb"))
                .filter_map(|e| e.metadata().ok())
                .filter(|m| m.is_file())
                .map(|m| m.len())
                .sum()
        });
        let (mut blob_bytes, mut blob_files) = (0u64, 0u64);
        if let Ok(entries) = std::fs::read_dir(self.blobs.dir()) {
            for entry in entries.flatten() {
                // Uploads in progress (`tmp/`) are not blobs yet.
                if let Ok(meta) = entry.metadata()
                    && meta.is_file()
                {
                    blob_bytes += meta.len();
                    blob_files += 1;
                }
            }
        }
        let (disk_free, disk_total) = match rustix::fs::statvfs(&*self.path) {
            Ok(stat) => (
                Some(stat.f_bavail.saturating_mul(stat.f_frsize)),
                Some(stat.f_blocks.saturating_mul(stat.f_frsize)),
            ),
            Err(_) => (None, None),
        };
        Usage {
            database_bytes,
            blob_bytes,
            blob_files,
            disk_free,
            disk_total,
        }
    }
}
