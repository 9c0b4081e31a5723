//! The post search index, in its own file (`search.redb`) and written off the acknowledging
//! commit.
//!
//! A post has a dozen search terms, and inserting a dozen rows at random places of one B-tree made
//! up a third of the writer thread's time under `applyWrites` (docs/PERFORMANCE.md). So the indexer
//! records only that a post was added or removed, one row appended to `appview.search_journal` in
//! the transaction that indexes it; this module follows the journal on the blocking pool, writes
//! the terms into a [`SideFile`] with its cursor in the same transaction, and then lets the writer
//! prune the journal behind it. The index lags the journal by up to [`GATHER`] plus one catch-up
//! step, and a search first wakes the follower and waits (at most [`SEARCH_WAIT`]) until the index
//! has caught up with the journal as it stood when the query arrived, so a post can be found as soon
//! as its write is acknowledged.
//!
//! The file is derived data, never backed up: it is rebuilt from `appview.posts` when it is
//! missing, belongs to another store (its epoch differs: a restore), or its cursor does not
//! continue the journal. Every hit is checked against the App View's own rows before it is shown,
//! so a rebuild in progress only misses posts; it never shows a removed one.
//!
//! The reference App View hands search to a separate service; the query syntax served here is
//! described in `search.rs`.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use redb::{ReadableTable, TableDefinition};
use tokio::sync::{Notify, watch};

use super::records;
use super::rows::{self, PostRow};
use super::tables::{self, WriteTables};
use super::tokens;
use super::{Appview, AppviewError};
use crate::core::data;
use crate::store::{ReadTransaction, SideFile, Store, StoreError, open_read_table};

/// The side file's name in the data directory.
pub const FILE: &str = "search.redb";
/// (term, sort time, author, rkey) → (): the posts each term occurs in, newest last.
pub const TERMS: TableDefinition<(&str, u64, u64, &str), ()> = TableDefinition::new("search.terms");
/// (author, rkey) → (sort time, the post's terms joined by '\n'): what to remove with a post.
const INDEXED: TableDefinition<(u64, &str), (u64, &str)> = TableDefinition::new("search.posts");
/// "epoch", "cursor" (the last journal seq applied), "built" (1 once the rebuild finished).
const META: TableDefinition<&str, u64> = TableDefinition::new("search.meta");
/// "after" → the last post a rebuild in progress indexed.
const REBUILD: TableDefinition<&str, (u64, &str)> = TableDefinition::new("search.rebuild");
/// Where the terms lived before they had their own file; dropped from the store at start.
pub const LEGACY_TERMS: TableDefinition<(&str, u64, u64, &str), ()> =
    TableDefinition::new("appview.post_terms");
/// The `appview.meta` key of the store's search epoch, a random number made with the store: a
/// search file with another epoch was built from another store.
pub const EPOCH_KEY: &str = "search_epoch";

/// Journal rows applied per transaction of the search file: a transaction's dirty pages stay in
/// memory until it commits, so a bounded batch bounds them (and the lag a search may wait for);
/// under the load bench 512 to 4096 ran at the same speed within the machine's noise.
const BATCH: usize = 1024;
/// Posts indexed per transaction of a rebuild.
const REBUILD_BATCH: usize = 2000;
/// The journal is pruned once this many rows behind the index.
const PRUNE_EVERY: u64 = 1024;
/// How long a search waits for the index to catch up before answering from what it has.
const SEARCH_WAIT: Duration = Duration::from_secs(2);
/// How long the follower waits after a failure before trying again.
const RETRY: Duration = Duration::from_secs(5);
/// How often the search file's commits are made durable. Between, they are not synced: a crash
/// takes the file back to its last durable commit, and the follower applies the journal again from
/// there (the journal is pruned only up to what is durable). One fsync a second instead of one per
/// catch-up step, which under a steady load was one more fsync per commit of the store.
const SYNC_EVERY: Duration = Duration::from_secs(1);
/// How long the follower lets the journal grow after a commit before its next step, unless a
/// search is waiting. A step costs a read of the store and a commit of the search file whatever it
/// applies: under a sequential writer, stepping on every commit took a sixth of the process's CPU.
const GATHER: Duration = Duration::from_millis(100);

