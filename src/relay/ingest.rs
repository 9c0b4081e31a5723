//! Verifying and accepting one event from a remote host or an upstream relay (the local PDS's events
//! take `local.rs`).
//!
//! Spec: <https://atproto.com/specs/sync#message-validation-checklist>.
//!
//! Checks, in order: the upstream seq only grows per host; the DID is carried (for an upstream
//! relay or a PDS followed only for some of its accounts, see `scope`; the subscriber has already
//! dropped most such events on the undecoded frame, before this seq check); the DID resolves; the event comes from the
//! host the DID document names (not for an upstream relay, which aggregates); the account is active
//! (for `#commit`/`#sync`); the rev is newer than the last one and not in the future; the commit's
//! signature, fields and MST inversion (core::repo::verify_commit_message; a signature failure
//! re-resolves the identity once); `since`/`prevData` continue the stored chain (else the repo is
//! marked desynchronized and resynced; in lenient mode, for hosts from before sync 1.1, it is only
//! logged). An accepted event is stored with the relay's own seq in the
//! same transaction as the repo state and the host cursor.
//!
//! Does not check: records against Lexicons (relays must not), or handles.

use std::collections::BTreeMap;

use cid::Cid;
use redb::ReadableTable;

use super::identities::Identity;
use super::rows::{self, HostRow, RepoRow};
use super::status::{DropReason, HostStatus, RepoStatus};
use super::tables::{BLOCKS, COLLECTIONS, HOSTS, RECORDS, REPO_COLLECTIONS, REPOS};
use super::{Relay, RelayError};
use crate::core::firehose::{CommitMessage, Message, SyncMessage};
use crate::core::repo::{
    Commit, CommitError, Inversion, SyncError, VerifiedCommit, verify_commit_message,
    verify_sync_message,
};
use crate::core::syntax::Tid;
use crate::store::{StoreError, WriteTransaction};

/// How far in the future a rev may be (clock drift) before the event is refused.
const MAX_FUTURE_REV_MICROS: i64 = 5 * 60 * 1_000_000;
/// The host name used for the in-process local PDS's cursor.
pub const LOCAL_HOST: &str = "local";

/// Where an event came from (the local PDS's events take another path: `local.rs`).
#[derive(Clone, Copy, Debug)]
pub enum Origin<'a> {
    /// A PDS host followed over a WebSocket.
    Host(&'a str),
    /// An upstream relay: events for any DID, of which only followed ones are kept.
    Aggregator(&'a str),
}

impl Origin<'_> {
    fn cursor_key(&self) -> &str {
        match self {
            Origin::Host(h) | Origin::Aggregator(h) => h,
        }
    }

    /// The host a DID document must name for events from here (none for an aggregator).
    fn expected_host(&self) -> Option<&str> {
        match self {
            Origin::Host(h) => Some(h),
            Origin::Aggregator(_) => None,
        }
    }
}

/// What happened to an event.
#[derive(Debug, PartialEq, Eq)]
pub enum Verdict {
    Accepted(u64),
    Dropped(DropReason),
}

/// An event whose checks are done: decided, or a `#commit` whose write is queued.
pub(super) enum Ingested {
    Done,
    Queued(QueuedCommit),
}

/// What a queued commit's write job answers: (relay seq, whether the repo still needs a full copy),
/// or the reason it was dropped after all (the stored state is read in the job, in queue order).
type CommitOutcome = Result<Result<(u64, bool), DropReason>, RelayError>;

/// A `#commit` whose write is queued behind the events before it.
pub(super) struct QueuedCommit {
    answer: tokio::sync::oneshot::Receiver<CommitOutcome>,
    did: String,
    host_hint: Option<String>,
}

impl QueuedCommit {
    /// Whether its write has answered (settling it will not wait).
    pub(super) fn is_answered(&self) -> bool {
        !self.answer.is_empty() || self.answer.is_terminated()
    }
}

