//! Serving a router under the [`Shutdown`] coordinator, with limits.
//!
//! [`serve`] is for the application's own listener, [`serve_admin`] for
//! the admin endpoints; [`serve_with`] and [`serve_admin_with`] take other
//! [`HttpLimits`]. What each does when shutdown begins:
//!
//! | phase of [`Shutdown`] | [`serve`] | [`serve_admin`] |
//! |---|---|---|
//! | 1. readiness down | keeps serving (a load balancer is taking the instance out during the readiness delay) | keeps serving: `/ready` answers 503 |
//! | 2. intake stopped | stops accepting connections; connections with no request in progress (idle, or still sending a request header) are closed, busy ones after their response | keeps serving |
//! | 3. drain | requests in flight finish, their response bodies included (a streamed body is drained to its end); each is an `http_request` unit of work, so the drain waits for them up to the deadline and the report counts them | keeps serving: `/metrics` shows the drain |
//! | 4. closers | its closer waits for the last connections to close (responses being written), but not for requests still running, which the drain already abandoned; up to the closer timeout; then the future returns | its closer stops accepting, then waits for the last connections the same way |
//!
//! The closers are registered when `serve`/`serve_admin` is called, so
//! they run before the closers registered earlier (a database pool
//! registered at start-up is closed after the HTTP server stops using it).
//!
//! Requests still running at the deadline are abandoned, as everything
//! else in [`Shutdown`]: the report counts them by name (`http_request`)
//! as finished late or abandoned, nothing aborts them, and the process exit
//! ends them. The closer does not wait for them: it ends as soon as the
//! only connections left are those with such a request in progress, so
//! they cost the shutdown no time beyond the deadline. If the closer
//! timeout passes with connections still open (responses the clients do
//! not read), the future returns anyway and the connection tasks are left
//! to the process exit too. Either way the server takes at most the
//! deadline and its closer timeout, as [`Shutdown::max_duration`] counts.
//!
//! # Limits
//!
//! Both serve HTTP/1.1 (and 1.0) with hyper's connection builder (HTTP/2
//! over cleartext, which `axum::serve` also accepts, is not served), under
//! these limits, all on by default ([`HttpLimits::default`]); each can be
//! changed or turned off (`None`) with the [`HttpLimits`] method of the
//! same name:
//!
//! | limit | default | what happens |
//! |---|---|---|
//! | [`header_read_timeout`](HttpLimits::header_read_timeout) | 10 s | a new connection must send a complete request header within this time of being accepted, a kept-alive one within this time of the first byte of its next request, however slowly the bytes come; otherwise it is closed without an answer |
//! | [`idle_timeout`](HttpLimits::idle_timeout) | 60 s | a kept-alive connection with no request for this long is closed |
//! | [`write_timeout`](HttpLimits::write_timeout) | 30 s | a response that cannot be written for this long (the client stopped reading) is dropped and the connection closed |
//! | [`max_connections`](HttpLimits::max_connections) | 1,024 per listener | at the limit, no connection is accepted until one closes: new ones wait in the listener's backlog (the kernel's queue, 1,024 for a tokio `TcpListener`), and are served in turn |
//! | [`endpoint_timeout`](HttpLimits::endpoint_timeout) | 30 s | a request to [`serve_admin`] (and to the endpoints of [`Server`](crate::Server)) not answered in time is answered 503; [`serve`] leaves the application's own handlers alone |
//! | [`max_concurrent_scrapes`](HttpLimits::max_concurrent_scrapes) | 4 per listener | `/metrics` responses being encoded or sent at once, each holding its exposition in memory; one more waits up to [`scrape_wait`](HttpLimits::scrape_wait) |
//! | [`scrape_wait`](HttpLimits::scrape_wait) | 1 s | how long a scrape over the cap waits for a slot before it is answered 503 with `Retry-After: 1` |
//!
//! So a client that sends half a request and stops, or trickles it, holds
//! its connection for 10 s at most and never holds up a shutdown (it is
//! closed when intake stops); clients that request `/metrics` and never
//! read it hold at most 4 expositions, each for 30 s at most. The timers
//! are not running while a request is being handled, except the write
//! timeout: how long a handler may take, or wait for a slow request body,
//! is the application's to bound (tower-http's `TimeoutLayer` and
//! `RequestBodyTimeoutLayer`). A connection upgraded to another protocol
//! (a WebSocket) leaves the limits behind: it is no longer counted or
//! timed, and shutdown does not wait for it.
//!
//! [`Shutdown`]: alerting_core::shutdown::Shutdown

