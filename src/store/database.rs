//! The open redb database, and its recovery after a storage failure without a restart.
//!
//! After one failed write (a full disk: `ENOSPC`), redb refuses every later write with "Previous
//! I/O error occurred. Please close and re-open the database". So after a batch fails the writer
//! asks redb for a write transaction; if that fails for a storage reason, the store is marked
//! unavailable for writes (writes answer 503 at once, `/xrpc/_health` says why) while reads go on
//! from the old handle, and every [`RECOVERY_INTERVAL`] (or sooner when a write or a health check
//! asks) the store is closed and opened again, once the file system has [`MIN_FREE_BYTES`] free.
//! redb then recovers the file as after a power cut; every acknowledged write was durable before it
//! was acknowledged, so none is lost.
//!
//! A clean stop closes the file ([`Database::close`], run by the writer as it stops): redb then
//! records its allocator state, and the next open reads it instead of checking every page. redb
//! repairs a file that was not closed (a crash, `kill -9`, a power cut); [`open_file`] says so in
//! the log (`database repair`), since a repair on a large file costs seconds and every restart
//! should be a clean one.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use super::StoreError;

/// How often a failed store is tried again.
pub const RECOVERY_INTERVAL: Duration = Duration::from_secs(5);
/// Free space needed before the database is reopened (redb's recovery writes, and the writes
/// after it should not fail again at once).
const MIN_FREE_BYTES: u64 = 4 * 1024 * 1024;
/// How long a reopen waits for reads in progress to let go of the old handle.
const RELEASE_WAIT: Duration = Duration::from_secs(10);

/// The database handle, replaceable.
pub struct Database {
    path: PathBuf,
    cache_bytes: usize,
    /// `None` only while a reopen failed (reads and writes then answer "unavailable") and after
    /// [`Database::close`].
    current: RwLock<Option<Arc<redb::Database>>>,
    /// Set by [`Database::close`]: the store is shutting down, and stays closed.
    closed: AtomicBool,
    /// Why writes fail now (`None`: they work), and when recovery was last tried.
    failure: Mutex<Option<(String, Instant)>>,
}

impl Database {
    pub fn open(path: &Path, cache_bytes: usize) -> Result<Database, StoreError> {
        let db = open_file(path, cache_bytes)?;
        Ok(Database {
            path: path.to_owned(),
            cache_bytes,
            current: RwLock::new(Some(Arc::new(db))),
            closed: AtomicBool::new(false),
            failure: Mutex::new(None),
        })
    }

    /// Closes the file for good (the store is shutting down): reads still in progress get
    /// [`RELEASE_WAIT`] to finish, then redb records its allocator state and the next open needs
    /// no repair. Later reads and writes answer [`StoreError::Closed`].
    pub fn close(&self) {
        self.closed.store(true, Ordering::SeqCst);
        let taken = self
            .current
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take();
        let Some(mut handle) = taken else { return };
        let started = Instant::now();
        let db = loop {
            match Arc::try_unwrap(handle) {
                Ok(db) => break Some(db),
                Err(shared) if started.elapsed() < RELEASE_WAIT => {
                    handle = shared;
                    std::thread::sleep(Duration::from_millis(5));
                }
                Err(_) => break None,
            }
        };
        match db.map(redb::Database::close) {
            Some(Ok(())) => tracing::debug!("database closed"),
            Some(Err(error)) => {
                tracing::warn!(%error, "closing the database failed; the next start repairs it");
            }
            // The last reader closes it when it lets go, unless the process ends first.
            None => tracing::warn!("reads still held the database at shutdown"),
        }
    }

    /// The handle to use now.
    pub fn current(&self) -> Result<Arc<redb::Database>, StoreError> {
        if self.closed.load(Ordering::SeqCst) {
            return Err(StoreError::Closed);
        }
        self.current
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
            .ok_or_else(|| {
                StoreError::Unavailable(
                    self.failure()
                        .unwrap_or_else(|| "the database is being reopened".into()),
                )
            })
    }

    /// Whether [`Database::close`] ran: the process is stopping.
    pub fn is_closed(&self) -> bool {
        self.closed.load(Ordering::SeqCst)
    }

    /// Marks the store as stopping, before the writer stops taking jobs: a job refused from then
    /// on finds [`Database::is_closed`] already true, so a log follower that fails at that moment
    /// ends quietly instead of reporting the failure (a clean stop logs no error).
    pub fn mark_stopping(&self) {
        self.closed.store(true, Ordering::SeqCst);
    }

