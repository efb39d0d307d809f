//! The HTTP half of the service bootstrap: [`Server`].
//!
//! [`alerting_core::Observability`] sets up logging, the registry, health
//! and shutdown; [`Server`] takes it and serves, from the `[metrics]`
//! section of the same configuration:
//!
//! - the endpoints ([`Endpoints`]: `/metrics` at `metrics.path`, `/health`,
//!   `/ready`, `/healthz`) on `metrics.listen_addr`, protected by
//!   `metrics.bearer_token` when set, kept up until the closers phase so
//!   that `/ready` answers 503 and `/metrics` shows the drain;
//! - optionally the service's own [`Router`] ([`Server::api`]) on its own
//!   address, wrapped in the [`HttpMetricsLayer`], each request tracked as
//!   in-flight work ([`serve()`](crate::serve())). If the API's address is
//!   the metrics address, the endpoints are mounted on the API's router and
//!   one listener serves both.
//!
//! Binding a non-loopback metrics address without a token logs a warning,
//! unless `metrics.public = true` says it is intended.
//!
//! Both listeners are served under the default [`HttpLimits`] (timeouts, a
//! connection limit, a cap on `/metrics` responses in progress: see [the
//! `serve` module](mod@crate::serve#limits)); [`Server::limits`] changes
//! them. The endpoint timeout applies to the endpoints, not to the API's
//! routes.
//!
//! ```
//! use alerting_axum::Server;
//! use alerting_core::{MainError, Observability};
//! use alerting_core::config::MonitoringConfig;
//! use axum::{Router, routing::get};
//!
//! #[tokio::main]
//! async fn main() -> Result<(), MainError> {
//!     let config = MonitoringConfig::loader()
//!         .toml("[metrics]\nlisten_addr = \"127.0.0.1:0\"\n")
//!         .load()?;
//!     let obs = Observability::builder("orders").config(&config).start()?;
//!
//!     let api = Router::new()
//!         .route("/orders", get(|| async { "[]" }))
//!         .route("/orders/{id}", get(|| async { "{}" }));
//!     let server = Server::new(&obs).api("127.0.0.1:0".parse()?, api).bind().await?;
//!     println!("metrics on http://{}/metrics", server.metrics_addr());
//!
//!     # obs.shutdown().trigger("doc example");
//!     let report = server.run().await?; // until SIGTERM or Ctrl-C, then drains
//!     println!("{report}");
//!     Ok(())
//! }
//! ```

use std::io;
use std::net::SocketAddr;

use alerting_core::Observability;
use alerting_core::shutdown::ShutdownReport;
use axum::Router;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use crate::endpoints::{Endpoints, EndpointsError};
use crate::http_metrics::{HttpMetricsBuilder, HttpMetricsError, HttpMetricsLayer};
use crate::serve::{HttpLimits, ServeError, serve_admin_with, serve_with};

