//! Serving a router on a listener (plain TCP, or the HTTPS listener's handshaken streams) with
//! the bounds `axum::serve` does not set: at most [`ListenerLimits::max_connections`] connections
//! at once (the next ones wait in the kernel's backlog), a header read timeout (a client must send
//! its first bytes, and each request's head, within [`ListenerLimits::header_timeout`], also between
//! requests on a kept-alive connection), and [`IDLE_TIMEOUT`] without a byte read or written on any
//! connection (idle HTTP/2 connections, upgraded WebSockets whose peer vanished).
//!
//! A connection's slot is held by its socket, so an upgraded WebSocket holds it until it closes.
//! The cap is also kept under the process's file-descriptor limit ([`fit_descriptor_limit`]), so
//! slow clients can never starve the node of descriptors for its database, blobs and outbound
//! calls. Shutdown is graceful: the listener stops, open connections finish their requests.

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::extract::connect_info::ConnectInfo;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto::Builder;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, watch};
use tower::ServiceExt;

use super::PeerAddr;

/// How long a connection may go without a byte read or written.
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(5 * 60);
/// Descriptors kept back from the listeners for the database, blob files and outbound calls.
const RESERVED_DESCRIPTORS: u64 = 256;
/// The smallest cap a listener gets, however low the descriptor limit.
const MIN_CONNECTIONS: usize = 32;

/// A listener's bounds.
#[derive(Clone, Copy, Debug)]
pub struct ListenerLimits {
    pub max_connections: usize,
    pub header_timeout: Duration,
}

/// Raises the soft file-descriptor limit to the hard one and returns the cap each of `listeners`
/// listeners gets: `configured`, or less when the descriptors cannot hold that many.
pub fn fit_descriptor_limit(configured: usize, listeners: usize) -> usize {
    use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};
    let limit = getrlimit(Resource::Nofile);
    let soft = match (limit.current, limit.maximum) {
        (Some(current), Some(maximum)) if maximum > current => {
            let raised = Rlimit {
                current: Some(maximum),
                maximum: Some(maximum),
            };
            if setrlimit(Resource::Nofile, raised).is_ok() {
                Some(maximum)
            } else {
                Some(current)
            }
        }
        (current, _) => current,
    };
    let Some(soft) = soft else {
        return configured;
    };
    let per_listener = soft.saturating_sub(RESERVED_DESCRIPTORS) / listeners.max(1) as u64;
    let fits = usize::try_from(per_listener).unwrap_or(usize::MAX);
    configured.min(fits.max(MIN_CONNECTIONS))
}

/// Serves `router` on `listener` until `shutdown` resolves, then lets open connections finish.
pub async fn serve<L>(
    mut listener: L,
    router: Router,
    limits: ListenerLimits,
    tls: bool,
    shutdown: impl Future<Output = ()>,
) where
    L: axum::serve::Listener<Addr = SocketAddr>,
    L::Io: Unpin,
{
    let slots = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let (stop, stopping) = watch::channel(false);
    let (closed, connections) = watch::channel(());
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let slot = tokio::select! {
            slot = slots.clone().acquire_owned() => match slot {
                Ok(slot) => slot,
                Err(_) => break,
            },
            () = &mut shutdown => break,
        };
        let (io, addr) = tokio::select! {
            accepted = listener.accept() => accepted,
            () = &mut shutdown => break,
        };
        let peer = PeerAddr { addr, tls };
        let router = router.clone();
        let stopping = stopping.clone();
        let open = connections.clone();
        tokio::spawn(async move {
            serve_connection(io, slot, peer, router, limits, stopping).await;
            drop(open);
        });
    }
    drop(listener);
    let _ = stop.send(true);
    drop(connections);
    closed.closed().await;
}

async fn serve_connection<Io>(
    io: Io,
    slot: OwnedSemaphorePermit,
    peer: PeerAddr,
    router: Router,
    limits: ListenerLimits,
    mut stopping: watch::Receiver<bool>,
) where
    Io: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let io = TokioIo::new(Bounded::new(io, slot, limits.header_timeout));
    let service =
        hyper::service::service_fn(move |request: hyper::Request<hyper::body::Incoming>| {
            let mut request = request.map(axum::body::Body::new);
            request.extensions_mut().insert(ConnectInfo(peer));
            router.clone().oneshot(request)
        });
    let mut builder = Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout);
    // CONNECT is how WebSockets run over HTTP/2.
    builder
        .http2()
        .timer(TokioTimer::new())
        .enable_connect_protocol();
    let mut connection = std::pin::pin!(builder.serve_connection_with_upgrades(io, service));
    loop {
        tokio::select! {
            result = connection.as_mut() => {
                if let Err(error) = result {
                    tracing::trace!(addr = %peer.addr, %error, "connection ended");
                }
                return;
            }
            changed = stopping.changed() => {
                connection.as_mut().graceful_shutdown();
                if changed.is_err() {
                    // The server is gone; the connection finishes on its own.
                    let _ = connection.as_mut().await;
                    return;
                }
            }
        }
    }
}

/// A connection's socket: holds its slot, and fails reads when the client sent nothing within the
/// header timeout of connecting (hyper's own timeout starts only once it knows the protocol, which
/// takes a first byte), or after [`IDLE_TIMEOUT`] without traffic.
struct Bounded<Io> {
    io: Io,
    _slot: OwnedSemaphorePermit,
    idle: Pin<Box<tokio::time::Sleep>>,
}

impl<Io> Bounded<Io> {
    fn new(io: Io, slot: OwnedSemaphorePermit, first_bytes: Duration) -> Bounded<Io> {
        Bounded {
            io,
            _slot: slot,
            idle: Box::pin(tokio::time::sleep(first_bytes.min(IDLE_TIMEOUT))),
        }
    }

    fn active(&mut self) {
        self.idle
            .as_mut()
            .reset(tokio::time::Instant::now() + IDLE_TIMEOUT);
    }
}

impl<Io: AsyncRead + Unpin> AsyncRead for Bounded<Io> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        match Pin::new(&mut self.io).poll_read(cx, buf) {
            Poll::Ready(result) => {
                if buf.filled().len() > before {
                    self.active();
                }
                Poll::Ready(result)
            }
            Poll::Pending => match self.idle.as_mut().poll(cx) {
                Poll::Ready(()) => Poll::Ready(Err(std::io::Error::new(
                    std::io::ErrorKind::TimedOut,
                    "connection idle for too long",
                ))),
                Poll::Pending => Poll::Pending,
            },
        }
    }
}

impl<Io: AsyncWrite + Unpin> AsyncWrite for Bounded<Io> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let written = Pin::new(&mut self.io).poll_write(cx, data);
        if matches!(written, Poll::Ready(Ok(n)) if n > 0) {
            self.active();
        }
        written
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        let written = Pin::new(&mut self.io).poll_write_vectored(cx, bufs);
        if matches!(written, Poll::Ready(Ok(n)) if n > 0) {
            self.active();
        }
        written
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }
}
