//! Feed views of `app.bsky.feed.*`: getTimeline, getAuthorFeed (with its filters and pins),
//! getPosts, getLikes, getRepostedBy, getQuotes, getActorLikes and getListFeed.
//!
//! Timelines are merged on read: each followed account's feed items (its posts and reposts, keyed
//! by account then time) are read newest first through one key range per account and merged, so a
//! page costs about `limit + follows` row reads however large the community is, and no per-viewer
//! timeline is stored. Items the viewer must not see (blocks, mutes) are skipped while merging, up
//! to [`MAX_SCAN`] items per page, as the reference's `fillPage` does.

use std::collections::BinaryHeap;

use serde::Deserialize;
use serde_json::{Value as Json, json};

use super::hydrate::{Ctx, FeedItem};
use super::index::RKEY_MAX;
use super::kind::Kind;
use super::read::{self, Tables};
use super::records;
use super::rows::{self, RefRow};
use super::{Appview, AppviewError, cursor};

/// Most feed items examined for one page (hidden items count too).
pub const MAX_SCAN: usize = 1000;
/// Most followed accounts merged into one timeline.
pub const MAX_TIMELINE_SOURCES: usize = 10_000;
/// Most URIs getPosts accepts (the lexicon's limit).
const MAX_GET_POSTS: usize = 25;

/// A position in a merged feed: (sort time, actor, item kind, rkey), compared in that order.
pub type FeedKey = (u64, u64, u8, String);

type FeedRange<'t> = redb::Range<'t, (u64, u64, u8, &'static str), &'static [u8]>;

struct Head {
    key: FeedKey,
    value: Vec<u8>,
    source: usize,
}

impl PartialEq for Head {
    fn eq(&self, other: &Self) -> bool {
        self.key == other.key
    }
}
impl Eq for Head {}
impl PartialOrd for Head {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Head {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.key.cmp(&other.key)
    }
}

/// The feed items of several accounts, newest first, strictly before `before`.
pub struct MergedFeed<'t> {
    ranges: Vec<FeedRange<'t>>,
    heap: BinaryHeap<Head>,
    before: Option<FeedKey>,
}

impl<'t> MergedFeed<'t> {
    pub fn new(
        t: &'t Tables,
        actors: &[u64],
        before: Option<FeedKey>,
    ) -> Result<Self, AppviewError> {
        let mut feed = MergedFeed {
            ranges: Vec::with_capacity(actors.len()),
            heap: BinaryHeap::with_capacity(actors.len()),
            before,
        };
        for &actor in actors {
            let upper = match &feed.before {
                Some((sort_at, _, _, _)) => (actor, *sort_at, u8::MAX, RKEY_MAX),
                None => (actor, u64::MAX, u8::MAX, RKEY_MAX),
            };
            let range = t.feed_items.table()?.range((actor, 0, 0, "")..=upper)?;
            feed.ranges.push(range);
            let source = feed.ranges.len() - 1;
            feed.advance(source)?;
        }
        Ok(feed)
    }

    /// Pushes the next item of `source` that lies before the cursor.
    fn advance(&mut self, source: usize) -> Result<(), AppviewError> {
        let Some(range) = self.ranges.get_mut(source) else {
            return Ok(());
        };
        for row in range.by_ref().rev() {
            let (k, v) = row?;
            let (actor, sort_at, kind, rkey) = k.value();
            let key = (sort_at, actor, kind, rkey.to_owned());
            if self.before.as_ref().is_some_and(|b| &key >= b) {
                continue;
            }
            self.heap.push(Head {
                key,
                value: v.value().to_vec(),
                source,
            });
            return Ok(());
        }
        Ok(())
    }

