//! Posts fetched on demand for a thread or a quote: when a thread's parent chain reaches a post the
//! index does not hold (its author lives on a PDS the relay does not carry), or a view quotes such
//! a post ([`Appview::view_fetching_quotes`]), the post is fetched from its
//! author's PDS with `com.atproto.sync.getRecord`, verified (the commit's signature against the
//! key in the author's DID document, and the MST path from the commit to the record:
//! [`crate::core::repo::verify_record_proof`]), and indexed like a streamed post with a "fetched on
//! demand" mark (`appview.fetched_posts`). The stream's copy, if the author is carried later,
//! replaces the mark; the oldest marked posts are evicted beyond [`MAX_FETCHED_POSTS`].
//!
//! Spec: <https://atproto.com/specs/sync> (`getRecord`), <https://atproto.com/specs/did> (the PDS
//! endpoint and signing key of a DID document).
//!
//! Bounded on every side, since any viewer can open any thread: at most [`MAX_PARENTS_FETCHED`]
//! posts per thread view within [`THREAD_FETCH_BUDGET`], each request within [`FETCH_TIMEOUT`] and
//! [`MAX_PROOF_LEN`] bytes, [`CONCURRENT_FETCHES`] at once across the node, and a post that failed
//! is not asked for again for [`RETRY_AFTER`]. Requests go through the guarded outbound client
//! (`Trust::Public`), which refuses private and loopback addresses unless the node runs in local
//! mode. A failure only means the thread shows the post as `notFoundPost`. A member's missing post
//! is not fetched: the stream brings every member's posts, so it was deleted.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use redb::{ReadableTable, ReadableTableMetadata};
use serde_json::Value as Json;

use super::index::{Action, Index, RecordOp};
use super::read::{self, Tables};
use super::records;
use super::{Appview, AppviewError};
use crate::core::repo::verify_record_proof;
use crate::core::syntax::{Did, RecordKey};
use crate::net::Trust;

/// Most missing parents fetched for one thread view.
pub const MAX_PARENTS_FETCHED: usize = 8;
/// How long one thread view may spend fetching.
const THREAD_FETCH_BUDGET: Duration = Duration::from_secs(5);
/// How long one `getRecord` may take.
const FETCH_TIMEOUT: Duration = Duration::from_secs(3);
/// Largest `getRecord` answer read: a commit, a path of MST nodes and one record.
const MAX_PROOF_LEN: usize = 512 * 1024;
/// `getRecord` requests in flight across the node.
pub const CONCURRENT_FETCHES: usize = 4;
/// How long a post that could not be fetched is not asked for again.
const RETRY_AFTER: Duration = Duration::from_secs(60);
/// Failures remembered (beyond this, the oldest are forgotten).
const MAX_FAILURES_KEPT: usize = 1024;
/// Posts fetched on demand kept in the index.
pub const MAX_FETCHED_POSTS: usize = 10_000;

/// Recent fetch failures, by post URI.
#[derive(Default)]
pub struct FetchFailures(std::sync::Mutex<HashMap<String, Instant>>);

impl FetchFailures {
    fn recent(&self, uri: &str, now: Instant) -> bool {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(uri)
            .is_some_and(|at| now.saturating_duration_since(*at) < RETRY_AFTER)
    }

    fn record(&self, uri: String, now: Instant) {
        let mut failures = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if failures.len() >= MAX_FAILURES_KEPT {
            failures.retain(|_, at| now.saturating_duration_since(*at) < RETRY_AFTER);
            if failures.len() >= MAX_FAILURES_KEPT {
                failures.clear();
            }
        }
        failures.insert(uri, now);
    }
}

