//! Resolving and verifying the handles of indexed accounts, off the indexing path: a worker takes
//! DIDs from a queue (new accounts, `#identity` events, backfills), resolves each DID document,
//! checks that the handle it claims resolves back to the DID, and records the handle (or none:
//! views then show `handle.invalid`) and the PDS endpoint.
//!
//! Spec: <https://atproto.com/specs/handle#handle-resolution> (bidirectional verification) and
//! <https://atproto.com/specs/sync#identity-events> (`#identity` means "re-resolve", its `handle`
//! field is not trusted). Local networks: handles under domains without DNS (`.test`) are checked
//! by asking the PDS the DID document names for `/.well-known/atproto-did` with that handle as the
//! `Host`, which is what HTTPS resolution would ask if the name resolved (docs/BEHAVIORS.md).

use std::time::Duration;

use futures_util::StreamExt;
use tokio::sync::mpsc;

use super::index::{AccountChange, Index};
use super::{Appview, AppviewError};
use crate::core::syntax::{Did, Handle};
use crate::net::Trust;

/// DIDs resolved at once.
const CONCURRENCY: usize = 8;
/// Results written per transaction.
const WRITE_BATCH: usize = 64;
/// How long the local-network handle check may take.
const LOCAL_CHECK_TIMEOUT: Duration = Duration::from_secs(3);
/// Largest well-known answer read (a DID and a newline).
const MAX_WELL_KNOWN_LEN: usize = 2048;

/// Whether a URL points at this machine (local networks only check handles there).
fn is_loopback_url(url: &str) -> bool {
    let rest = url
        .strip_prefix("http://")
        .or_else(|| url.strip_prefix("https://"))
        .unwrap_or_default();
    let host = rest.split(['/', ':']).next().unwrap_or_default();
    host == "localhost" || host == "127.0.0.1" || rest.starts_with("[::1]")
}

impl Appview {
    /// Asks for `did`'s identity to be (re)checked; waits while the queue is full.
    pub(super) async fn queue_identity(&self, did: String) {
        let _ = self.inner.identity_queue.send(did).await;
    }

    /// Checks the handles (and PDSs) of `dids` again: accounts whose PDS or handle may have
    /// changed without an `#identity` event reaching this node (`app.rs` asks now and then for
    /// the relay's carried accounts).
    pub async fn recheck_identities(&self, dids: Vec<String>) {
        for did in dids {
            self.queue_identity(did).await;
        }
    }

    pub(super) async fn resolve_identities(&self, mut queue: mpsc::Receiver<String>) {
        while let Some(first) = queue.recv().await {
            let mut batch = vec![first];
            while batch.len() < WRITE_BATCH {
                match queue.try_recv() {
                    Ok(did) => {
                        if !batch.contains(&did) {
                            batch.push(did);
                        }
                    }
                    Err(_) => break,
                }
            }
            let results: Vec<(String, AccountChange)> =
                futures_util::stream::iter(batch.into_iter().map(|did| async move {
                    let change = self.resolve_identity(&did).await;
                    (did, change)
                }))
                .buffer_unordered(CONCURRENCY)
                .collect()
                .await;
            if let Err(e) = self.write_identities(results).await {
                tracing::warn!(error = %e, "writing resolved identities failed");
            }
        }
    }

    pub(super) async fn write_identities(
        &self,
        results: Vec<(String, AccountChange)>,
    ) -> Result<(), AppviewError> {
        let now = u64::try_from(crate::clock::now_micros()).unwrap_or(0);
        self.store()
            .write(move |txn| {
                let mut ix = Index::open(txn, now)?;
                for (did, change) in &results {
                    ix.apply_account(did, change)?;
                }
                Ok(Ok::<_, AppviewError>(()))
            })
            .await
    }

    /// The verified handle and PDS endpoint of `did` (no handle when it does not verify).
    async fn resolve_identity(&self, did: &str) -> AccountChange {
        let Ok(parsed) = Did::parse(did) else {
            return AccountChange::Identity {
                handle: None,
                pds: None,
            };
        };
        let document = match self.inner.resolver.resolve(&parsed).await {
            Ok(d) => d,
            Err(e) => {
                tracing::debug!(%did, error = %e, "DID does not resolve");
                return AccountChange::Identity {
                    handle: None,
                    pds: None,
                };
            }
        };
        let pds = document
            .pds_endpoint()
            .map(|p| p.trim_end_matches('/').to_owned());
        let claimed = document
            .handle()
            .and_then(|h| Handle::parse(&h.to_ascii_lowercase()).ok())
            .filter(|h| !h.is_invalid_marker());
        let handle = match claimed {
            Some(handle) if self.handle_points_to(&handle, did, pds.as_deref()).await => {
                Some(handle.as_str().to_owned())
            }
            _ => None,
        };
        AccountChange::Identity { handle, pds }
    }

    /// Whether `handle` resolves to `did`.
    async fn handle_points_to(&self, handle: &Handle, did: &str, pds: Option<&str>) -> bool {
        if self.inner.config.local_mode
            && let Some(pds) = pds.filter(|p| is_loopback_url(p))
        {
            let answer = match self
                .inner
                .http
                .get(&format!("{pds}/.well-known/atproto-did"), Trust::Public)
            {
                Ok(request) => {
                    request
                        .header("host", handle.as_str())
                        .limit(MAX_WELL_KNOWN_LEN)
                        .timeout(LOCAL_CHECK_TIMEOUT)
                        .send()
                        .await
                }
                Err(e) => Err(e),
            };
            if let Ok(response) = answer
                && response.status().is_success()
                && let Ok(body) = response.text().await
                && body.lines().next().map(str::trim) == Some(did)
            {
                return true;
            }
        }
        self.inner
            .handles
            .resolve(handle)
            .await
            .is_some_and(|d| d.as_str() == did)
    }
}

#[cfg(test)]
mod tests {
    use super::is_loopback_url;

    #[test]
    fn loopback_urls() {
        assert!(is_loopback_url("http://localhost:2583"));
        assert!(is_loopback_url("http://127.0.0.1:8080/"));
        assert!(is_loopback_url("http://[::1]:80"));
        assert!(!is_loopback_url("https://pds.example.com"));
        assert!(!is_loopback_url("https://localhost.example.com"));
    }
}
