//! The HTTP front's connections: warden runs its own accept loop over hyper's HTTP/1, so that a
//! client cannot hold a connection by sending a request slowly, or half of one, or nothing.
//!
//! A connection is either *waiting* for a request (its head not yet complete) or *serving* one
//! (from its complete head to its response's last byte). Waiting has a deadline: the header
//! timeout from the connection's start or from the first byte of a later request, the idle
//! timeout from the end of the previous response; past it the connection is closed. Serving has
//! a deadline for the request's body only (the body timeout, from the end of the head; a body
//! that misses it is an error to whoever reads it, answered 408 on `/mcp`). A response has none:
//! an MCP session's SSE stream lives as long as the session, and a tool call as long as its
//! approval and its upstream take.
//!
//! At most `max_connections` are open. When one more arrives, one is closed to make room:
//!
//! 1. a connection that is waiting (its head not complete) or whose request's body is still
//!    arriving, the one nearest its deadline: it has not sent a complete request, so it holds
//!    nothing of value, while an honest client sends a request within milliseconds (a body
//!    counts as much as a head: a login form's head sent whole and its body never would hold
//!    the connection for the body timeout);
//! 2. else an idle event stream, the oldest: the answer to a `GET` that is an SSE stream (an MCP
//!    session's stream for server notifications) carries no call, and its client opens it again
//!    (an agent with its token could otherwise hold every connection with such streams, which
//!    live as long as the session);
//! 3. else a connection that began waiting or receiving less than [`FRESH`] ago: it is given
//!    that long to send its request before a newer one may take its place. When more than an
//!    eighth of the connections are such (a flood of bare connections, which needs no token),
//!    they make room among themselves, oldest first, before any idle stream is closed.
//!
//! So half-sent requests and idle streams, however many, cannot keep `/healthz`, the console or
//! an agent out; only when every connection is serving a request whose body has arrived (a call
//! in flight, a page being written) is the new one closed at once. There is no cap per address:
//! behind a TLS proxy every client has the proxy's address.

use axum::body::Body;
use axum::body::Bytes;
use http_body::{Frame, SizeHint};
use std::collections::HashMap;
use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll, ready};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Notify;
use tokio::time::{Instant, Sleep};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tower::Service;
use warden_policy::ConnectionLimits;

/// How long a connection that has just begun to wait for a request (or for its body) is spared
/// while an older one can be closed instead (at most half the header timeout).
const FRESH: Duration = Duration::from_secs(1);

/// A request body that did not arrive within the body timeout.
#[derive(Debug, thiserror::Error)]
#[error("the request body did not arrive within {0:?}")]
pub(crate) struct BodyTimedOut(Duration);

/// Serves `app` on `listener` within `limits` until `stop`; then lets each connection finish
/// the request it is serving and waits for them all.
pub(super) async fn serve(
    listener: TcpListener,
    app: axum::Router,
    limits: ConnectionLimits,
    stop: CancellationToken,
) {
    let table = Arc::new(Table::default());
    let tracker = TaskTracker::new();
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = stop.cancelled() => break,
        };
        let tcp = match accepted {
            Ok((tcp, _)) => tcp,
            // The client gave up before it was accepted.
            Err(e) if is_connection_error(&e) => continue,
            // Out of file descriptors, most likely: wait for some to close rather than spin.
            Err(e) => {
                tracing::error!(error = %e, "cannot accept a connection");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let Some(conn) = table.admit(&limits) else {
            tracing::debug!(
                max_connections = limits.max_connections,
                "connection refused: every connection is serving a request"
            );
            continue;
        };
        // TCP_NODELAY: a response stream's last chunk is a small segment written after the
        // answer; with Nagle's algorithm it waited for the client's delayed ACK (about 40 ms)
        // before the stream ended and the connection could carry the next call.
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!(error = %e, "cannot set TCP_NODELAY on a connection");
        }
        tracker.spawn(connection(
            tcp,
            app.clone(),
            conn,
            table.clone(),
            limits,
            stop.clone(),
        ));
    }
    tracker.close();
    tracker.wait().await;
}

fn is_connection_error(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
    )
}

