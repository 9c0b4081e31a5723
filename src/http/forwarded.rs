//! Who is on the other end of a request: the peer's address, or, when the peer is one of the
//! configured reverse proxies, the client it names in `X-Forwarded-For` and the scheme in
//! `X-Forwarded-Proto` (the de-facto headers that RFC 7239 §5 standardised as `Forwarded`).
//!
//! From any other peer those headers are removed before a handler sees the request, so nothing
//! downstream can be fooled by a client that sets them itself.

use std::net::{IpAddr, SocketAddr};

use axum::extract::connect_info::ConnectInfo;
use axum::extract::{Request, State};
use axum::http::HeaderMap;
use axum::middleware::Next;
use axum::response::Response;

use super::AppState;

/// Most `X-Forwarded-For` entries examined; a longer chain is cut (bounded work per request).
const MAX_FORWARDED_HOPS: usize = 16;

/// The connection a request arrived on.
#[derive(Clone, Copy, Debug)]
pub struct PeerAddr {
    pub addr: SocketAddr,
    /// Whether the connection is TLS (the HTTPS listener).
    pub tls: bool,
}

/// The client as far as we can tell, added to every request's extensions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Client {
    pub ip: IpAddr,
    /// Whether the client reached us over HTTPS (directly, or at a trusted proxy).
    pub https: bool,
}

/// Addresses whose forwarded headers are believed: single IPs or CIDR ranges.
#[derive(Clone, Debug, Default)]
pub struct TrustedProxies(Vec<(IpAddr, u8)>);

impl TrustedProxies {
    /// Parses `10.0.0.1`, `10.0.0.0/8`, `::1`, `fd00::/8`, ...
    pub fn parse(entries: &[String]) -> Result<TrustedProxies, String> {
        let mut ranges = Vec::new();
        for entry in entries.iter().map(|e| e.trim()).filter(|e| !e.is_empty()) {
            let (ip, prefix) = match entry.split_once('/') {
                Some((ip, prefix)) => (ip, Some(prefix)),
                None => (entry, None),
            };
            let ip: IpAddr = ip
                .parse()
                .map_err(|_| format!("{entry:?} is not an IP address or CIDR range"))?;
            let max = if ip.is_ipv4() { 32 } else { 128 };
            let prefix = match prefix {
                None => max,
                Some(p) => p
                    .parse::<u8>()
                    .ok()
                    .filter(|p| *p <= max)
                    .ok_or_else(|| format!("{entry:?} has a bad prefix length"))?,
            };
            ranges.push((ip, prefix));
        }
        Ok(TrustedProxies(ranges))
    }

    /// Whether `ip` is one of the proxies (IPv4-mapped IPv6 addresses count as IPv4).
    pub fn trusts(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        self.0
            .iter()
            .any(|(net, prefix)| in_range(ip, *net, *prefix))
    }

    /// The client behind `peer`, given the request's headers.
    pub fn client(&self, peer: IpAddr, peer_tls: bool, headers: &HeaderMap) -> Client {
        if !self.trusts(peer) {
            return Client {
                ip: peer.to_canonical(),
                https: peer_tls,
            };
        }
        let hops: Vec<IpAddr> = headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .filter_map(|hop| hop.trim().parse::<IpAddr>().ok())
            .collect();
        // The rightmost hop that is not one of our proxies is the client; earlier entries were
        // written by the client itself and prove nothing.
        let ip = hops
            .iter()
            .rev()
            .take(MAX_FORWARDED_HOPS)
            .find(|hop| !self.trusts(**hop))
            .or_else(|| hops.first())
            .copied()
            .unwrap_or(peer)
            .to_canonical();
        let https = headers
            .get("x-forwarded-proto")
            .and_then(|v| v.to_str().ok())
            .map_or(peer_tls, |proto| {
                proto
                    .split(',')
                    .next()
                    .is_some_and(|p| p.trim().eq_ignore_ascii_case("https"))
            });
        Client { ip, https }
    }
}

