//! The HTTP server families: their names, labels and references.
//!
//! The HTTP metrics layer lives in `alerting-axum`, but the names it writes
//! are defined here, once, so that `alerting-rules` can name them (rule
//! packs, HTTP SLOs, dashboard rows) without depending on a web framework,
//! and the layer registers exactly what the rules expect.
//!
//! | constant | metric | type | labels |
//! |---|---|---|---|
//! | [`REQUESTS`] | `http_requests_total` | counter | `method`, `route`, `status` |
//! | [`DURATION`] | `http_request_duration_seconds` | histogram | `method`, `route` |
//! | [`IN_FLIGHT`] | `http_requests_in_flight` | gauge | |
//! | [`REQUEST_SIZE`] | `http_request_size_bytes` | histogram | `method`, `route` |
//! | [`RESPONSE_SIZE`] | `http_response_size_bytes` | histogram | `method`, `route` |
//!
//! ```
//! use alerting_core::metrics::{Registry, http};
//!
//! let registry = Registry::builder().namespace("api").build()?;
//! let refs = http::metric_refs(&registry);
//! assert_eq!(refs.requests.name(), "api_http_requests_total");
//! assert_eq!(refs.requests.label_names(), ["method", "route", "status"]);
//! # Ok::<(), alerting_core::metrics::MetricsError>(())
//! ```

use super::{Buckets, MetricKind, MetricOrigin, MetricRef, Registry};

/// `http_requests_total{method, route, status}`: requests answered;
/// `status` is the class (`2xx`, `5xx`…), which `status=~"5.."` matches.
pub const REQUESTS: &str = "http_requests_total";
/// `http_request_duration_seconds{method, route}`.
pub const DURATION: &str = "http_request_duration_seconds";
/// `http_requests_in_flight`: requests being handled.
pub const IN_FLIGHT: &str = "http_requests_in_flight";
/// `http_request_size_bytes{method, route}`, when body sizes are recorded.
pub const REQUEST_SIZE: &str = "http_request_size_bytes";
/// `http_response_size_bytes{method, route}`, when body sizes are recorded.
pub const RESPONSE_SIZE: &str = "http_response_size_bytes";

/// The `method` label.
pub const METHOD_LABEL: &str = "method";
/// The `route` label: a route template, never a raw path.
pub const ROUTE_LABEL: &str = "route";
/// The `status` label: a status class.
pub const STATUS_LABEL: &str = "status";

/// References to the HTTP server families in one registry.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct HttpMetricRefs {
    /// [`REQUESTS`].
    pub requests: MetricRef,
    /// [`DURATION`], with the default latency buckets (see
    /// [`with_duration_buckets`](Self::with_duration_buckets)).
    pub duration: MetricRef,
    /// [`IN_FLIGHT`].
    pub in_flight: MetricRef,
    /// [`REQUEST_SIZE`] (only written when body sizes are recorded).
    pub request_size: MetricRef,
    /// [`RESPONSE_SIZE`] (only written when body sizes are recorded).
    pub response_size: MetricRef,
}

impl HttpMetricRefs {
    /// The same references with the duration histogram's buckets, for a
    /// layer configured with other ones.
    #[must_use]
    pub fn with_duration_buckets(mut self, buckets: &Buckets) -> Self {
        self.duration = self.duration.with_buckets(buckets.bounds());
        self
    }
}

/// The HTTP server families as registered in `registry` (with its
/// namespace).
pub fn metric_refs(registry: &Registry) -> HttpMetricRefs {
    let labels = |names: &[&str]| names.iter().map(|l| (*l).to_owned()).collect::<Vec<_>>();
    let make = |name: &str, kind, names: &[&str], buckets: Option<Vec<f64>>| {
        MetricRef::new(
            registry.full_name(name),
            kind,
            labels(names),
            MetricOrigin::Http,
            buckets,
        )
    };
    let sizes = Some(Buckets::sizes().bounds().to_vec());
    HttpMetricRefs {
        requests: make(
            REQUESTS,
            MetricKind::Counter,
            &[METHOD_LABEL, ROUTE_LABEL, STATUS_LABEL],
            None,
        ),
        duration: make(
            DURATION,
            MetricKind::Histogram,
            &[METHOD_LABEL, ROUTE_LABEL],
            Some(Buckets::latency().bounds().to_vec()),
        ),
        in_flight: make(IN_FLIGHT, MetricKind::Gauge, &[], None),
        request_size: make(
            REQUEST_SIZE,
            MetricKind::Histogram,
            &[METHOD_LABEL, ROUTE_LABEL],
            sizes.clone(),
        ),
        response_size: make(
            RESPONSE_SIZE,
            MetricKind::Histogram,
            &[METHOD_LABEL, ROUTE_LABEL],
            sizes,
        ),
    }
}
