//! Serving a router under the [`Shutdown`] coordinator.
//!
//! [`serve`] is for the application's own listener, [`serve_admin`] for
//! the admin endpoints. What each does when shutdown begins:
//!
//! | phase of [`Shutdown`] | [`serve`] | [`serve_admin`] |
//! |---|---|---|
//! | 1. readiness down | keeps serving (a load balancer is taking the instance out during the readiness delay) | keeps serving: `/ready` answers 503 |
//! | 2. intake stopped | stops accepting connections; idle keep-alive connections are closed, busy ones after their request | keeps serving |
//! | 3. drain | requests in flight finish; each is an `http_request` unit of work, so the drain waits for them up to the deadline and the report counts them | keeps serving: `/metrics` shows the drain |
//! | 4. closers | its closer waits for the last connections to close, up to the closer timeout, then the future returns | its closer stops it the same way |
//!
//! The closers are registered when `serve`/`serve_admin` is called, so
//! they run before the closers registered earlier (a database pool
//! registered at start-up is closed after the HTTP server stops using it).
//!
//! Requests still running at the deadline are reported by name
//! (`http_request`) and left to run, as everything else in [`Shutdown`]:
//! nothing is aborted, the process exit ends them. If the closer timeout
//! passes with connections still open, the future returns anyway and the
//! connection tasks are left to the process exit too.
//!
//! [`Shutdown`]: alerting_core::shutdown::Shutdown

use std::convert::Infallible;
use std::fmt;
use std::future::{Future, IntoFuture};
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};

use alerting_core::shutdown::{InFlight, Shutdown, WorkKind};
use axum::Router;
use axum::ServiceExt as _;
use axum::body::Body;
use axum::extract::Request;
use axum::response::Response;
use pin_project_lite::pin_project;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio_util::sync::CancellationToken;
use tower_service::Service;

/// The name of the in-flight work kind of requests served by [`serve`].
pub const HTTP_REQUEST_WORK: &str = "http_request";

/// Why a server could not run.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServeError {
    /// The listener's local address could not be read (it is closed).
    #[error("cannot read the listener's address")]
    LocalAddr(#[source] io::Error),
    /// The server stopped with an I/O error.
    #[error("HTTP server on {addr} failed")]
    Io {
        /// The address it listened on.
        addr: SocketAddr,
        /// The error.
        #[source]
        source: io::Error,
    },
}

/// Serves `router` on `listener` until shutdown: see the [module
/// documentation](self) for each phase.
///
/// Each request holds an in-flight guard of kind [`HTTP_REQUEST_WORK`]
/// until its response head is ready, so the drain waits for it and the
/// report counts it. The closer, named `http server <addr>`, is registered
/// now; the returned future does not borrow `shutdown` and can be spawned.
///
/// Readiness going down is the health registry's business: build it with
/// [`HealthRegistryBuilder::shutdown`](alerting_core::health::HealthRegistryBuilder::shutdown).
///
/// # Errors
///
/// [`ServeError::LocalAddr`] if the listener is unusable,
/// [`ServeError::Io`] if the server fails.
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
    let work = shutdown.work_kind(HTTP_REQUEST_WORK);
    let tracked = Tracked {
        inner: router,
        work,
    };
    run(listener, tracked, shutdown, StopAt::Intake)
}

/// Serves `router` (the admin endpoints) on `listener` until the closers
/// phase of shutdown, so that `/ready` answers 503 and `/metrics` keeps
/// answering while the application drains. Requests are not tracked as
/// in-flight work: a scrape must not hold the drain up. The closer is named
/// `admin http server <addr>`.
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
    run(listener, router, shutdown, StopAt::Closers)
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum StopAt {
    /// When the intake token is cancelled.
    Intake,
    /// When our closer runs.
    Closers,
}

fn run<S>(
    listener: TcpListener,
    service: S,
    shutdown: &Shutdown,
    stop_at: StopAt,
) -> impl Future<Output = Result<(), ServeError>> + Send + 'static + use<S>
where
    S: Service<Request, Response = Response, Error = Infallible> + Clone + Send + Sync + 'static,
    S::Future: Send,
{
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
    {
        let stop_admin = stop_admin.clone();
        let give_up = give_up.clone();
        shutdown.add_closer(name, async move {
            let _give_up = give_up.drop_guard();
            stop_admin.cancel();
            // An error means the server future ended without saying so
            // (dropped, or failed before it started): nothing to wait for.
            let _ = done_rx.await;
        });
    }
    async move {
        let addr = addr.map_err(ServeError::LocalAddr)?;
        let stop = match stop_at {
            StopAt::Intake => intake,
            StopAt::Closers => stop_admin,
        };
        tracing::info!(target: "alerting_axum::serve", %addr, "serving HTTP");
        let server = axum::serve(listener, service.into_make_service())
            .with_graceful_shutdown(stop.cancelled_owned())
            .into_future();
        let result = tokio::select! {
            result = server => result,
            () = give_up.cancelled() => {
                tracing::warn!(
                    target: "alerting_axum::serve",
                    %addr,
                    "connections still open at the closer timeout are left to the process exit",
                );
                Ok(())
            }
        };
        let _ = done_tx.send(());
        tracing::info!(target: "alerting_axum::serve", %addr, "HTTP server stopped");
        result.map_err(|source| ServeError::Io { addr, source })
    }
}

/// Holds an in-flight guard per request until its response head is ready.
#[derive(Clone)]
struct Tracked {
    inner: Router,
    work: WorkKind,
}

impl fmt::Debug for Tracked {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Tracked")
            .field("work", &self.work)
            .finish_non_exhaustive()
    }
}

impl Service<Request> for Tracked {
    type Response = Response;
    type Error = Infallible;
    type Future = TrackedFuture<<Router as Service<Request>>::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        <Router as Service<Request>>::poll_ready(&mut self.inner, cx)
    }

    fn call(&mut self, request: Request<Body>) -> Self::Future {
        TrackedFuture {
            guard: self.work.start(),
            inner: self.inner.call(request),
        }
    }
}

pin_project! {
    struct TrackedFuture<F> {
        #[pin]
        inner: F,
        guard: InFlight,
    }
}

impl<F: Future> Future for TrackedFuture<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.project().inner.poll(cx)
    }
}
