//! Indexing `app.bsky.feed.post`: the post row, the author's feed item, the global post list, the
//! reply and quote indexes, reply and quote counts, the search index's journal, and notifications.
//!
//! As the reference (`indexing/plugins/post.ts`): a reply whose root and parent disagree is marked
//! invalid; a reply the root's threadgate does not allow is marked and neither counted, shown in
//! the thread, nor notified; a quote a postgate forbids is marked and its embed shown detached.

use redb::ReadableTable;

use super::{Index, NewRecord, RKEY_MAX};
use crate::appview::kind::{Kind, NOTIF_POST};
use crate::appview::records::{self, GateRule, StrongRef};
use crate::appview::rows::{self, EmbedRow, PostRow, Reason, RecordRow, RefRow};
use crate::appview::search_index;
use crate::core::data;
use crate::store::StoreError;

impl Index<'_> {
    fn post_ref(&mut self, strong: &StrongRef) -> Result<Option<RefRow>, StoreError> {
        if strong.uri.collection != records::POST {
            return Ok(None);
        }
        Ok(Some(RefRow {
            actor: self.actor_id(&strong.uri.did)?,
            rkey: strong.uri.rkey.clone(),
        }))
    }

    pub fn post_row(&self, post: &RefRow) -> Result<Option<PostRow>, StoreError> {
        self.t
            .posts
            .table()?
            .get((post.actor, post.rkey.as_str()))?
            .map(|v| rows::decode(v.value()))
            .transpose()
    }

    /// Whether a reply's root and parent belong to one thread (reference `invalidReplyRoot`).
    fn invalid_reply(&self, root: &RefRow, parent: &RefRow) -> Result<bool, StoreError> {
        let Some(parent_row) = self.post_row(parent)? else {
            return Ok(false);
        };
        if parent_row.flags & rows::FLAG_INVALID_REPLY != 0 {
            return Ok(true);
        }
        if root == parent {
            return Ok(parent_row.reply_root.is_some());
        }
        Ok(parent_row.reply_root.as_ref() != Some(root))
    }

    /// Whether the root's threadgate forbids `replier` to reply (reference `violatesThreadGate`).
    fn violates_threadgate(&self, replier: u64, root: &RefRow) -> Result<bool, StoreError> {
        if replier == root.actor {
            return Ok(false);
        }
        let Some(gate) = self
            .t
            .threadgates
            .table()?
            .get((root.actor, root.rkey.as_str()))?
            .map(|v| rows::decode::<RecordRow>(v.value()))
            .transpose()?
        else {
            return Ok(false);
        };
        let Some(gate) = data::decode_value(&gate.record)
            .ok()
            .and_then(|v| records::threadgate(&v))
        else {
            return Ok(false);
        };
        let Some(rules) = gate.allow else {
            return Ok(false);
        };
        for rule in rules {
            let allowed = match rule {
                GateRule::Mention => {
                    let replier_did = self.did_of(replier)?;
                    self.post_row(root)?
                        .and_then(|r| data::decode_value(&r.record).ok())
                        .and_then(|v| records::post(&v))
                        .is_some_and(|p| replier_did.is_some_and(|d| p.mentions.contains(&d)))
                }
                GateRule::Follower => self
                    .t
                    .follow_edge
                    .table()?
                    .get((replier, root.actor))?
                    .is_some(),
                GateRule::Following => self
                    .t
                    .follow_edge
                    .table()?
                    .get((root.actor, replier))?
                    .is_some(),
                GateRule::List(list) => match self.existing_actor_id(&list.did)? {
                    Some(owner) => self
                        .t
                        .list_membership
                        .table()?
                        .get((owner, list.rkey.as_str(), replier))?
                        .is_some(),
                    None => false,
                },
            };
            if allowed {
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// Whether the quoted post's postgate forbids `quoter` to embed it.
    fn violates_embedding(&self, quoter: u64, quoted: &RefRow) -> Result<bool, StoreError> {
        if quoter == quoted.actor {
            return Ok(false);
        }
        let Some(gate) = self
            .t
            .postgates
            .table()?
            .get((quoted.actor, quoted.rkey.as_str()))?
            .map(|v| rows::decode::<RecordRow>(v.value()))
            .transpose()?
        else {
            return Ok(false);
        };
        Ok(data::decode_value(&gate.record)
            .ok()
            .and_then(|v| records::postgate(&v))
            .is_some_and(|g| g.embedding_disabled))
    }

    #[allow(
        clippy::too_many_lines,
        reason = "one post's index rows and counters, kept together so they change together"
    )]
    pub(super) fn insert_post(&mut self, new: &NewRecord<'_>) -> Result<(), StoreError> {
        let Some(post) = records::post(new.value) else {
            return Ok(());
        };
        let sort_at = self.sort_at(post.created_at);
        let me = RefRow {
            actor: new.actor,
            rkey: new.rkey.to_owned(),
        };
        let mut flags = 0u8;
        if post.media.images {
            flags |= rows::FLAG_IMAGES;
        }
        if post.media.video {
            flags |= rows::FLAG_VIDEO;
        }
        if post.media.external {
            flags |= rows::FLAG_EXTERNAL;
        }
        let (mut reply_root, mut reply_parent) = (None, None);
        if let (Some(root), Some(parent)) = (&post.reply_root, &post.reply_parent) {
            match (self.post_ref(root)?, self.post_ref(parent)?) {
                (Some(root), Some(parent)) => {
                    flags |= rows::FLAG_REPLY;
                    if root.actor == new.actor {
                        flags |= rows::FLAG_SELF_THREAD;
                    }
                    if self.invalid_reply(&root, &parent)? {
                        flags |= rows::FLAG_INVALID_REPLY;
                    }
                    if self.violates_threadgate(new.actor, &root)? {
                        flags |= rows::FLAG_VIOLATES_THREADGATE;
                    }
                    reply_root = Some(root);
                    reply_parent = Some(parent);
                }
                _ => flags |= rows::FLAG_REPLY | rows::FLAG_INVALID_REPLY,
            }
        }
        let mut embed = None;
        if let Some(target) = &post.embed_record {
            let target_row = RefRow {
                actor: self.actor_id(&target.uri.did)?,
                rkey: target.uri.rkey.clone(),
            };
            if target.uri.collection == records::POST
                && self.violates_embedding(new.actor, &target_row)?
            {
                flags |= rows::FLAG_VIOLATES_EMBEDDING;
            }
            embed = Some(EmbedRow {
                collection: target.uri.collection.clone(),
                target: target_row,
            });
        }
        let violates_gate = flags & rows::FLAG_VIOLATES_THREADGATE != 0;

        // Indexes.
        self.t.feed_items.table_mut()?.insert(
            (new.actor, sort_at, rows::ITEM_POST, new.rkey),
            rows::feed_item_value(flags, None).as_slice(),
        )?;
        if let Some(parent) = &reply_parent {
            if !violates_gate {
                self.t.replies.table_mut()?.insert(
                    (
                        parent.actor,
                        parent.rkey.as_str(),
                        sort_at,
                        new.actor,
                        new.rkey,
                    ),
                    (),
                )?;
                self.add_subject_count(
                    Kind::Post.byte(),
                    parent.actor,
                    &parent.rkey,
                    rows::REPLIES,
                    1,
                )?;
            }
        } else {
            self.t
                .all_posts
                .table_mut()?
                .insert((sort_at, new.actor, new.rkey), ())?;
        }
        if let Some(embed) = &embed
            && embed.collection == records::POST
        {
            let q = &embed.target;
            self.t
                .quotes
                .table_mut()?
                .insert((q.actor, q.rkey.as_str(), sort_at, new.actor, new.rkey), ())?;
            self.add_subject_count(Kind::Post.byte(), q.actor, &q.rkey, rows::QUOTES, 1)?;
        }
        search_index::journal(&mut self.t, new.actor, new.rkey, true)?;
        self.add_actor_count(new.actor, rows::POSTS, 1)?;

        // Notifications, as the reference orders them: mentions, then the quoted author, then the
        // authors replied to; each account once, never the author.
        let mut notices: Vec<(u64, Reason, Option<String>)> = Vec::new();
        let mut notify = |recipient: u64, reason: Reason, subject: Option<String>| {
            if recipient != new.actor && !notices.iter().any(|(r, _, _)| *r == recipient) {
                notices.push((recipient, reason, subject));
            }
        };
        let mut mention_ids = Vec::new();
        for did in &post.mentions {
            mention_ids.push(self.actor_id(did)?);
        }
        for id in mention_ids {
            notify(id, Reason::Mention, None);
        }
        if flags & rows::FLAG_VIOLATES_EMBEDDING == 0
            && let (Some(embed), Some(target)) = (&embed, &post.embed_record)
            && embed.collection == records::POST
        {
            notify(embed.target.actor, Reason::Quote, Some(target.uri.uri()));
        }
        if !violates_gate
            && let (Some(parent), Some(root)) = (&reply_parent, &reply_root)
            && let (Some(parent_ref), Some(root_ref)) = (&post.reply_parent, &post.reply_root)
        {
            notify(parent.actor, Reason::Reply, Some(parent_ref.uri.uri()));
            notify(root.actor, Reason::Reply, Some(root_ref.uri.uri()));
        }
        let mut notified = Vec::new();
        for (recipient, reason, subject) in notices {
            self.notify(
                recipient,
                sort_at,
                new.actor,
                NOTIF_POST,
                new.rkey,
                reason,
                subject,
                new.cid,
                &[],
            )?;
            notified.push(recipient);
        }

        let row = PostRow {
            cid: new.cid,
            record: new.bytes.to_vec(),
            sort_at,
            reply_root,
            reply_parent,
            embed,
            flags,
            notified,
        };
        self.t
            .posts
            .table_mut()?
            .insert((me.actor, me.rkey.as_str()), rows::encode(&row)?.as_slice())?;
        Ok(())
    }

    /// Removes a post's index entries; `deleting` also drops its own counters.
    pub(super) fn remove_post(
        &mut self,
        actor: u64,
        rkey: &str,
        deleting: bool,
    ) -> Result<(), StoreError> {
        // Whatever comes now (the stream's copy, a deletion) replaces a post fetched on demand.
        let fetched_at = self
            .t
            .fetched_posts
            .table_mut()?
            .remove((actor, rkey))?
            .map(|v| v.value());
        if let Some(at) = fetched_at {
            self.t
                .fetched_order
                .table_mut()?
                .remove((at, actor, rkey))?;
        }
        let Some(row) = self.post_row(&RefRow {
            actor,
            rkey: rkey.to_owned(),
        })?
        else {
            return Ok(());
        };
        let sort_at = row.sort_at;
        self.t
            .feed_items
            .table_mut()?
            .remove((actor, sort_at, rows::ITEM_POST, rkey))?;
        match &row.reply_parent {
            Some(parent) => {
                if row.flags & rows::FLAG_VIOLATES_THREADGATE == 0 {
                    self.t.replies.table_mut()?.remove((
                        parent.actor,
                        parent.rkey.as_str(),
                        sort_at,
                        actor,
                        rkey,
                    ))?;
                    self.add_subject_count(
                        Kind::Post.byte(),
                        parent.actor,
                        &parent.rkey,
                        rows::REPLIES,
                        -1,
                    )?;
                }
            }
            None => {
                self.t
                    .all_posts
                    .table_mut()?
                    .remove((sort_at, actor, rkey))?;
            }
        }
        if let Some(embed) = &row.embed
            && embed.collection == records::POST
        {
            let q = &embed.target;
            self.t
                .quotes
                .table_mut()?
                .remove((q.actor, q.rkey.as_str(), sort_at, actor, rkey))?;
            self.add_subject_count(Kind::Post.byte(), q.actor, &q.rkey, rows::QUOTES, -1)?;
        }
        search_index::journal(&mut self.t, actor, rkey, false)?;
        for recipient in &row.notified {
            self.t
                .notifications
                .table_mut()?
                .remove((*recipient, sort_at, actor, NOTIF_POST, rkey))?;
        }
        self.add_actor_count(actor, rows::POSTS, -1)?;
        if deleting {
            self.t
                .counts
                .table_mut()?
                .remove((Kind::Post.byte(), actor, rkey))?;
        }
        self.t.posts.table_mut()?.remove((actor, rkey))?;
        Ok(())
    }

    /// Every post rkey of an actor (for purges and backfill).
    pub(super) fn post_rkeys(&self, actor: u64) -> Result<Vec<String>, StoreError> {
        let mut out = Vec::new();
        for row in self
            .t
            .posts
            .table()?
            .range((actor, "")..=(actor, RKEY_MAX))?
        {
            let (k, _) = row?;
            out.push(k.value().1.to_owned());
        }
        Ok(out)
    }
}
