//! Indexing the social graph: follows (both directions, counters, the follow notification),
//! blocks (both directions), lists, list items (only the list owner's items count, as only the
//! owner may edit a list), list blocks, and starter packs.

use redb::ReadableTable;

use super::{Index, NewRecord};
use crate::appview::kind::{Kind, NOTIF_FOLLOW};
use crate::appview::records;
use crate::appview::rows::{
    self, EdgeRow, ListBlockRow, ListItemRow, ListRow, Reason, RefRow, StarterPackRow,
};
use crate::store::StoreError;

impl Index<'_> {
    pub(super) fn insert_follow(&mut self, new: &NewRecord<'_>) -> Result<(), StoreError> {
        let Some(edge) = records::edge(new.value) else {
            return Ok(());
        };
        let subject = self.actor_id(&edge.subject)?;
        let sort_at = self.sort_at(edge.created_at);
        let row = EdgeRow {
            subject,
            cid: new.cid,
            sort_at,
        };
        self.t
            .following
            .table_mut()?
            .insert((new.actor, sort_at, subject), new.rkey)?;
        self.t
            .followers
            .table_mut()?
            .insert((subject, sort_at, new.actor), new.rkey)?;
        self.t
            .follow_edge
            .table_mut()?
            .insert((new.actor, subject), new.rkey)?;
        self.add_actor_count(new.actor, rows::FOLLOWS, 1)?;
        self.add_actor_count(subject, rows::FOLLOWERS, 1)?;
        if subject != new.actor {
            self.notify(
                subject,
                sort_at,
                new.actor,
                NOTIF_FOLLOW,
                new.rkey,
                Reason::Follow,
                None,
                new.cid,
                new.bytes,
            )?;
        }
        self.t
            .follows
            .table_mut()?
            .insert((new.actor, new.rkey), rows::encode(&row)?.as_slice())?;
        Ok(())
    }

    fn edge_row(
        &self,
        follows: bool,
        actor: u64,
        rkey: &str,
    ) -> Result<Option<EdgeRow>, StoreError> {
        let value = if follows {
            self.t
                .follows
                .table()?
                .get((actor, rkey))?
                .map(|v| v.value().to_vec())
        } else {
            self.t
                .blocks
                .table()?
                .get((actor, rkey))?
                .map(|v| v.value().to_vec())
        };
        value.map(|v| rows::decode(&v)).transpose()
    }

    pub(super) fn remove_follow(&mut self, actor: u64, rkey: &str) -> Result<(), StoreError> {
        let Some(row) = self.edge_row(true, actor, rkey)? else {
            return Ok(());
        };
        self.t
            .following
            .table_mut()?
            .remove((actor, row.sort_at, row.subject))?;
        self.t
            .followers
            .table_mut()?
            .remove((row.subject, row.sort_at, actor))?;
        let points_here = self
            .t
            .follow_edge
            .table()?
            .get((actor, row.subject))?
            .is_some_and(|v| v.value() == rkey);
        if points_here {
            self.t
                .follow_edge
                .table_mut()?
                .remove((actor, row.subject))?;
        }
        self.add_actor_count(actor, rows::FOLLOWS, -1)?;
        self.add_actor_count(row.subject, rows::FOLLOWERS, -1)?;
        self.unnotify(row.subject, row.sort_at, actor, NOTIF_FOLLOW, rkey)?;
        self.t.follows.table_mut()?.remove((actor, rkey))?;
        Ok(())
    }

    pub(super) fn insert_block(&mut self, new: &NewRecord<'_>) -> Result<(), StoreError> {
        let Some(edge) = records::edge(new.value) else {
            return Ok(());
        };
        let subject = self.actor_id(&edge.subject)?;
        let row = EdgeRow {
            subject,
            cid: new.cid,
            sort_at: self.sort_at(edge.created_at),
        };
        self.t
            .block_edge
            .table_mut()?
            .insert((new.actor, subject), new.rkey)?;
        self.t
            .blocked_by
            .table_mut()?
            .insert((subject, new.actor), new.rkey)?;
        self.t
            .blocks
            .table_mut()?
            .insert((new.actor, new.rkey), rows::encode(&row)?.as_slice())?;
        Ok(())
    }

    pub(super) fn remove_block(&mut self, actor: u64, rkey: &str) -> Result<(), StoreError> {
        let Some(row) = self.edge_row(false, actor, rkey)? else {
            return Ok(());
        };
        let points_here = self
            .t
            .block_edge
            .table()?
            .get((actor, row.subject))?
            .is_some_and(|v| v.value() == rkey);
        if points_here {
            self.t
                .block_edge
                .table_mut()?
                .remove((actor, row.subject))?;
            self.t
                .blocked_by
                .table_mut()?
                .remove((row.subject, actor))?;
        }
        self.t.blocks.table_mut()?.remove((actor, rkey))?;
        Ok(())
    }

    pub(super) fn insert_list(&mut self, new: &NewRecord<'_>) -> Result<(), StoreError> {
        let Some(list) = records::list(new.value) else {
            return Ok(());
        };
        let row = ListRow {
            cid: new.cid,
            record: new.bytes.to_vec(),
            name: list.name,
            purpose: list.purpose,
            sort_at: self.sort_at(list.created_at),
        };
        self.t
            .lists
            .table_mut()?
            .insert((new.actor, new.rkey), rows::encode(&row)?.as_slice())?;
        self.add_actor_count(new.actor, rows::LISTS, 1)?;
        Ok(())
    }

    pub(super) fn remove_list(&mut self, actor: u64, rkey: &str) -> Result<(), StoreError> {
        if self.t.lists.table_mut()?.remove((actor, rkey))?.is_some() {
            self.add_actor_count(actor, rows::LISTS, -1)?;
        }
        Ok(())
    }

    pub(super) fn insert_list_item(&mut self, new: &NewRecord<'_>) -> Result<(), StoreError> {
        let Some(item) = records::list_item(new.value) else {
            return Ok(());
        };
        if item.list.did != new.did {
            return Ok(());
        }
        let subject = self.actor_id(&item.subject)?;
        let list = RefRow {
            actor: new.actor,
            rkey: item.list.rkey.clone(),
        };
        let row = ListItemRow {
            list: list.clone(),
            subject,
            sort_at: self.sort_at(item.created_at),
        };
        let l = (list.actor, list.rkey.as_str());
        self.t
            .list_members
            .table_mut()?
            .insert((l.0, l.1, new.rkey), subject)?;
        self.t
            .list_membership
            .table_mut()?
            .insert((l.0, l.1, subject), new.rkey)?;
        self.t
            .member_of
            .table_mut()?
            .insert((subject, l.0, l.1), ())?;
        self.add_subject_count(Kind::List.byte(), l.0, l.1, rows::LIST_ITEMS, 1)?;
        self.t
            .list_items
            .table_mut()?
            .insert((new.actor, new.rkey), rows::encode(&row)?.as_slice())?;
        Ok(())
    }

    pub(super) fn remove_list_item(&mut self, actor: u64, rkey: &str) -> Result<(), StoreError> {
        let Some(row) = self
            .t
            .list_items
            .table()?
            .get((actor, rkey))?
            .map(|v| rows::decode::<ListItemRow>(v.value()))
            .transpose()?
        else {
            return Ok(());
        };
        let l = (row.list.actor, row.list.rkey.as_str());
        self.t.list_members.table_mut()?.remove((l.0, l.1, rkey))?;
        let points_here = self
            .t
            .list_membership
            .table()?
            .get((l.0, l.1, row.subject))?
            .is_some_and(|v| v.value() == rkey);
        if points_here {
            self.t
                .list_membership
                .table_mut()?
                .remove((l.0, l.1, row.subject))?;
            self.t
                .member_of
                .table_mut()?
                .remove((row.subject, l.0, l.1))?;
        }
        self.add_subject_count(Kind::List.byte(), l.0, l.1, rows::LIST_ITEMS, -1)?;
        self.t.list_items.table_mut()?.remove((actor, rkey))?;
        Ok(())
    }

    pub(super) fn insert_list_block(&mut self, new: &NewRecord<'_>) -> Result<(), StoreError> {
        let Some((list, _)) = records::list_block(new.value) else {
            return Ok(());
        };
        let list = RefRow {
            actor: self.actor_id(&list.did)?,
            rkey: list.rkey,
        };
        let l = (list.actor, list.rkey.as_str());
        self.t
            .actor_list_blocks
            .table_mut()?
            .insert((new.actor, l.0, l.1), new.rkey)?;
        self.t
            .list_blockers
            .table_mut()?
            .insert((l.0, l.1, new.actor), ())?;
        let row = ListBlockRow { list: list.clone() };
        self.t
            .list_blocks
            .table_mut()?
            .insert((new.actor, new.rkey), rows::encode(&row)?.as_slice())?;
        Ok(())
    }

    pub(super) fn remove_list_block(&mut self, actor: u64, rkey: &str) -> Result<(), StoreError> {
        let Some(row) = self
            .t
            .list_blocks
            .table()?
            .get((actor, rkey))?
            .map(|v| rows::decode::<ListBlockRow>(v.value()))
            .transpose()?
        else {
            return Ok(());
        };
        let l = (row.list.actor, row.list.rkey.as_str());
        let points_here = self
            .t
            .actor_list_blocks
            .table()?
            .get((actor, l.0, l.1))?
            .is_some_and(|v| v.value() == rkey);
        if points_here {
            self.t
                .actor_list_blocks
                .table_mut()?
                .remove((actor, l.0, l.1))?;
            self.t
                .list_blockers
                .table_mut()?
                .remove((l.0, l.1, actor))?;
        }
        self.t.list_blocks.table_mut()?.remove((actor, rkey))?;
        Ok(())
    }

    pub(super) fn insert_starter_pack(&mut self, new: &NewRecord<'_>) -> Result<(), StoreError> {
        let Some(pack) = records::starter_pack(new.value) else {
            return Ok(());
        };
        let row = StarterPackRow {
            cid: new.cid,
            record: new.bytes.to_vec(),
            list: RefRow {
                actor: self.actor_id(&pack.list.did)?,
                rkey: pack.list.rkey,
            },
            sort_at: self.sort_at(pack.created_at),
        };
        self.t
            .starter_packs
            .table_mut()?
            .insert((new.actor, new.rkey), rows::encode(&row)?.as_slice())?;
        self.add_actor_count(new.actor, rows::STARTER_PACKS, 1)?;
        Ok(())
    }

    pub(super) fn remove_starter_pack(&mut self, actor: u64, rkey: &str) -> Result<(), StoreError> {
        if self
            .t
            .starter_packs
            .table_mut()?
            .remove((actor, rkey))?
            .is_some()
        {
            self.add_actor_count(actor, rows::STARTER_PACKS, -1)?;
        }
        Ok(())
    }
}
