use alerting_core::metrics::MetricGroup;

#[derive(MetricGroup)]
struct Metrics {
    /// Not a metric type.
    requests_total: u64,
}

fn main() {}
