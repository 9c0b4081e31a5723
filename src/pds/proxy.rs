//! Service proxying: XRPC calls this PDS does not serve itself go to the service the caller names
//! with `atproto-proxy: <did>#<service id>`, or to the configured App View, with a service-auth token
//! minted for the caller.
//!
//! Spec: <https://atproto.com/specs/xrpc#service-proxying>. Behaviour follows the reference PDS:
//! only authenticated calls are proxied (who may call what is `access`'s, chat needs a privileged
//! session); the token's `aud` is the
//! bare service DID (what deployed App Views accept); upstream 500s become 502s; a response is
//! limited to 10 MiB, read while it streams. Only the origin of a DID document's service endpoint is
//! used (a path, query or fragment in it could otherwise choose the path called), and an endpoint
//! named by a caller's DID document is a public destination (`net::outbound`): https, public
//! addresses only, no redirects. The configured App View is the operator's and is called as given.

use std::time::Duration;

use bytes::Bytes;

use super::auth::AuthedAccount;
use super::service_auth::is_protected;
use super::{Pds, PdsError};
use crate::core::syntax::Did;
use crate::net::{OutboundError, Trust, endpoint_origin};

/// Largest upstream response passed back.
const MAX_RESPONSE_LEN: usize = 10 * 1024 * 1024;
/// How long an upstream may take.
const UPSTREAM_TIMEOUT: Duration = Duration::from_secs(30);
/// Request headers passed to the upstream.
const FORWARD_REQUEST: &[&str] = &[
    "accept-language",
    "atproto-accept-labelers",
    "x-bsky-topics",
    "content-type",
    "content-encoding",
];
/// Response headers passed back.
const FORWARD_RESPONSE: &[&str] = &[
    "content-type",
    "content-language",
    "content-encoding",
    "atproto-repo-rev",
    "atproto-content-labelers",
    "retry-after",
];

/// A request to proxy.
pub struct ProxyRequest {
    pub nsid: String,
    pub post: bool,
    pub query: Option<String>,
    pub proxy_header: Option<String>,
    pub headers: Vec<(String, String)>,
    pub body: Bytes,
}

/// What came back.
pub struct ProxyResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Bytes,
}

/// `did#service_id`, checked the way the reference does.
fn parse_proxy_header(value: &str) -> Result<(String, String), PdsError> {
    let bad = |m: &str| PdsError::InvalidRequest(m.to_owned());
    if value.contains(' ') {
        return Err(bad("proxy header cannot contain spaces"));
    }
    let Some(hash) = value.find('#') else {
        return Err(bad("no service id specified in proxy header"));
    };
    if hash == 0 {
        return Err(bad("no did specified in proxy header"));
    }
    if hash == value.len() - 1 {
        return Err(bad("no service id specified in proxy header"));
    }
    if value[hash + 1..].contains('#') {
        return Err(bad("invalid proxy header format"));
    }
    Ok((value[..hash].to_owned(), value[hash..].to_owned()))
}

impl Pds {
    /// Where a call goes: (service DID, base URL, whose say-so the URL follows).
    async fn proxy_target(
        &self,
        nsid: &str,
        header: Option<&str>,
    ) -> Result<(String, String, Trust), PdsError> {
        let appview = self.inner.config.appview.as_ref();
        let Some(header) = header else {
            return match appview {
                Some(service) => Ok((
                    service
                        .did_ref
                        .split('#')
                        .next()
                        .unwrap_or_default()
                        .to_owned(),
                    service.url.clone(),
                    Trust::Operator,
                )),
                None => Err(PdsError::InvalidRequest(format!(
                    "No service configured for {nsid}"
                ))),
            };
        };
        let (did, fragment) = parse_proxy_header(header)?;
        if let Some(service) = appview
            && service.did_ref == header
        {
            return Ok((did, service.url.clone(), Trust::Operator));
        }
        let parsed = Did::parse(&did)
            .map_err(|_| PdsError::InvalidRequest("could not resolve proxy did".into()))?;
        let document = self
            .inner
            .resolver
            .resolve(&parsed)
            .await
            .map_err(|_| PdsError::InvalidRequest("could not resolve proxy did".into()))?;
        let url = document
            .service
            .iter()
            .find(|s| s.id == fragment || s.id == format!("{did}{fragment}"))
            .and_then(|s| s.service_endpoint.as_str())
            .ok_or_else(|| {
                PdsError::InvalidRequest("could not resolve proxy did service url".into())
            })?;
        let origin = endpoint_origin(url).ok_or_else(|| {
            PdsError::InvalidRequest("could not resolve proxy did service url".into())
        })?;
        Ok((did, origin, Trust::Public))
    }