use std::convert::Infallible;
use std::future::{Future, poll_fn};
use std::io;
use std::net::SocketAddr;
use std::pin::{Pin, pin};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll, ready};
use std::time::Duration;

use alerting_core::shutdown::{InFlight, Shutdown, WorkKind};
use axum::Router;
use axum::body::Body;
use axum::extract::Request;
use axum::http::StatusCode;
use axum::response::Response;
use bytes::Bytes;
use http_body::{Frame, SizeHint};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::TokioIo;
use pin_project_lite::pin_project;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore, oneshot};
use tokio::time::{Instant, Sleep};
use tokio_util::sync::CancellationToken;
use tower::ServiceExt as _;
use tower::util::Oneshot;
use tower_http::timeout::TimeoutLayer;

/// The name of the in-flight work kind of requests served by [`serve`].
pub const HTTP_REQUEST_WORK: &str = "http_request";

/// Why a server could not run.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServeError {
    /// The listener's local address could not be read (it is closed).
    #[error("cannot read the listener's address")]
    LocalAddr(#[source] io::Error),
    /// The server stopped with an I/O error. (Not returned today: errors
    /// accepting a connection are logged and accepting goes on.)
    #[error("HTTP server on {addr} failed")]
    Io {
        /// The address it listened on.
        addr: SocketAddr,
        /// The error.
        #[source]
        source: io::Error,
    },
}

/// The limits a server puts on its connections and on the library's
/// endpoints: see the [module documentation](self#limits) for what each
/// does. [`Default`] has every limit on.
///
/// ```
/// use std::time::Duration;
/// use alerting_axum::HttpLimits;
///
/// let limits = HttpLimits::default()
///     .header_read_timeout(Duration::from_secs(5))
///     .max_connections(256)
///     .idle_timeout(None); // keep-alive connections stay open
/// assert_eq!(limits.get_max_connections(), Some(256));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
#[must_use]
pub struct HttpLimits {
    header_read_timeout: Option<Duration>,
    idle_timeout: Option<Duration>,
    write_timeout: Option<Duration>,
    max_connections: Option<usize>,
    endpoint_timeout: Option<Duration>,
    max_concurrent_scrapes: Option<usize>,
    scrape_wait: Duration,
}

impl Default for HttpLimits {
    fn default() -> Self {
        Self {
            header_read_timeout: Some(Duration::from_secs(10)),
            idle_timeout: Some(Duration::from_secs(60)),
            write_timeout: Some(Duration::from_secs(30)),
            max_connections: Some(1024),
            endpoint_timeout: Some(Duration::from_secs(30)),
            max_concurrent_scrapes: Some(4),
            scrape_wait: Duration::from_secs(1),
        }
    }
}

impl HttpLimits {
    /// The defaults: every limit on (see the [module
    /// documentation](self#limits)).
    pub fn new() -> Self {
        Self::default()
    }

    /// Every limit off: what `axum::serve` does. For a listener behind a
    /// proxy that enforces its own limits, or for benchmarks.
    pub fn none() -> Self {
        Self {
            header_read_timeout: None,
            idle_timeout: None,
            write_timeout: None,
            max_connections: None,
            endpoint_timeout: None,
            max_concurrent_scrapes: None,
            scrape_wait: Duration::ZERO,
        }
    }

    /// Time to send a complete request header (default 10 s), from the
    /// connection's acceptance or from the first byte of a kept-alive
    /// connection's next request.
    pub fn header_read_timeout(mut self, timeout: impl Into<Option<Duration>>) -> Self {
        self.header_read_timeout = timeout.into();
        self
    }

    /// Time a kept-alive connection may wait for its next request (default
    /// 60 s).
    pub fn idle_timeout(mut self, timeout: impl Into<Option<Duration>>) -> Self {
        self.idle_timeout = timeout.into();
        self
    }