/// The search file and what its follower has published.
pub(super) struct SearchIndex {
    file: SideFile,
    /// The journal seq the file has applied, once it is built (0 before): what searches wait for.
    indexed: watch::Sender<u64>,
    /// The journal seq the file holds durably: what the journal may be pruned up to.
    durable: AtomicU64,
    /// A commit that is not durable yet was made since the last durable one.
    unsynced: AtomicBool,
    /// The file is being rebuilt: searches answer from it without waiting.
    rebuilding: AtomicBool,
    stopping: AtomicBool,
    stop: Notify,
    /// A search waits for the index: the follower steps without gathering.
    wanted: Notify,
    task: std::sync::Mutex<Option<tokio::task::JoinHandle<()>>>,
}

impl SearchIndex {
    pub fn open(store: &Store) -> Result<SearchIndex, StoreError> {
        Ok(SearchIndex {
            file: SideFile::open(store, FILE)?,
            indexed: watch::Sender::new(0),
            durable: AtomicU64::new(0),
            unsynced: AtomicBool::new(false),
            rebuilding: AtomicBool::new(false),
            stopping: AtomicBool::new(false),
            stop: Notify::new(),
            wanted: Notify::new(),
            task: std::sync::Mutex::new(None),
        })
    }

    /// A read transaction on the search file.
    pub fn begin_read(&self) -> Result<ReadTransaction, StoreError> {
        self.file.begin_read()
    }
}

/// Records in the indexing transaction that `actor`'s post `rkey` was added or removed.
pub(super) fn journal(
    t: &mut WriteTables<'_>,
    actor: u64,
    rkey: &str,
    added: bool,
) -> Result<(), StoreError> {
    let table = t.search_journal.table_mut()?;
    let next = table.last()?.map_or(1, |(k, _)| k.value() + 1);
    table.insert(next, (actor, rkey, added))?;
    Ok(())
}

/// The search terms of a post: the words of its text and its tags.
pub fn post_terms(post: &records::Post) -> Vec<String> {
    let mut terms = tokens::tokens(&post.text);
    for tag in &post.tags {
        for t in tokens::tokens(tag) {
            if !terms.contains(&t) && terms.len() < tokens::MAX_TOKENS {
                terms.push(t);
            }
        }
    }
    terms
}

/// The last seq in the journal (0 when empty).
fn journal_head(txn: &ReadTransaction) -> Result<u64, StoreError> {
    Ok(match open_read_table(txn, tables::SEARCH_JOURNAL)? {
        Some(table) => table.last()?.map_or(0, |(k, _)| k.value()),
        None => 0,
    })
}

impl Appview {
    /// Starts following the search journal.
    pub(super) fn start_search_index(&self) {
        let appview = self.clone();
        let task = tokio::spawn(async move { appview.follow_search_journal().await });
        *self
            .inner
            .search
            .task
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(task);
    }

    /// Stops the follower after its current step and closes the search file cleanly.
    pub async fn shutdown(&self) {
        let search = &self.inner.search;
        search.stopping.store(true, Ordering::SeqCst);
        search.stop.notify_one();
        let task = search
            .task
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take();
        if let Some(task) = task {
            let _ = task.await;
        }
        let appview = self.clone();
        let _ = tokio::task::spawn_blocking(move || {
            let search = &appview.inner.search;
            if let Err(error) = sync(search) {
                tracing::warn!(%error, "post search index: the last sync failed; the next start applies the journal again");
            }
            search.file.close();
        })
        .await;
    }

    /// Waits until the search index holds every post indexed before now, or [`SEARCH_WAIT`]
    /// passed; returns whether it caught up. During a rebuild it answers `false` at once.
    pub(super) async fn search_caught_up(&self) -> Result<bool, AppviewError> {
        if self.inner.search.rebuilding.load(Ordering::SeqCst) {
            return Ok(false);
        }
        let head = self
            .store()
            .read(|txn| Ok::<_, AppviewError>(journal_head(txn)?))
            .await?;
        let mut indexed = self.inner.search.indexed.subscribe();
        if *indexed.borrow() < head {
            self.inner.search.wanted.notify_one();
        }
        let wait = indexed.wait_for(|applied| *applied >= head);
        Ok(matches!(
            tokio::time::timeout(SEARCH_WAIT, wait).await,
            Ok(Ok(_))
        ))
    }