    /// Proxies an authenticated call.
    pub async fn proxy(
        &self,
        caller: &AuthedAccount,
        request: ProxyRequest,
    ) -> Result<ProxyResponse, PdsError> {
        if is_protected(&request.nsid) {
            return Err(PdsError::InvalidToken("Bad token method".into()));
        }
        let (aud, base, trust) = self
            .proxy_target(&request.nsid, request.proxy_header.as_deref())
            .await?;
        let token = self
            .sign_service_token(
                &caller.did,
                &aud,
                Some(&request.nsid),
                self.clock().now_secs() + 60,
            )
            .await?;
        let mut url = format!("{base}/xrpc/{}", request.nsid);
        if let Some(query) = &request.query {
            url.push('?');
            url.push_str(query);
        }
        let unreachable = |e: OutboundError| match e {
            OutboundError::TooLarge(_) => PdsError::Upstream("Upstream response too large".into()),
            OutboundError::Refused(_) | OutboundError::BadUrl(_) => {
                PdsError::InvalidRequest("could not resolve proxy did service url".into())
            }
            other => PdsError::Upstream(format!("Upstream service unreachable: {other}")),
        };
        let client = &self.inner.http;
        let mut outbound = if request.post {
            client
                .post(&url, trust)
                .map_err(unreachable)?
                .body(request.body)
        } else {
            client.get(&url, trust).map_err(unreachable)?
        };
        outbound = outbound
            .bearer_auth(&token)
            .timeout(UPSTREAM_TIMEOUT)
            .limit(MAX_RESPONSE_LEN);
        for (name, value) in &request.headers {
            if FORWARD_REQUEST.contains(&name.as_str()) {
                outbound = outbound.header(name, value);
            }
        }
        let response = outbound.send().await.map_err(unreachable)?;
        let status = response.status().as_u16();
        let headers: Vec<(String, String)> = response
            .headers()
            .iter()
            .filter(|(name, _)| FORWARD_RESPONSE.contains(&name.as_str()))
            .filter_map(|(name, value)| {
                Some((name.as_str().to_owned(), value.to_str().ok()?.to_owned()))
            })
            .collect();
        let body = response.bytes().await.map_err(unreachable)?;
        Ok(ProxyResponse {
            status: if status == 500 { 502 } else { status },
            headers,
            body,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::parse_proxy_header;
    use crate::net::endpoint_origin;

    #[test]
    fn only_the_origin_of_an_endpoint_is_used() {
        assert_eq!(
            endpoint_origin("https://feed.example.com/").as_deref(),
            Some("https://feed.example.com")
        );
        assert_eq!(
            endpoint_origin("http://127.0.0.1:47103/latest/meta-data/secret-path#").as_deref(),
            Some("http://127.0.0.1:47103")
        );
        assert_eq!(
            endpoint_origin("https://svc.example.com:8443/x?y=1").as_deref(),
            Some("https://svc.example.com:8443")
        );
        assert_eq!(endpoint_origin("file:///etc/passwd"), None);
        assert_eq!(endpoint_origin("not a url"), None);
    }

    #[test]
    fn proxy_headers() {
        assert_eq!(
            parse_proxy_header("did:web:api.bsky.app#bsky_appview").unwrap(),
            (
                "did:web:api.bsky.app".to_owned(),
                "#bsky_appview".to_owned()
            )
        );
        assert!(parse_proxy_header("#x").is_err());
        assert!(parse_proxy_header("did:web:a").is_err());
        assert!(parse_proxy_header("did:web:a#").is_err());
        assert!(parse_proxy_header("did:web:a#b#c").is_err());
        assert!(parse_proxy_header("did:web:a #b").is_err());
    }
}
