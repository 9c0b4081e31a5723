//! Forgetting an account no member needs any more (it left the relay's carried set): its indexed
//! records go, a bounded number per write job, except what the members' own views still show.
//!
//! Kept, because a member's notifications, threads, likes and follower lists render them:
//! - its posts a member liked, reposted, replied to or quoted, and its posts that answer, quote,
//!   mention or sit in a member's thread (a member was notified of them, or the reply parent or
//!   root is a member's post);
//! - the thread and post gates of those posts (they decide who may answer them);
//! - its likes and reposts of members' posts, its follows and blocks of members (notifications,
//!   counts, and the blocks that must keep hiding it from them);
//! - the account's own row (handle, profile): every kept record renders with its author.
//!
//! Everything else it wrote (other posts, likes, reposts, follows, lists, feeds, starter packs)
//! is removed through the same [`Index::remove`] path as a deletion from its repo, so counters and
//! backlinks stay consistent, and so are the notifications stored for it as a recipient.
//!
//! Spec: none prescribes it; the carried set is skyhold's (docs/BEHAVIORS.md, carried set).

use std::collections::HashSet;

use redb::ReadableTable;

use super::{Index, RKEY_MAX};
use crate::appview::kind::Kind;
use crate::appview::records;
use crate::appview::rows::{self, EdgeRow, InteractionRow, PostRow};
use crate::store::StoreError;

/// The collections forgotten, in order: posts before their gates, which follow them.
const PHASES: &[&str] = &[
    records::POST,
    records::THREADGATE,
    records::POSTGATE,
    records::LIKE,
    records::REPOST,
    records::FOLLOW,
    records::BLOCK,
    records::LIST_ITEM,
    records::LIST,
    records::LIST_BLOCK,
    records::GENERATOR,
    records::STARTER_PACK,
];

/// Where forgetting an account stopped: the phase, and the last rkey looked at in it. Stored, so
/// a restart (or `kill -9`) continues from there.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ForgetProgress {
    phase: usize,
    after: String,
}

impl ForgetProgress {
    pub fn encode(&self) -> Vec<u8> {
        let mut out = vec![u8::try_from(self.phase).unwrap_or(u8::MAX)];
        out.extend_from_slice(self.after.as_bytes());
        out
    }

    /// A row that does not decode starts over (forgetting is idempotent).
    pub fn decode(bytes: &[u8]) -> ForgetProgress {
        match bytes.split_first() {
            Some((phase, after)) => ForgetProgress {
                phase: usize::from(*phase),
                after: String::from_utf8(after.to_vec()).unwrap_or_default(),
            },
            None => ForgetProgress::default(),
        }
    }
}

/// What one step did.
#[derive(Debug, PartialEq, Eq)]
pub struct ForgetStep {
    /// Records removed.
    pub removed: usize,
    /// Where the next step starts; `None` once the account is forgotten.
    pub next: Option<ForgetProgress>,
}