    /// The next item: its key, flags, and feed item.
    pub fn next_item(&mut self) -> Result<Option<(FeedKey, u8, FeedItem)>, AppviewError> {
        let Some(head) = self.heap.pop() else {
            return Ok(None);
        };
        self.advance(head.source)?;
        let (flags, subject) = rows::read_feed_item(&head.value);
        let (sort_at, actor, kind, rkey) = head.key.clone();
        let _ = sort_at;
        let item = if kind == rows::ITEM_REPOST {
            let Some(subject) = subject else {
                return Ok(Some((
                    head.key,
                    flags,
                    FeedItem::post(RefRow { actor, rkey }),
                )));
            };
            FeedItem {
                post: subject,
                repost: Some(RefRow { actor, rkey }),
                pinned: false,
            }
        } else {
            FeedItem::post(RefRow { actor, rkey })
        };
        Ok(Some((head.key, flags, item)))
    }
}

pub fn encode_feed_cursor(key: &FeedKey) -> String {
    cursor::encode(&[key.0, key.1, u64::from(key.2)], &key.3)
}

pub fn decode_feed_cursor(c: Option<&str>) -> Result<Option<FeedKey>, AppviewError> {
    Ok(
        cursor::parse::<3>(c)?.map(|([sort_at, actor, kind], rkey)| {
            (sort_at, actor, u8::try_from(kind).unwrap_or(u8::MAX), rkey)
        }),
    )
}