    async fn follow_search_journal(self) {
        let search = &self.inner.search;
        let mut commits = self.store().commits();
        let mut pruned = 0;
        let mut synced_at = Instant::now();
        while !search.stopping.load(Ordering::SeqCst) {
            let durably = synced_at.elapsed() >= SYNC_EVERY;
            if durably {
                synced_at = Instant::now();
            }
            let appview = self.clone();
            let step = tokio::task::spawn_blocking(move || {
                catch_up(appview.store(), &appview.inner.search, durably)
            });
            let more = match step.await {
                Ok(Ok(more)) => more,
                Ok(Err(_)) | Err(_) if self.store().is_closed() => return,
                Ok(Err(error)) => {
                    tracing::warn!(%error, "post search index: catching up failed; trying again");
                    tokio::select! {
                        () = tokio::time::sleep(RETRY) => {}
                        () = search.stop.notified() => return,
                    }
                    continue;
                }
                Err(_) => return,
            };
            let durable = search.durable.load(Ordering::SeqCst);
            if durable >= pruned + PRUNE_EVERY {
                match prune_journal(self.store(), durable).await {
                    Ok(()) => pruned = durable,
                    Err(_) if self.store().is_closed() => return,
                    Err(error) => {
                        tracing::warn!(%error, "post search index: pruning the journal failed")
                    }
                }
            }
            if !more {
                // Idle with a commit not yet durable: sync it when it is due.
                let until_sync = if search.unsynced.load(Ordering::SeqCst) {
                    SYNC_EVERY.saturating_sub(synced_at.elapsed())
                } else {
                    Duration::MAX
                };
                let committed = tokio::select! {
                    changed = commits.changed() => if changed.is_err() { return } else { true },
                    () = tokio::time::sleep(until_sync) => false,
                    () = search.wanted.notified() => false,
                    () = search.stop.notified() => return,
                };
                if committed {
                    tokio::select! {
                        () = tokio::time::sleep(GATHER) => {}
                        () = search.wanted.notified() => {}
                        () = search.stop.notified() => return,
                    }
                }
            }
        }
    }
}

/// Removes the journal rows before `applied`, which the search file must hold durably. The row
/// at `applied` stays: the next seq follows it, after a restart too.
async fn prune_journal(store: &Store, applied: u64) -> Result<(), StoreError> {
    store
        .write(move |txn| {
            let mut table = txn.open_table(tables::SEARCH_JOURNAL)?;
            table.retain_in(..applied, |_, _| false)?;
            Ok(Ok::<_, StoreError>(()))
        })
        .await
}

/// The search file's own record of where it stands.
struct State {
    epoch: u64,
    cursor: u64,
    built: bool,
    rebuild_after: Option<(u64, String)>,
}

fn read_state(file: &SideFile) -> Result<State, StoreError> {
    let txn = file.begin_read()?;
    let meta = open_read_table(&txn, META)?;
    let get = |key: &str| -> Result<u64, StoreError> {
        Ok(match &meta {
            Some(m) => m.get(key)?.map_or(0, |v| v.value()),
            None => 0,
        })
    };
    let rebuild_after = match open_read_table(&txn, REBUILD)? {
        Some(t) => t.get("after")?.map(|v| {
            let (actor, rkey) = v.value();
            (actor, rkey.to_owned())
        }),
        None => None,
    };
    Ok(State {
        epoch: get("epoch")?,
        cursor: get("cursor")?,
        built: get("built")? == 1,
        rebuild_after,
    })
}

/// Makes the search file's commits durable, if one is not.
fn sync(search: &SearchIndex) -> Result<(), StoreError> {
    if search.unsynced.load(Ordering::SeqCst) {
        // A durable commit makes every commit before it durable too.
        search.file.commit(search.file.begin_write()?)?;
        search.unsynced.store(false, Ordering::SeqCst);
        search
            .durable
            .store(*search.indexed.borrow(), Ordering::SeqCst);
    }
    Ok(())
}

