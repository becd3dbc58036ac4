//! Client connections: accepted under a cap, held to deadlines a slow or silent client
//! cannot stretch, and stopped by a graceful shutdown that has a deadline of its own.
//!
//! Each connection has a watchdog that knows which phase it is in:
//!
//! - waiting for a request's head: the head must be complete within
//!   `header-read-timeout-s`, counted from the connection's opening, or on a kept-alive
//!   connection from the first byte of the next request (so a client trickling one
//!   header at a time is cut off);
//! - idle between requests: closed after `client-idle-timeout-s` without a byte;
//! - serving: no deadline here (the upstream's timeouts bound a response), but a request
//!   body that goes `request-body-timeout-s` without a byte fails with a 408 in the
//!   client's dialect, and the connection closes after that answer.
//!
//! A connection past its deadline is dropped, which closes the socket. hyper's own
//! `header_read_timeout` is not used: it counts from the end of the previous response,
//! so it would close kept-alive connections after the header deadline, not after the
//! idle one.
//!
//! Over `max-connections`, Plugboard stops accepting until a connection closes: new
//! connections wait in the kernel's listen backlog (served first come, first served)
//! rather than being accepted and closed at once, so a burst of idle connections delays
//! a real client by at most the header deadline instead of failing it.

use std::convert::Infallible;
use std::future::Future;
use std::pin::{Pin, pin};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::http::{HeaderValue, Request, Response, header};
use bytes::Bytes;
use hyper::body::{Body as HttpBody, Frame, Incoming, SizeHint};
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, Semaphore, watch};

use crate::config::Limits;

/// The front door's connection limits, from `limits:`.
#[derive(Debug, Clone, Copy)]
pub struct ConnectionLimits {
    /// See [`Limits::header_read_timeout_s`].
    pub header_read_timeout: Duration,
    /// See [`Limits::client_idle_timeout_s`].
    pub idle_timeout: Duration,
    /// See [`Limits::request_body_timeout_s`].
    pub body_timeout: Duration,
    /// See [`Limits::max_connections`].
    pub max_connections: u32,
    /// See [`Limits::shutdown_grace_s`].
    pub shutdown_grace: Duration,
}

impl ConnectionLimits {
    /// The limits `limits:` configures.
    pub fn from_config(limits: &Limits) -> Self {
        Self {
            header_read_timeout: Duration::from_secs(limits.header_read_timeout_s),
            idle_timeout: Duration::from_secs(limits.client_idle_timeout_s),
            body_timeout: Duration::from_secs(limits.request_body_timeout_s),
            max_connections: limits.max_connections,
            shutdown_grace: Duration::from_secs(limits.shutdown_grace_s),
        }
    }
}

/// File descriptors kept for everything but client connections: the listener, log,
/// adapter files, compile cache, file watcher, the compiler child's pipes.
const RESERVED_FILES: u64 = 64;

/// A request body at least this large marks the heap for trimming once it is freed.
const TRIM_AFTER_BODY_BYTES: u64 = 1 << 20;

/// Raise the soft open-file limit (`RLIMIT_NOFILE`) to the hard limit, logging the
/// change, and return the soft limit now in force (`None` if it cannot be read).
#[allow(clippy::unnecessary_cast)] // `rlim_t` is `u64` on Linux, not everywhere
pub fn raise_open_file_limit() -> Option<u64> {
    #[cfg(unix)]
    {
        let mut limit = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: `getrlimit` writes only into the struct we pass.
        if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } != 0 {
            return None;
        }
        let soft = limit.rlim_cur as u64;
        let hard = limit.rlim_max as u64;
        if soft >= hard {
            return Some(soft);
        }
        #[allow(unused_mut)]
        let mut target = hard;
        // macOS refuses a soft limit above OPEN_MAX, whatever the hard limit says.
        #[cfg(target_os = "macos")]
        {
            target = target.min(libc::OPEN_MAX as u64);
        }
        let raised = libc::rlimit {
            rlim_cur: target as libc::rlim_t,
            rlim_max: limit.rlim_max,
        };
        // SAFETY: `setrlimit` reads only the struct we pass.
        if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &raised) } == 0 {
            tracing::info!(
                from = soft,
                to = target,
                "raised the open-file limit (RLIMIT_NOFILE) from {soft} to {target}"
            );
            Some(target)
        } else {
            let error = std::io::Error::last_os_error();
            tracing::warn!(%error, soft, hard, "could not raise the open-file limit (RLIMIT_NOFILE)");
            Some(soft)
        }
    }
    #[cfg(not(unix))]
    None
}

