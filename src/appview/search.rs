//! Search over the App View's own indexes: `app.bsky.feed.searchPosts`,
//! `app.bsky.actor.searchActors` and `searchActorsTypeahead`.
//!
//! Posts: a post matches when it holds every word of the query (see `tokens.rs`); candidates come
//! from the posting list of the query's longest word in the search file (`search_index.rs`; a
//! search first waits for it to catch up with the posts indexed so far), newest first, and the other words are checked
//! with point lookups. `from:`/`author:` in the query and the lexicon's filters (author, mentions,
//! lang, domain, url, tag, since, until) are applied to candidates. At most [`MAX_SCAN`] candidates
//! are examined per page; `sort=top` ranks the first [`MAX_TOP`] matches by engagement.
//!
//! Actors: every query word must be a prefix of one of the account's tokens (handle, handle parts,
//! display-name words); candidates come from the prefix range of the first word; at most
//! [`MAX_ACTOR_CANDIDATES`] are ranked (exact handle first, then followers). Limits are listed in
//! docs/BEHAVIORS.md.

use serde::Deserialize;
use serde_json::{Value as Json, json};

use super::hydrate::Ctx;
use super::index::RKEY_MAX;
use super::kind::Kind;
use super::read::{self, TEXT_MAX, Tables};
use super::records;
use super::rows::{self, RefRow};
use super::search_index;
use super::tokens;
use super::{Appview, AppviewError, cursor};
use crate::core::data;
use crate::core::syntax::Datetime;
use crate::store::open_read_table;