    /// Time a response may go without any byte written (default 30 s).
    pub fn write_timeout(mut self, timeout: impl Into<Option<Duration>>) -> Self {
        self.write_timeout = timeout.into();
        self
    }

    /// Connections served at once per listener (default 1,024; 0 counts
    /// as 1).
    pub fn max_connections(mut self, max: impl Into<Option<usize>>) -> Self {
        self.max_connections = max.into();
        self
    }

    /// Time the library's endpoints have to answer (default 30 s), after
    /// which they answer 503. Applies to what [`serve_admin_with`] serves
    /// and to the endpoints [`Server`](crate::Server) mounts, not to
    /// [`serve_with`].
    pub fn endpoint_timeout(mut self, timeout: impl Into<Option<Duration>>) -> Self {
        self.endpoint_timeout = timeout.into();
        self
    }

    /// `/metrics` responses encoded or sent at once per listener (default
    /// 4; 0 counts as 1).
    pub fn max_concurrent_scrapes(mut self, max: impl Into<Option<usize>>) -> Self {
        self.max_concurrent_scrapes = max.into();
        self
    }

    /// How long a scrape over [`max_concurrent_scrapes`](Self::max_concurrent_scrapes)
    /// waits for a slot before it is answered 503 (default 1 s; zero
    /// answers at once).
    pub fn scrape_wait(mut self, wait: Duration) -> Self {
        self.scrape_wait = wait;
        self
    }

    /// See [`header_read_timeout`](Self::header_read_timeout).
    pub fn get_header_read_timeout(&self) -> Option<Duration> {
        self.header_read_timeout
    }

    /// See [`idle_timeout`](Self::idle_timeout).
    pub fn get_idle_timeout(&self) -> Option<Duration> {
        self.idle_timeout
    }

    /// See [`write_timeout`](Self::write_timeout).
    pub fn get_write_timeout(&self) -> Option<Duration> {
        self.write_timeout
    }

    /// See [`max_connections`](Self::max_connections).
    pub fn get_max_connections(&self) -> Option<usize> {
        self.max_connections
    }

    /// See [`endpoint_timeout`](Self::endpoint_timeout).
    pub fn get_endpoint_timeout(&self) -> Option<Duration> {
        self.endpoint_timeout
    }

    /// See [`max_concurrent_scrapes`](Self::max_concurrent_scrapes).
    pub fn get_max_concurrent_scrapes(&self) -> Option<usize> {
        self.max_concurrent_scrapes
    }

    /// See [`scrape_wait`](Self::scrape_wait).
    pub fn get_scrape_wait(&self) -> Duration {
        self.scrape_wait
    }

    /// `router` with the endpoint timeout, if there is one.
    pub(crate) fn time_endpoints<S>(&self, router: Router<S>) -> Router<S>
    where
        S: Clone + Send + Sync + 'static,
    {
        match self.endpoint_timeout {
            Some(timeout) => router.layer(TimeoutLayer::with_status_code(
                StatusCode::SERVICE_UNAVAILABLE,
                timeout,
            )),
            None => router,
        }
    }
}

/// Serves `router` on `listener` until shutdown, with the default
/// [`HttpLimits`]: see the [module documentation](self) for each phase and
/// each limit.
///
/// Each request holds an in-flight guard of kind [`HTTP_REQUEST_WORK`]
/// until its response body has been sent (or dropped), so the drain waits for
/// it, a streamed body included, and the
/// report counts it. The closer, named `http server <addr>`, is registered
/// now; the returned future does not borrow `shutdown` and can be spawned.
///
/// Readiness going down is the health registry's business: build it with
/// [`HealthRegistryBuilder::shutdown`](alerting_core::health::HealthRegistryBuilder::shutdown).
///
/// # Errors
///
/// [`ServeError::LocalAddr`] if the listener is unusable.
///
/// ```
/// use alerting_core::shutdown::Shutdown;
/// use axum::{Router, routing::get};
///
/// # #[tokio::main] async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let shutdown = Shutdown::new();
/// let app = Router::new().route("/", get(|| async { "hello" }));
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
/// let server = tokio::spawn(alerting_axum::serve(listener, app, &shutdown));
///
/// # shutdown.trigger("doc example");
/// let report = shutdown.run().await; // until SIGTERM or Ctrl-C
/// server.await??;
/// assert_eq!(report.still_running(), 0);
/// # Ok(()) }
/// ```
pub fn serve(
    listener: TcpListener,
    router: Router,
    shutdown: &Shutdown,
) -> impl Future<Output = Result<(), ServeError>> + Send + 'static + use<> {
    serve_with(listener, router, shutdown, HttpLimits::default())
}

