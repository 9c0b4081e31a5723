//! The App View's redb tables (private to `appview`), all named `appview.*`.
//!
//! Accounts are interned to a `u64` actor id (`ACTOR_IDS`), so large tables hold 8 bytes per actor
//! instead of a DID. A record is named by (actor id, rkey); times are microseconds since the epoch
//! (`u64`), and every index key sorts the way its query reads it (newest first is a reverse range).
//! Subjects of likes and counts carry a [`super::ids::Kind`] byte for the collection.

use std::cell::OnceCell;

use redb::TableDefinition;

/// Declares each table once: its constant, its field in [`WriteTables`] and [`ReadTables`], and its
/// creation in [`create_all`].
macro_rules! tables {
    ($($(#[$doc:meta])* $field:ident: $def:ident = $name:literal => $k:ty, $v:ty;)*) => {
        $($(#[$doc])* pub const $def: TableDefinition<$k, $v> = TableDefinition::new($name);)*

        /// Every table of a write job, each opened on first use: an indexed event touches a
        /// handful of the ~55, and opening all of them cost each event ~55 table-tree lookups and
        /// ~500 allocations (heaptrack). redb refuses to open one table twice in a transaction;
        /// some tables are written through their own small jobs instead.
        #[allow(dead_code)]
        pub struct WriteTables<'t> {
            $(pub $field: LazyTable<'t, $k, $v>,)*
        }

        impl<'t> WriteTables<'t> {
            pub fn new(txn: &'t redb::WriteTransaction) -> Self {
                Self { $($field: LazyTable::new(txn, $def),)* }
            }
        }

        /// Every table of a read snapshot, each opened on first use (a view reads a few).
        #[allow(dead_code)]
        pub struct ReadTables<'t> {
            $(pub $field: LazyReadTable<'t, $k, $v>,)*
        }

        impl<'t> ReadTables<'t> {
            pub fn new(txn: &'t redb::ReadTransaction) -> Self {
                Self { $($field: LazyReadTable::new(txn, $def),)* }
            }
        }

        /// (table name, stored bytes, metadata bytes, fragmented bytes) of every table.
        pub fn table_stats(txn: &redb::ReadTransaction) -> Result<Vec<(&'static str, u64, u64, u64)>, redb::Error> {
            use redb::ReadableTableMetadata;
            let mut out = Vec::new();
            $(
                let stats = txn.open_table($def)?.stats()?;
                out.push(($name, stats.stored_bytes(), stats.metadata_bytes(), stats.fragmented_bytes()));
            )*
            Ok(out)
        }

        /// Creates every table, so read transactions can open them before the first index write.
        pub fn create_all(txn: &redb::WriteTransaction) -> Result<(), redb::TableError> {
            $(txn.open_table($def)?;)*
            Ok(())
        }
    };
}

/// A table of a write transaction, opened the first time it is used.
pub struct LazyTable<'t, K: redb::Key + 'static, V: redb::Value + 'static> {
    txn: &'t redb::WriteTransaction,
    definition: TableDefinition<'static, K, V>,
    table: OnceCell<redb::Table<'t, K, V>>,
}

impl<'t, K: redb::Key + 'static, V: redb::Value + 'static> LazyTable<'t, K, V> {
    fn new(txn: &'t redb::WriteTransaction, definition: TableDefinition<'static, K, V>) -> Self {
        LazyTable {
            txn,
            definition,
            table: OnceCell::new(),
        }
    }

    /// The table, for reading.
    pub fn table(&self) -> Result<&redb::Table<'t, K, V>, redb::TableError> {
        if let Some(table) = self.table.get() {
            return Ok(table);
        }
        let table = self.txn.open_table(self.definition)?;
        Ok(self.table.get_or_init(|| table))
    }

    /// The table, for writing.
    pub fn table_mut(&mut self) -> Result<&mut redb::Table<'t, K, V>, redb::TableError> {
        if self.table.get().is_none() {
            let table = self.txn.open_table(self.definition)?;
            // The cell is empty (checked above), so this sets it.
            let _ = self.table.set(table);
        }
        // Always set by now; stable Rust has no `get_mut_or_try_init` to say so without a branch.
        self.table
            .get_mut()
            .ok_or_else(|| redb::TableError::TableDoesNotExist(self.definition.to_string()))
    }
}

/// A table of a read snapshot, opened the first time it is used.
pub struct LazyReadTable<'t, K: redb::Key + 'static, V: redb::Value + 'static> {
    txn: &'t redb::ReadTransaction,
    definition: TableDefinition<'static, K, V>,
    table: OnceCell<redb::ReadOnlyTable<K, V>>,
}

