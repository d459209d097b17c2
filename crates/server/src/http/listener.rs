//! The accept loops: plain HTTP and, when configured, HTTPS; hyper connections served with the
//! router; graceful shutdown.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto::Builder;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;
use tower::ServiceExt;

use crate::http::router;
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

/// Bound listeners, accepting once [`RunningServer::run`] is polled.
pub struct RunningServer {
    plain: TcpListener,
    plain_addr: SocketAddr,
    tls: Option<(TcpListener, SocketAddr, TlsAcceptor)>,
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
        let (plain, plain_addr) = bind(addr).await?;
        let tls = match &state.config.server.tls {
            Some(t) => {
                let config = crate::http::tls::server_config(&t.cert_file, &t.key_file)?;
                let (listener, local) = bind(t.listen).await?;
                Some((listener, local, TlsAcceptor::from(config)))
            }
            None => None,
        };
        Ok(RunningServer {
            plain,
            plain_addr,
            tls,
            state,
        })
    }

    /// The plain-HTTP address actually bound.
    pub fn local_addr(&self) -> SocketAddr {
        self.plain_addr
    }

    /// The HTTPS address actually bound, if any.
    pub fn tls_addr(&self) -> Option<SocketAddr> {
        self.tls.as_ref().map(|(_, a, _)| *a)
    }

    /// Serves until `shutdown` completes, then stops accepting and lets open requests finish
    /// (at most 10 s).
    pub async fn run(self, shutdown: impl Future<Output = ()>) {
        let app = router(self.state.clone());
        let mut builder = Builder::new(TokioExecutor::new());
        // Header limits are enforced by the gateway with an Alibaba envelope; hyper's own
        // (bodyless 431) limits are set above ours so that ours answer first.
        builder.http1().max_headers(512).max_buf_size(256 * 1024);
        let builder = Arc::new(builder);
        let graceful = GracefulShutdown::new();
        tokio::pin!(shutdown);
        let (tls_listener, tls_acceptor) = match self.tls {
            Some((l, _, a)) => (Some(l), Some(a)),
            None => (None, None),
        };
        loop {
            tokio::select! {
                accepted = self.plain.accept() => {
                    let Some((stream, peer)) = accepted_or_backoff(accepted).await else { continue };
                    serve(stream, ConnectionInfo { peer, secure: false }, &app, &builder, graceful.watcher());
                }
                accepted = accept_optional(tls_listener.as_ref()) => {
                    let Some((stream, peer)) = accepted_or_backoff(accepted).await else { continue };
                    let Some(acceptor) = tls_acceptor.clone() else { continue };
                    let (app, builder, watcher) = (app.clone(), builder.clone(), graceful.watcher());
                    // The handshake runs in its own task so a slow client cannot hold the loop.
                    tokio::spawn(async move {
                        match tokio::time::timeout(Duration::from_secs(10), acceptor.accept(stream)).await {
                            Ok(Ok(tls)) => serve(tls, ConnectionInfo { peer, secure: true }, &app, &builder, watcher),
                            Ok(Err(e)) => tracing::debug!(error = %e, %peer, "TLS handshake failed"),
                            Err(_) => tracing::debug!(%peer, "TLS handshake timed out"),
                        }
                    });
                }
                _ = &mut shutdown => break,
            }
        }
        drop(self.plain);
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
) -> std::io::Result<(tokio::net::TcpStream, SocketAddr)> {
    match listener {
        Some(l) => l.accept().await,
        None => std::future::pending().await,
    }
}

async fn accepted_or_backoff(
    accepted: std::io::Result<(tokio::net::TcpStream, SocketAddr)>,
) -> Option<(tokio::net::TcpStream, SocketAddr)> {
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

fn serve<IO>(
    io: IO,
    info: ConnectionInfo,
    app: &axum::Router,
    builder: &Builder<TokioExecutor>,
    watcher: hyper_util::server::graceful::Watcher,
) where
    IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let app = app.clone();
    let service = hyper::service::service_fn(move |mut req: hyper::Request<Incoming>| {
        req.extensions_mut().insert(info);
        app.clone().oneshot(req)
    });
    let conn = builder.serve_connection_with_upgrades(TokioIo::new(io), service);
    let conn = watcher.watch(conn.into_owned());
    tokio::spawn(async move {
        if let Err(e) = conn.await {
            tracing::debug!(error = %e, "connection ended with an error");
        }
    });
}
