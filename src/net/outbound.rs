//! The one HTTP client for everything the node fetches: DID documents (PLC directory, did:web),
//! handle well-known files, proxied XRPC calls, feed generators, crawled hosts and their repos,
//! labelers (WebSockets, see `websocket`), and later OAuth client metadata.
//!
//! A request names whose say-so it follows ([`Trust`]). A URL the operator configured (the PLC
//! directory, `--appview`, `--relay-hosts`) is fetched as given. A URL that came from anyone else (a
//! DID document, a handle, a crawl request, a proxy header) is, in production:
//! - https (or wss) only; plain http and loopback only in local mode;
//! - refused when its host is an address literal that is not global unicast, `localhost` or a
//!   single label (which the system resolver might complete with a search domain);
//! - resolved by [`GuardedResolver`], which drops every non-public address, so the address checked
//!   is the address connected to (no second lookup an attacker's DNS could answer differently).
//!
//! For every request: redirects are refused (a 3xx is returned as it is; no caller follows it),
//! the body is read with a byte budget while it streams (`Content-Length` over the budget is
//! refused before reading), connect and total timeouts apply, system proxies are ignored, and
//! counters record requests, refusals, failures, oversized bodies and bytes read.
//!
//! The reference PDS does the same with its `unicastLookup` agent and `safeFetchWrap`
//! (bluesky-social/atproto `packages/pds/src/context.ts`), off only in dev mode.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use serde::Serialize;

use super::address;
use super::resolve::GuardedResolver;
use super::tls::tls_client_config;

/// How long a request may take in all, unless the caller says otherwise.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a connection may take to open.
pub(super) const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a response may go without sending a byte.
const READ_TIMEOUT: Duration = Duration::from_secs(30);
/// The body budget when a caller names none.
const DEFAULT_LIMIT: usize = 1024 * 1024;

/// Whose say-so a URL follows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Trust {
    /// Anyone's: a DID document, a handle, a crawl request, a proxy header. Checked in production.
    Public,
    /// The operator's configuration: fetched as given.
    Operator,
}

/// Why an outbound request did not produce a body.
#[derive(Debug, thiserror::Error)]
pub enum OutboundError {
    /// The destination is not one this node may reach (scheme, address, name).
    #[error("refused to fetch {0}")]
    Refused(String),
    /// The URL does not parse.
    #[error("bad URL {0}")]
    BadUrl(String),
    /// Connecting or sending failed (the cause says which).
    #[error("{0}")]
    Unreachable(String),
    #[error("timed out")]
    Timeout,
    /// The body is larger than the caller's budget.
    #[error("response larger than {0} bytes")]
    TooLarge(usize),
    /// Reading or decoding the body failed.
    #[error("{0}")]
    Body(String),
}

/// What outbound traffic the node has made since it started.
#[derive(Default)]
pub struct Counters {
    requests: AtomicU64,
    refused: AtomicU64,
    failed: AtomicU64,
    too_large: AtomicU64,
    bytes: AtomicU64,
}

/// A copy of [`Counters`] for the admin view.
#[derive(Clone, Copy, Debug, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CounterValues {
    pub requests: u64,
    pub refused: u64,
    pub failed: u64,
    pub too_large: u64,
    pub bytes: u64,
}

impl Counters {
    pub(super) fn refused(&self) {
        self.refused.fetch_add(1, Ordering::Relaxed);
    }

    pub(super) fn request(&self) {
        self.requests.fetch_add(1, Ordering::Relaxed);
    }

    pub(super) fn failed(&self) {
        self.failed.fetch_add(1, Ordering::Relaxed);
    }

    fn read(&self, n: usize) {
        self.bytes.fetch_add(n as u64, Ordering::Relaxed);
    }

    pub fn values(&self) -> CounterValues {
        CounterValues {
            requests: self.requests.load(Ordering::Relaxed),
            refused: self.refused.load(Ordering::Relaxed),
            failed: self.failed.load(Ordering::Relaxed),
            too_large: self.too_large.load(Ordering::Relaxed),
            bytes: self.bytes.load(Ordering::Relaxed),
        }
    }
}

/// The outbound client. Cheap to clone.
#[derive(Clone)]
pub struct Outbound {
    inner: Arc<Inner>,
}

struct Inner {
    /// For public destinations in production: the guarded resolver.
    guarded: reqwest::Client,
    /// For operator destinations, and for everything in local mode.
    open: reqwest::Client,
    /// Whether public destinations are checked (production) or not (local mode, the CLI).
    guard: bool,
    counters: Arc<Counters>,
}

fn client_builder() -> reqwest::ClientBuilder {
    reqwest::Client::builder()
        .use_preconfigured_tls(tls_client_config())
        .user_agent(concat!("skyhold/", env!("CARGO_PKG_VERSION")))
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .timeout(DEFAULT_TIMEOUT)
        .connect_timeout(CONNECT_TIMEOUT)
        .read_timeout(READ_TIMEOUT)
}