/// The soft open-file limit in force, if it can be read.
#[allow(clippy::unnecessary_cast)] // `rlim_t` is `u64` on Linux, not everywhere
fn open_file_limit() -> Option<u64> {
    #[cfg(unix)]
    {
        let mut limit = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: `getrlimit` writes only into the struct we pass.
        (unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } == 0)
            .then_some(limit.rlim_cur as u64)
    }
    #[cfg(not(unix))]
    None
}

/// How many client connections fit: the configured cap, lowered so that each
/// connection can also hold an upstream connection within `open_files` descriptors.
pub fn connection_cap(configured: u32, open_files: Option<u64>) -> u32 {
    match open_files {
        Some(files) => {
            let fit = (files.saturating_sub(RESERVED_FILES) / 2).max(1);
            configured.min(u32::try_from(fit).unwrap_or(u32::MAX))
        }
        None => configured,
    }
}

/// Serve `router` on `listener` until `shutdown` resolves; then stop accepting, let
/// requests in flight finish for at most the shutdown grace, and return.
pub async fn serve(
    listener: TcpListener,
    router: axum::Router,
    limits: ConnectionLimits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let cap = connection_cap(limits.max_connections, open_file_limit());
    if cap < limits.max_connections {
        tracing::warn!(
            configured = limits.max_connections,
            cap,
            "`limits.max-connections` lowered to {cap}: the open-file limit leaves room for no more \
             (each client connection may need an upstream connection too)"
        );
    }
    let slots = Arc::new(Semaphore::new(cap as usize));
    let (stop, stopping) = watch::channel(false);
    let trim = Arc::new(HeapTrim::default());
    let trimmer = tokio::spawn(trim.clone().run());
    // One `Arc` per connection: the finished router is cloned, never rebuilt (handing
    // axum a `Router` as a make-service would call `with_state(())` per connection and
    // rebuild the route table: ~4.6 KB of heap per connection while it lives).
    let service = TowerToHyperService::new(router);
    let mut shutdown = pin!(shutdown);
    let mut at_cap = false;
    loop {
        let permit = match slots.clone().try_acquire_owned() {
            Ok(permit) => {
                at_cap = false;
                permit
            }
            Err(_) => {
                if !at_cap {
                    at_cap = true;
                    tracing::warn!(
                        cap,
                        "{cap} client connections open (`limits.max-connections`): new ones \
                         wait in the listen backlog until one closes"
                    );
                }
                tokio::select! {
                    permit = slots.clone().acquire_owned() => permit?,
                    () = &mut shutdown => break,
                }
            }
        };
        let (tcp, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    accept_failed(error).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        // Nagle's algorithm would hold back small SSE frames until the client ACKs the
        // previous ones (up to a delayed-ACK timeout): every token would pay for it.
        if let Err(error) = tcp.set_nodelay(true) {
            tracing::debug!(%error, "could not set TCP_NODELAY on a client connection");
        }
        let connection = Connection {
            service: service.clone(),
            limits,
            trim: trim.clone(),
        };
        let stopping = stopping.clone();
        trim.opened();
        let trim = trim.clone();
        tokio::spawn(async move {
            connection.run(tcp, peer, stopping).await;
            drop(permit);
            trim.closed();
        });
    }
    drop(listener);

    let open = cap as usize - slots.available_permits();
    let grace = limits.shutdown_grace.as_secs();
    tracing::info!(
        open,
        grace_s = grace,
        "stopped accepting; letting {open} connection(s) finish for at most {grace} s"
    );
    let _ = stop.send(true);
    let all_closed = slots.acquire_many(cap);
    match tokio::time::timeout(limits.shutdown_grace, all_closed).await {
        Ok(_) => tracing::info!("every client connection finished"),
        Err(_) => {
            let cut = cap as usize - slots.available_permits();
            tracing::warn!(
                cut,
                "shutdown grace of {grace} s is over: cutting {cut} connection(s) still open"
            );
        }
    }
    trimmer.abort();
    Ok(())
}

/// A failed `accept`: a connection that died in the backlog is nothing; anything else
/// (out of file descriptors) is logged and waited out briefly instead of spinning.
async fn accept_failed(error: std::io::Error) {
    use std::io::ErrorKind;
    if matches!(
        error.kind(),
        ErrorKind::ConnectionRefused | ErrorKind::ConnectionAborted | ErrorKind::ConnectionReset
    ) {
        return;
    }
    tracing::warn!(%error, "cannot accept a client connection; retrying in 100 ms");
    tokio::time::sleep(Duration::from_millis(100)).await;
}

/// What one connection needs.
struct Connection {
    service: TowerToHyperService<axum::Router>,
    limits: ConnectionLimits,
    trim: Arc<HeapTrim>,
}

impl Connection {
    /// Serve HTTP/1 or HTTP/2 on `tcp` until the client leaves, a deadline passes, or
    /// (after `stopping` turns true) the requests in flight are done.
    async fn run(
        self,
        tcp: TcpStream,
        peer: std::net::SocketAddr,
        mut stopping: watch::Receiver<bool>,
    ) {
        let activity = Arc::new(Activity::new());
        let io = TokioIo::new(WatchedIo {
            tcp,
            activity: activity.clone(),
        });
        let service = ConnectionService {
            inner: self.service,
            activity: activity.clone(),
            peer,
            body_timeout: self.limits.body_timeout,
            trim: self.trim,
        };
        let builder = auto::Builder::new(TokioExecutor::new());
        let mut connection = pin!(builder.serve_connection(io, service));
        let mut watchdog = pin!(activity.watchdog(self.limits));
        let mut shutting_down = false;
        loop {
            tokio::select! {
                result = connection.as_mut() => {
                    if let Err(error) = result {
                        tracing::debug!(%error, "client connection ended with an error");
                    }
                    break;
                }
                reason = &mut watchdog => {
                    tracing::debug!(reason, "closing a client connection");
                    break;
                }
                _ = stopping.wait_for(|stop| *stop), if !shutting_down => {
                    shutting_down = true;
                    connection.as_mut().graceful_shutdown();
                }
            }
        }
    }
}

/// No deadline: the phase marker for "not waiting for a head".
const NOT_WAITING: u64 = u64::MAX;

/// What a connection is doing, for its watchdog. Times are milliseconds since `epoch`.
struct Activity {
    epoch: Instant,
    /// Requests whose response has not finished.
    in_flight: AtomicUsize,
    /// When the connection last became idle (opened, or its last response ended).
    idle_since: AtomicU64,
    /// When the wait for the next request's head began, or [`NOT_WAITING`].
    head_since: AtomicU64,
    /// Wakes the watchdog when the phase changes.
    changed: Notify,
    /// A request body stalled: the connection closes after the answer.
    body_stalled: AtomicBool,
}

impl Activity {
    fn new() -> Self {
        Self {
            epoch: Instant::now(),
            in_flight: AtomicUsize::new(0),
            idle_since: AtomicU64::new(0),
            // A new connection owes its first head from the start.
            head_since: AtomicU64::new(0),
            changed: Notify::new(),
            body_stalled: AtomicBool::new(false),
        }
    }

    fn now(&self) -> u64 {
        self.epoch.elapsed().as_millis() as u64
    }

    /// Bytes arrived: on an idle connection, the next request's head has begun.
    fn bytes_read(&self) {
        if self.in_flight.load(Ordering::Acquire) == 0
            && self.head_since.load(Ordering::Acquire) == NOT_WAITING
            && self
                .head_since
                .compare_exchange(NOT_WAITING, self.now(), Ordering::AcqRel, Ordering::Acquire)
                .is_ok()
        {
            self.changed.notify_one();
        }
    }

    /// A request's head is complete and its handler starts.
    fn request_started(&self) {
        self.in_flight.fetch_add(1, Ordering::AcqRel);
        self.head_since.store(NOT_WAITING, Ordering::Release);
    }

    /// A response ended (or was abandoned).
    fn request_finished(&self) {
        if self.in_flight.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.idle_since.store(self.now(), Ordering::Release);
            self.changed.notify_one();
        }
    }

    /// Resolves, with the reason, when the connection has overstayed its phase.
    async fn watchdog(&self, limits: ConnectionLimits) -> &'static str {
        loop {
            // `notify_one` keeps a permit when nobody waits, so no change is missed
            // between reading the phase and waiting.
            let changed = self.changed.notified();
            if self.in_flight.load(Ordering::Acquire) > 0 {
                changed.await;
                continue;
            }
            let head = self.head_since.load(Ordering::Acquire);
            let (since, allowed, reason) = if head == NOT_WAITING {
                let idle = self.idle_since.load(Ordering::Acquire);
                (idle, limits.idle_timeout, "idle timeout")
            } else {
                (head, limits.header_read_timeout, "header-read timeout")
            };
            let deadline = self.epoch + Duration::from_millis(since) + allowed;
            if Instant::now() >= deadline {
                return reason;
            }
            tokio::select! {
                () = tokio::time::sleep_until(deadline.into()) => {}
                () = changed => {}
            }
        }
    }
}

