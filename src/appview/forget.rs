//! Forgetting accounts that left the relay's carried set (`app.rs` hands them over once their
//! grace period is over): each is queued in `appview.forgetting` (durable, so an account dropped
//! just before a restart or a `kill -9` is finished later), then its records are removed a bounded
//! number per write job ([`STEP`]) on the store's single writer, so a large account never holds
//! up the stream's indexing for long. What the members' own views need stays (`index::forget`).
//!
//! An account that comes back (a member follows it again) is backfilled whole; the backfill ends
//! its forgetting in the same transaction (`backfill::apply_repo`).
//!
//! Spec: none prescribes it; docs/BEHAVIORS.md (carried set) describes it.

use std::collections::HashSet;
use std::sync::atomic::Ordering;
use std::time::Duration;

use redb::ReadableTable;

use super::index::{ForgetProgress, Index};
use super::tables::FORGETTING;
use super::{Appview, AppviewError};

/// Records looked at per write job.
const STEP: usize = 500;
/// How often the queue is looked at without a wake-up (members not known yet, a failed step).
const IDLE: Duration = Duration::from_secs(30);
/// The pause between two steps, so other writers' jobs interleave with a long forget.
const BETWEEN_STEPS: Duration = Duration::from_millis(5);

impl Appview {
    /// Queues `dids` to be forgotten (members never are). Durable when it returns.
    pub async fn forget_accounts(&self, dids: Vec<String>) -> Result<(), AppviewError> {
        let dids: Vec<String> = dids.into_iter().filter(|d| !self.is_member(d)).collect();
        if dids.is_empty() {
            return Ok(());
        }
        self.store()
            .write(move |txn| {
                let mut table = txn.open_table(FORGETTING)?;
                for did in &dids {
                    // One already under way continues from where it is.
                    if table.get(did.as_str())?.is_none() {
                        table
                            .insert(did.as_str(), ForgetProgress::default().encode().as_slice())?;
                    }
                }
                Ok(Ok::<_, AppviewError>(()))
            })
            .await?;
        self.inner.forgets_wanted.notify_one();
        Ok(())
    }

    /// Accounts queued to be forgotten and not finished.
    pub async fn forgetting(&self) -> Result<u64, AppviewError> {
        self.read_view(|t| Ok(redb::ReadableTableMetadata::len(&t.forgetting)?))
            .await
    }

    /// Works through the queue for as long as the process runs. Nothing is removed before
    /// `app.rs` said who the members are: what they interacted with must be known to be kept.
    pub(super) async fn run_forgets(self) {
        loop {
            if self.members_known() {
                match self.next_forget().await {
                    Ok(Some(did)) => {
                        if let Err(error) = self.forget_step(did).await {
                            tracing::warn!(%error, "forgetting an account failed; retrying later");
                        } else {
                            tokio::time::sleep(BETWEEN_STEPS).await;
                            continue;
                        }
                    }
                    Ok(None) => {}
                    Err(_) if self.store().is_closed() => return,
                    Err(error) => tracing::warn!(%error, "reading the accounts to forget failed"),
                }
            }
            let _ = tokio::time::timeout(IDLE, self.inner.forgets_wanted.notified()).await;
            if self.store().is_closed() {
                return;
            }
        }
    }

    async fn next_forget(&self) -> Result<Option<String>, AppviewError> {
        self.read_view(|t| Ok(t.forgetting.first()?.map(|(did, _)| did.value().to_owned())))
            .await
    }

    /// One bounded step of forgetting `did`, in one write job.
    async fn forget_step(&self, did: String) -> Result<(), AppviewError> {
        let members: Vec<String> = self
            .inner
            .members
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .iter()
            .cloned()
            .collect();
        let now = u64::try_from(crate::clock::now_micros()).unwrap_or(0);
        let (removed, done) = self
            .store()
            .write(move |txn| {
                let mut ix = Index::open(txn, now)?;
                let progress = match ix.t.forgetting.get(did.as_str())? {
                    Some(row) => ForgetProgress::decode(row.value()),
                    None => return Ok(Ok((0, false))),
                };
                let member_ids: HashSet<u64> = members
                    .iter()
                    .filter_map(|m| ix.existing_actor_id(m).transpose())
                    .collect::<Result<_, _>>()?;
                let actor = ix.existing_actor_id(&did)?;
                let next = match actor {
                    // It became a member meanwhile (moved here): nothing of it goes.
                    Some(_) if members.contains(&did) => None,
                    Some(actor) => {
                        let step = ix.forget_some(actor, &member_ids, progress, STEP)?;
                        if step.next.is_none() {
                            tracing::info!(%did, "forgot an account no member needs any more");
                        }
                        return finish(&mut ix, &did, step.removed, step.next);
                    }
                    None => None,
                };
                finish(&mut ix, &did, 0, next)
            })
            .await?;
        let counters = &self.inner.counters;
        counters
            .forgotten_records
            .fetch_add(removed as u64, Ordering::Relaxed);
        if done {
            counters.forgotten_accounts.fetch_add(1, Ordering::Relaxed);
        }
        Ok(())
    }
}

/// Stores where forgetting `did` stopped, or ends it; returns (records removed, whether done).
fn finish(
    ix: &mut Index<'_>,
    did: &str,
    removed: usize,
    next: Option<ForgetProgress>,
) -> Result<Result<(usize, bool), AppviewError>, crate::store::StoreError> {
    match next {
        Some(progress) => {
            ix.t.forgetting.insert(did, progress.encode().as_slice())?;
            Ok(Ok((removed, false)))
        }
        None => {
            ix.t.forgetting.remove(did)?;
            Ok(Ok((removed, true)))
        }
    }
}