fn rev_in_future(rev: &str) -> bool {
    Tid::parse(rev).is_ok_and(|t| {
        i64::try_from(t.timestamp_micros()).unwrap_or(i64::MAX)
            > crate::clock::now_micros() + MAX_FUTURE_REV_MICROS
    })
}

fn rev_not_newer(rev: &str, stored: Option<&RepoRow>) -> bool {
    stored.is_some_and(|s| !s.rev.is_empty() && rev <= s.rev.as_str())
}

/// The host's stored cursor (0 for a host not seen yet).
pub(super) fn cursor_of(txn: &WriteTransaction, host: &str) -> Result<u64, StoreError> {
    let hosts = txn.open_table(HOSTS)?;
    let row: Option<HostRow> = rows::get(&hosts, host)?;
    Ok(row.map_or(0, |r| r.cursor))
}

pub(super) fn set_cursor(
    txn: &WriteTransaction,
    host: &str,
    upstream_seq: u64,
) -> Result<(), StoreError> {
    let mut hosts = txn.open_table(HOSTS)?;
    let row: Option<HostRow> = rows::get(&hosts, host)?;
    let row = match row {
        Some(mut row) => {
            row.cursor = row.cursor.max(upstream_seq);
            row
        }
        None => HostRow {
            cursor: upstream_seq,
            status: HostStatus::Active,
            insecure: false,
            added_at: crate::clock::now_micros(),
            aggregator: false,
            account_limit: None,
            scoped: false,
        },
    };
    hosts.insert(host, rows::encode(&row)?.as_slice())?;
    Ok(())
}

pub(super) fn read_repo(txn: &WriteTransaction, did: &str) -> Result<Option<RepoRow>, StoreError> {
    rows::get(&txn.open_table(REPOS)?, did)
}

pub(super) fn write_repo(
    txn: &WriteTransaction,
    did: &str,
    row: &RepoRow,
) -> Result<(), StoreError> {
    txn.open_table(REPOS)?
        .insert(did, rows::encode(row)?.as_slice())?;
    Ok(())
}

/// Adjusts the per-collection counts by `delta` (and the collection index at 0).
pub(super) fn count_collection(
    txn: &WriteTransaction,
    did: &str,
    collection: &str,
    delta: i64,
) -> Result<(), StoreError> {
    let mut counts = txn.open_table(REPO_COLLECTIONS)?;
    let current = counts.get((did, collection))?.map_or(0, |v| v.value());
    let next = u64::try_from(
        i64::try_from(current)
            .unwrap_or(i64::MAX)
            .saturating_add(delta),
    )
    .unwrap_or(0);
    let mut index = txn.open_table(COLLECTIONS)?;
    if next == 0 {
        counts.remove((did, collection))?;
        index.remove((collection, did))?;
    } else {
        counts.insert((did, collection), next)?;
        index.insert((collection, did), ())?;
    }
    Ok(())
}

/// Stores a verified commit's blocks and records in the repo's copy. Returns how many records each
/// collection gained or lost, judged by what the copy held: after a backfill that ran ahead of the
/// stream, the commits in between re-apply writes the copy already has, and must not count twice.
fn apply_mirror(
    txn: &WriteTransaction,
    did: &str,
    message: &CommitMessage,
    verified: &VerifiedCommit,
    previous_commit: Option<Cid>,
) -> Result<BTreeMap<String, i64>, StoreError> {
    let record_cids: std::collections::HashSet<Cid> =
        message.ops.iter().filter_map(|op| op.cid).collect();
    let mut blocks = txn.open_table(BLOCKS)?;
    // The previous commit block is replaced by this one.
    if let Some(previous) = previous_commit
        && previous != message.commit
    {
        let key = previous.to_bytes();
        blocks.remove((did, key.as_slice()))?;
    }
    for (cid, bytes) in verified.blocks.iter() {
        if record_cids.contains(cid) {
            continue;
        }
        let key = cid.to_bytes();
        blocks.insert((did, key.as_slice()), bytes.as_slice())?;
    }
    let mut records = txn.open_table(RECORDS)?;
    let mut deltas: BTreeMap<String, i64> = BTreeMap::new();
    for op in &message.ops {
        let (collection, rkey) = op.path.split_once('/').unwrap_or((op.path.as_str(), ""));
        let delta = match op.cid {
            Some(cid) => match verified.blocks.get(&cid) {
                Some(bytes) => {
                    let mut value = cid.to_bytes();
                    value.extend_from_slice(bytes);
                    i64::from(
                        records
                            .insert((did, collection, rkey), value.as_slice())?
                            .is_none(),
                    )
                }
                None => 0,
            },
            None => -i64::from(records.remove((did, collection, rkey))?.is_some()),
        };
        *deltas.entry(collection.to_owned()).or_default() += delta;
    }
    Ok(deltas)
}

