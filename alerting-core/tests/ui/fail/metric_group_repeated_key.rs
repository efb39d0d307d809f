use alerting_core::metrics::{Counter, MetricGroup};

#[derive(MetricGroup)]
struct Metrics {
    /// Requests handled.
    #[metric(name = "requests_total", name = "calls_total")]
    requests: Counter,
}

fn main() {}
