//! The HTTP metrics layer.
//!
//! [`HttpMetricsLayer`] records, for every request that goes through it:
//!
//! | metric | type | labels |
//! |---|---|---|
//! | `http_requests_total` | counter | `method`, `route`, `status` |
//! | `http_request_duration_seconds` | histogram | `method`, `route` |
//! | `http_requests_in_flight` | gauge | |
//! | `http_request_size_bytes` (with [`body_sizes`](HttpMetricsBuilder::body_sizes)) | histogram | `method`, `route` |
//! | `http_response_size_bytes` (with [`body_sizes`](HttpMetricsBuilder::body_sizes)) | histogram | `method`, `route` |
//!
//! (with the registry's namespace in front, if it has one).
//!
//! # Labels, and why they are bounded
//!
//! - `route` is the **route template** that matched (`/wallets/{id}`,
//!   axum's [`MatchedPath`](axum::extract::MatchedPath)), never the raw path,
//!   so `/wallets/1` and `/wallets/2` are one series. Requests that match no
//!   route (404s from the fallback) share the value `unmatched`, so a scan
//!   of random paths cannot create series. The templates are the router's
//!   own, so they are few; past [`max_routes`](HttpMetricsBuilder::max_routes)
//!   (default 256) distinct templates, more are folded into `__overflow__`.
//! - `method` is `GET`, `HEAD`, `POST`, `PUT`, `DELETE`, `PATCH`,
//!   `OPTIONS`, `CONNECT`, `TRACE`, or `other` for anything else.
//! - `status` is the class of the response status: `1xx` … `5xx` (and
//!   `other` for codes from 600 up). A class keeps the series count fixed
//!   and is what alert rules select on (`status=~"5.."` matches `5xx`).
//!
//! # Cost
//!
//! Each instance of the layer's service (axum makes one per route when the
//! layer is added with [`Router::layer`](axum::Router::layer)) remembers the
//! series of its route after the first request, so a request costs a string
//! comparison with the cached template, two clock reads and a few atomic
//! operations: no hashing, no lock, no allocation of ours. The counters and
//! histograms are striped
//! ([`StripedCounter`](alerting_core::metrics::StripedCounter),
//! [`StripedHistogram`](alerting_core::metrics::StripedHistogram)), so
//! workers on different cores do not fight over one cache line, and
//! durations come from [`alerting_core::clock`] (the TSC where it is
//! safe). A gRPC request costs a look-up of its route by name, once its
//! answer says the method exists. Adding any layer to an axum router's routes costs an extra boxed
//! service and future per request (axum's, about 0.1–0.2 µs here);
//! `docs/benchmarks.md` has the figures. With
//! [`body_sizes`](HttpMetricsBuilder::body_sizes), a request body whose
//! length is not known in advance (chunked) is wrapped to count its bytes,
//! which costs one allocation. The response body is always wrapped in a
//! [`MetricsBody`], which axum boxes (one allocation per request).
//!
//! # What is not counted
//!
//! - Scrapes of this crate's own metrics endpoint
//!   ([`Endpoints`](crate::Endpoints)), unless
//!   [`count_scrapes`](HttpMetricsBuilder::count_scrapes) says otherwise:
//!   Prometheus' scrapes are not traffic.
//! - Routes given to [`ignore_route`](HttpMetricsBuilder::ignore_route)
//!   (say, a `/ready` probe hit every few seconds).
//! - A request whose response future is dropped before it finishes (the
//!   client went away): it leaves `http_requests_in_flight`, and no status
//!   is invented for it.
//!
//! # When a request ends
//!
//! A request's duration, and its time in `http_requests_in_flight`, end
//! when its response body has been sent (a streamed body is timed to its
//! end), or when the body is dropped before its end (the client went
//! away: the request keeps the class of its status). A body that fails
//! half-way counts as a `5xx`. With
//! [`duration_to_body_end(false)`](HttpMetricsBuilder::duration_to_body_end)
//! they end when the response head is ready, which is what the handler
//! controls.
//!
//! # Any tower service, and gRPC
//!
//! The layer wraps any `tower::Service<http::Request<_>>` that answers
//! `http::Response<_>`: an axum router's routes, a plain hyper service, a
//! tonic server (`tonic::transport::Server::builder().layer(…)`). The
//! response body is wrapped in a [`MetricsBody`]. The route is:
//!
//! - axum's [`MatchedPath`](axum::extract::MatchedPath) when there is one;
//! - for a gRPC request (`POST` with an `application/grpc` content type),
//!   the method's path, `/package.Service/Method`. A method the server
//!   does not have (answered `UNIMPLEMENTED` with no message, as tonic
//!   answers unknown services and methods) is `unmatched`, so a scan of
//!   method names makes no series;
//! - otherwise the template [`route_fn`](HttpMetricsBuilder::route_fn)
//!   gives, or `unmatched`.
//!
//! A gRPC error is answered with HTTP 200; the `status` label of a gRPC
//! request is the class of its `grpc-status` (read from the head of a
//! trailers-only answer, or from the trailers), as gRPC gateways map it
//! to HTTP: `OK` is `2xx`; `CANCELLED`, `INVALID_ARGUMENT`, `NOT_FOUND`,
//! `ALREADY_EXISTS`, `PERMISSION_DENIED`, `RESOURCE_EXHAUSTED`,
//! `FAILED_PRECONDITION`, `ABORTED`, `OUT_OF_RANGE` and `UNAUTHENTICATED`
//! are `4xx`; `UNKNOWN`, `DEADLINE_EXCEEDED`, `UNIMPLEMENTED`, `INTERNAL`,
//! `UNAVAILABLE`, `DATA_LOSS`, an unreadable code and a stream that ended
//! without one are `5xx`; an unknown method is `4xx` (as a 404 is); a
//! stream the client cancelled is `4xx`. So the same rules select HTTP and
//! gRPC server errors (`status="5xx"`), and the families and their labels
//! stay those of [`alerting_core::metrics::http`].
//!
//! The request body's size ([`body_sizes`](HttpMetricsBuilder::body_sizes))
//! is taken from its length when known in advance; a streamed request body
//! is counted as it is read only when it is axum's `Body` (another type
//! cannot be wrapped without changing the inner service's request type).
//!
//! # Where to add it
//!
//! In axum, with [`Router::layer`](axum::Router::layer), after the routes
//! (axum applies a layer to the routes that exist when it is added).
//! Wrapping a whole `Router` from outside (as a tower service) hides the
//! matched route from the layer: every request is then `unmatched`, unless
//! it is gRPC or [`route_fn`](HttpMetricsBuilder::route_fn) names it.
//!
//! ```
//! use alerting_axum::HttpMetricsLayer;
//! use alerting_core::metrics::{Format, Registry};
//! use axum::{Router, body::Body, http::Request, routing::get};
//! use tower::ServiceExt;
//!
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let registry = Registry::new();
//! let app = Router::new()
//!     .route("/wallets/{id}", get(|| async { "wallet" }))
//!     .layer(HttpMetricsLayer::new(&registry)?);
//!
//! app.oneshot(Request::get("/wallets/42").body(Body::empty())?).await?;
//!
//! let text = registry.encode_to_string(Format::Prometheus)?;
//! assert!(text.contains(r#"http_requests_total{method="GET",route="/wallets/{id}",status="2xx"} 1"#));
//! # Ok(()) }
//! ```

