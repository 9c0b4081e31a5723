//! Account-level changes: status from `#account` (inactive accounts disappear from views; a
//! deleted account's records are purged), handles and PDS endpoints from identity resolution, and
//! the listing of everything indexed for an account (for backfill and purges).
//!
//! Spec: <https://atproto.com/specs/account> and the account-lifecycle guide: an App View hides the
//! content of accounts that are not active and shows it again when they are reactivated.

use redb::ReadableTable;

use super::{Index, RKEY_MAX};
use crate::appview::records;
use crate::appview::tokens;
use crate::store::StoreError;

/// A change to an account that is not a record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AccountChange {
    /// From `#account`: `None` when active, else the status (`deactivated`, `takendown`, ...).
    Status(Option<String>),
    /// From identity resolution: the verified handle (`None`: invalid) and the PDS endpoint.
    Identity {
        handle: Option<String>,
        pds: Option<String>,
    },
}

impl Index<'_> {
    /// Applies an account change; returns whether the account was new to the App View.
    pub fn apply_account(&mut self, did: &str, change: &AccountChange) -> Result<bool, StoreError> {
        let (actor, new) = self.ensure_actor(did)?;
        let Some(mut row) = self.actor_row(actor)? else {
            return Ok(new);
        };
        let before = tokens::actor_tokens(
            row.handle.as_deref(),
            row.profile.as_ref().and_then(|p| p.display_name.as_deref()),
        );
        match change {
            AccountChange::Status(status) => {
                row.status.clone_from(status);
                if status.as_deref() == Some("deleted") {
                    self.put_actor_row(actor, &row)?;
                    self.purge(actor)?;
                    return self.retoken_actor(actor, &before).map(|()| new);
                }
            }
            AccountChange::Identity { handle, pds } => {
                row.handle.clone_from(handle);
                row.pds.clone_from(pds);
            }
        }
        self.put_actor_row(actor, &row)?;
        self.retoken_actor(actor, &before)?;
        Ok(new)
    }

    /// Sets or clears the App View's own takedown of an account.
    pub fn set_actor_takedown(
        &mut self,
        did: &str,
        takedown: Option<&str>,
    ) -> Result<(), StoreError> {
        let (actor, _) = self.ensure_actor(did)?;
        let Some(mut row) = self.actor_row(actor)? else {
            return Ok(());
        };
        let before = tokens::actor_tokens(
            row.handle.as_deref(),
            row.profile.as_ref().and_then(|p| p.display_name.as_deref()),
        );
        row.takedown = takedown.map(str::to_owned);
        self.put_actor_row(actor, &row)?;
        match takedown {
            Some(reference) => {
                self.t.takedowns.table_mut()?.insert(did, reference)?;
            }
            None => {
                self.t.takedowns.table_mut()?.remove(did)?;
            }
        }
        self.retoken_actor(actor, &before)
    }

    /// Sets or clears the App View's own takedown of a record.
    pub fn set_record_takedown(
        &mut self,
        uri: &str,
        takedown: Option<&str>,
    ) -> Result<(), StoreError> {
        match takedown {
            Some(reference) => {
                self.t.takedowns.table_mut()?.insert(uri, reference)?;
            }
            None => {
                self.t.takedowns.table_mut()?.remove(uri)?;
            }
        }
        Ok(())
    }

    /// Every record indexed for an actor, as (collection, rkey).
    pub fn indexed_records(&self, actor: u64) -> Result<Vec<(&'static str, String)>, StoreError> {
        let mut out: Vec<(&'static str, String)> = Vec::new();
        for rkey in self.post_rkeys(actor)? {
            out.push((records::POST, rkey));
        }
        macro_rules! keys_of {
            ($table:ident, $collection:expr) => {
                for row in self
                    .t
                    .$table
                    .table()?
                    .range((actor, "")..=(actor, RKEY_MAX))?
                {
                    let (k, _) = row?;
                    out.push(($collection, k.value().1.to_owned()));
                }
            };
        }
        keys_of!(likes, records::LIKE);
        keys_of!(reposts, records::REPOST);
        keys_of!(follows, records::FOLLOW);
        keys_of!(blocks, records::BLOCK);
        keys_of!(lists, records::LIST);
        keys_of!(list_items, records::LIST_ITEM);
        keys_of!(list_blocks, records::LIST_BLOCK);
        keys_of!(generators, records::GENERATOR);
        keys_of!(threadgates, records::THREADGATE);
        keys_of!(postgates, records::POSTGATE);
        keys_of!(starter_packs, records::STARTER_PACK);
        if self.actor_row(actor)?.is_some_and(|r| r.profile.is_some()) {
            out.push((records::PROFILE, "self".to_owned()));
        }
        if self.t.labeler_services.table()?.get(actor)?.is_some() {
            out.push((records::LABELER, "self".to_owned()));
        }
        Ok(out)
    }

    /// Removes everything a deleted account wrote, and its private state.
    fn purge(&mut self, actor: u64) -> Result<(), StoreError> {
        for (collection, rkey) in self.indexed_records(actor)? {
            self.remove(actor, collection, &rkey, true)?;
        }
        self.remove_notifications_of(actor)?;
        let mutes: Vec<u64> = self
            .t
            .mutes
            .table()?
            .range((actor, 0)..=(actor, u64::MAX))?
            .map(|r| r.map(|(k, _)| k.value().1))
            .collect::<Result<_, _>>()?;
        for subject in mutes {
            self.t.mutes.table_mut()?.remove((actor, subject))?;
        }
        self.t.notification_seen.table_mut()?.remove(actor)?;
        self.t.notification_prefs.table_mut()?.remove(actor)?;
        self.purge_bookmarks(actor)?;
        Ok(())
    }
}
