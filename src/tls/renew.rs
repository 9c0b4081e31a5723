//! Keeping certificates valid: one background task that obtains the certificates the node always
//! needs (the main hostname, and the handle wildcard when configured), renews each stored
//! certificate when it is due, drops on-demand certificates whose handle is gone, and re-reads the
//! operator's certificate files when they change.
//!
//! A certificate is due at `renew_at`: a time inside the CA's suggested window when the CA offers
//! ACME Renewal Information (RFC 9773 §4.2, asked again after the `Retry-After` it sends), else two
//! thirds into its lifetime (30 days before expiry for a 90-day certificate). A failed renewal is
//! retried with the back-off of `issuance`, and the current certificate is served meanwhile; the
//! failure is logged and shown in the admin status.

use std::time::Duration;

use super::certs::LiveCert;
use super::issuance::Request;
use super::on_demand;
use super::{ChallengeKind, HandleCerts, Tls, TlsMode};
use crate::clock::now_secs;

/// Longest sleep between passes, so a clock jump or a missed wake-up costs at most this.
const MAX_SLEEP: Duration = Duration::from_secs(60 * 60);
/// Shortest sleep between passes, so a certificate due in the past cannot spin the loop.
const MIN_SLEEP: Duration = Duration::from_secs(1);
/// How often the operator's certificate files are checked for changes.
const FILES_RECHECK: Duration = Duration::from_secs(60);
/// Bounds on how long to wait before asking the CA for renewal information again.
const ARI_RECHECK_MIN: Duration = Duration::from_secs(60 * 60);
const ARI_RECHECK_MAX: Duration = Duration::from_secs(24 * 60 * 60);
/// Time left below which a failing renewal is logged as an error rather than a warning.
const URGENT_SECS: i64 = 7 * 24 * 60 * 60;

/// Runs forever (until the runtime stops).
pub async fn run(tls: Tls) {
    loop {
        let next = pass(&tls).await;
        let wait = u64::try_from(next - now_secs()).map_or(MIN_SLEEP, Duration::from_secs);
        let wait = wait.clamp(MIN_SLEEP, MAX_SLEEP);
        tokio::select! {
            () = tokio::time::sleep(wait) => {}
            () = tls.inner.renew_wake.notified() => {}
        }
    }
}

/// One pass over everything; returns when the next pass is needed (seconds).
async fn pass(tls: &Tls) -> i64 {
    let now = now_secs();
    if let TlsMode::Files { .. } = tls.inner.config.mode {
        tls.reload_files_if_changed();
        return now + i64::try_from(FILES_RECHECK.as_secs()).unwrap_or(60);
    }
    let Some(acme) = tls.inner.acme.as_ref() else {
        return now + i64::try_from(MAX_SLEEP.as_secs()).unwrap_or(3600);
    };
    let mut next = i64::MAX;
    for request in tls.required() {
        if tls.inner.certs.get(&request.key).is_some() {
            continue;
        }
        if let Some(attempt) = tls.inner.certs.attempt(&request.key)
            && attempt.next_attempt > now
        {
            next = next.min(attempt.next_attempt);
            continue;
        }
        let key = request.key.clone();
        if let Err(error) = tls.obtain(request).await {
            tracing::warn!(name = %key, %error, "could not obtain a certificate");
        }
        if let Some(attempt) = tls.inner.certs.attempt(&key) {
            next = next.min(attempt.next_attempt);
        }
    }
    for (name, cert) in tls.inner.certs.all() {
        if cert.row.on_demand && !still_hosted(tls, &name).await {
            tracing::info!(%name, "dropping the certificate of a handle no longer hosted");
            if let Err(error) = tls.inner.certs.remove(&name).await {
                tracing::warn!(%name, %error, "could not drop a certificate");
            }
            continue;
        }
        let mut cert = cert;
        if cert.row.ari_next_check.is_none_or(|t| t <= now) {
            cert = check_renewal_info(tls, acme, &name, cert).await;
        }
        // A certificate from another CA directory (the operator switched, e.g. from staging) is
        // replaced at once.
        let mut due = if cert.row.directory == acme.directory_url() {
            cert.row.renew_at
        } else {
            now
        };
        if let Some(attempt) = tls.inner.certs.attempt(&name) {
            due = due.max(attempt.next_attempt);
        }
        if due > now {
            next = next.min(due);
            if let Some(t) = cert.row.ari_next_check {
                next = next.min(t);
            }
            continue;
        }
        renew(tls, &name, cert).await;
        if let Some(renewed) = tls.inner.certs.get(&name) {
            next = next.min(renewed.row.renew_at);
        }
        if let Some(attempt) = tls.inner.certs.attempt(&name) {
            next = next.min(attempt.next_attempt);
        }
    }
    next
}