mod body;
mod labels;
mod routes;
mod service;

use std::sync::Arc;

use alerting_core::metrics::http::{self, HttpMetricRefs};
use alerting_core::metrics::{Buckets, MetricsError, Registry};
use tower_layer::Layer;

pub use service::{HttpMetricsService, MetricsBody, ResponseFuture};

use routes::Routes;

/// The `route` label of requests that matched no route.
pub const UNMATCHED_ROUTE: &str = "unmatched";

/// Default of [`HttpMetricsBuilder::max_routes`].
pub const DEFAULT_MAX_ROUTES: usize = 256;

/// A function that names the route template of a request axum did not
/// route (see [`HttpMetricsBuilder::route_fn`]).
pub type RouteFn = fn(&axum::http::Uri) -> Option<&'static str>;

/// Why the HTTP metrics could not be set up.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HttpMetricsError {
    /// A family could not be registered: most often its name is taken in
    /// that registry (by another layer: build one and clone it).
    #[error("cannot register the HTTP metrics")]
    Metrics(#[from] MetricsError),
    /// [`HttpMetricsBuilder::max_routes`] was zero.
    #[error("max_routes must be at least 1")]
    ZeroMaxRoutes,
}

/// The HTTP metrics layer; see the [module documentation](self).
///
/// Build it once per registry and clone it (clones share the series):
/// building a second one in the same registry is an error, because the
/// names are taken.
#[derive(Clone, Debug)]
pub struct HttpMetricsLayer {
    routes: Arc<Routes>,
}

impl HttpMetricsLayer {
    /// The layer with the defaults, its families registered in `registry`.
    ///
    /// # Errors
    ///
    /// [`HttpMetricsError::Metrics`] if a family cannot be registered.
    pub fn new(registry: &Registry) -> Result<Self, HttpMetricsError> {
        Self::builder().build(registry)
    }

    /// Options: body sizes, scrapes, ignored routes, buckets, route limit.
    pub fn builder() -> HttpMetricsBuilder {
        HttpMetricsBuilder::default()
    }
}

impl<S> Layer<S> for HttpMetricsLayer {
    type Service = HttpMetricsService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        HttpMetricsService::new(inner, Arc::clone(&self.routes))
    }
}