/// Reads a page of a merged feed: items `keep` accepts, that the viewer may see, as
/// `feedViewPost`s; and the cursor of the next page.
pub fn page(
    ctx: &Ctx<'_>,
    feed: &mut MergedFeed<'_>,
    limit: usize,
    keep: impl Fn(&FeedItem, u8) -> bool,
    hidden: impl Fn(&Ctx<'_>, &FeedItem) -> Result<bool, AppviewError>,
) -> Result<(Vec<Json>, Option<String>), AppviewError> {
    let mut out = Vec::new();
    let mut last = None;
    let mut scanned = 0;
    while out.len() < limit && scanned < MAX_SCAN {
        let Some((key, flags, item)) = feed.next_item()? else {
            return Ok((out, None));
        };
        scanned += 1;
        last = Some(key);
        if !keep(&item, flags) || hidden(ctx, &item)? {
            continue;
        }
        if let Some(view) = ctx.feed_view_post(&item)? {
            out.push(view);
        }
    }
    Ok((out, last.as_ref().map(encode_feed_cursor)))
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TimelineParams {
    pub limit: Option<u32>,
    pub cursor: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuthorFeedParams {
    pub actor: String,
    pub limit: Option<u32>,
    pub cursor: Option<String>,
    pub filter: Option<String>,
    pub include_pins: Option<bool>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UrisParams {
    #[serde(default)]
    pub uris: Vec<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SubjectParams {
    pub uri: String,
    pub cid: Option<String>,
    pub limit: Option<u32>,
    pub cursor: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ActorPageParams {
    pub actor: String,
    pub limit: Option<u32>,
    pub cursor: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListFeedParams {
    pub list: String,
    pub limit: Option<u32>,
    pub cursor: Option<String>,
}

/// The author-feed filters of `app.bsky.feed.getAuthorFeed`.
fn author_filter(filter: Option<&str>) -> Result<fn(&FeedItem, u8) -> bool, AppviewError> {
    Ok(match filter.unwrap_or("posts_with_replies") {
        "posts_with_replies" => |_, _| true,
        "posts_no_replies" => |item, flags| item.repost.is_some() || flags & rows::FLAG_REPLY == 0,
        "posts_with_media" => |item, flags| item.repost.is_none() && flags & rows::FLAG_IMAGES != 0,
        "posts_with_video" => |item, flags| item.repost.is_none() && flags & rows::FLAG_VIDEO != 0,
        "posts_and_author_threads" => |item, flags| {
            item.repost.is_some()
                || flags & rows::FLAG_REPLY == 0
                || flags & rows::FLAG_SELF_THREAD != 0
        },
        other => {
            return Err(AppviewError::InvalidRequest(format!(
                "unknown author feed filter: {other}"
            )));
        }
    })
}

/// The account an `actor` parameter names, or the reference's "Profile not found".
pub fn require_actor(t: &Tables, actor: &str) -> Result<u64, AppviewError> {
    read::resolve_actor(t, actor)?
        .ok_or_else(|| AppviewError::InvalidRequest("Profile not found".into()))
}

impl Appview {
    /// `app.bsky.feed.getTimeline`: the viewer's own and followed accounts' posts and reposts.
    pub async fn get_timeline(
        &self,
        viewer: String,
        params: TimelineParams,
    ) -> Result<Json, AppviewError> {
        let config = self.config().clone();
        self.view_fetching_quotes(move |t| {
            let ctx = Ctx::new(t, &config, Some(&viewer))?;
            let Some(me) = ctx.viewer_id() else {
                return Ok((json!({"feed": []}), Vec::new()));
            };
            let mut sources = ctx.followees(me, MAX_TIMELINE_SOURCES)?;
            sources.push(me);
            let before = decode_feed_cursor(params.cursor.as_deref())?;
            let mut feed = MergedFeed::new(t, &sources, before)?;
            let (items, next) = page(
                &ctx,
                &mut feed,
                cursor::limit(params.limit, 50),
                |_, _| true,
                |ctx, item| ctx.feed_item_hidden(item, true),
            )?;
            Ok((feed_output(items, next), ctx.missing_quotes()))
        })
        .await
    }

    /// `app.bsky.feed.getAuthorFeed`.
    pub async fn get_author_feed(
        &self,
        viewer: Option<String>,
        params: AuthorFeedParams,
    ) -> Result<Json, AppviewError> {
        let config = self.config().clone();
        self.view_fetching_quotes(move |t| {
            let ctx = Ctx::new(t, &config, viewer.as_deref())?;
            let actor = require_actor(t, &params.actor)?;
            let Some(author) = ctx.visible_actor(actor)? else {
                return Err(AppviewError::InvalidRequest("Profile not found".into()));
            };
            if let Some(v) = &ctx.viewer {
                let rel = v.relationship(t, actor)?;
                if rel.blocking.is_some() || rel.blocking_by_list.is_some() {
                    return Err(AppviewError::named(
                        "BlockedActor",
                        format!("Requester has blocked actor: {}", author.row.did),
                    ));
                }
                if rel.blocked_by {
                    return Err(AppviewError::named(
                        "BlockedByActor",
                        format!("Requester is blocked by actor: {}", author.row.did),
                    ));
                }
            }
            let keep = author_filter(params.filter.as_deref())?;
            let before = decode_feed_cursor(params.cursor.as_deref())?;
            let first_page = before.is_none();
            let mut feed = MergedFeed::new(t, &[actor], before)?;
            let limit = cursor::limit(params.limit, 50);
            let pinned = if first_page && params.include_pins == Some(true) {
                author
                    .row
                    .profile
                    .as_ref()
                    .and_then(|p| p.pinned_post.as_ref())
                    .and_then(|(uri, _)| records::UriParts::parse(uri))
                    .filter(|p| p.did == author.row.did && p.collection == records::POST)
                    .map(|p| RefRow {
                        actor,
                        rkey: p.rkey,
                    })
            } else {
                None
            };
            let owner_muted = ctx.muted(actor)?;
            let (mut items, next) = page(
                &ctx,
                &mut feed,
                limit,
                |item, flags| {
                    keep(item, flags)
                        && !(pinned.as_ref() == Some(&item.post) && item.repost.is_none())
                },
                |ctx, item| {
                    Ok(ctx.blocked(item.post.actor)?
                        || item
                            .repost
                            .as_ref()
                            .map_or(Ok(false), |r| ctx.blocked(r.actor))?
                        || (ctx.muted(item.post.actor)? && !owner_muted))
                },
            )?;
            if let Some(pinned) = pinned
                && let Some(view) = ctx.feed_view_post(&FeedItem {
                    post: pinned,
                    repost: None,
                    pinned: true,
                })?
            {
                items.insert(0, view);
            }
            Ok((feed_output(items, next), ctx.missing_quotes()))
        })
        .await
    }

    /// `app.bsky.feed.getPosts`: posts in the order asked, leaving out unknown and blocked ones.
    pub async fn get_posts(
        &self,
        viewer: Option<String>,
        params: UrisParams,
    ) -> Result<Json, AppviewError> {
        if params.uris.len() > MAX_GET_POSTS {
            return Err(AppviewError::InvalidRequest(format!(
                "uris must have at most {MAX_GET_POSTS} items"
            )));
        }
        let config = self.config().clone();
        self.view_fetching_quotes(move |t| {
            let ctx = Ctx::new(t, &config, viewer.as_deref())?;
            let mut posts = Vec::new();
            for uri in &params.uris {
                let Some((collection, post)) = read::resolve_uri(t, uri)? else {
                    continue;
                };
                if collection != records::POST || ctx.blocked(post.actor)? {
                    continue;
                }
                if let Some(view) = ctx.post_view(&post, 0)? {
                    posts.push(view);
                }
            }
            Ok((json!({"posts": posts}), ctx.missing_quotes()))
        })
        .await
    }

    /// `app.bsky.feed.getLikes`: who liked a subject, newest first.
    pub async fn get_likes(
        &self,
        viewer: Option<String>,
        params: SubjectParams,
    ) -> Result<Json, AppviewError> {
        let config = self.config().clone();
        self.read_view(move |t| {
            let ctx = Ctx::new(t, &config, viewer.as_deref())?;
            let mut out = about_subject(&params, "likes");
            let Some((collection, subject)) = read::resolve_uri(t, &params.uri)? else {
                return Ok(out);
            };
            let Some(kind) = Kind::from_collection(&collection) else {
                return Ok(out);
            };
            let limit = cursor::limit(params.limit, 50);
            let before = cursor::parse::<2>(params.cursor.as_deref())?;
            let k = (kind.byte(), subject.actor, subject.rkey.as_str());
            let upper = match &before {
                Some(([sort_at, actor], _)) => (k.0, k.1, k.2, *sort_at, *actor),
                None => (k.0, k.1, k.2, u64::MAX, u64::MAX),
            };
            let mut likes = Vec::new();
            let mut next = None;
            for row in t
                .likes_by_subject
                .table()?
                .range((k.0, k.1, k.2, 0, 0)..upper)?
                .rev()
                .take(MAX_SCAN)
            {
                let (key, _) = row?;
                let (_, _, _, sort_at, liker) = key.value();
                next = Some(cursor::encode(&[sort_at, liker], ""));
                if ctx.blocked(liker)? {
                    continue;
                }
                if let Some(actor) = ctx.profile_view(liker)? {
                    let at = super::hydrate::datetime(sort_at);
                    likes.push(json!({"indexedAt": at, "createdAt": at, "actor": actor}));
                }
                if likes.len() >= limit {
                    break;
                }
            }
            fill_page(&mut out, "likes", likes, limit, next);
            Ok(out)
        })
        .await
    }

    /// `app.bsky.feed.getRepostedBy`.
    pub async fn get_reposted_by(
        &self,
        viewer: Option<String>,
        params: SubjectParams,
    ) -> Result<Json, AppviewError> {
        let config = self.config().clone();
        self.read_view(move |t| {
            let ctx = Ctx::new(t, &config, viewer.as_deref())?;
            let mut out = about_subject(&params, "repostedBy");
            let Some((collection, subject)) = read::resolve_uri(t, &params.uri)? else {
                return Ok(out);
            };
            if collection != records::POST {
                return Ok(out);
            }
            let limit = cursor::limit(params.limit, 50);
            let before = cursor::parse::<2>(params.cursor.as_deref())?;
            let s = (subject.actor, subject.rkey.as_str());
            let upper = match &before {
                Some(([sort_at, actor], _)) => (s.0, s.1, *sort_at, *actor),
                None => (s.0, s.1, u64::MAX, u64::MAX),
            };
            let mut actors = Vec::new();
            let mut next = None;
            for row in t
                .reposts_by_subject
                .table()?
                .range((s.0, s.1, 0, 0)..upper)?
                .rev()
                .take(MAX_SCAN)
            {
                let (key, _) = row?;
                let (_, _, sort_at, reposter) = key.value();
                next = Some(cursor::encode(&[sort_at, reposter], ""));
                if ctx.blocked(reposter)? {
                    continue;
                }
                if let Some(actor) = ctx.profile_view(reposter)? {
                    actors.push(actor);
                }
                if actors.len() >= limit {
                    break;
                }
            }
            fill_page(&mut out, "repostedBy", actors, limit, next);
            Ok(out)
        })
        .await
    }

    /// `app.bsky.feed.getQuotes`: posts quoting a post, newest first.
    pub async fn get_quotes(
        &self,
        viewer: Option<String>,
        params: SubjectParams,
    ) -> Result<Json, AppviewError> {
        let config = self.config().clone();
        self.read_view(move |t| {
            let ctx = Ctx::new(t, &config, viewer.as_deref())?;
            let mut out = about_subject(&params, "posts");
            let Some((collection, subject)) = read::resolve_uri(t, &params.uri)? else {
                return Ok(out);
            };
            if collection != records::POST {
                return Ok(out);
            }
            let limit = cursor::limit(params.limit, 50);
            let before = cursor::parse::<2>(params.cursor.as_deref())?;
            let s = (subject.actor, subject.rkey.as_str());
            let upper = match &before {
                Some(([sort_at, actor], rkey)) => (s.0, s.1, *sort_at, *actor, rkey.clone()),
                None => (s.0, s.1, u64::MAX, u64::MAX, RKEY_MAX.to_owned()),
            };
            let mut posts = Vec::new();
            let mut next = None;
            for row in t
                .quotes
                .table()?
                .range(
                    (s.0, s.1, 0, 0, "")..(upper.0, upper.1, upper.2, upper.3, upper.4.as_str()),
                )?
                .rev()
                .take(MAX_SCAN)
            {
                let (key, _) = row?;
                let (_, _, sort_at, quoter, rkey) = key.value();
                next = Some(cursor::encode(&[sort_at, quoter], rkey));
                let quote = RefRow {
                    actor: quoter,
                    rkey: rkey.to_owned(),
                };
                if ctx.blocked(quoter)? {
                    continue;
                }
                let Some(row) = read::post_row(t, &quote)? else {
                    continue;
                };
                if row.flags & rows::FLAG_VIOLATES_EMBEDDING != 0 {
                    continue;
                }
                if let Some(view) = ctx.post_view_of(&quote, &row, 0)? {
                    posts.push(view);
                }
                if posts.len() >= limit {
                    break;
                }
            }
            fill_page(&mut out, "posts", posts, limit, next);
            Ok(out)
        })
        .await
    }

    /// `app.bsky.feed.getActorLikes`: the viewer's own likes (the reference refuses others').
    pub async fn get_actor_likes(
        &self,
        viewer: String,
        params: ActorPageParams,
    ) -> Result<Json, AppviewError> {
        let config = self.config().clone();
        self.view_fetching_quotes(move |t| {
            let ctx = Ctx::new(t, &config, Some(&viewer))?;
            let actor = require_actor(t, &params.actor)?;
            if ctx.viewer_id() != Some(actor) {
                return Err(AppviewError::InvalidRequest("Profile not found".into()));
            }
            let limit = cursor::limit(params.limit, 50);
            let before = cursor::parse::<0>(params.cursor.as_deref())?.map(|(_, r)| r);
            let mut feed = Vec::new();
            let mut next = None;
            let mut scanned = 0;
            for rkey in read::rkeys_desc(t.likes.table()?, actor, before.as_deref(), MAX_SCAN)? {
                scanned += 1;
                next = Some(rkey.clone());
                let Some(like) = t
                    .likes
                    .table()?
                    .get((actor, rkey.as_str()))?
                    .map(|v| rows::decode::<rows::InteractionRow>(v.value()))
                    .transpose()?
                else {
                    continue;
                };
                if like.kind != Kind::Post.byte() {
                    continue;
                }
                let item = FeedItem::post(like.subject);
                if ctx.feed_item_hidden(&item, false)? {
                    continue;
                }
                if let Some(view) = ctx.feed_view_post(&item)? {
                    feed.push(view);
                }
                if feed.len() >= limit {
                    break;
                }
            }
            if feed.len() < limit && scanned < MAX_SCAN {
                next = None;
            }
            Ok((feed_output(feed, next), ctx.missing_quotes()))
        })
        .await
    }

    /// `app.bsky.feed.getListFeed`: posts by a list's members, newest first.
    pub async fn get_list_feed(
        &self,
        viewer: Option<String>,
        params: ListFeedParams,
    ) -> Result<Json, AppviewError> {
        let config = self.config().clone();
        self.view_fetching_quotes(move |t| {
            let ctx = Ctx::new(t, &config, viewer.as_deref())?;
            let unknown = || AppviewError::named("UnknownList", "List not found");
            let Some((collection, list)) = read::resolve_uri(t, &params.list)? else {
                return Err(unknown());
            };
            if collection != records::LIST
                || t.lists
                    .table()?
                    .get((list.actor, list.rkey.as_str()))?
                    .is_none()
            {
                return Err(unknown());
            }
            let mut members = Vec::new();
            for row in t
                .list_members
                .table()?
                .range(
                    (list.actor, list.rkey.as_str(), "")
                        ..=(list.actor, list.rkey.as_str(), RKEY_MAX),
                )?
                .take(MAX_TIMELINE_SOURCES)
            {
                members.push(row?.1.value());
            }
            let before = decode_feed_cursor(params.cursor.as_deref())?;
            let mut feed = MergedFeed::new(t, &members, before)?;
            let (items, next) = page(
                &ctx,
                &mut feed,
                cursor::limit(params.limit, 50),
                |item, _| item.repost.is_none(),
                |ctx, item| ctx.feed_item_hidden(item, true),
            )?;
            Ok((feed_output(items, next), ctx.missing_quotes()))
        })
        .await
    }
}

/// `{feed, cursor?}`.
pub fn feed_output(items: Vec<Json>, next: Option<String>) -> Json {
    let mut out = json!({"feed": items});
    if let Some(n) = next {
        out["cursor"] = json!(n);
    }
    out
}

/// The answer about one post's likes, reposts or quotes before its list is read: `{uri, cid?,
/// <field>: []}`, which is also the whole answer when the subject is unknown.
fn about_subject(params: &SubjectParams, field: &str) -> Json {
    let mut out = json!({"uri": params.uri, field: []});
    if let Some(cid) = &params.cid {
        out["cid"] = json!(cid);
    }
    out
}

/// Puts a page of `items` under `field`, with a cursor only when the page is full (a short page
/// is the last one).
fn fill_page(out: &mut Json, field: &str, items: Vec<Json>, limit: usize, next: Option<String>) {
    let next = next.filter(|_| items.len() >= limit);
    out[field] = Json::Array(items);
    if let Some(n) = next {
        out["cursor"] = json!(n);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_page_carries_the_cursor_and_a_short_one_ends_the_list() {
        let params = SubjectParams {
            uri: "at://did:plc:a/app.bsky.feed.post/3k".into(),
            cid: Some("bafy".into()),
            ..Default::default()
        };
        let mut full = about_subject(&params, "likes");
        fill_page(
            &mut full,
            "likes",
            vec![json!(1), json!(2)],
            2,
            Some("c".into()),
        );
        assert_eq!(
            full,
            json!({"uri": params.uri, "cid": "bafy", "likes": [1, 2], "cursor": "c"})
        );
        let mut short = about_subject(&params, "posts");
        fill_page(&mut short, "posts", vec![json!(1)], 2, Some("c".into()));
        assert_eq!(
            short,
            json!({"uri": params.uri, "cid": "bafy", "posts": [1]})
        );
    }
}
