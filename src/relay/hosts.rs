//! The hosts the relay follows: adding one (config, `requestCrawl`, the admin), banning and
//! unbanning, and their stored state.
//!
//! Spec: `com.atproto.sync.requestCrawl`. Admission of a crawl request, in order (as the indigo
//! relay does): the name is normalised; outside local mode an address literal (in any spelling the
//! URL parser accepts: `2130706433`, `127.1`, `0x7f000001`, ...) or a loopback name is refused; a
//! banned host is refused; a host already known is simply followed; a new host must fit the daily
//! budget of new hosts ([`RelayConfig::new_hosts_per_day`]) and answer `describeServer` as a public
//! destination (`net::outbound`: https, public addresses, no redirects) before it is added.
//!
//! Hosts the operator configured (`--relay-hosts`, `--relay-upstream`) are fetched as configured;
//! every other host is a public destination and may bring at most
//! [`RelayConfig::host_account_limit`] accounts unless the admin sets another limit.

use std::collections::HashSet;

use redb::ReadableTable;

use super::RelayConfig;
use super::ingest::LOCAL_HOST;
use super::rows::{self, HostRow};
use super::status::HostStatus;
use super::tables::{HOSTS, REPOS};
use super::{Relay, RelayError};
use crate::net::Trust;
use crate::store::{StoreError, open_read_table};

/// How long a host may take to describe itself.
const DESCRIBE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);
/// Largest `describeServer` answer read.
const MAX_DESCRIBE_LEN: usize = 64 * 1024;
const DAY_MICROS: i64 = 24 * 60 * 60 * 1_000_000;

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

/// Whether `host` is a loopback name or an address literal in any spelling a URL parser reads as
/// one (`127.0.0.1`, `2130706433`, `127.1`, `0x7f000001`, `0177.0.0.1`).
pub(super) fn is_address_or_loopback(host: &str) -> bool {
    let name = host.split(':').next().unwrap_or(host);
    if name == "localhost" || name.ends_with(".localhost") {
        return true;
    }
    match url::Url::parse(&format!("https://{host}/")) {
        Ok(url) => !matches!(url.host(), Some(url::Host::Domain(_))),
        Err(_) => true,
    }
}

/// Whether the operator configured `host` (its hosts and upstream relay).
fn configured(config: &RelayConfig, host: &str) -> bool {
    config
        .hosts
        .iter()
        .chain(config.upstream.iter())
        .filter_map(|h| normalize_host(h).ok())
        .any(|h| h == host)
}

impl Relay {
    /// Whose say-so the relay follows `host` on.
    pub(super) fn trust_for(&self, host: &str) -> Trust {
        if configured(&self.inner.config, host) {
            Trust::Operator
        } else {
            Trust::Public
        }
    }

    /// The most accounts `host` may bring (`None`: no limit).
    pub(super) fn account_limit(&self, host: &str, row: Option<&HostRow>) -> Option<u64> {
        let set = row.and_then(|r| r.account_limit);
        match self.trust_for(host) {
            Trust::Operator => set,
            Trust::Public => Some(set.unwrap_or(self.inner.config.host_account_limit)),
        }
    }

    pub(super) async fn host_row(&self, host: &str) -> Result<Option<HostRow>, RelayError> {
        let host = host.to_owned();
        self.store()
            .read(move |txn| {
                let Some(table) = open_read_table(txn, HOSTS)? else {
                    return Ok(None);
                };
                Ok::<_, RelayError>(rows::get(&table, host.as_str())?)
            })
            .await
    }

