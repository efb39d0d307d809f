//! References to the families the library (and Prometheus) write
//! themselves, which a user never registers by hand.
//!
//! Each part of `alerting-core` that writes a family hands out its own
//! references, so the names are written once, where the metric is:
//! [`instrument::Instrumented`](alerting_core::instrument::Instrumented),
//! [`health::metric_refs`](alerting_core::health::metric_refs),
//! [`ProcessCollector::metric_refs`](alerting_core::metrics::ProcessCollector::metric_refs)
//! and [`metrics::http::metric_refs`](alerting_core::metrics::http::metric_refs)
//! (the families of `alerting-axum`'s HTTP layer). This module gathers
//! them under short names, adds the selectors rules need on
//! `#[instrumented]` families ([`InstrumentedExt`]), and Prometheus' own
//! [`up`].

use alerting_core::metrics::{Buckets, MetricRef, ProcessCollector, Registry};

pub use alerting_core::instrument::{
    ERROR_OUTCOMES, InstrumentError, Instrumented, InstrumentedFn, call_sites,
};

use crate::expr::Selector;
use crate::metric::Select;

/// The selectors rules and SLOs take on `#[instrumented]` families.
///
/// ```
/// use alerting_core::metrics::Registry;
/// use alerting_rules::builtin::{Instrumented, InstrumentedExt};
///
/// let registry = Registry::builder().namespace("bsc").build()?;
/// let fns = Instrumented::new(&registry).within(module_path!());
/// assert_eq!(
///     fns.errors().eq("function", "process_swap").to_string(),
///     r#"bsc_function_calls_total{outcome=~"error|panic", function="process_swap"}"#,
/// );
/// # Ok::<(), alerting_core::metrics::MetricsError>(())
/// ```
pub trait InstrumentedExt {
    /// Calls that failed: `outcome=~"error|panic"`.
    fn errors(&self) -> Selector;
    /// Calls that finished (every outcome but `cancelled`): the
    /// denominator of an error ratio.
    fn finished(&self) -> Selector;
}

impl InstrumentedExt for Instrumented {
    fn errors(&self) -> Selector {
        self.calls()
            .select()
            .re(self.outcome_label(), ERROR_OUTCOMES)
    }

    fn finished(&self) -> Selector {
        self.calls().select().ne(self.outcome_label(), "cancelled")
    }
}

/// One function's calls: the selectors are on its `function` label.
///
/// ```
/// use alerting_core::instrumented;
/// use alerting_core::metrics::Registry;
/// use alerting_rules::builtin::{Instrumented, InstrumentedExt};
///
/// #[instrumented]
/// fn process_swap() {}
///
/// let fns = Instrumented::new(&Registry::new()).within(module_path!());
/// let process_swap = fns.function("process_swap")?;
/// assert_eq!(
///     process_swap.errors().to_string(),
///     r#"function_calls_total{outcome=~"error|panic", function="process_swap"}"#,
/// );
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
impl InstrumentedExt for InstrumentedFn {
    fn errors(&self) -> Selector {
        self.calls()
            .select()
            .re(self.outcome_label(), ERROR_OUTCOMES)
            .eq("function", self.name())
    }

    fn finished(&self) -> Selector {
        self.calls()
            .select()
            .ne(self.outcome_label(), "cancelled")
            .eq("function", self.name())
    }
}

/// `health_check_status{check}`: 1 up, 0.5 degraded, 0 down.
pub fn health_check_status(registry: &Registry) -> MetricRef {
    alerting_core::health::metric_refs(registry).status
}

/// `health_check_duration_seconds{check}`: the duration of each pulled check.
pub fn health_check_duration(registry: &Registry) -> MetricRef {
    alerting_core::health::metric_refs(registry).duration
}

/// `http_requests_total{method, route, status}` of the HTTP layer
/// (`status` is the class: `2xx`, `5xx`…, which `status=~"5.."` matches).
pub fn http_requests(registry: &Registry) -> MetricRef {
    alerting_core::metrics::http::metric_refs(registry).requests
}

/// `http_request_duration_seconds{method, route}` of the HTTP layer
/// (latency buckets unless it was configured otherwise: see
/// [`http_request_duration_with`]).
pub fn http_request_duration(registry: &Registry) -> MetricRef {
    alerting_core::metrics::http::metric_refs(registry).duration
}

/// `http_requests_in_flight` of the HTTP layer: requests being handled.
pub fn http_requests_in_flight(registry: &Registry) -> MetricRef {
    alerting_core::metrics::http::metric_refs(registry).in_flight
}

/// The same HTTP duration family with other buckets.
pub fn http_request_duration_with(registry: &Registry, buckets: &Buckets) -> MetricRef {
    http_request_duration(registry).with_buckets(buckets.bounds())
}

/// `process_resident_memory_bytes` (never namespaced).
pub fn process_resident_memory_bytes() -> MetricRef {
    ProcessCollector::metric_refs().resident_memory
}

/// `process_virtual_memory_bytes`.
pub fn process_virtual_memory_bytes() -> MetricRef {
    ProcessCollector::metric_refs().virtual_memory
}

/// `process_cpu_seconds_total`.
pub fn process_cpu_seconds_total() -> MetricRef {
    ProcessCollector::metric_refs().cpu_seconds
}

/// `process_open_fds`.
pub fn process_open_fds() -> MetricRef {
    ProcessCollector::metric_refs().open_fds
}

/// `process_max_fds`.
pub fn process_max_fds() -> MetricRef {
    ProcessCollector::metric_refs().max_fds
}

/// `process_threads`.
pub fn process_threads() -> MetricRef {
    ProcessCollector::metric_refs().threads
}

/// `process_start_time_seconds`.
pub fn process_start_time_seconds() -> MetricRef {
    ProcessCollector::metric_refs().start_time
}

/// `up{job, instance}`: 1 when Prometheus' last scrape of a target
/// succeeded, 0 when it failed. Written by Prometheus, not by the service.
pub fn up() -> MetricRef {
    MetricRef::up()
}