async fn still_hosted(tls: &Tls, name: &str) -> bool {
    tls.inner.config.handle_certs == HandleCerts::OnDemand
        && on_demand::eligible(name, &tls.inner.config.handle_domains)
        && tls.inner.policy.allows(name).await
}

/// Asks the CA for its suggested renewal window and moves `renew_at` into it.
async fn check_renewal_info(
    tls: &Tls,
    acme: &super::acme::Acme,
    name: &str,
    cert: std::sync::Arc<LiveCert>,
) -> std::sync::Arc<LiveCert> {
    match acme.renewal_window(&cert.facts).await {
        Ok(Some(window)) => {
            let renew_at = pick_in_window(window.start, window.end);
            let recheck = window.recheck_after.clamp(ARI_RECHECK_MIN, ARI_RECHECK_MAX);
            let recheck_at = now_secs() + i64::try_from(recheck.as_secs()).unwrap_or(3600);
            tracing::debug!(%name, window_start = window.start, window_end = window.end, renew_at, "renewal information");
            if let Err(error) = tls.inner.certs.reschedule(name, renew_at, recheck_at).await {
                tracing::warn!(%name, %error, "could not store renewal information");
            }
            tls.inner.certs.get(name).unwrap_or(cert)
        }
        Ok(None) => cert,
        Err(error) => {
            tracing::debug!(%name, %error, "renewal information unavailable");
            cert
        }
    }
}

/// A uniformly random second in `[start, end]` (RFC 9773 §4.2 asks clients to spread renewals over
/// the window).
fn pick_in_window(start: i64, end: i64) -> i64 {
    if end <= start {
        return start;
    }
    let span = u64::try_from(end - start).unwrap_or(0);
    let random = rand_core::RngCore::next_u64(&mut rand_core::OsRng);
    start + i64::try_from(random % (span + 1)).unwrap_or(0)
}

async fn renew(tls: &Tls, name: &str, cert: std::sync::Arc<LiveCert>) {
    let kind = match cert.row.source {
        super::certs::CertSource::Dns01 => ChallengeKind::Dns01,
        _ => tls.challenge_kind(),
    };
    let request = Request {
        key: name.to_owned(),
        names: cert.row.names.clone(),
        kind,
        on_demand: cert.row.on_demand,
        renewing: Some(cert.clone()),
    };
    if let Err(error) = tls.obtain(request).await {
        let left = cert.facts.not_after - now_secs();
        let next_attempt = tls.inner.certs.attempt(name).map(|a| a.next_attempt);
        if left < URGENT_SECS {
            tracing::error!(%name, %error, expires_at = cert.facts.not_after, ?next_attempt, "certificate renewal failed; still serving the current certificate");
        } else {
            tracing::warn!(%name, %error, expires_at = cert.facts.not_after, ?next_attempt, "certificate renewal failed; still serving the current certificate");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn picks_stay_inside_the_window() {
        for _ in 0..100 {
            let t = pick_in_window(100, 200);
            assert!((100..=200).contains(&t));
        }
        assert_eq!(pick_in_window(300, 200), 300);
    }
}
