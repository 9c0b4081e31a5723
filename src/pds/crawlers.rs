//! Asking a relay to crawl this PDS (`com.atproto.sync.requestCrawl` on the relay, with this
//! server's hostname), as the reference PDS does for its configured crawlers. The admin asks from
//! the console when a relay does not follow the node yet; the relay then subscribes to this PDS's
//! firehose, which the console shows as a subscriber.
//!
//! Lexicon: `com.atproto.sync.requestCrawl`.

use serde_json::json;

use super::{Pds, PdsError};
use crate::net::Trust;

/// The base URL of a relay named by host (`bsky.network`) or URL (`https://relay.example`).
fn relay_base(relay: &str) -> Result<String, PdsError> {
    let relay = relay.trim().trim_end_matches('/');
    let base = if relay.starts_with("https://") || relay.starts_with("http://") {
        relay.to_owned()
    } else {
        format!("https://{relay}")
    };
    let url = reqwest::Url::parse(&base)
        .map_err(|e| PdsError::InvalidRequest(format!("Not a relay address: {e}")))?;
    if url.host_str().is_none() || url.path() != "/" || url.query().is_some() {
        return Err(PdsError::InvalidRequest(
            "Give the relay's host name, like bsky.network".into(),
        ));
    }
    Ok(base)
}

impl Pds {
    /// Asks `relay` to crawl this server.
    pub async fn request_crawl_from(&self, relay: &str) -> Result<(), PdsError> {
        let base = relay_base(relay)?;
        let response = self
            .inner
            .http
            .post(
                &format!("{base}/xrpc/com.atproto.sync.requestCrawl"),
                // The relay is named by an admin of this node, as the operator's configuration would.
                Trust::Operator,
            )
            .map_err(|e| PdsError::InvalidRequest(e.to_string()))?
            .json(&json!({"hostname": self.inner.config.hostname}))
            .timeout(std::time::Duration::from_secs(15))
            .send()
            .await
            .map_err(|e| PdsError::Upstream(format!("{base} did not answer: {e}")))?;
        if response.status().is_success() {
            return Ok(());
        }
        let status = response.status();
        let body = response.bytes().await.unwrap_or_default();
        let body = String::from_utf8_lossy(&body);
        let message = serde_json::from_str::<serde_json::Value>(&body)
            .ok()
            .and_then(|v| v.get("message").and_then(|m| m.as_str()).map(str::to_owned))
            .unwrap_or_else(|| body.chars().take(200).collect());
        Err(PdsError::Upstream(format!(
            "{base} refused (HTTP {}): {message}",
            status.as_u16()
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::relay_base;

    #[test]
    fn relays_by_name_or_url() {
        assert_eq!(relay_base("bsky.network").unwrap(), "https://bsky.network");
        assert_eq!(
            relay_base("http://127.0.0.1:2584/").unwrap(),
            "http://127.0.0.1:2584"
        );
        assert!(relay_base("https://relay.example/xrpc").is_err());
        assert!(relay_base("not a host").is_err());
    }
}