impl Index<'_> {
    /// Forgets up to `budget` records of `actor` (records looked at and kept count too, so a step
    /// is bounded either way), from where `progress` stopped. `members` are the local members'
    /// actor ids.
    pub fn forget_some(
        &mut self,
        actor: u64,
        members: &HashSet<u64>,
        progress: ForgetProgress,
        budget: usize,
    ) -> Result<ForgetStep, StoreError> {
        let mut progress = progress;
        let mut removed = 0;
        let mut looked = 0;
        while let Some(collection) = PHASES.get(progress.phase).copied() {
            let rows = self.rows_after(collection, actor, &progress.after, budget - looked)?;
            let exhausted = rows.len() < budget - looked;
            for (rkey, value) in &rows {
                looked += 1;
                if !self.keeps(collection, actor, rkey, value, members)? {
                    self.remove(actor, collection, rkey, true)?;
                    removed += 1;
                }
            }
            if let Some((last, _)) = rows.last() {
                progress.after.clone_from(last);
            }
            if !exhausted {
                return Ok(ForgetStep {
                    removed,
                    next: Some(progress),
                });
            }
            progress.phase += 1;
            progress.after.clear();
        }
        self.remove_notifications_of(actor)?;
        if let Some(did) = self.did_of(actor)? {
            // A backfill queued before it left would index it again.
            self.t.pending_backfills.table_mut()?.remove(did.as_str())?;
        }
        Ok(ForgetStep {
            removed,
            next: None,
        })
    }

    /// Up to `limit` (rkey, row) of `actor` in `collection`'s record table after `after`.
    fn rows_after(
        &self,
        collection: &str,
        actor: u64,
        after: &str,
        limit: usize,
    ) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
        let table = match collection {
            records::POST => self.t.posts.table()?,
            records::THREADGATE => self.t.threadgates.table()?,
            records::POSTGATE => self.t.postgates.table()?,
            records::LIKE => self.t.likes.table()?,
            records::REPOST => self.t.reposts.table()?,
            records::FOLLOW => self.t.follows.table()?,
            records::BLOCK => self.t.blocks.table()?,
            records::LIST_ITEM => self.t.list_items.table()?,
            records::LIST => self.t.lists.table()?,
            records::LIST_BLOCK => self.t.list_blocks.table()?,
            records::GENERATOR => self.t.generators.table()?,
            records::STARTER_PACK => self.t.starter_packs.table()?,
            _ => return Ok(Vec::new()),
        };
        let start = (
            std::ops::Bound::Excluded((actor, after)),
            std::ops::Bound::Included((actor, RKEY_MAX)),
        );
        let mut out = Vec::new();
        for row in table.range::<(u64, &str)>(start)?.take(limit) {
            let (key, value) = row?;
            out.push((key.value().1.to_owned(), value.value().to_vec()));
        }
        Ok(out)
    }

    /// Whether a record of a forgotten account stays (see the module doc).
    fn keeps(
        &self,
        collection: &str,
        actor: u64,
        rkey: &str,
        value: &[u8],
        members: &HashSet<u64>,
    ) -> Result<bool, StoreError> {
        match collection {
            records::POST => {
                let post: PostRow = rows::decode(value)?;
                let cites_member = [post.reply_parent.as_ref(), post.reply_root.as_ref()]
                    .into_iter()
                    .flatten()
                    .chain(post.embed.as_ref().map(|e| &e.target))
                    .any(|r| members.contains(&r.actor));
                // A mention (or any reply or quote) a member was notified of.
                let notified_member = post.notified.iter().any(|m| members.contains(m));
                Ok(cites_member
                    || notified_member
                    || self.members_interacted(actor, rkey, members)?)
            }
            records::THREADGATE | records::POSTGATE => {
                Ok(self.t.posts.table()?.get((actor, rkey))?.is_some())
            }
            records::LIKE | records::REPOST => {
                let interaction: InteractionRow = rows::decode(value)?;
                Ok(members.contains(&interaction.subject.actor))
            }
            records::FOLLOW | records::BLOCK => {
                let edge: EdgeRow = rows::decode(value)?;
                Ok(members.contains(&edge.subject))
            }
            _ => Ok(false),
        }
    }

    /// Whether a member liked, reposted, answered or quoted the post (`author`, `rkey`).
    fn members_interacted(
        &self,
        author: u64,
        rkey: &str,
        members: &HashSet<u64>,
    ) -> Result<bool, StoreError> {
        let post = Kind::Post.byte();
        for row in self
            .t
            .likes_by_subject
            .table()?
            .range((post, author, rkey, 0, 0)..=(post, author, rkey, u64::MAX, u64::MAX))?
        {
            if members.contains(&row?.0.value().4) {
                return Ok(true);
            }
        }
        for row in self
            .t
            .reposts_by_subject
            .table()?
            .range((author, rkey, 0, 0)..=(author, rkey, u64::MAX, u64::MAX))?
        {
            if members.contains(&row?.0.value().3) {
                return Ok(true);
            }
        }
        for table in [self.t.replies.table()?, self.t.quotes.table()?] {
            for row in table
                .range((author, rkey, 0, 0, "")..=(author, rkey, u64::MAX, u64::MAX, RKEY_MAX))?
            {
                if members.contains(&row?.0.value().3) {
                    return Ok(true);
                }
            }
        }
        Ok(false)
    }

    /// Removes the notifications stored for `actor` as a recipient (nobody on this node reads
    /// them any more: the account was forgotten or deleted).
    pub(super) fn remove_notifications_of(&mut self, actor: u64) -> Result<(), StoreError> {
        let keys: Vec<(u64, u64, u8, String)> = self
            .t
            .notifications
            .table()?
            .range((actor, 0, 0, 0, "")..=(actor, u64::MAX, u64::MAX, u8::MAX, RKEY_MAX))?
            .map(|r| {
                r.map(|(k, _)| {
                    let k = k.value();
                    (k.1, k.2, k.3, k.4.to_owned())
                })
            })
            .collect::<Result<_, _>>()?;
        for (sort_at, author, code, rkey) in keys {
            self.t.notifications.table_mut()?.remove((
                actor,
                sort_at,
                author,
                code,
                rkey.as_str(),
            ))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use redb::ReadableTable;
    use serde_json::json;

    use super::ForgetProgress;
    use crate::appview::index::{Action, Index, RecordOp};
    use crate::appview::tables;
    use crate::core::data;

    const MEMBER: &str = "did:plc:member";
    const GONE: &str = "did:plc:gone";
    const OTHER: &str = "did:plc:other";
    const NOW: &str = "2024-01-01T00:00:00Z";

    fn db() -> redb::Database {
        let db = redb::Database::builder()
            .create_with_backend(redb::backends::InMemoryBackend::new())
            .unwrap();
        let txn = db.begin_write().unwrap();
        tables::create_all(&txn).unwrap();
        txn.commit().unwrap();
        db
    }

    fn encode(collection: &str, record: &serde_json::Value) -> Vec<u8> {
        let mut record = record.clone();
        record["$type"] = json!(collection);
        data::encode_value(&data::from_json(&record).unwrap()).unwrap()
    }

    fn apply(
        db: &redb::Database,
        did: &str,
        collection: &str,
        rkey: &str,
        record: serde_json::Value,
    ) {
        let bytes = encode(collection, &record);
        let txn = db.begin_write().unwrap();
        {
            let mut ix = Index::open(&txn, 1_700_000_000_000_000).unwrap();
            ix.apply(&RecordOp {
                did,
                collection,
                rkey,
                action: Action::Create,
                cid: Some(data::cid_for_cbor(&bytes)),
                record: Some(&bytes),
            })
            .unwrap();
        }
        txn.commit().unwrap();
    }

    fn post(db: &redb::Database, did: &str, rkey: &str, extra: serde_json::Value) {
        let mut record = json!({"text": rkey, "createdAt": NOW});
        if let serde_json::Value::Object(fields) = extra {
            for (k, v) in fields {
                record[k] = v;
            }
        }
        apply(db, did, "app.bsky.feed.post", rkey, record);
    }

    fn post_ref(did: &str, rkey: &str) -> serde_json::Value {
        let bytes = encode(
            "app.bsky.feed.post",
            &json!({"text": rkey, "createdAt": NOW}),
        );
        json!({
            "uri": format!("at://{did}/app.bsky.feed.post/{rkey}"),
            "cid": data::cid_for_cbor(&bytes).to_string(),
        })
    }

    /// (collection table name, rkey) of what `did` still has indexed.
    fn indexed(db: &redb::Database, did: &str) -> Vec<(&'static str, String)> {
        let txn = db.begin_write().unwrap();
        let ix = Index::open(&txn, 0).unwrap();
        let actor = ix.existing_actor_id(did).unwrap().unwrap();
        let mut out = ix.indexed_records(actor).unwrap();
        out.sort();
        out
    }

    #[test]
    fn what_members_interacted_with_stays_and_the_rest_goes_in_bounded_steps() {
        let db = db();
        post(&db, MEMBER, "3kmember2222a", json!({}));
        post(&db, OTHER, "3kother22222a", json!({}));
        for rkey in [
            "3kliked22222a",
            "3kplain22222a",
            "3kplain22222b",
            "3kquoted2222a",
        ] {
            post(&db, GONE, rkey, json!({}));
        }
        let member_post = post_ref(MEMBER, "3kmember2222a");
        post(
            &db,
            GONE,
            "3kanswer2222a",
            json!({"reply": {"root": member_post, "parent": member_post}}),
        );
        post(&db, GONE, "3kthreadgt22a", json!({}));
        let mention = json!({
            "index": {"byteStart": 0, "byteEnd": 4},
            "features": [{"$type": "app.bsky.richtext.facet#mention", "did": MEMBER}],
        });
        post(&db, GONE, "3kmention222a", json!({"facets": [mention]}));
        apply(
            &db,
            GONE,
            "app.bsky.feed.threadgate",
            "3kliked22222a",
            json!({"post": "at://did:plc:gone/app.bsky.feed.post/3kliked22222a", "createdAt": NOW}),
        );
        apply(
            &db,
            GONE,
            "app.bsky.feed.threadgate",
            "3kplain22222a",
            json!({"post": "at://did:plc:gone/app.bsky.feed.post/3kplain22222a", "createdAt": NOW}),
        );
        apply(
            &db,
            GONE,
            "app.bsky.feed.like",
            "3klikemember2",
            json!({"subject": member_post, "createdAt": NOW}),
        );
        apply(
            &db,
            GONE,
            "app.bsky.feed.like",
            "3klikeother22",
            json!({"subject": post_ref(OTHER, "3kother22222a"), "createdAt": NOW}),
        );
        apply(
            &db,
            GONE,
            "app.bsky.graph.follow",
            "3kfollowmemb2",
            json!({"subject": MEMBER, "createdAt": NOW}),
        );
        apply(
            &db,
            GONE,
            "app.bsky.graph.follow",
            "3kfollowother",
            json!({"subject": OTHER, "createdAt": NOW}),
        );
        apply(
            &db,
            GONE,
            "app.bsky.actor.profile",
            "self",
            json!({"displayName": "Gone"}),
        );
        // The member's interactions.
        apply(
            &db,
            MEMBER,
            "app.bsky.feed.like",
            "3kmylike2222a",
            json!({"subject": post_ref(GONE, "3kliked22222a"), "createdAt": NOW}),
        );
        post(
            &db,
            MEMBER,
            "3kmyquote222a",
            json!({"embed": {"$type": "app.bsky.embed.record", "record": post_ref(GONE, "3kquoted2222a")}}),
        );

        let txn = db.begin_write().unwrap();
        let mut ix = Index::open(&txn, 1_700_000_000_000_000).unwrap();
        let gone = ix.existing_actor_id(GONE).unwrap().unwrap();
        let members: HashSet<u64> = [ix.existing_actor_id(MEMBER).unwrap().unwrap()].into();
        let mut progress = ForgetProgress::default();
        let (mut steps, mut removed) = (0, 0);
        loop {
            let step = ix.forget_some(gone, &members, progress, 3).unwrap();
            steps += 1;
            removed += step.removed;
            // Where it stopped survives a restart.
            match step.next {
                Some(next) => progress = ForgetProgress::decode(&next.encode()),
                None => break,
            }
            assert!(steps < 20, "forgetting ends");
        }
        assert!(steps >= 5, "14 records, 3 a step: {steps}");
        assert_eq!(removed, 6);
        let member_likes =
            ix.t.likes_by_subject
                .table()
                .unwrap()
                .iter()
                .unwrap()
                .count();
        drop(ix);
        txn.commit().unwrap();

        assert_eq!(
            indexed(&db, GONE),
            [
                ("app.bsky.actor.profile", "self".to_owned()),
                ("app.bsky.feed.like", "3klikemember2".to_owned()),
                ("app.bsky.feed.post", "3kanswer2222a".to_owned()),
                ("app.bsky.feed.post", "3kliked22222a".to_owned()),
                ("app.bsky.feed.post", "3kmention222a".to_owned()),
                ("app.bsky.feed.post", "3kquoted2222a".to_owned()),
                ("app.bsky.feed.threadgate", "3kliked22222a".to_owned()),
                ("app.bsky.graph.follow", "3kfollowmemb2".to_owned()),
            ]
        );
        // Its like of the other account's post went with its counters; the member's stays.
        assert_eq!(member_likes, 2);
        assert_eq!(indexed(&db, OTHER).len(), 1);
    }
}
