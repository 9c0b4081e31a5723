//! Outbound WebSockets (a crawled host's `subscribeRepos`, a labeler's `subscribeLabels`) under the
//! same rules as `outbound`: in production a public destination must be `wss`, its host a public
//! name or address, and the TCP connection goes to an address that was checked.

use std::sync::Arc;

use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use super::Outbound;
use super::outbound::{CONNECT_TIMEOUT, OutboundError, Trust, check_public_url};
use super::resolve::public_addresses;
use super::tls::tls_client_config_http1;

/// An open WebSocket.
pub type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

impl Outbound {
    /// Opens a WebSocket to `url` (`ws://` or `wss://`) with `config`'s size limits.
    pub async fn websocket(
        &self,
        url: &str,
        trust: Trust,
        config: WebSocketConfig,
    ) -> Result<Socket, OutboundError> {
        let parsed = url::Url::parse(url).map_err(|_| OutboundError::BadUrl(url.to_owned()))?;
        let checked = self.guarded() && trust == Trust::Public;
        if checked && let Err(e) = check_public_url(&parsed, &["wss"]) {
            self.counters().refused();
            return Err(e);
        }
        let default_port = match parsed.scheme() {
            "wss" => 443,
            "ws" => 80,
            _ => return Err(OutboundError::BadUrl(url.to_owned())),
        };
        let port = parsed.port().unwrap_or(default_port);
        let addresses = match parsed.host() {
            Some(url::Host::Domain(name)) if checked => {
                public_addresses(name, port).await.map_err(|e| {
                    self.counters().refused();
                    OutboundError::Refused(e.to_string())
                })?
            }
            Some(url::Host::Domain(name)) => tokio::net::lookup_host((name, port))
                .await
                .map_err(|e| OutboundError::Unreachable(format!("looking up {name}: {e}")))?
                .collect(),
            Some(url::Host::Ipv4(ip)) => vec![(ip, port).into()],
            Some(url::Host::Ipv6(ip)) => vec![(ip, port).into()],
            None => return Err(OutboundError::BadUrl(url.to_owned())),
        };
        self.counters().request();
        let mut last = OutboundError::Unreachable(format!("{url}: no address"));
        for address in addresses {
            match tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(address)).await {
                Ok(Ok(stream)) => {
                    let connector =
                        tokio_tungstenite::Connector::Rustls(Arc::new(tls_client_config_http1()));
                    let handshake = tokio_tungstenite::client_async_tls_with_config(
                        url,
                        stream,
                        Some(config),
                        Some(connector),
                    );
                    return match tokio::time::timeout(CONNECT_TIMEOUT * 3, handshake).await {
                        Ok(Ok((socket, _))) => Ok(socket),
                        Ok(Err(e)) => {
                            self.counters().failed();
                            Err(OutboundError::Unreachable(format!("{url}: {e}")))
                        }
                        Err(_) => {
                            self.counters().failed();
                            Err(OutboundError::Timeout)
                        }
                    };
                }
                Ok(Err(e)) => last = OutboundError::Unreachable(format!("{url} ({address}): {e}")),
                Err(_) => last = OutboundError::Timeout,
            }
        }
        self.counters().failed();
        Err(last)
    }
}