/// Most candidate posts examined for one page.
pub const MAX_SCAN: usize = 10_000;
/// Most matches ranked for `sort=top`.
pub const MAX_TOP: usize = 1000;
/// Most candidate accounts ranked for one actor search.
pub const MAX_ACTOR_CANDIDATES: usize = 1000;

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SearchPostsParams {
    pub q: String,
    pub sort: Option<String>,
    pub since: Option<String>,
    pub until: Option<String>,
    pub mentions: Option<String>,
    pub author: Option<String>,
    pub lang: Option<String>,
    pub domain: Option<String>,
    pub url: Option<String>,
    #[serde(default)]
    pub tag: Vec<String>,
    pub limit: Option<u32>,
    pub cursor: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SearchActorsParams {
    pub q: Option<String>,
    pub term: Option<String>,
    pub limit: Option<u32>,
    pub cursor: Option<String>,
}

/// Filters a candidate post must pass.
struct PostFilter {
    author: Option<u64>,
    mentions: Option<String>,
    lang: Option<String>,
    domain: Option<String>,
    url: Option<String>,
    tags: Vec<String>,
    since: u64,
    until: u64,
}

fn micros(text: &Option<String>, default: u64) -> Result<u64, AppviewError> {
    match text {
        None => Ok(default),
        Some(t) => {
            let parsed = Datetime::parse(t)
                .or_else(|_| Datetime::parse(&format!("{t}T00:00:00Z")))
                .map_err(|_| AppviewError::named("BadQueryString", format!("bad datetime {t}")))?;
            Ok(u64::try_from(parsed.to_unix_micros()).unwrap_or(0))
        }
    }
}

fn host_of(url: &str) -> Option<&str> {
    let rest = url.split_once("://")?.1;
    rest.split(['/', '?', '#']).next()
}

impl PostFilter {
    fn accepts(&self, t: &Tables, post: &RefRow) -> Result<bool, AppviewError> {
        if self.author.is_some_and(|a| a != post.actor) {
            return Ok(false);
        }
        let needs_record = self.mentions.is_some()
            || self.lang.is_some()
            || self.domain.is_some()
            || self.url.is_some()
            || !self.tags.is_empty();
        if !needs_record {
            return Ok(true);
        }
        let Some(row) = read::post_row(t, post)? else {
            return Ok(false);
        };
        let Some(parsed) = data::decode_value(&row.record)
            .ok()
            .and_then(|v| records::post(&v))
        else {
            return Ok(false);
        };
        if let Some(m) = &self.mentions
            && !parsed.mentions.contains(m)
        {
            return Ok(false);
        }
        if let Some(lang) = &self.lang
            && !parsed
                .langs
                .iter()
                .any(|l| l == lang || l.split('-').next() == Some(lang.as_str()))
        {
            return Ok(false);
        }
        if let Some(domain) = &self.domain
            && !parsed.links.iter().any(|l| {
                host_of(l).is_some_and(|h| h == domain || h.ends_with(&format!(".{domain}")))
            })
        {
            return Ok(false);
        }
        if let Some(url) = &self.url
            && !parsed.links.iter().any(|l| l == url)
        {
            return Ok(false);
        }
        Ok(self
            .tags
            .iter()
            .all(|tag| parsed.tags.contains(&tag.to_lowercase())))
    }
}

impl Appview {
    pub async fn search_posts(
        &self,
        viewer: Option<String>,
        params: SearchPostsParams,
    ) -> Result<Json, AppviewError> {
        let config = self.config().clone();
        if !self.search_caught_up().await? {
            tracing::debug!("searchPosts answers while the search index catches up");
        }
        let search = self.clone();
        self.read_view(move |t| {
            let ctx = Ctx::new(t, &config, viewer.as_deref())?;
            let search_txn = search.inner.search.begin_read()?;
            let Some(post_terms) = open_read_table(&search_txn, search_index::TERMS)? else {
                return Ok(json!({"posts": []}));
            };
            let mut author = params.author.clone();
            let mut words = String::new();
            for part in params.q.split_whitespace() {
                match part.split_once(':') {
                    Some(("from" | "author", who)) if !who.is_empty() => {
                        author = Some(who.to_owned())
                    }
                    _ if part.starts_with("did:") => author = Some(part.to_owned()),
                    _ => {
                        words.push_str(part);
                        words.push(' ');
                    }
                }
            }
            let mut terms = tokens::tokens(&words);
            if terms.is_empty() {
                return Ok(json!({"posts": []}));
            }
            terms.sort_by_key(|t| std::cmp::Reverse(t.len()));
            let author = match author {
                Some(a) => match read::resolve_actor(t, a.trim_start_matches('@'))? {
                    Some(id) => Some(id),
                    None => return Ok(json!({"posts": []})),
                },
                None => None,
            };
            let filter = PostFilter {
                author,
                mentions: match &params.mentions {
                    Some(m) => match read::resolve_actor(t, m)? {
                        Some(id) => read::did_of(t, id)?,
                        None => return Ok(json!({"posts": []})),
                    },
                    None => None,
                },
                lang: params.lang.clone(),
                domain: params.domain.clone(),
                url: params.url.clone(),
                tags: params.tag.clone(),
                since: micros(&params.since, 0)?,
                until: micros(&params.until, u64::MAX)?,
            };
            let top = params.sort.as_deref() == Some("top");
            let limit = cursor::limit(params.limit, 25);
            let (first, rest) = terms.split_at(1);
            let first = first[0].as_str();
            let before = if top {
                None
            } else {
                cursor::parse::<2>(params.cursor.as_deref())?
            };
            let upper = match &before {
                Some(([sort_at, actor], rkey)) => (*sort_at, *actor, rkey.clone()),
                None => (filter.until, u64::MAX, RKEY_MAX.to_owned()),
            };
            let mut matches: Vec<(u64, RefRow)> = Vec::new();
            let mut next = None;
            let want = if top { MAX_TOP } else { limit };
            for row in post_terms
                .range((first, filter.since, 0, "")..(first, upper.0, upper.1, upper.2.as_str()))?
                .rev()
                .take(MAX_SCAN)
            {
                let (k, _) = row?;
                let (_, sort_at, actor, rkey) = k.value();
                next = Some(cursor::encode(&[sort_at, actor], rkey));
                let mut all = true;
                for term in rest {
                    if post_terms
                        .get((term.as_str(), sort_at, actor, rkey))?
                        .is_none()
                    {
                        all = false;
                        break;
                    }
                }
                let post = RefRow {
                    actor,
                    rkey: rkey.to_owned(),
                };
                if !all || !filter.accepts(t, &post)? || ctx.blocked(actor)? {
                    continue;
                }
                matches.push((sort_at, post));
                if matches.len() >= want {
                    break;
                }
            }
            if matches.len() < want {
                next = None;
            }
            if top {
                let offset = cursor::parse::<1>(params.cursor.as_deref())?
                    .map_or(0, |([o], _)| usize::try_from(o).unwrap_or(0));
                let mut ranked = Vec::new();
                for (sort_at, post) in matches {
                    let c = read::subject_counts(t, Kind::Post, post.actor, &post.rkey)?;
                    let score = u64::from(c.0[rows::LIKES])
                        + u64::from(c.0[rows::REPOSTS])
                        + u64::from(c.0[rows::REPLIES])
                        + u64::from(c.0[rows::QUOTES]);
                    ranked.push((score, sort_at, post));
                }
                ranked.sort_by(|a, b| b.0.cmp(&a.0).then(b.1.cmp(&a.1)));
                let total = ranked.len();
                let mut posts = Vec::new();
                for (_, _, post) in ranked.into_iter().skip(offset).take(limit) {
                    if let Some(v) = ctx.post_view(&post, 0)? {
                        posts.push(v);
                    }
                }
                let mut out = json!({"posts": posts});
                if offset + limit < total {
                    out["cursor"] = json!(cursor::encode(&[(offset + limit) as u64], ""));
                }
                return Ok(out);
            }
            let mut posts = Vec::new();
            for (_, post) in &matches {
                if let Some(v) = ctx.post_view(post, 0)? {
                    posts.push(v);
                }
            }
            let mut out = json!({"posts": posts});
            if let Some(n) = next {
                out["cursor"] = json!(n);
            }
            Ok(out)
        })
        .await
    }

    /// Accounts matching a query, ranked: exact handle first, then by followers.
    fn matching_actors(ctx: &Ctx<'_>, t: &Tables, query: &str) -> Result<Vec<u64>, AppviewError> {
        let words = tokens::actor_tokens(None, Some(query));
        let whole = query.trim().trim_start_matches('@').to_lowercase();
        let Some(first) = words.first() else {
            return Ok(Vec::new());
        };
        let mut candidates: Vec<u64> = Vec::new();
        // The whole query as a handle prefix catches "alice.te"; each word as a token prefix the rest.
        for prefix in [whole.as_str(), first.as_str()] {
            if prefix.is_empty() {
                continue;
            }
            let end = format!("{prefix}{TEXT_MAX}");
            for row in t
                .actor_tokens
                .table()?
                .range((prefix, 0)..(end.as_str(), 0))?
                .take(MAX_ACTOR_CANDIDATES)
            {
                let (k, _) = row?;
                let id = k.value().1;
                if !candidates.contains(&id) {
                    candidates.push(id);
                }
            }
        }
        let mut ranked = Vec::new();
        for id in candidates {
            let Some(actor) = ctx.visible_actor(id)? else {
                continue;
            };
            if ctx.blocked(id)? {
                continue;
            }
            let handle = actor.row.handle.clone().unwrap_or_default();
            let own = tokens::actor_tokens(
                actor.row.handle.as_deref(),
                actor
                    .row
                    .profile
                    .as_ref()
                    .and_then(|p| p.display_name.as_deref()),
            );
            let matches = handle.starts_with(&whole)
                || words
                    .iter()
                    .all(|w| own.iter().any(|o| o.starts_with(w.as_str())));
            if !matches {
                continue;
            }
            let exact = handle == whole;
            let followers = read::actor_counts(t, id)?.0[rows::FOLLOWERS];
            ranked.push((exact, followers, id));
        }
        ranked.sort_by(|a, b| b.0.cmp(&a.0).then(b.1.cmp(&a.1)).then(a.2.cmp(&b.2)));
        Ok(ranked.into_iter().map(|(_, _, id)| id).collect())
    }

    pub async fn search_actors(
        &self,
        viewer: Option<String>,
        params: SearchActorsParams,
    ) -> Result<Json, AppviewError> {
        let config = self.config().clone();
        self.read_view(move |t| {
            let ctx = Ctx::new(t, &config, viewer.as_deref())?;
            let query = params.q.or(params.term).unwrap_or_default();
            let limit = cursor::limit(params.limit, 25);
            let offset = cursor::parse::<1>(params.cursor.as_deref())?
                .map_or(0, |([o], _)| usize::try_from(o).unwrap_or(0));
            let ids = Self::matching_actors(&ctx, t, &query)?;
            let total = ids.len();
            let mut actors = Vec::new();
            for id in ids.into_iter().skip(offset).take(limit) {
                if let Some(v) = ctx.profile_view(id)? {
                    actors.push(v);
                }
            }
            let mut out = json!({"actors": actors});
            if offset + limit < total {
                out["cursor"] = json!(cursor::encode(&[(offset + limit) as u64], ""));
            }
            Ok(out)
        })
        .await
    }

    pub async fn search_actors_typeahead(
        &self,
        viewer: Option<String>,
        params: SearchActorsParams,
    ) -> Result<Json, AppviewError> {
        let config = self.config().clone();
        self.read_view(move |t| {
            let ctx = Ctx::new(t, &config, viewer.as_deref())?;
            let query = params.q.or(params.term).unwrap_or_default();
            let limit = cursor::limit(params.limit, 10);
            let mut actors = Vec::new();
            for id in Self::matching_actors(&ctx, t, &query)?
                .into_iter()
                .take(limit)
            {
                if let Some(v) = ctx.profile_basic(id)? {
                    actors.push(v);
                }
            }
            Ok(json!({"actors": actors}))
        })
        .await
    }
}