/// How many records each collection gains or loses by a commit's ops, for repos without a copy.
pub(super) fn op_deltas(message: &CommitMessage) -> BTreeMap<String, i64> {
    let mut deltas: BTreeMap<String, i64> = BTreeMap::new();
    for op in &message.ops {
        let collection = op.path.split('/').next().unwrap_or_default();
        let delta = match op.action.as_str() {
            "create" => 1,
            "delete" => -1,
            _ => 0,
        };
        *deltas.entry(collection.to_owned()).or_default() += delta;
    }
    deltas
}

impl Relay {
    /// Records a drop (and advances the host cursor so it is not reprocessed).
    async fn dropped(
        &self,
        origin: Origin<'_>,
        upstream_seq: u64,
        reason: DropReason,
    ) -> Result<Verdict, RelayError> {
        self.inner.counters.drop_event(reason);
        tracing::debug!(
            host = origin.cursor_key(),
            upstream_seq,
            reason = reason.name(),
            "event dropped"
        );
        let host = origin.cursor_key().to_owned();
        self.store()
            .write(move |txn| {
                set_cursor(txn, &host, upstream_seq)?;
                Ok(Ok::<_, RelayError>(()))
            })
            .await?;
        Ok(Verdict::Dropped(reason))
    }

    pub(super) async fn stored_repo(&self, did: &str) -> Result<Option<RepoRow>, RelayError> {
        let did = did.to_owned();
        self.store()
            .read(move |txn| {
                let Some(table) = crate::store::open_read_table(txn, REPOS)? else {
                    return Ok(None);
                };
                Ok::<_, RelayError>(rows::get(&table, did.as_str())?)
            })
            .await
    }

    pub(super) async fn host_cursor(&self, host: &str) -> Result<u64, RelayError> {
        let host = host.to_owned();
        self.store()
            .read(move |txn| {
                let Some(table) = crate::store::open_read_table(txn, HOSTS)? else {
                    return Ok(0);
                };
                Ok::<_, RelayError>(
                    rows::get(&table, host.as_str())?.map_or(0, |r: HostRow| r.cursor),
                )
            })
            .await
    }

    /// The identity of `did` if the event's origin may speak for it.
    async fn identity_for(&self, origin: Origin<'_>, did: &str) -> Result<Identity, DropReason> {
        let identity = self
            .inner
            .identities
            .get(did, false)
            .await
            .ok_or(DropReason::UnresolvableIdentity)?;
        let Some(expected) = origin.expected_host() else {
            return Ok(identity);
        };
        if identity.pds_host.as_deref() == Some(expected) {
            return Ok(identity);
        }
        // The DID may have just moved here: look again before refusing.
        let fresh = self
            .inner
            .identities
            .get(did, true)
            .await
            .ok_or(DropReason::UnresolvableIdentity)?;
        if fresh.pds_host.as_deref() == Some(expected) {
            Ok(fresh)
        } else {
            Err(DropReason::WrongHost)
        }
    }