/// Why a [`Server`] could not start or stopped with an error.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServerError {
    /// An address could not be bound.
    #[error("cannot listen on {addr} ({what})")]
    Bind {
        /// What was to listen there: `metrics` or `api`.
        what: &'static str,
        /// The address.
        addr: SocketAddr,
        /// Why.
        #[source]
        source: io::Error,
    },
    /// The endpoints could not be built (a bad path).
    #[error("cannot build the metrics and health endpoints")]
    Endpoints(#[from] EndpointsError),
    /// The HTTP metrics could not be registered.
    #[error("cannot register the HTTP metrics")]
    HttpMetrics(#[from] HttpMetricsError),
    /// A server failed while running.
    #[error(transparent)]
    Serve(#[from] ServeError),
    /// The API's router already has one of the endpoints' paths
    /// (`/metrics`, `/health`, `/ready`, `/healthz` or their configured
    /// paths), so they cannot share `addr`: serve the endpoints on another
    /// address, or change their paths with [`Server::endpoints`].
    #[error(
        "the API's router already has a path of the metrics and health endpoints, which were to share {addr}"
    )]
    RouteConflict {
        /// The shared address.
        addr: SocketAddr,
    },
    /// A server task panicked or was cancelled.
    #[error("an HTTP server task ended abnormally")]
    Task(#[source] tokio::task::JoinError),
}

/// Serves a service's endpoints (and optionally its API) under its
/// shutdown coordinator: see the [module documentation](self).
#[derive(Debug)]
#[must_use = "nothing is served until `bind` or `run` is called"]
pub struct Server {
    obs: Observability,
    api: Option<(SocketAddr, Router)>,
    http_metrics: HttpMetricsBuilder,
    endpoints: Endpoints,
    limits: HttpLimits,
}

impl Server {
    /// The endpoints of `obs`, from its `[metrics]` configuration.
    pub fn new(obs: &Observability) -> Self {
        let metrics = &obs.config().metrics;
        let mut endpoints = Endpoints::new()
            .metrics(obs.registry().clone())
            .metrics_path(metrics.path.as_str())
            .health(obs.health().clone());
        if let Some(token) = &metrics.bearer_token {
            endpoints = endpoints.bearer_token(token.clone());
        }
        Self {
            obs: obs.clone(),
            api: None,
            http_metrics: HttpMetricsLayer::builder(),
            endpoints,
            limits: HttpLimits::default(),
        }
    }

    /// Also serves `router`, the service's API, on `addr`, with the HTTP
    /// metrics layer and each request tracked as in-flight work. Port 0
    /// picks a free port ([`BoundServer::api_addr`] tells which).
    pub fn api(mut self, addr: SocketAddr, router: Router) -> Self {
        self.api = Some((addr, router));
        self
    }

    /// Options of the HTTP metrics layer put on the API (buckets, body
    /// sizes, route limit). Default: [`HttpMetricsLayer::builder`].
    pub fn http_metrics(mut self, options: HttpMetricsBuilder) -> Self {
        self.http_metrics = options;
        self
    }

    /// Changes the endpoints (other paths, gzip) before they are served.
    /// They already carry the registry, the health registry, the metrics
    /// path and the token from the configuration.
    pub fn endpoints(mut self, f: impl FnOnce(Endpoints) -> Endpoints) -> Self {
        self.endpoints = f(self.endpoints);
        self
    }

    /// The limits of both listeners (default [`HttpLimits::default`]).
    pub fn limits(mut self, limits: HttpLimits) -> Self {
        self.limits = limits;
        self
    }

    /// Binds the listeners and starts serving; returns once they listen.
    ///
    /// # Errors
    ///
    /// [`ServerError::Bind`] naming the address, [`ServerError::Endpoints`]
    /// or [`ServerError::HttpMetrics`] if they cannot be built.
    pub async fn bind(self) -> Result<BoundServer, ServerError> {
        let metrics = &self.obs.config().metrics;
        let shutdown = self.obs.shutdown();
        let metrics_addr = metrics.listen_addr;
        if !metrics_addr.ip().is_loopback() && metrics.bearer_token.is_none() && !metrics.public {
            tracing::warn!(
                target: "alerting_axum::server",
                addr = %metrics_addr,
                "metrics and health endpoints are served on a non-loopback address without a \
                 bearer token: set metrics.bearer_token, or metrics.public = true if intended"
            );
        }
        let bind = |what: &'static str, addr: SocketAddr| async move {
            let listener = TcpListener::bind(addr)
                .await
                .map_err(|source| ServerError::Bind { what, addr, source })?;
            let local =
                listener
                    .local_addr()
                    .map_err(|source| ServerError::Bind { what, addr, source })?;
            Ok::<_, ServerError>((listener, local))
        };

        let mut tasks = Vec::new();
        let (metrics_local, api_local) = match self.api {
            Some((api_addr, router)) if api_addr == metrics_addr && api_addr.port() != 0 => {
                // One port: the endpoints join the API's router, with their
                // timeout (`Endpoints::mount` without it).
                let endpoints = self.limits.time_endpoints(self.endpoints.router()?);
                // axum's `merge` panics when both routers have a path (the
                // API's own `/health`): a typed error instead of a crash.
                let merged = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    router.merge(endpoints)
                }))
                .map_err(|_| ServerError::RouteConflict { addr: api_addr })?;
                let router = merged.layer(self.http_metrics.build(self.obs.registry())?);
                let (listener, local) = bind("api and metrics", api_addr).await?;
                tasks.push(tokio::spawn(serve_with(
                    listener,
                    router,
                    shutdown,
                    self.limits,
                )));
                (local, Some(local))
            }
            Some((api_addr, router)) => {
                let router = router.layer(self.http_metrics.build(self.obs.registry())?);
                let admin = self.endpoints.router()?;
                let (admin_listener, admin_local) = bind("metrics", metrics_addr).await?;
                let (api_listener, api_local) = bind("api", api_addr).await?;
                tasks.push(tokio::spawn(serve_admin_with(
                    admin_listener,
                    admin,
                    shutdown,
                    self.limits.clone(),
                )));
                tasks.push(tokio::spawn(serve_with(
                    api_listener,
                    router,
                    shutdown,
                    self.limits,
                )));
                (admin_local, Some(api_local))
            }
            None => {
                let admin = self.endpoints.router()?;
                let (listener, local) = bind("metrics", metrics_addr).await?;
                tasks.push(tokio::spawn(serve_admin_with(
                    listener,
                    admin,
                    shutdown,
                    self.limits,
                )));
                (local, None)
            }
        };
        tracing::info!(
            target: "alerting_axum::server",
            service = %self.obs.name(),
            metrics = %metrics_local,
            api = ?api_local,
            "serving"
        );
        Ok(BoundServer {
            obs: self.obs,
            metrics_addr: metrics_local,
            api_addr: api_local,
            tasks,
        })
    }

    /// [`bind`](Self::bind), then [`BoundServer::run`].
    ///
    /// # Errors
    ///
    /// As both.
    pub async fn run(self) -> Result<ShutdownReport, ServerError> {
        self.bind().await?.run().await
    }
}

