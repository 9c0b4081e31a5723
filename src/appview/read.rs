//! Reading the App View's tables: point lookups and key ranges shared by every view. Everything
//! here is synchronous and runs inside one read transaction on the blocking pool
//! ([`Appview::read_view`]), so a view sees one consistent snapshot.

use super::index::RKEY_MAX;
use super::kind::Kind;
use super::records::UriParts;
use super::rows::{self, ActorCounts, ActorRow, PostRow, RefRow, SubjectCounts};
use super::tables::ReadTables;
use super::{Appview, AppviewError};
use crate::core::syntax::{AtIdentifier, Did};

/// The upper bound of free-text keys (tokens, URIs) inside key ranges.
pub const TEXT_MAX: &str = "\u{10FFFF}";

pub type Tables<'t> = ReadTables<'t>;

impl Appview {
    /// Runs `view` over one read snapshot of the App View's tables, on the blocking pool.
    pub(super) async fn read_view<T: Send + 'static>(
        &self,
        view: impl FnOnce(&Tables) -> Result<T, AppviewError> + Send + 'static,
    ) -> Result<T, AppviewError> {
        self.store()
            .read(move |txn| {
                let tables = ReadTables::new(txn);
                view(&tables)
            })
            .await
    }
}

pub fn actor_id(t: &Tables, did: &str) -> Result<Option<u64>, AppviewError> {
    Ok(t.actor_ids.table()?.get(did)?.map(|v| v.value()))
}

pub fn did_of(t: &Tables, actor: u64) -> Result<Option<String>, AppviewError> {
    Ok(t.actor_dids
        .table()?
        .get(actor)?
        .map(|v| v.value().to_owned()))
}

pub fn actor_row(t: &Tables, actor: u64) -> Result<Option<ActorRow>, AppviewError> {
    Ok(t.actors
        .table()?
        .get(actor)?
        .map(|v| rows::decode(v.value()))
        .transpose()?)
}

pub fn actor_counts(t: &Tables, actor: u64) -> Result<ActorCounts, AppviewError> {
    Ok(ActorCounts::read(
        t.actor_counts
            .table()?
            .get(actor)?
            .as_ref()
            .map(|v| v.value()),
    ))
}

pub fn subject_counts(
    t: &Tables,
    kind: Kind,
    actor: u64,
    rkey: &str,
) -> Result<SubjectCounts, AppviewError> {
    Ok(SubjectCounts::read(
        t.counts
            .table()?
            .get((kind.byte(), actor, rkey))?
            .as_ref()
            .map(|v| v.value()),
    ))
}

pub fn post_row(t: &Tables, post: &RefRow) -> Result<Option<PostRow>, AppviewError> {
    Ok(t.posts
        .table()?
        .get((post.actor, post.rkey.as_str()))?
        .map(|v| rows::decode(v.value()))
        .transpose()?)
}

/// The actor with this verified handle.
pub fn actor_by_handle(t: &Tables, handle: &str) -> Result<Option<u64>, AppviewError> {
    let handle = handle.to_ascii_lowercase();
    for row in t
        .actor_tokens
        .table()?
        .range((handle.as_str(), 0)..=(handle.as_str(), u64::MAX))?
    {
        let (k, _) = row?;
        let actor = k.value().1;
        if actor_row(t, actor)?.is_some_and(|r| r.handle.as_deref() == Some(handle.as_str())) {
            return Ok(Some(actor));
        }
    }
    Ok(None)
}

/// The actor an `at-identifier` (DID or handle) names, if the App View knows it.
pub fn resolve_actor(t: &Tables, identifier: &str) -> Result<Option<u64>, AppviewError> {
    match AtIdentifier::parse(identifier) {
        Ok(AtIdentifier::Did(did)) => actor_id(t, did.as_str()),
        Ok(AtIdentifier::Handle(handle)) => actor_by_handle(t, handle.as_str()),
        Err(_) => Err(AppviewError::InvalidRequest(format!(
            "invalid at-identifier: {identifier}"
        ))),
    }
}

/// A record URI as (collection, record ref); the authority may be a handle the App View knows.
pub fn resolve_uri(t: &Tables, uri: &str) -> Result<Option<(String, RefRow)>, AppviewError> {
    let parsed = crate::core::syntax::AtUri::parse(uri)
        .map_err(|e| AppviewError::InvalidRequest(format!("invalid at-uri {uri}: {e}")))?;
    let (Some(collection), Some(rkey)) = (parsed.collection_str(), parsed.rkey_str()) else {
        return Err(AppviewError::InvalidRequest(format!(
            "at-uri {uri} does not name a record"
        )));
    };
    let authority = parsed.authority_str();
    let actor = if Did::parse(authority).is_ok() {
        actor_id(t, authority)?
    } else {
        actor_by_handle(t, authority)?
    };
    Ok(actor.map(|actor| {
        (
            collection.to_owned(),
            RefRow {
                actor,
                rkey: rkey.to_owned(),
            },
        )
    }))
}

/// `at://<did>/<collection>/<rkey>` of a record ref.
pub fn uri_of(t: &Tables, collection: &str, r: &RefRow) -> Result<Option<String>, AppviewError> {
    Ok(did_of(t, r.actor)?.map(|did| format!("at://{did}/{collection}/{}", r.rkey)))
}

/// The record ref of a URI whose authority is a DID the App View knows.
pub fn ref_of_uri(t: &Tables, uri: &str) -> Result<Option<(String, RefRow)>, AppviewError> {
    let Some(parts) = UriParts::parse(uri) else {
        return Ok(None);
    };
    Ok(actor_id(t, &parts.did)?.map(|actor| {
        (
            parts.collection,
            RefRow {
                actor,
                rkey: parts.rkey,
            },
        )
    }))
}

pub fn takedown(t: &Tables, subject: &str) -> Result<bool, AppviewError> {
    Ok(t.takedowns.table()?.get(subject)?.is_some())
}

/// The rkeys of an actor's records in a `(actor, rkey)` table, newest rkey first, after `before`.
pub fn rkeys_desc<V: redb::Value + 'static>(
    table: &redb::ReadOnlyTable<(u64, &'static str), V>,
    actor: u64,
    before: Option<&str>,
    limit: usize,
) -> Result<Vec<String>, AppviewError> {
    let upper = before.unwrap_or(RKEY_MAX);
    let mut out = Vec::new();
    for row in table.range((actor, "")..(actor, upper))?.rev() {
        let (k, _) = row?;
        out.push(k.value().1.to_owned());
        if out.len() >= limit {
            break;
        }
    }
    Ok(out)
}

/// Whether a post row names a reply into a thread rooted at `root`.
pub fn root_of(post: &RefRow, row: &PostRow) -> RefRow {
    row.reply_root.clone().unwrap_or_else(|| post.clone())
}
