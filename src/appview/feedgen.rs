//! Custom feeds: getFeedGenerator(s), getActorFeeds, getFeed, and the App View's own feed
//! generator (describeFeedGenerator, getFeedSkeleton) with built-in feeds.
//!
//! A feed is an `app.bsky.feed.generator` record naming a generator service DID. When that DID is
//! this App View's, the record's rkey picks a built-in algorithm ([`BUILTIN_FEEDS`]); the same feeds
//! are also reachable without a record as `at://<app view DID>/app.bsky.feed.generator/<rkey>`.
//! Other generators are asked for a skeleton (`getFeedSkeleton` at their `#bsky_fg` endpoint,
//! without the viewer's credentials, which the App View does not hold) and the skeleton is
//! hydrated here. Lexicons: `app.bsky.feed.getFeed`, `getFeedSkeleton`, `describeFeedGenerator`,
//! `getFeedGenerator(s)`, `getActorFeeds`.

use std::collections::{BinaryHeap, HashSet};
use std::time::Duration;

use serde::Deserialize;
use serde_json::{Value as Json, json};

use super::feed::{MAX_SCAN, MAX_TIMELINE_SOURCES, feed_output, require_actor};
use super::hydrate::{Ctx, FeedItem};
use super::index::RKEY_MAX;
use super::kind::Kind;
use super::read::{self, Tables};
use super::records;
use super::rows::{self, RefRow};
use super::{Appview, AppviewError, cursor};
use crate::core::syntax::Did;
use crate::net::{OutboundError, Trust, endpoint_origin};

/// The built-in feeds: (rkey, display name, description).
pub const BUILTIN_FEEDS: &[(&str, &str, &str)] = &[
    (
        "everyone",
        "Everyone",
        "Every top-level post this App View indexes, newest first.",
    ),
    (
        "follows-liked",
        "Liked by my follows",
        "Posts the accounts you follow liked, most recently liked first.",
    ),
];

