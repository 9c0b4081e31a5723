//! Getting one certificate from the CA and keeping it: at most one order per name at a time (a
//! second handshake for the same name waits for the first order), a few orders at once in all, no
//! order during a name's back-off after a failure, and the result stored before it is served.
//!
//! Back-off (RFC 8555 §6.6 asks clients not to hammer a CA): after the n-th consecutive failure the
//! next order waits `RETRY_BASE · 2^(n-1)`, at most `RETRY_MAX`, and at least `RATE_LIMITED_PAUSE`
//! when the CA answered `rateLimited`. Let's Encrypt allows 5 failed validations per hostname per
//! hour; a 5-minute base keeps us under that.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::acme::Acme;
use super::certs::{AttemptRow, CertRow, CertSource, CertStore, LiveCert};
use super::x509::CertFacts;
use super::{ChallengeKind, TlsError};
use crate::clock::now_secs;

/// Orders running at once; more wait. Each holds challenge responses and CA connections.
const MAX_CONCURRENT_ORDERS: usize = 4;
/// Names with an order running or queued; handshakes for further names are refused rather than
/// queued, so a flood of names cannot grow memory.
const MAX_NAMES_IN_FLIGHT: usize = 256;
/// How long one HTTP-01 or TLS-ALPN-01 order may take in all.
const ORDER_TIMEOUT: Duration = Duration::from_secs(5 * 60);
/// How long one DNS-01 order may take (the hook may wait for DNS to publish, twice).
const DNS01_ORDER_TIMEOUT: Duration = Duration::from_secs(25 * 60);
/// First pause after a failure.
const RETRY_BASE: Duration = Duration::from_secs(5 * 60);
/// Longest pause between attempts.
const RETRY_MAX: Duration = Duration::from_secs(24 * 60 * 60);
/// Shortest pause after the CA said `rateLimited` (instant-acme does not pass its Retry-After on).
const RATE_LIMITED_PAUSE: Duration = Duration::from_secs(60 * 60);

/// The pause before the next attempt after `failures` consecutive failures.
pub fn backoff(failures: u32, rate_limited: bool) -> Duration {
    let exponent = failures.saturating_sub(1).min(16);
    let pause = RETRY_BASE.saturating_mul(1 << exponent).min(RETRY_MAX);
    if rate_limited {
        pause.max(RATE_LIMITED_PAUSE)
    } else {
        pause
    }
}

/// What to order.
pub struct Request {
    /// The name the certificate is stored and looked up under.
    pub key: String,
    /// The names on the certificate.
    pub names: Vec<String>,
    pub kind: ChallengeKind,
    pub on_demand: bool,
    /// The certificate being renewed; `None` for a first issuance.
    pub renewing: Option<Arc<LiveCert>>,
}

/// Serialises orders per name and counts them.
pub struct Issuance {
    in_flight: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
    orders: tokio::sync::Semaphore,
    orders_placed: AtomicU64,
}

impl Default for Issuance {
    fn default() -> Self {
        Issuance {
            in_flight: Mutex::new(HashMap::new()),
            orders: tokio::sync::Semaphore::new(MAX_CONCURRENT_ORDERS),
            orders_placed: AtomicU64::new(0),
        }
    }
}

impl Issuance {
    /// Orders placed with the CA since this process started.
    pub fn orders_placed(&self) -> u64 {
        self.orders_placed.load(Ordering::Relaxed)
    }

    /// Gets the certificate `request` asks for: the stored one when another caller has just
    /// obtained (or renewed) it, otherwise a new order, unless the name is backing off.
    pub async fn obtain(
        &self,
        acme: &Acme,
        certs: &CertStore,
        request: Request,
    ) -> Result<Arc<LiveCert>, TlsError> {
        let lock = {
            let mut in_flight = self
                .in_flight
                .lock()
                .map_err(|_| TlsError::Internal("issuance lock poisoned".into()))?;
            if in_flight.len() >= MAX_NAMES_IN_FLIGHT && !in_flight.contains_key(&request.key) {
                return Err(TlsError::Busy);
            }
            in_flight.entry(request.key.clone()).or_default().clone()
        };
        let result = {
            let _one_order_per_name = lock.lock().await;
            self.obtain_locked(acme, certs, &request).await
        };
        if let Ok(mut in_flight) = self.in_flight.lock()
            && Arc::strong_count(&lock) <= 2
        {
            in_flight.remove(&request.key);
        }
        result
    }

