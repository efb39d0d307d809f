//! `alerting-core`: what an async service needs to be watched in production.
//!
//! Typed Prometheus metrics whose hot path is a few atomics, with the naming
//! conventions checked when a metric is registered rather than discovered in
//! a scrape.
//!
//! # Quick start
//!
//! ```
//! use alerting_core::metrics::{
//!     Counter, Family, Format, Histogram, LabelSet, LabelValue, MetricGroup, Registry,
//! };
//!
//! #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, LabelValue)]
//! enum EventType { Swap, Sync }
//!
//! #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, LabelSet)]
//! struct Event { event_type: EventType }
//!
//! /// Every metric of the service, registered in one call.
//! #[derive(Clone, Debug, MetricGroup)]
//! struct Metrics {
//!     /// Messages read from the WebSocket.
//!     ws_messages_total: Family<Event, Counter>,
//!     /// Time to process one message.
//!     ws_messages_processing_seconds: Family<Event, Histogram>,
//! }
//!
//! let registry = Registry::builder().const_label("service", "demo").build()?;
//! registry.register_process_collector()?;
//! let metrics: Metrics = registry.register_group()?;
//!
//! let swap = Event { event_type: EventType::Swap };
//! metrics.ws_messages_total.get(swap).inc();
//! metrics.ws_messages_processing_seconds.get(swap).observe(0.004);
//!
//! let exposition = registry.encode_to_string(Format::Prometheus)?;
//! assert!(exposition.contains(r#"ws_messages_total{service="demo",event_type="swap"} 1"#));
//! # Ok::<(), alerting_core::metrics::MetricsError>(())
//! ```
//!
//! A service sets everything up in one call with [`Observability`]
//! (logging, the registry installed as the global one, health, shutdown,
//! from one configuration); `alerting-axum`'s `Server` serves the
//! endpoints beside the service's router; alert rules and dashboards are
//! generated at build time by `alerting-rules` from the same metric
//! definitions.
//!
//! # Modules
//!
//! - [`bootstrap`]: [`Observability`], the one-call set-up, and
//!   [`MainError`], an error type for `main` that prints causes, not
//!   `Debug`.
//! - [`metrics`]: registry, typed families, buckets, the process and tokio
//!   runtime collectors, `build_info` ([`build_info!`]), encoding to the
//!   Prometheus text format and OpenMetrics.
//! - [`instrument`]: what [`#[instrumented]`](macro@instrumented) records
//!   and the [`ErrorKind`](instrument::ErrorKind) trait.
//! - [`health`]: the [`HealthCheck`](health::HealthCheck) trait, pushed
//!   component status, the [`HealthRegistry`](health::HealthRegistry) with
//!   timeouts, cached background refresh, liveness and readiness reports.
//! - [`shutdown`]: the [`Shutdown`](shutdown::Shutdown) coordinator:
//!   signals, intake tokens, named in-flight work, closers, a report.
//! - [`logging`]: `tracing-subscriber` set-up (pretty, compact or JSON with
//!   span fields; filters; a non-blocking writer to stdout, or to rotated
//!   files with the `log-files` feature).
//! - [`config`]: [`MonitoringConfig`](config::MonitoringConfig), one serde
//!   configuration for all of the above, from TOML and `ALERTING_…`
//!   environment variables.
//!
//! Metric references ([`metrics::MetricRef`], [`metrics::Named`]) live
//! with the metrics: each part that writes a family (the registry,
//! `#[instrumented]`, health, the process collector, the HTTP families of
//! [`metrics::http`]) hands out its own, for `alerting-rules` to name.
//!
//! # Features
//!
//! All on by default; `default-features = false, features = ["macros"]`
//! keeps typed metrics and `#[instrumented]` alone.
//!
//! - `macros`: `#[instrumented]` and the derives `LabelSet`, `LabelValue`
//!   and `MetricGroup`, re-exported from `alerting-macros`.
//! - `runtime`: [`health`] and [`shutdown`], on tokio.
//! - `logging`: [`logging`], the `tracing-subscriber` set-up, to stdout.
//! - `log-files` (not default): rotated log files (`[logging.file]`), on
//!   tracing-appender; without it a `[logging.file]` section is a
//!   configuration error naming the key.
//! - `config`: [`config`]'s loader and [`MonitoringConfig`](config::MonitoringConfig),
//!   [`bootstrap`]; turns on `runtime` and `logging`.
//! - `sqlx` (not default): `health::checks::SqlPoolCheck`, a pulled check
//!   of any `sqlx::Pool` (acquire within a timeout, then ping or a query),
//!   and `metrics::sql_pool::SqlPoolCollector`, the pools' connections
//!   (`sql_pool_connections{pool,state}`, `sql_pool_connections_max{pool}`)
//!   at each scrape; sqlx with no database driver of its own: the
//!   application's sqlx features pick the databases.
#![deny(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

// Lets the derives' `::alerting_core::…` paths resolve inside this crate.
#[allow(unused_extern_crates)]
extern crate self as alerting_core;

pub mod clock;
pub mod instrument;
pub mod metrics;

#[cfg(feature = "config")]
pub mod bootstrap;
#[cfg(any(feature = "runtime", feature = "logging"))]
pub mod config;
#[cfg(feature = "runtime")]
pub mod cooldown;
#[cfg(feature = "runtime")]
pub mod health;
#[cfg(feature = "logging")]
pub mod logging;
#[cfg(feature = "runtime")]
pub mod shutdown;

#[cfg(feature = "macros")]
pub use alerting_macros::instrumented;
#[cfg(feature = "config")]
pub use bootstrap::{MainError, Observability};

/// Paths the macros expand to. Not public API: may change in any release.
#[doc(hidden)]
pub mod __private {
    pub use crate::instrument::classify::{
        Error, KindFromTrait, KindNone, Returned, SplitOther, SplitResult,
    };
    pub use crate::instrument::{
        CALL_SITES, CallGuard, CallSite, Classified, SiteBuckets, SiteMeta, SiteRegistry, call_once,
    };
    pub use crate::metrics::{Buckets, Registry};
    pub use linkme::{self, distributed_slice};
    pub use prometheus_client;
    pub use tracing;
}
