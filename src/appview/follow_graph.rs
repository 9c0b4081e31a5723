//! What the relay's carried set is derived from (`app.rs` wires the two): the accounts a set of
//! actors (the local PDS's members) follow, and a signal each time the indexed follow graph may
//! have changed (a follow created or deleted, an account's status changed, a repo backfilled).
//!
//! Spec: the `app.bsky.graph.follow` lexicon. The App View never imports the relay.

use std::collections::HashSet;

use super::{Appview, AppviewError, read};

/// Most follows read for one actor (a member following more is carried up to this many).
const MAX_FOLLOWS_PER_ACTOR: usize = 100_000;

impl Appview {
    /// Changes each time the follow graph may have changed; its value means nothing.
    pub fn graph_changes(&self) -> tokio::sync::watch::Receiver<u64> {
        self.inner.graph_changes.subscribe()
    }

    pub(super) fn graph_changed(&self) {
        self.inner
            .graph_changes
            .send_modify(|n| *n = n.wrapping_add(1));
    }

    /// Every account one of `actors` follows (indexed follows; the actors themselves excluded).
    pub async fn follows_of(&self, actors: Vec<String>) -> Result<HashSet<String>, AppviewError> {
        self.read_view(move |t| {
            let mut out = HashSet::new();
            for did in &actors {
                let Some(actor) = read::actor_id(t, did)? else {
                    continue;
                };
                for row in t
                    .following
                    .range((actor, 0, 0)..=(actor, u64::MAX, u64::MAX))?
                    .take(MAX_FOLLOWS_PER_ACTOR)
                {
                    let (key, _) = row?;
                    let (_, _, subject) = key.value();
                    if let Some(subject) = t.actor_dids.get(subject)? {
                        out.insert(subject.value().to_owned());
                    }
                }
            }
            for did in &actors {
                out.remove(did);
            }
            Ok(out)
        })
        .await
    }
}
