//! Taking the events of the carried accounts (see `scope`): each one's DID document names its PDS,
//! whose `subscribeRepos` the relay follows for the carried accounts only (many accounts of one PDS
//! share one connection), or, with `--relay-upstream`, the upstream relay's stream filtered the same
//! way. An account that enters the set is backfilled at once (`getRepo`, then a `#sync` in the
//! merged log, which makes the App View index the whole repo), so a member sees a friend's earlier
//! posts right after following, not after the friend's next post.
//!
//! Spec: <https://atproto.com/specs/sync> (reliable synchronization: a repo whose events were not
//! followed is fetched whole), <https://atproto.com/specs/event-stream>.

use std::collections::HashSet;
use std::time::Instant;

use super::hosts::{is_address_or_loopback, normalize_host};
use super::ingest::Origin;
use super::rows::{self, HostRow, RepoRow};
use super::scope::ScopeSize;
use super::status::{HostStatus, RepoStatus};
use super::tables::{HOSTS, REPOS};
use super::{Relay, RelayError};
use crate::store::open_read_table;

impl Relay {
    /// Whether events for `did` from `origin` are kept: all of a fully followed host's,
    /// only the carried accounts' from an upstream relay or a host followed in part.
    pub(super) fn carries(&self, origin: Origin<'_>, did: &str) -> bool {
        match origin {
            Origin::Aggregator(_) => self.inner.scope.contains(did),
            Origin::Host(host) => !self.is_scoped_host(host) || self.inner.scope.contains(did),
        }
    }

    pub(super) fn is_scoped_host(&self, host: &str) -> bool {
        self.inner
            .scoped_hosts
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .contains(host)
    }

    /// Makes `host` a fully followed one in memory (the caller updates its row).
    pub(super) fn unscope_host(&self, host: &str) {
        self.inner
            .scoped_hosts
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .remove(host);
    }

    /// Reads which stored hosts are followed in part, before their subscriptions start.
    pub(super) async fn load_scoped_hosts(&self) -> Result<(), RelayError> {
        let scoped = self
            .store()
            .read(|txn| {
                let Some(table) = open_read_table(txn, HOSTS)? else {
                    return Ok(HashSet::new());
                };
                let mut out = HashSet::new();
                for row in redb::ReadableTable::iter(&table)? {
                    let (k, v) = row?;
                    let row: HostRow = rows::decode(v.value())?;
                    if row.scoped {
                        out.insert(k.value().to_owned());
                    }
                }
                Ok::<_, RelayError>(out)
            })
            .await?;
        *self
            .inner
            .scoped_hosts
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = scoped;
        Ok(())
    }

