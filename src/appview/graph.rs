//! `app.bsky.graph.*` views and the viewer's private graph state: getFollows, getFollowers,
//! getKnownFollowers, getBlocks, getMutes, muteActor/unmuteActor, muteActorList/unmuteActorList,
//! muteThread/unmuteThread, getLists, getList, getListBlocks, getListMutes, getRelationships,
//! getStarterPack(s) and getActorStarterPacks.
//!
//! Mutes are private: they are App View state written by the viewer's own calls, never records.

use serde::Deserialize;
use serde_json::{Value as Json, json};

use super::feed::require_actor;
use super::hydrate::{Ctx, typed};
use super::index::{Index, RKEY_MAX};
use super::read::{self, Tables};
use super::records;
use super::rows::{self, MuteRow, RefRow};
use super::{Appview, AppviewError, cursor};

/// Most items examined for one page of a graph listing (hidden ones count too).
const MAX_SCAN: usize = 1000;
/// Most accounts getRelationships compares (the lexicon's limit).
const MAX_OTHERS: usize = 30;

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GraphParams {
    pub actor: String,
    pub limit: Option<u32>,
    pub cursor: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PageParams {
    pub limit: Option<u32>,
    pub cursor: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListsParams {
    pub actor: String,
    pub limit: Option<u32>,
    pub cursor: Option<String>,
    #[serde(default)]
    pub purposes: Vec<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListParams {
    pub list: String,
    pub limit: Option<u32>,
    pub cursor: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RelationshipsParams {
    pub actor: String,
    #[serde(default)]
    pub others: Vec<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StarterPackParams {
    pub starter_pack: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MuteActorInput {
    pub actor: String,
    #[serde(default)]
    pub only_reposts: bool,
    #[serde(default)]
    pub only_quoteposts: bool,
}

#[derive(Debug, Default, Deserialize)]
pub struct ListInput {
    pub list: String,
}

#[derive(Debug, Default, Deserialize)]
pub struct ThreadInput {
    pub root: String,
}

/// `{<field>: items, cursor?}` plus extra fields.
fn paged(field: &str, items: Vec<Json>, next: Option<String>) -> Json {
    let mut out = json!({ field: items });
    if let Some(n) = next {
        out["cursor"] = json!(n);
    }
    out
}

fn visible_subject(ctx: &Ctx<'_>, actor: u64) -> Result<Json, AppviewError> {
    ctx.profile_view(actor)?
        .ok_or_else(|| AppviewError::InvalidRequest("Profile not found".into()))
}

impl Appview {
    /// getFollows (`following == true`) and getFollowers, newest first.
    pub async fn get_follow_list(
        &self,
        viewer: Option<String>,
        params: GraphParams,
        following: bool,
    ) -> Result<Json, AppviewError> {
        let config = self.config().clone();
        self.read_view(move |t| {
            let ctx = Ctx::new(t, &config, viewer.as_deref())?;
            let actor = require_actor(t, &params.actor)?;
            let subject = visible_subject(&ctx, actor)?;
            let limit = cursor::limit(params.limit, 50);
            let before = cursor::parse::<2>(params.cursor.as_deref())?;
            let upper = match &before {
                Some(([sort_at, other], _)) => (actor, *sort_at, *other),
                None => (actor, u64::MAX, u64::MAX),
            };
            let table = if following {
                t.following.table()?
            } else {
                t.followers.table()?
            };
            let mut items = Vec::new();
            let mut next = None;
            for row in table.range((actor, 0, 0)..upper)?.rev().take(MAX_SCAN) {
                let (k, _) = row?;
                let (_, sort_at, other) = k.value();
                next = Some(cursor::encode(&[sort_at, other], ""));
                if ctx.blocked(other)? {
                    continue;
                }
                if let Some(view) = ctx.profile_view(other)? {
                    items.push(view);
                }
                if items.len() >= limit {
                    break;
                }
            }
            if items.len() < limit {
                next = None;
            }
            let field = if following { "follows" } else { "followers" };
            let mut out = paged(field, items, next);
            out["subject"] = subject;
            Ok(out)
        })
        .await
    }

    /// getKnownFollowers: followers of `actor` whom the viewer follows.
    pub async fn get_known_followers(
        &self,
        viewer: String,
        params: GraphParams,
    ) -> Result<Json, AppviewError> {
        let config = self.config().clone();
        self.read_view(move |t| {
            let ctx = Ctx::new(t, &config, Some(&viewer))?;
            let actor = require_actor(t, &params.actor)?;
            let subject = visible_subject(&ctx, actor)?;
            let limit = cursor::limit(params.limit, 50);
            let offset = cursor::parse::<1>(params.cursor.as_deref())?
                .map_or(0, |([o], _)| usize::try_from(o).unwrap_or(0));
            let (ids, count) = ctx.known_followers(actor, offset + limit)?;
            let mut followers = Vec::new();
            for id in ids.into_iter().skip(offset) {
                if let Some(v) = ctx.profile_view(id)? {
                    followers.push(v);
                }
            }
            let next =
                (offset + limit < count).then(|| cursor::encode(&[(offset + limit) as u64], ""));
            let mut out = paged("followers", followers, next);
            out["subject"] = subject;
            Ok(out)
        })
        .await
    }

    /// getBlocks: accounts the viewer blocks, newest block first.
    pub async fn get_blocks(
        &self,
        viewer: String,
        params: PageParams,
    ) -> Result<Json, AppviewError> {
        let config = self.config().clone();
        self.read_view(move |t| {
            let ctx = Ctx::new(t, &config, Some(&viewer))?;
            let Some(me) = ctx.viewer_id() else {
                return Ok(json!({"blocks": []}));
            };
            let limit = cursor::limit(params.limit, 50);
            let before = cursor::parse::<0>(params.cursor.as_deref())?.map(|(_, r)| r);
            let mut items = Vec::new();
            let mut next = None;
            for rkey in read::rkeys_desc(t.blocks.table()?, me, before.as_deref(), MAX_SCAN)? {
                next = Some(rkey.clone());
                let Some(row) = t
                    .blocks
                    .table()?
                    .get((me, rkey.as_str()))?
                    .map(|v| rows::decode::<rows::EdgeRow>(v.value()))
                    .transpose()?
                else {
                    continue;
                };
                if let Some(view) = ctx.profile_view(row.subject)? {
                    items.push(view);
                }
                if items.len() >= limit {
                    break;
                }
            }
            if items.len() < limit {
                next = None;
            }
            Ok(paged("blocks", items, next))
        })
        .await
    }

    /// getMutes: accounts the viewer muted.
    pub async fn get_mutes(
        &self,
        viewer: String,
        params: PageParams,
    ) -> Result<Json, AppviewError> {
        let config = self.config().clone();
        self.read_view(move |t| {
            let ctx = Ctx::new(t, &config, Some(&viewer))?;
            let Some(me) = ctx.viewer_id() else {
                return Ok(json!({"mutes": []}));
            };
            let limit = cursor::limit(params.limit, 50);
            let after = cursor::parse::<1>(params.cursor.as_deref())?.map_or(0, |([a], _)| a);
            let mut items = Vec::new();
            let mut next = None;
            for row in t
                .mutes
                .table()?
                .range((me, after + 1)..=(me, u64::MAX))?
                .take(MAX_SCAN)
            {
                let (k, _) = row?;
                let subject = k.value().1;
                next = Some(cursor::encode(&[subject], ""));
                if let Some(view) = ctx.profile_view(subject)? {
                    items.push(view);
                }
                if items.len() >= limit {
                    break;
                }
            }
            if items.len() < limit {
                next = None;
            }
            Ok(paged("mutes", items, next))
        })
        .await
    }

    /// The actor id of the viewer and of an account named by DID or handle, for private writes.
    async fn viewer_and_subject(
        &self,
        viewer: String,
        subject: String,
    ) -> Result<(String, u64), AppviewError> {
        let id = self
            .read_view(move |t| read::resolve_actor(t, &subject))
            .await?
            .ok_or_else(|| AppviewError::InvalidRequest("Actor not found".into()))?;
        Ok((viewer, id))
    }

    /// muteActor / unmuteActor.
    pub async fn set_mute(
        &self,
        viewer: String,
        input: MuteActorInput,
        mute: bool,
    ) -> Result<(), AppviewError> {
        let (viewer, subject) = self.viewer_and_subject(viewer, input.actor.clone()).await?;
        let now = u64::try_from(crate::clock::now_micros()).unwrap_or(0);
        self.store()
            .write(move |txn| {
                let mut ix = Index::open(txn, now)?;
                let me = ix.actor_id(&viewer)?;
                if me == subject {
                    return Ok(Err(AppviewError::InvalidRequest(
                        "Cannot mute oneself".into(),
                    )));
                }
                if mute {
                    let row = MuteRow {
                        created_at: now,
                        only_reposts: input.only_reposts,
                        only_quoteposts: input.only_quoteposts,
                    };
                    ix.t.mutes
                        .table_mut()?
                        .insert((me, subject), rows::encode(&row)?.as_slice())?;
                } else {
                    ix.t.mutes.table_mut()?.remove((me, subject))?;
                }
                Ok(Ok(()))
            })
            .await
    }

    /// muteActorList / unmuteActorList.
    pub async fn set_list_mute(
        &self,
        viewer: String,
        list: String,
        mute: bool,
    ) -> Result<(), AppviewError> {
        let list_ref = self
            .read_view(move |t| {
                let found = read::resolve_uri(t, &list)?;
                match found {
                    Some((c, r))
                        if c == records::LIST
                            && t.lists.table()?.get((r.actor, r.rkey.as_str()))?.is_some() =>
                    {
                        Ok(r)
                    }
                    _ => Err(AppviewError::InvalidRequest("List not found".into())),
                }
            })
            .await?;
        let now = u64::try_from(crate::clock::now_micros()).unwrap_or(0);
        self.store()
            .write(move |txn| {
                let mut ix = Index::open(txn, now)?;
                let me = ix.actor_id(&viewer)?;
                let key = (me, list_ref.actor, list_ref.rkey.as_str());
                if mute {
                    ix.t.list_mutes.table_mut()?.insert(key, ())?;
                } else {
                    ix.t.list_mutes.table_mut()?.remove(key)?;
                }
                Ok(Ok::<_, AppviewError>(()))
            })
            .await?;
        // A muted list's owner is carried (follow_graph).
        self.graph_changed();
        Ok(())
    }

    /// muteThread / unmuteThread.
    pub async fn set_thread_mute(
        &self,
        viewer: String,
        root: String,
        mute: bool,
    ) -> Result<(), AppviewError> {
        let root_ref = self
            .read_view(move |t| match read::resolve_uri(t, &root)? {
                Some((c, r)) if c == records::POST => Ok(r),
                _ => Err(AppviewError::InvalidRequest("Post not found".into())),
            })
            .await?;
        let now = u64::try_from(crate::clock::now_micros()).unwrap_or(0);
        self.store()
            .write(move |txn| {
                let mut ix = Index::open(txn, now)?;
                let me = ix.actor_id(&viewer)?;
                let key = (me, root_ref.actor, root_ref.rkey.as_str());
                if mute {
                    ix.t.thread_mutes.table_mut()?.insert(key, ())?;
                } else {
                    ix.t.thread_mutes.table_mut()?.remove(key)?;
                }
                Ok(Ok::<_, AppviewError>(()))
            })
            .await
    }

    /// getLists: an account's lists, newest first.
    pub async fn get_lists(
        &self,
        viewer: Option<String>,
        params: ListsParams,
    ) -> Result<Json, AppviewError> {
        let config = self.config().clone();
        self.read_view(move |t| {
            let ctx = Ctx::new(t, &config, viewer.as_deref())?;
            let actor = require_actor(t, &params.actor)?;
            let limit = cursor::limit(params.limit, 50);
            let before = cursor::parse::<0>(params.cursor.as_deref())?.map(|(_, r)| r);
            let purposes: Vec<String> = params
                .purposes
                .iter()
                .map(|p| {
                    if p.contains('#') {
                        p.clone()
                    } else {
                        format!("app.bsky.graph.defs#{p}")
                    }
                })
                .collect();
            let mut lists = Vec::new();
            let mut next = None;
            for rkey in read::rkeys_desc(t.lists.table()?, actor, before.as_deref(), MAX_SCAN)? {
                next = Some(rkey.clone());
                let list = RefRow { actor, rkey };
                if !purposes.is_empty() {
                    let purpose = t
                        .lists
                        .table()?
                        .get((list.actor, list.rkey.as_str()))?
                        .map(|v| rows::decode::<rows::ListRow>(v.value()))
                        .transpose()?
                        .map(|r| r.purpose);
                    if !purpose.is_some_and(|p| purposes.contains(&p)) {
                        continue;
                    }
                }
                if let Some(view) = ctx.list_view(&list)? {
                    lists.push(view);
                }
                if lists.len() >= limit {
                    break;
                }
            }
            if lists.len() < limit {
                next = None;
            }
            Ok(paged("lists", lists, next))
        })
        .await
    }

    /// getList: a list and its members in the order they were added.
    pub async fn get_list(
        &self,
        viewer: Option<String>,
        params: ListParams,
    ) -> Result<Json, AppviewError> {
        let config = self.config().clone();
        self.read_view(move |t| {
            let ctx = Ctx::new(t, &config, viewer.as_deref())?;
            let not_found = || AppviewError::InvalidRequest("List not found".into());
            let (collection, list) = read::resolve_uri(t, &params.list)?.ok_or_else(not_found)?;
            if collection != records::LIST {
                return Err(not_found());
            }
            let view = ctx.list_view(&list)?.ok_or_else(not_found)?;
            let owner = read::did_of(t, list.actor)?.unwrap_or_default();
            let limit = cursor::limit(params.limit, 50);
            let after = cursor::parse::<0>(params.cursor.as_deref())?.map(|(_, r)| r);
            let mut items = Vec::new();
            let mut next = None;
            let start = after.clone().unwrap_or_default();
            for row in t
                .list_members
                .table()?
                .range(
                    (list.actor, list.rkey.as_str(), start.as_str())
                        ..=(list.actor, list.rkey.as_str(), RKEY_MAX),
                )?
                .take(MAX_SCAN)
            {
                let (k, v) = row?;
                let item_rkey = k.value().2.to_owned();
                if after.as_deref() == Some(item_rkey.as_str()) {
                    continue;
                }
                next = Some(item_rkey.clone());
                let member = v.value();
                if let Some(subject) = ctx.profile_view(member)? {
                    items.push(json!({
                        "uri": format!("at://{owner}/{}/{item_rkey}", records::LIST_ITEM),
                        "subject": subject,
                    }));
                }
                if items.len() >= limit {
                    break;
                }
            }
            if items.len() < limit {
                next = None;
            }
            let mut out = paged("items", items, next);
            out["list"] = view;
            Ok(out)
        })
        .await
    }

    /// getListBlocks (`blocks == true`) and getListMutes: lists the viewer blocks or mutes.
    pub async fn get_list_subscriptions(
        &self,
        viewer: String,
        params: PageParams,
        blocks: bool,
    ) -> Result<Json, AppviewError> {
        let config = self.config().clone();
        self.read_view(move |t| {
            let ctx = Ctx::new(t, &config, Some(&viewer))?;
            let Some(me) = ctx.viewer_id() else {
                return Ok(json!({"lists": []}));
            };
            let limit = cursor::limit(params.limit, 50);
            let mut refs: Vec<RefRow> = Vec::new();
            if blocks {
                for row in t
                    .actor_list_blocks
                    .table()?
                    .range((me, 0, "")..=(me, u64::MAX, RKEY_MAX))?
                {
                    let (k, _) = row?;
                    refs.push(RefRow {
                        actor: k.value().1,
                        rkey: k.value().2.to_owned(),
                    });
                }
            } else {
                for row in t
                    .list_mutes
                    .table()?
                    .range((me, 0, "")..=(me, u64::MAX, RKEY_MAX))?
                {
                    let (k, _) = row?;
                    refs.push(RefRow {
                        actor: k.value().1,
                        rkey: k.value().2.to_owned(),
                    });
                }
            }
            let offset = cursor::parse::<1>(params.cursor.as_deref())?
                .map_or(0, |([o], _)| usize::try_from(o).unwrap_or(0));
            let total = refs.len();
            let mut lists = Vec::new();
            for list in refs.iter().skip(offset).take(limit) {
                if let Some(view) = ctx.list_view(list)? {
                    lists.push(view);
                }
            }
            let next =
                (offset + limit < total).then(|| cursor::encode(&[(offset + limit) as u64], ""));
            Ok(paged("lists", lists, next))
        })
        .await
    }

    /// getRelationships: how `actor` relates to each of `others`.
    pub async fn get_relationships(
        &self,
        params: RelationshipsParams,
    ) -> Result<Json, AppviewError> {
        if params.others.len() > MAX_OTHERS {
            return Err(AppviewError::InvalidRequest(format!(
                "others must have at most {MAX_OTHERS} items"
            )));
        }
        self.read_view(move |t| {
            let Some(actor) = read::resolve_actor(t, &params.actor)? else {
                return Err(AppviewError::named(
                    "ActorNotFound",
                    format!("Actor not found: {}", params.actor),
                ));
            };
            let actor_did = read::did_of(t, actor)?.unwrap_or_default();
            let mut relationships = Vec::new();
            for other in &params.others {
                match read::resolve_actor(t, other)? {
                    Some(id) => relationships.push(relationship(t, actor, &actor_did, id)?),
                    None => relationships.push(typed(
                        "app.bsky.graph.defs#notFoundActor",
                        json!({"actor": other, "notFound": true}),
                    )),
                }
            }
            Ok(json!({"actor": actor_did, "relationships": relationships}))
        })
        .await
    }

    /// getStarterPack.
    pub async fn get_starter_pack(
        &self,
        viewer: Option<String>,
        params: StarterPackParams,
    ) -> Result<Json, AppviewError> {
        let config = self.config().clone();
        self.read_view(move |t| {
            let ctx = Ctx::new(t, &config, viewer.as_deref())?;
            let not_found = || AppviewError::InvalidRequest("Starter pack not found".into());
            let (collection, pack) =
                read::resolve_uri(t, &params.starter_pack)?.ok_or_else(not_found)?;
            if collection != records::STARTER_PACK {
                return Err(not_found());
            }
            let view = ctx.starter_pack_view(&pack)?.ok_or_else(not_found)?;
            Ok(json!({"starterPack": view}))
        })
        .await
    }

    /// getStarterPacks.
    pub async fn get_starter_packs(
        &self,
        viewer: Option<String>,
        uris: Vec<String>,
    ) -> Result<Json, AppviewError> {
        if uris.len() > 25 {
            return Err(AppviewError::InvalidRequest(
                "uris must have at most 25 items".into(),
            ));
        }
        let config = self.config().clone();
        self.read_view(move |t| {
            let ctx = Ctx::new(t, &config, viewer.as_deref())?;
            let mut packs = Vec::new();
            for uri in &uris {
                if let Some((collection, pack)) = read::resolve_uri(t, uri)?
                    && collection == records::STARTER_PACK
                    && let Some(view) = ctx.starter_pack_basic(&pack)?
                {
                    packs.push(view);
                }
            }
            Ok(json!({"starterPacks": packs}))
        })
        .await
    }

    /// getActorStarterPacks.
    pub async fn get_actor_starter_packs(
        &self,
        viewer: Option<String>,
        params: GraphParams,
    ) -> Result<Json, AppviewError> {
        let config = self.config().clone();
        self.read_view(move |t| {
            let ctx = Ctx::new(t, &config, viewer.as_deref())?;
            let actor = require_actor(t, &params.actor)?;
            let limit = cursor::limit(params.limit, 50);
            let before = cursor::parse::<0>(params.cursor.as_deref())?.map(|(_, r)| r);
            let mut packs = Vec::new();
            let mut next = None;
            for rkey in
                read::rkeys_desc(t.starter_packs.table()?, actor, before.as_deref(), MAX_SCAN)?
            {
                next = Some(rkey.clone());
                if let Some(view) = ctx.starter_pack_basic(&RefRow { actor, rkey })? {
                    packs.push(view);
                }
                if packs.len() >= limit {
                    break;
                }
            }
            if packs.len() < limit {
                next = None;
            }
            Ok(paged("starterPacks", packs, next))
        })
        .await
    }
}

/// `app.bsky.graph.defs#relationship` between two accounts (direct follows and blocks, and
/// blocks through lists).
fn relationship(t: &Tables, actor: u64, actor_did: &str, other: u64) -> Result<Json, AppviewError> {
    let other_did = read::did_of(t, other)?.unwrap_or_default();
    let uri = |did: &str, c: &str, r: &str| format!("at://{did}/{c}/{r}");
    let mut out = serde_json::Map::new();
    out.insert("did".into(), json!(other_did));
    if let Some(r) = t.follow_edge.table()?.get((actor, other))? {
        out.insert(
            "following".into(),
            json!(uri(actor_did, records::FOLLOW, r.value())),
        );
    }
    if let Some(r) = t.follow_edge.table()?.get((other, actor))? {
        out.insert(
            "followedBy".into(),
            json!(uri(&other_did, records::FOLLOW, r.value())),
        );
    }
    if let Some(r) = t.block_edge.table()?.get((actor, other))? {
        out.insert(
            "blocking".into(),
            json!(uri(actor_did, records::BLOCK, r.value())),
        );
    }
    if let Some(r) = t.block_edge.table()?.get((other, actor))? {
        out.insert(
            "blockedBy".into(),
            json!(uri(&other_did, records::BLOCK, r.value())),
        );
    }
    let list_block = |blocker: u64, subject: u64| -> Result<Option<String>, AppviewError> {
        for row in t
            .actor_list_blocks
            .table()?
            .range((blocker, 0, "")..=(blocker, u64::MAX, RKEY_MAX))?
        {
            let (k, _) = row?;
            let (_, owner, rkey) = k.value();
            if t.list_membership
                .table()?
                .get((owner, rkey, subject))?
                .is_some()
                && let Some(owner_did) = read::did_of(t, owner)?
            {
                return Ok(Some(uri(&owner_did, records::LIST, rkey)));
            }
        }
        Ok(None)
    };
    if let Some(list) = list_block(actor, other)? {
        out.insert("blockingByList".into(), json!(list));
    }
    if let Some(list) = list_block(other, actor)? {
        out.insert("blockedByList".into(), json!(list));
    }
    Ok(typed(
        "app.bsky.graph.defs#relationship",
        serde_json::Value::Object(out),
    ))
}