/// [`serve`] with other limits. The [endpoint
/// timeout](HttpLimits::endpoint_timeout) is not applied: the handlers are
/// the application's.
///
/// # Errors
///
/// As [`serve`].
///
/// ```
/// use std::time::Duration;
/// use alerting_axum::{HttpLimits, serve_with};
/// use alerting_core::shutdown::Shutdown;
/// use axum::{Router, routing::get};
///
/// # #[tokio::main] async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let shutdown = Shutdown::new();
/// let app = Router::new().route("/", get(|| async { "hello" }));
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
/// let limits = HttpLimits::default().idle_timeout(Duration::from_secs(120));
/// let server = tokio::spawn(serve_with(listener, app, &shutdown, limits));
/// # shutdown.trigger("doc example");
/// shutdown.run().await;
/// server.await??;
/// # Ok(()) }
/// ```
pub fn serve_with(
    listener: TcpListener,
    router: Router,
    shutdown: &Shutdown,
    limits: HttpLimits,
) -> impl Future<Output = Result<(), ServeError>> + Send + 'static + use<> {
    let work = shutdown.work_kind(HTTP_REQUEST_WORK);
    run(
        listener,
        router,
        Some(work),
        shutdown,
        StopAt::Intake,
        &limits,
    )
}

/// Serves `router` (the admin endpoints) on `listener` until the closers
/// phase of shutdown, so that `/ready` answers 503 and `/metrics` keeps
/// answering while the application drains. Requests are not tracked as
/// in-flight work: a scrape must not hold the drain up. The closer is named
/// `admin http server <addr>`. The default [`HttpLimits`] apply, the
/// [endpoint timeout](HttpLimits::endpoint_timeout) to every route of
/// `router`.
///
/// # Errors
///
/// As [`serve`].
///
/// ```
/// use alerting_axum::Endpoints;
/// use alerting_core::metrics::Registry;
/// use alerting_core::shutdown::Shutdown;
///
/// # #[tokio::main] async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let shutdown = Shutdown::new();
/// let admin = Endpoints::new().metrics(Registry::new()).router()?;
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
/// let server = tokio::spawn(alerting_axum::serve_admin(listener, admin, &shutdown));
/// # shutdown.trigger("doc example");
/// shutdown.run().await;
/// server.await??;
/// # Ok(()) }
/// ```
pub fn serve_admin(
    listener: TcpListener,
    router: Router,
    shutdown: &Shutdown,
) -> impl Future<Output = Result<(), ServeError>> + Send + 'static + use<> {
    serve_admin_with(listener, router, shutdown, HttpLimits::default())
}

/// [`serve_admin`] with other limits.
///
/// # Errors
///
/// As [`serve`].
pub fn serve_admin_with(
    listener: TcpListener,
    router: Router,
    shutdown: &Shutdown,
    limits: HttpLimits,
) -> impl Future<Output = Result<(), ServeError>> + Send + 'static + use<> {
    let router = limits.time_endpoints(router);
    run(listener, router, None, shutdown, StopAt::Closers, &limits)
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum StopAt {
    /// When the intake token is cancelled.
    Intake,
    /// When our closer runs.
    Closers,
}

