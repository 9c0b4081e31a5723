//! The store: one redb file, one writer thread with group commit, read transactions for reads, and
//! the blob directory.
//!
//! redb allows one writer at a time, so every write goes through [`Store::write`]: the writer thread
//! takes all pending jobs, runs them in one transaction, commits once (one fsync for many writes),
//! then answers each caller. A write is acknowledged only after its commit is durable. Reads use
//! their own read transactions on the blocking pool and never wait for the writer.
//!
//! Services own their tables (`pds.*`, `relay.*`, `appview.*`, defined in each service); this module
//! knows nothing of their contents, except the one shape two services share: the sequenced event
//! log ([`EventLog`]).

mod blobs;
mod database;
mod log;
pub mod rows;
mod side_file;
mod snapshot;
mod usage;
mod writer;

use std::path::Path;
use std::sync::Arc;

pub use blobs::{BlobFiles, TempBlob};
pub use log::{EventLog, LogFollower, LogTable};
pub use redb::{ReadTransaction, ReadableDatabase, TableDefinition, WriteTransaction};
pub use side_file::SideFile;
pub use snapshot::{BlobCopy, DATABASE_FILE, Snapshot, check_database_copy};
pub use usage::Usage;

/// Why a storage operation failed. Callers treat it as an internal error.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database: {0}")]
    Database(String),
    #[error("corrupt data: {0}")]
    Corrupt(String),
    #[error("i/o: {0}")]
    Io(#[from] std::io::Error),
    #[error("the store is shutting down")]
    Closed,
    /// The storage failed (a full disk): writes are refused until the store recovers (503).
    #[error("the store cannot write now: {0}")]
    Unavailable(String),
}

impl StoreError {
    /// The same error again (the writer answers every job of a failed batch with it).
    fn again(&self) -> StoreError {
        match self {
            StoreError::Database(m) => StoreError::Database(m.clone()),
            StoreError::Corrupt(m) => StoreError::Corrupt(m.clone()),
            StoreError::Io(e) => StoreError::Database(e.to_string()),
            StoreError::Closed => StoreError::Closed,
            StoreError::Unavailable(m) => StoreError::Unavailable(m.clone()),
        }
    }
}

/// A redb error, as unavailable when the storage itself failed (I/O, a latched earlier I/O error).
fn from_storage(storage: Option<&redb::StorageError>, text: String) -> StoreError {
    match storage {
        Some(
            redb::StorageError::Io(_)
            | redb::StorageError::PreviousIo
            | redb::StorageError::DatabaseClosed,
        ) => StoreError::Unavailable(text),
        _ => StoreError::Database(text),
    }
}

impl From<redb::StorageError> for StoreError {
    fn from(e: redb::StorageError) -> Self {
        let text = e.to_string();
        from_storage(Some(&e), text)
    }
}

impl From<redb::TransactionError> for StoreError {
    fn from(e: redb::TransactionError) -> Self {
        let text = e.to_string();
        match &e {
            redb::TransactionError::Storage(s) => from_storage(Some(s), text),
            _ => StoreError::Database(text),
        }
    }
}

impl From<redb::TableError> for StoreError {
    fn from(e: redb::TableError) -> Self {
        let text = e.to_string();
        match &e {
            redb::TableError::Storage(s) => from_storage(Some(s), text),
            _ => StoreError::Database(text),
        }
    }
}

impl From<redb::CommitError> for StoreError {
    fn from(e: redb::CommitError) -> Self {
        let text = e.to_string();
        match &e {
            redb::CommitError::Storage(s) => from_storage(Some(s), text),
            _ => StoreError::Database(text),
        }
    }
}

impl From<redb::DatabaseError> for StoreError {
    fn from(e: redb::DatabaseError) -> Self {
        let text = e.to_string();
        match &e {
            redb::DatabaseError::Storage(s) => from_storage(Some(s), text),
            _ => StoreError::Database(text),
        }
    }
}

impl From<redb::Error> for StoreError {
    fn from(e: redb::Error) -> Self {
        let text = e.to_string();
        match &e {
            redb::Error::Io(_) | redb::Error::PreviousIo | redb::Error::DatabaseClosed => {
                StoreError::Unavailable(text)
            }
            _ => StoreError::Database(text),
        }
    }
}

