//! SQL pools' connections, read at each scrape (feature `sqlx`).
//!
//! [`SqlPoolCollector`] reads every pool added to it at each scrape:
//!
//! | name | type | what |
//! |---|---|---|
//! | `sql_pool_connections{pool, state}` | gauge | connections open, `state="idle"` or `"in_use"`; their sum is the pool's size |
//! | `sql_pool_connections_max{pool}` | gauge | the pool's `max_connections` |
//!
//! The names are not prefixed with the registry's namespace, so one rule
//! (`sum by (pool) (sql_pool_connections{state="in_use"}) /
//! sql_pool_connections_max` near 1: the pool is exhausted) and one
//! dashboard panel serve every service. A pool removed
//! ([`SqlPoolCollector::remove`]) stops being exported; a closed pool
//! shows 0 connections until it is removed.
//!
//! ```
//! use alerting_core::metrics::sql_pool::SqlPoolCollector;
//! use alerting_core::metrics::{Format, Registry};
//!
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let pool = sqlx::sqlite::SqlitePoolOptions::new()
//!     .max_connections(4)
//!     .connect("sqlite::memory:")
//!     .await?;
//! let registry = Registry::new();
//! let pools = SqlPoolCollector::register(&registry)?;
//! pools.add("store", &pool);
//! let text = registry.encode_to_string(Format::Prometheus)?;
//! assert!(text.contains(r#"sql_pool_connections{pool="store",state="idle"} 1"#));
//! assert!(text.contains(r#"sql_pool_connections_max{pool="store"} 4"#));
//! # Ok(()) }
//! ```

use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::gauge::ConstGauge;

use super::{MetricKind, MetricOrigin, MetricRef, MetricsError, Registry};

/// `sql_pool_connections{pool, state}`.
pub const CONNECTIONS: &str = "sql_pool_connections";
/// `sql_pool_connections_max{pool}`.
pub const CONNECTIONS_MAX: &str = "sql_pool_connections_max";
/// The label naming the pool.
pub const POOL_LABEL: &str = "pool";
/// The label of [`CONNECTIONS`]: `idle` or `in_use`.
pub const STATE_LABEL: &str = "state";

/// [`MetricRef`]s of what [`SqlPoolCollector`] writes, for rules and
/// dashboards.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct SqlPoolMetricRefs {
    /// `sql_pool_connections{pool, state}` (gauge).
    pub connections: MetricRef,
    /// `sql_pool_connections_max{pool}` (gauge).
    pub connections_max: MetricRef,
}

/// One reading of a pool.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Reading {
    idle: u64,
    in_use: u64,
    max: u64,
}

type Reader = Box<dyn Fn() -> Reading + Send + Sync>;

/// Writes the connections of every pool added to it at each scrape (see
/// the [module documentation](self)).
///
/// A cheap handle: clones share the pools. It keeps a clone of each pool
/// handle, which opens no connection by itself; a closed pool reads 0
/// connections until it is [removed](Self::remove).
#[derive(Clone, Default)]
pub struct SqlPoolCollector {
    pools: Arc<Mutex<BTreeMap<String, Reader>>>,
}

impl fmt::Debug for SqlPoolCollector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let pools = self.pools.lock().unwrap_or_else(PoisonError::into_inner);
        f.debug_struct("SqlPoolCollector")
            .field("pools", &pools.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl SqlPoolCollector {
    /// A collector with no pools, registered with nothing: hand it to
    /// [`Registry::register_collector`] (once per registry), or use
    /// [`SqlPoolCollector::register`].
    pub fn new() -> Self {
        Self::default()
    }

    /// A new collector, registered in `registry`. Register one per
    /// registry and [`add`](Self::add) every pool to it.
    ///
    /// # Errors
    ///
    /// [`MetricsError::Duplicate`] if the registry already has a metric
    /// (or another `SqlPoolCollector`) writing these names.
    pub fn register(registry: &Registry) -> Result<Self, MetricsError> {
        let collector = Self::new();
        registry.register_named_collector(
            "sql_pool_*",
            "SQL pool collector",
            &[CONNECTIONS, CONNECTIONS_MAX],
            Box::new(collector.clone()),
        )?;
        Ok(collector)
    }

    /// Exports `pool`'s connections under `pool="<name>"`, replacing a
    /// pool added before under that name.
    pub fn add<DB: sqlx::Database>(&self, name: impl Into<String>, pool: &sqlx::Pool<DB>) {
        let pool = pool.clone();
        let reader: Reader = Box::new(move || {
            if pool.is_closed() {
                return Reading {
                    max: u64::from(pool.options().get_max_connections()),
                    ..Reading::default()
                };
            }
            let size = u64::from(pool.size());
            let idle = (pool.num_idle() as u64).min(size);
            Reading {
                idle,
                in_use: size - idle,
                max: u64::from(pool.options().get_max_connections()),
            }
        });
        self.pools
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(name.into(), reader);
    }

    /// Stops exporting the pool `name`; `false` if there was none.
    pub fn remove(&self, name: &str) -> bool {
        self.pools
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(name)
            .is_some()
    }

    /// The metrics it writes, as [`MetricRef`]s.
    pub fn metric_refs() -> SqlPoolMetricRefs {
        let make = |name: &str, labels: &[&str]| {
            MetricRef::new(
                name.to_owned(),
                MetricKind::Gauge,
                labels.iter().map(|l| (*l).to_owned()).collect(),
                MetricOrigin::SqlPool,
                None,
            )
        };
        SqlPoolMetricRefs {
            connections: make(CONNECTIONS, &[POOL_LABEL, STATE_LABEL]),
            connections_max: make(CONNECTIONS_MAX, &[POOL_LABEL]),
        }
    }
}

fn gauge(value: u64) -> ConstGauge<i64> {
    ConstGauge::new(i64::try_from(value).unwrap_or(i64::MAX))
}

impl Collector for SqlPoolCollector {
    fn encode(&self, mut encoder: DescriptorEncoder<'_>) -> Result<(), fmt::Error> {
        let readings: Vec<(String, Reading)> = {
            let pools = self.pools.lock().unwrap_or_else(PoisonError::into_inner);
            pools
                .iter()
                .map(|(name, read)| (name.clone(), read()))
                .collect()
        };
        if readings.is_empty() {
            return Ok(());
        }
        let mut connections = encoder.encode_descriptor(
            CONNECTIONS,
            "Connections open in each SQL pool, idle or in use.",
            None,
            MetricType::Gauge,
        )?;
        for (name, r) in &readings {
            for (state, value) in [("idle", r.idle), ("in_use", r.in_use)] {
                gauge(value).encode(
                    connections
                        .encode_family(&[(POOL_LABEL, name.as_str()), (STATE_LABEL, state)])?,
                )?;
            }
        }
        let mut max = encoder.encode_descriptor(
            CONNECTIONS_MAX,
            "The most connections each SQL pool opens.",
            None,
            MetricType::Gauge,
        )?;
        for (name, r) in &readings {
            gauge(r.max).encode(max.encode_family(&[(POOL_LABEL, name.as_str())])?)?;
        }
        Ok(())
    }
}
