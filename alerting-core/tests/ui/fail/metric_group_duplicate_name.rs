use alerting_core::metrics::{Counter, MetricGroup};

#[derive(MetricGroup)]
struct Metrics {
    /// Requests handled.
    requests_total: Counter,
    /// Requests handled, again.
    #[metric(name = "requests_total")]
    calls: Counter,
}

fn main() {}
