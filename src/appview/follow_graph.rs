//! What the relay's carried set is derived from (`app.rs` wires the two): the accounts the local
//! PDS's members need, for one or more reasons, and a signal each time those may have changed.
//!
//! Reasons (an account is carried while any holds for any member):
//! - **follow**: a member follows it (`app.bsky.graph.follow`).
//! - **interaction**: a member replied to or quoted one of its posts (`app.bsky.feed.post` reply
//!   parent, record embed), or liked or reposted one (`app.bsky.feed.like`, `.repost`), among the
//!   member's newest N of each (`--relay-carry-interactions`, at most
//!   [`MAX_INTERACTIONS_PER_KIND`]): the member sees the rest of that conversation and its
//!   author's answers. When the account is dropped anyway (those interactions aged out), the
//!   posts a member interacted with stay indexed (`index/forget.rs`).
//! - **list**: lists are subscribed to with `app.bsky.graph.listblock` (public) and
//!   `app.bsky.graph.muteActorList` (private, App View state). For those the list's *owner* is
//!   carried, not the accounts on it: the `listitem` records that make the list live in the
//!   owner's repo, so without the owner the block or mute list is empty on this node, while the
//!   listed accounts are exactly those whose content the member asked not to see. The accounts on
//!   a curation list a member made themselves are carried: its list feed (`getListFeed`) shows
//!   their posts.
//!
//! The signal: a follow anywhere, an account change, a backfill, or a member's own post, like,
//! repost or list block (`set_members` tells the App View who the members are). Interactions that
//! end (an unlike) are picked up by `app.rs`'s periodic recompute, then the relay's grace period.
//!
//! Spec: the `app.bsky.graph.*` and `app.bsky.feed.*` lexicons. The App View never imports the
//! relay.

use std::collections::HashSet;

use super::consumer::PreparedOp;
use super::index::RKEY_MAX;
use super::kind::Kind;
use super::read::{self, Tables};
use super::records;
use super::rows::{self, InteractionRow, ListBlockRow, ListRow, PostRow};
use super::{Appview, AppviewError};

/// Most follows read for one actor (a member following more is carried up to this many).
const MAX_FOLLOWS_PER_ACTOR: usize = 100_000;
/// Most of a member's newest posts, likes and reposts read for interactions (each kind): recent
/// ones are what keeps an account carried, and the set is recomputed after each change, so this
/// bounds the rows (and cache pages) each recomputation reads, whatever is configured.
pub const MAX_INTERACTIONS_PER_KIND: usize = 10_000;
/// Most accounts read from one curation list.
const MAX_LIST_MEMBERS: usize = 10_000;
/// The lexicon's purpose of a curation list.
const CURATE_LIST: &str = "app.bsky.graph.defs#curatelist";

/// The accounts members need, by reason (one account may be under several).
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Wanted {
    pub follows: HashSet<String>,
    pub interactions: HashSet<String>,
    pub lists: HashSet<String>,
}

impl Wanted {
    /// Every account wanted for any reason.
    pub fn all(&self) -> HashSet<String> {
        self.follows
            .iter()
            .chain(&self.interactions)
            .chain(&self.lists)
            .cloned()
            .collect()
    }
}

/// Actor ids wanted by reason, before they are named.
#[derive(Default)]
struct WantedIds {
    follows: HashSet<u64>,
    interactions: HashSet<u64>,
    lists: HashSet<u64>,
}

fn follows_of(t: &Tables, actor: u64, out: &mut HashSet<u64>) -> Result<(), AppviewError> {
    for row in t
        .following
        .table()?
        .range((actor, 0, 0)..=(actor, u64::MAX, u64::MAX))?
        .take(MAX_FOLLOWS_PER_ACTOR)
    {
        let (key, _) = row?;
        out.insert(key.value().2);
    }
    Ok(())
}

fn interactions_of(
    t: &Tables,
    actor: u64,
    newest: usize,
    out: &mut HashSet<u64>,
) -> Result<(), AppviewError> {
    let newest = newest.min(MAX_INTERACTIONS_PER_KIND);
    let range = (actor, "")..=(actor, RKEY_MAX);
    for row in t.posts.table()?.range(range.clone())?.rev().take(newest) {
        let (_, value) = row?;
        let post: PostRow = rows::decode(value.value())?;
        out.extend(post.reply_parent.map(|p| p.actor));
        out.extend(
            post.embed
                .filter(|e| e.collection == records::POST)
                .map(|e| e.target.actor),
        );
    }
    for table in [t.likes.table()?, t.reposts.table()?] {
        for row in table.range(range.clone())?.rev().take(newest) {
            let (_, value) = row?;
            let interaction: InteractionRow = rows::decode(value.value())?;
            if interaction.kind == Kind::Post.byte() {
                out.insert(interaction.subject.actor);
            }
        }
    }
    Ok(())
}