    fn inversion(&self) -> Inversion {
        if self.inner.config.lenient {
            Inversion::Lenient
        } else {
            Inversion::Required
        }
    }

    /// Waits for a queued commit's write and accounts for it.
    pub(super) async fn settle(&self, queued: QueuedCommit) -> Result<Verdict, RelayError> {
        let outcome = queued
            .answer
            .await
            .map_err(|_| RelayError::from(StoreError::Closed))?;
        match outcome? {
            Ok((seq, needs_copy)) => {
                self.inner.counters.accept();
                if needs_copy {
                    // The copy holds only commit slices so far: fetch the whole repo behind them
                    // (a repo seen for the first time, or one whose last backfill failed).
                    self.schedule_resync(&queued.did, queued.host_hint.as_deref());
                }
                Ok(Verdict::Accepted(seq))
            }
            Err(reason) => {
                self.inner.counters.drop_event(reason);
                tracing::debug!(did = %queued.did, reason = reason.name(), "commit dropped");
                if reason == DropReason::BrokenChain {
                    self.schedule_resync(&queued.did, queued.host_hint.as_deref());
                }
                Ok(Verdict::Dropped(reason))
            }
        }
    }

    /// Checks one event from `origin`. A `#commit` that passes the stateless checks (identity,
    /// signature, MST inversion) is queued for writing and returned as [`Ingested::Queued`]: the
    /// checks against the stored repo run in the write job, after every event queued before it, so
    /// the caller may check the next event before this one is durable. Other events are stored
    /// before this returns.
    pub(super) async fn ingest_queued(
        &self,
        origin: Origin<'_>,
        upstream_seq: u64,
        message: Message,
    ) -> Result<Ingested, RelayError> {
        if let Message::Commit(commit) = message {
            return self.ingest_commit(origin, upstream_seq, *commit).await;
        }
        self.ingest_other(origin, upstream_seq, message)
            .await
            .map(|_| Ingested::Done)
    }

    async fn ingest_other(
        &self,
        origin: Origin<'_>,
        upstream_seq: u64,
        message: Message,
    ) -> Result<Verdict, RelayError> {
        if matches!(message, Message::Info(_)) {
            return Ok(Verdict::Dropped(DropReason::Info));
        }
        if upstream_seq <= self.host_cursor(origin.cursor_key()).await? && upstream_seq != 0 {
            return self
                .dropped(origin, upstream_seq, DropReason::SeqNotIncreasing)
                .await;
        }
        let Some(did) = message.did().map(str::to_owned) else {
            return self.dropped(origin, upstream_seq, DropReason::NoDid).await;
        };
        // Before any resolution or signature work: most events of a host followed in part are not
        // for an account the relay carries.
        if !self.carries(origin, &did) {
            return self
                .dropped(origin, upstream_seq, DropReason::NotFollowed)
                .await;
        }
        if let Origin::Host(host) = origin
            && !self.admits_account(host, &did).await?
        {
            return self
                .dropped(origin, upstream_seq, DropReason::HostAccountLimit)
                .await;
        }
        match message {
            Message::Commit(_) => Err(RelayError::Internal(
                "commits go through ingest_commit".into(),
            )),
            Message::Sync(sync) => self.ingest_sync(origin, upstream_seq, sync).await,
            Message::Identity(_) => {
                self.inner.identities.forget(&did);
                if let Err(reason) = self.identity_for(origin, &did).await {
                    return self.dropped(origin, upstream_seq, reason).await;
                }
                self.accept_plain(origin, upstream_seq, message, None).await
            }
            Message::Account(ref account) => {
                if let Err(reason) = self.identity_for(origin, &did).await {
                    return self.dropped(origin, upstream_seq, reason).await;
                }
                let status = RepoStatus::of_account(account);
                let host = origin
                    .expected_host()
                    .unwrap_or(origin.cursor_key())
                    .to_owned();
                self.accept_plain(origin, upstream_seq, message, Some((status, host)))
                    .await
            }
            Message::Info(_) => Ok(Verdict::Dropped(DropReason::Info)),
        }
    }