fn run(
    listener: TcpListener,
    router: Router,
    work: Option<WorkKind>,
    shutdown: &Shutdown,
    stop_at: StopAt,
    limits: &HttpLimits,
) -> impl Future<Output = Result<(), ServeError>> + Send + 'static + use<> {
    let addr = listener.local_addr();
    let intake = shutdown.token();
    // Cancelled when our closer starts: the admin server stops accepting.
    let stop_admin = CancellationToken::new();
    // Cancelled when our closer ends, done or cut off at its timeout: stop
    // waiting for connections.
    let give_up = CancellationToken::new();
    let (done_tx, done_rx) = oneshot::channel::<()>();
    let name = match (&addr, stop_at) {
        (Ok(a), StopAt::Intake) => format!("http server {a}"),
        (Ok(a), StopAt::Closers) => format!("admin http server {a}"),
        (Err(_), _) => "http server".to_owned(),
    };
    let listening = Arc::new(Listening::new(router, work, limits));
    let open = Arc::clone(&listening.open);
    {
        let stop_admin = stop_admin.clone();
        let give_up = give_up.clone();
        let open = Arc::clone(&open);
        shutdown.add_closer(name, async move {
            let _give_up = give_up.drop_guard();
            stop_admin.cancel();
            tokio::select! {
                // An error means the server future ended without saying so
                // (dropped, or failed before it started): nothing to wait for.
                _ = done_rx => {}
                // The closers run after the drain: a request still running
                // is abandoned, its connection is not waited for.
                () = open.only_abandoned_left() => {}
            }
        });
    }
    let max_connections = limits.max_connections;
    async move {
        let addr = addr.map_err(ServeError::LocalAddr)?;
        let stop = match stop_at {
            StopAt::Intake => intake,
            StopAt::Closers => stop_admin,
        };
        tracing::info!(target: "alerting_axum::serve", %addr, "serving HTTP");
        let server = accept_loop(listener, listening, max_connections, stop);
        tokio::select! {
            () = server => {}
            () = give_up.cancelled() => {
                tracing::warn!(
                    target: "alerting_axum::serve",
                    %addr,
                    connections = open.connections.load(Ordering::SeqCst),
                    requests_running = open.handling.load(Ordering::SeqCst),
                    "connections still open when the closer ended are left to the process exit",
                );
            }
        }
        let _ = done_tx.send(());
        tracing::info!(target: "alerting_axum::serve", %addr, "HTTP server stopped");
        Ok(())
    }
}

/// What the connections of one listener share.
struct Listening {
    router: Router,
    work: Option<WorkKind>,
    http1: http1::Builder,
    timers: Timers,
    scrapes: Option<ScrapeSlots>,
    open: Arc<Open>,
}

/// The connections of one listener, and the requests in progress on them
/// that hold an in-flight guard: what the closer waits for.
#[derive(Default)]
struct Open {
    /// Connection tasks running.
    connections: AtomicUsize,
    /// Requests whose handler is running, with an in-flight guard (at most
    /// one per connection: HTTP/1 handles one request at a time).
    handling: AtomicUsize,
    /// The closer is waiting: changes wake it.
    watched: AtomicBool,
    changed: Notify,
}

impl Open {
    fn add(&self, counter: &AtomicUsize) {
        counter.fetch_add(1, Ordering::SeqCst);
        self.changed_now();
    }

    fn sub(&self, counter: &AtomicUsize) {
        counter.fetch_sub(1, Ordering::SeqCst);
        self.changed_now();
    }

    fn changed_now(&self) {
        // SeqCst with the closer's store of `watched` and its loads of the
        // counters: either it sees this change, or we see it waiting.
        if self.watched.load(Ordering::SeqCst) {
            self.changed.notify_waiters();
        }
    }

    /// Returns once every connection left has a request in progress with
    /// an in-flight guard (at least one). Called by the closer, after the
    /// drain: those requests were still running when it ended, abandoned.
    async fn only_abandoned_left(&self) {
        self.watched.store(true, Ordering::SeqCst);
        loop {
            let changed = self.changed.notified();
            let mut changed = pin!(changed);
            changed.as_mut().enable();
            let handling = self.handling.load(Ordering::SeqCst);
            if handling > 0 && self.connections.load(Ordering::SeqCst) <= handling {
                return;
            }
            changed.await;
        }
    }
}

/// Counts one connection task (or one request with its guard) while held.
struct Counted {
    open: Arc<Open>,
    request: bool,
}

impl Counted {
    fn connection(open: &Arc<Open>) -> Self {
        open.add(&open.connections);
        Self {
            open: Arc::clone(open),
            request: false,
        }
    }

    fn request(open: &Arc<Open>) -> Self {
        open.add(&open.handling);
        Self {
            open: Arc::clone(open),
            request: true,
        }
    }
}