impl<'t, K: redb::Key + 'static, V: redb::Value + 'static> LazyReadTable<'t, K, V> {
    fn new(txn: &'t redb::ReadTransaction, definition: TableDefinition<'static, K, V>) -> Self {
        LazyReadTable {
            txn,
            definition,
            table: OnceCell::new(),
        }
    }

    pub fn table(&self) -> Result<&redb::ReadOnlyTable<K, V>, redb::TableError> {
        if let Some(table) = self.table.get() {
            return Ok(table);
        }
        let table = self.txn.open_table(self.definition)?;
        Ok(self.table.get_or_init(|| table))
    }
}

tables! {
    /// Name → value: `next_actor`, `cursor:<source>`, `labeler:<did>` (label stream cursor).
    meta: META = "appview.meta" => &'static str, u64;
    /// DID → actor id.
    actor_ids: ACTOR_IDS = "appview.actor_ids" => &'static str, u64;
    /// Actor id → DID.
    actor_dids: ACTOR_DIDS = "appview.actor_dids" => u64, &'static str;
    /// Actor id → [`super::rows::ActorRow`] (handle, status, profile).
    actors: ACTORS = "appview.actors" => u64, &'static [u8];
    /// Actor id → profile counters ([`super::rows::ActorCounts`]).
    actor_counts: ACTOR_COUNTS = "appview.actor_counts" => u64, &'static [u8];
    /// (token, actor) → (): handle and display-name tokens, for actor search and typeahead.
    actor_tokens: ACTOR_TOKENS = "appview.actor_tokens" => (&'static str, u64), ();
    /// (author, rkey) → [`super::rows::PostRow`].
    posts: POSTS = "appview.posts" => (u64, &'static str), &'static [u8];
    /// (kind, actor, rkey) → counters of a subject (likes, reposts, replies, quotes / list items).
    counts: COUNTS = "appview.counts" => (u8, u64, &'static str), &'static [u8];
    /// (actor, sort time, item kind, rkey) → feed item (flags, and the subject of a repost): an
    /// actor's posts and reposts, for author feeds and timelines.
    feed_items: FEED_ITEMS = "appview.feed_items" => (u64, u64, u8, &'static str), &'static [u8];
    /// (sort time, author, rkey) → (): every top-level post, newest last.
    all_posts: ALL_POSTS = "appview.all_posts" => (u64, u64, &'static str), ();
    /// (parent author, parent rkey, sort time, child author, child rkey) → (): direct replies.
    replies: REPLIES = "appview.replies" => (u64, &'static str, u64, u64, &'static str), ();
    /// (quoted author, quoted rkey, sort time, quoting author, rkey) → (): quote posts.
    quotes: QUOTES = "appview.quotes" => (u64, &'static str, u64, u64, &'static str), ();
    /// seq → (author, rkey, added): posts added to or removed from `posts`, in order, for the post
    /// search index, which follows this journal in its own file ([`super::search_index`]).
    search_journal: SEARCH_JOURNAL = "appview.search_journal" => u64, (u64, &'static str, bool);
    /// (liker, rkey) → [`super::rows::InteractionRow`].
    likes: LIKES = "appview.likes" => (u64, &'static str), &'static [u8];
    /// (kind, subject author, subject rkey, sort time, liker) → like rkey.
    likes_by_subject: LIKES_BY_SUBJECT = "appview.likes_by_subject" => (u8, u64, &'static str, u64, u64), &'static str;
    /// (kind, subject author, subject rkey, liker) → like rkey (the viewer's `like`).
    like_of: LIKE_OF = "appview.like_of" => (u8, u64, &'static str, u64), &'static str;
    /// (reposter, rkey) → [`super::rows::InteractionRow`].
    reposts: REPOSTS = "appview.reposts" => (u64, &'static str), &'static [u8];
    /// (subject author, subject rkey, sort time, reposter) → repost rkey.
    reposts_by_subject: REPOSTS_BY_SUBJECT = "appview.reposts_by_subject" => (u64, &'static str, u64, u64), &'static str;
    /// (subject author, subject rkey, reposter) → repost rkey (the viewer's `repost`).
    repost_of: REPOST_OF = "appview.repost_of" => (u64, &'static str, u64), &'static str;
    /// (follower, rkey) → [`super::rows::EdgeRow`].
    follows: FOLLOWS = "appview.follows" => (u64, &'static str), &'static [u8];
    /// (follower, sort time, subject) → follow rkey: whom an actor follows, newest first.
    following: FOLLOWING = "appview.following" => (u64, u64, u64), &'static str;
    /// (subject, sort time, follower) → follow rkey: an actor's followers, newest first.
    followers: FOLLOWERS = "appview.followers" => (u64, u64, u64), &'static str;
    /// (follower, subject) → follow rkey.
    follow_edge: FOLLOW_EDGE = "appview.follow_edge" => (u64, u64), &'static str;
    /// (blocker, rkey) → [`super::rows::EdgeRow`].
    blocks: BLOCKS = "appview.blocks" => (u64, &'static str), &'static [u8];
    /// (blocker, subject) → block rkey.
    block_edge: BLOCK_EDGE = "appview.block_edge" => (u64, u64), &'static str;
    /// (subject, blocker) → block rkey.
    blocked_by: BLOCKED_BY = "appview.blocked_by" => (u64, u64), &'static str;
    /// (owner, rkey) → [`super::rows::ListRow`].
    lists: LISTS = "appview.lists" => (u64, &'static str), &'static [u8];
    /// (item author, item rkey) → [`super::rows::ListItemRow`].
    list_items: LIST_ITEMS = "appview.list_items" => (u64, &'static str), &'static [u8];
    /// (list owner, list rkey, item rkey) → member: a list's members in the order they were added.
    list_members: LIST_MEMBERS = "appview.list_members" => (u64, &'static str, &'static str), u64;
    /// (list owner, list rkey, member) → item rkey.
    list_membership: LIST_MEMBERSHIP = "appview.list_membership" => (u64, &'static str, u64), &'static str;
    /// (member, list owner, list rkey) → (): the lists an actor is on.
    member_of: MEMBER_OF = "appview.member_of" => (u64, u64, &'static str), ();
    /// (actor, rkey) → [`super::rows::ListBlockRow`].
    list_blocks: LIST_BLOCKS = "appview.list_blocks" => (u64, &'static str), &'static [u8];
    /// (actor, list owner, list rkey) → listblock rkey: the lists an actor blocks.
    actor_list_blocks: ACTOR_LIST_BLOCKS = "appview.actor_list_blocks" => (u64, u64, &'static str), &'static str;
    /// (list owner, list rkey, actor) → (): who blocks through a list.
    list_blockers: LIST_BLOCKERS = "appview.list_blockers" => (u64, &'static str, u64), ();
    /// (owner, rkey) → [`super::rows::GeneratorRow`].
    generators: GENERATORS = "appview.generators" => (u64, &'static str), &'static [u8];
    /// (author, rkey) → [`super::rows::RecordRow`]; the rkey is the gated post's.
    threadgates: THREADGATES = "appview.threadgates" => (u64, &'static str), &'static [u8];
    /// (author, rkey) → [`super::rows::RecordRow`]; the rkey is the gated post's.
    postgates: POSTGATES = "appview.postgates" => (u64, &'static str), &'static [u8];
    /// (creator, rkey) → [`super::rows::StarterPackRow`].
    starter_packs: STARTER_PACKS = "appview.starter_packs" => (u64, &'static str), &'static [u8];
    /// Actor id → [`super::rows::RecordRow`] of its `app.bsky.labeler.service` record.
    labeler_services: LABELER_SERVICES = "appview.labeler_services" => u64, &'static [u8];
    /// (recipient, sort time, author, kind, rkey) → [`super::rows::NotificationRow`].
    notifications: NOTIFICATIONS = "appview.notifications" => (u64, u64, u64, u8, &'static str), &'static [u8];
    /// Actor id → last `updateSeen` time.
    notification_seen: NOTIFICATION_SEEN = "appview.notification_seen" => u64, u64;
    /// (actor, service DID, token) → platform and app id (`registerPush`).
    push_tokens: PUSH_TOKENS = "appview.push_tokens" => (u64, &'static str, &'static str), &'static [u8];
    /// (viewer, subject) → [`super::rows::MuteRow`]: private mutes.
    mutes: MUTES = "appview.mutes" => (u64, u64), &'static [u8];
    /// (viewer, list owner, list rkey) → (): lists muted with muteActorList.
    list_mutes: LIST_MUTES = "appview.list_mutes" => (u64, u64, &'static str), ();
    /// (viewer, root author, root rkey) → (): threads muted with muteThread.
    thread_mutes: THREAD_MUTES = "appview.thread_mutes" => (u64, u64, &'static str), ();
    /// (viewer, bookmark time) → [`super::rows::BookmarkRow`]: private bookmarks, newest last.
    bookmarks: BOOKMARKS = "appview.bookmarks" => (u64, u64), &'static [u8];
    /// (viewer, post URI) → bookmark time: whether the viewer bookmarked a post.
    bookmark_of: BOOKMARK_OF = "appview.bookmark_of" => (u64, &'static str), u64;
    /// Post URI → how many accounts bookmarked it (`bookmarkCount`).
    bookmark_counts: BOOKMARK_COUNTS = "appview.bookmark_counts" => &'static str, u64;
    /// Actor id → [`super::rows::NotificationPrefsRow`]: notification preferences, when set.
    notification_prefs: NOTIFICATION_PREFS = "appview.notification_prefs" => u64, &'static [u8];
    /// (subject URI or DID, labeler DID, value) → [`super::rows::LabelRow`].
    labels: LABELS = "appview.labels" => (&'static str, &'static str, &'static str), &'static [u8];
    /// Actor id → rev of the newest commit (or repo snapshot) indexed: older ones are skipped.
    repo_revs: REPO_REVS = "appview.repo_revs" => u64, &'static str;
    /// DID → time of the first failure: repos whose backfill failed and is retried.
    pending_backfills: PENDING_BACKFILLS = "appview.pending_backfills" => &'static str, u64;
    /// (author, rkey) → fetched at: posts fetched on demand for a thread (`remote_post`), not
    /// brought by the stream; the mark goes when the stream indexes the post.
    fetched_posts: FETCHED_POSTS = "appview.fetched_posts" => (u64, &'static str), u64;
    /// (fetched at, author, rkey) → (): the same posts oldest first, for eviction.
    fetched_order: FETCHED_ORDER = "appview.fetched_order" => (u64, u64, &'static str), ();
    /// DID → where forgetting it stopped ([`super::index::ForgetProgress`]): accounts that left
    /// the carried set, whose records are being removed (`forget`).
    forgetting: FORGETTING = "appview.forgetting" => &'static str, &'static [u8];
    /// Subject (DID or record URI) → takedown reference, set by the admin.
    takedowns: TAKEDOWNS = "appview.takedowns" => &'static str, &'static str;
}
