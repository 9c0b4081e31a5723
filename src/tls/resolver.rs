//! Choosing the certificate for a handshake from its ClientHello: by server name (SNI, RFC 6066
//! §3) and by ALPN (RFC 7301). A hello that offers `acme-tls/1` is a TLS-ALPN-01 validation and
//! gets the challenge certificate for its name or nothing (RFC 8737 §3); any other hello gets the
//! certificate stored under its exact name, else a wildcard covering it, else the main hostname's
//! when it sent no name, else nothing, which fails the handshake.
//!
//! This runs inside rustls and must not wait: it reads only the in-memory certificate store.
//! Issuing a missing certificate happens before (`listener` calls `Tls::prepare`).

use std::sync::Arc;

use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;

use super::certs::CertStore;
use super::challenges::{ACME_TLS_ALPN, Challenges};

/// The in-memory key of the operator's own certificate (`--tls files`), served for every name.
pub const FILES_KEY: &str = "(files)";

/// The rustls certificate resolver over the certificate store and the pending challenges.
pub struct CertResolver {
    certs: CertStore,
    challenges: Challenges,
    /// The main hostname, served to hellos without SNI.
    hostname: String,
    /// Whether the operator's own files are served for every name.
    files: bool,
}

impl std::fmt::Debug for CertResolver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CertResolver")
            .field("hostname", &self.hostname)
            .field("files", &self.files)
            .finish_non_exhaustive()
    }
}

/// The wildcard name that covers `name` (`alice.example.com` → `*.example.com`); a wildcard
/// covers exactly one label (RFC 6125 §6.4.3).
pub fn wildcard_for(name: &str) -> Option<String> {
    let (_, parent) = name.split_once('.')?;
    parent.contains('.').then(|| format!("*.{parent}"))
}

impl CertResolver {
    pub fn new(certs: CertStore, challenges: Challenges, hostname: String, files: bool) -> Self {
        CertResolver {
            certs,
            challenges,
            hostname,
            files,
        }
    }

    /// The certificate served to a hello for `name` (`None`: the hello sent no SNI).
    pub fn lookup(&self, name: Option<&str>) -> Option<Arc<CertifiedKey>> {
        if self.files {
            return self.certs.get(FILES_KEY).map(|c| c.key.clone());
        }
        let name = name.unwrap_or(&self.hostname);
        if let Some(cert) = self.certs.get(name) {
            return Some(cert.key.clone());
        }
        let wildcard = wildcard_for(name)?;
        self.certs.get(&wildcard).map(|c| c.key.clone())
    }
}

impl ResolvesServerCert for CertResolver {
    fn resolve(&self, hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        let name = hello.server_name().map(str::to_ascii_lowercase);
        let validation = hello
            .alpn()
            .is_some_and(|mut protocols| protocols.any(|p| p == ACME_TLS_ALPN));
        if validation {
            return self.challenges.tls_alpn01(name.as_deref()?);
        }
        self.lookup(name.as_deref())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards_cover_one_label() {
        assert_eq!(
            wildcard_for("alice.example.com").as_deref(),
            Some("*.example.com")
        );
        assert_eq!(wildcard_for("example.com"), None);
        assert_eq!(wildcard_for("com"), None);
    }
}
