//! A second redb file beside the store, for derived data a service writes on its own thread.
//!
//! redb allows one writer per file, and the store's writer thread commits every acknowledged
//! write. Data that can be rebuilt from the store (the App View's post search index) gets its own
//! file, so writing it costs the acknowledging commit nothing and runs on another core. It shares
//! the store's handling of the file: private (0600), closed cleanly at shutdown so the next start
//! needs no repair, reopened after a storage failure once there is room again. A side file is never
//! backed up: its owner rebuilds it from the store when it is missing or does not match.

use std::path::Path;
use std::sync::Arc;

use redb::ReadableDatabase;

use super::database::Database;
use super::{Store, StoreError, private_file};

/// An open side file. Cheap to clone.
#[derive(Clone)]
pub struct SideFile {
    db: Arc<Database>,
}

/// redb's page cache for a side file: small, since the kernel's page cache holds the file too.
/// Under the load bench the search index ran as fast with 1 MiB as with 4 MiB, and the server's
/// RSS after the load was 6-10 MiB lower (the store's cache comment says why).
const SIDE_CACHE_BYTES: usize = 1 << 20;

impl SideFile {
    /// Opens (or creates) `name` in the store's data directory.
    pub fn open(store: &Store, name: &str) -> Result<SideFile, StoreError> {
        let dir = store.path.parent().unwrap_or(Path::new("."));
        let path = dir.join(name);
        let db = Database::open(&path, SIDE_CACHE_BYTES)?;
        private_file(&path)?;
        Ok(SideFile { db: Arc::new(db) })
    }

    /// A write transaction, after trying to recover from an earlier storage failure when due.
    pub fn begin_write(&self) -> Result<redb::WriteTransaction, StoreError> {
        if !self.db.recover_if_due() {
            return Err(StoreError::Unavailable(
                self.db.failure().unwrap_or_default(),
            ));
        }
        Ok(self.db.current()?.begin_write()?)
    }

    /// Commits `txn`; a storage failure marks the file failed until it recovers.
    pub fn commit(&self, txn: redb::WriteTransaction) -> Result<(), StoreError> {
        txn.commit().map_err(|e| {
            let error = StoreError::from(e);
            self.db.check_after_failure(&error);
            error
        })
    }

    pub fn begin_read(&self) -> Result<redb::ReadTransaction, StoreError> {
        Ok(self.db.current()?.begin_read()?)
    }

    /// Closes the file for good (the process is stopping).
    pub fn close(&self) {
        self.db.close();
    }
}
