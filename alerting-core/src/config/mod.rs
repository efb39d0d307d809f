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
//! [`Duration`]s (`config.shutdown.deadline`).
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

mod load;
pub(crate) mod secs;

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::metrics::{MetricsError, Registry};

pub use load::{ConfigError, ConfigLoader, Origin, ServiceConfig};

/// Configuration of metrics, health, shutdown and logging.
///
/// Every field has a default ([`MonitoringConfig::default`]), so a service
/// can start with no configuration at all and override what it needs. It
/// is a plain serde type: embed it in a service's own configuration
/// (`#[serde(default)] monitoring: MonitoringConfig`), or load it on its own
/// with [`MonitoringConfig::load`] to get errors that name the key and
/// environment overrides (see the [module documentation](self)).
///
/// ```
/// use std::time::Duration;
/// use alerting_core::config::{LogFormat, MonitoringConfig};
///
/// let config = MonitoringConfig::loader()
///     .toml(r#"
///         [metrics]
///         namespace = "bsc"
///         const_labels = { service = "bsc-monitor" }
///         [logging]
///         format = "json"
///     "#)
///     .env_vars([("ALERTING_SHUTDOWN__DEADLINE_SECS", "10")])
///     .load()?;
///
/// assert_eq!(config.shutdown.deadline, Duration::from_secs(10));
/// assert_eq!(config.logging.format, LogFormat::Json);
/// assert_eq!(config.health.timeout, Duration::from_secs(2)); // a default
///
/// let registry = config.metrics.registry()?;
/// assert_eq!(registry.namespace(), Some("bsc"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct MonitoringConfig {
    /// `[metrics]`: the registry and where `/metrics` is served.
    pub metrics: MetricsConfig,
    /// `[health]`: how health checks run.
    pub health: HealthConfig,
    /// `[shutdown]`: deadlines of graceful shutdown.
    pub shutdown: ShutdownConfig,
    /// `[logging]`: format, filter and destination of logs.
    pub logging: LoggingConfig,
}

impl MonitoringConfig {
    /// Reads `path` (TOML), then applies `ALERTING_…` environment variables.
    ///
    /// # Errors
    ///
    /// [`ConfigError`] if the file cannot be read or parsed, or a value (from
    /// the file or from the environment) is invalid.
    pub fn load(path: impl AsRef<Path>) -> Result<Self, ConfigError> {
        ConfigLoader::new().file(path.as_ref()).load()
    }

    /// The defaults with `ALERTING_…` environment variables applied.
    ///
    /// # Errors
    ///
    /// [`ConfigError`] if a variable's value is invalid.
    pub fn from_env() -> Result<Self, ConfigError> {
        ConfigLoader::new().load()
    }

    /// Parses TOML text, without looking at the environment.
    ///
    /// # Errors
    ///
    /// [`ConfigError`] if the text is not TOML or a value is invalid.
    pub fn from_toml_str(text: &str) -> Result<Self, ConfigError> {
        ConfigLoader::new().toml(text).no_env().load()
    }

    /// A [`ConfigLoader`] to choose the sources.
    pub fn loader() -> ConfigLoader {
        ConfigLoader::new()
    }
}

/// `[metrics]`: the registry and where metrics are served.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct MetricsConfig {
    /// Address the metrics and health endpoints listen on. Key
    /// `listen_addr`, default `127.0.0.1:9000`: loopback only, so nothing is
    /// exposed until you choose an address Prometheus can reach.
    pub listen_addr: SocketAddr,
    /// Path of the metrics endpoint. Key `path`, default `/metrics`.
    pub path: String,
    /// Prefix of every metric name (`bsc` → `bsc_ws_messages_total`), or
    /// none. Key `namespace`, default none; an empty string is none.
    pub namespace: Option<String>,
    /// Labels written on every series (`service`, `env`, `region`…). Key
    /// `const_labels`, a table; default empty.
    pub const_labels: BTreeMap<String, String>,
}

impl Default for MetricsConfig {
    fn default() -> Self {
        Self {
            listen_addr: SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::LOCALHOST, 9000)),
            path: "/metrics".to_owned(),
            namespace: None,
            const_labels: BTreeMap::new(),
        }
    }
}

impl MetricsConfig {
    /// A [`Registry`] with this namespace and these constant labels.
    ///
    /// # Errors
    ///
    /// [`MetricsError`] if the namespace or a label name is invalid (a
    /// configuration loaded by [`ConfigLoader`] has been checked already).
    pub fn registry(&self) -> Result<Registry, MetricsError> {
        let mut builder = Registry::builder();
        if let Some(ns) = self.namespace.as_deref().filter(|ns| !ns.is_empty()) {
            builder = builder.namespace(ns);
        }
        for (name, value) in &self.const_labels {
            builder = builder.const_label(name.as_str(), value.as_str());
        }
        builder.build()
    }
}

