use alerting_core::metrics::{Counter, MetricGroup};

#[derive(MetricGroup)]
struct Metrics(Counter);

fn main() {}
