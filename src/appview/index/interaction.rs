//! Indexing `app.bsky.feed.like` and `app.bsky.feed.repost`: the record row, the subject's list
//! of likers or reposters, the viewer lookup (`like`/`repost` in viewer state), the counters, the
//! repost's feed item, and the notification to the subject's author.

use redb::ReadableTable;

use super::{Index, NewRecord};
use crate::appview::kind::{Kind, NOTIF_LIKE, NOTIF_REPOST};
use crate::appview::records;
use crate::appview::rows::{self, InteractionRow, Reason, RefRow};
use crate::store::StoreError;

impl Index<'_> {
    pub(super) fn insert_like(&mut self, new: &NewRecord<'_>) -> Result<(), StoreError> {
        let Some(like) = records::interaction(new.value) else {
            return Ok(());
        };
        let Some(kind) = Kind::from_collection(&like.subject.uri.collection) else {
            return Ok(());
        };
        let subject = RefRow {
            actor: self.actor_id(&like.subject.uri.did)?,
            rkey: like.subject.uri.rkey.clone(),
        };
        let sort_at = self.sort_at(like.created_at);
        let row = InteractionRow {
            kind: kind.byte(),
            subject: subject.clone(),
            cid: new.cid,
            sort_at,
        };
        let s = (kind.byte(), subject.actor, subject.rkey.as_str());
        self.t
            .likes_by_subject
            .table_mut()?
            .insert((s.0, s.1, s.2, sort_at, new.actor), new.rkey)?;
        self.t
            .like_of
            .table_mut()?
            .insert((s.0, s.1, s.2, new.actor), new.rkey)?;
        self.add_subject_count(s.0, s.1, s.2, rows::LIKES, 1)?;
        if subject.actor != new.actor {
            self.notify(
                subject.actor,
                sort_at,
                new.actor,
                NOTIF_LIKE,
                new.rkey,
                Reason::Like,
                Some(like.subject.uri.uri()),
                new.cid,
                new.bytes,
            )?;
        }
        self.t
            .likes
            .table_mut()?
            .insert((new.actor, new.rkey), rows::encode(&row)?.as_slice())?;
        Ok(())
    }

    pub(super) fn like_row(
        &self,
        actor: u64,
        rkey: &str,
    ) -> Result<Option<InteractionRow>, StoreError> {
        self.t
            .likes
            .table()?
            .get((actor, rkey))?
            .map(|v| rows::decode(v.value()))
            .transpose()
    }

    pub(super) fn remove_like(&mut self, actor: u64, rkey: &str) -> Result<(), StoreError> {
        let Some(row) = self.like_row(actor, rkey)? else {
            return Ok(());
        };
        let s = (row.kind, row.subject.actor, row.subject.rkey.as_str());
        self.t
            .likes_by_subject
            .table_mut()?
            .remove((s.0, s.1, s.2, row.sort_at, actor))?;
        // Another like of the same subject by the same actor may remain; keep the lookup if so.
        let points_here = self
            .t
            .like_of
            .table()?
            .get((s.0, s.1, s.2, actor))?
            .is_some_and(|v| v.value() == rkey);
        if points_here {
            self.t.like_of.table_mut()?.remove((s.0, s.1, s.2, actor))?;
        }
        self.add_subject_count(s.0, s.1, s.2, rows::LIKES, -1)?;
        self.unnotify(row.subject.actor, row.sort_at, actor, NOTIF_LIKE, rkey)?;
        self.t.likes.table_mut()?.remove((actor, rkey))?;
        Ok(())
    }

    pub(super) fn insert_repost(&mut self, new: &NewRecord<'_>) -> Result<(), StoreError> {
        let Some(repost) = records::interaction(new.value) else {
            return Ok(());
        };
        if repost.subject.uri.collection != records::POST {
            return Ok(());
        }
        let subject = RefRow {
            actor: self.actor_id(&repost.subject.uri.did)?,
            rkey: repost.subject.uri.rkey.clone(),
        };
        let sort_at = self.sort_at(repost.created_at);
        let row = InteractionRow {
            kind: Kind::Post.byte(),
            subject: subject.clone(),
            cid: new.cid,
            sort_at,
        };
        let s = (subject.actor, subject.rkey.as_str());
        self.t
            .reposts_by_subject
            .table_mut()?
            .insert((s.0, s.1, sort_at, new.actor), new.rkey)?;
        self.t
            .repost_of
            .table_mut()?
            .insert((s.0, s.1, new.actor), new.rkey)?;
        self.add_subject_count(Kind::Post.byte(), s.0, s.1, rows::REPOSTS, 1)?;
        self.t.feed_items.table_mut()?.insert(
            (new.actor, sort_at, rows::ITEM_REPOST, new.rkey),
            rows::feed_item_value(0, Some(&subject)).as_slice(),
        )?;
        if subject.actor != new.actor {
            self.notify(
                subject.actor,
                sort_at,
                new.actor,
                NOTIF_REPOST,
                new.rkey,
                Reason::Repost,
                Some(repost.subject.uri.uri()),
                new.cid,
                new.bytes,
            )?;
        }
        self.t
            .reposts
            .table_mut()?
            .insert((new.actor, new.rkey), rows::encode(&row)?.as_slice())?;
        Ok(())
    }

    pub(super) fn remove_repost(&mut self, actor: u64, rkey: &str) -> Result<(), StoreError> {
        let Some(row) = self
            .t
            .reposts
            .table()?
            .get((actor, rkey))?
            .map(|v| rows::decode::<InteractionRow>(v.value()))
            .transpose()?
        else {
            return Ok(());
        };
        let s = (row.subject.actor, row.subject.rkey.as_str());
        self.t
            .reposts_by_subject
            .table_mut()?
            .remove((s.0, s.1, row.sort_at, actor))?;
        let points_here = self
            .t
            .repost_of
            .table()?
            .get((s.0, s.1, actor))?
            .is_some_and(|v| v.value() == rkey);
        if points_here {
            self.t.repost_of.table_mut()?.remove((s.0, s.1, actor))?;
        }
        self.add_subject_count(Kind::Post.byte(), s.0, s.1, rows::REPOSTS, -1)?;
        self.t
            .feed_items
            .table_mut()?
            .remove((actor, row.sort_at, rows::ITEM_REPOST, rkey))?;
        self.unnotify(row.subject.actor, row.sort_at, actor, NOTIF_REPOST, rkey)?;
        self.t.reposts.table_mut()?.remove((actor, rkey))?;
        Ok(())
    }
}
