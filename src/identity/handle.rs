//! Handle resolution: DNS TXT `_atproto.<handle>` (`did=<DID>`) and HTTPS
//! `https://<handle>/.well-known/atproto-did`, started together; DNS wins when it answers.
//!
//! Spec: <https://atproto.com/specs/handle#handle-resolution>. As the reference: exactly one
//! `did=` TXT record must exist; the well-known body's first line, trimmed, must be a DID; each
//! method gives up after [`RESOLVE_TIMEOUT`].
//!
//! Does not: check the other direction (that the DID document claims the handle); callers verify
//! both ways.

use std::time::Duration;

use hickory_resolver::TokioResolver;
use hickory_resolver::proto::rr::RData;

use crate::core::syntax::{Did, Handle};
use crate::net::{Outbound, Trust};

/// How long one resolution method may take.
pub const RESOLVE_TIMEOUT: Duration = Duration::from_secs(3);
/// Largest well-known body accepted (a DID and a newline; anything longer is not an answer).
const MAX_WELL_KNOWN_LEN: usize = 2048;

#[derive(Clone)]
pub struct HandleResolver {
    dns: Option<TokioResolver>,
    http: Outbound,
}

impl HandleResolver {
    /// Uses the system's DNS configuration; without one, only HTTPS resolution works.
    pub fn new(http: Outbound) -> HandleResolver {
        let dns = TokioResolver::builder_tokio().ok().and_then(|mut builder| {
            builder.options_mut().timeout = RESOLVE_TIMEOUT;
            builder.options_mut().attempts = 1;
            builder.build().ok()
        });
        HandleResolver { dns, http }
    }

    /// The DID a handle points to, if either method finds one.
    pub async fn resolve(&self, handle: &Handle) -> Option<Did> {
        let dns = self.resolve_dns(handle);
        let http = self.resolve_http(handle);
        tokio::pin!(dns, http);
        tokio::select! {
            biased;
            found = &mut dns => match found {
                Some(did) => Some(did),
                None => http.await,
            },
            found = &mut http => match dns.await {
                Some(did) => Some(did),
                None => found,
            },
        }
    }

    async fn resolve_dns(&self, handle: &Handle) -> Option<Did> {
        let dns = self.dns.as_ref()?;
        let name = format!("_atproto.{}.", handle.as_str());
        let lookup = tokio::time::timeout(RESOLVE_TIMEOUT, dns.txt_lookup(name))
            .await
            .ok()?
            .ok()?;
        let mut found = Vec::new();
        for record in lookup.answers() {
            if let RData::TXT(txt) = &record.data {
                let text: Vec<u8> = txt
                    .txt_data
                    .iter()
                    .flat_map(|chunk| chunk.iter().copied())
                    .collect();
                if let Some(did) = String::from_utf8_lossy(&text).strip_prefix("did=") {
                    found.push(did.trim().to_owned());
                }
            }
        }
        match found.as_slice() {
            [one] => Did::parse(one).ok(),
            _ => None,
        }
    }

    async fn resolve_http(&self, handle: &Handle) -> Option<Did> {
        let url = format!("https://{}/.well-known/atproto-did", handle.as_str());
        let response = self
            .http
            .get(&url, Trust::Public)
            .ok()?
            .limit(MAX_WELL_KNOWN_LEN)
            .timeout(RESOLVE_TIMEOUT)
            .send()
            .await
            .ok()?;
        if !response.status().is_success() {
            return None;
        }
        let body = response.bytes().await.ok()?;
        let text = String::from_utf8_lossy(&body);
        let line = text.lines().next()?.trim();
        if !line.starts_with("did:") {
            return None;
        }
        Did::parse(line).ok()
    }
}