impl Drop for Counted {
    fn drop(&mut self) {
        let counter = if self.request {
            &self.open.handling
        } else {
            &self.open.connections
        };
        self.open.sub(counter);
    }
}

impl Listening {
    fn new(router: Router, work: Option<WorkKind>, limits: &HttpLimits) -> Self {
        let mut http1 = http1::Builder::new();
        // Our watchdog keeps this time, not hyper's timer: hyper's also
        // runs while a kept-alive connection waits for its next request,
        // which would make the idle timeout the header timeout.
        http1.header_read_timeout(None);
        Self {
            router,
            work,
            http1,
            timers: Timers {
                header: limits.header_read_timeout,
                idle: limits.idle_timeout,
                write: limits.write_timeout,
            },
            scrapes: limits.max_concurrent_scrapes.map(|max| ScrapeSlots {
                slots: Arc::new(Semaphore::new(max.clamp(1, Semaphore::MAX_PERMITS))),
                wait: limits.scrape_wait,
            }),
            open: Arc::default(),
        }
    }
}

/// Accepts until `stop`, then waits for the connections to close.
async fn accept_loop(
    listener: TcpListener,
    listening: Arc<Listening>,
    max_connections: Option<usize>,
    stop: CancellationToken,
) {
    let mut connections = Connections::default();
    let slots =
        max_connections.map(|max| Arc::new(Semaphore::new(max.clamp(1, Semaphore::MAX_PERMITS))));
    loop {
        // At the limit, do not accept: the connection waits in the backlog.
        let permit = match &slots {
            Some(slots) => tokio::select! {
                biased;
                () = stop.cancelled() => break,
                permit = Arc::clone(slots).acquire_owned() => match permit {
                    Ok(permit) => Some(permit),
                    Err(_) => break,
                },
            },
            None => None,
        };
        let accepted = tokio::select! {
            biased;
            () = stop.cancelled() => break,
            accepted = listener.accept() => accepted,
        };
        // Finished connections' entries are dropped as we go, so the set
        // holds the open ones only.
        while connections.0.try_join_next().is_some() {}
        match accepted {
            Ok((stream, _peer)) => {
                connections.0.spawn(connection(
                    stream,
                    Arc::clone(&listening),
                    stop.clone(),
                    permit,
                ));
            }
            Err(error) if is_connection_error(&error) => {}
            Err(error) => {
                // Out of file descriptors, most likely: wait for some to be
                // closed rather than spin.
                tracing::error!(target: "alerting_axum::serve", %error, "cannot accept a connection");
                tokio::select! {
                    () = stop.cancelled() => break,
                    () = tokio::time::sleep(Duration::from_secs(1)) => {}
                }
            }
        }
    }
    drop(listener);
    while connections.0.join_next().await.is_some() {}
}

/// The open connections' tasks. If the accept loop is dropped (its closer
/// gave up on them), they are detached, never aborted: abandoned work runs
/// on to the process exit (docs/decisions.md §12).
#[derive(Default)]
struct Connections(tokio::task::JoinSet<()>);

impl Drop for Connections {
    fn drop(&mut self) {
        self.0.detach_all();
    }
}

fn is_connection_error(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
    )
}

/// Serves one connection until it closes, a timer expires, or `stop`: then
/// it is closed at once unless a request is in progress, which finishes.
async fn connection(
    stream: TcpStream,
    listening: Arc<Listening>,
    stop: CancellationToken,
    _permit: Option<OwnedSemaphorePermit>,
) {
    // Dropped last, after the connection (and a request future in it).
    let _counted = Counted::connection(&listening.open);
    let state = Arc::new(ConnState::new());
    let io = TokioIo::new(ConnIo {
        stream,
        state: Arc::clone(&state),
        blocked: false,
    });
    let service = ConnService {
        listening: Arc::clone(&listening),
        state: Arc::clone(&state),
    };
    let mut conn = pin!(
        listening
            .http1
            .serve_connection(io, service)
            .with_upgrades()
    );
    let mut watchdog = Watchdog {
        state: Arc::clone(&state),
        timers: listening.timers,
        sleep: None,
        armed: None,
    };
    let mut stopping = false;
    loop {
        tokio::select! {
            biased;
            result = conn.as_mut() => {
                if let Err(error) = result {
                    tracing::debug!(target: "alerting_axum::serve", %error, "connection ended");
                }
                break;
            }
            () = stop.cancelled(), if !stopping => {
                stopping = true;
                if !state.busy() {
                    break;
                }
                conn.as_mut().graceful_shutdown();
            }
            expired = poll_fn(|cx| watchdog.poll_expired(cx)) => {
                tracing::debug!(target: "alerting_axum::serve", timeout = expired, "connection closed");
                break;
            }
        }
    }
}