/// The client socket, telling its connection's [`Activity`] when bytes arrive.
struct WatchedIo {
    tcp: TcpStream,
    activity: Arc<Activity>,
}

impl AsyncRead for WatchedIo {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        let polled = Pin::new(&mut this.tcp).poll_read(cx, buf);
        if matches!(polled, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            this.activity.bytes_read();
        }
        polled
    }
}

impl AsyncWrite for WatchedIo {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.get_mut().tcp).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.get_mut().tcp).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.tcp.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().tcp).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().tcp).poll_shutdown(cx)
    }
}

/// The router, with each request's body held to the progress deadline and each
/// response tracked until it ends. Each request carries the peer's address as axum's
/// `ConnectInfo<SocketAddr>` (the management API's loopback rule and lockout use it).
#[derive(Clone)]
struct ConnectionService {
    inner: TowerToHyperService<axum::Router>,
    activity: Arc<Activity>,
    peer: std::net::SocketAddr,
    body_timeout: Duration,
    trim: Arc<HeapTrim>,
}

impl hyper::service::Service<Request<Incoming>> for ConnectionService {
    type Response = Response<TrackedBody>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Infallible>> + Send>>;

    fn call(&self, request: Request<Incoming>) -> Self::Future {
        self.activity.request_started();
        let guard = RequestGuard {
            activity: self.activity.clone(),
            trim: self.trim.clone(),
            body_bytes: Arc::new(AtomicU64::new(0)),
        };
        let body_timeout = self.body_timeout;
        let mut request = request.map(|body| ProgressBody {
            inner: body,
            timeout: body_timeout,
            deadline: None,
            bytes: guard.body_bytes.clone(),
            activity: self.activity.clone(),
        });
        request
            .extensions_mut()
            .insert(axum::extract::ConnectInfo(self.peer));
        let response = hyper::service::Service::call(&self.inner, request);
        Box::pin(async move {
            let Ok(mut response) = response.await;
            if guard.activity.body_stalled.load(Ordering::Acquire) {
                response
                    .headers_mut()
                    .insert(header::CONNECTION, HeaderValue::from_static("close"));
            }
            Ok(response.map(|body| TrackedBody {
                inner: body,
                _guard: guard,
            }))
        })
    }
}

