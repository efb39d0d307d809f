use alerting_core::metrics::{Counter, MetricGroup};

#[derive(MetricGroup)]
struct Metrics {
    /// Requests handled.
    #[metric(name = "http-requests_total")]
    requests: Counter,
}

fn main() {}
