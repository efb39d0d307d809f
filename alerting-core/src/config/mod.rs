//! One serde configuration for metrics, health, shutdown and logging.
//!
//! [`MonitoringConfig`] has a section per concern; every field has a default
//! that works out of the box, so an empty file (or no file) is a valid
//! configuration. It is read from TOML and then overridden by environment
//! variables:
//!
//! ```toml
//! [metrics]
//! listen_addr = "127.0.0.1:9000"
//! path = "/metrics"
//! namespace = "bsc"
//! const_labels = { service = "bsc-monitor", env = "prod" }
//!
//! [health]
//! interval_secs = 10       # how often pulled checks run in the background
//! timeout_secs = 2         # default timeout of one check
//!
//! [shutdown]
//! deadline_secs = 30       # how long in-flight work may take to drain
//! closer_timeout_secs = 5  # default timeout of one closer
//! readiness_delay_secs = 0 # readiness down → intake stop
//!
//! [logging]
//! format = "json"          # pretty | compact | json
//! level = "info"           # off | error | warn | info | debug | trace
//! targets = { hyper = "warn", bsc_monitor = "debug" }
//!
//! [logging.file]           # absent: log to stdout
//! directory = "logs"
//! prefix = "bsc-monitor.log"
//! rotation = "daily"       # minutely | hourly | daily | never
//! max_files = 10           # 0 keeps every file
//! ```
//!
//! # Durations
//!
//! Every duration is a number of seconds in a key ending in `_secs`; a
//! fraction is allowed (`timeout_secs = 0.5`). In Rust the fields are
//! [`Duration`](std::time::Duration)s (`config.shutdown.deadline`).
//!
//! A duration is at most [`MAX_DURATION`] (100 years): longer ones, such as
//! `1e300`, are refused with an error naming the key, because adding them
//! to an [`Instant`](std::time::Instant) would overflow and panic at run
//! time. A service checks its own durations the same way with
//! [`ServiceConfig::duration_secs`] and its relatives, and the sizes it
//! allocates with [`ServiceConfig::size`].
//!
//! # No file
//!
//! [`ConfigLoader::file`] and [`MonitoringConfig::load`] require the file:
//! a path given on purpose that does not exist is a mistake worth an
//! error. For a conventional path that may or may not be there, use
//! [`ConfigLoader::file_if_exists`]: without the file the configuration is
//! the defaults and the environment.
//!
//! ```
//! use alerting_core::config::MonitoringConfig;
//!
//! let config = MonitoringConfig::loader()
//!     .file_if_exists("/nonexistent/monitoring.toml")
//!     .no_env()
//!     .load()?;
//! assert_eq!(config, MonitoringConfig::default());
//! # Ok::<(), alerting_core::config::ConfigError>(())
//! ```
//!
//! # Environment variables
//!
//! `ALERTING_<SECTION>__<KEY>` overrides `<section>.<key>`: the prefix, then
//! the path of the key with `__` (two underscores) between its parts, in any
//! case. Deeper keys work the same way:
//!
//! | variable | key |
//! |---|---|
//! | `ALERTING_SHUTDOWN__DEADLINE_SECS=10` | `shutdown.deadline_secs = 10` |
//! | `ALERTING_LOGGING__FORMAT=json` | `logging.format = "json"` |
//! | `ALERTING_METRICS__CONST_LABELS__REGION=eu` | `metrics.const_labels.region = "eu"` |
//! | `ALERTING_LOGGING__FILE__DIRECTORY=/var/log/app` | `logging.file.directory = "/var/log/app"` |
//!
//! A value is read as a TOML value (a number, a boolean, an array) when it is
//! one and the key accepts it, and as a string otherwise, so neither
//! `DEADLINE_SECS=10` nor `FORMAT=json` needs quotes. A variable whose first
//! part is not a section (`ALERTING_TELEGRAM_TOKEN`) belongs to someone else
//! and is ignored; one that names a section but not one of its keys is an
//! error, because it is almost certainly a typo. The prefix can be changed
//! with [`ConfigLoader::env_prefix`]. `RUST_LOG`, when set, replaces the
//! logging filter (see [`crate::logging`]).
//!
//! # A service's own sections
//!
//! A service usually wants one file and one prefix for everything:
//! [`ConfigLoader::load_service`] reads the library's sections into a
//! [`MonitoringConfig`] and every other section into the service's own
//! serde type, applies `<PREFIX>_<SECTION>__<KEY>` variables to both, and
//! returns a [`ServiceConfig`] that also knows where each key was set, so
//! the service's own checks can name the key and its origin
//! ([`ServiceConfig::invalid`]). [`ConfigLoader::defaults`] sets the
//! service's own defaults for library keys (its port, its `service`
//! label). In this mode every variable with the prefix belongs to the
//! service: with `#[serde(deny_unknown_fields)]` on its types, one that
//! names no key is an error naming it, not silently ignored.
//!
//! # Errors
//!
//! A bad value is a [`ConfigError`] that names the key, the value, what was
//! expected and where the value came from:
//!
//! ```
//! use alerting_core::config::MonitoringConfig;
//!
//! let err = MonitoringConfig::loader()
//!     .toml("[shutdown]\ndeadline_secs = -5\n")
//!     .load()
//!     .unwrap_err();
//! assert_eq!(
//!     err.to_string(),
//!     "invalid value for `shutdown.deadline_secs` in inline TOML: got -5, \
//!      expected a number of seconds, zero or more (such as 30 or 0.5)",
//! );
//! ```

#[cfg(feature = "config")]
mod load;
#[cfg(feature = "runtime")]
pub(crate) mod secs;

#[cfg(feature = "logging")]
mod logging;
#[cfg(feature = "config")]
mod monitoring;
#[cfg(feature = "runtime")]
mod runtime;

/// The longest duration a configuration accepts: 100 years of 365 days
/// (3,153,600,000 seconds).
///
/// It is far beyond any sensible timeout, interval or cool-down, and far
/// below what an [`Instant`](std::time::Instant) can take on every
/// platform the standard library supports (`Instant::now() +
/// MAX_DURATION` cannot overflow, nor can a few such durations added
/// together), so no duration a configuration accepts makes `Instant +
/// Duration` panic. Services usually want smaller maxima of their own:
/// [`ServiceConfig::duration_within`].
#[cfg(feature = "runtime")]
pub const MAX_DURATION: std::time::Duration = std::time::Duration::from_secs(100 * 365 * 86_400);

/// [`MAX_DURATION`] in words, for error messages.
#[cfg(feature = "runtime")]
const MAX_DURATION_TEXT: &str = "100 years";

#[cfg(feature = "config")]
pub use load::{ConfigError, ConfigLoader, Origin, ServiceConfig};
#[cfg(feature = "logging")]
pub use logging::{LogFileConfig, LogFormat, LogLevel, LogRotation, LoggingConfig, OtlpConfig};
#[cfg(feature = "config")]
pub use monitoring::{MetricsConfig, MonitoringConfig};
#[cfg(feature = "runtime")]
pub use runtime::{HealthConfig, ShutdownConfig};
