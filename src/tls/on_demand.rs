//! Certificates on demand for handle hosts (`alice.example.com`): issued at the first TLS handshake
//! that names one, only when the name is a single label under one of the handle domains and the
//! [`HostPolicy`] says it is a hosted handle. A name whose issuance failed is not tried again before
//! its back-off ends (see `issuance`), and new names are capped per week so that handle sign-ups
//! cannot use up the CA's certificates-per-domain limit (Let's Encrypt: 50 per registered domain
//! per 7 days; renewals are exempt).
//!
//! The policy is a trait so that TLS depends on no service: `app.rs` implements it with the PDS.

use futures_util::future::BoxFuture;

/// Most new on-demand names issued in [`BUDGET_WINDOW_SECS`]: Let's Encrypt allows 50 new
/// certificates per registered domain per week; this leaves room for the main hostname and for
/// other hosts of the same domain. Communities that grow faster should use a wildcard certificate.
pub const WEEKLY_BUDGET: usize = 40;
/// The window [`WEEKLY_BUDGET`] counts over.
pub const BUDGET_WINDOW_SECS: i64 = 7 * 24 * 60 * 60;

/// Decides which names get a certificate on demand.
pub trait HostPolicy: Send + Sync + 'static {
    /// Whether `name` (lowercase, a single label under a handle domain) is hosted here and should
    /// get a certificate. Called at handshakes and before each renewal; a `false` at renewal drops
    /// the stored certificate.
    fn allows<'a>(&'a self, name: &'a str) -> BoxFuture<'a, bool>;

    /// Whether a new certificate may be ordered for `name` now (never asked at renewals): where
    /// the policy shares the weekly budget of new names fairly, e.g. so that one account changing
    /// its handle again and again cannot use it up. Yes unless the policy says otherwise.
    fn may_issue<'a>(&'a self, _name: &'a str) -> BoxFuture<'a, bool> {
        Box::pin(async { true })
    }
}

/// Whether `name` may be issued on demand at all: a single DNS label (letters, digits, hyphens)
/// directly under one of `handle_domains` (each starting with a dot). Checked before the policy,
/// so arbitrary SNI values never reach the database.
pub fn eligible(name: &str, handle_domains: &[String]) -> bool {
    handle_domains.iter().any(|domain| {
        name.strip_suffix(domain.as_str()).is_some_and(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        })
    })
}

/// How many on-demand names were first issued inside the budget window ending at `now`.
pub fn issued_in_window(first_issued: impl Iterator<Item = i64>, now: i64) -> usize {
    first_issued
        .filter(|t| *t > now - BUDGET_WINDOW_SECS)
        .count()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_single_labels_under_handle_domains() {
        let domains = vec![".example.com".to_owned()];
        assert!(eligible("alice.example.com", &domains));
        assert!(eligible("a-1.example.com", &domains));
        assert!(!eligible("example.com", &domains));
        assert!(!eligible(".example.com", &domains));
        assert!(!eligible("a.b.example.com", &domains));
        assert!(!eligible("alice.example.org", &domains));
        assert!(!eligible("-alice.example.com", &domains));
        assert!(!eligible("al_ice.example.com", &domains));
        assert!(!eligible("ALICE.example.com", &domains));
    }

    #[test]
    fn the_budget_counts_the_last_week_only() {
        let now = 1_000_000_000;
        let times = [
            now - 10,
            now - BUDGET_WINDOW_SECS + 1,
            now - BUDGET_WINDOW_SECS - 1,
        ];
        assert_eq!(issued_in_window(times.into_iter(), now), 2);
    }
}
