//! The certificate store: issued certificates and failed attempts, kept in the `tls.*` tables and
//! mirrored in memory so the TLS handshake never waits for the database.
//!
//! Every write goes through `Store::write`; the in-memory copy changes only after the write is
//! durable, so what is served after a restart is what was served before it. Private keys are
//! stored in the redb file, which is why the data directory must be readable by skyhold alone.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::sign::CertifiedKey;
use serde::{Deserialize, Serialize};

use super::TlsError;
use super::tables::{ATTEMPTS, CERTS};
use super::x509::CertFacts;
use redb::ReadableTable as _;

use crate::store::{Store, StoreError, open_read_table};

/// How a stored certificate was obtained.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum CertSource {
    /// ACME with an `http-01` challenge (RFC 8555 §8.3).
    #[serde(rename = "http-01")]
    Http01,
    /// ACME with a `tls-alpn-01` challenge (RFC 8737).
    #[serde(rename = "tls-alpn-01")]
    TlsAlpn01,
    /// ACME with a `dns-01` challenge through the operator's hook (RFC 8555 §8.4).
    #[serde(rename = "dns-01")]
    Dns01,
    /// The operator's own certificate and key files.
    #[serde(rename = "files")]
    Files,
}

/// A stored certificate (JSON in `tls.certs`).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct CertRow {
    /// The names the certificate was ordered for.
    pub names: Vec<String>,
    /// Leaf first, then intermediates, PEM.
    pub chain_pem: String,
    /// PKCS#8 PEM.
    pub key_pem: String,
    pub source: CertSource,
    /// The ACME directory that issued it.
    pub directory: String,
    /// Whether it was issued on demand for a handle (and must be dropped when the handle goes).
    pub on_demand: bool,
    /// When this certificate was issued (seconds).
    pub issued_at: i64,
    /// When the first certificate for this name was issued (seconds); renewals keep it. New names
    /// count against the CA's weekly limit, renewals do not.
    pub first_issued_at: i64,
    /// When to renew (seconds): two thirds into the lifetime, or a time inside the CA's suggested
    /// window (RFC 9773).
    pub renew_at: i64,
    /// When to ask the CA for renewal information again (seconds); `None` until asked.
    #[serde(default)]
    pub ari_next_check: Option<i64>,
}

/// Failed attempts for a name (JSON in `tls.attempts`).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct AttemptRow {
    pub failures: u32,
    pub last_error: String,
    pub last_attempt: i64,
    /// No new order for this name before this time (seconds).
    pub next_attempt: i64,
}

/// A certificate ready to serve.
pub struct LiveCert {
    pub key: Arc<CertifiedKey>,
    pub facts: CertFacts,
    pub row: CertRow,
}

impl LiveCert {
    /// Parses a row's chain and key; a key that does not match the leaf is an error.
    pub fn from_row(row: CertRow) -> Result<LiveCert, TlsError> {
        let key = certified_key(row.chain_pem.as_bytes(), row.key_pem.as_bytes())?;
        let facts = CertFacts::parse(key.end_entity_cert().map_err(bad_cert)?.as_ref())
            .map_err(TlsError::BadCertificate)?;
        Ok(LiveCert {
            key: Arc::new(key),
            facts,
            row,
        })
    }
}

fn bad_cert(e: impl std::fmt::Display) -> TlsError {
    TlsError::BadCertificate(e.to_string())
}

