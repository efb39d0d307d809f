//! The tokio runtime's own metrics, read at each scrape.
//!
//! [`RuntimeCollector`] reads the metrics tokio makes available without
//! `--cfg tokio_unstable` from a runtime [`Handle`] at every scrape:
//!
//! | name | type | tokio |
//! |---|---|---|
//! | `tokio_runtime_workers` | gauge | `num_workers` |
//! | `tokio_runtime_alive_tasks` | gauge | `num_alive_tasks` |
//! | `tokio_runtime_global_queue_depth` | gauge | `global_queue_depth` |
//! | `tokio_runtime_worker_busy_seconds_total{worker}` | counter | `worker_total_busy_duration` |
//! | `tokio_runtime_worker_parks_total{worker}` | counter | `worker_park_count` |
//!
//! The names are not prefixed with the registry's namespace, so that the
//! rule pack (`alerting_rules::packs::runtime_saturated`) and the
//! dashboard row find them in any service. A worker's busy time growing at
//! close to one second per second means it never waits for work: every
//! worker so means tasks queue (the global queue depth then grows too).
//!
//! ```
//! use alerting_core::metrics::{Format, Registry};
//!
//! # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
//! let registry = Registry::new();
//! registry.register_runtime_metrics(tokio::runtime::Handle::current())?;
//! let text = registry.encode_to_string(Format::Prometheus)?;
//! assert!(text.contains("tokio_runtime_workers 1"));
//! assert!(text.contains(r#"tokio_runtime_worker_parks_total{worker="0"}"#));
//! # Ok::<(), alerting_core::metrics::MetricsError>(())
//! # }).unwrap();
//! ```

use std::fmt;

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use tokio::runtime::Handle;

use super::{MetricKind, MetricOrigin, MetricRef};

/// `tokio_runtime_workers`.
pub(crate) const WORKERS: &str = "tokio_runtime_workers";
/// `tokio_runtime_alive_tasks`.
pub(crate) const ALIVE_TASKS: &str = "tokio_runtime_alive_tasks";
/// `tokio_runtime_global_queue_depth`.
pub(crate) const GLOBAL_QUEUE_DEPTH: &str = "tokio_runtime_global_queue_depth";
/// `tokio_runtime_worker_busy_seconds_total`.
pub(crate) const WORKER_BUSY_SECONDS: &str = "tokio_runtime_worker_busy_seconds_total";
/// `tokio_runtime_worker_parks_total`.
pub(crate) const WORKER_PARKS: &str = "tokio_runtime_worker_parks_total";

/// Every name the collector writes (never namespaced).
pub(crate) const NAMES: [&str; 5] = [
    WORKERS,
    ALIVE_TASKS,
    GLOBAL_QUEUE_DEPTH,
    WORKER_BUSY_SECONDS,
    WORKER_PARKS,
];

/// The label of the per-worker metrics: the worker's index, `0` to
/// `tokio_runtime_workers - 1`.
pub const WORKER_LABEL: &str = "worker";

/// [`MetricRef`]s of what [`RuntimeCollector`] writes, for rules and
/// dashboards.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct RuntimeMetricRefs {
    /// `tokio_runtime_workers` (gauge).
    pub workers: MetricRef,
    /// `tokio_runtime_alive_tasks` (gauge).
    pub alive_tasks: MetricRef,
    /// `tokio_runtime_global_queue_depth` (gauge).
    pub global_queue_depth: MetricRef,
    /// `tokio_runtime_worker_busy_seconds_total{worker}` (counter).
    pub worker_busy_seconds: MetricRef,
    /// `tokio_runtime_worker_parks_total{worker}` (counter).
    pub worker_parks: MetricRef,
}

/// Writes a tokio runtime's stable metrics at each scrape (see the
/// [module documentation](self)). Register it with
/// [`Registry::register_runtime_metrics`](super::Registry::register_runtime_metrics).
#[derive(Clone, Debug)]
pub struct RuntimeCollector {
    handle: Handle,
}

impl RuntimeCollector {
    /// A collector of the runtime `handle` belongs to.
    pub fn new(handle: Handle) -> Self {
        Self { handle }
    }

    /// The metrics it writes, as [`MetricRef`]s.
    pub fn metric_refs() -> RuntimeMetricRefs {
        let make = |name: &str, kind, labels: &[&str]| {
            MetricRef::new(
                name.to_owned(),
                kind,
                labels.iter().map(|l| (*l).to_owned()).collect(),
                MetricOrigin::Runtime,
                None,
            )
        };
        RuntimeMetricRefs {
            workers: make(WORKERS, MetricKind::Gauge, &[]),
            alive_tasks: make(ALIVE_TASKS, MetricKind::Gauge, &[]),
            global_queue_depth: make(GLOBAL_QUEUE_DEPTH, MetricKind::Gauge, &[]),
            worker_busy_seconds: make(WORKER_BUSY_SECONDS, MetricKind::Counter, &[WORKER_LABEL]),
            worker_parks: make(WORKER_PARKS, MetricKind::Counter, &[WORKER_LABEL]),
        }
    }
}

fn gauge(encoder: &mut DescriptorEncoder<'_>, name: &str, help: &str, value: usize) -> fmt::Result {
    let value = i64::try_from(value).unwrap_or(i64::MAX);
    ConstGauge::new(value).encode(encoder.encode_descriptor(name, help, None, MetricType::Gauge)?)
}

impl Collector for RuntimeCollector {
    fn encode(&self, mut encoder: DescriptorEncoder<'_>) -> Result<(), fmt::Error> {
        let metrics = self.handle.metrics();
        let workers = metrics.num_workers();
        gauge(
            &mut encoder,
            WORKERS,
            "Worker threads of the tokio runtime.",
            workers,
        )?;
        gauge(
            &mut encoder,
            ALIVE_TASKS,
            "Tasks spawned on the tokio runtime that have not finished.",
            metrics.num_alive_tasks(),
        )?;
        gauge(
            &mut encoder,
            GLOBAL_QUEUE_DEPTH,
            "Tasks waiting in the tokio runtime's global (injection) queue.",
            metrics.global_queue_depth(),
        )?;
        // prometheus-client appends `_total` to counter names itself.
        let mut busy = encoder.encode_descriptor(
            WORKER_BUSY_SECONDS.trim_end_matches("_total"),
            "Time each tokio worker spent busy (not parked), in seconds.",
            None,
            MetricType::Counter,
        )?;
        for worker in 0..workers {
            let seconds = metrics.worker_total_busy_duration(worker).as_secs_f64();
            ConstCounter::new(seconds)
                .encode(busy.encode_family(&[(WORKER_LABEL, worker.to_string().as_str())])?)?;
        }
        let mut parks = encoder.encode_descriptor(
            WORKER_PARKS.trim_end_matches("_total"),
            "Times each tokio worker parked (went idle for lack of work).",
            None,
            MetricType::Counter,
        )?;
        for worker in 0..workers {
            ConstCounter::new(metrics.worker_park_count(worker))
                .encode(parks.encode_family(&[(WORKER_LABEL, worker.to_string().as_str())])?)?;
        }
        Ok(())
    }
}
