//! The HTTPS listener: accepts TCP connections, reads each ClientHello (TLS 1.3, RFC 8446; TLS 1.2,
//! RFC 5246), lets `Tls::prepare` obtain a missing certificate for the name it asks for, then
//! completes the handshake and hands the stream to axum (it implements `axum::serve::Listener`).
//!
//! Handshakes run in their own tasks, so a slow client or an ACME order in progress never holds up
//! other connections; their number and duration are bounded. A TLS-ALPN-01 validation connection
//! (RFC 8737 §3) is closed right after its handshake and never reaches HTTP.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, mpsc};
use tokio_rustls::LazyConfigAcceptor;
use tokio_rustls::server::TlsStream;

use super::Tls;
use super::challenges::ACME_TLS_ALPN;

/// Handshakes in progress at once; connections beyond it are closed at once (load shedding).
const MAX_HANDSHAKES: usize = 1024;
/// Handshaken connections waiting for the HTTP server to take them.
const ACCEPT_QUEUE: usize = 128;
/// How long a client may take to send its ClientHello.
const HELLO_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a handshake may wait for a certificate to be issued on demand. Longer orders go on in
/// the background and the next handshake gets the certificate.
const PREPARE_TIMEOUT: Duration = Duration::from_secs(60);
/// How long the rest of the handshake may take.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// Pause after a failed `accept` (e.g. out of file descriptors) before trying again.
const ACCEPT_ERROR_PAUSE: Duration = Duration::from_millis(100);

/// A TCP listener whose connections come out TLS-terminated.
pub struct HttpsListener {
    connections: mpsc::Receiver<(TlsStream<TcpStream>, SocketAddr)>,
    local: SocketAddr,
    accept_task: tokio::task::JoinHandle<()>,
}

impl HttpsListener {
    /// Starts accepting on `tcp` with the certificates of `tls`.
    pub fn new(tcp: TcpListener, tls: Tls) -> std::io::Result<HttpsListener> {
        let local = tcp.local_addr()?;
        let (sender, connections) = mpsc::channel(ACCEPT_QUEUE);
        let accept_task = tokio::spawn(accept_loop(tcp, tls, sender));
        Ok(HttpsListener {
            connections,
            local,
            accept_task,
        })
    }
}

impl Drop for HttpsListener {
    fn drop(&mut self) {
        self.accept_task.abort();
    }
}

impl axum::serve::Listener for HttpsListener {
    type Io = TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.connections.recv().await {
            Some(connection) => connection,
            // The accept loop only ends when this listener is dropped.
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        Ok(self.local)
    }
}

async fn accept_loop(
    tcp: TcpListener,
    tls: Tls,
    sender: mpsc::Sender<(TlsStream<TcpStream>, SocketAddr)>,
) {
    let handshakes = Arc::new(Semaphore::new(MAX_HANDSHAKES));
    loop {
        let (stream, peer) = match tcp.accept().await {
            Ok(accepted) => accepted,
            Err(error) => {
                tracing::debug!(%error, "accepting a TLS connection failed");
                tokio::time::sleep(ACCEPT_ERROR_PAUSE).await;
                continue;
            }
        };
        let Ok(permit) = handshakes.clone().try_acquire_owned() else {
            tracing::debug!(%peer, "too many TLS handshakes in progress; closing");
            continue;
        };
        let tls = tls.clone();
        let sender = sender.clone();
        tokio::spawn(async move {
            let _permit = permit;
            match handshake(stream, &tls).await {
                Ok(Some(stream)) => {
                    let _ = sender.send((stream, peer)).await;
                }
                Ok(None) => {}
                Err(error) => tracing::debug!(%peer, %error, "TLS handshake failed"),
            }
        });
    }
}

/// Runs one handshake; `None` for a finished TLS-ALPN-01 validation connection.
async fn handshake(stream: TcpStream, tls: &Tls) -> Result<Option<TlsStream<TcpStream>>, String> {
    let acceptor = LazyConfigAcceptor::new(rustls::server::Acceptor::default(), stream);
    let start = tokio::time::timeout(HELLO_TIMEOUT, acceptor)
        .await
        .map_err(|_| "no ClientHello in time".to_owned())?
        .map_err(|e| format!("reading the ClientHello: {e}"))?;
    let hello = start.client_hello();
    let name = hello.server_name().map(str::to_ascii_lowercase);
    let validation = hello
        .alpn()
        .is_some_and(|mut protocols| protocols.any(|p| p == ACME_TLS_ALPN));
    if !validation {
        // The outcome shows in the resolver: it finds a certificate or the handshake fails.
        let _ = tokio::time::timeout(PREPARE_TIMEOUT, tls.prepare(name.as_deref())).await;
    }
    let stream = tokio::time::timeout(HANDSHAKE_TIMEOUT, start.into_stream(tls.server_config()))
        .await
        .map_err(|_| "handshake timed out".to_owned())?
        .map_err(|e| format!("{e} (server name {name:?})"))?;
    if stream.get_ref().1.alpn_protocol() == Some(ACME_TLS_ALPN) {
        return Ok(None);
    }
    Ok(Some(stream))
}