    /// Why writes fail now, if they do.
    pub fn failure(&self) -> Option<String> {
        self.failure
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .as_ref()
            .map(|(why, _)| why.clone())
    }

    /// After a failed batch: whether the database still takes writes; if not, it is marked
    /// failed (and recovery starts at the next chance).
    pub fn check_after_failure(&self, error: &StoreError) {
        let broken = match self.current() {
            Err(_) => true,
            Ok(db) => match db.begin_write() {
                Ok(txn) => {
                    let _ = txn.abort();
                    false
                }
                Err(e) => is_storage_failure(&e),
            },
        };
        if broken {
            tracing::error!(%error, "the store cannot write; writes answer 503 until it recovers");
            *self
                .failure
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner) = Some((
                format!("storage failure: {error}"),
                Instant::now() - RECOVERY_INTERVAL,
            ));
        }
    }

    /// Runs on the writer thread with no write transaction open: when the store has failed and
    /// the last attempt is old enough, closes and reopens the database if there is room now.
    /// Returns whether the store takes writes.
    pub fn recover_if_due(&self) -> bool {
        let mut failure = self
            .failure
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let Some((why, tried)) = failure.as_mut() else {
            return true;
        };
        if tried.elapsed() < RECOVERY_INTERVAL {
            return false;
        }
        *tried = Instant::now();
        let dir = self.path.parent().unwrap_or(Path::new("."));
        match free_bytes(dir) {
            Some(free) if free < MIN_FREE_BYTES => {
                *why = format!("the disk is full ({free} bytes free at {})", dir.display());
                return false;
            }
            _ => {}
        }
        match self.reopen() {
            Ok(()) => {
                tracing::info!("the store recovered: writes work again");
                *failure = None;
                true
            }
            Err(e) => {
                *why = format!("reopening the database failed: {e}");
                tracing::warn!(error = %e, "the store did not recover yet");
                false
            }
        }
    }

    /// Closes the database and opens it again (redb recovers it).
    fn reopen(&self) -> Result<(), StoreError> {
        let mut current = self
            .current
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        // Until the new handle is in place, new readers wait on the lock; those already reading
        // hold the old handle, which closes (and unlocks the file) when the last of them lets go.
        if let Some(old) = current.take() {
            let started = Instant::now();
            while Arc::strong_count(&old) > 1 && started.elapsed() < RELEASE_WAIT {
                std::thread::sleep(Duration::from_millis(10));
            }
            drop(old);
        }
        let db = open_file(&self.path, self.cache_bytes)?;
        *current = Some(Arc::new(db));
        Ok(())
    }
}

/// Opens (or creates) the file. redb calls the repair callback only when the file was not closed
/// cleanly; the log says so, with how long the repair took.
fn open_file(path: &Path, cache_bytes: usize) -> Result<redb::Database, StoreError> {
    let repairing = Arc::new(AtomicBool::new(false));
    let seen = repairing.clone();
    let started = Instant::now();
    let opened = redb::Database::builder()
        .set_cache_size(cache_bytes)
        .set_repair_callback(move |_| {
            if !seen.swap(true, Ordering::SeqCst) {
                tracing::warn!(
                    "database repair: the store was not closed cleanly (a crash or kill); checking every page"
                );
            }
        })
        .create(path);
    if repairing.load(Ordering::SeqCst) {
        tracing::warn!(
            millis = started.elapsed().as_millis(),
            ok = opened.is_ok(),
            "database repair finished"
        );
    }
    opened.map_err(|e| match e {
        redb::DatabaseError::DatabaseAlreadyOpen => StoreError::Database(format!(
            "{} is in use by another skyhold process",
            path.display()
        )),
        other => StoreError::from(other),
    })
}

/// Free bytes for an unprivileged user on the file system of `dir`.
fn free_bytes(dir: &Path) -> Option<u64> {
    let stat = rustix::fs::statvfs(dir).ok()?;
    Some(stat.f_bavail.saturating_mul(stat.f_frsize))
}

/// Whether a transaction error means the storage failed (I/O), not a refusal.
fn is_storage_failure(e: &redb::TransactionError) -> bool {
    matches!(
        e,
        redb::TransactionError::Storage(
            redb::StorageError::Io(_)
                | redb::StorageError::PreviousIo
                | redb::StorageError::DatabaseClosed
        )
    )
}