#[derive(Clone, Copy)]
struct Timers {
    header: Option<Duration>,
    idle: Option<Duration>,
    write: Option<Duration>,
}

/// Where a connection is, as its I/O, its requests and their bodies see it.
struct ConnState {
    phase: Mutex<Phase>,
    /// Idle: the next byte read starts a request header.
    awaiting_head: AtomicBool,
}

struct Phase {
    /// Requests whose response is not yet handed to hyper entirely.
    requests: u32,
    /// When the last request ended.
    idle_since: Instant,
    /// When the request header being read began: the acceptance for a new
    /// connection, the first byte after an idle time.
    head_since: Option<Instant>,
    /// Since when writing has been blocked (the client does not read).
    write_blocked_since: Option<Instant>,
}

impl ConnState {
    fn new() -> Self {
        let now = Instant::now();
        Self {
            phase: Mutex::new(Phase {
                requests: 0,
                idle_since: now,
                head_since: Some(now),
                write_blocked_since: None,
            }),
            awaiting_head: AtomicBool::new(false),
        }
    }

    fn phase(&self) -> MutexGuard<'_, Phase> {
        self.phase.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A request is in progress, or a response is still being written.
    fn busy(&self) -> bool {
        let phase = self.phase();
        phase.requests > 0 || phase.write_blocked_since.is_some()
    }

    fn read_some(&self) {
        if self.awaiting_head.swap(false, Ordering::Relaxed) {
            let mut phase = self.phase();
            if phase.requests == 0 && phase.head_since.is_none() {
                phase.head_since = Some(Instant::now());
            }
        }
    }

    fn write_blocked(&self, blocked: bool) {
        self.phase().write_blocked_since = blocked.then(Instant::now);
    }

    fn request_started(&self) {
        self.awaiting_head.store(false, Ordering::Relaxed);
        let mut phase = self.phase();
        phase.requests += 1;
        phase.head_since = None;
    }

    fn request_ended(&self) {
        let mut phase = self.phase();
        phase.requests = phase.requests.saturating_sub(1);
        if phase.requests == 0 {
            phase.idle_since = Instant::now();
            phase.head_since = None;
            self.awaiting_head.store(true, Ordering::Relaxed);
        }
    }

    /// The next deadline of the connection, and its name.
    fn deadline(&self, timers: Timers) -> Option<(Instant, &'static str)> {
        let phase = self.phase();
        let waiting = if phase.requests > 0 {
            None
        } else if let Some(since) = phase.head_since {
            timers.header.map(|t| (since + t, "header read"))
        } else {
            timers.idle.map(|t| (phase.idle_since + t, "idle"))
        };
        let writing = phase
            .write_blocked_since
            .zip(timers.write)
            .map(|(since, t)| (since + t, "write"));
        match (waiting, writing) {
            (Some(a), Some(b)) => Some(if b.0 < a.0 { b } else { a }),
            (a, b) => a.or(b),
        }
    }
}

/// Keeps a connection's timers. Polled in the connection's task after the
/// connection itself, so it always sees the state the last poll left.
struct Watchdog {
    state: Arc<ConnState>,
    timers: Timers,
    sleep: Option<Pin<Box<Sleep>>>,
    armed: Option<Instant>,
}

impl Watchdog {
    fn poll_expired(&mut self, cx: &mut Context<'_>) -> Poll<&'static str> {
        let Some((deadline, what)) = self.state.deadline(self.timers) else {
            return Poll::Pending;
        };
        let sleep = self
            .sleep
            .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(deadline)));
        if self.armed != Some(deadline) {
            sleep.as_mut().reset(deadline);
            self.armed = Some(deadline);
        }
        sleep.as_mut().poll(cx).map(|()| what)
    }
}