/// How long a feed generator may take to answer.
const SKELETON_TIMEOUT: Duration = Duration::from_secs(10);
/// Largest skeleton accepted.
const MAX_SKELETON_BYTES: usize = 1024 * 1024;

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FeedParams {
    pub feed: String,
    pub limit: Option<u32>,
    pub cursor: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FeedsParams {
    #[serde(default)]
    pub feeds: Vec<String>,
}

/// One skeleton item: a post, and the repost that brought it.
#[derive(Debug, Clone)]
struct SkeletonItem {
    post: String,
    repost: Option<String>,
}

/// What a feed URI points at.
enum Target {
    /// A built-in feed (by rkey).
    Builtin(&'static str),
    /// Another generator service.
    External { service: String },
}

fn builtin(rkey: &str) -> Option<&'static str> {
    BUILTIN_FEEDS
        .iter()
        .find(|(name, _, _)| *name == rkey)
        .map(|(name, _, _)| *name)
}

impl Appview {
    fn feed_target(&self, t: &Tables, uri: &str) -> Result<Target, AppviewError> {
        let unknown = || AppviewError::named("UnknownFeed", format!("Unknown feed: {uri}"));
        let parsed = crate::core::syntax::AtUri::parse(uri)
            .map_err(|e| AppviewError::InvalidRequest(format!("invalid feed uri: {e}")))?;
        let own = self.config().service_did.as_str();
        let rkey = parsed.rkey_str().unwrap_or_default();
        if parsed.collection_str() != Some(records::GENERATOR) {
            return Err(unknown());
        }
        if parsed.authority_str() == own {
            return builtin(rkey).map(Target::Builtin).ok_or_else(unknown);
        }
        let Some((_, generator)) = read::resolve_uri(t, uri)? else {
            return Err(unknown());
        };
        let row = t
            .generators
            .table()?
            .get((generator.actor, generator.rkey.as_str()))?
            .map(|v| rows::decode::<rows::GeneratorRow>(v.value()))
            .transpose()?
            .ok_or_else(unknown)?;
        if row.service == own {
            return builtin(&generator.rkey)
                .map(Target::Builtin)
                .ok_or_else(unknown);
        }
        Ok(Target::External {
            service: row.service,
        })
    }

    /// A page of a built-in feed as skeleton items.
    fn builtin_skeleton(
        &self,
        t: &Tables,
        feed: &str,
        viewer: Option<&str>,
        limit: usize,
        cursor_text: Option<&str>,
    ) -> Result<(Vec<SkeletonItem>, Option<String>), AppviewError> {
        match feed {
            "everyone" => everyone(t, limit, cursor_text),
            "follows-liked" => {
                let Some(viewer) = viewer.map(|v| read::actor_id(t, v)).transpose()?.flatten()
                else {
                    return Ok((Vec::new(), None));
                };
                follows_liked(t, viewer, limit, cursor_text)
            }
            _ => Ok((Vec::new(), None)),
        }
    }

    /// `app.bsky.feed.getFeed`.
    pub async fn get_feed(
        &self,
        viewer: Option<String>,
        params: FeedParams,
    ) -> Result<Json, AppviewError> {
        let limit = cursor::limit(params.limit, 50);
        let this = self.clone();
        let feed_uri = params.feed.clone();
        let viewer_for_target = viewer.clone();
        let cursor_param = params.cursor.clone();
        // Built-in feeds are read in one snapshot; external ones need the network first.
        let target = self
            .read_view({
                let this = this.clone();
                move |t| {
                    Ok(match this.feed_target(t, &feed_uri)? {
                        Target::Builtin(name) => {
                            let page = this.builtin_skeleton(
                                t,
                                name,
                                viewer_for_target.as_deref(),
                                limit,
                                cursor_param.as_deref(),
                            )?;
                            Ok(page)
                        }
                        Target::External { service } => Err(service),
                    })
                }
            })
            .await?;
        let (items, next) = match target {
            Ok(page) => page,
            Err(service) => {
                self.fetch_skeleton(&service, &params.feed, limit, params.cursor.as_deref())
                    .await?
            }
        };
        let config = self.config().clone();
        self.view_fetching_quotes(move |t| {
            let ctx = Ctx::new(t, &config, viewer.as_deref())?;
            let mut feed = Vec::new();
            for item in &items {
                let Some((collection, post)) = read::ref_of_uri(t, &item.post)? else {
                    continue;
                };
                if collection != records::POST {
                    continue;
                }
                let repost = match &item.repost {
                    Some(uri) => match read::ref_of_uri(t, uri)? {
                        Some((c, r)) if c == records::REPOST => Some(r),
                        _ => None,
                    },
                    None => None,
                };
                let item = FeedItem {
                    post,
                    repost,
                    pinned: false,
                };
                if ctx.feed_item_hidden(&item, true)? {
                    continue;
                }
                if let Some(view) = ctx.feed_view_post(&item)? {
                    feed.push(view);
                }
            }
            Ok((feed_output(feed, next.clone()), ctx.missing_quotes()))
        })
        .await
    }

    /// Asks another feed generator for a skeleton.
    async fn fetch_skeleton(
        &self,
        service: &str,
        feed: &str,
        limit: usize,
        cursor_text: Option<&str>,
    ) -> Result<(Vec<SkeletonItem>, Option<String>), AppviewError> {
        let did = Did::parse(service).map_err(|e| {
            AppviewError::named("UnknownFeed", format!("invalid feed generator DID: {e}"))
        })?;
        let document = self
            .inner
            .resolver
            .resolve(&did)
            .await
            .map_err(|e| AppviewError::Upstream(format!("feed generator {service}: {e}")))?;
        let endpoint = document
            .service_endpoint("#bsky_fg", "BskyFeedGenerator")
            .and_then(endpoint_origin)
            .ok_or_else(|| {
                AppviewError::Upstream(format!("{service} names no feed generator service"))
            })?;
        let limit_text = limit.to_string();
        let mut query = vec![("feed", feed), ("limit", limit_text.as_str())];
        if let Some(c) = cursor_text {
            query.push(("cursor", c));
        }
        let query = serde_html_form::to_string(&query)
            .map_err(|e| AppviewError::Internal(format!("encoding a query: {e}")))?;
        let upstream = |e: OutboundError| match e {
            OutboundError::TooLarge(_) => AppviewError::Upstream("feed skeleton too large".into()),
            other => AppviewError::Upstream(format!("feed generator unreachable: {other}")),
        };
        let response = self
            .inner
            .http
            .get(
                &format!("{endpoint}/xrpc/app.bsky.feed.getFeedSkeleton?{query}"),
                Trust::Public,
            )
            .map_err(upstream)?
            .limit(MAX_SKELETON_BYTES)
            .timeout(SKELETON_TIMEOUT)
            .send()
            .await
            .map_err(upstream)?;
        if !response.status().is_success() {
            return Err(AppviewError::Upstream(format!(
                "feed generator answered {}",
                response.status()
            )));
        }
        let body = response.bytes().await.map_err(upstream)?;
        let skeleton: Json = serde_json::from_slice(&body)
            .map_err(|e| AppviewError::Upstream(format!("feed skeleton is not JSON: {e}")))?;
        let items = skeleton["feed"]
            .as_array()
            .map(|items| {
                items
                    .iter()
                    .filter_map(|i| {
                        Some(SkeletonItem {
                            post: i["post"].as_str()?.to_owned(),
                            repost: i["reason"]["repost"].as_str().map(str::to_owned),
                        })
                    })
                    .take(limit)
                    .collect()
            })
            .unwrap_or_default();
        Ok((items, skeleton["cursor"].as_str().map(str::to_owned)))
    }

    /// `app.bsky.feed.getFeedSkeleton` of the built-in generator.
    pub async fn get_feed_skeleton(
        &self,
        viewer: Option<String>,
        params: FeedParams,
    ) -> Result<Json, AppviewError> {
        let this = self.clone();
        self.read_view(move |t| {
            let name = match this.feed_target(t, &params.feed)? {
                Target::Builtin(name) => name,
                Target::External { .. } => {
                    return Err(AppviewError::named("UnknownFeed", format!("Unknown feed: {}", params.feed)));
                }
            };
            let limit = cursor::limit(params.limit, 50);
            let (items, next) =
                this.builtin_skeleton(t, name, viewer.as_deref(), limit, params.cursor.as_deref())?;
            let feed: Vec<Json> = items
                .into_iter()
                .map(|i| match i.repost {
                    Some(r) => json!({"post": i.post, "reason": {"$type": "app.bsky.feed.defs#skeletonReasonRepost", "repost": r}}),
                    None => json!({"post": i.post}),
                })
                .collect();
            Ok(feed_output(feed, next))
        })
        .await
    }

    /// `app.bsky.feed.describeFeedGenerator`.
    pub fn describe_feed_generator(&self) -> Json {
        let did = &self.config().service_did;
        let feeds: Vec<Json> = BUILTIN_FEEDS
            .iter()
            .map(|(rkey, _, _)| json!({"uri": format!("at://{did}/{}/{rkey}", records::GENERATOR)}))
            .collect();
        json!({"did": did, "feeds": feeds})
    }

    /// `app.bsky.feed.getFeedGenerator`.
    pub async fn get_feed_generator(
        &self,
        viewer: Option<String>,
        feed: String,
    ) -> Result<Json, AppviewError> {
        let config = self.config().clone();
        let this = self.clone();
        let (view, target) = self
            .read_view(move |t| {
                let ctx = Ctx::new(t, &config, viewer.as_deref())?;
                let unknown =
                    || AppviewError::named("UnknownFeed", format!("Unknown feed: {feed}"));
                let (collection, generator) = read::resolve_uri(t, &feed)?.ok_or_else(unknown)?;
                if collection != records::GENERATOR {
                    return Err(unknown());
                }
                let view = ctx.generator_view(&generator)?.ok_or_else(unknown)?;
                let target = this.feed_target(t, &feed).ok();
                Ok((view, target))
            })
            .await?;
        let (online, valid) = match target {
            Some(Target::Builtin(_)) => (true, true),
            Some(Target::External { service }) => {
                let online = match Did::parse(&service) {
                    Ok(did) => self
                        .inner
                        .resolver
                        .resolve(&did)
                        .await
                        .ok()
                        .is_some_and(|d| {
                            d.service_endpoint("#bsky_fg", "BskyFeedGenerator")
                                .is_some()
                        }),
                    Err(_) => false,
                };
                (online, online)
            }
            None => (false, false),
        };
        Ok(json!({"view": view, "isOnline": online, "isValid": valid}))
    }

    /// `app.bsky.feed.getFeedGenerators`.
    pub async fn get_feed_generators(
        &self,
        viewer: Option<String>,
        params: FeedsParams,
    ) -> Result<Json, AppviewError> {
        let config = self.config().clone();
        self.read_view(move |t| {
            let ctx = Ctx::new(t, &config, viewer.as_deref())?;
            let mut feeds = Vec::new();
            for uri in &params.feeds {
                if let Some((collection, generator)) = read::resolve_uri(t, uri)?
                    && collection == records::GENERATOR
                    && let Some(view) = ctx.generator_view(&generator)?
                {
                    feeds.push(view);
                }
            }
            Ok(json!({"feeds": feeds}))
        })
        .await
    }

    /// `app.bsky.feed.getActorFeeds`: an account's feed generators, newest first.
    pub async fn get_actor_feeds(
        &self,
        viewer: Option<String>,
        params: super::feed::ActorPageParams,
    ) -> Result<Json, AppviewError> {
        let config = self.config().clone();
        self.read_view(move |t| {
            let ctx = Ctx::new(t, &config, viewer.as_deref())?;
            let actor = require_actor(t, &params.actor)?;
            let limit = cursor::limit(params.limit, 50);
            let before = cursor::parse::<0>(params.cursor.as_deref())?.map(|(_, r)| r);
            let mut feeds = Vec::new();
            let mut next = None;
            for rkey in read::rkeys_desc(t.generators.table()?, actor, before.as_deref(), MAX_SCAN)?
            {
                next = Some(rkey.clone());
                if let Some(view) = ctx.generator_view(&RefRow { actor, rkey })? {
                    feeds.push(view);
                }
                if feeds.len() >= limit {
                    break;
                }
            }
            if feeds.len() < limit {
                next = None;
            }
            let mut out = json!({"feeds": feeds});
            if let Some(n) = next {
                out["cursor"] = json!(n);
            }
            Ok(out)
        })
        .await
    }
}

/// "everyone": top-level posts, newest first.
fn everyone(
    t: &Tables,
    limit: usize,
    cursor_text: Option<&str>,
) -> Result<(Vec<SkeletonItem>, Option<String>), AppviewError> {
    let before = cursor::parse::<2>(cursor_text)?;
    let upper = match &before {
        Some(([sort_at, actor], rkey)) => (*sort_at, *actor, rkey.clone()),
        None => (u64::MAX, u64::MAX, RKEY_MAX.to_owned()),
    };
    let mut items = Vec::new();
    let mut next = None;
    for row in t
        .all_posts
        .table()?
        .range((0, 0, "")..(upper.0, upper.1, upper.2.as_str()))?
        .rev()
        .take(limit)
    {
        let (k, _) = row?;
        let (sort_at, actor, rkey) = k.value();
        next = Some(cursor::encode(&[sort_at, actor], rkey));
        if let Some(uri) = read::uri_of(
            t,
            records::POST,
            &RefRow {
                actor,
                rkey: rkey.to_owned(),
            },
        )? {
            items.push(SkeletonItem {
                post: uri,
                repost: None,
            });
        }
    }
    if items.len() < limit {
        next = None;
    }
    Ok((items, next))
}

type LikeRange<'t> = redb::Range<'t, (u64, &'static str), &'static [u8]>;

/// "follows-liked": posts the viewer's follows liked, most recent like first, each post once per
/// page. Likes are merged across follows by their TID rkeys (creation order).
fn follows_liked(
    t: &Tables,
    viewer: u64,
    limit: usize,
    cursor_text: Option<&str>,
) -> Result<(Vec<SkeletonItem>, Option<String>), AppviewError> {
    let before = cursor::parse::<1>(cursor_text)?.map(|([liker], rkey)| (rkey, liker));
    let mut followees = Vec::new();
    for row in t
        .follow_edge
        .table()?
        .range((viewer, 0)..=(viewer, u64::MAX))?
        .take(MAX_TIMELINE_SOURCES)
    {
        followees.push(row?.0.value().1);
    }
    let mut ranges = Vec::new();
    let mut heap: BinaryHeap<((String, u64), usize)> = BinaryHeap::new();
    let upper = before.as_ref().map_or(RKEY_MAX, |(rkey, _)| rkey.as_str());
    for liker in followees {
        ranges.push((liker, t.likes.table()?.range((liker, "")..=(liker, upper))?));
    }
    let pull = |source: usize,
                ranges: &mut Vec<(u64, LikeRange<'_>)>,
                heap: &mut BinaryHeap<((String, u64), usize)>|
     -> Result<(), AppviewError> {
        let Some((liker, range)) = ranges.get_mut(source) else {
            return Ok(());
        };
        for row in range.by_ref().rev() {
            let (k, _) = row?;
            let key = (k.value().1.to_owned(), *liker);
            if before.as_ref().is_some_and(|b| &key >= b) {
                continue;
            }
            heap.push((key, source));
            return Ok(());
        }
        Ok(())
    };
    for source in 0..ranges.len() {
        pull(source, &mut ranges, &mut heap)?;
    }
    let mut items = Vec::new();
    let mut seen = HashSet::new();
    let mut next = None;
    let mut scanned = 0;
    while items.len() < limit && scanned < MAX_SCAN {
        let Some(((rkey, liker), source)) = heap.pop() else {
            next = None;
            break;
        };
        scanned += 1;
        pull(source, &mut ranges, &mut heap)?;
        next = Some(cursor::encode(&[liker], &rkey));
        let Some(like) = t
            .likes
            .table()?
            .get((liker, rkey.as_str()))?
            .map(|v| rows::decode::<rows::InteractionRow>(v.value()))
            .transpose()?
        else {
            continue;
        };
        if like.kind != Kind::Post.byte()
            || like.subject.actor == viewer
            || !seen.insert(like.subject.clone())
        {
            continue;
        }
        if let Some(uri) = read::uri_of(t, records::POST, &like.subject)? {
            items.push(SkeletonItem {
                post: uri,
                repost: None,
            });
        }
    }
    Ok((items, next))
}
