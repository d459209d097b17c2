//! The accept loops: plain HTTP and, when configured, HTTPS. Every connection takes a slot of its
//! listener ([`connections`](crate::http::connections)), goes through the guard
//! ([`guard`](crate::http::guard): heads checked at the door, header-read and idle timeouts), and is
//! served by hyper with the router. Shutdown is graceful.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto::Builder;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;
use tower::ServiceExt;

use crate::errors::{ApiError, ErrorCode};
use crate::http::connections::{self, Admit, ConnShared, Connections, Slot};
use crate::http::door::HeadLimits;
use crate::http::guard::{GuardSettings, Guarded};
use crate::http::router;
use crate::rpc::envelope::MAX_ONE_HEADER_BYTES;
use crate::{AppState, ConnectionInfo};

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("{0}")]
    Tls(#[from] crate::config::ConfigError),
}

/// One bound listener and its connection slots.
struct Listener {
    socket: TcpListener,
    addr: SocketAddr,
    slots: Arc<Connections>,
    guard: Arc<GuardSettings>,
}

/// Bound listeners, accepting once [`RunningServer::run`] is polled.
pub struct RunningServer {
    plain: Listener,
    tls: Option<(Listener, TlsAcceptor)>,
    state: Arc<AppState>,
}

async fn bind(addr: SocketAddr) -> Result<(TcpListener, SocketAddr), ServerError> {
    let listener = TcpListener::bind(addr)
        .await
        .map_err(|source| ServerError::Bind { addr, source })?;
    let local = listener
        .local_addr()
        .map_err(|source| ServerError::Bind { addr, source })?;
    Ok((listener, local))
}

impl RunningServer {
    /// Binds the plain address (port 0: any free port) and, if the configuration has
    /// `[server.tls]`, the HTTPS one.
    pub async fn bind(
        state: Arc<AppState>,
        addr: SocketAddr,
    ) -> Result<RunningServer, ServerError> {
        let cfg = &state.config.server;
        let listeners = 1 + usize::from(cfg.tls.is_some());
        let cap = cfg
            .max_connections
            .unwrap_or_else(|| connections::default_cap(listeners));
        let settings = |plain: bool| {
            Arc::new(GuardSettings {
                limits: HeadLimits {
                    max_uri_bytes: cfg.max_uri_bytes,
                    max_header_bytes: cfg.max_header_bytes,
                    max_one_header_bytes: MAX_ONE_HEADER_BYTES,
                    max_headers: cfg.max_headers,
                },
                header_read_timeout: Duration::from_secs(cfg.header_read_timeout_secs),
                idle_timeout: Duration::from_secs(cfg.idle_timeout_secs),
                host_id: Arc::from(cfg.host_id.as_str()),
                plain,
            })
        };
        let (socket, local) = bind(addr).await?;
        let plain = Listener {
            socket,
            addr: local,
            slots: Connections::new(cap),
            guard: settings(true),
        };
        let tls = match &cfg.tls {
            Some(t) => {
                let config = crate::http::tls::server_config(&t.cert_file, &t.key_file)?;
                let (socket, local) = bind(t.listen).await?;
                Some((
                    Listener {
                        socket,
                        addr: local,
                        slots: Connections::new(cap),
                        guard: settings(false),
                    },
                    TlsAcceptor::from(config),
                ))
            }
            None => None,
        };
        tracing::info!(max_connections = cap, "connection slots per listener");
        Ok(RunningServer { plain, tls, state })
    }

    /// The plain-HTTP address actually bound.
    pub fn local_addr(&self) -> SocketAddr {
        self.plain.addr
    }

    /// The HTTPS address actually bound, if any.
    pub fn tls_addr(&self) -> Option<SocketAddr> {
        self.tls.as_ref().map(|(l, _)| l.addr)
    }