/// Serves one connection until it ends, misses its deadline, is closed to make room, or, after
/// `stop`, has finished the request it was serving.
async fn connection(
    tcp: TcpStream,
    app: axum::Router,
    conn: Arc<Conn>,
    table: Arc<Table>,
    limits: ConnectionLimits,
    stop: CancellationToken,
) {
    let io = hyper_util::rt::TokioIo::new(Watched {
        tcp,
        conn: conn.clone(),
    });
    let serving = conn.clone();
    let service =
        hyper::service::service_fn(move |request: http::Request<hyper::body::Incoming>| {
            let guard = Serving::begin(&serving, &limits);
            let get = request.method() == http::Method::GET;
            let at = Instant::now() + limits.body_timeout;
            let request = request.map(|body| {
                // A body still to come leaves the connection as evictable as a waiting one
                // until it has arrived.
                let receiving = (!http_body::Body::is_end_stream(&body))
                    .then(|| Receiving::begin(&serving, at));
                Body::new(Deadline {
                    body,
                    at,
                    timeout: limits.body_timeout,
                    sleep: None,
                    receiving,
                })
            });
            let mut app = app.clone();
            let streaming = serving.clone();
            async move {
                let response = match app.call(request).await {
                    Ok(response) => response,
                    Err(never) => match never {},
                };
                if get && is_event_stream(&response) {
                    streaming.idle_stream();
                }
                Ok::<_, Infallible>(response.map(|body| Guarded {
                    body,
                    _serving: guard,
                }))
            }
        });
    // The header timeout is ours (it also closes an idle keep-alive connection, after the
    // idle timeout instead), so hyper's own is off and needs no timer.
    let served = hyper::server::conn::http1::Builder::new()
        .header_read_timeout(None)
        .serve_connection(io, service);
    let mut served = std::pin::pin!(served);
    let mut stopping = false;
    loop {
        let deadline = conn.deadline();
        tokio::select! {
            result = served.as_mut() => {
                if let Err(e) = result {
                    tracing::trace!(error = %e, "connection ended with an error");
                }
                break;
            }
            () = conn.changed.notified() => {}
            () = sleep_until(deadline) => {
                if conn.deadline().is_some_and(|d| d <= Instant::now()) {
                    tracing::debug!("connection closed: no complete request in time");
                    break;
                }
            }
            () = conn.evicted.cancelled() => {
                tracing::debug!("connection closed to make room for a new one");
                break;
            }
            () = stop.cancelled(), if !stopping => {
                stopping = true;
                served.as_mut().graceful_shutdown();
            }
        }
    }
    table.remove(conn.id);
}

/// Whether a response is an SSE stream.
fn is_event_stream<B>(response: &http::Response<B>) -> bool {
    response
        .headers()
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.trim_start()
                .to_ascii_lowercase()
                .starts_with("text/event-stream")
        })
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

/// The open connections.
#[derive(Default)]
struct Table {
    inner: Mutex<TableInner>,
}

#[derive(Default)]
struct TableInner {
    next: u64,
    open: HashMap<u64, Arc<Conn>>,
}

impl Table {
    /// A place for a new connection: a free one, or that of the connection [`Conn::evictable`]
    /// puts first, which is closed; `None` when every connection is serving a request whose
    /// body has arrived.
    fn admit(&self, limits: &ConnectionLimits) -> Option<Arc<Conn>> {
        let mut table = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        if table.open.len() >= limits.max_connections {
            let candidates: Vec<(Evictable, u64)> = table
                .open
                .values()
                .filter_map(|c| c.evictable().map(|e| (e, c.id)))
                .collect();
            // Many connections that only began waiting are a flood of them (connecting costs
            // nothing, even without a token): they make room among themselves, and an idle
            // event stream is not closed for them. A few are honest clients about to send.
            let fresh = candidates
                .iter()
                .filter(|(e, _)| matches!(e, Evictable::Fresh(_)))
                .count();
            let flood = fresh > (limits.max_connections / 8).max(1);
            let nearest = candidates
                .iter()
                .min_by_key(|(e, _)| match (flood, e) {
                    (true, Evictable::Fresh(at)) => (Evictable::Incomplete(*at), 0),
                    (_, e) => (*e, 1),
                })
                .map(|(_, id)| *id)?;
            if let Some(closed) = table.open.remove(&nearest) {
                closed.evicted.cancel();
            }
        }
        table.next += 1;
        let conn = Arc::new(Conn {
            id: table.next,
            state: Mutex::new(State {
                serving: 0,
                deadline: Some(Instant::now() + limits.header_timeout),
                receiving: None,
                stream_since: None,
                since: Instant::now(),
            }),
            waiting: AtomicBool::new(true),
            header_timeout: limits.header_timeout,
            changed: Notify::new(),
            evicted: CancellationToken::new(),
        });
        table.open.insert(conn.id, conn.clone());
        Some(conn)
    }

    fn remove(&self, id: u64) {
        let mut table = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        table.open.remove(&id);
    }
}

/// One connection's state, shared by its socket, its requests and its task.
struct Conn {
    id: u64,
    state: Mutex<State>,
    /// Set while no request is being served and no byte of the next one has been read: the
    /// first byte read then starts the header timeout (checked on every read, so an atomic).
    waiting: AtomicBool,
    header_timeout: Duration,
    /// Told when the deadline changes, so the connection's task sleeps until the new one.
    changed: Notify,
    /// Cancelled when the connection is closed to make room for a new one.
    evicted: CancellationToken,
}

struct State {
    /// Requests being served (more than one only while a response to a pipelined request is
    /// still being written).
    serving: usize,
    /// When the connection is closed unless a complete request head has arrived; none while
    /// a request is being served.
    deadline: Option<Instant>,
    /// The body timeout of the request being served while its body is still arriving.
    receiving: Option<Instant>,
    /// Since when the response being written is an idle event stream (the answer to a `GET`).
    stream_since: Option<Instant>,
    /// When the connection last began to wait for a request, or for a request's body.
    since: Instant,
}