    async fn obtain_locked(
        &self,
        acme: &Acme,
        certs: &CertStore,
        request: &Request,
    ) -> Result<Arc<LiveCert>, TlsError> {
        if let Some(current) = certs.get(&request.key) {
            let already_done = match &request.renewing {
                None => true,
                Some(old) => current.facts.serial != old.facts.serial,
            };
            if already_done {
                return Ok(current);
            }
        }
        let now = now_secs();
        let previous = certs.attempt(&request.key);
        if let Some(attempt) = &previous
            && attempt.next_attempt > now
        {
            return Err(TlsError::BackingOff {
                until: attempt.next_attempt,
                last_error: attempt.last_error.clone(),
            });
        }
        let _permit = self
            .orders
            .acquire()
            .await
            .map_err(|_| TlsError::Internal("order semaphore closed".into()))?;
        self.orders_placed.fetch_add(1, Ordering::Relaxed);
        tracing::info!(
            name = %request.key,
            names = ?request.names,
            challenge = request.kind.as_str(),
            renewal = request.renewing.is_some(),
            "placing an ACME order"
        );
        let timeout = match request.kind {
            ChallengeKind::Dns01 => DNS01_ORDER_TIMEOUT,
            ChallengeKind::Http01 | ChallengeKind::TlsAlpn01 => ORDER_TIMEOUT,
        };
        let replaces = request.renewing.as_ref().map(|c| &c.facts);
        let outcome =
            match tokio::time::timeout(timeout, acme.order(&request.names, request.kind, replaces))
                .await
            {
                Ok(Ok(issued)) => {
                    self.store(acme, certs, request, issued.chain_pem, issued.key_pem)
                        .await
                }
                Ok(Err(e)) => Err(e),
                Err(_) => Err(TlsError::Acme(format!(
                    "the order took longer than {timeout:?}"
                ))),
            };
        match outcome {
            Ok(cert) => {
                tracing::info!(
                    name = %request.key,
                    serial = %cert.facts.serial_hex(),
                    not_after = cert.facts.not_after,
                    "certificate issued"
                );
                Ok(cert)
            }
            Err(error) => {
                let failures = previous.map_or(0, |p| p.failures) + 1;
                let pause = backoff(failures, matches!(error, TlsError::RateLimited(_)));
                let next_attempt = now_secs() + i64::try_from(pause.as_secs()).unwrap_or(i64::MAX);
                let row = AttemptRow {
                    failures,
                    last_error: error.to_string(),
                    last_attempt: now,
                    next_attempt,
                };
                if let Err(store_error) = certs.record_failure(&request.key, row).await {
                    tracing::error!(error = %store_error, "could not record a failed ACME order");
                }
                Err(error)
            }
        }
    }

    async fn store(
        &self,
        acme: &Acme,
        certs: &CertStore,
        request: &Request,
        chain_pem: String,
        key_pem: String,
    ) -> Result<Arc<LiveCert>, TlsError> {
        let leaf = rustls::pki_types::pem::PemObject::pem_slice_iter(chain_pem.as_bytes())
            .next()
            .and_then(Result::ok)
            .ok_or_else(|| TlsError::BadCertificate("the CA sent no certificate".into()))?;
        let leaf: rustls::pki_types::CertificateDer<'_> = leaf;
        let facts = CertFacts::parse(leaf.as_ref()).map_err(TlsError::BadCertificate)?;
        let now = now_secs();
        let source = match request.kind {
            ChallengeKind::Http01 => CertSource::Http01,
            ChallengeKind::TlsAlpn01 => CertSource::TlsAlpn01,
            ChallengeKind::Dns01 => CertSource::Dns01,
        };
        let row = CertRow {
            names: request.names.clone(),
            chain_pem,
            key_pem,
            source,
            directory: acme.directory_url().to_owned(),
            on_demand: request.on_demand,
            issued_at: now,
            first_issued_at: request
                .renewing
                .as_ref()
                .map_or(now, |old| old.row.first_issued_at),
            renew_at: facts.two_thirds_point(),
            ari_next_check: None,
        };
        certs.put(&request.key, row).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_a_day_and_waits_out_rate_limits() {
        assert_eq!(backoff(1, false), Duration::from_secs(300));
        assert_eq!(backoff(2, false), Duration::from_secs(600));
        assert_eq!(backoff(4, false), Duration::from_secs(2400));
        assert_eq!(backoff(30, false), RETRY_MAX);
        assert_eq!(backoff(1, true), RATE_LIMITED_PAUSE);
        assert_eq!(backoff(u32::MAX, true), RETRY_MAX);
    }
}