/// One step of following the journal: starts or continues a rebuild, or applies the next batch of
/// journal rows, in a durable commit when `durably` (else [`SYNC_EVERY`] decides). Returns whether
/// there is more to do at once.
fn catch_up(store: &Store, search: &SearchIndex, durably: bool) -> Result<bool, StoreError> {
    let file = &search.file;
    let published = &search.indexed;
    let main = store.read_now()?;
    let epoch = match open_read_table(&main, tables::META)? {
        Some(meta) => meta.get(EPOCH_KEY)?.map_or(0, |v| v.value()),
        None => 0,
    };
    let journal = open_read_table(&main, tables::SEARCH_JOURNAL)?;
    let (first, head) = match &journal {
        Some(j) => (
            j.first()?.map(|(k, _)| k.value()),
            j.last()?.map_or(0, |(k, _)| k.value()),
        ),
        None => (None, 0),
    };
    let state = read_state(file)?;
    let continues =
        state.epoch == epoch && state.cursor <= head && first.is_none_or(|f| f <= state.cursor + 1);
    if !continues {
        tracing::info!("post search index: rebuilding it from the App View's posts");
        published.send_replace(0);
        search.durable.store(0, Ordering::SeqCst);
        start_rebuild(file, epoch, head)?;
        search.unsynced.store(false, Ordering::SeqCst);
        return Ok(true);
    }
    search.rebuilding.store(!state.built, Ordering::SeqCst);
    if !state.built {
        return rebuild_some(file, &main, state.rebuild_after);
    }
    published.send_if_modified(|applied| {
        let changed = *applied != state.cursor;
        *applied = state.cursor;
        changed
    });
    if !search.unsynced.load(Ordering::SeqCst) {
        search.durable.store(state.cursor, Ordering::SeqCst);
    }
    let Some(journal) = journal.filter(|_| head > state.cursor) else {
        if durably {
            sync(search)?;
        }
        return Ok(false);
    };
    let posts = open_read_table(&main, tables::POSTS)?;
    let mut txn = file.begin_write()?;
    if !durably {
        txn.set_durability(redb::Durability::None)
            .map_err(|e| StoreError::Database(e.to_string()))?;
    }
    let mut applied = state.cursor;
    {
        let mut terms = txn.open_table(TERMS)?;
        let mut indexed = txn.open_table(INDEXED)?;
        for row in journal.range(state.cursor + 1..)?.take(BATCH) {
            let (seq, entry) = row?;
            let (actor, rkey, added) = entry.value();
            remove_post(&mut terms, &mut indexed, actor, rkey)?;
            if added
                && let Some(posts) = &posts
                && let Some(row) = posts.get((actor, rkey))?
            {
                add_post(&mut terms, &mut indexed, actor, rkey, row.value())?;
            }
            applied = seq.value();
        }
        txn.open_table(META)?.insert("cursor", applied)?;
    }
    file.commit(txn)?;
    search.unsynced.store(!durably, Ordering::SeqCst);
    if durably {
        search.durable.store(applied, Ordering::SeqCst);
    }
    published.send_replace(applied);
    Ok(applied < head)
}

/// Empties the file and records that a rebuild covering the journal up to `head` has begun.
fn start_rebuild(file: &SideFile, epoch: u64, head: u64) -> Result<(), StoreError> {
    let txn = file.begin_write()?;
    txn.delete_table(TERMS)?;
    txn.delete_table(INDEXED)?;
    txn.delete_table(REBUILD)?;
    {
        let mut meta = txn.open_table(META)?;
        meta.insert("epoch", epoch)?;
        meta.insert("cursor", head)?;
        meta.insert("built", 0)?;
    }
    file.commit(txn)
}

