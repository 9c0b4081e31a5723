//! Profile views: `profileViewBasic`, `profileView`, `profileViewDetailed` with the viewer's
//! state (`app.bsky.actor.defs#viewerState`) and known followers.

use serde_json::{Map, Value as Json, json};

use super::{Actor, Ctx, datetime, put, self_labels};
use crate::appview::AppviewError;
use crate::appview::read;
use crate::appview::records;
use crate::appview::rows;

/// Most known followers listed in a profile's viewer state.
const KNOWN_FOLLOWERS_SHOWN: usize = 5;
/// Most of the viewer's follows examined to find known followers.
const KNOWN_FOLLOWERS_SCAN: usize = 5000;

impl Ctx<'_> {
    /// `app.bsky.actor.defs#viewerState` for `actor` (none without a viewer).
    pub fn actor_viewer_state(&self, actor: u64) -> Result<Option<Json>, AppviewError> {
        let Some(viewer) = &self.viewer else {
            return Ok(None);
        };
        if actor == viewer.id {
            return Ok(Some(json!({"muted": false, "blockedBy": false})));
        }
        let rel = viewer.relationship(self.t, actor)?;
        let block = rel.block_exists();
        let mut out = Map::new();
        out.insert("muted".into(), json!(rel.mute_exists()));
        if !rel.mute_exists() && rel.muted_only_reposts {
            out.insert("mutedOnlyReposts".into(), json!(true));
        }
        if !rel.mute_exists() && rel.muted_only_quoteposts {
            out.insert("mutedOnlyQuoteposts".into(), json!(true));
        }
        if let Some(list) = &rel.muted_by_list {
            put(&mut out, "mutedByList", self.list_basic(list)?);
        }
        out.insert("blockedBy".into(), json!(rel.blocked_by));
        put(&mut out, "blocking", rel.blocking.clone());
        if let Some(list) = &rel.blocking_by_list {
            put(&mut out, "blockingByList", self.list_basic(list)?);
        }
        if !block {
            put(&mut out, "following", rel.following.clone());
            put(&mut out, "followedBy", rel.followed_by.clone());
        }
        Ok(Some(Json::Object(out)))
    }

    fn actor_labels(&self, actor: &Actor) -> Result<Vec<Json>, AppviewError> {
        let mut labels = actor.labels.clone();
        let profile_uri = format!("at://{}/{}/self", actor.row.did, records::PROFILE);
        labels.extend(self.labels_on(&profile_uri)?);
        if let Some(profile) = &actor.row.profile {
            let cts = profile
                .created_at
                .clone()
                .unwrap_or_else(|| datetime(profile.indexed_at));
            labels.extend(self_labels(
                &actor.row.did,
                &profile_uri,
                &profile.cid,
                &profile.self_labels,
                &cts,
            ));
        }
        Ok(labels)
    }

    fn basic_fields(&self, actor: &Actor) -> Result<Map<String, Json>, AppviewError> {
        let row = &actor.row;
        let mut out = Map::new();
        out.insert("did".into(), json!(row.did));
        out.insert(
            "handle".into(),
            json!(row.handle.as_deref().unwrap_or("handle.invalid")),
        );
        if let Some(profile) = &row.profile {
            put(&mut out, "displayName", profile.display_name.clone());
            put(&mut out, "pronouns", profile.pronouns.clone());
            put(
                &mut out,
                "avatar",
                profile.avatar.as_ref().map(|c| self.blob_url(row, c)),
            );
        }
        if self.t.labeler_services.table()?.get(actor.id)?.is_some() {
            out.insert("associated".into(), json!({"labeler": true}));
        }
        put(&mut out, "viewer", self.actor_viewer_state(actor.id)?);
        out.insert("labels".into(), Json::Array(self.actor_labels(actor)?));
        put(
            &mut out,
            "createdAt",
            row.profile.as_ref().and_then(|p| p.created_at.clone()),
        );
        Ok(out)
    }

    /// `profileViewBasic` of a visible account.
    pub fn profile_basic(&self, id: u64) -> Result<Option<Json>, AppviewError> {
        let Some(actor) = self.visible_actor(id)? else {
            return Ok(None);
        };
        Ok(Some(Json::Object(self.basic_fields(&actor)?)))
    }

    fn view_fields(&self, actor: &Actor) -> Result<Map<String, Json>, AppviewError> {
        let mut out = self.basic_fields(actor)?;
        if let Some(profile) = &actor.row.profile {
            put(&mut out, "description", profile.description.clone());
            out.insert("indexedAt".into(), json!(datetime(profile.indexed_at)));
        }
        Ok(out)
    }

    /// `profileView` of a visible account.
    pub fn profile_view(&self, id: u64) -> Result<Option<Json>, AppviewError> {
        let Some(actor) = self.visible_actor(id)? else {
            return Ok(None);
        };
        Ok(Some(Json::Object(self.view_fields(&actor)?)))
    }

    /// `profileViewDetailed` of an account, visible or not (getProfile decides what to refuse).
    pub fn profile_detailed(&self, actor: &Actor) -> Result<Json, AppviewError> {
        let mut out = self.view_fields(actor)?;
        let row = &actor.row;
        let counts = read::actor_counts(self.t, actor.id)?;
        if let Some(profile) = &row.profile {
            put(
                &mut out,
                "website",
                profile
                    .website
                    .clone()
                    .filter(|w| w.starts_with("https://")),
            );
            put(
                &mut out,
                "banner",
                profile.banner.as_ref().map(|c| self.blob_url(row, c)),
            );
            if let Some((uri, cid)) = &profile.pinned_post {
                out.insert("pinnedPost".into(), json!({"uri": uri, "cid": cid}));
            }
        }
        out.insert("followersCount".into(), json!(counts.0[rows::FOLLOWERS]));
        out.insert("followsCount".into(), json!(counts.0[rows::FOLLOWS]));
        out.insert("postsCount".into(), json!(counts.0[rows::POSTS]));
        let mut associated = Map::new();
        associated.insert("lists".into(), json!(counts.0[rows::LISTS]));
        associated.insert("feedgens".into(), json!(counts.0[rows::FEEDGENS]));
        associated.insert("starterPacks".into(), json!(counts.0[rows::STARTER_PACKS]));
        associated.insert(
            "labeler".into(),
            json!(self.t.labeler_services.table()?.get(actor.id)?.is_some()),
        );
        out.insert("associated".into(), Json::Object(associated));
        if let Some(Json::Object(viewer)) = out.get_mut("viewer")
            && let Some(known) = self.known_followers_summary(actor.id)?
        {
            viewer.insert("knownFollowers".into(), known);
        }
        Ok(Json::Object(out))
    }

    /// Accounts the viewer follows that follow `actor` (up to `limit`), and how many there are
    /// among the first [`KNOWN_FOLLOWERS_SCAN`] accounts the viewer follows.
    pub fn known_followers(
        &self,
        actor: u64,
        limit: usize,
    ) -> Result<(Vec<u64>, usize), AppviewError> {
        let Some(viewer) = &self.viewer else {
            return Ok((Vec::new(), 0));
        };
        let mut found = Vec::new();
        let mut count = 0;
        for row in self
            .t
            .follow_edge
            .table()?
            .range((viewer.id, 0)..=(viewer.id, u64::MAX))?
            .take(KNOWN_FOLLOWERS_SCAN)
        {
            let (k, _) = row?;
            let followee = k.value().1;
            if followee == actor
                || self
                    .t
                    .follow_edge
                    .table()?
                    .get((followee, actor))?
                    .is_none()
            {
                continue;
            }
            if self.visible_actor(followee)?.is_none() || self.blocked(followee)? {
                continue;
            }
            count += 1;
            if found.len() < limit {
                found.push(followee);
            }
        }
        Ok((found, count))
    }

    fn known_followers_summary(&self, actor: u64) -> Result<Option<Json>, AppviewError> {
        if self.viewer_id().is_none_or(|v| v == actor) {
            return Ok(None);
        }
        let (ids, count) = self.known_followers(actor, KNOWN_FOLLOWERS_SHOWN)?;
        if count == 0 {
            return Ok(None);
        }
        let mut followers = Vec::new();
        for id in ids {
            if let Some(p) = self.profile_basic(id)? {
                followers.push(p);
            }
        }
        Ok(Some(json!({"count": count, "followers": followers})))
    }

    /// The DIDs an account follows, as ids (for timelines): at most `limit`.
    pub fn followees(&self, actor: u64, limit: usize) -> Result<Vec<u64>, AppviewError> {
        let mut out = Vec::new();
        for row in self
            .t
            .follow_edge
            .table()?
            .range((actor, 0)..=(actor, u64::MAX))?
            .take(limit)
        {
            out.push(row?.0.value().1);
        }
        Ok(out)
    }
}
