//! Consistent snapshots of a live store, for `skyhold backup`: a copy of the redb file and of the
//! blob files, taken without stopping the server.
//!
//! How: [`Store::snapshot`] asks the writer thread to do the copy between two group commits
//! ([`Writer::exclusive`](super::writer::Writer::exclusive)). At that moment no write transaction
//! is open, every acknowledged write has been committed with `Durability::Immediate` (redb 4's
//! default: pages and header are written and fsynced before `commit` returns), and no new write
//! transaction starts until the copy is done. Read transactions keep running, but readers never
//! write to the file. So the bytes of `skyhold.redb` are exactly the state after the last commit:
//! the same image a power cut at that instant would leave, which redb is built to open (it sees
//! that the file was not closed cleanly and rebuilds its allocator state from the committed tree).
//! [`check_database_copy`] opens the copy once right away, lets redb do that recovery, runs redb's
//! integrity check and closes the copy cleanly, so a finished backup is known to open.
//!
//! Why not copy table by table through a read transaction, which would not pause writers? redb 4
//! opens a table only through its static key and value types (their names are stored in the file
//! and checked on open) and has no untyped write API, so a generic copier cannot exist: the store
//! would have to list every service's table definitions, and a table added later and forgotten
//! there would silently be missing from every backup. The file copy needs no knowledge of the
//! tables. Its cost is that writes wait while the file is copied (`copy_file_range`, at disk
//! speed); [`Snapshot::paused`] reports how long.
//!
//! Blob files are immutable, named by CID, and in place before the commit that records them. The
//! snapshot takes every blob file present during the pause, as hard links into a staging
//! directory on the same file system (cheap; a record deleted after the snapshot may delete its
//! blob file, but the link keeps the snapshot's copy) or as real copies. Blob files written after
//! the pause belong to commits the snapshot does not have and are not needed.

use std::fs::File;
use std::path::Path;
use std::time::{Duration, Instant};

use redb::{MultimapTableHandle, TableHandle};

use super::{Store, StoreError};

/// The database file's name inside a data directory (and inside a backup).
pub const DATABASE_FILE: &str = "skyhold.redb";

/// How blob files get into the snapshot.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BlobCopy {
    /// Hard links (falling back to copies across file systems): for a staging directory inside
    /// the data directory.
    Link,
    /// Real, fsynced copies: for a backup directory.
    Copy,
}

/// What a snapshot holds.
#[derive(Debug)]
pub struct Snapshot {
    pub database_bytes: u64,
    /// Blob file names (CIDs), sorted.
    pub blobs: Vec<String>,
    pub blob_bytes: u64,
    /// How long writes waited for the copy.
    pub paused: Duration,
}

impl Store {
    /// Copies the database file and the blob files into `dest` (created if missing) at a point
    /// between two group commits. See the module documentation for why the copy is consistent.
    pub async fn snapshot(&self, dest: &Path, blobs: BlobCopy) -> Result<Snapshot, StoreError> {
        let source = self.path.clone();
        let blob_dir = self.blobs.dir().to_owned();
        let dest = dest.to_owned();
        self.writer
            .exclusive(move || take(&source, &blob_dir, &dest, blobs))
            .await?
    }
}

/// Runs on the writer thread with no write transaction open.
fn take(
    database: &Path,
    blob_dir: &Path,
    dest: &Path,
    mode: BlobCopy,
) -> Result<Snapshot, StoreError> {
    let start = Instant::now();
    let dest_blobs = dest.join("blobs");
    std::fs::create_dir_all(&dest_blobs)?;
    super::private_dir(dest)?;
    super::private_dir(&dest_blobs)?;
    let target = dest.join(DATABASE_FILE);
    let database_bytes = std::fs::copy(database, &target)?;
    super::private_file(&target)?;
    File::open(&target)?.sync_all()?;
    let mut blobs = Vec::new();
    let mut blob_bytes = 0;
    for entry in std::fs::read_dir(blob_dir)? {
        let entry = entry?;
        // `tmp/` holds uploads in progress; no commit refers to them yet.
        if !entry.file_type()?.is_file() {
            continue;
        }
        let Ok(name) = entry.file_name().into_string() else {
            continue;
        };
        let from = entry.path();
        let to = dest_blobs.join(&name);
        let copied = match mode {
            BlobCopy::Link => std::fs::hard_link(&from, &to)
                .and_then(|()| std::fs::metadata(&to).map(|m| m.len()))
                .or_else(|_| std::fs::copy(&from, &to)),
            BlobCopy::Copy => {
                std::fs::copy(&from, &to).and_then(|len| File::open(&to)?.sync_all().map(|()| len))
            }
        };
        match copied {
            Ok(len) => {
                blob_bytes += len;
                blobs.push(name);
            }
            // Deleted since the directory was listed: its last reference was removed by a commit
            // before this pause (the writer is paused), so the snapshot does not refer to it.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e.into()),
        }
    }
    File::open(&dest_blobs)?.sync_all()?;
    File::open(dest)?.sync_all()?;
    blobs.sort();
    Ok(Snapshot {
        database_bytes,
        blobs,
        blob_bytes,
        paused: start.elapsed(),
    })
}

