//! Outbound HTTP: one client setup for every call skyhold makes to the outside (PLC directory, DID
//! documents, other PDSs and relays, and the ACME CA, whose client `tls::acme` builds on
//! [`tls_client_config_with_roots`]).
//!
//! TLS is rustls with the ring provider and the Mozilla root set compiled into the binary, so HTTPS
//! works on a machine with no CA bundle (a minimal Pi image, a scratch container).

use std::sync::Arc;
use std::time::Duration;

/// How long any outbound request may take before it is abandoned.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// The Mozilla root set compiled into the binary.
pub fn web_pki_roots() -> rustls::RootCertStore {
    rustls::RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    }
}

/// A TLS client configuration with ring and the given roots, and no ALPN (callers set it).
pub fn tls_client_config_with_roots(roots: rustls::RootCertStore) -> rustls::ClientConfig {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap_or_else(|_| unreachable!("ring supports the default protocol versions"))
        .with_root_certificates(roots)
        .with_no_client_auth()
}

/// The TLS client configuration: ring, bundled web PKI roots, HTTP/2 and HTTP/1.1 via ALPN.
pub fn tls_client_config() -> rustls::ClientConfig {
    let mut config = tls_client_config_with_roots(web_pki_roots());
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    config
}

/// The TLS client configuration for WebSockets: HTTP/1.1 only, since the upgrade needs it.
pub fn tls_client_config_http1() -> rustls::ClientConfig {
    let mut config = tls_client_config();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    config
}

/// The shared HTTP client.
pub fn http_client() -> reqwest::Client {
    reqwest::Client::builder()
        .use_preconfigured_tls(tls_client_config())
        .user_agent(concat!("skyhold/", env!("CARGO_PKG_VERSION")))
        .timeout(REQUEST_TIMEOUT)
        .connect_timeout(CONNECT_TIMEOUT)
        .build()
        .unwrap_or_else(|e| panic!("building the HTTP client failed: {e}"))
}
