//! `app.bsky.feed.getPostThread`: the anchor post, its parents up to `parentHeight`, and its
//! replies down to `depth`, as `threadViewPost`s, with `notFoundPost`/`blockedPost` placeholders.
//!
//! As the reference (`views/index.ts` `thread`, `threadParent`, `threadReplies`): a reply the
//! threadgate forbids is left out (and gets no parent or replies when it is the anchor); a reply
//! whose author and parent's author block each other is left out, and such a parent shows as
//! `blockedPost`; posts of accounts the viewer blocks show as `blockedPost`; parents outside the
//! anchor's thread stop the walk; replies come oldest first. A thread holds at most
//! [`MAX_THREAD_POSTS`] posts. Parents the index lacks are fetched from their authors' PDSs first
//! ([`super::remote_post`]).

use serde::Deserialize;
use serde_json::{Map, Value as Json, json};

use super::hydrate::{Ctx, typed};
use super::index::RKEY_MAX;
use super::kind::Kind;
use super::read::{self, Tables};
use super::records;
use super::rows::{self, PostRow, RefRow};
use super::viewer::block_between;
use super::{Appview, AppviewError};

/// Most posts one thread view holds (replies beyond are left out).
pub const MAX_THREAD_POSTS: usize = 1000;
/// Most direct replies read per post.
const MAX_REPLIES_PER_POST: usize = 500;

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ThreadParams {
    pub uri: String,
    pub depth: Option<u32>,
    pub parent_height: Option<u32>,
}

struct Walk<'c, 'a> {
    ctx: &'c Ctx<'a>,
    t: &'a Tables<'a>,
    budget: usize,
}

impl Walk<'_, '_> {
    fn thread_context(&self, post: &RefRow, root: &RefRow) -> Result<Json, AppviewError> {
        let mut out = Map::new();
        let like = self.t.like_of.table()?.get((
            Kind::Post.byte(),
            post.actor,
            post.rkey.as_str(),
            root.actor,
        ))?;
        if let Some(rkey) = like
            && let Some(did) = read::did_of(self.t, root.actor)?
        {
            out.insert(
                "rootAuthorLike".into(),
                json!(format!("at://{did}/{}/{}", records::LIKE, rkey.value())),
            );
        }
        Ok(Json::Object(out))
    }

    fn parent(
        &mut self,
        child: &RefRow,
        child_row: &PostRow,
        root: &RefRow,
        height: u32,
    ) -> Result<Option<Json>, AppviewError> {
        if height < 1 {
            return Ok(None);
        }
        let Some(parent) = &child_row.reply_parent else {
            return Ok(None);
        };
        if block_between(self.t, child.actor, parent.actor)? {
            return Ok(Some(self.ctx.blocked_post(parent)?));
        }
        let Some(row) = read::post_row(self.t, parent)? else {
            return Ok(Some(self.ctx.not_found_post(parent)?));
        };
        let Some(view) = self.ctx.post_view_of(parent, &row, 0)? else {
            return Ok(Some(self.ctx.not_found_post(parent)?));
        };
        if &read::root_of(parent, &row) != root {
            return Ok(None);
        }
        if self.ctx.blocked(parent.actor)? {
            return Ok(Some(self.ctx.blocked_post(parent)?));
        }
        self.budget = self.budget.saturating_sub(1);
        let mut out = Map::new();
        out.insert("post".into(), view);
        if let Some(grandparent) = self.parent(parent, &row, root, height - 1)? {
            out.insert("parent".into(), grandparent);
        }
        out.insert("threadContext".into(), self.thread_context(parent, root)?);
        Ok(Some(typed(
            "app.bsky.feed.defs#threadViewPost",
            Json::Object(out),
        )))
    }