/// What opening a copied database found.
#[derive(Debug)]
pub struct DatabaseCheck {
    /// Every table in the file (`pds.records`, `plc.logs`, ...), sorted.
    pub tables: Vec<String>,
}

/// Opens a copied database file (redb recovers it as after a power cut), checks its integrity,
/// and closes it cleanly so the next open is fast. Fails when the file is damaged.
pub fn check_database_copy(path: &Path) -> Result<DatabaseCheck, StoreError> {
    let mut db = redb::Database::builder()
        .open(path)
        .map_err(|e| StoreError::Corrupt(format!("{} does not open: {e}", path.display())))?;
    if !db.check_integrity()? {
        return Err(StoreError::Corrupt(format!(
            "{} failed redb's integrity check (redb repaired it, so data may be missing)",
            path.display()
        )));
    }
    let txn = redb::ReadableDatabase::begin_read(&db)?;
    let mut tables: Vec<String> = txn
        .list_tables()?
        .map(|t| t.name().to_owned())
        .chain(txn.list_multimap_tables()?.map(|t| t.name().to_owned()))
        .collect();
    drop(txn);
    db.close()?;
    tables.sort();
    Ok(DatabaseCheck { tables })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::TableDefinition;
    use redb::ReadableTableMetadata;

    const NUMBERS: TableDefinition<u64, u64> = TableDefinition::new("test.numbers");

    fn temp_dir(label: &str) -> std::path::PathBuf {
        let mut name = [0u8; 8];
        rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, &mut name);
        std::env::temp_dir().join(format!(
            "skyhold-snapshot-{label}-{}",
            data_encoding::HEXLOWER.encode(&name)
        ))
    }

    async fn insert(store: &Store, n: u64) {
        store
            .write(move |txn| {
                let mut table = txn.open_table(NUMBERS)?;
                table.insert(n, n * 2)?;
                Ok(Ok::<(), StoreError>(()))
            })
            .await
            .unwrap();
    }

    /// Writers keep writing while snapshots are taken; every snapshot opens, passes the integrity
    /// check and holds a prefix of the acknowledged writes (all of those acknowledged before it was
    /// asked for, none half-written), and every blob file present at the time.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn snapshots_under_concurrent_writes_are_consistent() {
        let data = temp_dir("data");
        let store = Store::open(&data).unwrap();
        let (cid, _) = store.blobs().put(b"a blob").unwrap();
        for n in 0..200 {
            insert(&store, n).await;
        }
        let writer = {
            let store = store.clone();
            tokio::spawn(async move {
                for n in 200..2000 {
                    insert(&store, n).await;
                }
            })
        };
        for round in 0..3 {
            let dest = temp_dir(&format!("dest{round}"));
            let acknowledged_before = {
                let txn = store.read_now().unwrap();
                let table = txn.open_table(NUMBERS).unwrap();
                table.len().unwrap()
            };
            let snapshot = store.snapshot(&dest, BlobCopy::Link).await.unwrap();
            assert_eq!(snapshot.blobs, vec![cid.to_string()]);
            assert_eq!(
                std::fs::read(dest.join("blobs").join(cid.to_string())).unwrap(),
                b"a blob"
            );
            let check = check_database_copy(&dest.join(DATABASE_FILE)).unwrap();
            assert!(check.tables.contains(&"test.numbers".to_owned()));
            let db = redb::Database::open(dest.join(DATABASE_FILE)).unwrap();
            let txn = redb::ReadableDatabase::begin_read(&db).unwrap();
            let table = txn.open_table(NUMBERS).unwrap();
            let len = table.len().unwrap();
            assert!(len >= acknowledged_before, "{len} < {acknowledged_before}");
            // Writes are sequential, so a consistent copy holds exactly 0..len.
            for n in 0..len {
                assert_eq!(table.get(n).unwrap().unwrap().value(), n * 2);
            }
            assert!(table.get(len).unwrap().is_none());
            drop(table);
            drop(txn);
            drop(db);
            let _ = std::fs::remove_dir_all(&dest);
        }
        writer.await.unwrap();
        store.shutdown().await;
        let _ = std::fs::remove_dir_all(&data);
    }

    #[test]
    fn a_damaged_copy_is_refused() {
        let dir = temp_dir("damaged");
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(DATABASE_FILE);
        std::fs::write(&path, b"this is not a redb file at all, just some bytes").unwrap();
        assert!(check_database_copy(&path).is_err());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
