//! `app.bsky.actor.*` views: getProfile, getProfiles and getSuggestions (search lives in
//! `search.rs`).
//!
//! As the reference `getProfile`: an unknown account is `InvalidRequest: Profile not found`; a
//! taken-down or suspended one `AccountTakedown`; a deactivated one `AccountDeactivated`. getProfiles
//! leaves such accounts out.

use serde::Deserialize;
use serde_json::{Value as Json, json};

use super::hydrate::Ctx;
use super::read;
use super::{Appview, AppviewError, cursor};

/// Most actors getProfiles accepts (the lexicon's limit).
const MAX_PROFILES: usize = 25;
/// Most accounts examined for one page of suggestions.
const SUGGESTION_SCAN: usize = 2000;

#[derive(Debug, Default, Deserialize)]
pub struct ProfileParams {
    pub actor: String,
}

#[derive(Debug, Default, Deserialize)]
pub struct ProfilesParams {
    #[serde(default)]
    pub actors: Vec<String>,
}

#[derive(Debug, Default, Deserialize)]
pub struct SuggestionsParams {
    pub limit: Option<u32>,
    pub cursor: Option<String>,
}

impl Appview {
    pub async fn get_profile(
        &self,
        viewer: Option<String>,
        params: ProfileParams,
    ) -> Result<Json, AppviewError> {
        let config = self.config().clone();
        self.read_view(move |t| {
            let ctx = Ctx::new(t, &config, viewer.as_deref())?;
            let not_found = || AppviewError::InvalidRequest("Profile not found".into());
            let id = read::resolve_actor(t, &params.actor)?.ok_or_else(not_found)?;
            let actor = ctx.actor(id)?.ok_or_else(not_found)?;
            match actor.row.status.as_deref() {
                Some("takendown" | "suspended") => {
                    return Err(AppviewError::named(
                        "AccountTakedown",
                        "Account has been suspended",
                    ));
                }
                Some("deleted") => return Err(not_found()),
                Some(_) => {
                    return Err(AppviewError::named(
                        "AccountDeactivated",
                        "Account is deactivated",
                    ));
                }
                None => {}
            }
            if actor.hidden() {
                return Err(AppviewError::named(
                    "AccountTakedown",
                    "Account has been suspended",
                ));
            }
            ctx.profile_detailed(&actor)
        })
        .await
    }

    pub async fn get_profiles(
        &self,
        viewer: Option<String>,
        params: ProfilesParams,
    ) -> Result<Json, AppviewError> {
        if params.actors.len() > MAX_PROFILES {
            return Err(AppviewError::InvalidRequest(format!(
                "actors must have at most {MAX_PROFILES} items"
            )));
        }
        let config = self.config().clone();
        self.read_view(move |t| {
            let ctx = Ctx::new(t, &config, viewer.as_deref())?;
            let mut profiles = Vec::new();
            for name in &params.actors {
                let Some(id) = read::resolve_actor(t, name)? else {
                    continue;
                };
                if let Some(actor) = ctx.visible_actor(id)? {
                    profiles.push(ctx.profile_detailed(&actor)?);
                }
            }
            Ok(json!({"profiles": profiles}))
        })
        .await
    }

    /// `app.bsky.actor.getSuggestions`: accounts with a profile the viewer does not follow,
    /// most recently joined first (a small community needs no ranking service).
    pub async fn get_suggestions(
        &self,
        viewer: Option<String>,
        params: SuggestionsParams,
    ) -> Result<Json, AppviewError> {
        let config = self.config().clone();
        self.read_view(move |t| {
            let ctx = Ctx::new(t, &config, viewer.as_deref())?;
            let limit = cursor::limit(params.limit, 50);
            let before = cursor::parse::<1>(params.cursor.as_deref())?.map(|([id], _)| id);
            let mut actors = Vec::new();
            let mut next = None;
            for row in t
                .actors
                .table()?
                .range(..before.unwrap_or(u64::MAX))?
                .rev()
                .take(SUGGESTION_SCAN)
            {
                let (k, _) = row?;
                let id = k.value();
                next = Some(cursor::encode(&[id], ""));
                if Some(id) == ctx.viewer_id() {
                    continue;
                }
                if let Some(v) = &ctx.viewer {
                    let rel = v.relationship(t, id)?;
                    if rel.following.is_some() || rel.block_exists() || rel.mute_exists() {
                        continue;
                    }
                }
                let Some(actor) = ctx.visible_actor(id)? else {
                    continue;
                };
                if actor.row.profile.is_none() {
                    continue;
                }
                if let Some(view) = ctx.profile_view(id)? {
                    actors.push(view);
                }
                if actors.len() >= limit {
                    break;
                }
            }
            if actors.len() < limit {
                next = None;
            }
            let mut out = json!({"actors": actors});
            if let Some(n) = next {
                out["cursor"] = json!(n);
            }
            Ok(out)
        })
        .await
    }
}
