//! The hosts the relay follows: adding one (config, `requestCrawl`, the admin), banning and
//! unbanning, and their stored state.
//!
//! Spec: `com.atproto.sync.requestCrawl`. A crawl request is checked by asking the host to describe
//! itself before it is followed; outside local mode, loopback and bare IP hosts are refused.

use redb::ReadableTable;

use super::ingest::LOCAL_HOST;
use super::rows::{self, HostRow};
use super::tables::HOSTS;
use super::{Relay, RelayError};
use crate::store::open_read_table;

/// Normalises `host[:port]` (dropping a scheme or path a caller may have added).
pub fn normalize_host(input: &str) -> Result<String, RelayError> {
    let host = input
        .trim()
        .trim_start_matches("https://")
        .trim_start_matches("http://")
        .trim_start_matches("wss://")
        .trim_start_matches("ws://")
        .split('/')
        .next()
        .unwrap_or_default()
        .to_ascii_lowercase();
    let (name, port) = match host.rsplit_once(':') {
        Some((name, port)) => (name, Some(port)),
        None => (host.as_str(), None),
    };
    let name_ok = !name.is_empty()
        && name.len() <= 253
        && name.split('.').all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        });
    let port_ok = port.is_none_or(|p| p.parse::<u16>().is_ok_and(|p| p > 0));
    if !name_ok || !port_ok {
        return Err(RelayError::InvalidRequest(format!(
            "not a hostname: {input}"
        )));
    }
    Ok(host)
}

fn is_loopback(host: &str) -> bool {
    let name = host.split(':').next().unwrap_or(host);
    name == "localhost" || name.ends_with(".localhost") || name.parse::<std::net::IpAddr>().is_ok()
}

impl Relay {
    pub(super) async fn host_row(&self, host: &str) -> Result<Option<HostRow>, RelayError> {
        let host = host.to_owned();
        self.store()
            .read(move |txn| {
                let Some(table) = open_read_table(txn, HOSTS)? else {
                    return Ok(None);
                };
                Ok::<_, RelayError>(
                    table
                        .get(host.as_str())?
                        .map(|v| rows::decode::<HostRow>(v.value()))
                        .transpose()?,
                )
            })
            .await
    }

    async fn update_host(
        &self,
        host: &str,
        change: impl FnOnce(Option<HostRow>) -> Option<HostRow> + Send + 'static,
    ) -> Result<(), RelayError> {
        let host = host.to_owned();
        self.store()
            .write(move |txn| {
                let mut table = txn.open_table(HOSTS)?;
                let current = table
                    .get(host.as_str())?
                    .map(|v| rows::decode::<HostRow>(v.value()))
                    .transpose()?;
                if let Some(row) = change(current) {
                    table.insert(host.as_str(), rows::encode(&row)?.as_slice())?;
                }
                Ok(Ok::<_, RelayError>(()))
            })
            .await
    }

    pub(super) async fn set_host_status(
        &self,
        host: &str,
        status: &'static str,
    ) -> Result<(), RelayError> {
        self.update_host(host, move |row| {
            row.filter(|r| r.status != "banned").map(|mut r| {
                r.status = status.into();
                r
            })
        })
        .await
    }

    /// Forgets a host's cursor (after it reset its sequence).
    pub(super) async fn reset_cursor(&self, host: &str) -> Result<(), RelayError> {
        self.update_host(host, |row| {
            row.map(|mut r| {
                r.cursor = 0;
                r
            })
        })
        .await
    }

    /// Advances a host's cursor past an event that was skipped.
    pub(super) async fn skip(&self, host: &str, seq: u64) -> Result<(), RelayError> {
        self.update_host(host, move |row| {
            row.map(|mut r| {
                r.cursor = r.cursor.max(seq);
                r
            })
        })
        .await
    }

