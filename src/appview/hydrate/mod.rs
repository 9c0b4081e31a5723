//! Building the lexicon view shapes from indexed rows: profiles, posts with their embeds and
//! viewer state, feed items, lists, feed generators, starter packs, labels. One [`Ctx`] serves one
//! request: it holds the read snapshot, the viewer, and caches of the accounts it already loaded.
//!
//! Shapes follow `app.bsky.actor.defs`, `app.bsky.feed.defs`, `app.bsky.graph.defs`,
//! `app.bsky.embed.*` and `com.atproto.label.defs`; the choices where the lexicons are silent
//! follow the reference's `packages/bsky/src/views/index.ts`: union members carry `$type`;
//! accounts that are taken down or inactive, and records taken down, are left out of views;
//! `following`/`followedBy` are hidden when a block exists.

mod cards;
mod post;
mod profile;

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use cid::Cid;
use serde_json::{Map, Value as Json, json};

use super::read::{self, TEXT_MAX, Tables};
use super::rows::{ActorRow, LabelRow};
use super::viewer::Viewer;
use super::{AppviewConfig, AppviewError};
use crate::core::syntax::Datetime;

pub use post::{FeedItem, not_found_post};

/// The value of a label that takes content down when a configured labeler applies it.
pub const TAKEDOWN_LABEL: &str = "!takedown";

/// An account as views need it.
pub struct Actor {
    pub id: u64,
    pub row: ActorRow,
    /// Labels on the account (its DID) from configured labelers.
    pub labels: Vec<Json>,
}

impl Actor {
    /// Whether the account's content is hidden (inactive upstream, or taken down here).
    pub fn hidden(&self) -> bool {
        self.row.status.is_some()
            || self.row.takedown.is_some()
            || self.labels.iter().any(|l| l["val"] == TAKEDOWN_LABEL)
    }
}

/// The context of one request's views.
pub struct Ctx<'a> {
    pub t: &'a Tables<'a>,
    pub viewer: Option<Viewer>,
    pub config: &'a AppviewConfig,
    actors: RefCell<HashMap<u64, Option<Rc<Actor>>>>,
    now_micros: i64,
    /// URIs of quoted posts the index does not hold (`remote_post` may fetch them).
    missing_quotes: RefCell<Vec<String>>,
}

/// Renders microseconds since the epoch as an atproto datetime (`toISOString` form).
pub fn datetime(micros: u64) -> String {
    let millis = i64::try_from(micros / 1000).unwrap_or(i64::MAX);
    Datetime::from_unix_millis(millis)
        .map(|d| d.as_str().to_owned())
        .unwrap_or_else(|_| "1970-01-01T00:00:00.000Z".to_owned())
}

/// Adds `key: value` to a JSON object when there is a value.
pub fn put(object: &mut Map<String, Json>, key: &str, value: Option<impl Into<Json>>) {
    if let Some(v) = value {
        object.insert(key.to_owned(), v.into());
    }
}

/// A union member: the object with its `$type`.
pub fn typed(kind: &str, value: Json) -> Json {
    match value {
        Json::Object(mut map) => {
            map.insert("$type".into(), Json::String(kind.to_owned()));
            Json::Object(map)
        }
        other => other,
    }
}

