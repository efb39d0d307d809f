use alerting_core::metrics::{Counter, MetricGroup};

#[derive(MetricGroup)]
struct Metrics {
    /// Requests handled.
    #[metric(unit = "requests")]
    requests_total: Counter,
}

fn main() {}
