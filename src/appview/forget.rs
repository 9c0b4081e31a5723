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
        self.read_view(|t| Ok(redb::ReadableTableMetadata::len(t.forgetting.table()?)?))
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
        self.read_view(|t| {
            Ok(t.forgetting
                .table()?
                .first()?
                .map(|(did, _)| did.value().to_owned()))
        })
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
                let progress = match ix.t.forgetting.table()?.get(did.as_str())? {
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
            ix.t.forgetting
                .table_mut()?
                .insert(did, progress.encode().as_slice())?;
            Ok(Ok((removed, false)))
        }
        None => {
            ix.t.forgetting.table_mut()?.remove(did)?;
            Ok(Ok((removed, true)))
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use serde_json::json;

    use super::STEP;
    use crate::appview::index::{Action, Index, RecordOp};
    use crate::appview::{Appview, AppviewConfig};
    use crate::core::data;
    use crate::identity::{PlcClient, Resolver};
    use crate::store::Store;

    const MEMBER: &str = "did:plc:member";
    const GONE: &str = "did:plc:gone";

    /// An App View over the store in `dir`, with no network.
    async fn open(dir: &Path) -> (Store, Appview) {
        let store = Store::open(dir).unwrap();
        let http = crate::net::Outbound::new(true);
        let unreachable = "http://127.0.0.1:9";
        let plc = PlcClient::Remote {
            http: http.clone(),
            url: unreachable.into(),
        };
        let config = AppviewConfig {
            service_did: "did:web:test.invalid".into(),
            public_url: "http://test.invalid".into(),
            local_mode: true,
            labelers: Vec::new(),
        };
        let resolver = Resolver::new(http.clone(), plc, unreachable);
        let appview = Appview::open(store.clone(), config, resolver, http)
            .await
            .unwrap();
        appview.set_members(&[MEMBER.to_owned()]);
        (store, appview)
    }

    fn record(collection: &str, value: &serde_json::Value) -> Vec<u8> {
        let mut value = value.clone();
        value["$type"] = json!(collection);
        data::encode_value(&data::from_json(&value).unwrap()).unwrap()
    }

    async fn write(store: &Store, did: &'static str, ops: Vec<(&'static str, String, Vec<u8>)>) {
        store
            .write(move |txn| {
                let mut ix = Index::open(txn, 1_700_000_000_000_000)?;
                for (collection, rkey, bytes) in &ops {
                    ix.apply(&RecordOp {
                        did,
                        collection,
                        rkey,
                        action: Action::Create,
                        cid: Some(data::cid_for_cbor(bytes)),
                        record: Some(bytes),
                    })?;
                }
                Ok(Ok::<_, crate::appview::AppviewError>(()))
            })
            .await
            .unwrap();
    }

    async fn posts_of(appview: &Appview, did: &'static str) -> usize {
        appview
            .read_view(move |t| {
                let actor = crate::appview::read::actor_id(t, did)?.unwrap();
                Ok(t.posts
                    .table()?
                    .range((actor, "")..=(actor, crate::appview::index::RKEY_MAX))?
                    .count())
            })
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn a_forget_cut_short_by_a_stop_continues_after_the_restart() {
        let dir = std::env::temp_dir().join(format!("skyhold-forget-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let total = STEP * 2 + 100;
        {
            let (store, appview) = open(&dir).await;
            let now = "2024-01-01T00:00:00Z";
            let posts: Vec<_> = (0..total)
                .map(|i| {
                    let value = json!({"text": format!("post {i}"), "createdAt": now});
                    (
                        "app.bsky.feed.post",
                        format!("3k{i:011}"),
                        record("app.bsky.feed.post", &value),
                    )
                })
                .collect();
            let liked = posts[total - 1].clone();
            write(&store, GONE, posts).await;
            let like = json!({
                "subject": {
                    "uri": format!("at://{GONE}/app.bsky.feed.post/{}", liked.1),
                    "cid": data::cid_for_cbor(&liked.2).to_string(),
                },
                "createdAt": now,
            });
            write(
                &store,
                MEMBER,
                vec![(
                    "app.bsky.feed.like",
                    "3klike2222222".into(),
                    record("app.bsky.feed.like", &like),
                )],
            )
            .await;

            appview
                .forget_accounts(vec![GONE.to_owned()])
                .await
                .unwrap();
            let started = std::time::Instant::now();
            appview.forget_step(GONE.to_owned()).await.unwrap();
            eprintln!("one step of {STEP} posts: {:?}", started.elapsed());
            assert_eq!(posts_of(&appview, GONE).await, total - STEP);
            assert_eq!(appview.forgetting().await.unwrap(), 1);
            // Stopped here: the queue and where it stood are in the store.
            store.shutdown().await;
        }
        let (store, appview) = open(&dir).await;
        assert_eq!(appview.forgetting().await.unwrap(), 1);
        while appview.forgetting().await.unwrap() > 0 {
            appview.forget_step(GONE.to_owned()).await.unwrap();
        }
        assert_eq!(posts_of(&appview, GONE).await, 1, "the liked post stays");
        let counters = appview.counters();
        assert_eq!(
            counters
                .forgotten_records
                .load(std::sync::atomic::Ordering::Relaxed),
            (total - STEP - 1) as u64
        );
        store.shutdown().await;
        drop(appview);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
