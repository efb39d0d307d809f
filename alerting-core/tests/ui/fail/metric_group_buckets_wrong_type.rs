use alerting_core::metrics::{Histogram, MetricGroup};

#[derive(MetricGroup)]
struct Metrics {
    /// Time per request.
    #[metric(buckets = [1, 2, 3])]
    request_seconds: Histogram,
}

fn main() {}
