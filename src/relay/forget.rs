//! Accounts leaving the carried set (`scope`): once an account's grace period is over, the relay
//! stops taking its events (`scope`) and says so on [`Relay::dropped_accounts`]; `app.rs` has the
//! App View forget what it indexed, then calls [`Relay::forget_repos`], which removes the relay's
//! copy of the repo (blocks, records, counts, and last its repo row) a bounded number of rows per
//! write job, and its cached identity.
//!
//! Restart-safe without a table of its own: the repo row goes last, so a stored copy of a remote
//! account that no member needs is found again at the next start ([`Relay::load_stored_carried`]):
//! it is released then and dropped after a grace period, as if just unfollowed. That covers an
//! unfollow whose grace period ran out while the node was down and a drop cut by `kill -9`.
//!
//! Spec: <https://atproto.com/specs/sync> (a relay may carry any subset of the network's repos).

use std::collections::HashSet;
use std::time::Instant;

use redb::ReadableTable;

use super::ingest::count_collection;
use super::rows::{self, HostRow, RepoRow};
use super::tables::{BLOCKS, HOSTS, RECORDS, REPO_COLLECTIONS, REPOS};
use super::{Relay, RelayError};
use crate::store::{StoreError, WriteTransaction, open_read_table};

/// Rows removed per write job.
const STEP: usize = 1_000;

impl Relay {
    /// Accounts that left the carried set, in batches, as they leave (taken once, by `app.rs`).
    pub fn dropped_accounts(&self) -> Option<tokio::sync::mpsc::UnboundedReceiver<Vec<String>>> {
        self.inner
            .dropped_receiver
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take()
    }

    /// Whether the relay carries `did` now (an account followed again before it was forgotten).
    pub fn carries_account(&self, did: &str) -> bool {
        self.inner.scope.contains(did)
    }

    /// Tells [`Relay::dropped_accounts`] of the accounts that left; local accounts are not
    /// remote copies and are never reported.
    pub(super) async fn announce_dropped(&self, left: Vec<String>) {
        let mut dropped = Vec::with_capacity(left.len());
        for did in left {
            match self.stored_repo(&did).await {
                Ok(Some(row)) if !row.mirrored => {}
                Ok(_) => dropped.push(did),
                Err(error) => tracing::warn!(%did, %error, "reading a dropped account failed"),
            }
        }
        if !dropped.is_empty() {
            let _ = self.inner.dropped_sender.send(dropped);
        }
    }

    /// Removes the relay's copy of each of `dids` (unless carried again meanwhile) and their
    /// cached identities.
    pub async fn forget_repos(&self, dids: &[String]) -> Result<(), RelayError> {
        for did in dids {
            loop {
                if self.carries_account(did) {
                    break;
                }
                let owned = did.clone();
                let done = self
                    .store()
                    .write(move |txn| Ok(Ok::<_, RelayError>(clear_copy_step(txn, &owned, STEP)?)))
                    .await?;
                if done {
                    break;
                }
            }
            self.inner.identities.evict(did);
            tracing::info!(%did, "removed the relay's copy of an account no member needs");
        }
        Ok(())
    }

    /// Reads the remote accounts the relay holds a copy of that came from hosts followed in part
    /// or from the upstream relay (not from hosts followed whole): the carried set of before the
    /// restart. The first member set then releases those no member needs any more.
    pub(super) async fn load_stored_carried(&self) -> Result<(), RelayError> {
        let stored = self
            .store()
            .read(|txn| {
                let (Some(repos), Some(hosts)) =
                    (open_read_table(txn, REPOS)?, open_read_table(txn, HOSTS)?)
                else {
                    return Ok(HashSet::new());
                };
                let mut out = HashSet::new();
                for row in repos.iter()? {
                    let (did, value) = row?;
                    let repo: RepoRow = rows::decode(value.value())?;
                    if !repo.mirrored {
                        continue;
                    }
                    let host: Option<HostRow> = rows::get(&hosts, repo.host.as_str())?;
                    if host.is_none_or(|h| h.scoped) {
                        out.insert(did.value().to_owned());
                    }
                }
                Ok::<_, RelayError>(out)
            })
            .await?;
        *self
            .inner
            .stored_carried
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(stored);
        Ok(())
    }

    /// On the first member set since start: the accounts carried before the restart that no
    /// member needs now start their grace period.
    pub(super) fn release_stored_carried(&self, now: Instant) {
        let stored = self
            .inner
            .stored_carried
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take();
        if let Some(stored) = stored {
            self.inner.scope.release(stored, now);
        }
    }
}