/// A [`Server`] whose listeners are bound and serving.
#[derive(Debug)]
pub struct BoundServer {
    obs: Observability,
    metrics_addr: SocketAddr,
    api_addr: Option<SocketAddr>,
    tasks: Vec<JoinHandle<Result<(), ServeError>>>,
}

impl BoundServer {
    /// Where `/metrics`, `/health` and `/ready` are served.
    pub fn metrics_addr(&self) -> SocketAddr {
        self.metrics_addr
    }

    /// Where the API is served, if there is one.
    pub fn api_addr(&self) -> Option<SocketAddr> {
        self.api_addr
    }

    /// Waits for shutdown (a signal, or
    /// [`Shutdown::trigger`](alerting_core::shutdown::Shutdown::trigger)),
    /// lets it run its phases, waits for the servers to stop, and returns
    /// the shutdown report.
    ///
    /// # Errors
    ///
    /// The first server error ([`ServerError::Serve`]) or failed task; the
    /// shutdown has run to its end all the same.
    pub async fn run(self) -> Result<ShutdownReport, ServerError> {
        let report = self.obs.run().await;
        let mut first = None;
        for task in self.tasks {
            let result = match task.await {
                Ok(r) => r.map_err(ServerError::Serve),
                Err(e) => Err(ServerError::Task(e)),
            };
            if let Err(e) = result {
                tracing::error!(target: "alerting_axum::server", error = %e, "HTTP server failed");
                first.get_or_insert(e);
            }
        }
        match first {
            Some(e) => Err(e),
            None => Ok(report),
        }
    }
}
