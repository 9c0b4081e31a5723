//! Post views: `postView` (record, counts, viewer state, labels, threadgate), embed views
//! (`app.bsky.embed.*#view`, quoted records two levels deep as the reference does), feed items
//! (`feedViewPost` with `reasonRepost`/`reasonPin` and `replyRef`), and the `notFoundPost` and
//! `blockedPost` placeholders.

use serde_json::{Map, Value as Json, json};

use super::{Ctx, datetime, put, self_labels, typed};
use crate::appview::AppviewError;
use crate::appview::kind::Kind;
use crate::appview::read;
use crate::appview::records::{self, GateRule};
use crate::appview::rows::{self, ActorRow, PostRow, RecordRow, RefRow};
use crate::appview::viewer::block_between;
use crate::core::data::{self, BlobRef, Value};

/// One item of a feed: a post, reposted or pinned.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FeedItem {
    pub post: RefRow,
    /// The repost that put it in the feed.
    pub repost: Option<RefRow>,
    pub pinned: bool,
}

impl FeedItem {
    pub fn post(post: RefRow) -> FeedItem {
        FeedItem {
            post,
            repost: None,
            pinned: false,
        }
    }
}

fn post_uri(did: &str, rkey: &str) -> String {
    format!("at://{did}/{}/{rkey}", records::POST)
}