/// The first parent on `uri`'s chain (up to `height` steps) that the index does not hold, as
/// (author DID, rkey).
fn first_missing_parent(
    t: &Tables,
    uri: &str,
    height: u32,
) -> Result<Option<(String, String)>, AppviewError> {
    let Some((collection, mut post)) = read::resolve_uri(t, uri)? else {
        return Ok(None);
    };
    if collection != records::POST {
        return Ok(None);
    }
    for _ in 0..height {
        let Some(row) = read::post_row(t, &post)? else {
            return Ok(None);
        };
        let Some(parent) = row.reply_parent else {
            return Ok(None);
        };
        if read::post_row(t, &parent)?.is_none() {
            return Ok(read::did_of(t, parent.actor)?.map(|did| (did, parent.rkey)));
        }
        post = parent;
    }
    Ok(None)
}

impl Appview {
    /// Fetches the missing parents of `uri`'s thread (see the module doc); never fails: what could
    /// not be fetched stays missing.
    pub(super) async fn fetch_missing_parents(&self, uri: &str, height: u32) {
        let work = async {
            for _ in 0..MAX_PARENTS_FETCHED {
                let (owned, h) = (uri.to_owned(), height);
                let missing = self
                    .read_view(move |t| first_missing_parent(t, &owned, h))
                    .await;
                let Ok(Some((did, rkey))) = missing else {
                    return;
                };
                if self.is_member(&did) {
                    // A member's post the stream did not bring was deleted; asking the local PDS
                    // over the network would only confirm it.
                    return;
                }
                if !self.fetch_post(&did, &rkey).await {
                    return;
                }
            }
        };
        let _ = tokio::time::timeout(THREAD_FETCH_BUDGET, work).await;
    }

    /// Renders `view` and, when it quotes posts the index lacks (`Ctx::missing_quotes`), fetches
    /// them (the same bounds as a thread's parents, shared by the view) and renders it again, so
    /// a quote of a post on a PDS the relay does not carry shows the post.
    pub(super) async fn view_fetching_quotes<F>(&self, view: F) -> Result<Json, AppviewError>
    where
        F: Fn(&Tables) -> Result<(Json, Vec<String>), AppviewError> + Send + Sync + 'static,
    {
        let view = std::sync::Arc::new(view);
        let first = view.clone();
        let (out, missing) = self.read_view(move |t| first(t)).await?;
        if missing.is_empty() || !self.fetch_quoted(missing).await {
            return Ok(out);
        }
        Ok(self.read_view(move |t| view(t)).await?.0)
    }

    /// Fetches quoted posts (AT-URIs) the index lacks; returns whether any is indexed now.
    async fn fetch_quoted(&self, uris: Vec<String>) -> bool {
        let mut wanted: Vec<(String, String)> = Vec::new();
        for uri in uris {
            let Some(parts) = records::UriParts::parse(&uri) else {
                continue;
            };
            // A member's post the stream did not bring was deleted (as for parents).
            let key = (parts.did, parts.rkey);
            if !self.is_member(&key.0) && !wanted.contains(&key) {
                wanted.push(key);
            }
        }
        let mut any = false;
        let work = async {
            for (did, rkey) in wanted.into_iter().take(MAX_PARENTS_FETCHED) {
                any |= self.fetch_post(&did, &rkey).await;
            }
        };
        let _ = tokio::time::timeout(THREAD_FETCH_BUDGET, work).await;
        any
    }

    /// Fetches, verifies and indexes one post; returns whether it is now indexed.
    async fn fetch_post(&self, did: &str, rkey: &str) -> bool {
        let uri = format!("at://{did}/{}/{rkey}", records::POST);
        let now = Instant::now();
        if self.inner.fetch_failures.recent(&uri, now) {
            return false;
        }
        match self.fetch_and_index(did, rkey).await {
            Ok(()) => true,
            Err(e) => {
                tracing::info!(%uri, error = %e, "a post could not be fetched on demand");
                self.inner.fetch_failures.record(uri, now);
                false
            }
        }
    }

