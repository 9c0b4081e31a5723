//! Challenge responses in flight: the key authorizations served at
//! `/.well-known/acme-challenge/<token>` for `http-01` (RFC 8555 §8.3) and the self-signed
//! `acmeIdentifier` certificates served to `acme-tls/1` handshakes for `tls-alpn-01` (RFC 8737 §3).
//!
//! An entry lives exactly as long as the order that needs it: adding one returns a guard that
//! removes it when dropped, so a failed or abandoned order leaves nothing behind.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::sign::CertifiedKey;

use super::TlsError;

/// The ALPN protocol name of TLS-ALPN-01 validation handshakes (RFC 8737 §6.2).
pub const ACME_TLS_ALPN: &[u8] = b"acme-tls/1";

/// Longest HTTP-01 token accepted in a request path; RFC 8555 tokens are 43 base64url characters,
/// this leaves room for CAs that use longer ones.
const MAX_TOKEN_LEN: usize = 128;

#[derive(Default)]
struct Pending {
    /// token → key authorization.
    http01: HashMap<String, String>,
    /// DNS name → validation certificate.
    tls_alpn01: HashMap<String, Arc<CertifiedKey>>,
}

/// Challenge responses the listeners serve while an order is being validated.
#[derive(Clone, Default)]
pub struct Challenges {
    pending: Arc<Mutex<Pending>>,
}

/// Removes its challenge response when dropped.
pub struct ChallengeGuard {
    pending: Arc<Mutex<Pending>>,
    kind: GuardKind,
}

enum GuardKind {
    Http01(String),
    TlsAlpn01(String),
}

impl Drop for ChallengeGuard {
    fn drop(&mut self) {
        if let Ok(mut pending) = self.pending.lock() {
            match &self.kind {
                GuardKind::Http01(token) => {
                    pending.http01.remove(token);
                }
                GuardKind::TlsAlpn01(name) => {
                    pending.tls_alpn01.remove(name);
                }
            }
        }
    }
}

impl Challenges {
    /// Serves `key_authorization` at `/.well-known/acme-challenge/<token>` until the guard drops.
    pub fn add_http01(&self, token: &str, key_authorization: &str) -> ChallengeGuard {
        if let Ok(mut pending) = self.pending.lock() {
            pending
                .http01
                .insert(token.to_owned(), key_authorization.to_owned());
        }
        ChallengeGuard {
            pending: self.pending.clone(),
            kind: GuardKind::Http01(token.to_owned()),
        }
    }

    /// The key authorization for an HTTP-01 token, if an order is waiting for it.
    pub fn http01(&self, token: &str) -> Option<String> {
        if token.len() > MAX_TOKEN_LEN {
            return None;
        }
        self.pending.lock().ok()?.http01.get(token).cloned()
    }

    /// Serves a TLS-ALPN-01 validation certificate for `name` (RFC 8737 §3: a self-signed
    /// certificate for exactly that name carrying the critical `acmeIdentifier` extension with the
    /// SHA-256 digest of the key authorization) until the guard drops.
    pub fn add_tls_alpn01(
        &self,
        name: &str,
        key_authorization_digest: &[u8],
    ) -> Result<ChallengeGuard, TlsError> {
        let key = validation_certificate(name, key_authorization_digest)?;
        if let Ok(mut pending) = self.pending.lock() {
            pending.tls_alpn01.insert(name.to_owned(), Arc::new(key));
        }
        Ok(ChallengeGuard {
            pending: self.pending.clone(),
            kind: GuardKind::TlsAlpn01(name.to_owned()),
        })
    }

    /// The validation certificate for `name`, if an order is waiting for it.
    pub fn tls_alpn01(&self, name: &str) -> Option<Arc<CertifiedKey>> {
        self.pending.lock().ok()?.tls_alpn01.get(name).cloned()
    }
}

fn validation_certificate(name: &str, digest: &[u8]) -> Result<CertifiedKey, TlsError> {
    let internal = |e: rcgen::Error| TlsError::Internal(format!("TLS-ALPN-01 certificate: {e}"));
    if digest.len() != 32 {
        return Err(TlsError::Internal(
            "TLS-ALPN-01 digest must be 32 bytes".into(),
        ));
    }
    let mut params = rcgen::CertificateParams::new(vec![name.to_owned()]).map_err(internal)?;
    params.custom_extensions = vec![rcgen::CustomExtension::new_acme_identifier(digest)];
    let key_pair = rcgen::KeyPair::generate().map_err(internal)?;
    let cert = params.self_signed(&key_pair).map_err(internal)?;
    let provider = rustls::crypto::ring::default_provider();
    let signer = provider
        .key_provider
        .load_private_key(PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(
            key_pair.serialize_der(),
        )))
        .map_err(|e| TlsError::Internal(e.to_string()))?;
    // `CertifiedKey::from_der` would check the key against the leaf with webpki, which rejects the
    // critical acmeIdentifier extension; the pair is ours, so build it directly.
    Ok(CertifiedKey::new(vec![cert.der().clone()], signer))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn responses_live_as_long_as_their_guard() {
        let challenges = Challenges::default();
        let guard = challenges.add_http01("tok", "tok.thumb");
        assert_eq!(challenges.http01("tok").as_deref(), Some("tok.thumb"));
        assert_eq!(challenges.http01("other"), None);
        drop(guard);
        assert_eq!(challenges.http01("tok"), None);

        let guard = challenges.add_tls_alpn01("node.test", &[9; 32]).unwrap();
        assert!(challenges.tls_alpn01("node.test").is_some());
        drop(guard);
        assert!(challenges.tls_alpn01("node.test").is_none());
        assert!(challenges.add_tls_alpn01("node.test", &[9; 3]).is_err());
    }
}