fn in_range(ip: IpAddr, net: IpAddr, prefix: u8) -> bool {
    match (ip, net) {
        (IpAddr::V4(ip), IpAddr::V4(net)) => {
            let mask = u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0);
            u32::from(ip) & mask == u32::from(net) & mask
        }
        (IpAddr::V6(ip), IpAddr::V6(net)) => {
            let mask = u128::MAX.checked_shl(128 - u32::from(prefix)).unwrap_or(0);
            u128::from(ip) & mask == u128::from(net) & mask
        }
        _ => false,
    }
}

/// Adds [`Client`] to the request and strips forwarded headers an untrusted peer sent.
pub async fn client_info(
    State(state): State<AppState>,
    mut request: Request,
    next: Next,
) -> Response {
    attach_client(&state.proxies, &mut request);
    next.run(request).await
}

/// The same for the relay's listener.
pub async fn relay_client_info(
    State(state): State<super::RelayState>,
    mut request: Request,
    next: Next,
) -> Response {
    attach_client(&state.proxies, &mut request);
    next.run(request).await
}

fn attach_client(proxies: &TrustedProxies, request: &mut Request) {
    let peer = request
        .extensions()
        .get::<ConnectInfo<PeerAddr>>()
        .map(|ConnectInfo(peer)| *peer);
    let (ip, tls) = peer.map_or((IpAddr::from([127, 0, 0, 1]), false), |p| {
        (p.addr.ip(), p.tls)
    });
    let client = proxies.client(ip, tls, request.headers());
    if !proxies.trusts(ip) {
        let headers = request.headers_mut();
        for name in [
            "x-forwarded-for",
            "x-forwarded-proto",
            "x-forwarded-host",
            "forwarded",
        ] {
            headers.remove(name);
        }
    }
    request.extensions_mut().insert(client);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (k, v) in pairs {
            map.append(*k, v.parse().unwrap());
        }
        map
    }

    #[test]
    fn forwarded_headers_count_only_from_trusted_proxies() {
        let proxies = TrustedProxies::parse(&["10.0.0.0/8".into(), "::1".into()]).unwrap();
        let spoofed = headers(&[
            ("x-forwarded-for", "198.51.100.1, 203.0.113.9"),
            ("x-forwarded-proto", "https"),
        ]);
        // A direct client cannot claim another address or HTTPS.
        let direct = proxies.client("192.0.2.5".parse().unwrap(), false, &spoofed);
        assert_eq!(direct.ip, "192.0.2.5".parse::<IpAddr>().unwrap());
        assert!(!direct.https);
        // Through the proxy: the rightmost untrusted hop is the client.
        let proxied = proxies.client("10.0.0.2".parse().unwrap(), false, &spoofed);
        assert_eq!(proxied.ip, "203.0.113.9".parse::<IpAddr>().unwrap());
        assert!(proxied.https);
        // Proxies chained inside the trusted range are skipped.
        let chained = headers(&[("x-forwarded-for", "203.0.113.9, 10.0.0.7")]);
        let c = proxies.client("10.0.0.2".parse().unwrap(), true, &chained);
        assert_eq!(c.ip, "203.0.113.9".parse::<IpAddr>().unwrap());
        assert!(c.https);
        // IPv4-mapped IPv6 peers match IPv4 ranges.
        assert!(proxies.trusts("::ffff:10.1.1.1".parse().unwrap()));
        assert!(proxies.trusts("::1".parse().unwrap()));
        assert!(!proxies.trusts("::2".parse().unwrap()));
    }

    #[test]
    fn bad_entries_are_rejected() {
        assert!(TrustedProxies::parse(&["10.0.0.0/33".into()]).is_err());
        assert!(TrustedProxies::parse(&["proxy.local".into()]).is_err());
        assert!(
            TrustedProxies::parse(&["0.0.0.0/0".into()])
                .unwrap()
                .trusts("8.8.8.8".parse().unwrap())
        );
    }
}