/// Options of the [`HttpMetricsLayer`]; [`HttpMetricsLayer::builder`].
#[derive(Clone, Debug)]
#[must_use]
pub struct HttpMetricsBuilder {
    body_sizes: bool,
    count_scrapes: bool,
    ignored: Vec<String>,
    max_routes: usize,
    buckets: Option<Buckets>,
    to_body_end: bool,
    route_fn: Option<RouteFn>,
}

impl Default for HttpMetricsBuilder {
    fn default() -> Self {
        Self {
            body_sizes: false,
            count_scrapes: false,
            ignored: Vec::new(),
            max_routes: DEFAULT_MAX_ROUTES,
            buckets: None,
            to_body_end: true,
            route_fn: None,
        }
    }
}

impl HttpMetricsBuilder {
    /// Also record `http_request_size_bytes` and `http_response_size_bytes`
    /// (default false).
    pub fn body_sizes(mut self, enabled: bool) -> Self {
        self.body_sizes = enabled;
        self
    }

    /// Count requests to this crate's own metrics endpoint too (default
    /// false).
    pub fn count_scrapes(mut self, enabled: bool) -> Self {
        self.count_scrapes = enabled;
        self
    }

    /// Do not record requests whose route template is `template` (exactly
    /// as written in the router, such as `/ready` or `/wallets/{id}`).
    pub fn ignore_route(mut self, template: impl Into<String>) -> Self {
        self.ignored.push(template.into());
        self
    }

    /// How many distinct route templates get their own series (default
    /// [`DEFAULT_MAX_ROUTES`]); more are folded into `route="__overflow__"`.
    pub fn max_routes(mut self, max_routes: usize) -> Self {
        self.max_routes = max_routes;
        self
    }

    /// Whether a request's duration (and its time in
    /// `http_requests_in_flight`) ends when the response body has been
    /// sent (`true`, the default) or when the response head is ready
    /// (`false`: what the handler controls, without the time to stream a
    /// long body). A gRPC call whose status comes in the trailers is
    /// recorded at the body's end either way.
    pub fn duration_to_body_end(mut self, enabled: bool) -> Self {
        self.to_body_end = enabled;
        self
    }

    /// How to name the route of a request that axum did not route (a
    /// plain hyper or tower service has no
    /// [`MatchedPath`](axum::extract::MatchedPath)): `f` returns the
    /// template for a request's URI, or `None` for `unmatched`. The
    /// templates are `'static` strings, the program's own, so they stay
    /// few. Without it, every such request is `unmatched` (gRPC requests
    /// are named by their method either way).
    ///
    /// ```
    /// use alerting_axum::HttpMetricsLayer;
    ///
    /// let options = HttpMetricsLayer::builder().route_fn(|uri| match uri.path() {
    ///     "/health" => Some("/health"),
    ///     path if path.starts_with("/wallets/") => Some("/wallets/{id}"),
    ///     _ => None,
    /// });
    /// # let _ = options;
    /// ```
    pub fn route_fn(mut self, f: RouteFn) -> Self {
        self.route_fn = Some(f);
        self
    }

    /// Buckets of `http_request_duration_seconds` (default
    /// [`Buckets::latency`]).
    pub fn buckets(mut self, buckets: Buckets) -> Self {
        self.buckets = Some(buckets);
        self
    }

    /// References to the families a layer built with these options
    /// registers in `registry` (its duration buckets included), for rules
    /// and dashboards. The names are
    /// [`alerting_core::metrics::http`]'s, shared with `alerting-rules`.
    ///
    /// ```
    /// use alerting_axum::HttpMetricsLayer;
    /// use alerting_core::metrics::{Buckets, Registry};
    ///
    /// let registry = Registry::builder().namespace("api").build()?;
    /// let options = HttpMetricsLayer::builder().buckets(Buckets::fast_latency());
    /// let refs = options.metric_refs(&registry);
    /// assert_eq!(refs.duration.name(), "api_http_request_duration_seconds");
    /// assert_eq!(refs.duration.bucket_bounds(), Some(Buckets::fast_latency().bounds()));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn metric_refs(&self, registry: &Registry) -> HttpMetricRefs {
        let refs = http::metric_refs(registry);
        match &self.buckets {
            Some(buckets) => refs.with_duration_buckets(buckets),
            None => refs,
        }
    }

    /// Registers the families in `registry` and returns the layer.
    ///
    /// # Errors
    ///
    /// [`HttpMetricsError::Metrics`] if a family cannot be registered (its
    /// name is taken), [`HttpMetricsError::ZeroMaxRoutes`].
    pub fn build(self, registry: &Registry) -> Result<HttpMetricsLayer, HttpMetricsError> {
        if self.max_routes == 0 {
            return Err(HttpMetricsError::ZeroMaxRoutes);
        }
        let routes = Routes::register(registry, self)?;
        Ok(HttpMetricsLayer {
            routes: Arc::new(routes),
        })
    }
}