fn lists_of(t: &Tables, actor: u64, out: &mut HashSet<u64>) -> Result<(), AppviewError> {
    for row in t
        .list_blocks
        .table()?
        .range((actor, "")..=(actor, RKEY_MAX))?
    {
        let (_, value) = row?;
        let block: ListBlockRow = rows::decode(value.value())?;
        out.insert(block.list.actor);
    }
    for row in t
        .list_mutes
        .table()?
        .range((actor, 0, "")..=(actor, u64::MAX, RKEY_MAX))?
    {
        let (key, _) = row?;
        out.insert(key.value().1);
    }
    for row in t.lists.table()?.range((actor, "")..=(actor, RKEY_MAX))? {
        let (key, value) = row?;
        let list: ListRow = rows::decode(value.value())?;
        if list.purpose != CURATE_LIST {
            continue;
        }
        let rkey = key.value().1;
        for item in t
            .list_members
            .table()?
            .range((actor, rkey, "")..=(actor, rkey, RKEY_MAX))?
            .take(MAX_LIST_MEMBERS)
        {
            out.insert(item?.1.value());
        }
    }
    Ok(())
}

/// Whether a post record replies to a post or quotes one.
fn cites_another_post(op: &PreparedOp) -> bool {
    let Some(value) = op
        .record
        .as_deref()
        .and_then(|bytes| crate::core::data::decode_value(bytes).ok())
    else {
        return false;
    };
    records::post(&value).is_some_and(|p| p.reply_parent.is_some() || p.embed_record.is_some())
}

/// What `actors` want, by reason (the actors themselves excluded), counting the `interactions`
/// newest of each kind.
fn wanted_by(t: &Tables, actors: &[String], interactions: usize) -> Result<Wanted, AppviewError> {
    let mut ids = WantedIds::default();
    let mut own = HashSet::new();
    for did in actors {
        let Some(actor) = read::actor_id(t, did)? else {
            continue;
        };
        own.insert(actor);
        follows_of(t, actor, &mut ids.follows)?;
        interactions_of(t, actor, interactions, &mut ids.interactions)?;
        lists_of(t, actor, &mut ids.lists)?;
    }
    let name = |set: HashSet<u64>| -> Result<HashSet<String>, AppviewError> {
        let mut out = HashSet::new();
        for id in set.difference(&own) {
            out.extend(read::did_of(t, *id)?);
        }
        Ok(out)
    };
    Ok(Wanted {
        follows: name(ids.follows)?,
        interactions: name(ids.interactions)?,
        lists: name(ids.lists)?,
    })
}

impl Appview {
    /// Changes each time what members want may have changed; its value means nothing.
    pub fn graph_changes(&self) -> tokio::sync::watch::Receiver<u64> {
        self.inner.graph_changes.subscribe()
    }

    pub(super) fn graph_changed(&self) {
        self.inner
            .graph_changes
            .send_modify(|n| *n = n.wrapping_add(1));
    }

    /// Tells the App View who the members are: their posts, likes, reposts and list blocks then
    /// signal [`Appview::graph_changes`].
    pub fn set_members(&self, members: &[String]) {
        *self
            .inner
            .members
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = members.iter().cloned().collect();
        let was_known = self
            .inner
            .members_known
            .swap(true, std::sync::atomic::Ordering::SeqCst);
        if !was_known {
            // Forgetting waits for the members (see `forget`): what was queued can start now.
            self.inner.forgets_wanted.notify_one();
        }
    }