/// An MST that cannot be read from the store is storage corruption, not bad input.
impl From<crate::core::mst::MstError> for StoreError {
    fn from(e: crate::core::mst::MstError) -> Self {
        StoreError::Corrupt(format!("MST: {e}"))
    }
}

/// The handle every service holds: the database, the writer, and the blob directory.
#[derive(Clone)]
pub struct Store {
    db: Arc<database::Database>,
    /// The database file, `<data dir>/skyhold.redb`.
    path: Arc<Path>,
    writer: writer::Writer,
    /// Shared, as `path` is: every service holds a `Store`, and cloning one must not allocate.
    blobs: Arc<BlobFiles>,
}

/// redb's page cache: 6 MiB, whatever the machine. The file's pages stay in the kernel's page cache
/// either way, shared and given back under pressure; redb's own cache saves a copy and a system
/// call per page read, and holds a transaction's dirty pages before the commit writes them. Each
/// cached page is its own heap allocation, and the shipped build's allocator (zig's libc) keeps
/// about twice the cache's size resident after a write load: 32 MiB of cache left the load bench
/// at ~100 MB RSS, 8 MiB at ~50 MB. It went from 8 to 6 MiB when the post search index moved to
/// its own file (with its own 1 MiB cache): the store no longer holds the search terms' leaves, and
/// the load bench's RSS after the load went back from 59-60 to 52-53 MiB at the same speed. Views
/// on a 570 MB App View store barely notice; bulk indexing is slower. See docs/DECISIONS.md
/// ("redb's cache sized for a Pi") for the figures.
const CACHE_BYTES: usize = 6 << 20;

impl Store {
    /// Opens (or creates) the store in `data_dir`: `skyhold.redb` and `blobs/`.
    pub fn open(data_dir: &Path) -> Result<Store, StoreError> {
        std::fs::create_dir_all(data_dir)?;
        // The database holds every signing key and the session key: the owner alone reads it,
        // whatever the umask (systemd's UMask= protects packaged installs, not a hand-run serve).
        if let Err(error) = private_dir(data_dir) {
            // A directory another user owns (a mount point): say so, and go on.
            tracing::warn!(dir = %data_dir.display(), %error, "cannot make the data directory private (0700)");
        }
        let path = data_dir.join(DATABASE_FILE);
        let db = Arc::new(database::Database::open(&path, CACHE_BYTES)?);
        private_file(&path)?;
        let blobs = BlobFiles::open(&data_dir.join("blobs"))?;
        let writer = writer::Writer::start(db.clone());
        Ok(Store {
            db,
            path: path.into(),
            writer,
            blobs: Arc::new(blobs),
        })
    }

    pub fn blobs(&self) -> &BlobFiles {
        &self.blobs
    }

    /// Runs `job` in the next group-commit transaction and returns its result once the commit is
    /// durable. The job returns `Ok(Err(e))` for a refusal (it must not have written anything), and
    /// `Err(StoreError)` for a storage failure, which aborts the whole batch.
    pub async fn write<T, E>(
        &self,
        job: impl FnOnce(&WriteTransaction) -> Result<Result<T, E>, StoreError> + Send + 'static,
    ) -> Result<T, E>
    where
        T: Send + 'static,
        E: From<StoreError> + Send + 'static,
    {
        self.writer.submit(job).await
    }

    /// Like [`Store::write`], but returns once the job is queued: jobs run and become durable in
    /// the order they were queued, so a caller can queue the next write before this one is durable
    /// and await the answers later (the relay's ingest pipeline). The receiver fails only if the
    /// store closed.
    pub async fn write_queued<T, E>(
        &self,
        job: impl FnOnce(&WriteTransaction) -> Result<Result<T, E>, StoreError> + Send + 'static,
    ) -> Result<tokio::sync::oneshot::Receiver<Result<T, E>>, E>
    where
        T: Send + 'static,
        E: From<StoreError> + Send + 'static,
    {
        self.writer.enqueue(job).await
    }

    /// Runs `read` in a read transaction on the blocking pool.
    pub async fn read<T, E>(
        &self,
        read: impl FnOnce(&ReadTransaction) -> Result<T, E> + Send + 'static,
    ) -> Result<T, E>
    where
        T: Send + 'static,
        E: From<StoreError> + Send + 'static,
    {
        let db = self.db.clone();
        tokio::task::spawn_blocking(move || {
            let txn = db.current()?.begin_read().map_err(StoreError::from)?;
            read(&txn)
        })
        .await
        .map_err(|_| E::from(StoreError::Closed))?
    }

