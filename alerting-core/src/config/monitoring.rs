//! The whole configuration, and its `[metrics]` section.

use std::collections::BTreeMap;
use std::fmt;
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::{ConfigError, ConfigLoader, HealthConfig, LoggingConfig, ShutdownConfig};
use crate::metrics::{MetricsError, Registry};

/// Configuration of metrics, health, shutdown and logging.
///
/// Every field has a default ([`MonitoringConfig::default`]), so a service
/// can start with no configuration at all and override what it needs. It
/// is a plain serde type: embed it in a service's own configuration
/// (`#[serde(default)] monitoring: MonitoringConfig`), or load it on its own
/// with [`MonitoringConfig::load`] to get errors that name the key and
/// environment overrides (see the [module documentation](crate::config)).
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
///
/// Its `Debug` output hides the bearer token.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct MetricsConfig {
    /// Address the metrics and health endpoints listen on. Key
    /// `listen_addr`, default `127.0.0.1:9000`: loopback only, so nothing is
    /// exposed until you choose an address Prometheus can reach.
    #[serde(deserialize_with = "listen_addr")]
    pub listen_addr: SocketAddr,
    /// Path of the metrics endpoint. Key `path`, default `/metrics`.
    pub path: String,
    /// Prefix of every metric name (`bsc` → `bsc_ws_messages_total`), or
    /// none. Key `namespace`, default none; an empty string is none.
    pub namespace: Option<String>,
    /// Labels written on every series (`service`, `env`, `region`…). Key
    /// `const_labels`, a table; default empty. The service bootstrap
    /// adds `service` (the service's name) unless it is set here.
    pub const_labels: BTreeMap<String, String>,
    /// A token that `/metrics` and the detailed health report require as
    /// `Authorization: Bearer <token>`. Key `bearer_token`, default none
    /// (open). Set it from the environment (`<PREFIX>_METRICS__BEARER_TOKEN`)
    /// rather than a committed file.
    pub bearer_token: Option<String>,
    /// Says that serving the endpoints on a non-loopback address without a
    /// token is intended (a private network, a sidecar), which silences
    /// the warning logged at start-up otherwise. Key `public`, default
    /// false.
    pub public: bool,
}

impl fmt::Debug for MetricsConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MetricsConfig")
            .field("listen_addr", &self.listen_addr)
            .field("path", &self.path)
            .field("namespace", &self.namespace)
            .field("const_labels", &self.const_labels)
            .field(
                "bearer_token",
                &self.bearer_token.as_ref().map(|_| "(hidden)"),
            )
            .field("public", &self.public)
            .finish()
    }
}

impl Default for MetricsConfig {
    fn default() -> Self {
        Self {
            listen_addr: SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::LOCALHOST, 9000)),
            path: "/metrics".to_owned(),
            namespace: None,
            const_labels: BTreeMap::new(),
            bearer_token: None,
            public: false,
        }
    }
}

/// An IP address and a port (`127.0.0.1:9000`, `[::]:9000`), with an
/// expectation that says so: the standard one is "invalid socket address
/// syntax", whatever was wrong.
fn listen_addr<'de, D: serde::Deserializer<'de>>(d: D) -> Result<SocketAddr, D::Error> {
    use serde::de::{Error, Unexpected};
    const EXPECTED: &str = "an address such as 127.0.0.1:9000 or [::]:9000 (an IP address, and a port of at most 65535)";
    let text = String::deserialize(d)?;
    text.parse()
        .map_err(|_| D::Error::invalid_value(Unexpected::Str(&text), &EXPECTED))
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
