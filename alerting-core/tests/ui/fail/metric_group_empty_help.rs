use alerting_core::metrics::{Counter, MetricGroup};

#[derive(MetricGroup)]
struct Metrics {
    #[metric(help = " ")]
    requests_total: Counter,
}

fn main() {}
