//! Every key of `#[metric(…)]`, without a warning.
#![deny(warnings)]

use alerting_core::metrics::{
    Buckets, Counter, DynamicFamily, Gauge, Histogram, LabelSet, MetricGroup, Registry,
};

#[derive(Clone, Debug, PartialEq, Eq, Hash, LabelSet)]
struct Endpoint {
    endpoint: String,
}

const LIMIT: usize = 10;

#[derive(Clone, Debug, MetricGroup)]
struct Metrics {
    /// Requests handled.
    requests_total: Counter,
    /** Requests in flight. */
    in_flight: Gauge,
    /// Request time.
    #[metric(buckets = Buckets::exponential(0.001, 10.0, 4))]
    request_seconds: Histogram,
    #[metric(name = "api_calls_total", help = "Calls by endpoint", max_series = LIMIT * 2)]
    calls: DynamicFamily<Endpoint, Counter>,
    #[metric(skip)]
    label: String,
    /// A raw identifier: the metric is `type_total`.
    r#type_total: Counter,
}

/// No metrics at all.
#[derive(Debug, MetricGroup)]
struct Empty {}

/// Only skipped fields.
#[derive(Debug, MetricGroup)]
struct Skipped {
    #[metric(skip)]
    count: u64,
}

fn main() {
    let registry = Registry::new();
    let metrics: Metrics = registry.register_group().unwrap();
    metrics.requests_total.inc();
    metrics.in_flight.inc();
    metrics.request_seconds.observe(0.1);
    metrics
        .calls
        .get_or_create(&Endpoint {
            endpoint: "/".into(),
        })
        .inc();
    metrics.r#type_total.inc();
    assert_eq!(metrics.calls.max_series(), 20);
    assert!(metrics.label.is_empty());
    let _: Empty = registry.register_group().unwrap();
    let skipped: Skipped = registry.register_group().unwrap();
    assert_eq!(skipped.count, 0);
}