    async fn fetch_and_index(&self, did: &str, rkey: &str) -> Result<(), AppviewError> {
        let upstream =
            |what: &str, e: &dyn std::fmt::Display| AppviewError::Upstream(format!("{what}: {e}"));
        let parsed = Did::parse(did).map_err(|e| upstream("DID", &e))?;
        RecordKey::parse(rkey).map_err(|e| upstream("record key", &e))?;
        let _slot = self
            .inner
            .fetch_slots
            .acquire()
            .await
            .map_err(|e| upstream("fetch slots", &e))?;
        let document = self
            .inner
            .resolver
            .resolve(&parsed)
            .await
            .map_err(|e| upstream("DID document", &e))?;
        let key = document
            .signing_key()
            .map_err(|e| upstream("signing key", &e))?;
        let pds = document
            .pds_endpoint()
            .ok_or_else(|| AppviewError::Upstream(format!("{did} names no PDS")))?
            .trim_end_matches('/')
            .to_owned();
        let url = format!(
            "{pds}/xrpc/com.atproto.sync.getRecord?did={did}&collection={}&rkey={rkey}",
            records::POST
        );
        let response = self
            .inner
            .http
            .get(&url, Trust::Public)
            .map_err(|e| upstream("getRecord", &e))?
            .limit(MAX_PROOF_LEN)
            .timeout(FETCH_TIMEOUT)
            .send()
            .await
            .map_err(|e| upstream("getRecord", &e))?;
        if !response.status().is_success() {
            return Err(AppviewError::Upstream(format!(
                "getRecord answered {}",
                response.status()
            )));
        }
        let car = response
            .bytes()
            .await
            .map_err(|e| upstream("getRecord", &e))?;
        let (owned_did, owned_rkey) = (did.to_owned(), rkey.to_owned());
        let proven = tokio::task::spawn_blocking(move || {
            verify_record_proof(&car, &owned_did, records::POST, &owned_rkey, &key)
        })
        .await
        .map_err(|e| AppviewError::Internal(e.to_string()))?
        .map_err(|e| upstream("proof", &e))?;
        let (owned_did, owned_rkey) = (did.to_owned(), rkey.to_owned());
        let now = u64::try_from(crate::clock::now_micros()).unwrap_or(0);
        let (indexed, new_actor) = self
            .store()
            .write(move |txn| {
                let mut ix = Index::open(txn, now)?;
                let (actor, new_actor) = ix.ensure_actor(&owned_did)?;
                ix.apply(&RecordOp {
                    did: &owned_did,
                    collection: records::POST,
                    rkey: &owned_rkey,
                    action: Action::Create,
                    cid: Some(proven.cid),
                    record: Some(&proven.bytes),
                })?;
                let indexed =
                    ix.t.posts
                        .table()?
                        .get((actor, owned_rkey.as_str()))?
                        .is_some();
                if indexed {
                    ix.mark_fetched(actor, &owned_rkey, MAX_FETCHED_POSTS)?;
                }
                Ok(Ok::<_, AppviewError>((indexed, new_actor)))
            })
            .await?;
        if new_actor {
            self.queue_identity(did.to_owned()).await;
        }
        if indexed {
            Ok(())
        } else {
            Err(AppviewError::Upstream(
                "the record is not a valid post".into(),
            ))
        }
    }
}

