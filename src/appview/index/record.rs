//! Indexing records that are kept mostly whole: profiles (into the actor row, with its search
//! tokens), feed generators, threadgates and postgates (only under the rkey of the author's own
//! post, as the reference requires), and labeler services.

use super::{Index, NewRecord};
use crate::appview::records;
use crate::appview::rows::{self, GeneratorRow, ProfileRow, RecordRow};
use crate::appview::tokens;
use crate::store::StoreError;

impl Index<'_> {
    pub(super) fn insert_generator(&mut self, new: &NewRecord<'_>) -> Result<(), StoreError> {
        let Some(generator) = records::generator(new.value) else {
            return Ok(());
        };
        let row = GeneratorRow {
            cid: new.cid,
            record: new.bytes.to_vec(),
            service: generator.did,
            sort_at: self.sort_at(generator.created_at),
        };
        self.t
            .generators
            .table_mut()?
            .insert((new.actor, new.rkey), rows::encode(&row)?.as_slice())?;
        self.add_actor_count(new.actor, rows::FEEDGENS, 1)?;
        Ok(())
    }

    pub(super) fn remove_generator(&mut self, actor: u64, rkey: &str) -> Result<(), StoreError> {
        if self
            .t
            .generators
            .table_mut()?
            .remove((actor, rkey))?
            .is_some()
        {
            self.add_actor_count(actor, rows::FEEDGENS, -1)?;
        }
        Ok(())
    }

    fn whole_record(&self, new: &NewRecord<'_>, created_at: Option<i64>) -> RecordRow {
        RecordRow {
            cid: new.cid,
            record: new.bytes.to_vec(),
            sort_at: created_at.map_or(self.now, |c| self.sort_at(c)),
        }
    }

    pub(super) fn insert_threadgate(&mut self, new: &NewRecord<'_>) -> Result<(), StoreError> {
        let Some(gate) = records::threadgate(new.value) else {
            return Ok(());
        };
        let gates_own_post = gate.post.as_ref().is_some_and(|p| {
            p.did == new.did && p.rkey == new.rkey && p.collection == records::POST
        });
        if !gates_own_post {
            return Ok(());
        }
        let row = self.whole_record(new, None);
        self.t
            .threadgates
            .table_mut()?
            .insert((new.actor, new.rkey), rows::encode(&row)?.as_slice())?;
        Ok(())
    }

    pub(super) fn insert_postgate(&mut self, new: &NewRecord<'_>) -> Result<(), StoreError> {
        if records::postgate(new.value).is_none() {
            return Ok(());
        }
        let post = new
            .value
            .get("post")
            .and_then(|v| v.as_str())
            .and_then(records::UriParts::parse);
        let gates_own_post = post.is_some_and(|p| {
            p.did == new.did && p.rkey == new.rkey && p.collection == records::POST
        });
        if !gates_own_post {
            return Ok(());
        }
        let row = self.whole_record(new, None);
        self.t
            .postgates
            .table_mut()?
            .insert((new.actor, new.rkey), rows::encode(&row)?.as_slice())?;
        Ok(())
    }

    pub(super) fn insert_labeler(&mut self, new: &NewRecord<'_>) -> Result<(), StoreError> {
        if new.rkey != "self" {
            return Ok(());
        }
        let row = self.whole_record(new, None);
        self.t
            .labeler_services
            .table_mut()?
            .insert(new.actor, rows::encode(&row)?.as_slice())?;
        Ok(())
    }

    pub(super) fn insert_profile(&mut self, new: &NewRecord<'_>) -> Result<(), StoreError> {
        if new.rkey != "self" {
            return Ok(());
        }
        let Some(profile) = records::profile(new.value) else {
            return Ok(());
        };
        let Some(mut actor) = self.actor_row(new.actor)? else {
            return Ok(());
        };
        let before = tokens::actor_tokens(
            actor.handle.as_deref(),
            actor
                .profile
                .as_ref()
                .and_then(|p| p.display_name.as_deref()),
        );
        actor.profile = Some(ProfileRow {
            cid: new.cid,
            display_name: profile.display_name,
            description: profile.description,
            pronouns: profile.pronouns,
            website: profile.website,
            avatar: profile.avatar,
            banner: profile.banner,
            created_at: profile.created_at_text,
            pinned_post: profile.pinned_post.map(|p| (p.uri.uri(), p.cid)),
            joined_via: profile
                .joined_via_starter_pack
                .map(|p| (p.uri.uri(), p.cid)),
            self_labels: profile.self_labels,
            indexed_at: self.now,
        });
        self.put_actor_row(new.actor, &actor)?;
        self.retoken_actor(new.actor, &before)
    }

    pub(super) fn remove_profile(&mut self, actor: u64, rkey: &str) -> Result<(), StoreError> {
        if rkey != "self" {
            return Ok(());
        }
        let Some(mut row) = self.actor_row(actor)? else {
            return Ok(());
        };
        if row.profile.is_none() {
            return Ok(());
        }
        let before = tokens::actor_tokens(
            row.handle.as_deref(),
            row.profile.as_ref().and_then(|p| p.display_name.as_deref()),
        );
        row.profile = None;
        self.put_actor_row(actor, &row)?;
        self.retoken_actor(actor, &before)
    }

    /// Replaces an actor's search tokens (`before`) with those of its current row.
    pub(super) fn retoken_actor(
        &mut self,
        actor: u64,
        before: &[String],
    ) -> Result<(), StoreError> {
        let after = match self.actor_row(actor)? {
            Some(row) if row.status.is_none() && row.takedown.is_none() => tokens::actor_tokens(
                row.handle.as_deref(),
                row.profile.as_ref().and_then(|p| p.display_name.as_deref()),
            ),
            _ => Vec::new(),
        };
        for token in before.iter().filter(|t| !after.contains(t)) {
            self.t
                .actor_tokens
                .table_mut()?
                .remove((token.as_str(), actor))?;
        }
        for token in &after {
            self.t
                .actor_tokens
                .table_mut()?
                .insert((token.as_str(), actor), ())?;
        }
        Ok(())
    }
}