/// Which connection is closed first to make room for a new one: the lowest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Evictable {
    /// No complete request yet (its head, or its body) for [`FRESH`] or more: by deadline.
    Incomplete(Instant),
    /// An idle event stream: the oldest first.
    Stream(Instant),
    /// No complete request yet, but it only began to wait: the oldest first.
    Fresh(Instant),
}

impl Conn {
    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn deadline(&self) -> Option<Instant> {
        self.state().deadline
    }

    /// Whether, and how readily, this connection may be closed to make room for a new one.
    fn evictable(&self) -> Option<Evictable> {
        let state = self.state();
        let fresh = FRESH.min(self.header_timeout / 2);
        match (state.deadline.or(state.receiving), state.stream_since) {
            (Some(_), _) if state.since.elapsed() < fresh => Some(Evictable::Fresh(state.since)),
            (Some(by), _) => Some(Evictable::Incomplete(by)),
            (None, Some(since)) => Some(Evictable::Stream(since)),
            (None, None) => None,
        }
    }

    /// The response being written is an idle event stream.
    fn idle_stream(&self) {
        self.state().stream_since = Some(Instant::now());
    }

    /// The first byte of a request arrived while waiting: its head has the header timeout.
    fn head_started(&self) {
        let mut state = self.state();
        if state.serving == 0 {
            let by = Instant::now() + self.header_timeout;
            state.deadline = Some(state.deadline.map_or(by, |d| d.min(by)));
        }
        drop(state);
        self.changed.notify_one();
    }
}

/// A request being served: from its complete head to its response's last byte (or the
/// response's end, however it ends). Dropping it starts the idle timeout.
struct Serving {
    conn: Arc<Conn>,
    idle_timeout: Duration,
}

impl Serving {
    fn begin(conn: &Arc<Conn>, limits: &ConnectionLimits) -> Self {
        let mut state = conn.state();
        state.serving += 1;
        state.deadline = None;
        drop(state);
        conn.waiting.store(false, Ordering::Release);
        Self {
            conn: conn.clone(),
            idle_timeout: limits.idle_timeout,
        }
    }
}

impl Drop for Serving {
    fn drop(&mut self) {
        let mut state = self.conn.state();
        state.serving = state.serving.saturating_sub(1);
        if state.serving == 0 {
            state.stream_since = None;
            state.receiving = None;
            state.since = Instant::now();
            state.deadline = Some(Instant::now() + self.idle_timeout);
            self.conn.waiting.store(true, Ordering::Release);
        }
        drop(state);
        self.conn.changed.notify_one();
    }
}

/// The connection's socket, noting when a request's first byte arrives.
struct Watched {
    tcp: TcpStream,
    conn: Arc<Conn>,
}

impl AsyncRead for Watched {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        ready!(Pin::new(&mut self.tcp).poll_read(cx, buf))?;
        if buf.filled().len() > before && self.conn.waiting.swap(false, Ordering::AcqRel) {
            self.conn.head_started();
        }
        Poll::Ready(Ok(()))
    }
}

impl AsyncWrite for Watched {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.tcp).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.tcp).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.tcp.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.tcp).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.tcp).poll_shutdown(cx)
    }
}

/// A request body still arriving: while this is held the connection may be closed to make
/// room, as a waiting one may (its body timeout is its deadline).
struct Receiving {
    conn: Arc<Conn>,
}

impl Receiving {
    fn begin(conn: &Arc<Conn>, by: Instant) -> Self {
        let mut state = conn.state();
        state.receiving = Some(by);
        state.since = Instant::now();
        drop(state);
        Self { conn: conn.clone() }
    }
}

impl Drop for Receiving {
    fn drop(&mut self) {
        self.conn.state().receiving = None;
    }
}

/// A request body that must be complete by `at`. The timer is only set once the body is found
/// not to be all there already, which is rare for the small JSON-RPC requests of `/mcp`.
struct Deadline<B> {
    body: B,
    at: Instant,
    timeout: Duration,
    sleep: Option<Pin<Box<Sleep>>>,
    /// Held until the body has arrived (or is dropped unread).
    receiving: Option<Receiving>,
}

impl<B> http_body::Body for Deadline<B>
where
    B: http_body::Body<Data = Bytes> + Unpin,
    B::Error: Into<axum::BoxError>,
{
    type Data = Bytes;
    type Error = axum::BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        if let Poll::Ready(frame) = Pin::new(&mut self.body).poll_frame(cx) {
            if frame.is_none() || self.body.is_end_stream() {
                self.receiving = None;
            }
            return Poll::Ready(frame.map(|f| f.map_err(Into::into)));
        }
        let at = self.at;
        let sleep = self
            .sleep
            .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(at)));
        ready!(sleep.as_mut().poll(cx));
        Poll::Ready(Some(Err(Box::new(BodyTimedOut(self.timeout)))))
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

/// A response body that ends the request's [`Serving`] when it is dropped.
struct Guarded<B> {
    body: B,
    _serving: Serving,
}

impl<B> http_body::Body for Guarded<B>
where
    B: http_body::Body + Unpin,
{
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<B::Data>, B::Error>>> {
        Pin::new(&mut self.body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}
