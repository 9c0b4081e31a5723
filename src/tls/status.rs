//! What an operator sees of TLS (the admin status endpoint): every certificate with its validity,
//! renewal time and any failing renewal, the names that are failing to get a first certificate,
//! and how many orders this process has placed.

use serde::Serialize;

use super::certs::{AttemptRow, CertSource};
use super::{Tls, TlsMode};
use crate::clock::now_secs;

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TlsStatus {
    /// `acme`, `files` or `off`.
    pub mode: &'static str,
    pub hostname: String,
    pub acme_directory: Option<String>,
    /// Whether the CA offers ACME Renewal Information (RFC 9773); `null` until asked.
    pub renewal_information: Option<bool>,
    /// ACME orders placed since this process started.
    pub orders_placed: u64,
    pub certificates: Vec<CertificateStatus>,
    /// Names without any certificate whose issuance is failing.
    pub failing: Vec<FailureStatus>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CertificateStatus {
    pub name: String,
    pub names: Vec<String>,
    pub source: CertSource,
    pub on_demand: bool,
    /// Lower-case hex.
    pub serial: String,
    pub not_before: String,
    pub not_after: String,
    pub renew_at: String,
    pub expired: bool,
    /// Present while renewing this certificate fails (it is still served).
    pub renewal_failure: Option<FailureStatus>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FailureStatus {
    pub name: String,
    pub failures: u32,
    pub last_error: String,
    pub last_attempt: String,
    pub next_attempt: String,
}

fn datetime(secs: i64) -> String {
    crate::core::syntax::Datetime::from_unix_millis(secs.saturating_mul(1000))
        .map_or_else(|_| secs.to_string(), |d| d.as_str().to_owned())
}

fn failure(name: &str, row: &AttemptRow) -> FailureStatus {
    FailureStatus {
        name: name.to_owned(),
        failures: row.failures,
        last_error: row.last_error.clone(),
        last_attempt: datetime(row.last_attempt),
        next_attempt: datetime(row.next_attempt),
    }
}

/// The status of `tls` now.
pub fn status(tls: &Tls) -> TlsStatus {
    let inner = &tls.inner;
    let now = now_secs();
    let mut certificates: Vec<CertificateStatus> = inner
        .certs
        .all()
        .into_iter()
        .map(|(name, cert)| CertificateStatus {
            renewal_failure: inner.certs.attempt(&name).map(|a| failure(&name, &a)),
            names: cert.row.names.clone(),
            source: cert.row.source,
            on_demand: cert.row.on_demand,
            serial: cert.facts.serial_hex(),
            not_before: datetime(cert.facts.not_before),
            not_after: datetime(cert.facts.not_after),
            renew_at: datetime(cert.row.renew_at),
            expired: cert.facts.not_after <= now,
            name,
        })
        .collect();
    certificates.sort_by(|a, b| a.name.cmp(&b.name));
    let mut failing: Vec<FailureStatus> = inner
        .certs
        .all_attempts()
        .into_iter()
        .filter(|(name, _)| inner.certs.get(name).is_none())
        .map(|(name, row)| failure(&name, &row))
        .collect();
    failing.sort_by(|a, b| a.name.cmp(&b.name));
    TlsStatus {
        mode: match inner.config.mode {
            TlsMode::Off => "off",
            TlsMode::Files { .. } => "files",
            TlsMode::Acme(_) => "acme",
        },
        hostname: inner.config.hostname.clone(),
        acme_directory: inner.acme.as_ref().map(|a| a.directory_url().to_owned()),
        renewal_information: inner.acme.as_ref().and_then(|a| a.ari_supported()),
        orders_placed: inner.issuance.orders_placed(),
        certificates,
        failing,
    }
}