    /// Accepts an `#identity` or `#account` event (the latter updating the stored status).
    async fn accept_plain(
        &self,
        origin: Origin<'_>,
        upstream_seq: u64,
        message: Message,
        status: Option<(RepoStatus, String)>,
    ) -> Result<Verdict, RelayError> {
        let host = origin.cursor_key().to_owned();
        let did = message.did().unwrap_or_default().to_owned();
        let log = self.inner.log.clone();
        let seq = self
            .store()
            .write(move |txn| {
                if let Some((status, pds_host)) = status {
                    let row = match read_repo(txn, &did)? {
                        Some(mut row) => {
                            row.status = status;
                            row.host = pds_host;
                            row
                        }
                        None => RepoRow {
                            host: pds_host,
                            rev: String::new(),
                            commit: None,
                            data: None,
                            status,
                            mirrored: true,
                            copy_rev: None,
                        },
                    };
                    write_repo(txn, &did, &row)?;
                }
                let seq = log.append(txn, message)?;
                set_cursor(txn, &host, upstream_seq)?;
                Ok(Ok::<_, RelayError>(seq))
            })
            .await?;
        self.inner.counters.accept();
        Ok(Verdict::Accepted(seq))
    }

    /// Runs the stateless commit checks on the blocking pool, re-resolving the key once if the
    /// signature fails.
    async fn verify_commit(
        &self,
        did: &str,
        mut identity: Identity,
        message: &CommitMessage,
    ) -> Result<VerifiedCommit, DropReason> {
        for attempt in 0..2 {
            let Some(key) = identity.key.clone() else {
                return Err(DropReason::NoSigningKey);
            };
            let msg = message.clone();
            let mode = self.inversion();
            let outcome =
                tokio::task::spawn_blocking(move || verify_commit_message(&msg, Some(&key), mode))
                    .await
                    .map_err(|_| DropReason::VerifierFailed)?;
            match outcome {
                Ok(verified) => return Ok(verified),
                Err(SyncError::Commit(CommitError::Signature(_))) if attempt == 0 => {
                    identity = self
                        .inner
                        .identities
                        .get(did, true)
                        .await
                        .ok_or(DropReason::UnresolvableIdentity)?;
                }
                Err(SyncError::Commit(CommitError::Signature(_))) => {
                    return Err(DropReason::BadSignature);
                }
                Err(SyncError::TooLarge { .. }) => return Err(DropReason::TooLarge),
                Err(SyncError::NotInvertible(_)) => return Err(DropReason::MissingPrevData),
                Err(e) => {
                    tracing::info!(%did, error = %e, "commit failed verification");
                    return Err(DropReason::InvalidCommit);
                }
            }
        }
        Err(DropReason::BadSignature)
    }