/// Lives as long as one request's response: its end makes the connection idle again,
/// and a large body marks the heap for trimming.
struct RequestGuard {
    activity: Arc<Activity>,
    trim: Arc<HeapTrim>,
    body_bytes: Arc<AtomicU64>,
}

impl Drop for RequestGuard {
    fn drop(&mut self) {
        self.activity.request_finished();
        if self.body_bytes.load(Ordering::Relaxed) >= TRIM_AFTER_BODY_BYTES {
            self.trim.request();
        }
    }
}

/// A response body that keeps its request's [`RequestGuard`] until it is dropped.
pub struct TrackedBody {
    inner: axum::body::Body,
    _guard: RequestGuard,
}

impl HttpBody for TrackedBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        Pin::new(&mut self.get_mut().inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// A request body that went `request-body-timeout-s` without a byte.
#[derive(Debug, thiserror::Error)]
#[error("no byte of the request body arrived for {seconds} s")]
pub struct BodyStalled {
    /// The configured `request-body-timeout-s`.
    pub seconds: u64,
}

/// The request body, failing with [`BodyStalled`] when it stops arriving.
struct ProgressBody {
    inner: Incoming,
    timeout: Duration,
    /// Armed the first time the body has nothing to give; pushed back on every frame.
    deadline: Option<Pin<Box<tokio::time::Sleep>>>,
    bytes: Arc<AtomicU64>,
    activity: Arc<Activity>,
}

impl HttpBody for ProgressBody {
    type Data = Bytes;
    type Error = Box<dyn std::error::Error + Send + Sync>;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let this = self.get_mut();
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(data) = frame.data_ref() {
                    this.bytes.fetch_add(data.len() as u64, Ordering::Relaxed);
                }
                if let Some(deadline) = &mut this.deadline {
                    deadline
                        .as_mut()
                        .reset(tokio::time::Instant::now() + this.timeout);
                }
                Poll::Ready(Some(Ok(frame)))
            }
            Poll::Ready(Some(Err(error))) => Poll::Ready(Some(Err(error.into()))),
            Poll::Ready(None) => Poll::Ready(None),
            Poll::Pending => {
                let timeout = this.timeout;
                let deadline = this
                    .deadline
                    .get_or_insert_with(|| Box::pin(tokio::time::sleep(timeout)));
                if deadline.as_mut().poll(cx).is_pending() {
                    return Poll::Pending;
                }
                this.activity.body_stalled.store(true, Ordering::Release);
                let seconds = timeout.as_secs();
                tracing::info!(
                    timeout_s = seconds,
                    "request body stalled: no byte for {seconds} s"
                );
                Poll::Ready(Some(Err(Box::new(BodyStalled { seconds }))))
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// Gives freed heap back to the OS after large request bodies and after bursts of
/// connections: glibc keeps freed memory in its arenas otherwise (16 refused 40 MB
/// uploads left 203 MB resident against 24 MB idle; 1,000 streams left 130 MB). At
/// most one trim a second, off the async threads.
#[derive(Default)]
struct HeapTrim {
    pending: AtomicBool,
    /// Client connections open now.
    open: AtomicUsize,
    /// Most connections open at once since the last time none was open.
    peak: AtomicUsize,
}

/// A burst at least this many connections wide is trimmed after once all have closed.
const TRIM_AFTER_BURST: usize = 32;

impl HeapTrim {
    /// Trim at the next tick.
    fn request(&self) {
        self.pending.store(true, Ordering::Release);
    }

    /// A client connection opened.
    fn opened(&self) {
        let open = self.open.fetch_add(1, Ordering::AcqRel) + 1;
        self.peak.fetch_max(open, Ordering::AcqRel);
    }

    /// A client connection closed. The last one of a wide burst asks for a trim: the
    /// burst's buffers are free now.
    fn closed(&self) {
        let last = self.open.fetch_sub(1, Ordering::AcqRel) == 1;
        if last && self.peak.swap(0, Ordering::AcqRel) >= TRIM_AFTER_BURST {
            self.request();
        }
    }

    async fn run(self: Arc<Self>) {
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            if self.pending.swap(false, Ordering::AcqRel) {
                let _ =
                    tokio::task::spawn_blocking(crate::runtime::loader::release_free_heap).await;
                tracing::debug!("freed heap given back to the OS");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_last_connection_of_a_wide_burst_asks_for_a_trim_and_a_trickle_does_not() {
        let trim = HeapTrim::default();
        for _ in 0..3 {
            trim.opened();
        }
        for _ in 0..3 {
            trim.closed();
        }
        assert!(
            !trim.pending.load(Ordering::Acquire),
            "three connections are no burst"
        );
        for _ in 0..TRIM_AFTER_BURST {
            trim.opened();
        }
        for _ in 1..TRIM_AFTER_BURST {
            trim.closed();
        }
        assert!(!trim.pending.load(Ordering::Acquire), "still busy");
        trim.closed();
        assert!(trim.pending.load(Ordering::Acquire));
        assert_eq!(
            trim.peak.load(Ordering::Acquire),
            0,
            "the next burst counts afresh"
        );
    }

    #[test]
    fn the_connection_cap_leaves_room_for_an_upstream_connection_each() {
        assert_eq!(connection_cap(4096, Some(512)), 224);
        assert_eq!(connection_cap(4096, Some(1 << 20)), 4096);
        assert_eq!(connection_cap(100, None), 100);
        assert_eq!(connection_cap(100, Some(10)), 1);
    }
}