/// `[health]`: how health checks run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct HealthConfig {
    /// How often each pulled check runs in the background; reports read the
    /// latest results. Key `interval_secs`, default 10 (the readiness probe
    /// period of the seeds' Kubernetes set-up, so each probe sees a fresh
    /// result).
    #[serde(rename = "interval_secs", with = "secs::positive")]
    pub interval: Duration,
    /// How long a check may run before it counts as down, unless the check
    /// sets its own. Key `timeout_secs`, default 2.
    #[serde(rename = "timeout_secs", with = "secs::positive")]
    pub timeout: Duration,
}

impl Default for HealthConfig {
    fn default() -> Self {
        Self {
            interval: Duration::from_secs(10),
            timeout: Duration::from_secs(2),
        }
    }
}

/// `[shutdown]`: deadlines of graceful shutdown.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct ShutdownConfig {
    /// How long in-flight work may take to finish once intake has stopped.
    /// Key `deadline_secs`, default 30.
    #[serde(rename = "deadline_secs", with = "secs")]
    pub deadline: Duration,
    /// How long one closer may take, unless it sets its own. Key
    /// `closer_timeout_secs`, default 5.
    #[serde(rename = "closer_timeout_secs", with = "secs::positive")]
    pub closer_timeout: Duration,
    /// Time between readiness going down and intake being told to stop, for
    /// load balancers to notice. Key `readiness_delay_secs`, default 0.
    #[serde(rename = "readiness_delay_secs", with = "secs")]
    pub readiness_delay: Duration,
}

impl Default for ShutdownConfig {
    fn default() -> Self {
        Self {
            deadline: Duration::from_secs(30),
            closer_timeout: Duration::from_secs(5),
            readiness_delay: Duration::ZERO,
        }
    }
}

/// `[logging]`: format, filter and destination of logs.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct LoggingConfig {
    /// Key `format`: `pretty`, `compact` (default) or `json`.
    pub format: LogFormat,
    /// Key `level`: the level of every target not in `targets`. Default
    /// `info`.
    pub level: LogLevel,
    /// Key `targets`: levels of particular targets (module paths), such as
    /// `{ hyper = "warn" }`. Default empty.
    pub targets: BTreeMap<String, LogLevel>,
    /// Key `file`: write to rotated files instead of stdout. Default none.
    pub file: Option<LogFileConfig>,
}

/// How log lines are written.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum LogFormat {
    /// Multi-line, human-readable (development).
    Pretty,
    /// One human-readable line per event.
    #[default]
    Compact,
    /// One JSON object per line, span fields included (production).
    Json,
}

/// A log level; `off` turns a target off.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum LogLevel {
    /// Nothing.
    Off,
    /// Errors only.
    Error,
    /// Warnings and errors.
    Warn,
    /// Informational and above.
    #[default]
    Info,
    /// Debugging and above.
    Debug,
    /// Everything.
    Trace,
}

impl LogLevel {
    /// The level as written in a filter directive (`info`).
    pub fn as_str(self) -> &'static str {
        match self {
            LogLevel::Off => "off",
            LogLevel::Error => "error",
            LogLevel::Warn => "warn",
            LogLevel::Info => "info",
            LogLevel::Debug => "debug",
            LogLevel::Trace => "trace",
        }
    }
}

/// `[logging.file]`: rotated log files.
///
/// Files are named `<prefix>.<date>` in `directory` (`app.log.2025-11-04`
/// for daily rotation); rotation is by time, not size.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct LogFileConfig {
    /// Key `directory`, default `logs`; created if missing.
    pub directory: PathBuf,
    /// Key `prefix`: the file name before the date, default `app.log`.
    pub prefix: String,
    /// Key `rotation`: `minutely`, `hourly`, `daily` (default) or `never`.
    pub rotation: LogRotation,
    /// Key `max_files`: how many files to keep; older ones are deleted.
    /// Default 10; 0 keeps every file.
    pub max_files: usize,
}

impl Default for LogFileConfig {
    fn default() -> Self {
        Self {
            directory: PathBuf::from("logs"),
            prefix: "app.log".to_owned(),
            rotation: LogRotation::Daily,
            max_files: 10,
        }
    }
}

/// When a log file is rotated.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum LogRotation {
    /// A new file every minute.
    Minutely,
    /// A new file every hour.
    Hourly,
    /// A new file every day (UTC).
    #[default]
    Daily,
    /// One file, never rotated.
    Never,
}
