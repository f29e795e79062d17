//! Bounds on everything a client can pile up: open connections, requests in flight, how large
//! a request body may be and how long one request may take. Past a bound the answer is 503 with Retry-After, never a queue
//! that grows without limit.

use std::{
    io,
    net::SocketAddr,
    pin::Pin,
    sync::Arc,
    task::{Context, Poll},
    time::Duration,
};

use axum::{
    extract::{Request, State, connect_info::Connected},
    middleware::Next,
    response::{IntoResponse, Response},
    serve::{IncomingStream, Listener},
};
use tokio::{
    io::{AsyncRead, AsyncWrite, ReadBuf},
    net::{TcpListener, TcpStream},
    sync::{OwnedSemaphorePermit, Semaphore},
};

use tracing::Instrument;

use crate::error::AppError;

/// The per-request bounds, shared by every request of one server.
#[derive(Clone)]
pub struct Limits {
    in_flight: Arc<Semaphore>,
    timeout: Duration,
    max_body: usize,
}

impl Limits {
    pub fn new(max_in_flight: usize, timeout: Duration, max_body: usize) -> Self {
        Self {
            in_flight: Arc::new(Semaphore::new(max_in_flight)),
            timeout,
            max_body,
        }
    }
}

/// Admits a request only while fewer than the maximum are in flight, reads its body (413 past
/// the size limit: at once when its declared length is larger, else once that many bytes
/// arrived), and answers 503 in its place if the handler has not answered within the timeout.
///
/// The body is read here, under the timeout, and the handler then runs in a task of its own,
/// which neither the timeout nor a client hanging up can cancel: sqlx 0.8 is not cancel-safe
/// while a transaction begins on PostgreSQL (launchbadge/sqlx#2054, transact-rs/sqlx#4393),
/// and a handler dropped there hands the pool a connection stuck inside a transaction, whose
/// later writes are acknowledged and never committed. So a handler, once started, runs to its
/// end, keeping its place under the in-flight limit until then; it no longer waits on the
/// client, so only server-side work (bounded by the database and hasher waits) remains.
pub async fn bound(State(limits): State<Limits>, req: Request, next: Next) -> Response {
    let Ok(permit) = Arc::clone(&limits.in_flight).try_acquire_owned() else {
        tracing::warn!("at MAX_IN_FLIGHT: answering 503");
        return AppError::Busy.into_response();
    };
    let declared = req
        .headers()
        .get(axum::http::header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok()?.parse::<usize>().ok());
    if declared.is_some_and(|length| length > limits.max_body) {
        return AppError::PayloadTooLarge.into_response();
    }
    let deadline = tokio::time::Instant::now() + limits.timeout;
    let (parts, body) = req.into_parts();
    let body = match tokio::time::timeout_at(deadline, axum::body::to_bytes(body, limits.max_body))
        .await
    {
        Ok(Ok(bytes)) => bytes,
        Ok(Err(error)) => return unreadable(&error),
        Err(_) => return timed_out(),
    };
    let req = Request::from_parts(parts, axum::body::Body::from(body));
    // In the request's span, so the handler's log lines carry its id.
    let handler = tokio::spawn(
        async move {
            let response = next.run(req).await;
            drop(permit);
            response
        }
        .in_current_span(),
    );
    match tokio::time::timeout_at(deadline, handler).await {
        Ok(Ok(response)) => response,
        Ok(Err(error)) => {
            tracing::error!(%error, "a request handler failed");
            AppError::Internal.into_response()
        }
        Err(_) => timed_out(),
    }
}

fn timed_out() -> Response {
    tracing::warn!("a request exceeded REQUEST_TIMEOUT: answering 503");
    AppError::Busy.into_response()
}

/// 413 past the body limit, 400 for a body that broke off.
fn unreadable(error: &axum::Error) -> Response {
    let too_large = std::iter::successors(std::error::Error::source(error), |e| e.source())
        .any(|e| e.is::<http_body_util::LengthLimitError>());
    if too_large {
        AppError::PayloadTooLarge.into_response()
    } else {
        AppError::BadRequest("The request body could not be read.".into()).into_response()
    }
}

/// A TCP listener that holds at most `max` connections open; the next client waits in the
/// kernel's accept backlog until one closes.
pub struct BoundedListener {
    inner: TcpListener,
    open: Arc<Semaphore>,
}

impl BoundedListener {
    pub fn new(inner: TcpListener, max: usize) -> Self {
        Self {
            inner,
            open: Arc::new(Semaphore::new(max)),
        }
    }
}

impl Listener for BoundedListener {
    type Io = CountedStream;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        // The semaphore is never closed, so acquiring only waits.
        let permit = loop {
            if let Ok(permit) = Arc::clone(&self.open).acquire_owned().await {
                break permit;
            }
        };
        let (stream, addr) = Listener::accept(&mut self.inner).await;
        // Without it, a response written in two parts (headers, then a file or a streamed
        // page) waits for the client's delayed ACK (bench/README.md measured it on loopback).
        if let Err(error) = stream.set_nodelay(true) {
            tracing::debug!(%error, "TCP_NODELAY not set");
        }
        (
            CountedStream {
                stream,
                _permit: permit,
            },
            addr,
        )
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        self.inner.local_addr()
    }
}

/// An accepted connection; dropping it frees its place under the connection limit.
pub struct CountedStream {
    stream: TcpStream,
    _permit: OwnedSemaphorePermit,
}

impl AsyncRead for CountedStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for CountedStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }
}

/// The client's socket address, as `ConnectInfo` for connections from a [`BoundedListener`].
#[derive(Clone, Copy, Debug)]
pub struct Peer(pub SocketAddr);

impl Connected<IncomingStream<'_, BoundedListener>> for Peer {
    fn connect_info(stream: IncomingStream<'_, BoundedListener>) -> Self {
        Self(*stream.remote_addr())
    }
}