/// The socket, telling the connection's state when bytes come and when
/// writing blocks.
struct ConnIo {
    stream: TcpStream,
    state: Arc<ConnState>,
    /// The last write was blocked (mirrors `write_blocked_since`).
    blocked: bool,
}

impl ConnIo {
    fn wrote<T>(&mut self, result: &Poll<io::Result<T>>) {
        let blocked = result.is_pending();
        if blocked != self.blocked {
            self.blocked = blocked;
            self.state.write_blocked(blocked);
        }
    }
}

impl AsyncRead for ConnIo {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        let result = Pin::new(&mut this.stream).poll_read(cx, buf);
        if buf.filled().len() > before {
            this.state.read_some();
        }
        result
    }
}

impl AsyncWrite for ConnIo {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let result = Pin::new(&mut this.stream).poll_write(cx, buf);
        this.wrote(&result);
        result
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let result = Pin::new(&mut this.stream).poll_write_vectored(cx, bufs);
        this.wrote(&result);
        result
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_shutdown(cx)
    }
}

/// The per-listener cap on `/metrics` responses in progress, handed to the
/// metrics endpoint in each request's extensions.
#[derive(Clone, Debug)]
pub(crate) struct ScrapeSlots {
    slots: Arc<Semaphore>,
    wait: Duration,
}

impl ScrapeSlots {
    /// A slot, held until the response body is dropped; `None` when none
    /// frees up within the wait.
    pub(crate) async fn acquire(&self) -> Option<OwnedSemaphorePermit> {
        if let Ok(permit) = Arc::clone(&self.slots).try_acquire_owned() {
            return Some(permit);
        }
        tokio::time::timeout(self.wait, Arc::clone(&self.slots).acquire_owned())
            .await
            .ok()?
            .ok()
    }
}

/// Marks a request in progress on its connection until dropped, with the
/// response body (or the request future, if the connection goes first).
struct RequestMark(Arc<ConnState>);

impl RequestMark {
    fn start(state: &Arc<ConnState>) -> Self {
        state.request_started();
        Self(Arc::clone(state))
    }
}

impl Drop for RequestMark {
    fn drop(&mut self) {
        self.0.request_ended();
    }
}

/// Hands each request of a connection to the router.
struct ConnService {
    listening: Arc<Listening>,
    state: Arc<ConnState>,
}

impl hyper::service::Service<Request<Incoming>> for ConnService {
    type Response = Response<ConnBody>;
    type Error = Infallible;
    type Future = ConnFuture;

    fn call(&self, request: Request<Incoming>) -> Self::Future {
        let mark = RequestMark::start(&self.state);
        let guard = self
            .listening
            .work
            .as_ref()
            .map(|work| (work.start(), Counted::request(&self.listening.open)));
        let mut request = request.map(Body::new);
        if let Some(scrapes) = &self.listening.scrapes {
            request.extensions_mut().insert(scrapes.clone());
        }
        ConnFuture {
            inner: self.listening.router.clone().oneshot(request),
            guard,
            mark: Some(mark),
        }
    }
}

pin_project! {
    /// The router's answer; hands the in-flight guard to the response body.
    struct ConnFuture {
        #[pin]
        inner: Oneshot<Router, Request>,
        guard: Option<(InFlight, Counted)>,
        mark: Option<RequestMark>,
    }
}

impl Future for ConnFuture {
    type Output = Result<Response<ConnBody>, Infallible>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let response = match ready!(this.inner.poll(cx)) {
            Ok(response) => response,
            Err(never) => match never {},
        };
        let guard = this.guard.take();
        let mark = this.mark.take();
        Poll::Ready(Ok(response.map(|inner| ConnBody {
            inner,
            _guard: guard,
            _mark: mark,
        })))
    }
}

pin_project! {
    /// A response body that keeps its request marked in progress, and in
    /// flight for the drain, until hyper has taken all of it: a streamed
    /// body is drained at shutdown as a slow handler is.
    struct ConnBody {
        #[pin]
        inner: Body,
        _guard: Option<(InFlight, Counted)>,
        _mark: Option<RequestMark>,
    }
}

impl http_body::Body for ConnBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        self.project().inner.poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
