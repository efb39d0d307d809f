//! `crate = "…"` for a crate that re-exports alerting-core under its own path.
#![deny(warnings)]

mod my_runtime {
    pub use alerting_core as metrics_core;
}

use alerting_core::metrics::{
    Counter, EnumLabel, Family, LabelSet, LabelValue, MetricGroup, Registry,
};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, LabelValue)]
#[label(crate = "my_runtime::metrics_core")]
enum Chain {
    Bsc,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, LabelSet)]
#[label(crate = "crate::my_runtime::metrics_core")]
struct Labels {
    chain: Chain,
}

#[derive(Clone, Debug, MetricGroup)]
#[metric(crate = "::alerting_core")]
struct Metrics {
    /// Blocks seen.
    blocks_total: Family<Labels, Counter>,
}

fn main() {
    let metrics: Metrics = Registry::new().register_group().unwrap();
    metrics.blocks_total.get(Labels { chain: Chain::Bsc }).inc();
    assert_eq!(Chain::Bsc.as_str(), "bsc");
}