    fn replies(
        &mut self,
        parent: &RefRow,
        root: &RefRow,
        depth: u32,
    ) -> Result<Option<Vec<Json>>, AppviewError> {
        if depth < 1 {
            return Ok(None);
        }
        let mut children = Vec::new();
        for row in self
            .t
            .replies
            .table()?
            .range(
                (parent.actor, parent.rkey.as_str(), 0, 0, "")
                    ..=(
                        parent.actor,
                        parent.rkey.as_str(),
                        u64::MAX,
                        u64::MAX,
                        RKEY_MAX,
                    ),
            )?
            .take(MAX_REPLIES_PER_POST)
        {
            let (k, _) = row?;
            let (_, _, _, actor, rkey) = k.value();
            children.push(RefRow {
                actor,
                rkey: rkey.to_owned(),
            });
        }
        let mut out = Vec::new();
        for child in children {
            if self.budget == 0 {
                break;
            }
            let Some(row) = read::post_row(self.t, &child)? else {
                continue;
            };
            if row.flags & rows::FLAG_VIOLATES_THREADGATE != 0
                || block_between(self.t, child.actor, parent.actor)?
                || &read::root_of(&child, &row) != root
            {
                continue;
            }
            let Some(view) = self.ctx.post_view_of(&child, &row, 0)? else {
                continue;
            };
            if self.ctx.blocked(child.actor)? {
                out.push(self.ctx.blocked_post(&child)?);
                continue;
            }
            self.budget -= 1;
            let mut node = Map::new();
            node.insert("post".into(), view);
            if let Some(replies) = self.replies(&child, root, depth - 1)? {
                node.insert("replies".into(), Json::Array(replies));
            }
            node.insert("threadContext".into(), self.thread_context(&child, root)?);
            out.push(typed(
                "app.bsky.feed.defs#threadViewPost",
                Json::Object(node),
            ));
        }
        Ok(Some(out))
    }
}

impl Appview {
    pub async fn get_post_thread(
        &self,
        viewer: Option<String>,
        params: ThreadParams,
    ) -> Result<Json, AppviewError> {
        let depth = params.depth.unwrap_or(6).min(1000);
        let height = params.parent_height.unwrap_or(80).min(1000);
        // Parents on PDSs the relay does not carry are fetched first (bounded; a failure leaves
        // them `notFoundPost`).
        self.fetch_missing_parents(&params.uri, height).await;
        let config = self.config().clone();
        self.view_fetching_quotes(move |t| {
            let ctx = Ctx::new(t, &config, viewer.as_deref())?;
            let not_found =
                || AppviewError::named("NotFound", format!("Post not found: {}", params.uri));
            let Some((collection, anchor)) = read::resolve_uri(t, &params.uri)? else {
                return Err(not_found());
            };
            if collection != records::POST {
                return Err(not_found());
            }
            let Some(row) = read::post_row(t, &anchor)? else {
                return Err(not_found());
            };
            let Some(view) = ctx.post_view_of(&anchor, &row, 0)? else {
                return Err(not_found());
            };
            let root = read::root_of(&anchor, &row);
            let thread = if ctx.blocked(anchor.actor)? {
                ctx.blocked_post(&anchor)?
            } else {
                let mut walk = Walk {
                    ctx: &ctx,
                    t,
                    budget: MAX_THREAD_POSTS - 1,
                };
                let mut node = Map::new();
                node.insert("post".into(), view);
                if row.flags & rows::FLAG_VIOLATES_THREADGATE == 0 {
                    if let Some(parent) = walk.parent(&anchor, &row, &root, height)? {
                        node.insert("parent".into(), parent);
                    }
                    if let Some(replies) = walk.replies(&anchor, &root, depth)? {
                        node.insert("replies".into(), Json::Array(replies));
                    }
                }
                node.insert("threadContext".into(), walk.thread_context(&anchor, &root)?);
                typed("app.bsky.feed.defs#threadViewPost", Json::Object(node))
            };
            let mut out = json!({"thread": thread});
            if let Some(gate) = ctx.threadgate_view(&root)? {
                out["threadgate"] = gate;
            }
            Ok((out, ctx.missing_quotes()))
        })
        .await
    }
}