/// Indexes the next [`REBUILD_BATCH`] posts of the App View after `after`.
fn rebuild_some(
    file: &SideFile,
    main: &ReadTransaction,
    after: Option<(u64, String)>,
) -> Result<bool, StoreError> {
    let posts = open_read_table(main, tables::POSTS)?;
    let txn = file.begin_write()?;
    let more;
    {
        let mut terms = txn.open_table(TERMS)?;
        let mut indexed = txn.open_table(INDEXED)?;
        let mut last = None;
        let mut count = 0;
        if let Some(posts) = &posts {
            let range = match &after {
                Some((actor, rkey)) => posts.range((
                    std::ops::Bound::Excluded((*actor, rkey.as_str())),
                    std::ops::Bound::Unbounded,
                ))?,
                None => posts.range::<(u64, &str)>(..)?,
            };
            for row in range.take(REBUILD_BATCH) {
                let (key, value) = row?;
                let (actor, rkey) = key.value();
                remove_post(&mut terms, &mut indexed, actor, rkey)?;
                add_post(&mut terms, &mut indexed, actor, rkey, value.value())?;
                last = Some((actor, rkey.to_owned()));
                count += 1;
            }
        }
        more = count == REBUILD_BATCH;
        let mut rebuild = txn.open_table(REBUILD)?;
        match (&last, more) {
            (Some((actor, rkey)), true) => {
                rebuild.insert("after", (*actor, rkey.as_str()))?;
            }
            _ => {
                rebuild.remove("after")?;
                txn.open_table(META)?.insert("built", 1)?;
                tracing::info!("post search index: rebuilt");
            }
        }
    }
    file.commit(txn)?;
    Ok(true)
}

/// Indexes the terms of the post row `row`.
fn add_post(
    terms: &mut redb::Table<(&str, u64, u64, &str), ()>,
    indexed: &mut redb::Table<(u64, &str), (u64, &str)>,
    actor: u64,
    rkey: &str,
    row: &[u8],
) -> Result<(), StoreError> {
    let row: PostRow = rows::decode(row)?;
    let Some(post) = data::decode_value(&row.record)
        .ok()
        .and_then(|v| records::post(&v))
    else {
        return Ok(());
    };
    let words = post_terms(&post);
    for term in &words {
        terms.insert((term.as_str(), row.sort_at, actor, rkey), ())?;
    }
    indexed.insert((actor, rkey), (row.sort_at, words.join("\n").as_str()))?;
    Ok(())
}

