//! The indexer's write side: applies one record operation (create, update, delete) or one account
//! change to the App View's tables, inside the write transaction of the batch it belongs to.
//!
//! Every index row and counter of a record is written or removed together, so the tables always
//! agree with each other; an update is a removal followed by an insertion (counters that belong to
//! the record's subject, such as a post's likes, survive it). Records that fail their lexicon's
//! required fields are not indexed, as the reference App View does
//! (`packages/bsky/src/data-plane/server/indexing/`). Operations are idempotent: replaying an event
//! after a crash, or a backfill over an already indexed repo, leaves the same state.

mod account;
mod forget;
mod graph;
mod interaction;
mod notify;
mod post;
mod record;

use cid::Cid;
use redb::ReadableTable;

use super::records;
use super::rows::{self, ActorCounts, ActorRow, SubjectCounts};
use super::tables::WriteTables;
use crate::core::data::{self, Value};
use crate::store::{StoreError, WriteTransaction};

pub use account::AccountChange;
pub use forget::ForgetProgress;

/// The upper bound of record keys inside key ranges: every rkey character sorts below it.
pub const RKEY_MAX: &str = "\x7f";

/// What happened to a record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    Create,
    Update,
    Delete,
}

/// One record operation, as a `#commit` op or a backfilled record names it.
#[derive(Clone, Copy, Debug)]
pub struct RecordOp<'a> {
    pub did: &'a str,
    pub collection: &'a str,
    pub rkey: &'a str,
    pub action: Action,
    pub cid: Option<Cid>,
    /// The record's DRISL bytes (creates and updates).
    pub record: Option<&'a [u8]>,
}

/// The tables of one write job, and the time its records count as indexed.
pub struct Index<'t> {
    pub t: WriteTables<'t>,
    /// Microseconds since the epoch.
    pub now: u64,
}