    /// A read transaction for synchronous callers already off the reactor.
    pub fn read_now(&self) -> Result<ReadTransaction, StoreError> {
        Ok(self.db.current()?.begin_read()?)
    }

    /// Why the store cannot write now (a full disk), if it cannot: `/xrpc/_health` reports it.
    /// Asking also nudges the writer to try recovering.
    pub fn write_failure(&self) -> Option<String> {
        let failure = self.db.failure();
        if failure.is_some() {
            self.writer.nudge();
        }
        failure
    }

    /// Commit notifications: the value is a counter bumped after every commit; readers of a log
    /// wake on it and read rows after their cursor.
    pub fn commits(&self) -> tokio::sync::watch::Receiver<u64> {
        self.writer.commits()
    }

    /// Whether the store has shut down: readers that follow a log end quietly instead of
    /// reporting the failed read.
    pub fn is_closed(&self) -> bool {
        self.db.is_closed()
    }

    /// Waits for queued writes to finish and stops the writer.
    pub async fn shutdown(&self) {
        self.writer.shutdown().await;
    }
}

/// Makes `dir` readable by its owner alone (0700).
pub fn private_dir(dir: &Path) -> Result<(), StoreError> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
    Ok(())
}

/// Makes `file` readable by its owner alone (0600).
pub fn private_file(file: &Path) -> Result<(), StoreError> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(file, std::fs::Permissions::from_mode(0o600))?;
    Ok(())
}

/// A transaction tables are read in: a read transaction, or a write job's transaction (which sees
/// its own writes). Lets one lookup serve both, so a table's owner writes each read once.
pub trait Reads {
    type Table<'t, K: redb::Key + 'static, V: redb::Value + 'static>: redb::ReadableTable<K, V>
    where
        Self: 't;

    /// The table, or `None` when it does not exist yet (only a read transaction can see that; a
    /// write transaction creates it).
    fn table<K: redb::Key + 'static, V: redb::Value + 'static>(
        &self,
        definition: TableDefinition<K, V>,
    ) -> Result<Option<Self::Table<'_, K, V>>, StoreError>;
}

impl Reads for ReadTransaction {
    type Table<'t, K: redb::Key + 'static, V: redb::Value + 'static> = redb::ReadOnlyTable<K, V>;

    fn table<K: redb::Key + 'static, V: redb::Value + 'static>(
        &self,
        definition: TableDefinition<K, V>,
    ) -> Result<Option<redb::ReadOnlyTable<K, V>>, StoreError> {
        open_read_table(self, definition)
    }
}

impl Reads for WriteTransaction {
    type Table<'t, K: redb::Key + 'static, V: redb::Value + 'static> = redb::Table<'t, K, V>;

    fn table<K: redb::Key + 'static, V: redb::Value + 'static>(
        &self,
        definition: TableDefinition<K, V>,
    ) -> Result<Option<redb::Table<'_, K, V>>, StoreError> {
        Ok(Some(self.open_table(definition)?))
    }
}

/// Opens a table in a read transaction, treating a table that does not exist yet as empty.
pub fn open_read_table<K: redb::Key + 'static, V: redb::Value + 'static>(
    txn: &ReadTransaction,
    table: TableDefinition<K, V>,
) -> Result<Option<redb::ReadOnlyTable<K, V>>, StoreError> {
    match txn.open_table(table) {
        Ok(t) => Ok(Some(t)),
        Err(redb::TableError::TableDoesNotExist(_)) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// `From` every redb error (and any `$more` that [`StoreError`] converts) for a service's error,
/// through its `From<StoreError>`: one line in each service instead of a copy of this.
macro_rules! storage_errors {
    ($error:ty $(, $more:ty)*) => {
        $crate::store::storage_errors!(@each $error; redb::StorageError, redb::TableError,
            redb::TransactionError, redb::CommitError $(, $more)*);
    };
    (@each $error:ty; $($t:ty),*) => {$(
        impl From<$t> for $error {
            fn from(e: $t) -> Self {
                <$error>::from($crate::store::StoreError::from(e))
            }
        }
    )*};
}
pub(crate) use storage_errors;