impl<'a> Ctx<'a> {
    pub fn new(
        t: &'a Tables,
        config: &'a AppviewConfig,
        viewer_did: Option<&str>,
    ) -> Result<Ctx<'a>, AppviewError> {
        let viewer = match viewer_did {
            Some(did) => Viewer::load(t, did)?,
            None => None,
        };
        Ok(Ctx {
            t,
            viewer,
            config,
            actors: RefCell::new(HashMap::new()),
            now_micros: crate::clock::now_micros(),
            missing_quotes: RefCell::new(Vec::new()),
        })
    }

    /// The quoted posts the views built so far could not show because the index lacks them.
    pub fn missing_quotes(&self) -> Vec<String> {
        self.missing_quotes.borrow().clone()
    }

    pub fn viewer_id(&self) -> Option<u64> {
        self.viewer.as_ref().map(|v| v.id)
    }

    /// An account, whatever its status (`None` if the App View has no row for it).
    pub fn actor(&self, id: u64) -> Result<Option<Rc<Actor>>, AppviewError> {
        if let Some(found) = self.actors.borrow().get(&id) {
            return Ok(found.clone());
        }
        let actor = match read::actor_row(self.t, id)? {
            Some(row) => {
                let labels = self.labels_on(&row.did)?;
                Some(Rc::new(Actor { id, row, labels }))
            }
            None => None,
        };
        self.actors.borrow_mut().insert(id, actor.clone());
        Ok(actor)
    }

    /// An account whose content may be shown (active and not taken down).
    pub fn visible_actor(&self, id: u64) -> Result<Option<Rc<Actor>>, AppviewError> {
        Ok(self.actor(id)?.filter(|a| !a.hidden()))
    }

    /// Whether the viewer and `actor` block each other in any way.
    pub fn blocked(&self, actor: u64) -> Result<bool, AppviewError> {
        match &self.viewer {
            Some(v) => v.blocks(self.t, actor),
            None => Ok(false),
        }
    }

    pub fn muted(&self, actor: u64) -> Result<bool, AppviewError> {
        match &self.viewer {
            Some(v) => v.mutes(self.t, actor),
            None => Ok(false),
        }
    }

    /// Labels from configured labelers on `subject` (a DID or record URI): current, not negated,
    /// not expired.
    pub fn labels_on(&self, subject: &str) -> Result<Vec<Json>, AppviewError> {
        let mut out = Vec::new();
        for row in self
            .t
            .labels
            .table()?
            .range((subject, "", "")..=(subject, TEXT_MAX, TEXT_MAX))?
        {
            let (k, v) = row?;
            let (uri, src, val) = k.value();
            let label: LabelRow = super::rows::decode(v.value())?;
            if label.neg {
                continue;
            }
            if let Some(exp) = &label.exp
                && Datetime::parse(exp).is_ok_and(|e| e.to_unix_micros() <= self.now_micros)
            {
                continue;
            }
            out.push(label_json(src, uri, val, &label));
        }
        Ok(out)
    }

    /// Whether a record is taken down (by the admin, or by a configured labeler).
    pub fn record_taken_down(&self, uri: &str, labels: &[Json]) -> Result<bool, AppviewError> {
        Ok(read::takedown(self.t, uri)? || labels.iter().any(|l| l["val"] == TAKEDOWN_LABEL))
    }

    /// A URL for a blob of `actor`: its PDS's `getBlob` (skyhold has no image service).
    pub fn blob_url(&self, actor: &ActorRow, cid: &Cid) -> String {
        let base = actor
            .pds
            .as_deref()
            .unwrap_or(self.config.public_url.as_str());
        format!(
            "{base}/xrpc/com.atproto.sync.getBlob?did={}&cid={cid}",
            actor.did
        )
    }
}

/// A `com.atproto.label.defs#label` in JSON.
pub fn label_json(src: &str, uri: &str, val: &str, label: &LabelRow) -> Json {
    let mut out = Map::new();
    put(&mut out, "ver", label.ver);
    out.insert("src".into(), json!(src));
    out.insert("uri".into(), json!(uri));
    put(&mut out, "cid", label.cid.clone());
    out.insert("val".into(), json!(val));
    if label.neg {
        out.insert("neg".into(), json!(true));
    }
    out.insert("cts".into(), json!(label.cts));
    put(&mut out, "exp", label.exp.clone());
    if !label.sig.is_empty() {
        out.insert(
            "sig".into(),
            json!({"$bytes": data_encoding::BASE64_NOPAD.encode(&label.sig)}),
        );
    }
    Json::Object(out)
}

/// Self-labels of a record, as labels from its author.
pub fn self_labels(did: &str, uri: &str, cid: &Cid, values: &[String], cts: &str) -> Vec<Json> {
    values
        .iter()
        .map(|val| json!({"src": did, "uri": uri, "cid": cid.to_string(), "val": val, "cts": cts}))
        .collect()
}
