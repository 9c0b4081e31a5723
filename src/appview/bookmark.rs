//! `app.bsky.bookmark.*`: createBookmark, deleteBookmark and getBookmarks. Bookmarks are private
//! App View state written by the viewer's own calls, never records, as in the reference App View
//! (`packages/bsky/src/api/app/bsky/bookmark/`): only posts can be bookmarked, creating one twice
//! changes nothing, deleting a missing one is `NotFound`, and the post need not be known (it shows
//! as `notFoundPost` until it is). Post views carry `bookmarkCount` and `viewer.bookmarked`.
//!
//! Lexicons: `app.bsky.bookmark.createBookmark`, `deleteBookmark`, `getBookmarks`, `defs`.

use redb::ReadableTable;
use serde::Deserialize;
use serde_json::{Value as Json, json};

use super::hydrate::{Ctx, datetime, not_found_post};
use super::index::Index;
use super::read;
use super::records;
use super::rows::{self, BookmarkRow};
use super::tables::WriteTables;
use super::{Appview, AppviewError, cursor};
use crate::core::syntax::{AtUri, Did};
use crate::store::StoreError;

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateBookmarkInput {
    pub uri: String,
    pub cid: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeleteBookmarkInput {
    pub uri: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BookmarksParams {
    pub limit: Option<u32>,
    pub cursor: Option<String>,
}

/// Checks a bookmarked URI: an at-uri naming a post by its author's DID (the form post views
/// carry, so `viewer.bookmarked` can find it).
fn check_uri(uri: &str) -> Result<(), AppviewError> {
    let parsed = AtUri::parse(uri)
        .map_err(|e| AppviewError::InvalidRequest(format!("Invalid uri {uri}: {e}")))?;
    if parsed.collection_str() != Some(records::POST) {
        return Err(AppviewError::named(
            "UnsupportedCollection",
            format!("Only '{}' records can be bookmarked", records::POST),
        ));
    }
    if Did::parse(parsed.authority_str()).is_err() || parsed.rkey_str().is_none() {
        return Err(AppviewError::InvalidRequest(format!(
            "uri must name a post by its author's DID: {uri}"
        )));
    }
    Ok(())
}

fn add_count(t: &mut WriteTables<'_>, uri: &str, delta: i64) -> Result<(), StoreError> {
    let count = t
        .bookmark_counts
        .table()?
        .get(uri)?
        .map_or(0, |v| v.value());
    let next = u64::try_from(
        i64::try_from(count)
            .unwrap_or(i64::MAX)
            .saturating_add(delta),
    )
    .unwrap_or(0);
    if next == 0 {
        t.bookmark_counts.table_mut()?.remove(uri)?;
    } else {
        t.bookmark_counts.table_mut()?.insert(uri, next)?;
    }
    Ok(())
}

impl Index<'_> {
    /// Removes every bookmark of an account (it was deleted).
    pub(super) fn purge_bookmarks(&mut self, actor: u64) -> Result<(), StoreError> {
        let keys: Vec<(u64, BookmarkRow)> = self
            .t
            .bookmarks
            .table()?
            .range((actor, 0)..=(actor, u64::MAX))?
            .map(|r| {
                let (k, v) = r?;
                Ok((k.value().1, rows::decode(v.value())?))
            })
            .collect::<Result<_, StoreError>>()?;
        for (at, row) in keys {
            self.t.bookmarks.table_mut()?.remove((actor, at))?;
            self.t
                .bookmark_of
                .table_mut()?
                .remove((actor, row.uri.as_str()))?;
            add_count(&mut self.t, &row.uri, -1)?;
        }
        Ok(())
    }
}

impl Appview {
    pub async fn create_bookmark(
        &self,
        viewer: String,
        input: CreateBookmarkInput,
    ) -> Result<(), AppviewError> {
        check_uri(&input.uri)?;
        cid::Cid::try_from(input.cid.as_str())
            .map_err(|e| AppviewError::InvalidRequest(format!("Invalid cid: {e}")))?;
        let now = u64::try_from(crate::clock::now_micros()).unwrap_or(0);
        self.store()
            .write(move |txn| {
                let mut ix = Index::open(txn, now)?;
                let me = ix.actor_id(&viewer)?;
                if ix
                    .t
                    .bookmark_of
                    .table()?
                    .get((me, input.uri.as_str()))?
                    .is_some()
                {
                    return Ok(Ok(()));
                }
                // One bookmark per microsecond and viewer: the time is its key.
                let mut at = now;
                while ix.t.bookmarks.table()?.get((me, at))?.is_some() {
                    at += 1;
                }
                let row = BookmarkRow {
                    uri: input.uri,
                    cid: input.cid,
                };
                ix.t.bookmarks
                    .table_mut()?
                    .insert((me, at), rows::encode(&row)?.as_slice())?;
                ix.t.bookmark_of
                    .table_mut()?
                    .insert((me, row.uri.as_str()), at)?;
                add_count(&mut ix.t, &row.uri, 1)?;
                Ok(Ok(()))
            })
            .await
    }

    pub async fn delete_bookmark(
        &self,
        viewer: String,
        input: DeleteBookmarkInput,
    ) -> Result<(), AppviewError> {
        check_uri(&input.uri)?;
        let now = u64::try_from(crate::clock::now_micros()).unwrap_or(0);
        self.store()
            .write(move |txn| {
                let mut ix = Index::open(txn, now)?;
                let Some(me) = ix.existing_actor_id(&viewer)? else {
                    return Ok(Err(not_bookmarked()));
                };
                let Some(at) =
                    ix.t.bookmark_of
                        .table_mut()?
                        .remove((me, input.uri.as_str()))?
                        .map(|v| v.value())
                else {
                    return Ok(Err(not_bookmarked()));
                };
                ix.t.bookmarks.table_mut()?.remove((me, at))?;
                add_count(&mut ix.t, &input.uri, -1)?;
                Ok(Ok(()))
            })
            .await
    }

    /// The viewer's bookmarks, newest first, each with its post (or `notFoundPost` /
    /// `blockedPost`); mutes do not hide bookmarks, as in the reference.
    pub async fn get_bookmarks(
        &self,
        viewer: String,
        params: BookmarksParams,
    ) -> Result<Json, AppviewError> {
        let config = self.config().clone();
        self.view_fetching_quotes(move |t| {
            let ctx = Ctx::new(t, &config, Some(&viewer))?;
            let Some(me) = ctx.viewer_id() else {
                return Ok((json!({"bookmarks": []}), Vec::new()));
            };
            let limit = cursor::limit(params.limit, 50);
            let before =
                cursor::parse::<1>(params.cursor.as_deref())?.map_or(u64::MAX, |([b], _)| b);
            let mut out = Vec::new();
            let mut next = None;
            for row in t
                .bookmarks
                .table()?
                .range((me, 0)..(me, before))?
                .rev()
                .take(limit)
            {
                let (k, v) = row?;
                let at = k.value().1;
                let bookmark: BookmarkRow = rows::decode(v.value())?;
                next = Some(cursor::encode(&[at], ""));
                let item = match read::ref_of_uri(t, &bookmark.uri)? {
                    Some((_, post)) => ctx.maybe_post(&post)?,
                    None => not_found_post(&bookmark.uri),
                };
                out.push(json!({
                    "subject": {"uri": bookmark.uri, "cid": bookmark.cid},
                    "createdAt": datetime(at),
                    "item": item,
                }));
            }
            if out.len() < limit {
                next = None;
            }
            let mut body = json!({"bookmarks": out});
            if let Some(next) = next {
                body["cursor"] = json!(next);
            }
            Ok((body, ctx.missing_quotes()))
        })
        .await
    }
}

fn not_bookmarked() -> AppviewError {
    AppviewError::named("NotFound", "Bookmark does not exist")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_posts_named_by_did_can_be_bookmarked() {
        assert!(check_uri("at://did:plc:abc/app.bsky.feed.post/3k2a").is_ok());
        assert!(matches!(
            check_uri("at://did:plc:abc/app.bsky.feed.like/3k2a"),
            Err(AppviewError::Named {
                error: "UnsupportedCollection",
                ..
            })
        ));
        assert!(check_uri("at://alice.test/app.bsky.feed.post/3k2a").is_err());
        assert!(check_uri("at://did:plc:abc/app.bsky.feed.post").is_err());
        assert!(check_uri("not a uri").is_err());
    }
}