    /// Whether [`Appview::set_members`] was called since start.
    pub(super) fn members_known(&self) -> bool {
        self.inner
            .members_known
            .load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Whether `did` is a member of the local PDS.
    pub(super) fn is_member(&self, did: &str) -> bool {
        self.inner
            .members
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .contains(did)
    }

    /// Whether a record `did` wrote in `collection` may change what members want.
    pub(super) fn changes_wanted(&self, did: &str, op: &PreparedOp) -> bool {
        match op.collection.as_str() {
            records::FOLLOW => true,
            // Only a reply or a quote names another account; a member's other posts change
            // nothing, and recomputing the set for each would cost every write.
            records::POST => self.is_member(did) && cites_another_post(op),
            records::LIKE | records::REPOST | records::LIST_BLOCK => self.is_member(did),
            _ => false,
        }
    }

    /// Every account one of `actors` needs carried, by reason (see the module doc), counting
    /// their `interactions` newest posts, likes and reposts.
    pub async fn wanted_by(
        &self,
        actors: Vec<String>,
        interactions: usize,
    ) -> Result<Wanted, AppviewError> {
        self.read_view(move |t| wanted_by(t, &actors, interactions))
            .await
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::{Wanted, wanted_by};
    use crate::appview::index::{Action, Index, RecordOp};
    use crate::appview::read::Tables;
    use crate::appview::tables;
    use crate::core::data;

    const MEMBER: &str = "did:plc:member";
    const FRIEND: &str = "did:plc:friend";
    const STRANGER: &str = "did:plc:stranger";
    const LIST_OWNER: &str = "did:plc:listowner";

    struct Db(redb::Database);

    impl Db {
        fn new() -> Db {
            let db = redb::Database::builder()
                .create_with_backend(redb::backends::InMemoryBackend::new())
                .unwrap();
            let txn = db.begin_write().unwrap();
            tables::create_all(&txn).unwrap();
            txn.commit().unwrap();
            Db(db)
        }

        fn apply(
            &self,
            did: &str,
            collection: &str,
            rkey: &str,
            record: Option<serde_json::Value>,
        ) {
            let txn = self.0.begin_write().unwrap();
            {
                let mut ix = Index::open(&txn, 1_700_000_000_000_000).unwrap();
                let bytes = record.map(|r| {
                    let mut r = r;
                    r["$type"] = json!(collection);
                    data::encode_value(&data::from_json(&r).unwrap()).unwrap()
                });
                ix.apply(&RecordOp {
                    did,
                    collection,
                    rkey,
                    action: if bytes.is_some() {
                        Action::Create
                    } else {
                        Action::Delete
                    },
                    cid: bytes.as_deref().map(data::cid_for_cbor),
                    record: bytes.as_deref(),
                })
                .unwrap();
            }
            txn.commit().unwrap();
        }

        fn wanted(&self) -> Wanted {
            let txn = redb::ReadableDatabase::begin_read(&self.0).unwrap();
            let t = Tables::new(&txn);
            wanted_by(&t, &[MEMBER.to_owned()], 1_000).unwrap()
        }
    }

    fn post_ref(did: &str, rkey: &str) -> serde_json::Value {
        let bytes = data::encode_value(&data::from_json(&json!({"text": rkey})).unwrap()).unwrap();
        json!({
            "uri": format!("at://{did}/app.bsky.feed.post/{rkey}"),
            "cid": data::cid_for_cbor(&bytes).to_string(),
        })
    }

    const NOW: &str = "2024-01-01T00:00:00Z";

    #[test]
    fn an_account_stays_wanted_while_any_reason_holds() {
        let db = Db::new();
        db.apply(
            FRIEND,
            "app.bsky.feed.post",
            "3kfriend2222a",
            Some(json!({"text": "hi", "createdAt": NOW})),
        );
        db.apply(
            MEMBER,
            "app.bsky.graph.follow",
            "3kfollow2222a",
            Some(json!({"subject": FRIEND, "createdAt": NOW})),
        );
        db.apply(
            MEMBER,
            "app.bsky.feed.like",
            "3klike22222aa",
            Some(json!({"subject": post_ref(FRIEND, "3kfriend2222a"), "createdAt": NOW})),
        );
        let wanted = db.wanted();
        assert!(wanted.follows.contains(FRIEND) && wanted.interactions.contains(FRIEND));

        // Unfollowed, still liked: still wanted, for the other reason.
        db.apply(MEMBER, "app.bsky.graph.follow", "3kfollow2222a", None);
        let wanted = db.wanted();
        assert!(wanted.follows.is_empty());
        assert!(wanted.all().contains(FRIEND));

        // The like goes too: nothing holds it any more.
        db.apply(MEMBER, "app.bsky.feed.like", "3klike22222aa", None);
        assert!(db.wanted().all().is_empty());
    }

    #[test]
    fn replies_quotes_reposts_and_subscribed_lists_are_reasons() {
        let db = Db::new();
        let root = post_ref(STRANGER, "3kroot22222aa");
        db.apply(
            MEMBER,
            "app.bsky.feed.post",
            "3kreply2222aa",
            Some(json!({
                "text": "an answer",
                "reply": {"root": root, "parent": post_ref(FRIEND, "3kparent2222a")},
                "createdAt": NOW,
            })),
        );
        db.apply(MEMBER, "app.bsky.feed.post", "3kquote2222aa", Some(json!({
            "text": "look",
            "embed": {"$type": "app.bsky.embed.record", "record": post_ref(STRANGER, "3kquoted2222a")},
            "createdAt": NOW,
        })));
        db.apply(
            MEMBER,
            "app.bsky.graph.listblock",
            "3klistblock2a",
            Some(json!({
                "subject": format!("at://{LIST_OWNER}/app.bsky.graph.list/3klist22222aa"),
                "createdAt": NOW,
            })),
        );
        let wanted = db.wanted();
        assert_eq!(
            wanted.interactions,
            [FRIEND, STRANGER].map(str::to_owned).into_iter().collect()
        );
        assert_eq!(wanted.lists, [LIST_OWNER.to_owned()].into_iter().collect());
        assert!(
            !wanted.all().contains(MEMBER),
            "a member's own account is not carried"
        );

        db.apply(MEMBER, "app.bsky.feed.post", "3kquote2222aa", None);
        db.apply(
            MEMBER,
            "app.bsky.feed.repost",
            "3krepost2222a",
            Some(json!({"subject": post_ref(STRANGER, "3kquoted2222a"), "createdAt": NOW})),
        );
        assert!(
            db.wanted().interactions.contains(STRANGER),
            "the repost keeps it"
        );
    }
}
