use alerting_core::metrics::MetricGroup;

#[derive(MetricGroup)]
enum Metrics {
    A,
}

fn main() {}
