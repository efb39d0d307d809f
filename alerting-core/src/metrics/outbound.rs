//! The outbound-call families: their default names, labels and
//! references.
//!
//! The recorder lives in `alerting-axum` (`alerting_axum::outbound`); the
//! names and labels are defined here so that `alerting-rules` can name the
//! families without depending on an HTTP client. A service may register
//! them under other names (`api_requests_total`, `rpc_calls_total`): the
//! references then carry those names.
//!
//! | constant | metric | type | labels |
//! |---|---|---|---|
//! | [`REQUESTS`] | `outbound_requests_total` | counter | `target`, `route`, `outcome` |
//! | [`DURATION`] | `outbound_request_duration_seconds` | histogram | `target`, `route` |
//!
//! ```
//! use alerting_core::metrics::{Buckets, Registry, outbound};
//!
//! let registry = Registry::new();
//! let refs = outbound::metric_refs(&registry, "api_requests_total", "api_request_duration_seconds", &Buckets::latency());
//! assert_eq!(refs.requests.label_names(), ["target", "route", "outcome"]);
//! ```

use super::{Buckets, MetricKind, MetricOrigin, MetricRef, Registry};

/// `outbound_requests_total{target, route, outcome}`: calls made.
pub const REQUESTS: &str = "outbound_requests_total";
/// `outbound_request_duration_seconds{target, route}`.
pub const DURATION: &str = "outbound_request_duration_seconds";

/// The `target` label: the name the application gives the other side.
pub const TARGET_LABEL: &str = "target";
/// The `route` label: a template the application gives.
pub const ROUTE_LABEL: &str = "route";
/// The `outcome` label: a status class (`2xx`, `429`, `5xx`…) or why there
/// was no answer (`timeout`, `connect_error`, `tls_error`, `error`,
/// `cancelled`).
pub const OUTCOME_LABEL: &str = "outcome";

/// References to one set of outbound-call families.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct OutboundMetricRefs {
    /// The calls counter.
    pub requests: MetricRef,
    /// The duration histogram.
    pub duration: MetricRef,
}

/// The outbound-call families registered in `registry` under these names
/// (with its namespace), the histogram with `buckets`.
pub fn metric_refs(
    registry: &Registry,
    requests: &str,
    duration: &str,
    buckets: &Buckets,
) -> OutboundMetricRefs {
    let labels = |names: &[&str]| names.iter().map(|l| (*l).to_owned()).collect::<Vec<_>>();
    OutboundMetricRefs {
        requests: MetricRef::new(
            registry.full_name(requests),
            MetricKind::Counter,
            labels(&[TARGET_LABEL, ROUTE_LABEL, OUTCOME_LABEL]),
            MetricOrigin::Outbound,
            None,
        ),
        duration: MetricRef::new(
            registry.full_name(duration),
            MetricKind::Histogram,
            labels(&[TARGET_LABEL, ROUTE_LABEL]),
            MetricOrigin::Outbound,
            Some(buckets.bounds().to_vec()),
        ),
    }
}
