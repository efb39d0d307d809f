//! Health and readiness: checks, pushed component status, reports.
//!
//! A [`HealthRegistry`] holds two kinds of checks:
//!
//! - **pulled** checks ([`HealthCheck`], [`check_fn`]): the registry runs
//!   them (ping a database, a Redis, an RPC endpoint) in the background
//!   every interval, each in a task of its own with a timeout, and caches
//!   the result. A report reads the cache, so an endpoint hit 1,000 times
//!   a second does not ping the database 1,000 times a second. A check that
//!   hangs is down at its timeout ("timed out after 2 s"), one that panics
//!   is down ("check panicked"); neither hangs the caller nor stops the
//!   registry. [`HealthRegistry::check_now`] and [`HealthRegistry::refresh`]
//!   run checks on demand.
//! - **pushed** components ([`HealthRegistry::add_component`] →
//!   [`HealthHandle`]): the component reports `up`, `degraded` or `down`
//!   itself (a WebSocket that connected or dropped) and, on its hot path,
//!   [`HealthHandle::saw_data`]. With a [maximum
//!   silence](CheckOptions::max_silence), a component that has neither
//!   reported nor seen data for longer than that is down, "no data for
//!   N s".
//!
//! Each check counts for liveness, readiness or both ([`Probe`]) and is
//! critical (down fails its probe) or not (down only degrades it). A probe
//! is down if a critical check in it is down; degraded if any of its checks
//! is degraded or a non-critical one is down; up otherwise. Readiness is
//! down as soon as a [`Shutdown`](crate::shutdown::Shutdown) given to the
//! builder begins, so a load balancer stops sending work before the drain.
//!
//! Reports ([`HealthReport`]) come [brief or full](Detail); a check's raw
//! error text is logged when its status changes but only appears in a
//! report if the check [marked it safe](CheckOutcome::show_error).
//!
//! # Metrics
//!
//! With [`HealthRegistryBuilder::metrics`], two families are registered
//! (under the registry's namespace, if any):
//!
//! - `health_check_status{check}` (gauge): **1** up, **0.5** degraded,
//!   **0** down (and before the first result). One number per check keeps
//!   alert rules simple: `health_check_status == 0` is down,
//!   `health_check_status < 1` is anything but up, `min(health_check_status)`
//!   is the worst check.
//! - `health_check_duration_seconds{check}` (histogram): the duration of
//!   each run of a pulled check, timeouts included.
//!
//! ```
//! use std::time::Duration;
//! use alerting_core::health::{check_fn, CheckOptions, Detail, HealthRegistry, Status};
//! use alerting_core::metrics::{Format, Registry};
//! use alerting_core::shutdown::Shutdown;
//!
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let metrics = Registry::new();
//! let shutdown = Shutdown::new();
//! let health = HealthRegistry::builder()
//!     .version("1.4.0")
//!     .shutdown(&shutdown)
//!     .metrics(&metrics)
//!     .build()?;
//!
//! health.add_check("database", CheckOptions::new(), check_fn(|| async { Ok::<(), String>(()) }))?;
//! let ws = health.add_component(
//!     "ws_pool",
//!     CheckOptions::new().max_silence(Duration::from_secs(30)),
//! )?;
//! ws.up();
//!
//! health.start()?; // background refresh
//! let report = health.refresh().await; // or wait for the first round
//! assert_eq!(report.status, Status::Up);
//! assert!(health.is_ready());
//! assert!(metrics.encode_to_string(Format::Prometheus)?.contains(r#"health_check_status{check="database"} 1"#));
//!
//! shutdown.trigger("deploy");
//! assert!(!health.is_ready()); // at once
//! assert!(health.is_live());
//! assert_eq!(health.readiness(Detail::Brief).http_status(), 503);
//! # Ok(()) }
//! ```

mod check;
pub mod checks;
mod registry;
mod report;

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::metrics::MetricsError;

pub use check::{CheckFn, CheckOptions, CheckOutcome, HealthCheck, check_fn};
pub use registry::{
    Excluding, HealthHandle, HealthMetricRefs, HealthRegistry, HealthRegistryBuilder, metric_refs,
};
pub use report::{CheckReport, Detail, HealthReport};

/// The status of a check, a probe or a service; ordered from best to worst.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum Status {
    /// Working.
    Up,
    /// Working, not well; still ready.
    Degraded,
    /// Not working.
    Down,
}

impl Status {
    /// `up`, `degraded` or `down`.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Up => "up",
            Status::Degraded => "degraded",
            Status::Down => "down",
        }
    }

    /// The value of the `health_check_status` gauge: 1, 0.5 or 0.
    pub fn gauge_value(self) -> f64 {
        match self {
            Status::Up => 1.0,
            Status::Degraded => 0.5,
            Status::Down => 0.0,
        }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which probe a check counts for.
///
/// Liveness ("is the process healthy, or should it be restarted?") should
/// only include what a restart fixes, such as a stuck event loop; a
/// database outage is a readiness matter, or every replica restarts at once.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum Probe {
    /// `/health`: restart the process if it fails.
    Liveness,
    /// `/ready`: stop sending it work while it fails (the default).
    #[default]
    Readiness,
    /// Both.
    Both,
}

impl Probe {
    pub(crate) fn counts_for_liveness(self) -> bool {
        matches!(self, Probe::Liveness | Probe::Both)
    }

    pub(crate) fn counts_for_readiness(self) -> bool {
        matches!(self, Probe::Readiness | Probe::Both)
    }
}

/// Why a health registry operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HealthError {
    /// A check or component name used twice.
    #[error("health check `{name}` is already registered")]
    Duplicate {
        /// The name.
        name: String,
    },
    /// An empty (or blank) name.
    #[error("health check name must not be empty")]
    EmptyName,
    /// A name no check has.
    #[error("health check `{name}` is not registered")]
    UnknownCheck {
        /// The name.
        name: String,
    },
    /// [`HealthRegistry::start`] outside a tokio runtime.
    #[error("cannot start background health checks: not inside a tokio runtime")]
    NoRuntime,
    /// The health metrics could not be registered.
    #[error("cannot register the health metrics")]
    Metrics(#[from] MetricsError),
}
