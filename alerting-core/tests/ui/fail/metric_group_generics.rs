use alerting_core::metrics::MetricGroup;

#[derive(MetricGroup)]
struct Metrics<M> {
    /// Something.
    requests_total: M,
}

fn main() {}