    /// Follows the operator's accounts and starts dropping accounts whose grace period is over.
    pub(super) fn start_scope(&self) {
        for did in self.inner.scope.dids() {
            self.spawn_carry(did, false);
        }
        let relay = self.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(relay.inner.scope.sweep_interval());
            loop {
                tick.tick().await;
                let left = relay.inner.scope.expire(Instant::now());
                for did in &left {
                    tracing::info!(%did, "no member follows the account any more; its events are dropped");
                }
                if !left.is_empty() {
                    relay.retire_unused_hosts(&left);
                    relay.announce_dropped(left).await;
                }
            }
        });
    }

    /// Replaces the accounts local members need (`app.rs` feeds it from the App View's
    /// `follow_graph`: follows, interactions, subscribed lists). Accounts that enter the set are followed and backfilled in the background.
    pub fn set_member_follows(&self, follows: HashSet<String>) {
        let seeded = self
            .inner
            .scope_seeded
            .swap(true, std::sync::atomic::Ordering::SeqCst);
        let now = Instant::now();
        let entered = self.inner.scope.set_members(follows, now);
        if !seeded {
            self.release_stored_carried(now);
        }
        for did in entered {
            // After a restart the whole set "enters": accounts the relay holds were carried
            // before and their hosts' cursors resume; only new ones are backfilled. (One that had
            // left meanwhile is caught up by its next commit, whose broken chain starts a resync.)
            self.spawn_carry(did, seeded);
        }
    }

    /// Ends the subscriptions of scoped hosts on which no carried account lives any more (an
    /// unfollowed friend on a busy PDS must not cost its whole stream forever).
    fn retire_unused_hosts(&self, left: &[String]) {
        let unused: Vec<String> = {
            let mut carried = self
                .inner
                .carried_hosts
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            let hosts: HashSet<String> = left.iter().filter_map(|d| carried.remove(d)).collect();
            carried.retain(|did, _| self.inner.scope.contains(did));
            let used: HashSet<&String> = carried.values().collect();
            hosts
                .into_iter()
                .filter(|h| !used.contains(h) && self.is_scoped_host(h))
                .collect()
        };
        let mut retired = self
            .inner
            .retired_hosts
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        for host in unused {
            tracing::info!(%host, "no carried account lives on the host any more; unsubscribing");
            retired.insert(host);
        }
    }

    /// Whether a scoped host's subscription should end.
    pub(super) fn is_retired(&self, host: &str) -> bool {
        self.inner
            .retired_hosts
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .contains(host)
    }

    fn spawn_carry(&self, did: String, backfill: bool) {
        let relay = self.clone();
        tokio::spawn(async move {
            if let Err(e) = relay.carry(&did, backfill).await {
                tracing::warn!(%did, error = %e, "cannot follow a carried account");
            }
        });
    }

    /// Follows `did`'s PDS (unless the upstream relay brings its events) and backfills it when it
    /// has just entered the set or was never seen.
    async fn carry(&self, did: &str, backfill: bool) -> Result<(), RelayError> {
        let identity = self
            .inner
            .identities
            .get(did, false)
            .await
            .ok_or_else(|| RelayError::Upstream(format!("cannot resolve {did}")))?;
        let host = identity
            .pds_host
            .ok_or_else(|| RelayError::Upstream(format!("{did} names no PDS")))?;
        let host = normalize_host(&host)?;
        if self.is_local_host(&host) {
            return Ok(());
        }
        self.inner
            .carried_hosts
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(did.to_owned(), host.clone());
        if self.inner.config.upstream.is_none() {
            self.follow_for_scope(&host).await?;
        }
        let stored = self.stored_repo(did).await?;
        // A scoped host that never sent an event has no cursor to resume from: it is followed
        // live again, and what it sent while the node was down comes by backfill.
        let quiet = self
            .host_row(&host)
            .await?
            .is_some_and(|row| row.scoped && row.cursor == 0);
        if backfill || quiet || stored.is_none() {
            self.mark_behind(did, stored).await?;
            self.schedule_resync(did, Some(&host));
        }
        Ok(())
    }

    /// After a scoped host without a cursor reconnects (live): the carried accounts it serves are
    /// backfilled, since what it sent while the connection was down is not replayed.
    pub(super) async fn catch_up_quiet_host(&self, host: &str) -> Result<(), RelayError> {
        let dids: Vec<String> = self
            .inner
            .carried_hosts
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .iter()
            .filter(|(_, h)| h.as_str() == host)
            .map(|(did, _)| did.clone())
            .collect();
        for did in dids {
            let stored = self.stored_repo(&did).await?;
            self.mark_behind(&did, stored).await?;
            self.schedule_resync(&did, Some(host));
        }
        Ok(())
    }

    /// A stored repo whose events were dropped while it was not carried: its state is behind, so
    /// the backfill must replace it (and announce that with `#sync`), not only fill its copy.
    async fn mark_behind(&self, did: &str, stored: Option<RepoRow>) -> Result<(), RelayError> {
        let Some(row) = stored else {
            return Ok(());
        };
        if !row.mirrored || row.status != RepoStatus::Active || row.rev.is_empty() {
            return Ok(());
        }
        let did = did.to_owned();
        self.store()
            .write(move |txn| {
                let mut table = txn.open_table(REPOS)?;
                let current: Option<RepoRow> = rows::get(&table, did.as_str())?;
                if let Some(mut row) = current
                    && row.status == RepoStatus::Active
                {
                    row.status = RepoStatus::Desynchronized;
                    table.insert(did.as_str(), rows::encode(&row)?.as_slice())?;
                }
                Ok(Ok::<_, RelayError>(()))
            })
            .await
    }

    /// Follows `host` for the carried accounts: a host not known yet is added as followed in part
    /// (not counted against the day's budget of crawled hosts, which is for strangers' requests);
    /// a known one keeps what it is. The normal host checks apply to its events.
    async fn follow_for_scope(&self, host: &str) -> Result<(), RelayError> {
        if !self.inner.config.local_mode && is_address_or_loopback(host) {
            return Err(RelayError::InvalidRequest(format!(
                "refusing to follow {host}"
            )));
        }
        match self.host_row(host).await? {
            Some(row) if row.status == HostStatus::Banned => {
                return Err(RelayError::HostBanned(format!("host {host} is banned")));
            }
            Some(row) => {
                let was_retired = self
                    .inner
                    .retired_hosts
                    .write()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .remove(host);
                let running = self
                    .inner
                    .running
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .contains(host);
                if was_retired && row.scoped && !running {
                    // Unsubscribed a while ago: start live again; the account is backfilled.
                    self.reset_cursor(host).await?;
                }
            }
            None => {
                // In memory first: no event of the host is taken unfiltered.
                self.inner
                    .scoped_hosts
                    .write()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .insert(host.to_owned());
                let insecure = self.scheme(host) == "http";
                let scoped = self
                    .update_host(host, move |row| match row {
                        Some(_) => None,
                        None => Some(HostRow {
                            cursor: 0,
                            status: HostStatus::Idle,
                            insecure,
                            added_at: crate::clock::now_micros(),
                            aggregator: false,
                            account_limit: None,
                            scoped: true,
                        }),
                    })
                    .await;
                scoped?;
                // Added meanwhile as a full host: read back what it is.
                if self.host_row(host).await?.is_some_and(|r| !r.scoped) {
                    self.unscope_host(host);
                }
            }
        }
        self.spawn_subscriber(host);
        Ok(())
    }

    /// The carried set's size.
    pub fn scope_size(&self) -> ScopeSize {
        self.inner.scope.size()
    }

    /// Every account carried now.
    pub fn carried_dids(&self) -> Vec<String> {
        self.inner.scope.dids()
    }

    /// Hosts followed only for the carried accounts they serve.
    pub fn scoped_hosts(&self) -> Vec<String> {
        let mut hosts: Vec<String> = self
            .inner
            .scoped_hosts
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .iter()
            .cloned()
            .collect();
        hosts.sort();
        hosts
    }

    /// Scoped hosts still subscribed (not retired).
    pub fn subscribed_scoped_hosts(&self) -> usize {
        self.scoped_hosts()
            .iter()
            .filter(|h| !self.is_retired(h))
            .count()
    }
}