    /// The common checks (`ingest_other` makes them for other events), then the commit's own.
    async fn ingest_commit(
        &self,
        origin: Origin<'_>,
        upstream_seq: u64,
        message: CommitMessage,
    ) -> Result<Ingested, RelayError> {
        let done = |verdict: Result<Verdict, RelayError>| verdict.map(|_| Ingested::Done);
        if upstream_seq <= self.host_cursor(origin.cursor_key()).await? && upstream_seq != 0 {
            return done(
                self.dropped(origin, upstream_seq, DropReason::SeqNotIncreasing)
                    .await,
            );
        }
        let did = message.repo.clone();
        // Before any resolution or signature work: most events of a host followed in part are not
        // for an account the relay carries.
        if !self.carries(origin, &did) {
            return done(
                self.dropped(origin, upstream_seq, DropReason::NotFollowed)
                    .await,
            );
        }
        // Before any resolution: a host at its account limit costs no lookups for new DIDs.
        if let Origin::Host(host) = origin
            && !self.admits_account(host, &did).await?
        {
            return done(
                self.dropped(origin, upstream_seq, DropReason::HostAccountLimit)
                    .await,
            );
        }
        let identity = match self.identity_for(origin, &did).await {
            Ok(i) => i,
            Err(reason) => return done(self.dropped(origin, upstream_seq, reason).await),
        };
        if rev_in_future(&message.rev) {
            return done(
                self.dropped(origin, upstream_seq, DropReason::RevInFuture)
                    .await,
            );
        }
        let verified = match self.verify_commit(&did, identity, &message).await {
            Ok(v) => v,
            Err(reason) => {
                if reason == DropReason::InvalidCommit {
                    self.schedule_resync(&did, origin.expected_host());
                }
                return done(self.dropped(origin, upstream_seq, reason).await);
            }
        };
        let job_did = did.clone();
        let lenient = self.inner.config.lenient;
        let host = origin.cursor_key().to_owned();
        let pds_host = origin
            .expected_host()
            .unwrap_or(origin.cursor_key())
            .to_owned();
        let log = self.inner.log.clone();
        let answer = self
            .store()
            .write_queued(move |txn| {
                let did = job_did;
                // Whatever happens to the event, the host's cursor moves past it.
                let refuse = |reason: DropReason| -> Result<CommitOutcome, StoreError> {
                    set_cursor(txn, &host, upstream_seq)?;
                    Ok(Ok(Err(reason)))
                };
                if upstream_seq != 0 && upstream_seq <= cursor_of(txn, &host)? {
                    return refuse(DropReason::SeqNotIncreasing);
                }
                let current = read_repo(txn, &did)?;
                if current.as_ref().is_some_and(|s| s.status.blocks_events()) {
                    return refuse(DropReason::InactiveAccount);
                }
                if rev_not_newer(&message.rev, current.as_ref()) {
                    return refuse(DropReason::RevNotNewer);
                }
                // The chain: this commit must follow the one we hold.
                if let Some(state) = &current
                    && let Some(data) = state.data
                    && !state.rev.is_empty()
                {
                    let since_ok = message.since.as_deref() == Some(state.rev.as_str());
                    let prev_ok = match message.prev_data {
                        Some(prev) => prev == data,
                        None => lenient,
                    };
                    if !since_ok || !prev_ok {
                        if lenient {
                            // Hosts from before sync 1.1 do not keep the chain; take the commit as it is.
                            tracing::warn!(%did, since = ?message.since, stored = %state.rev, "commit does not continue the stored chain");
                        } else {
                            // Events for the repo are dropped until a resync (the caller starts it).
                            let mut row = state.clone();
                            row.status = RepoStatus::Desynchronized;
                            write_repo(txn, &did, &row)?;
                            return refuse(DropReason::BrokenChain);
                        }
                    }
                }
                let deltas = apply_mirror(
                    txn,
                    &did,
                    &message,
                    &verified,
                    current.as_ref().and_then(|c| c.commit),
                )?;
                for (collection, delta) in deltas {
                    if delta != 0 {
                        count_collection(txn, &did, &collection, delta)?;
                    }
                }
                let (status, copy_rev) = match current {
                    Some(c) if c.status == RepoStatus::Desynchronized => {
                        (RepoStatus::Active, c.copy_rev)
                    }
                    Some(c) => (c.status, c.copy_rev),
                    None => (RepoStatus::Active, None),
                };
                let row = RepoRow {
                    host: pds_host,
                    rev: message.rev.clone(),
                    commit: Some(message.commit),
                    data: Some(verified.commit.data),
                    status,
                    mirrored: true,
                    copy_rev,
                };
                let needs_copy = row.copy_rev.is_none();
                write_repo(txn, &did, &row)?;
                let seq = log.append(txn, Message::Commit(Box::new(message)))?;
                set_cursor(txn, &host, upstream_seq)?;
                Ok(Ok(Ok((seq, needs_copy))))
            })
            .await?;
        Ok(Ingested::Queued(QueuedCommit {
            answer,
            did,
            host_hint: origin.expected_host().map(str::to_owned),
        }))
    }

