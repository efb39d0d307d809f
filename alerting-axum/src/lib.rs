//! `alerting-axum`: make an [`axum`] service observable and safe to stop.
//!
//! Three pieces, each usable on its own:
//!
//! - [`Endpoints`]: `GET /metrics` (Prometheus text or OpenMetrics by
//!   `Accept`; gzip by `Accept-Encoding` with the `gzip` feature),
//!   `GET /health` (liveness),
//!   `GET /ready` (readiness, 200 or 503), `GET /healthz` (the detailed
//!   report) and a per-check path under each, with the Kubernetes `?verbose`
//!   and `?exclude=<check>` conventions, optional bearer-token protection of
//!   the metrics and the detailed report. Mount them on the application's
//!   router in one call, or serve them on a separate admin listener.
//! - [`HttpMetricsLayer`]: a tower layer recording
//!   `http_requests_total{method, route, status}`,
//!   `http_request_duration_seconds{method, route}`,
//!   `http_requests_in_flight` and, optionally, body sizes. `route` is the
//!   matched route template, never the raw path, so a 404 scan cannot create
//!   series.
//! - [`serve()`] and [`serve_admin`]: serve a router under the
//!   [`Shutdown`](alerting_core::shutdown::Shutdown) coordinator: readiness
//!   goes down, the listener stops accepting, requests in flight finish
//!   within the deadline (counted in the shutdown report as
//!   `http_request`), then the closers run. Hardened by default
//!   ([`HttpLimits`]): header read, idle and write timeouts, a connection
//!   limit, a timeout on the endpoints and a cap on `/metrics` responses in
//!   progress; [`serve_with`] and [`serve_admin_with`] take other limits.
//!
//! # Quick start
//!
//! ```
//! use alerting_axum::{Endpoints, HttpMetricsLayer};
//! use alerting_core::health::HealthRegistry;
//! use alerting_core::metrics::Registry;
//! use alerting_core::shutdown::Shutdown;
//! use axum::{Router, routing::get};
//! use tokio::net::TcpListener;
//!
//! # #[tokio::main] async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let registry = Registry::new();
//! let shutdown = Shutdown::new();
//! let health = HealthRegistry::builder().shutdown(&shutdown).build()?;
//!
//! // The API, with its HTTP metrics (add the layer after the routes).
//! let api = Router::new()
//!     .route("/wallets/{id}", get(|| async { "wallet" }))
//!     .layer(HttpMetricsLayer::new(&registry)?);
//!
//! // The admin endpoints on their own port, kept off the public one.
//! let admin = Endpoints::new().metrics(registry).health(health.clone()).router()?;
//!
//! health.start()?;
//! // Port 0 picks a free port; a service binds its configured address.
//! let api_listener = TcpListener::bind("127.0.0.1:0").await?;
//! let admin_listener = TcpListener::bind("127.0.0.1:0").await?;
//! let api_server = tokio::spawn(alerting_axum::serve(api_listener, api, &shutdown));
//! let admin_server = tokio::spawn(alerting_axum::serve_admin(admin_listener, admin, &shutdown));
//!
//! // On SIGTERM or Ctrl-C (here, at once): /ready answers 503, the API
//! // stops accepting, requests in flight finish, the closers run.
//! # shutdown.trigger("doc example");
//! let report = shutdown.run().await;
//! println!("{report}");
//! api_server.await??;
//! admin_server.await??;
//! # Ok(()) }
//! ```
//!
//! # Modules
//!
//! - [`endpoints`]: the metrics and health endpoints.
//! - [`http_metrics`]: the HTTP metrics layer.
//! - [`mod@serve`]: serving under the shutdown coordinator.
//!
//! # Features
//!
//! - `bootstrap` (default): [`Server`], the HTTP half of
//!   `alerting_core::Observability`.
//! - `gzip`: `/metrics` answers gzip-compressed when the scraper accepts it.
#![deny(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod endpoints;
pub mod http_metrics;
pub mod outbound;
pub mod serve;
#[cfg(feature = "bootstrap")]
pub mod server;

pub use endpoints::{Endpoints, EndpointsError};
pub use http_metrics::{HttpMetricsError, HttpMetricsLayer};
pub use serve::{HttpLimits, ServeError, serve, serve_admin, serve_admin_with, serve_with};
#[cfg(feature = "bootstrap")]
pub use server::{BoundServer, Server, ServerError};

use alerting_core::metrics::Registry;
use axum::Router;

/// A router serving only `GET /metrics` (and `HEAD`) from `registry`, with
/// content negotiation and gzip; no health endpoints, no token. A shortcut
/// for `Endpoints::new().metrics(registry).router()`, which cannot fail
/// with the default paths.
///
/// ```
/// use alerting_core::metrics::{Counter, Registry};
///
/// let registry = Registry::new();
/// let _hits: Counter = registry.register("hits_total", "Hits")?;
/// let app: axum::Router = alerting_axum::metrics_router(registry);
/// # let _ = app;
/// # Ok::<(), alerting_core::metrics::MetricsError>(())
/// ```
pub fn metrics_router<S>(registry: Registry) -> Router<S>
where
    S: Clone + Send + Sync + 'static,
{
    endpoints::metrics_only(registry)
}