/// Builds a rustls signing key from a PEM chain and a PEM private key, checking that they match.
pub fn certified_key(chain_pem: &[u8], key_pem: &[u8]) -> Result<CertifiedKey, TlsError> {
    let chain = CertificateDer::pem_slice_iter(chain_pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(bad_cert)?;
    if chain.is_empty() {
        return Err(TlsError::BadCertificate("no certificate in the PEM".into()));
    }
    let key = PrivateKeyDer::from_pem_slice(key_pem).map_err(bad_cert)?;
    let provider = rustls::crypto::ring::default_provider();
    CertifiedKey::from_der(chain, key, &provider).map_err(bad_cert)
}

/// Certificates and attempts in memory, written through to the store.
#[derive(Clone)]
pub struct CertStore {
    store: Store,
    certs: Arc<RwLock<HashMap<String, Arc<LiveCert>>>>,
    attempts: Arc<RwLock<HashMap<String, AttemptRow>>>,
}

impl CertStore {
    /// Loads every stored certificate and attempt. A row that no longer parses is logged and
    /// skipped (it is replaced at the next issuance), never served.
    pub async fn load(store: Store) -> Result<CertStore, TlsError> {
        let (cert_rows, attempt_rows) = store
            .read(|txn| {
                let mut certs = Vec::new();
                if let Some(table) = open_read_table(txn, CERTS)? {
                    for entry in table.iter().map_err(StoreError::from)? {
                        let (name, value) = entry.map_err(StoreError::from)?;
                        certs.push((name.value().to_owned(), value.value().to_vec()));
                    }
                }
                let mut attempts = Vec::new();
                if let Some(table) = open_read_table(txn, ATTEMPTS)? {
                    for entry in table.iter().map_err(StoreError::from)? {
                        let (name, value) = entry.map_err(StoreError::from)?;
                        attempts.push((name.value().to_owned(), value.value().to_vec()));
                    }
                }
                Ok::<_, TlsError>((certs, attempts))
            })
            .await?;
        let mut certs = HashMap::new();
        for (name, bytes) in cert_rows {
            let parsed = serde_json::from_slice::<CertRow>(&bytes)
                .map_err(|e| TlsError::BadCertificate(e.to_string()))
                .and_then(LiveCert::from_row);
            match parsed {
                Ok(cert) => {
                    certs.insert(name, Arc::new(cert));
                }
                Err(error) => {
                    tracing::warn!(%name, %error, "skipping an unreadable stored certificate")
                }
            }
        }
        let attempts = attempt_rows
            .into_iter()
            .filter_map(|(name, bytes)| Some((name, serde_json::from_slice(&bytes).ok()?)))
            .collect();
        Ok(CertStore {
            store,
            certs: Arc::new(RwLock::new(certs)),
            attempts: Arc::new(RwLock::new(attempts)),
        })
    }

    /// The certificate stored under exactly `name`.
    pub fn get(&self, name: &str) -> Option<Arc<LiveCert>> {
        self.certs.read().ok()?.get(name).cloned()
    }

    /// Every certificate, by name.
    pub fn all(&self) -> Vec<(String, Arc<LiveCert>)> {
        self.certs
            .read()
            .map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
            .unwrap_or_default()
    }

    /// Replaces the certificate kept in memory only (the operator's files are not stored).
    pub fn set_memory_only(&self, name: &str, cert: LiveCert) {
        if let Ok(mut map) = self.certs.write() {
            map.insert(name.to_owned(), Arc::new(cert));
        }
    }

    /// Stores a certificate under `name` (replacing the previous one) and clears its failures.
    pub async fn put(&self, name: &str, row: CertRow) -> Result<Arc<LiveCert>, TlsError> {
        let cert = Arc::new(LiveCert::from_row(row.clone())?);
        let bytes = serde_json::to_vec(&row).map_err(|e| TlsError::Internal(e.to_string()))?;
        let key = name.to_owned();
        self.store
            .write(move |txn| {
                txn.open_table(CERTS)?
                    .insert(key.as_str(), bytes.as_slice())?;
                txn.open_table(ATTEMPTS)?.remove(key.as_str())?;
                Ok(Ok::<(), TlsError>(()))
            })
            .await?;
        if let Ok(mut map) = self.certs.write() {
            map.insert(name.to_owned(), cert.clone());
        }
        if let Ok(mut map) = self.attempts.write() {
            map.remove(name);
        }
        Ok(cert)
    }

    /// Updates the renewal schedule of a stored certificate (after asking the CA for renewal
    /// information).
    pub async fn reschedule(
        &self,
        name: &str,
        renew_at: i64,
        ari_next_check: i64,
    ) -> Result<(), TlsError> {
        let Some(current) = self.get(name) else {
            return Ok(());
        };
        let mut row = current.row.clone();
        row.renew_at = renew_at;
        row.ari_next_check = Some(ari_next_check);
        self.put_keeping_attempts(name, row).await
    }

    async fn put_keeping_attempts(&self, name: &str, row: CertRow) -> Result<(), TlsError> {
        let cert = Arc::new(LiveCert::from_row(row.clone())?);
        let bytes = serde_json::to_vec(&row).map_err(|e| TlsError::Internal(e.to_string()))?;
        let key = name.to_owned();
        self.store
            .write(move |txn| {
                txn.open_table(CERTS)?
                    .insert(key.as_str(), bytes.as_slice())?;
                Ok(Ok::<(), TlsError>(()))
            })
            .await?;
        if let Ok(mut map) = self.certs.write() {
            map.insert(name.to_owned(), cert);
        }
        Ok(())
    }

    /// Removes a certificate (an on-demand name whose handle is gone).
    pub async fn remove(&self, name: &str) -> Result<(), TlsError> {
        let key = name.to_owned();
        self.store
            .write(move |txn| {
                txn.open_table(CERTS)?.remove(key.as_str())?;
                txn.open_table(ATTEMPTS)?.remove(key.as_str())?;
                Ok(Ok::<(), TlsError>(()))
            })
            .await?;
        if let Ok(mut map) = self.certs.write() {
            map.remove(name);
        }
        if let Ok(mut map) = self.attempts.write() {
            map.remove(name);
        }
        Ok(())
    }

    /// The failures recorded for `name`, if it is failing.
    pub fn attempt(&self, name: &str) -> Option<AttemptRow> {
        self.attempts.read().ok()?.get(name).cloned()
    }

    /// Every failing name.
    pub fn all_attempts(&self) -> Vec<(String, AttemptRow)> {
        self.attempts
            .read()
            .map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
            .unwrap_or_default()
    }

    /// Records a failed attempt.
    pub async fn record_failure(&self, name: &str, row: AttemptRow) -> Result<(), TlsError> {
        let bytes = serde_json::to_vec(&row).map_err(|e| TlsError::Internal(e.to_string()))?;
        let key = name.to_owned();
        self.store
            .write(move |txn| {
                txn.open_table(ATTEMPTS)?
                    .insert(key.as_str(), bytes.as_slice())?;
                Ok(Ok::<(), TlsError>(()))
            })
            .await?;
        if let Ok(mut map) = self.attempts.write() {
            map.insert(name.to_owned(), row);
        }
        Ok(())
    }
}