    /// Follows `host` from now on (a no-op for a host already known, or banned).
    pub async fn add_host(&self, host: &str, aggregator: bool) -> Result<(), RelayError> {
        let host = normalize_host(host)?;
        if !self.inner.config.local_mode && is_loopback(&host) {
            return Err(RelayError::InvalidRequest(format!(
                "refusing to crawl {host}"
            )));
        }
        if self
            .inner
            .local
            .as_ref()
            .is_some_and(|l| l.hostname() == host)
        {
            // The local PDS is followed in-process.
            return Ok(());
        }
        if let Some(row) = self.host_row(&host).await?
            && row.status == "banned"
        {
            return Err(RelayError::HostBanned(format!("host {host} is banned")));
        }
        let insecure = self.scheme(&host) == "http";
        self.update_host(&host, move |row| {
            Some(row.unwrap_or(HostRow {
                cursor: 0,
                status: "idle".into(),
                insecure,
                added_at: crate::clock::now_micros(),
                aggregator,
            }))
        })
        .await?;
        self.spawn_subscriber(&host);
        Ok(())
    }

    /// `requestCrawl`: checks the host answers as an atproto service, then follows it.
    pub async fn request_crawl(&self, host: &str) -> Result<(), RelayError> {
        let host = normalize_host(host)?;
        if let Some(row) = self.host_row(&host).await?
            && row.status == "banned"
        {
            return Err(RelayError::HostBanned(format!("host {host} is banned")));
        }
        let url = format!(
            "{}://{host}/xrpc/com.atproto.server.describeServer",
            self.scheme(&host)
        );
        let response = self
            .inner
            .http
            .get(&url)
            .timeout(std::time::Duration::from_secs(10))
            .send()
            .await
            .map_err(|e| RelayError::InvalidRequest(format!("host {host} did not answer: {e}")))?;
        if !response.status().is_success() {
            return Err(RelayError::InvalidRequest(format!(
                "host {host} does not describe itself as an atproto server (HTTP {})",
                response.status()
            )));
        }
        self.add_host(&host, false).await
    }

    /// Stops following a host and refuses its crawl requests.
    pub async fn ban_host(&self, host: &str) -> Result<(), RelayError> {
        let host = normalize_host(host)?;
        self.update_host(&host, |row| {
            let mut row = row.unwrap_or(HostRow {
                cursor: 0,
                status: "banned".into(),
                insecure: false,
                added_at: crate::clock::now_micros(),
                aggregator: false,
            });
            row.status = "banned".into();
            Some(row)
        })
        .await
    }

    /// Lifts a ban; the host is followed again.
    pub async fn unban_host(&self, host: &str) -> Result<(), RelayError> {
        let host = normalize_host(host)?;
        self.update_host(&host, |row| {
            row.map(|mut r| {
                r.status = "idle".into();
                r
            })
        })
        .await?;
        self.spawn_subscriber(&host);
        Ok(())
    }

    /// Every host to follow (not banned, not the local PDS).
    pub(super) async fn known_hosts(&self) -> Result<Vec<String>, RelayError> {
        self.store()
            .read(|txn| {
                let Some(table) = open_read_table(txn, HOSTS)? else {
                    return Ok(Vec::new());
                };
                let mut out = Vec::new();
                for row in table.iter()? {
                    let (k, v) = row?;
                    let row: HostRow = rows::decode(v.value())?;
                    if k.value() != LOCAL_HOST && row.status != "banned" {
                        out.push(k.value().to_owned());
                    }
                }
                Ok::<_, RelayError>(out)
            })
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::normalize_host;

    #[test]
    fn hostnames() {
        assert_eq!(
            normalize_host("PDS.Example.com").unwrap(),
            "pds.example.com"
        );
        assert_eq!(
            normalize_host("https://pds.example.com/xrpc").unwrap(),
            "pds.example.com"
        );
        assert_eq!(normalize_host("localhost:2583").unwrap(), "localhost:2583");
        assert!(normalize_host("bad host").is_err());
        assert!(normalize_host("host:99999").is_err());
        assert!(normalize_host("").is_err());
    }
}
