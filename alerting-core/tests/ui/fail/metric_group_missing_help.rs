use alerting_core::metrics::{Counter, MetricGroup};

#[derive(MetricGroup)]
struct Metrics {
    /// Requests handled.
    requests_total: Counter,
    errors_total: Counter,
}

fn main() {}