    async fn ingest_sync(
        &self,
        origin: Origin<'_>,
        upstream_seq: u64,
        message: SyncMessage,
    ) -> Result<Verdict, RelayError> {
        let did = message.did.clone();
        let mut identity = match self.identity_for(origin, &did).await {
            Ok(i) => i,
            Err(reason) => return self.dropped(origin, upstream_seq, reason).await,
        };
        let stored = self.stored_repo(&did).await?;
        if stored.as_ref().is_some_and(|s| s.status.blocks_events()) {
            return self
                .dropped(origin, upstream_seq, DropReason::InactiveAccount)
                .await;
        }
        if rev_in_future(&message.rev) {
            return self
                .dropped(origin, upstream_seq, DropReason::RevInFuture)
                .await;
        }
        if rev_not_newer(&message.rev, stored.as_ref()) {
            return self
                .dropped(origin, upstream_seq, DropReason::RevNotNewer)
                .await;
        }
        let mut verified: Option<Commit> = None;
        for attempt in 0..2 {
            let Some(key) = identity.key.clone() else {
                return self
                    .dropped(origin, upstream_seq, DropReason::NoSigningKey)
                    .await;
            };
            match verify_sync_message(&message, Some(&key)) {
                Ok(commit) => {
                    verified = Some(commit);
                    break;
                }
                Err(SyncError::Commit(CommitError::Signature(_))) if attempt == 0 => {
                    identity = match self.inner.identities.get(&did, true).await {
                        Some(i) => i,
                        None => {
                            return self
                                .dropped(origin, upstream_seq, DropReason::UnresolvableIdentity)
                                .await;
                        }
                    };
                }
                Err(SyncError::Commit(CommitError::Signature(_))) => {
                    return self
                        .dropped(origin, upstream_seq, DropReason::BadSignature)
                        .await;
                }
                Err(_) => {
                    return self
                        .dropped(origin, upstream_seq, DropReason::InvalidSync)
                        .await;
                }
            }
        }
        let Some(commit) = verified else {
            return self
                .dropped(origin, upstream_seq, DropReason::BadSignature)
                .await;
        };
        let needs_resync = stored.as_ref().and_then(|s| s.data) != Some(commit.data);
        let resync_did = did.clone();
        let host = origin.cursor_key().to_owned();
        let pds_host = origin
            .expected_host()
            .unwrap_or(origin.cursor_key())
            .to_owned();
        let (commit_cid, _) = commit
            .encode()
            .map_err(|e| RelayError::Internal(e.to_string()))?;
        let log = self.inner.log.clone();
        let seq = self
            .store()
            .write(move |txn| {
                let current = read_repo(txn, &did)?;
                // A copy stays whole only if the repo did not move.
                let copy_rev = current
                    .as_ref()
                    .filter(|c| c.data == Some(commit.data))
                    .and_then(|c| c.copy_rev.clone());
                let row = RepoRow {
                    host: pds_host,
                    rev: message.rev.clone(),
                    commit: Some(commit_cid),
                    data: Some(commit.data),
                    status: current.map_or(RepoStatus::Active, |c| c.status),
                    mirrored: true,
                    copy_rev,
                };
                write_repo(txn, &did, &row)?;
                let seq = log.append(txn, Message::Sync(message))?;
                set_cursor(txn, &host, upstream_seq)?;
                Ok(Ok::<_, RelayError>(seq))
            })
            .await?;
        self.inner.counters.accept();
        if needs_resync {
            self.schedule_resync(&resync_did, origin.expected_host());
        }
        Ok(Verdict::Accepted(seq))
    }
}
