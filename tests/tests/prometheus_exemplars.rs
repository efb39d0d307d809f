//! A real Prometheus, started with `--enable-feature=exemplar-storage`,
//! scrapes a registry served as OpenMetrics and returns its exemplars from
//! `/api/v1/query_exemplars`: on a histogram bucket, on a striped counter,
//! on a compact [`ExemplarCounter`], and on an `#[instrumented]` function's
//! duration.
//!
//! The metrics server is [`ExpositionServer`] on 127.0.0.1:0; every wait
//! is bounded.

use std::sync::OnceLock;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use alerting_core::instrumented;
use alerting_core::metrics::{
    Buckets, ExemplarCounter, Format, Histogram, MetricOptions, Registry, StripedCounter,
};
use alerting_tests::{ExpositionServer, Prometheus, Target};
use serde_json::Value;

const WAIT: Duration = Duration::from_secs(60);
const TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const TX: &str = "0x5c504ed432cb51138bcf09aa5e8a410dd4a1e204ef84bfed1be16dfba1b22060";

fn registry() -> &'static Registry {
    static R: OnceLock<Registry> = OnceLock::new();
    R.get_or_init(Registry::new)
}

#[instrumented(registry = registry, exemplar = tx_hash)]
fn process_swap(tx_hash: &str) -> usize {
    tx_hash.len()
}

/// The exemplars Prometheus has for `query` over the last hour: each
/// series' labels and its exemplars' labels.
fn exemplars(prometheus: &Prometheus, query: &str) -> Option<Vec<(Value, Value)>> {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).ok()?.as_secs();
    let data = prometheus
        .api(
            "query_exemplars",
            &[
                ("query", query),
                ("start", &(now - 3600).to_string()),
                ("end", &(now + 60).to_string()),
            ],
        )
        .ok()?;
    let found: Vec<(Value, Value)> = data
        .as_array()?
        .iter()
        .flat_map(|series| {
            series["exemplars"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|e| (series["seriesLabels"].clone(), e.clone()))
        })
        .collect();
    (!found.is_empty()).then_some(found)
}

#[test]
fn prometheus_stores_the_exemplars_it_scrapes() {
    let registry = registry();
    let latency: Histogram = registry
        .register_with(
            "request_duration_seconds",
            "Time to answer a request",
            MetricOptions::new().buckets(Buckets::new([0.1, 1.0]).expect("buckets")),
        )
        .expect("register histogram");
    let alerts: StripedCounter = registry
        .register("alerts_sent_total", "Alerts sent")
        .expect("register counter");
    let swaps: ExemplarCounter = registry
        .register("swaps_seen_total", "Swaps seen")
        .expect("register compact counter");
    latency
        .observe_with_exemplar(0.42, &[("trace_id", TRACE)])
        .expect("exemplar");
    latency.observe(0.01);
    alerts
        .inc_with_exemplar(&[("tx_hash", TX)])
        .expect("exemplar");
    swaps.inc();
    swaps
        .inc_by_with_exemplar(2, &[("trace_id", TRACE)])
        .expect("exemplar");
    process_swap(TX);

    let server =
        ExpositionServer::start_openmetrics(|| registry.encode_to_string(Format::OpenMetrics));
    let prometheus = Prometheus::builder()
        .target(Target::new("exemplars", server.addr()))
        .feature("exemplar-storage")
        .start()
        .expect("start prometheus");
    prometheus
        .wait_for_target_up("exemplars", WAIT)
        .expect("target up");

    let bucket = prometheus
        .wait_until(
            || exemplars(&prometheus, "request_duration_seconds_bucket"),
            WAIT,
        )
        .expect("histogram exemplar");
    assert_eq!(bucket.len(), 1, "{bucket:?}");
    let (series, exemplar) = &bucket[0];
    assert_eq!(series["le"], "1.0", "{series}");
    assert_eq!(exemplar["labels"]["trace_id"], TRACE, "{exemplar}");
    assert_eq!(exemplar["value"], "0.42", "{exemplar}");

    let counter = prometheus
        .wait_until(|| exemplars(&prometheus, "alerts_sent_total"), WAIT)
        .expect("counter exemplar");
    assert_eq!(counter[0].1["labels"]["tx_hash"], TX, "{counter:?}");
    assert_eq!(counter[0].1["value"], "1", "{counter:?}");

    let compact = prometheus
        .wait_until(|| exemplars(&prometheus, "swaps_seen_total"), WAIT)
        .expect("compact counter exemplar");
    assert_eq!(compact[0].1["labels"]["trace_id"], TRACE, "{compact:?}");
    assert_eq!(compact[0].1["value"], "2", "{compact:?}");

    let duration = prometheus
        .wait_until(
            || exemplars(&prometheus, "function_call_duration_seconds_bucket"),
            WAIT,
        )
        .expect("#[instrumented] exemplar");
    let (series, exemplar) = &duration[0];
    assert_eq!(series["function"], "process_swap", "{series}");
    assert_eq!(exemplar["labels"]["tx_hash"], TX, "{exemplar}");
}
