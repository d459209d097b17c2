//! The connection's guard: sits between the socket and hyper on HTTP/1.1 connections. It reads the
//! socket itself, lets hyper see a request head only once [`door::check_head`] accepted it (and a body
//! only up to its framing, so that the next head is checked too), and enforces the header-read and idle
//! timeouts.
//!
//! A refused head is answered by the guard: it tells hyper the client went away (end of stream), hyper
//! finishes any answer it is writing and shuts the connection down, and the guard writes the refusal —
//! the status of the error table and Alibaba's JSON envelope — just before the shutdown. An HTTP/2
//! connection (by preface, or ALPN on TLS) passes through untouched: h2 frames its own errors.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{ready, Context, Poll};
use std::time::{Duration, Instant};

use bytes::{Buf, BytesMut};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::Sleep;

use crate::errors::{ApiError, ErrorCode};
use crate::http::connections::ConnShared;
use crate::http::door::{self, ChunkProgress, ChunkTracker, Framing, HeadCheck, HeadLimits};

/// The guard's settings for one connection.
#[derive(Debug, Clone)]
pub struct GuardSettings {
    pub limits: HeadLimits,
    /// From a head's first byte to its end.
    pub header_read_timeout: Duration,
    /// Between the end of an answer and the next head's first byte.
    pub idle_timeout: Duration,
    /// The `HostId` of refusal envelopes.
    pub host_id: Arc<str>,
    /// Whether this is the plain-HTTP listener (a TLS handshake there is answered as a mistake).
    pub plain: bool,
}

enum Phase {
    /// Waiting for (the rest of) a request head.
    Head,
    /// Inside a body of known length: this many bytes left.
    Body(u64),
    /// Inside a chunked body.
    Chunked(ChunkTracker),
    /// Not HTTP/1.1 heads any more (HTTP/2, an upgrade, or a body hyper will refuse itself).
    Passthrough,
    /// Refused or timed out: hyper sees the end of the stream.
    Closed,
}

/// The guarded stream.
pub struct Guarded<IO> {
    io: IO,
    settings: Arc<GuardSettings>,
    shared: Arc<ConnShared>,
    /// Bytes read from the socket and not yet handed to hyper.
    buf: BytesMut,
    /// How many leading bytes of `buf` are checked and may be handed to hyper.
    ready: usize,
    phase: Phase,
    /// Whether nothing was read yet (the first bytes decide HTTP/2 and TLS-on-the-plain-port).
    first: bool,
    /// When the head being read started arriving.
    head_started: Option<Instant>,
    timer: Pin<Box<Sleep>>,
    /// The refusal to write before the shutdown, and how much of it is written.
    refusal: Option<(Vec<u8>, usize)>,
}

/// Most bytes read from the socket at once.
const READ_CHUNK: usize = 16 * 1024;

impl<IO> Guarded<IO> {
    /// Guards `io`. With `h2` (negotiated by ALPN), it only passes bytes through.
    pub fn new(io: IO, settings: Arc<GuardSettings>, shared: Arc<ConnShared>, h2: bool) -> Self {
        Guarded {
            io,
            settings,
            shared,
            buf: BytesMut::with_capacity(4096),
            ready: 0,
            phase: if h2 { Phase::Passthrough } else { Phase::Head },
            first: !h2,
            head_started: None,
            timer: Box::pin(tokio::time::sleep(Duration::from_secs(3600))),
            refusal: None,
        }
    }

    /// Refuses with `err`: the envelope is written at shutdown; hyper sees the end of the stream.
    fn refuse(&mut self, err: ApiError) {
        let request_id = crate::rpc::response::new_request_id();
        let code = err.code.spec().code;
        crate::http::telemetry::connection_closed(match err.code {
            ErrorCode::RequestTimeout => "header_timeout",
            _ => "refused_head",
        });
        tracing::debug!(code, request_id, "request head refused at the door");
        self.refusal = Some((
            crate::rpc::response::error_bytes(&request_id, &self.settings.host_id, &err),
            0,
        ));
        self.phase = Phase::Closed;
        self.buf.clear();
        self.ready = 0;
    }