impl Outbound {
    /// The client of a node: public destinations checked unless `local_mode`.
    pub fn new(local_mode: bool) -> Outbound {
        let counters = Arc::new(Counters::default());
        let guarded = client_builder()
            .dns_resolver(GuardedResolver::new(counters.clone()))
            .build()
            .unwrap_or_else(|e| panic!("building the HTTP client failed: {e}"));
        let open = client_builder()
            .build()
            .unwrap_or_else(|e| panic!("building the HTTP client failed: {e}"));
        Outbound {
            inner: Arc::new(Inner {
                guarded,
                open,
                guard: !local_mode,
                counters,
            }),
        }
    }

    /// Whether public destinations are checked.
    pub fn guarded(&self) -> bool {
        self.inner.guard
    }

    pub fn counters(&self) -> &Counters {
        &self.inner.counters
    }

    pub fn get(&self, url: &str, trust: Trust) -> Result<Request, OutboundError> {
        self.request(reqwest::Method::GET, url, trust)
    }

    pub fn post(&self, url: &str, trust: Trust) -> Result<Request, OutboundError> {
        self.request(reqwest::Method::POST, url, trust)
    }

    /// A request to `url`, after checking that this node may fetch it on `trust`'s say-so.
    pub fn request(
        &self,
        method: reqwest::Method,
        url: &str,
        trust: Trust,
    ) -> Result<Request, OutboundError> {
        let parsed = url::Url::parse(url).map_err(|_| OutboundError::BadUrl(url.to_owned()))?;
        let checked = self.inner.guard && trust == Trust::Public;
        if checked && let Err(e) = check_public_url(&parsed, &["https"]) {
            self.inner.counters.refused();
            return Err(e);
        }
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(OutboundError::BadUrl(url.to_owned()));
        }
        let client = if checked {
            &self.inner.guarded
        } else {
            &self.inner.open
        };
        Ok(Request {
            builder: client.request(method, parsed),
            limit: DEFAULT_LIMIT,
            counters: self.inner.counters.clone(),
        })
    }
}

/// Checks a URL from someone else's say-so before any lookup: an allowed scheme, a host that is
/// not an address literal outside global unicast, not `localhost`, not a single label.
pub(super) fn check_public_url(url: &url::Url, schemes: &[&str]) -> Result<(), OutboundError> {
    let refused = |why: &str| OutboundError::Refused(format!("{url}: {why}"));
    if !schemes.contains(&url.scheme()) {
        return Err(refused(&format!(
            "only {} in production",
            schemes.join(" and ")
        )));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(refused("credentials in the URL"));
    }
    match url.host() {
        None => Err(refused("no host")),
        Some(url::Host::Ipv4(ip)) => match address::refusal(ip.into()) {
            Some(why) => Err(refused(why)),
            None => Ok(()),
        },
        Some(url::Host::Ipv6(ip)) => match address::refusal(ip.into()) {
            Some(why) => Err(refused(why)),
            None => Ok(()),
        },
        Some(url::Host::Domain(name)) => check_public_name(name).map_err(refused),
    }
}

/// Whether a host name may be looked up for a public destination.
pub(super) fn check_public_name(name: &str) -> Result<(), &'static str> {
    let name = name.trim_end_matches('.').to_ascii_lowercase();
    if name == "localhost" || name.ends_with(".localhost") {
        return Err("loopback name");
    }
    if !name.contains('.') {
        return Err("single-label name");
    }
    Ok(())
}

/// `scheme://host[:port]` of a service endpoint from a DID document: its path, query and fragment
/// are dropped (as the reference PDS keeps only the origin), so a document cannot choose the path
/// called (`https://host/secret#` would turn the appended `/xrpc/...` into a fragment).
pub fn endpoint_origin(endpoint: &str) -> Option<String> {
    let url = url::Url::parse(endpoint).ok()?;
    if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
        return None;
    }
    Some(url.origin().ascii_serialization())
}

/// A request being built. Its body budget is [`DEFAULT_LIMIT`] unless [`Request::limit`] says
/// otherwise.
pub struct Request {
    builder: reqwest::RequestBuilder,
    limit: usize,
    counters: Arc<Counters>,
}

impl Request {
    /// The most bytes of body read before the response is refused.
    pub fn limit(mut self, bytes: usize) -> Request {
        self.limit = bytes;
        self
    }

    pub fn timeout(mut self, timeout: Duration) -> Request {
        self.builder = self.builder.timeout(timeout);
        self
    }

    pub fn header(mut self, name: &str, value: &str) -> Request {
        self.builder = self.builder.header(name, value);
        self
    }

    pub fn bearer_auth(mut self, token: &str) -> Request {
        self.builder = self.builder.bearer_auth(token);
        self
    }

    pub fn body(mut self, body: impl Into<reqwest::Body>) -> Request {
        self.builder = self.builder.body(body);
        self
    }

    pub fn json<T: Serialize + ?Sized>(mut self, value: &T) -> Request {
        self.builder = self.builder.json(value);
        self
    }

