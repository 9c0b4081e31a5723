//! TLS for outbound connections, and the clients for destinations the operator chose (the ACME CA,
//! the command line's calls to its own server).
//!
//! TLS is rustls with the ring provider and the Mozilla root set compiled into the binary, so HTTPS
//! works on a machine with no CA bundle (a minimal Pi image, a scratch container).

use std::sync::Arc;
use std::time::Duration;

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

/// The HTTP client of the ACME account: HTTPS only, trusting `roots` (the bundled ones plus a
/// private CA's the operator named).
pub fn acme_client(
    roots: rustls::RootCertStore,
    connect_timeout: Duration,
) -> hyper_util::client::legacy::Client<
    hyper_rustls::HttpsConnector<hyper_util::client::legacy::connect::HttpConnector>,
    instant_acme::BodyWrapper<bytes::Bytes>,
> {
    let tls = tls_client_config_with_roots(roots);
    let mut tcp = hyper_util::client::legacy::connect::HttpConnector::new();
    tcp.enforce_http(false);
    tcp.set_connect_timeout(Some(connect_timeout));
    let connector = hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config(tls)
        .https_only()
        .enable_http1()
        .enable_http2()
        .wrap_connector(tcp);
    hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build(connector)
}

/// How a command-line client talks to a server the operator named (its own node, a backup
/// source): no overall timeout unless given, redirects refused, no address checks.
pub struct OperatorClient {
    pub user_agent: &'static str,
    /// The whole request, when bounded.
    pub timeout: Option<Duration>,
    /// Between two reads of the response.
    pub read_timeout: Option<Duration>,
    pub connect_timeout: Duration,
}

impl OperatorClient {
    pub fn build(self) -> reqwest::Client {
        let mut builder = reqwest::Client::builder()
            .use_preconfigured_tls(tls_client_config())
            .user_agent(self.user_agent)
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .connect_timeout(self.connect_timeout);
        if let Some(timeout) = self.timeout {
            builder = builder.timeout(timeout);
        }
        if let Some(timeout) = self.read_timeout {
            builder = builder.read_timeout(timeout);
        }
        builder
            .build()
            .unwrap_or_else(|e| panic!("building the HTTP client failed: {e}"))
    }
}