impl Ctx<'_> {
    /// The URI of a post ref (empty when the actor id is unknown, which cannot happen for refs
    /// read from the index).
    pub fn post_uri(&self, post: &RefRow) -> Result<String, AppviewError> {
        Ok(read::uri_of(self.t, records::POST, post)?.unwrap_or_default())
    }

    fn gate_record(
        &self,
        table: &redb::ReadOnlyTable<(u64, &'static str), &'static [u8]>,
        post: &RefRow,
    ) -> Result<Option<Value>, AppviewError> {
        Ok(table
            .get((post.actor, post.rkey.as_str()))?
            .map(|v| rows::decode::<RecordRow>(v.value()))
            .transpose()?
            .and_then(|r| data::decode_value(&r.record).ok()))
    }

    /// `viewer.replyDisabled` (reference `userReplyDisabled`).
    fn reply_disabled(&self, row: &PostRow, post: &RefRow) -> Result<Option<bool>, AppviewError> {
        if row.flags & rows::FLAG_VIOLATES_THREADGATE != 0 {
            return Ok(Some(true));
        }
        let Some(viewer) = &self.viewer else {
            return Ok(None);
        };
        let root = read::root_of(post, row);
        let Some(gate) = self
            .gate_record(self.t.threadgates.table()?, &root)?
            .and_then(|v| records::threadgate(&v))
        else {
            return Ok(None);
        };
        let Some(rules) = gate.allow else {
            return Ok(Some(false));
        };
        if viewer.id == root.actor {
            return Ok(Some(false));
        }
        for rule in rules {
            let allowed = match rule {
                GateRule::Mention => read::post_row(self.t, &root)?
                    .and_then(|r| data::decode_value(&r.record).ok())
                    .and_then(|v| records::post(&v))
                    .is_some_and(|p| p.mentions.contains(&viewer.did)),
                GateRule::Follower => self
                    .t
                    .follow_edge
                    .table()?
                    .get((viewer.id, root.actor))?
                    .is_some(),
                GateRule::Following => self
                    .t
                    .follow_edge
                    .table()?
                    .get((root.actor, viewer.id))?
                    .is_some(),
                GateRule::List(list) => match read::actor_id(self.t, &list.did)? {
                    Some(owner) => self
                        .t
                        .list_membership
                        .table()?
                        .get((owner, list.rkey.as_str(), viewer.id))?
                        .is_some(),
                    None => false,
                },
            };
            if allowed {
                return Ok(Some(false));
            }
        }
        Ok(Some(true))
    }

    /// The postgate of a post, if any: (embedding disabled, detached quote URIs).
    fn postgate(&self, post: &RefRow) -> Result<Option<records::Postgate>, AppviewError> {
        Ok(self
            .gate_record(self.t.postgates.table()?, post)?
            .and_then(|v| records::postgate(&v)))
    }

    fn post_viewer_state(
        &self,
        post: &RefRow,
        row: &PostRow,
        uri: &str,
        author: &ActorRow,
    ) -> Result<Option<Json>, AppviewError> {
        let Some(viewer) = &self.viewer else {
            return Ok(None);
        };
        let key = (post.actor, post.rkey.as_str());
        let mut out = Map::new();
        if let Some(rkey) = self.t.repost_of.table()?.get((key.0, key.1, viewer.id))? {
            out.insert(
                "repost".into(),
                json!(format!(
                    "at://{}/{}/{}",
                    viewer.did,
                    records::REPOST,
                    rkey.value()
                )),
            );
        }
        if let Some(rkey) =
            self.t
                .like_of
                .table()?
                .get((Kind::Post.byte(), key.0, key.1, viewer.id))?
        {
            out.insert(
                "like".into(),
                json!(format!(
                    "at://{}/{}/{}",
                    viewer.did,
                    records::LIKE,
                    rkey.value()
                )),
            );
        }
        let bookmarked = self.t.bookmark_of.table()?.get((viewer.id, uri))?.is_some();
        out.insert("bookmarked".into(), json!(bookmarked));
        let root = read::root_of(post, row);
        let thread_muted = self
            .t
            .thread_mutes
            .table()?
            .get((viewer.id, root.actor, root.rkey.as_str()))?
            .is_some();
        out.insert("threadMuted".into(), json!(thread_muted));
        put(&mut out, "replyDisabled", self.reply_disabled(row, post)?);
        let embedding_disabled =
            viewer.id != post.actor && self.postgate(post)?.is_some_and(|g| g.embedding_disabled);
        out.insert("embeddingDisabled".into(), json!(embedding_disabled));
        if viewer.id == post.actor {
            let pinned = author
                .profile
                .as_ref()
                .and_then(|p| p.pinned_post.as_ref())
                .is_some_and(|(pinned, _)| pinned == uri);
            out.insert("pinned".into(), json!(pinned));
        }
        Ok(Some(Json::Object(out)))
    }

    /// `postView`, or `None` when the post is unknown, taken down, or by a hidden account.
    /// `depth` counts record embeds already entered (embeds stop at 2, as the reference).
    pub fn post_view(&self, post: &RefRow, depth: u8) -> Result<Option<Json>, AppviewError> {
        let Some(row) = read::post_row(self.t, post)? else {
            return Ok(None);
        };
        self.post_view_of(post, &row, depth)
    }

    pub fn post_view_of(
        &self,
        post: &RefRow,
        row: &PostRow,
        depth: u8,
    ) -> Result<Option<Json>, AppviewError> {
        let Some(author) = self.visible_actor(post.actor)? else {
            return Ok(None);
        };
        let uri = post_uri(&author.row.did, &post.rkey);
        let mut labels = self.labels_on(&uri)?;
        if self.record_taken_down(&uri, &labels)? {
            return Ok(None);
        }
        let Ok(record) = data::decode_value(&row.record) else {
            return Ok(None);
        };
        let Some(author_view) = self.profile_basic(post.actor)? else {
            return Ok(None);
        };
        let created = record
            .get("createdAt")
            .and_then(Value::as_str)
            .unwrap_or("1970-01-01T00:00:00.000Z")
            .to_owned();
        labels.extend(self_labels(
            &author.row.did,
            &uri,
            &row.cid,
            &records::self_labels(&record),
            &created,
        ));
        let counts = read::subject_counts(self.t, Kind::Post, post.actor, &post.rkey)?;
        let mut out = Map::new();
        out.insert("uri".into(), json!(uri));
        out.insert("cid".into(), json!(row.cid.to_string()));
        out.insert("author".into(), author_view);
        out.insert("record".into(), data::to_json(&record));
        if depth < 2
            && let Some(embed) = record.get("embed")
        {
            put(
                &mut out,
                "embed",
                self.embed_view(post, row, &author.row, embed, depth + 1)?,
            );
        }
        let bookmarks = self
            .t
            .bookmark_counts
            .table()?
            .get(uri.as_str())?
            .map_or(0, |v| v.value());
        out.insert("bookmarkCount".into(), json!(bookmarks));
        out.insert("replyCount".into(), json!(counts.0[rows::REPLIES]));
        out.insert("repostCount".into(), json!(counts.0[rows::REPOSTS]));
        out.insert("likeCount".into(), json!(counts.0[rows::LIKES]));
        out.insert("quoteCount".into(), json!(counts.0[rows::QUOTES]));
        out.insert("indexedAt".into(), json!(datetime(row.sort_at)));
        put(
            &mut out,
            "viewer",
            self.post_viewer_state(post, row, &uri, &author.row)?,
        );
        out.insert("labels".into(), Json::Array(labels));
        if row.reply_parent.is_none() {
            put(&mut out, "threadgate", self.threadgate_view(post)?);
        }
        Ok(Some(Json::Object(out)))
    }

    fn images_view(&self, author: &ActorRow, embed: &Value) -> Json {
        let images: Vec<Json> = embed
            .get("images")
            .and_then(Value::as_list)
            .unwrap_or_default()
            .iter()
            .filter_map(|image| {
                let blob = BlobRef::from_value(image.get("image")?).ok()?;
                let url = self.blob_url(author, &blob.cid);
                let mut view = Map::new();
                view.insert("thumb".into(), json!(url));
                view.insert("fullsize".into(), json!(url));
                view.insert(
                    "alt".into(),
                    json!(image.get("alt").and_then(Value::as_str).unwrap_or_default()),
                );
                put(
                    &mut view,
                    "aspectRatio",
                    image.get("aspectRatio").map(data::to_json),
                );
                Some(Json::Object(view))
            })
            .collect();
        typed("app.bsky.embed.images#view", json!({"images": images}))
    }

    fn gallery_view(&self, author: &ActorRow, embed: &Value) -> Json {
        let items: Vec<Json> = embed
            .get("items")
            .and_then(Value::as_list)
            .unwrap_or_default()
            .iter()
            .filter(|item| item.type_name() == Some("app.bsky.embed.gallery#image"))
            .filter_map(|item| {
                let blob = BlobRef::from_value(item.get("image")?).ok()?;
                let url = self.blob_url(author, &blob.cid);
                Some(typed(
                    "app.bsky.embed.gallery#viewImage",
                    json!({
                        "thumbnail": url,
                        "fullsize": url,
                        "alt": item.get("alt").and_then(Value::as_str).unwrap_or_default(),
                        "aspectRatio": item.get("aspectRatio").map_or(Json::Null, data::to_json),
                    }),
                ))
            })
            .collect();
        typed("app.bsky.embed.gallery#view", json!({"items": items}))
    }

    fn video_view(&self, author: &ActorRow, embed: &Value) -> Option<Json> {
        let blob = BlobRef::from_value(embed.get("video")?).ok()?;
        let mut view = Map::new();
        view.insert("cid".into(), json!(blob.cid.to_string()));
        view.insert("playlist".into(), json!(self.blob_url(author, &blob.cid)));
        put(
            &mut view,
            "alt",
            embed.get("alt").and_then(Value::as_str).map(str::to_owned),
        );
        put(
            &mut view,
            "aspectRatio",
            embed.get("aspectRatio").map(data::to_json),
        );
        put(
            &mut view,
            "presentation",
            embed
                .get("presentation")
                .and_then(Value::as_str)
                .map(str::to_owned),
        );
        Some(typed("app.bsky.embed.video#view", Json::Object(view)))
    }

    fn external_view(&self, author: &ActorRow, embed: &Value) -> Option<Json> {
        let external = embed.get("external")?;
        let mut view = Map::new();
        view.insert(
            "uri".into(),
            json!(external.get("uri").and_then(Value::as_str)?),
        );
        view.insert(
            "title".into(),
            json!(
                external
                    .get("title")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
            ),
        );
        view.insert(
            "description".into(),
            json!(
                external
                    .get("description")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
            ),
        );
        if let Some(thumb) = external
            .get("thumb")
            .and_then(|t| BlobRef::from_value(t).ok())
        {
            view.insert("thumb".into(), json!(self.blob_url(author, &thumb.cid)));
        }
        Some(typed(
            "app.bsky.embed.external#view",
            json!({"external": Json::Object(view)}),
        ))
    }

    fn media_view(&self, author: &ActorRow, media: &Value) -> Option<Json> {
        match media.type_name()? {
            "app.bsky.embed.images" => Some(self.images_view(author, media)),
            "app.bsky.embed.gallery" => Some(self.gallery_view(author, media)),
            "app.bsky.embed.video" => self.video_view(author, media),
            "app.bsky.embed.external" => self.external_view(author, media),
            _ => None,
        }
    }

    /// The view of a post's embed.
    fn embed_view(
        &self,
        post: &RefRow,
        row: &PostRow,
        author: &ActorRow,
        embed: &Value,
        depth: u8,
    ) -> Result<Option<Json>, AppviewError> {
        match embed.type_name() {
            Some("app.bsky.embed.record") => {
                let Some(target) = embed.get("record") else {
                    return Ok(None);
                };
                Ok(self
                    .record_embed(post, row, target, depth)?
                    .map(|r| typed("app.bsky.embed.record#view", json!({"record": r}))))
            }
            Some("app.bsky.embed.recordWithMedia") => {
                let (Some(record), Some(media)) = (
                    embed.get("record").and_then(|r| r.get("record")),
                    embed.get("media"),
                ) else {
                    return Ok(None);
                };
                let (Some(record), Some(media)) = (
                    self.record_embed(post, row, record, depth)?,
                    self.media_view(author, media),
                ) else {
                    return Ok(None);
                };
                Ok(Some(typed(
                    "app.bsky.embed.recordWithMedia#view",
                    json!({"record": {"record": record}, "media": media}),
                )))
            }
            _ => Ok(self.media_view(author, embed)),
        }
    }

    /// The `record` union of `app.bsky.embed.record#view` for a strong ref.
    fn record_embed(
        &self,
        post: &RefRow,
        row: &PostRow,
        target: &Value,
        depth: u8,
    ) -> Result<Option<Json>, AppviewError> {
        let Some(uri) = target.get("uri").and_then(Value::as_str) else {
            return Ok(None);
        };
        let Some(parts) = records::UriParts::parse(uri) else {
            return Ok(Some(not_found_embed(uri)));
        };
        let Some(target_actor) = read::actor_id(self.t, &parts.did)? else {
            if parts.collection == records::POST {
                self.missing_quotes.borrow_mut().push(uri.to_owned());
            }
            return Ok(Some(not_found_embed(uri)));
        };
        if self.blocked(target_actor)? || block_between(self.t, post.actor, target_actor)? {
            return Ok(Some(typed(
                "app.bsky.embed.record#viewBlocked",
                json!({
                    "uri": uri,
                    "blocked": true,
                    "author": self.blocked_author(&parts.did, target_actor)?,
                }),
            )));
        }
        if row.flags & rows::FLAG_VIOLATES_EMBEDDING != 0 {
            return Ok(Some(detached_embed(uri)));
        }
        let target_ref = RefRow {
            actor: target_actor,
            rkey: parts.rkey.clone(),
        };
        let view = match parts.collection.as_str() {
            records::POST => {
                let Some(quoted) = self.post_view(&target_ref, depth)? else {
                    if read::post_row(self.t, &target_ref)?.is_none() {
                        self.missing_quotes.borrow_mut().push(uri.to_owned());
                    }
                    return Ok(Some(not_found_embed(uri)));
                };
                let quoting = self.post_uri(post)?;
                if self
                    .postgate(&target_ref)?
                    .is_some_and(|g| g.detached.contains(&quoting))
                {
                    return Ok(Some(detached_embed(uri)));
                }
                let mut view = Map::new();
                for key in [
                    "uri",
                    "cid",
                    "author",
                    "labels",
                    "likeCount",
                    "replyCount",
                    "repostCount",
                    "quoteCount",
                    "indexedAt",
                ] {
                    if let Some(v) = quoted.get(key) {
                        view.insert(key.into(), v.clone());
                    }
                }
                view.insert("value".into(), quoted["record"].clone());
                if depth <= 1 {
                    let embeds: Vec<Json> = quoted.get("embed").cloned().into_iter().collect();
                    view.insert("embeds".into(), Json::Array(embeds));
                }
                Some(typed(
                    "app.bsky.embed.record#viewRecord",
                    Json::Object(view),
                ))
            }
            records::GENERATOR => self
                .generator_view(&target_ref)?
                .map(|v| typed("app.bsky.feed.defs#generatorView", v)),
            records::LIST => self
                .list_view(&target_ref)?
                .map(|v| typed("app.bsky.graph.defs#listView", v)),
            records::LABELER => self
                .labeler_view(target_actor, false)?
                .map(|v| typed("app.bsky.labeler.defs#labelerView", v)),
            records::STARTER_PACK => self
                .starter_pack_basic(&target_ref)?
                .map(|v| typed("app.bsky.graph.defs#starterPackViewBasic", v)),
            _ => None,
        };
        Ok(Some(view.unwrap_or_else(|| not_found_embed(uri))))
    }

    /// `app.bsky.feed.defs#blockedAuthor`.
    fn blocked_author(&self, did: &str, actor: u64) -> Result<Json, AppviewError> {
        let mut out = Map::new();
        out.insert("did".into(), json!(did));
        put(&mut out, "viewer", self.actor_viewer_state(actor)?);
        Ok(Json::Object(out))
    }

    /// `#blockedPost`.
    pub fn blocked_post(&self, post: &RefRow) -> Result<Json, AppviewError> {
        let did = read::did_of(self.t, post.actor)?.unwrap_or_default();
        Ok(typed(
            "app.bsky.feed.defs#blockedPost",
            json!({
                "uri": post_uri(&did, &post.rkey),
                "blocked": true,
                "author": self.blocked_author(&did, post.actor)?,
            }),
        ))
    }

    /// `#notFoundPost`.
    pub fn not_found_post(&self, post: &RefRow) -> Result<Json, AppviewError> {
        Ok(not_found_post(&self.post_uri(post)?))
    }

    /// A post as a union member: `#postView`, or `#notFoundPost`/`#blockedPost`.
    pub fn maybe_post(&self, post: &RefRow) -> Result<Json, AppviewError> {
        let Some(view) = self.post_view(post, 0)? else {
            return self.not_found_post(post);
        };
        if self.blocked(post.actor)? {
            return self.blocked_post(post);
        }
        Ok(typed("app.bsky.feed.defs#postView", view))
    }

    /// `replyRef` of a reply (reference `replyRef`, third-party blocks included).
    fn reply_ref(&self, post: &RefRow, row: &PostRow) -> Result<Option<Json>, AppviewError> {
        let (Some(root), Some(parent)) = (&row.reply_root, &row.reply_parent) else {
            return Ok(None);
        };
        let mut parent_view = if block_between(self.t, post.actor, parent.actor)? {
            self.blocked_post(parent)?
        } else {
            self.maybe_post(parent)?
        };
        let root_view = if block_between(self.t, post.actor, root.actor)?
            || block_between(self.t, parent.actor, root.actor)?
        {
            self.blocked_post(root)?
        } else if root == parent {
            parent_view.clone()
        } else {
            self.maybe_post(root)?
        };
        let mut out = Map::new();
        let mut grandparent = None;
        if parent_view["$type"] == "app.bsky.feed.defs#postView"
            && let Some(parent_row) = read::post_row(self.t, parent)?
            && let Some(gp) = &parent_row.reply_parent
        {
            grandparent = self.profile_basic(gp.actor)?;
        }
        out.insert("root".into(), root_view);
        out.insert("parent".into(), std::mem::take(&mut parent_view));
        put(&mut out, "grandparentAuthor", grandparent);
        Ok(Some(Json::Object(out)))
    }

    /// `feedViewPost` of a feed item, or `None` when its post or reposter cannot be shown.
    pub fn feed_view_post(&self, item: &FeedItem) -> Result<Option<Json>, AppviewError> {
        let Some(row) = read::post_row(self.t, &item.post)? else {
            return Ok(None);
        };
        let Some(post) = self.post_view_of(&item.post, &row, 0)? else {
            return Ok(None);
        };
        let mut out = Map::new();
        out.insert("post".into(), post);
        if item.pinned {
            out.insert(
                "reason".into(),
                json!({"$type": "app.bsky.feed.defs#reasonPin"}),
            );
        } else if let Some(repost) = &item.repost {
            let Some(by) = self.profile_basic(repost.actor)? else {
                return Ok(None);
            };
            let Some(repost_row) = self
                .t
                .reposts
                .table()?
                .get((repost.actor, repost.rkey.as_str()))?
                .map(|v| rows::decode::<rows::InteractionRow>(v.value()))
                .transpose()?
            else {
                return Ok(None);
            };
            let uri = read::uri_of(self.t, records::REPOST, repost)?.unwrap_or_default();
            out.insert(
                "reason".into(),
                typed(
                    "app.bsky.feed.defs#reasonRepost",
                    json!({
                        "by": by,
                        "uri": uri,
                        "cid": repost_row.cid.to_string(),
                        "indexedAt": datetime(repost_row.sort_at),
                    }),
                ),
            );
        }
        if row.flags & rows::FLAG_VIOLATES_THREADGATE == 0 {
            put(&mut out, "reply", self.reply_ref(&item.post, &row)?);
        }
        Ok(Some(Json::Object(out)))
    }

    /// Whether a feed item should be left out for the viewer (reference `feedItemBlocksAndMutes`
    /// as timelines apply it): blocked or muted author or reposter, a blocked parent or
    /// grandparent author, a muted reposter's reposts, a quote-muted author's quotes.
    pub fn feed_item_hidden(
        &self,
        item: &FeedItem,
        check_mutes: bool,
    ) -> Result<bool, AppviewError> {
        let Some(viewer) = &self.viewer else {
            return Ok(false);
        };
        let author = viewer.relationship(self.t, item.post.actor)?;
        if author.block_exists() {
            return Ok(true);
        }
        if let Some(repost) = &item.repost {
            let reposter = viewer.relationship(self.t, repost.actor)?;
            if reposter.block_exists()
                || (check_mutes && (reposter.mute_exists() || reposter.muted_only_reposts))
            {
                return Ok(true);
            }
        }
        let row = read::post_row(self.t, &item.post)?;
        if check_mutes {
            if author.mute_exists() {
                return Ok(true);
            }
            if author.muted_only_quoteposts
                && row
                    .as_ref()
                    .and_then(|r| r.embed.as_ref())
                    .is_some_and(|e| e.collection == records::POST)
            {
                return Ok(true);
            }
        }
        if let Some(parent) = row.as_ref().and_then(|r| r.reply_parent.clone()) {
            if viewer.blocks(self.t, parent.actor)? {
                return Ok(true);
            }
            if let Some(gp) = read::post_row(self.t, &parent)?.and_then(|r| r.reply_parent)
                && viewer.blocks(self.t, gp.actor)?
            {
                return Ok(true);
            }
        }
        Ok(false)
    }
}

fn not_found_embed(uri: &str) -> Json {
    typed(
        "app.bsky.embed.record#viewNotFound",
        json!({"uri": uri, "notFound": true}),
    )
}

fn detached_embed(uri: &str) -> Json {
    typed(
        "app.bsky.embed.record#viewDetached",
        json!({"uri": uri, "detached": true}),
    )
}

pub fn not_found_post(uri: &str) -> Json {
    typed(
        "app.bsky.feed.defs#notFoundPost",
        json!({"uri": uri, "notFound": true}),
    )
}