impl Index<'_> {
    /// Marks a post as fetched on demand, evicting the oldest such posts beyond `keep`. An
    /// evicted post whose author's repo is indexed from the stream (it has a rev) only loses the
    /// mark.
    fn mark_fetched(
        &mut self,
        actor: u64,
        rkey: &str,
        keep: usize,
    ) -> Result<(), crate::store::StoreError> {
        self.t
            .fetched_posts
            .table_mut()?
            .insert((actor, rkey), self.now)?;
        self.t
            .fetched_order
            .table_mut()?
            .insert((self.now, actor, rkey), ())?;
        while self.t.fetched_posts.table()?.len()? > keep as u64 {
            let oldest = self.t.fetched_order.table()?.first()?.map(|(k, _)| {
                let (at, actor, rkey) = k.value();
                (at, actor, rkey.to_owned())
            });
            let Some((at, old_actor, old_rkey)) = oldest else {
                break;
            };
            self.t
                .fetched_order
                .table_mut()?
                .remove((at, old_actor, old_rkey.as_str()))?;
            self.t
                .fetched_posts
                .table_mut()?
                .remove((old_actor, old_rkey.as_str()))?;
            if self.t.repo_revs.table()?.get(old_actor)?.is_none() {
                self.remove(old_actor, records::POST, &old_rkey, true)?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use redb::{ReadableTable, ReadableTableMetadata};
    use serde_json::json;

    use super::{FetchFailures, RETRY_AFTER};
    use crate::appview::index::{Action, Index, RecordOp};
    use crate::appview::tables;
    use crate::core::data;

    #[test]
    fn the_oldest_fetched_posts_are_evicted_and_the_streams_copy_loses_its_mark() {
        let db = redb::Database::builder()
            .create_with_backend(redb::backends::InMemoryBackend::new())
            .unwrap();
        let txn = db.begin_write().unwrap();
        tables::create_all(&txn).unwrap();
        let record = json!({"$type": "app.bsky.feed.post", "text": "t",
                            "createdAt": "2024-01-01T00:00:00Z"});
        let bytes = data::encode_value(&data::from_json(&record).unwrap()).unwrap();
        let create = |did: &'static str, rkey: &'static str| RecordOp {
            did,
            collection: "app.bsky.feed.post",
            rkey,
            action: Action::Create,
            cid: Some(data::cid_for_cbor(&bytes)),
            record: Some(&bytes),
        };
        {
            let mut at = 1_000;
            let mut fetch = |did: &'static str, rkey: &'static str| {
                at += 1;
                let mut ix = Index::open(&txn, at).unwrap();
                ix.apply(&create(did, rkey)).unwrap();
                let actor = ix.existing_actor_id(did).unwrap().unwrap();
                ix.mark_fetched(actor, rkey, 2).unwrap();
            };
            fetch("did:plc:y", "3kaaaaaaaaa22");
            fetch("did:plc:carried", "3kbbbbbbbbb22");
            // The carried account's repo is indexed from the stream: evicting only drops the mark.
            let mut ix = Index::open(&txn, 2_000).unwrap();
            let carried = ix.existing_actor_id("did:plc:carried").unwrap().unwrap();
            ix.advance_rev(carried, "3kzzzzzzzzz22").unwrap();
            drop(ix);
            fetch("did:plc:y", "3kccccccccc22");
            fetch("did:plc:y", "3kddddddddd22");
            let ix = Index::open(&txn, 3_000).unwrap();
            let y = ix.existing_actor_id("did:plc:y").unwrap().unwrap();
            let held = |actor, rkey| {
                ix.t.posts
                    .table()
                    .unwrap()
                    .get((actor, rkey))
                    .unwrap()
                    .is_some()
            };
            assert!(!held(y, "3kaaaaaaaaa22"), "the oldest is evicted");
            assert!(
                held(carried, "3kbbbbbbbbb22"),
                "the carried account's post stays"
            );
            assert!(held(y, "3kccccccccc22") && held(y, "3kddddddddd22"));
            assert_eq!(ix.t.fetched_posts.table().unwrap().len().unwrap(), 2);
        }
        // The stream's copy of a fetched post replaces the mark.
        let mut ix = Index::open(&txn, 4_000).unwrap();
        ix.apply(&create("did:plc:y", "3kddddddddd22")).unwrap();
        let y = ix.existing_actor_id("did:plc:y").unwrap().unwrap();
        assert!(
            ix.t.fetched_posts
                .table()
                .unwrap()
                .get((y, "3kddddddddd22"))
                .unwrap()
                .is_none()
        );
        assert!(
            ix.t.posts
                .table()
                .unwrap()
                .get((y, "3kddddddddd22"))
                .unwrap()
                .is_some()
        );
    }

    #[test]
    fn a_failed_post_is_not_asked_for_again_until_the_retry_delay() {
        let failures = FetchFailures::default();
        let t0 = Instant::now();
        assert!(!failures.recent("at://a", t0));
        failures.record("at://a".into(), t0);
        assert!(failures.recent("at://a", t0 + Duration::from_secs(1)));
        assert!(!failures.recent("at://a", t0 + RETRY_AFTER));
    }
}