/// Removes up to `limit` rows of `did`'s copy; the repo row goes with the last step. Returns
/// whether the copy is gone.
fn clear_copy_step(txn: &WriteTransaction, did: &str, limit: usize) -> Result<bool, StoreError> {
    let blocks: Vec<Vec<u8>> = txn
        .open_table(BLOCKS)?
        .range((did, &[][..])..)?
        .map_while(Result::ok)
        .take_while(|(k, _)| k.value().0 == did)
        .take(limit)
        .map(|(k, _)| k.value().1.to_vec())
        .collect();
    {
        let mut table = txn.open_table(BLOCKS)?;
        for key in &blocks {
            table.remove((did, key.as_slice()))?;
        }
    }
    let left = limit - blocks.len();
    let records: Vec<(String, String)> = txn
        .open_table(RECORDS)?
        .range((did, "", "")..)?
        .map_while(Result::ok)
        .take_while(|(k, _)| k.value().0 == did)
        .take(left)
        .map(|(k, _)| (k.value().1.to_owned(), k.value().2.to_owned()))
        .collect();
    {
        let mut table = txn.open_table(RECORDS)?;
        for (collection, rkey) in &records {
            table.remove((did, collection.as_str(), rkey.as_str()))?;
        }
    }
    if blocks.len() + records.len() >= limit {
        return Ok(false);
    }
    let counts: Vec<(String, u64)> = txn
        .open_table(REPO_COLLECTIONS)?
        .range((did, "")..)?
        .map_while(Result::ok)
        .take_while(|(k, _)| k.value().0 == did)
        .map(|(k, v)| (k.value().1.to_owned(), v.value()))
        .collect();
    for (collection, n) in counts {
        count_collection(txn, did, &collection, -i64::try_from(n).unwrap_or(i64::MAX))?;
    }
    txn.open_table(REPOS)?.remove(did)?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use redb::ReadableTable;

    use super::clear_copy_step;
    use crate::relay::tables::{BLOCKS, COLLECTIONS, RECORDS, REPO_COLLECTIONS, REPOS};

    #[test]
    fn a_copy_is_removed_in_bounded_steps_and_the_repo_row_last() {
        let db = redb::Database::builder()
            .create_with_backend(redb::backends::InMemoryBackend::new())
            .unwrap();
        let did = "did:plc:gone";
        let other = "did:plc:kept";
        let txn = db.begin_write().unwrap();
        {
            let mut blocks = txn.open_table(BLOCKS).unwrap();
            let mut records = txn.open_table(RECORDS).unwrap();
            let mut counts = txn.open_table(REPO_COLLECTIONS).unwrap();
            let mut index = txn.open_table(COLLECTIONS).unwrap();
            let mut repos = txn.open_table(REPOS).unwrap();
            for owner in [did, other] {
                for i in 0u8..5 {
                    blocks.insert((owner, &[i][..]), &b"node"[..]).unwrap();
                    let rkey = format!("r{i}");
                    records
                        .insert((owner, "app.bsky.feed.post", rkey.as_str()), &b"rec"[..])
                        .unwrap();
                }
                counts.insert((owner, "app.bsky.feed.post"), 5).unwrap();
                index.insert(("app.bsky.feed.post", owner), ()).unwrap();
                repos.insert(owner, &b"row"[..]).unwrap();
            }
        }
        let mut steps = 0;
        while !clear_copy_step(&txn, did, 4).unwrap() {
            steps += 1;
            assert!(
                txn.open_table(REPOS).unwrap().get(did).unwrap().is_some(),
                "the repo row stays until the copy is gone"
            );
        }
        assert_eq!(steps, 2, "10 rows, 4 a step");
        use redb::ReadableTableMetadata;
        assert_eq!(txn.open_table(BLOCKS).unwrap().len().unwrap(), 5);
        assert_eq!(txn.open_table(RECORDS).unwrap().len().unwrap(), 5);
        assert!(txn.open_table(REPOS).unwrap().get(did).unwrap().is_none());
        assert!(txn.open_table(REPOS).unwrap().get(other).unwrap().is_some());
        let index = txn.open_table(COLLECTIONS).unwrap();
        assert!(index.get(("app.bsky.feed.post", did)).unwrap().is_none());
        assert!(index.get(("app.bsky.feed.post", other)).unwrap().is_some());
    }
}