    /// Serves until `shutdown` completes, then stops accepting and lets open requests finish
    /// (at most 10 s).
    pub async fn run(self, shutdown: impl Future<Output = ()>) {
        let app = router(self.state.clone());
        let mut builder = Builder::new(TokioExecutor::new());
        // Heads reach hyper only once the guard accepted them, within the configured limits; hyper's
        // own limits sit above those so that they never answer first. Its header-read timer stays off:
        // the guard times heads and idle connections itself.
        // Half-closes are allowed: a client may shut its side after sending, and the guard ends the
        // stream to refuse a pipelined head while an earlier request is still being answered.
        builder
            .http1()
            .half_close(true)
            .timer(TokioTimer::new())
            .header_read_timeout(None)
            .max_headers(self.state.config.server.max_headers + 16)
            .max_buf_size(256 * 1024);
        let builder = Arc::new(builder);
        let graceful = GracefulShutdown::new();
        let handshake_timeout =
            Duration::from_secs(self.state.config.server.tls_handshake_timeout_secs);
        tokio::pin!(shutdown);
        let (tls_listener, tls_acceptor) = match self.tls {
            Some((l, a)) => (Some(l), Some(a)),
            None => (None, None),
        };
        let plain = self.plain;
        let state = self.state.clone();
        // Sampled for /metrics.
        let slots = (
            plain.slots.clone(),
            tls_listener.as_ref().map(|l| l.slots.clone()),
        );
        state.set_connection_gauges(Box::new(move || {
            crate::http::telemetry::connections_open("http", slots.0.len(), slots.0.cap());
            if let Some(s) = &slots.1 {
                crate::http::telemetry::connections_open("https", s.len(), s.cap());
            }
        }));
        loop {
            tokio::select! {
                accepted = plain.socket.accept() => {
                    let Some((stream, peer)) = accepted_or_backoff(accepted).await else { continue };
                    match plain.slots.admit() {
                        Admit::Admitted(slot) => {
                            let local = stream.local_addr().unwrap_or(plain.addr);
                            let io = Guarded::new(stream, plain.guard.clone(), slot.shared.clone(), false);
                            serve(io, slot, ConnectionInfo { peer, local, secure: false }, &app, &builder, graceful.watcher());
                        }
                        Admit::Full => refuse_full(stream, plain.guard.clone()),
                    }
                }
                accepted = accept_optional(tls_listener.as_ref().map(|l| &l.socket)) => {
                    let Some((stream, peer)) = accepted_or_backoff(accepted).await else { continue };
                    let (Some(listener), Some(acceptor)) = (tls_listener.as_ref(), tls_acceptor.clone()) else { continue };
                    let slot = match listener.slots.admit() {
                        Admit::Admitted(slot) => slot,
                        // A TLS client cannot read an answer before its handshake; it is closed.
                        Admit::Full => {
                            crate::http::telemetry::connection_closed("full");
                            continue;
                        }
                    };
                    let (app, builder, watcher, guard) = (app.clone(), builder.clone(), graceful.watcher(), listener.guard.clone());
                    let local = stream.local_addr().unwrap_or(listener.addr);
                    // The handshake runs in its own task so a slow client cannot hold the loop.
                    tokio::spawn(async move {
                        match tokio::time::timeout(handshake_timeout, acceptor.accept(stream)).await {
                            Ok(Ok(tls)) => {
                                let h2 = tls.get_ref().1.alpn_protocol() == Some(b"h2".as_slice());
                                let io = Guarded::new(tls, guard, slot.shared.clone(), h2);
                                serve(io, slot, ConnectionInfo { peer, local, secure: true }, &app, &builder, watcher);
                            }
                            Ok(Err(e)) => tracing::debug!(error = %e, %peer, "TLS handshake failed"),
                            Err(_) => tracing::debug!(%peer, "TLS handshake timed out"),
                        }
                    });
                }
                _ = &mut shutdown => break,
            }
        }
        drop(plain);
        drop(tls_listener);
        tracing::info!("shutting down: waiting for open requests");
        if tokio::time::timeout(Duration::from_secs(10), graceful.shutdown())
            .await
            .is_err()
        {
            tracing::warn!("open connections did not finish within 10 s");
        }
    }
}

async fn accept_optional(
    listener: Option<&TcpListener>,
) -> std::io::Result<(TcpStream, SocketAddr)> {
    match listener {
        Some(l) => l.accept().await,
        None => std::future::pending().await,
    }
}

async fn accepted_or_backoff(
    accepted: std::io::Result<(TcpStream, SocketAddr)>,
) -> Option<(TcpStream, SocketAddr)> {
    match accepted {
        Ok((stream, peer)) => {
            let _ = stream.set_nodelay(true);
            Some((stream, peer))
        }
        Err(e) => {
            // Out of file descriptors and the like: back off instead of spinning.
            tracing::warn!(error = %e, "accept failed");
            tokio::time::sleep(Duration::from_millis(50)).await;
            None
        }
    }
}

/// Every slot is busy with a request: the newcomer is told so (in the envelope) and closed.
fn refuse_full(mut stream: TcpStream, guard: Arc<GuardSettings>) {
    crate::http::telemetry::connection_closed("full");
    tokio::spawn(async move {
        let request_id = crate::rpc::response::new_request_id();
        let err = ApiError::with_message(
            ErrorCode::ServiceUnavailable,
            "The server has no free connection slot (every connection is serving a request); retry later.",
        );
        let bytes = crate::rpc::response::error_bytes(&request_id, &guard.host_id, &err);
        let _ = tokio::time::timeout(Duration::from_secs(2), async {
            let _ = stream.write_all(&bytes).await;
            let _ = stream.shutdown().await;
        })
        .await;
    });
}

/// Counts a request as in progress on its connection while its answer is prepared.
struct Busy(Arc<ConnShared>);

impl Drop for Busy {
    fn drop(&mut self) {
        self.0.end();
    }
}

fn serve<IO>(
    io: IO,
    slot: Slot,
    info: ConnectionInfo,
    app: &axum::Router,
    builder: &Builder<TokioExecutor>,
    watcher: hyper_util::server::graceful::Watcher,
) where
    IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let app = app.clone();
    let shared = slot.shared.clone();
    let service = hyper::service::service_fn(move |mut req: hyper::Request<Incoming>| {
        req.extensions_mut().insert(info);
        let app = app.clone();
        let shared = shared.clone();
        async move {
            if !shared.begin() {
                // Chosen to make room just as this request arrived: nothing of it runs.
                return Ok(unavailable());
            }
            let _busy = Busy(shared);
            app.oneshot(req).await
        }
    });
    let conn = builder.serve_connection_with_upgrades(TokioIo::new(io), service);
    let conn = watcher.watch(conn.into_owned());
    tokio::spawn(async move {
        tokio::select! {
            ended = conn => {
                if let Err(e) = ended {
                    tracing::debug!(error = %e, "connection ended with an error");
                }
            }
            // Dropping the connection closes it; it had no request in progress.
            _ = slot.shared.evicted() => {}
        }
        drop(slot);
    });
}

fn unavailable() -> axum::response::Response {
    crate::rpc::response::error(
        crate::rpc::response::Format::Json,
        None,
        &crate::rpc::response::new_request_id(),
        "",
        &ApiError::new(ErrorCode::ServiceUnavailable),
    )
}