    pub(super) async fn update_host(
        &self,
        host: &str,
        change: impl FnOnce(Option<HostRow>) -> Option<HostRow> + Send + 'static,
    ) -> Result<(), RelayError> {
        let host = host.to_owned();
        self.store()
            .write(move |txn| {
                let mut table = txn.open_table(HOSTS)?;
                let current = rows::get(&table, host.as_str())?;
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
        status: HostStatus,
    ) -> Result<(), RelayError> {
        self.update_host(host, move |row| {
            row.filter(|r| r.status != HostStatus::Banned).map(|mut r| {
                r.status = status;
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

    /// Follows `host` from now on (a no-op for a host already known, or banned).
    pub async fn add_host(&self, host: &str, aggregator: bool) -> Result<(), RelayError> {
        let host = normalize_host(host)?;
        if !self.inner.config.local_mode
            && self.trust_for(&host) == Trust::Public
            && is_address_or_loopback(&host)
        {
            return Err(RelayError::InvalidRequest(format!(
                "refusing to crawl {host}"
            )));
        }
        if self.is_local_host(&host) {
            // The local PDS is followed in-process.
            return Ok(());
        }
        if let Some(row) = self.host_row(&host).await?
            && row.status == HostStatus::Banned
        {
            return Err(RelayError::HostBanned(format!("host {host} is banned")));
        }
        let insecure = self.scheme(&host) == "http";
        // Configured by the operator: all its accounts, also if members' follows brought it first.
        self.unscope_host(&host);
        self.update_host(&host, move |row| {
            Some(row.map_or_else(
                || HostRow {
                    cursor: 0,
                    status: HostStatus::Idle,
                    insecure,
                    added_at: crate::clock::now_micros(),
                    aggregator,
                    account_limit: None,
                    scoped: false,
                },
                |mut r| {
                    r.scoped = false;
                    r
                },
            ))
        })
        .await?;
        self.spawn_subscriber(&host);
        Ok(())
    }

    pub(super) fn is_local_host(&self, host: &str) -> bool {
        self.inner
            .local
            .as_ref()
            .is_some_and(|l| l.hostname == host)
    }

    /// `requestCrawl`: admits a host as the module doc says, then follows it.
    pub async fn request_crawl(&self, host: &str) -> Result<(), RelayError> {
        let host = normalize_host(host)?;
        if !self.inner.config.local_mode && is_address_or_loopback(&host) {
            return Err(RelayError::InvalidRequest(format!(
                "refusing to crawl {host}"
            )));
        }
        let known = self.host_row(&host).await?;
        if known
            .as_ref()
            .is_some_and(|r| r.status == HostStatus::Banned)
        {
            return Err(RelayError::HostBanned(format!("host {host} is banned")));
        }
        if self.is_local_host(&host) {
            return Ok(());
        }
        if known.is_some() {
            // Known already: make sure it is followed (it may have stopped after an error).
            self.spawn_subscriber(&host);
            return Ok(());
        }
        if self.new_hosts_today().await? >= u64::from(self.inner.config.new_hosts_per_day) {
            return Err(RelayError::RateLimited(format!(
                "this relay takes at most {} new hosts a day; try again tomorrow",
                self.inner.config.new_hosts_per_day
            )));
        }
        let url = format!(
            "{}://{host}/xrpc/com.atproto.server.describeServer",
            self.scheme(&host)
        );
        let unreachable =
            |e: crate::net::OutboundError| RelayError::InvalidRequest(format!("host {host}: {e}"));
        let response = self
            .inner
            .http
            .get(&url, self.trust_for(&host))
            .map_err(unreachable)?
            .limit(MAX_DESCRIBE_LEN)
            .timeout(DESCRIBE_TIMEOUT)
            .send()
            .await
            .map_err(unreachable)?;
        if !response.status().is_success() {
            return Err(RelayError::InvalidRequest(format!(
                "host {host} does not describe itself as an atproto server (HTTP {})",
                response.status()
            )));
        }
        let admitted = self.admit_new_host(&host).await?;
        if !admitted {
            return Err(RelayError::RateLimited(format!(
                "this relay takes at most {} new hosts a day; try again tomorrow",
                self.inner.config.new_hosts_per_day
            )));
        }
        self.spawn_subscriber(&host);
        Ok(())
    }

    /// Hosts the relay was asked to crawl that were added in the last day.
    async fn new_hosts_today(&self) -> Result<u64, RelayError> {
        let relay = self.clone();
        self.store()
            .read(move |txn| {
                let Some(table) = open_read_table(txn, HOSTS)? else {
                    return Ok(0);
                };
                let mut count = 0;
                for row in table.iter()? {
                    let (key, value) = row.map_err(StoreError::from)?;
                    let row: HostRow = rows::decode(value.value())?;
                    if relay.counts_against_budget(key.value(), &row) {
                        count += 1;
                    }
                }
                Ok::<_, RelayError>(count)
            })
            .await
    }

    fn counts_against_budget(&self, host: &str, row: &HostRow) -> bool {
        host != LOCAL_HOST
            && row.status != HostStatus::Banned
            // Brought by members' follows, not by strangers' crawl requests.
            && !row.scoped
            && row.added_at > crate::clock::now_micros() - DAY_MICROS
            && self.trust_for(host) == Trust::Public
    }

    /// Adds a crawled host unless the day's budget was spent meanwhile (checked in the same
    /// transaction, so concurrent requests cannot exceed it).
    async fn admit_new_host(&self, host: &str) -> Result<bool, RelayError> {
        let relay = self.clone();
        let host = host.to_owned();
        let budget = u64::from(self.inner.config.new_hosts_per_day);
        let insecure = self.scheme(&host) == "http";
        self.store()
            .write(move |txn| {
                let mut table = txn.open_table(HOSTS)?;
                if table.get(host.as_str())?.is_some() {
                    return Ok(Ok(true));
                }
                let mut count = 0;
                for row in table.iter()? {
                    let (key, value) = row?;
                    let row: HostRow = rows::decode(value.value())?;
                    if relay.counts_against_budget(key.value(), &row) {
                        count += 1;
                    }
                }
                if count >= budget {
                    return Ok(Ok(false));
                }
                let row = HostRow {
                    cursor: 0,
                    status: HostStatus::Idle,
                    insecure,
                    added_at: crate::clock::now_micros(),
                    aggregator: false,
                    account_limit: None,
                    scoped: false,
                };
                table.insert(host.as_str(), rows::encode(&row)?.as_slice())?;
                Ok(Ok::<_, RelayError>(true))
            })
            .await
    }

    /// Sets the most accounts `host` may bring (`None`: the default for the host).
    pub async fn set_account_limit(
        &self,
        host: &str,
        limit: Option<u64>,
    ) -> Result<(), RelayError> {
        let host = normalize_host(host)?;
        if self.host_row(&host).await?.is_none() {
            return Err(RelayError::HostNotFound(format!("host not found: {host}")));
        }
        self.update_host(&host, move |row| {
            row.map(|mut r| {
                r.account_limit = limit;
                r
            })
        })
        .await
    }

    /// Whether an event for `did` from `host` may be processed: a host with an account limit
    /// brings new accounts only while it is under the limit. The accounts a host has are those
    /// stored when it was first counted plus the new DIDs admitted since (remembered, so that a
    /// DID admitted once stays admitted even if its events were dropped for another reason).
    pub(super) async fn admits_account(&self, host: &str, did: &str) -> Result<bool, RelayError> {
        let row = self.host_row(host).await?;
        let Some(limit) = self.account_limit(host, row.as_ref()) else {
            return Ok(true);
        };
        if self.stored_repo(did).await?.is_some() {
            return Ok(true);
        }
        let known = self
            .inner
            .host_accounts
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .contains_key(host);
        if !known {
            let stored = self.count_host_accounts(host).await?;
            self.inner
                .host_accounts
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .entry(host.to_owned())
                .or_insert_with(|| (stored, HashSet::new()));
        }
        let mut accounts = self
            .inner
            .host_accounts
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let (stored, admitted) = accounts
            .entry(host.to_owned())
            .or_insert_with(|| (0, HashSet::new()));
        if admitted.contains(did) {
            return Ok(true);
        }
        if *stored + admitted.len() as u64 >= limit {
            return Ok(false);
        }
        admitted.insert(did.to_owned());
        Ok(true)
    }

    async fn count_host_accounts(&self, host: &str) -> Result<u64, RelayError> {
        let host = host.to_owned();
        self.store()
            .read(move |txn| {
                let Some(table) = open_read_table(txn, REPOS)? else {
                    return Ok(0);
                };
                let mut count = 0;
                for row in table.iter()? {
                    let (_, value) = row.map_err(StoreError::from)?;
                    let repo: super::rows::RepoRow = rows::decode(value.value())?;
                    if repo.host == host {
                        count += 1;
                    }
                }
                Ok::<_, RelayError>(count)
            })
            .await
    }

    /// Stops following a host and refuses its crawl requests.
    pub async fn ban_host(&self, host: &str) -> Result<(), RelayError> {
        let host = normalize_host(host)?;
        self.update_host(&host, |row| {
            let mut row = row.unwrap_or(HostRow {
                cursor: 0,
                status: HostStatus::Banned,
                insecure: false,
                added_at: crate::clock::now_micros(),
                aggregator: false,
                account_limit: None,
                scoped: false,
            });
            row.status = HostStatus::Banned;
            Some(row)
        })
        .await
    }

    /// Lifts a ban; the host is followed again.
    pub async fn unban_host(&self, host: &str) -> Result<(), RelayError> {
        let host = normalize_host(host)?;
        self.update_host(&host, |row| {
            row.map(|mut r| {
                r.status = HostStatus::Idle;
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
                    if k.value() != LOCAL_HOST && row.status != HostStatus::Banned {
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
    use super::{is_address_or_loopback, normalize_host};

    #[test]
    fn address_literals_in_every_spelling() {
        for host in [
            "127.0.0.1:47101",
            "localhost:47101",
            "api.localhost",
            "2130706433:47101",
            "127.1:47101",
            "0x7f000001:47101",
            "0177.0.0.1:47101",
            "10.1.2.3:8080",
            "169.254.169.254",
            "192.168.0.1:22",
            "1.1.1.1",
        ] {
            let host = normalize_host(host).unwrap();
            assert!(is_address_or_loopback(&host), "{host}");
        }
        for host in ["pds.example.com", "pds.example.com:8443", "x1.example"] {
            assert!(!is_address_or_loopback(host), "{host}");
        }
    }

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
