//! Serving connections with hyper directly (`axum::serve` has no timeouts): a connection
//! limit, a header timeout counted from a request's first byte, an idle timeout for
//! connections with no request in progress, and graceful shutdown. The body deadline is a
//! request-level bound (`limits.rs`).

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tower::ServiceExt;

use crate::config::ServerConfig;

/// Connection-level bounds, from `[server]`.
#[derive(Debug, Clone)]
pub struct ConnLimits {
    pub header_timeout: Duration,
    pub idle_timeout: Duration,
    pub max_connections: usize,
    /// How long a graceful stop waits for requests in flight before dropping them.
    pub drain_timeout: Duration,
}

impl ConnLimits {
    pub fn from_config(server: &ServerConfig) -> Self {
        Self {
            header_timeout: Duration::from_millis(server.header_timeout_ms),
            idle_timeout: Duration::from_millis(server.idle_timeout_ms),
            max_connections: server.max_connections.max(1),
            drain_timeout: Duration::from_secs(10),
        }
    }
}

/// What the watchdog knows about one connection. Times are ms since the connection began.
struct Activity {
    start: Instant,
    /// Requests being handled (headers parsed, response not yet produced).
    in_flight: AtomicUsize,
    /// When the last request finished (or the connection opened).
    idle_since: AtomicU64,
    /// Whether bytes of a request not yet handed to the service have arrived, and since when.
    head_started: AtomicBool,
    head_since: AtomicU64,
}

impl Activity {
    fn new() -> Self {
        Self {
            start: Instant::now(),
            in_flight: AtomicUsize::new(0),
            idle_since: AtomicU64::new(0),
            head_started: AtomicBool::new(false),
            head_since: AtomicU64::new(0),
        }
    }

    fn now(&self) -> u64 {
        u64::try_from(self.start.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    /// Bytes arrived: with no request in progress they begin the next request's head.
    fn read_some(&self) {
        if self.in_flight.load(Ordering::Acquire) == 0
            && !self.head_started.swap(true, Ordering::AcqRel)
        {
            self.head_since.store(self.now(), Ordering::Release);
        }
    }

    /// Hyper parsed a request's headers and hands it over.
    fn begin(self: &Arc<Self>) -> InFlight {
        self.in_flight.fetch_add(1, Ordering::AcqRel);
        self.head_started.store(false, Ordering::Release);
        InFlight(self.clone())
    }

    /// Why the connection should be closed now, if it should.
    fn expired(&self, limits: &ConnLimits) -> Option<&'static str> {
        if self.in_flight.load(Ordering::Acquire) > 0 {
            return None;
        }
        let now = self.now();
        let waited = |since: &AtomicU64| {
            Duration::from_millis(now.saturating_sub(since.load(Ordering::Acquire)))
        };
        if self.head_started.load(Ordering::Acquire) {
            (waited(&self.head_since) > limits.header_timeout).then_some("header timeout")
        } else {
            (waited(&self.idle_since) > limits.idle_timeout).then_some("idle timeout")
        }
    }
}

/// A request in progress; dropping it (response produced, or the request abandoned) makes the
/// connection idle again when it was the last.
struct InFlight(Arc<Activity>);

impl Drop for InFlight {
    fn drop(&mut self) {
        let a = &self.0;
        a.idle_since.store(a.now(), Ordering::Release);
        a.in_flight.fetch_sub(1, Ordering::AcqRel);
    }
}

/// The socket, reporting every read to the connection's `Activity`.
struct Watched {
    inner: TcpStream,
    activity: Arc<Activity>,
}

impl AsyncRead for Watched {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        if matches!(polled, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.activity.read_some();
        }
        polled
    }
}

impl AsyncWrite for Watched {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// Answered to a connection over the limit, written without waiting and then closed.
const BUSY: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\n\
connection: close\r\ncontent-length: 48\r\n\r\n{\"error\":\"too many connections; retry shortly\"}\n";

/// Accepts and serves connections until `stop` is cancelled, then lets requests in flight
/// finish (up to `drain_timeout`) and returns.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: ConnLimits,
    stop: CancellationToken,
) -> std::io::Result<()> {
    let limits = Arc::new(limits);
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    // Accept errors such as EMFILE repeat until something closes: log them once per burst.
    let mut last_error: Option<String> = None;
    loop {
        let accepted = tokio::select! {
            _ = stop.cancelled() => break,
            accepted = listener.accept() => accepted,
        };
        let stream = match accepted {
            Ok((stream, _)) => stream,
            Err(e) => {
                let text = e.to_string();
                if last_error.as_deref() != Some(text.as_str()) {
                    tracing::warn!("accepting a connection failed: {text}");
                    last_error = Some(text);
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            // Over the limit: say so if the socket takes it now, and close.
            metrics::counter!("ferry_http_connections_refused_total").increment(1);
            let _ = stream.try_write(BUSY);
            continue;
        };
        let _ = stream.set_nodelay(true);
        let (app, limits, stop) = (app.clone(), limits.clone(), stop.clone());
        tokio::spawn(async move {
            serve_one(stream, app, &limits, stop).await;
            drop(slot);
        });
    }
    // Every connection holds a slot until it ends: when all are back, all are done.
    let total = u32::try_from(limits.max_connections).unwrap_or(u32::MAX);
    if tokio::time::timeout(limits.drain_timeout, slots.acquire_many(total))
        .await
        .is_err()
    {
        tracing::warn!(
            "stopping with connections still open after {} s",
            limits.drain_timeout.as_secs()
        );
    }
    Ok(())
}

async fn serve_one(stream: TcpStream, app: Router, limits: &ConnLimits, stop: CancellationToken) {
    let activity = Arc::new(Activity::new());
    let io = TokioIo::new(Watched {
        inner: stream,
        activity: activity.clone(),
    });
    let service_activity = activity.clone();
    let service = hyper::service::service_fn(move |request: hyper::Request<Incoming>| {
        let in_flight = service_activity.begin();
        let app = app.clone();
        async move {
            let response = app.oneshot(request.map(axum::body::Body::new)).await;
            drop(in_flight);
            response
        }
    });
    // hyper's own header timer also runs while a keep-alive connection waits, which would
    // make the idle timeout the header timeout: the watchdog below keeps them apart.
    let conn = hyper::server::conn::http1::Builder::new()
        .keep_alive(true)
        .header_read_timeout(None)
        .serve_connection(io, service);
    tokio::pin!(conn);
    // Checked often enough that a timeout fires within a quarter of itself.
    let tick = (limits.header_timeout.min(limits.idle_timeout) / 4)
        .clamp(Duration::from_millis(20), Duration::from_secs(1));
    let mut stopping = false;
    loop {
        tokio::select! {
            served = conn.as_mut() => {
                if let Err(e) = served {
                    tracing::debug!("connection ended: {e}");
                }
                return;
            }
            _ = stop.cancelled(), if !stopping => {
                // Idle connections close now; one mid-request finishes its response first.
                conn.as_mut().graceful_shutdown();
                stopping = true;
            }
            _ = tokio::time::sleep(tick) => {
                if let Some(why) = activity.expired(limits) {
                    metrics::counter!("ferry_http_connections_timed_out_total", "reason" => why).increment(1);
                    tracing::debug!("closing a connection: {why}");
                    // Dropping the connection closes the socket.
                    return;
                }
            }
        }
    }
}