    /// Looks at the buffered bytes in the current phase; makes some ready, or refuses, or decides that
    /// more are needed.
    fn advance(&mut self) {
        if self.first && !self.buf.is_empty() {
            if self.buf.len() < door::H2_PREFACE.len() && door::H2_PREFACE.starts_with(&self.buf) {
                return;
            }
            self.first = false;
            if self.buf.starts_with(door::H2_PREFACE) {
                self.phase = Phase::Passthrough;
            } else if self.settings.plain && door::is_tls_handshake(&self.buf) {
                self.refuse(door::tls_on_plain_port());
                return;
            }
        }
        match &mut self.phase {
            Phase::Head => {
                if self.buf.is_empty() {
                    return;
                }
                if self.head_started.is_none() {
                    self.head_started = Some(Instant::now());
                }
                match door::check_head(&self.buf, &self.settings.limits) {
                    HeadCheck::Incomplete => {}
                    HeadCheck::Complete { len, framing } => {
                        self.ready = len;
                        self.head_started = None;
                        self.phase = match framing {
                            Framing::None => Phase::Head,
                            Framing::Length(n) => Phase::Body(n),
                            Framing::Chunked => Phase::Chunked(ChunkTracker::default()),
                        };
                    }
                    HeadCheck::Refused(err) => self.refuse(err),
                }
            }
            Phase::Body(left) => {
                let take = (*left).min(self.buf.len() as u64);
                self.ready = take as usize;
                *left -= take;
                if *left == 0 {
                    self.phase = Phase::Head;
                }
            }
            Phase::Chunked(tracker) => match tracker.feed(&self.buf) {
                ChunkProgress::More => self.ready = self.buf.len(),
                ChunkProgress::Done(n) => {
                    self.ready = n;
                    self.phase = Phase::Head;
                }
                // Hyper refuses the body itself (the handler answers MalformedRequest); after that the
                // connection is closed, so no head is looked for again.
                ChunkProgress::Broken => {
                    self.ready = self.buf.len();
                    self.phase = Phase::Passthrough;
                }
            },
            Phase::Passthrough => self.ready = self.buf.len(),
            Phase::Closed => {}
        }
    }

    /// The deadline the connection is waiting on, if any: the head's, or the idle connection's.
    fn deadline(&self) -> Option<(Instant, bool)> {
        match self.phase {
            Phase::Head => match self.head_started {
                Some(t) => Some((t + self.settings.header_read_timeout, true)),
                None if self.shared.is_idle() => {
                    Some((self.shared.idle_since() + self.settings.idle_timeout, false))
                }
                None => None,
            },
            _ => None,
        }
    }
}

impl<IO: AsyncRead + Unpin> AsyncRead for Guarded<IO> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        out: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        loop {
            if this.ready > 0 {
                let n = this.ready.min(out.remaining());
                out.put_slice(&this.buf[..n]);
                this.buf.advance(n);
                this.ready -= n;
                return Poll::Ready(Ok(()));
            }
            if matches!(this.phase, Phase::Closed) {
                return Poll::Ready(Ok(()));
            }
            this.advance();
            if this.ready > 0 || matches!(this.phase, Phase::Closed) {
                continue;
            }
            // Hyper's own buffer is read into directly once nothing is checked any more.
            if matches!(this.phase, Phase::Passthrough) && this.buf.is_empty() && !this.first {
                return Pin::new(&mut this.io).poll_read(cx, out);
            }
            // Need more bytes.
            this.buf.reserve(READ_CHUNK);
            match tokio_util::io::poll_read_buf(Pin::new(&mut this.io), cx, &mut this.buf) {
                Poll::Ready(Ok(0)) => {
                    // The client closed its side: hyper sees the same.
                    return Poll::Ready(Ok(()));
                }
                Poll::Ready(Ok(_)) => {}
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Pending => {
                    if let Some((deadline, is_head)) = this.deadline() {
                        let deadline = tokio::time::Instant::from_std(deadline);
                        if this.timer.deadline() != deadline {
                            this.timer.as_mut().reset(deadline);
                        }
                        if this.timer.as_mut().poll(cx).is_ready() {
                            if is_head {
                                this.refuse(ErrorCode::RequestTimeout.into());
                            } else {
                                crate::http::telemetry::connection_closed("idle_timeout");
                                this.phase = Phase::Closed;
                            }
                            return Poll::Ready(Ok(()));
                        }
                    }
                    return Poll::Pending;
                }
            }
        }
    }
}

impl<IO: AsyncWrite + Unpin> AsyncWrite for Guarded<IO> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().io).poll_write(cx, data)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().io).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        // The refusal goes out last, after whatever hyper was still answering.
        if let Some((bytes, written)) = &mut this.refusal {
            while *written < bytes.len() {
                match ready!(Pin::new(&mut this.io).poll_write(cx, &bytes[*written..])) {
                    Ok(0) => break,
                    Ok(n) => *written += n,
                    Err(_) => break,
                }
            }
            let _ = ready!(Pin::new(&mut this.io).poll_flush(cx));
            this.refusal = None;
        }
        Pin::new(&mut this.io).poll_shutdown(cx)
    }
}