    pub async fn send(self) -> Result<Response, OutboundError> {
        self.counters.request();
        match self.builder.send().await {
            Ok(response) => {
                let response = Response {
                    inner: response,
                    limit: self.limit,
                    read: 0,
                    counters: self.counters,
                };
                if response
                    .inner
                    .content_length()
                    .is_some_and(|n| n > response.limit as u64)
                {
                    response.counters.too_large.fetch_add(1, Ordering::Relaxed);
                    return Err(OutboundError::TooLarge(response.limit));
                }
                Ok(response)
            }
            Err(e) => {
                if refused_by_resolver(&e) {
                    self.counters.refused();
                    return Err(OutboundError::Refused(error_chain(&e)));
                }
                self.counters.failed();
                Err(if e.is_timeout() {
                    OutboundError::Timeout
                } else {
                    OutboundError::Unreachable(error_chain(&e))
                })
            }
        }
    }
}

/// Whether a send failed because the guarded resolver refused every address.
fn refused_by_resolver(e: &reqwest::Error) -> bool {
    let mut source: Option<&dyn std::error::Error> = Some(e);
    while let Some(error) = source {
        if error.is::<super::resolve::RefusedName>() {
            return true;
        }
        source = error.source();
    }
    false
}

/// An error with its causes, which reqwest keeps out of its `Display`.
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

/// A response whose body is read within the request's budget.
pub struct Response {
    inner: reqwest::Response,
    limit: usize,
    read: usize,
    counters: Arc<Counters>,
}

impl Response {
    pub fn status(&self) -> reqwest::StatusCode {
        self.inner.status()
    }

    pub fn headers(&self) -> &reqwest::header::HeaderMap {
        self.inner.headers()
    }

    /// The next piece of the body (`None` at its end), within the budget.
    pub async fn chunk(&mut self) -> Result<Option<Bytes>, OutboundError> {
        let chunk = match self.inner.chunk().await {
            Ok(chunk) => chunk,
            Err(e) => {
                self.counters.failed();
                return Err(if e.is_timeout() {
                    OutboundError::Timeout
                } else {
                    OutboundError::Body(error_chain(&e))
                });
            }
        };
        if let Some(chunk) = &chunk {
            self.read += chunk.len();
            self.counters.read(chunk.len());
            if self.read > self.limit {
                self.counters.too_large.fetch_add(1, Ordering::Relaxed);
                return Err(OutboundError::TooLarge(self.limit));
            }
        }
        Ok(chunk)
    }

    /// The whole body (at most the budget).
    pub async fn bytes(mut self) -> Result<Bytes, OutboundError> {
        let mut body = BytesMut::new();
        while let Some(chunk) = self.chunk().await? {
            body.extend_from_slice(&chunk);
        }
        Ok(body.freeze())
    }

    /// The body parsed as JSON.
    pub async fn json<T: serde::de::DeserializeOwned>(self) -> Result<T, OutboundError> {
        let body = self.bytes().await?;
        serde_json::from_slice(&body).map_err(|e| OutboundError::Body(format!("not JSON: {e}")))
    }

    /// The body as text (invalid UTF-8 replaced).
    pub async fn text(self) -> Result<String, OutboundError> {
        let body = self.bytes().await?;
        Ok(String::from_utf8_lossy(&body).into_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[track_caller]
    fn check(url: &str, allowed: bool) {
        let parsed = url::Url::parse(url).unwrap();
        let outcome = check_public_url(&parsed, &["https"]);
        assert_eq!(outcome.is_ok(), allowed, "{url}: {outcome:?}");
    }

    #[test]
    fn public_destinations_in_production() {
        check("https://pds.example.com/xrpc/x", true);
        check("https://1.1.1.1/", true);
        check("http://pds.example.com/", false);
        check("ftp://pds.example.com/", false);
        check("https://localhost:8080/", false);
        check("https://LOCALHOST./", false);
        check("https://api.localhost/", false);
        check("https://metadata/", false);
        check("https://user:pw@pds.example.com/", false);
        check("https://2130706433:47101/", false);
        check("https://127.1/", false);
        check("https://0x7f000001/", false);
        check("https://0177.0.0.1/", false);
        check("https://[::ffff:127.0.0.1]/", false);
        check("https://169.254.169.254/latest/meta-data/", false);
        check("https://10.1.2.3:8080/", false);
    }

    #[test]
    fn local_mode_and_operator_urls_are_not_checked() {
        let outbound = Outbound::new(true);
        assert!(outbound.get("http://127.0.0.1:1/", Trust::Public).is_ok());
        let outbound = Outbound::new(false);
        assert!(outbound.get("http://127.0.0.1:1/", Trust::Operator).is_ok());
        assert!(matches!(
            outbound.get("http://127.0.0.1:1/", Trust::Public),
            Err(OutboundError::Refused(_))
        ));
        assert_eq!(outbound.counters().values().refused, 1);
    }
}