impl<'t> Index<'t> {
    pub fn open(txn: &'t WriteTransaction, now: u64) -> Result<Index<'t>, StoreError> {
        Ok(Index {
            t: WriteTables::new(txn),
            now,
        })
    }

    /// The actor id of `did`, assigning the next one on first sight.
    pub fn actor_id(&mut self, did: &str) -> Result<u64, StoreError> {
        if let Some(id) = self.t.actor_ids.table()?.get(did)? {
            return Ok(id.value());
        }
        let id = self
            .t
            .meta
            .table()?
            .get("next_actor")?
            .map_or(1, |v| v.value());
        self.t.meta.table_mut()?.insert("next_actor", id + 1)?;
        self.t.actor_ids.table_mut()?.insert(did, id)?;
        self.t.actor_dids.table_mut()?.insert(id, did)?;
        Ok(id)
    }

    /// The actor id of `did` if it has one.
    pub fn existing_actor_id(&self, did: &str) -> Result<Option<u64>, StoreError> {
        Ok(self.t.actor_ids.table()?.get(did)?.map(|v| v.value()))
    }

    pub fn did_of(&self, actor: u64) -> Result<Option<String>, StoreError> {
        Ok(self
            .t
            .actor_dids
            .table()?
            .get(actor)?
            .map(|v| v.value().to_owned()))
    }

    pub fn actor_row(&self, actor: u64) -> Result<Option<ActorRow>, StoreError> {
        self.t
            .actors
            .table()?
            .get(actor)?
            .map(|v| rows::decode(v.value()))
            .transpose()
    }

    pub fn put_actor_row(&mut self, actor: u64, row: &ActorRow) -> Result<(), StoreError> {
        self.t
            .actors
            .table_mut()?
            .insert(actor, rows::encode(row)?.as_slice())?;
        Ok(())
    }

    /// Makes sure an account the stream speaks for has a row; returns whether it is new (its
    /// handle then needs resolving).
    pub fn ensure_actor(&mut self, did: &str) -> Result<(u64, bool), StoreError> {
        let id = self.actor_id(did)?;
        if self.t.actors.table()?.get(id)?.is_some() {
            return Ok((id, false));
        }
        let row = ActorRow {
            did: did.to_owned(),
            indexed_at: self.now,
            ..ActorRow::default()
        };
        self.put_actor_row(id, &row)?;
        Ok((id, true))
    }

    pub fn add_actor_count(
        &mut self,
        actor: u64,
        field: usize,
        delta: i64,
    ) -> Result<(), StoreError> {
        let mut counts = ActorCounts::read(
            self.t
                .actor_counts
                .table()?
                .get(actor)?
                .as_ref()
                .map(|v| v.value()),
        );
        counts.add(field, delta);
        self.t
            .actor_counts
            .table_mut()?
            .insert(actor, counts.bytes().as_slice())?;
        Ok(())
    }

    pub fn add_subject_count(
        &mut self,
        kind: u8,
        actor: u64,
        rkey: &str,
        field: usize,
        delta: i64,
    ) -> Result<(), StoreError> {
        let mut counts = SubjectCounts::read(
            self.t
                .counts
                .table()?
                .get((kind, actor, rkey))?
                .as_ref()
                .map(|v| v.value()),
        );
        counts.add(field, delta);
        if counts.is_zero() {
            self.t.counts.table_mut()?.remove((kind, actor, rkey))?;
        } else {
            self.t
                .counts
                .table_mut()?
                .insert((kind, actor, rkey), counts.bytes().as_slice())?;
        }
        Ok(())
    }

    /// Records `rev` as the actor's newest if it is not older than the stored one; false if it is
    /// (a repo snapshot that lags behind what is indexed).
    pub fn advance_rev_to(&mut self, actor: u64, rev: &str) -> Result<bool, StoreError> {
        let stored = self
            .t
            .repo_revs
            .table()?
            .get(actor)?
            .map(|v| v.value().to_owned());
        if stored.as_deref().is_some_and(|stored| rev < stored) {
            return Ok(false);
        }
        self.t.repo_revs.table_mut()?.insert(actor, rev)?;
        Ok(true)
    }

    /// Records `rev` as the newest indexed for `actor`, unless an equal or newer one is already
    /// indexed; returns whether it was newer (revs are TIDs, which sort as strings).
    pub fn advance_rev(&mut self, actor: u64, rev: &str) -> Result<bool, StoreError> {
        let newer = match self.t.repo_revs.table()?.get(actor)? {
            Some(stored) => rev > stored.value(),
            None => true,
        };
        if newer {
            self.t.repo_revs.table_mut()?.insert(actor, rev)?;
        }
        Ok(newer)
    }

    /// The sort time of a record: its creation time, unless that claims to be later than now (a
    /// record cannot jump the queue by claiming a future time), as the reference's `sortAt`.
    pub fn sort_at(&self, created_at: i64) -> u64 {
        u64::try_from(created_at).unwrap_or(0).min(self.now)
    }

    /// Applies one record operation. A record that does not parse, or a collection the App View
    /// does not index, is skipped.
    pub fn apply(&mut self, op: &RecordOp<'_>) -> Result<(), StoreError> {
        if !records::INDEXED.contains(&op.collection) {
            return Ok(());
        }
        let (actor, _) = self.ensure_actor(op.did)?;
        // Every kind removes what an earlier version indexed before (re)inserting.
        self.remove(actor, op.collection, op.rkey, op.action == Action::Delete)?;
        if op.action == Action::Delete {
            return Ok(());
        }
        let (Some(cid), Some(bytes)) = (op.cid, op.record) else {
            return Ok(());
        };
        let Ok(value) = data::decode_value(bytes) else {
            return Ok(());
        };
        if value.type_name() != Some(op.collection) {
            return Ok(());
        }
        let new = NewRecord {
            actor,
            did: op.did,
            rkey: op.rkey,
            cid,
            bytes,
            value: &value,
        };
        match op.collection {
            records::POST => self.insert_post(&new),
            records::LIKE => self.insert_like(&new),
            records::REPOST => self.insert_repost(&new),
            records::FOLLOW => self.insert_follow(&new),
            records::BLOCK => self.insert_block(&new),
            records::LIST => self.insert_list(&new),
            records::LIST_ITEM => self.insert_list_item(&new),
            records::LIST_BLOCK => self.insert_list_block(&new),
            records::STARTER_PACK => self.insert_starter_pack(&new),
            records::GENERATOR => self.insert_generator(&new),
            records::THREADGATE => self.insert_threadgate(&new),
            records::POSTGATE => self.insert_postgate(&new),
            records::PROFILE => self.insert_profile(&new),
            records::LABELER => self.insert_labeler(&new),
            _ => Ok(()),
        }
    }

    /// Removes what is indexed for one record. `deleting` is false when an update follows, so the
    /// record's own counters (a post's likes) are kept.
    pub fn remove(
        &mut self,
        actor: u64,
        collection: &str,
        rkey: &str,
        deleting: bool,
    ) -> Result<(), StoreError> {
        match collection {
            records::POST => self.remove_post(actor, rkey, deleting),
            records::LIKE => self.remove_like(actor, rkey),
            records::REPOST => self.remove_repost(actor, rkey),
            records::FOLLOW => self.remove_follow(actor, rkey),
            records::BLOCK => self.remove_block(actor, rkey),
            records::LIST => self.remove_list(actor, rkey),
            records::LIST_ITEM => self.remove_list_item(actor, rkey),
            records::LIST_BLOCK => self.remove_list_block(actor, rkey),
            records::STARTER_PACK => self.remove_starter_pack(actor, rkey),
            records::GENERATOR => self.remove_generator(actor, rkey),
            records::THREADGATE => {
                self.t.threadgates.table_mut()?.remove((actor, rkey))?;
                Ok(())
            }
            records::POSTGATE => {
                self.t.postgates.table_mut()?.remove((actor, rkey))?;
                Ok(())
            }
            records::PROFILE => self.remove_profile(actor, rkey),
            records::LABELER => {
                if rkey == "self" {
                    self.t.labeler_services.table_mut()?.remove(actor)?;
                }
                Ok(())
            }
            _ => Ok(()),
        }
    }

    /// The CID of what is indexed for a record, if anything (backfill compares against it).
    pub fn indexed_cid(
        &self,
        actor: u64,
        collection: &str,
        rkey: &str,
    ) -> Result<Option<Cid>, StoreError> {
        fn cid_of<T: serde::de::DeserializeOwned>(
            bytes: Option<redb::AccessGuard<'_, &'static [u8]>>,
            get: impl Fn(&T) -> Cid,
        ) -> Result<Option<Cid>, StoreError> {
            bytes
                .map(|v| rows::decode::<T>(v.value()).map(|r| get(&r)))
                .transpose()
        }
        let key = (actor, rkey);
        match collection {
            records::POST => cid_of(self.t.posts.table()?.get(key)?, |r: &rows::PostRow| r.cid),
            records::LIKE => cid_of(
                self.t.likes.table()?.get(key)?,
                |r: &rows::InteractionRow| r.cid,
            ),
            records::REPOST => cid_of(
                self.t.reposts.table()?.get(key)?,
                |r: &rows::InteractionRow| r.cid,
            ),
            records::FOLLOW => cid_of(self.t.follows.table()?.get(key)?, |r: &rows::EdgeRow| r.cid),
            records::BLOCK => cid_of(self.t.blocks.table()?.get(key)?, |r: &rows::EdgeRow| r.cid),
            records::LIST => cid_of(self.t.lists.table()?.get(key)?, |r: &rows::ListRow| r.cid),
            records::GENERATOR => cid_of(
                self.t.generators.table()?.get(key)?,
                |r: &rows::GeneratorRow| r.cid,
            ),
            records::STARTER_PACK => cid_of(
                self.t.starter_packs.table()?.get(key)?,
                |r: &rows::StarterPackRow| r.cid,
            ),
            records::THREADGATE => cid_of(
                self.t.threadgates.table()?.get(key)?,
                |r: &rows::RecordRow| r.cid,
            ),
            records::POSTGATE => cid_of(
                self.t.postgates.table()?.get(key)?,
                |r: &rows::RecordRow| r.cid,
            ),
            records::PROFILE if rkey == "self" => Ok(self
                .actor_row(actor)?
                .and_then(|r| r.profile.map(|p| p.cid))),
            records::LABELER if rkey == "self" => cid_of(
                self.t.labeler_services.table()?.get(actor)?,
                |r: &rows::RecordRow| r.cid,
            ),
            // List items and list blocks keep no CID; reindexing them is cheap and idempotent.
            _ => Ok(None),
        }
    }
}

/// A record about to be indexed.
pub struct NewRecord<'a> {
    pub actor: u64,
    pub did: &'a str,
    pub rkey: &'a str,
    pub cid: Cid,
    pub bytes: &'a [u8],
    pub value: &'a Value,
}