/// Removes whatever the index holds of `actor`'s post `rkey`.
fn remove_post(
    terms: &mut redb::Table<(&str, u64, u64, &str), ()>,
    indexed: &mut redb::Table<(u64, &str), (u64, &str)>,
    actor: u64,
    rkey: &str,
) -> Result<(), StoreError> {
    let Some(old) = indexed.remove((actor, rkey))? else {
        return Ok(());
    };
    let (sort_at, words) = old.value();
    for term in words.split('\n').filter(|w| !w.is_empty()) {
        terms.remove((term, sort_at, actor, rkey))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::appview::index::{Action, Index, RecordOp};

    const DID: &str = "did:plc:author";

    struct TempStore {
        store: Store,
        dir: std::path::PathBuf,
    }

    impl Drop for TempStore {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }

    async fn open(epoch: u64) -> TempStore {
        let mut suffix = [0u8; 6];
        rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, &mut suffix);
        let dir = std::env::temp_dir().join(format!(
            "skyhold-search-{}",
            data_encoding::HEXLOWER.encode(&suffix)
        ));
        let store = Store::open(&dir).unwrap();
        set_epoch(&store, epoch).await;
        TempStore { store, dir }
    }

    async fn set_epoch(store: &Store, epoch: u64) {
        store
            .write(move |txn| {
                tables::create_all(txn).map_err(|e| StoreError::Database(e.to_string()))?;
                txn.open_table(tables::META)?.insert(EPOCH_KEY, epoch)?;
                Ok(Ok::<_, StoreError>(()))
            })
            .await
            .unwrap();
    }

    /// Indexes a create (with `text`) or a delete of the post `rkey` through the App View's index.
    async fn write(store: &Store, rkey: &'static str, text: Option<&'static str>) {
        store
            .write(move |txn| {
                let bytes = text.map(|text| {
                    let record = json!({"$type": records::POST, "text": text,
                                        "createdAt": "2026-12-06T12:00:00Z"});
                    data::encode_value(&data::from_json(&record).unwrap()).unwrap()
                });
                let mut ix = Index::open(txn, 1_700_000_000_000_000)?;
                ix.apply(&RecordOp {
                    did: DID,
                    collection: records::POST,
                    rkey,
                    action: if text.is_some() {
                        Action::Create
                    } else {
                        Action::Delete
                    },
                    cid: bytes.as_deref().map(data::cid_for_cbor),
                    record: bytes.as_deref(),
                })?;
                Ok(Ok::<_, StoreError>(()))
            })
            .await
            .unwrap();
    }

    /// Runs durable catch-up steps until there is nothing left; returns the published cursor.
    fn settle(store: &Store, search: &SearchIndex) -> u64 {
        for _ in 0..100 {
            if !catch_up(store, search, true).unwrap() {
                return *search.indexed.borrow();
            }
        }
        panic!("the search index never caught up");
    }

    /// The rkeys of the posts `term` occurs in.
    fn hits(file: &SideFile, term: &str) -> Vec<String> {
        let txn = file.begin_read().unwrap();
        let Some(table) = open_read_table(&txn, TERMS).unwrap() else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for row in table
            .range((term, 0, 0, "")..=(term, u64::MAX, u64::MAX, "\x7f"))
            .unwrap()
        {
            out.push(row.unwrap().0.value().3.to_owned());
        }
        out.sort();
        out
    }

    #[tokio::test]
    async fn follows_the_journal_through_pruning_and_rebuilds_for_another_store() {
        let t = open(7).await;
        let search = SearchIndex::open(&t.store).unwrap();
        let file = &search.file;
        write(&t.store, "a", Some("kestrel over the marsh")).await;
        write(&t.store, "b", Some("a kestrel and an osprey")).await;
        // Added and removed before the index looked: it never shows up.
        write(&t.store, "c", Some("osprey gone soon")).await;
        write(&t.store, "c", None).await;
        // The first look builds the file from the posts, then follows the journal.
        let cursor = settle(&t.store, &search);
        assert_eq!(cursor, 4, "every journal row applied");
        assert_eq!(hits(file, "kestrel"), ["a", "b"]);
        assert_eq!(hits(file, "osprey"), ["b"]);

        write(&t.store, "b", None).await;
        write(&t.store, "d", Some("another osprey")).await;
        assert_eq!(settle(&t.store, &search), 6);
        assert_eq!(hits(file, "kestrel"), ["a"]);
        assert_eq!(hits(file, "osprey"), ["d"]);

        // Pruned behind the index, the journal goes on from the row the index stopped at.
        prune_journal(&t.store, 6).await.unwrap();
        write(&t.store, "e", Some("a late kestrel")).await;
        assert!(!catch_up(&t.store, &search, true).unwrap());
        assert_eq!(*search.indexed.borrow(), 7, "caught up without a rebuild");
        assert_eq!(hits(file, "kestrel"), ["a", "e"]);
        let main = t.store.read_now().unwrap();
        let journal = main.open_table(tables::SEARCH_JOURNAL).unwrap();
        assert_eq!(journal.first().unwrap().unwrap().0.value(), 6);
        drop((journal, main));

        // Commits between syncs are not durable, and the journal is not pruned past them.
        write(&t.store, "f", Some("kestrel at dusk")).await;
        assert!(!catch_up(&t.store, &search, false).unwrap());
        assert_eq!(*search.indexed.borrow(), 8, "searches see it at once");
        assert_eq!(search.durable.load(Ordering::SeqCst), 7);
        sync(&search).unwrap();
        assert_eq!(search.durable.load(Ordering::SeqCst), 8);

        // The store says it is another one (a restore over an old index file): rebuilt.
        set_epoch(&t.store, 8).await;
        assert!(catch_up(&t.store, &search, true).unwrap());
        assert_eq!(
            *search.indexed.borrow(),
            0,
            "nothing is published during a rebuild"
        );
        assert!(hits(file, "kestrel").is_empty(), "the old index is dropped");
        assert!(catch_up(&t.store, &search, true).unwrap());
        assert!(
            search.rebuilding.load(Ordering::SeqCst),
            "searches do not wait for it"
        );
        assert_eq!(settle(&t.store, &search), 8);
        assert_eq!(hits(file, "kestrel"), ["a", "e", "f"]);
        assert_eq!(hits(file, "osprey"), ["d"]);
        assert_eq!(read_state(file).unwrap().epoch, 8);
        assert!(!search.rebuilding.load(Ordering::SeqCst));
        search.file.close();
        t.store.shutdown().await;
    }
}
