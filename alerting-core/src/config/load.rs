//! Loading: TOML layers, environment overrides, errors that name the key.

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use serde::de::DeserializeOwned;
use toml::{Table, Value};

use super::{MAX_DURATION, MonitoringConfig};
use crate::metrics::MetricsError;

/// The default prefix of environment overrides.
const DEFAULT_PREFIX: &str = "ALERTING";

/// Where a configuration value came from.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Origin {
    /// A TOML file.
    File(PathBuf),
    /// TOML text given to [`ConfigLoader::toml`].
    Inline,
    /// An environment variable (its name).
    Env(String),
    /// The built-in defaults.
    Defaults,
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::File(path) => write!(f, "in file `{}`", path.display()),
            Origin::Inline => f.write_str("in inline TOML"),
            Origin::Env(name) => write!(f, "from environment variable `{name}`"),
            Origin::Defaults => f.write_str("in the defaults"),
        }
    }
}

/// Why a configuration could not be loaded.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read config file `{}`", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The text is not TOML.
    #[error("invalid TOML {origin} at line {line}, column {column}: {message}")]
    Parse {
        /// The file or inline text.
        origin: Origin,
        /// 1-based line of the error.
        line: usize,
        /// 1-based column of the error.
        column: usize,
        /// What the TOML parser said.
        message: String,
    },
    /// A key no section has.
    #[error("unknown key `{key}` {origin}, expected {expected}")]
    UnknownKey {
        /// The key, dotted (`shutdown.deadline`).
        key: String,
        /// Where it was set.
        origin: Origin,
        /// The keys that exist there.
        expected: String,
    },
    /// A value of the wrong type or out of range.
    #[error("invalid value for `{key}` {origin}: got {value}, expected {expected}")]
    Invalid {
        /// The key, dotted (`shutdown.deadline_secs`).
        key: String,
        /// The value, as TOML (`"abc"`, `-5`).
        value: String,
        /// What the key accepts.
        expected: String,
        /// Where it was set.
        origin: Origin,
    },
}

impl ConfigError {
    /// The dotted key the error is about, if it is about one.
    pub fn key(&self) -> Option<&str> {
        match self {
            ConfigError::UnknownKey { key, .. } | ConfigError::Invalid { key, .. } => Some(key),
            _ => None,
        }
    }
}

#[derive(Clone, Debug)]
enum Layer {
    Defaults(String),
    File(PathBuf),
    FileIfExists(PathBuf),
    Text(String),
}

#[derive(Clone, Debug)]
enum EnvSource {
    Process,
    Vars(Vec<(String, String)>),
    Off,
}

/// Chooses where a [`MonitoringConfig`] comes from: TOML layers (files and
/// text, later ones overriding earlier ones key by key), then environment
/// variables.
///
/// By default there is no TOML and the process environment is read with the
/// `ALERTING` prefix.
///
/// ```
/// use std::time::Duration;
/// use alerting_core::config::ConfigLoader;
///
/// let config = ConfigLoader::new()
///     .toml("[health]\ninterval_secs = 30\n")
///     .env_vars([("ALERTING_HEALTH__TIMEOUT_SECS", "0.5")])
///     .load()?;
/// assert_eq!(config.health.interval, Duration::from_secs(30));
/// assert_eq!(config.health.timeout, Duration::from_millis(500));
/// # Ok::<(), alerting_core::config::ConfigError>(())
/// ```
#[derive(Clone, Debug)]
#[must_use]
pub struct ConfigLoader {
    layers: Vec<Layer>,
    env: EnvSource,
    prefix: String,
}

impl Default for ConfigLoader {
    fn default() -> Self {
        Self::new()
    }
}

impl ConfigLoader {
    /// No TOML; the process environment with the `ALERTING` prefix.
    pub fn new() -> Self {
        Self {
            layers: Vec::new(),
            env: EnvSource::Process,
            prefix: DEFAULT_PREFIX.to_owned(),
        }
    }

    /// Adds TOML text of defaults: a service's own defaults for library
    /// keys (its port, its `service` label). Defaults lie below every file
    /// and text layer, whatever the order of the calls (several defaults
    /// apply in their order). An error in them is reported as
    /// [`Origin::Defaults`].
    pub fn defaults(mut self, text: impl Into<String>) -> Self {
        self.layers.push(Layer::Defaults(text.into()));
        self
    }

    /// Adds a TOML file; it must exist ([`ConfigError::Read`] otherwise).
    pub fn file(mut self, path: impl Into<PathBuf>) -> Self {
        self.layers.push(Layer::File(path.into()));
        self
    }

    /// Adds a TOML file if there is one: a file that does not exist is
    /// skipped, as if it were empty, so "no file" is a valid configuration
    /// (the defaults, then the environment). A file that exists but cannot
    /// be read (permissions, a directory) is still a [`ConfigError::Read`].
    ///
    /// ```
    /// use alerting_core::config::ConfigLoader;
    ///
    /// let config = ConfigLoader::new()
    ///     .file_if_exists("/nonexistent/app.toml")
    ///     .env_vars([("ALERTING_SHUTDOWN__DEADLINE_SECS", "3")])
    ///     .load()?;
    /// assert_eq!(config.shutdown.deadline.as_secs(), 3);
    /// # Ok::<(), alerting_core::config::ConfigError>(())
    /// ```
    pub fn file_if_exists(mut self, path: impl Into<PathBuf>) -> Self {
        self.layers.push(Layer::FileIfExists(path.into()));
        self
    }

    /// Adds TOML text.
    pub fn toml(mut self, text: impl Into<String>) -> Self {
        self.layers.push(Layer::Text(text.into()));
        self
    }

    /// Reads overrides from `<prefix>_…` variables instead of `ALERTING_…`.
    pub fn env_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// Reads overrides from these variables instead of the process
    /// environment (for tests, or a `.env` file read elsewhere).
    pub fn env_vars<K, V>(mut self, vars: impl IntoIterator<Item = (K, V)>) -> Self
    where
        K: Into<String>,
        V: Into<String>,
    {
        self.env = EnvSource::Vars(
            vars.into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        );
        self
    }

    /// Ignores environment variables.
    pub fn no_env(mut self) -> Self {
        self.env = EnvSource::Off;
        self
    }

    /// Reads the sources in order and checks every value.
    ///
    /// # Errors
    ///
    /// [`ConfigError`] naming the file, or the key, value, expectation and
    /// origin of the first bad value.
    pub fn load(self) -> Result<MonitoringConfig, ConfigError> {
        let (mut table, mut origins) = self.read_layers()?;
        for (name, raw) in self.collect_env()? {
            apply_env(&mut table, &mut origins, &self.prefix, &name, &raw)?;
        }
        monitoring_from(table, &origins)
    }

    /// Loads a service's whole configuration from the same sources: the
    /// library's sections (`[metrics]`, `[health]`, `[shutdown]`,
    /// `[logging]`) into a [`MonitoringConfig`], and every other top-level
    /// section into the service's own type `A`.
    ///
    /// Environment variables with the prefix override both kinds of key
    /// (`<PREFIX>_NODE__URL` sets `node.url` of `A`); a value is read as a
    /// TOML literal when `A` accepts it there, and as a string otherwise.
    /// `A` decides what is unknown: with `#[serde(deny_unknown_fields)]`
    /// a misspelt section or key is an error naming it.
    ///
    /// ```
    /// use alerting_core::config::ConfigLoader;
    /// use serde::Deserialize;
    ///
    /// #[derive(Debug, Default, Deserialize)]
    /// #[serde(default, deny_unknown_fields)]
    /// struct App {
    ///     node: Node,
    /// }
    ///
    /// #[derive(Debug, Default, Deserialize)]
    /// #[serde(default, deny_unknown_fields)]
    /// struct Node {
    ///     url: String,
    ///     retries: u32,
    /// }
    ///
    /// let config = ConfigLoader::new()
    ///     .defaults("[metrics]\nlisten_addr = \"127.0.0.1:9464\"\n")
    ///     .toml("[node]\nurl = \"wss://bsc.example\"\n[shutdown]\ndeadline_secs = 10\n")
    ///     .env_prefix("BSC_MONITOR")
    ///     .env_vars([("BSC_MONITOR_NODE__RETRIES", "3")])
    ///     .load_service::<App>()?;
    /// assert_eq!(config.app.node.url, "wss://bsc.example");
    /// assert_eq!(config.app.node.retries, 3);
    /// assert_eq!(config.monitoring.metrics.listen_addr.port(), 9464);
    ///
    /// // The service's own checks name the key and where it was set.
    /// if config.app.node.retries > 2 {
    ///     let err = config.invalid("node.retries", config.app.node.retries, "at most 2");
    ///     assert_eq!(
    ///         err.to_string(),
    ///         "invalid value for `node.retries` from environment variable \
    ///          `BSC_MONITOR_NODE__RETRIES`: got 3, expected at most 2",
    ///     );
    /// }
    /// # Ok::<(), alerting_core::config::ConfigError>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`ConfigError`] naming the file, or the key, value, expectation and
    /// origin of the first bad value, in either kind of section.
    pub fn load_service<A: DeserializeOwned>(self) -> Result<ServiceConfig<A>, ConfigError> {
        let (mut table, mut origins) = self.read_layers()?;
        let library = sections();
        let mut app = Table::new();
        for key in table.keys().cloned().collect::<Vec<_>>() {
            if !library.contains(&key)
                && let Some(value) = table.remove(&key)
            {
                app.insert(key, value);
            }
        }
        for (name, raw) in self.collect_env()? {
            let path = env_key(&self.prefix, &name);
            if path
                .first()
                .is_some_and(|section| library.contains(section))
            {
                apply_env(&mut table, &mut origins, &self.prefix, &name, &raw)?;
            } else {
                apply_app_env::<A>(&mut app, &mut origins, &self.prefix, &name, &raw)?;
            }
        }
        let monitoring = monitoring_from(table, &origins)?;
        let app = app_from::<A>(app, &origins)?;
        Ok(ServiceConfig {
            monitoring,
            app,
            origins,
        })
    }

    /// Reads and merges the TOML layers, recording where each key was set.
    fn read_layers(&self) -> Result<(Table, Origins), ConfigError> {
        let mut table = Table::new();
        let mut origins = Origins::default();
        // Defaults lie under every other layer, whenever they were added.
        let layers = self
            .layers
            .iter()
            .filter(|l| matches!(l, Layer::Defaults(_)))
            .chain(
                self.layers
                    .iter()
                    .filter(|l| !matches!(l, Layer::Defaults(_))),
            );
        for layer in layers {
            let (origin, text) = match layer {
                Layer::Defaults(text) => (Origin::Defaults, text.clone()),
                Layer::File(path) => {
                    let text =
                        std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
                            path: path.clone(),
                            source,
                        })?;
                    (Origin::File(path.clone()), text)
                }
                Layer::FileIfExists(path) => match std::fs::read_to_string(path) {
                    Ok(text) => (Origin::File(path.clone()), text),
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                    Err(source) => {
                        return Err(ConfigError::Read {
                            path: path.clone(),
                            source,
                        });
                    }
                },
                Layer::Text(text) => (Origin::Inline, text.clone()),
            };
            let layer_table = parse_toml(&text, &origin)?;
            origins.record(&mut Vec::new(), &layer_table, &origin);
            merge(&mut table, layer_table);
        }
        Ok((table, origins))
    }

    fn collect_env(&self) -> Result<Vec<(String, String)>, ConfigError> {
        let lead = format!("{}_", self.prefix);
        let mut vars: Vec<(String, String)> = match &self.env {
            EnvSource::Off => return Ok(Vec::new()),
            EnvSource::Vars(vars) => vars
                .iter()
                .filter(|(k, _)| k.starts_with(&lead))
                .cloned()
                .collect(),
            EnvSource::Process => {
                let mut out = Vec::new();
                for (k, v) in std::env::vars_os() {
                    let Some(k) = k.to_str() else { continue };
                    if !k.starts_with(&lead) {
                        continue;
                    }
                    match v.into_string() {
                        Ok(v) => out.push((k.to_owned(), v)),
                        Err(v) => {
                            return Err(ConfigError::Invalid {
                                key: env_key(&self.prefix, k).join("."),
                                value: format!("{v:?}"),
                                expected: "UTF-8 text".to_owned(),
                                origin: Origin::Env(k.to_owned()),
                            });
                        }
                    }
                }
                out
            }
        };
        // Deterministic, whatever order the environment lists them in.
        vars.sort();
        Ok(vars)
    }
}

/// Deserializes and checks the library's sections.
fn monitoring_from(table: Table, origins: &Origins) -> Result<MonitoringConfig, ConfigError> {
    let mut config: MonitoringConfig = match Value::Table(table.clone()).try_into() {
        Ok(config) => config,
        Err(whole) => {
            return Err(locate(&table, origins).unwrap_or_else(|| invalid_whole(&whole)));
        }
    };
    check(&mut config, origins)?;
    Ok(config)
}

/// Deserializes a service's own sections, naming the key at fault.
fn app_from<A: DeserializeOwned>(table: Table, origins: &Origins) -> Result<A, ConfigError> {
    let failure = match deserialize_app::<A>(&table) {
        Ok(app) => return Ok(app),
        Err(failure) => failure,
    };
    let value = lookup(&table, &failure.path).map(show).unwrap_or_default();
    Err(from_message(
        failure.path.join("."),
        value,
        &failure.message,
        origins.of(&failure.path),
    ))
}

/// Why a service's sections did not deserialize, and where.
struct AppFailure {
    path: Vec<String>,
    message: String,
}

fn deserialize_app<A: DeserializeOwned>(table: &Table) -> Result<A, AppFailure> {
    serde_path_to_error::deserialize(Value::Table(table.clone())).map_err(|e| {
        let mut path: Vec<String> = e
            .path()
            .iter()
            .filter_map(|segment| match segment {
                serde_path_to_error::Segment::Map { key } => Some(key.clone()),
                serde_path_to_error::Segment::Seq { index } => Some(index.to_string()),
                serde_path_to_error::Segment::Enum { variant } => Some(variant.clone()),
                _ => None,
            })
            .collect();
        // The TOML deserializer may add a line naming the table: the path
        // says it already.
        let message = e
            .inner()
            .to_string()
            .lines()
            .next()
            .unwrap_or_default()
            .trim()
            .to_owned();
        // An unknown or missing key is reported on the table that holds it.
        if let Some(field) = unknown_field(&message).or_else(|| missing_field(&message))
            && path.last().map(String::as_str) != Some(field)
        {
            path.push(field.to_owned());
        }
        // A misspelt section: say which sections exist, the library's too.
        let message = if path.len() == 1 && unknown_field(&message).is_some() {
            with_library_sections(&message)
        } else {
            message
        };
        AppFailure { path, message }
    })
}

/// Adds the library's sections to what serde says a service's top level
/// expects: `unknown field `metrcs`, expected one of `node`, `pipeline``.
fn with_library_sections(message: &str) -> String {
    let library = sections()
        .iter()
        .map(|s| format!("`{s}`"))
        .collect::<Vec<_>>()
        .join(", ");
    let field = message.split_once(", ").map_or(message, |(field, _)| field);
    match message.split_once(", expected ") {
        Some((_, app)) => {
            format!("{field}, expected {app} (the service's sections) or {library} (the library's)")
        }
        None => format!("{field}, expected one of {library} (the library's sections)"),
    }
}

/// `unknown field `x`, expected …` → `x`.
fn unknown_field(message: &str) -> Option<&str> {
    message.strip_prefix("unknown field `")?.split('`').next()
}

/// `missing field `x`` → `x`.
fn missing_field(message: &str) -> Option<&str> {
    message.strip_prefix("missing field `")?.split('`').next()
}

fn lookup<'t>(table: &'t Table, path: &[String]) -> Option<&'t Value> {
    let (first, rest) = path.split_first()?;
    let mut value = table.get(first)?;
    for key in rest {
        value = match value {
            Value::Table(t) => t.get(key)?,
            Value::Array(items) => items.get(key.parse::<usize>().ok()?)?,
            _ => return None,
        };
    }
    Some(value)
}

/// Applies one variable to a service's own sections: the TOML literal
/// when the service accepts it at that key, else the text as a string.
fn apply_app_env<A: DeserializeOwned>(
    table: &mut Table,
    origins: &mut Origins,
    prefix: &str,
    name: &str,
    raw: &str,
) -> Result<(), ConfigError> {
    let path = env_key(prefix, name);
    let origin = Origin::Env(name.to_owned());
    if path.iter().any(String::is_empty) {
        return Err(ConfigError::UnknownKey {
            key: path.join("."),
            origin,
            expected: format!("a variable named `{prefix}_<SECTION>__<KEY>`"),
        });
    }
    let typed = raw.parse::<Value>().ok();
    let candidates: Vec<Value> = typed
        .into_iter()
        .chain(std::iter::once(Value::String(raw.to_owned())))
        .collect();
    let mut first_error = None;
    for candidate in &candidates {
        let mut trial = table.clone();
        insert(&mut trial, &path, candidate.clone());
        // Accepted unless the service refuses this very key (a bad value
        // elsewhere is reported later, with its own origin).
        match deserialize_app::<A>(&trial) {
            // A key still missing is not this variable's fault (another may
            // set it); it is reported once every variable is applied.
            Err(failure)
                if !failure.message.starts_with("missing field")
                    && (failure.path.starts_with(&path) || path.starts_with(&failure.path)) =>
            {
                first_error.get_or_insert(failure.message);
            }
            _ => {
                *table = trial;
                origins.0.retain(|k, _| !k.starts_with(&path));
                origins.0.insert(path, origin);
                return Ok(());
            }
        }
    }
    Err(from_message(
        path.join("."),
        quote(raw),
        &first_error.unwrap_or_default(),
        origin,
    ))
}

/// A service's whole configuration: the library's sections and its own,
/// loaded together by [`ConfigLoader::load_service`].
///
/// It remembers where each key was set, so that the service's own checks
/// (ranges, keys that depend on each other) report errors the way the
/// loader does: [`ServiceConfig::invalid`].
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct ServiceConfig<A> {
    /// `[metrics]`, `[health]`, `[shutdown]`, `[logging]`.
    pub monitoring: MonitoringConfig,
    /// Every other section.
    pub app: A,
    origins: Origins,
}

impl<A> ServiceConfig<A> {
    /// Where `key` (dotted: `node.url`) was set: the layer or variable that
    /// set it or the nearest table above it, or [`Origin::Defaults`].
    pub fn origin(&self, key: &str) -> Origin {
        let path: Vec<String> = key.split('.').map(str::to_owned).collect();
        self.origins.of(&path)
    }

    /// Checks that `value` (the number at `key`) is finite and above 0.
    ///
    /// # Errors
    ///
    /// [`ConfigError::Invalid`] naming the key and its origin.
    pub fn positive(&self, key: &str, value: f64) -> Result<(), ConfigError> {
        if value.is_finite() && value > 0.0 {
            Ok(())
        } else {
            Err(self.invalid(key, float(value), "a number above 0"))
        }
    }

    /// Checks that `value` is finite and 0 or more.
    ///
    /// # Errors
    ///
    /// [`ConfigError::Invalid`] naming the key and its origin.
    pub fn non_negative(&self, key: &str, value: f64) -> Result<(), ConfigError> {
        if value.is_finite() && value >= 0.0 {
            Ok(())
        } else {
            Err(self.invalid(key, float(value), "a number, 0 or more"))
        }
    }

    /// Checks that `value` is a fraction from 0 to 1.
    ///
    /// # Errors
    ///
    /// [`ConfigError::Invalid`] naming the key and its origin.
    pub fn fraction(&self, key: &str, value: f64) -> Result<(), ConfigError> {
        if (0.0..=1.0).contains(&value) {
            Ok(())
        } else {
            Err(self.invalid(key, float(value), "a fraction from 0 to 1"))
        }
    }

    /// Checks that `value` is within `range` (a NaN is not).
    ///
    /// ```
    /// use alerting_core::config::ConfigLoader;
    ///
    /// let config = ConfigLoader::new()
    ///     .toml("[pool]\nsize = 0\n")
    ///     .no_env()
    ///     .load_service::<toml::Table>()?;
    /// let size = config.app["pool"]["size"].as_integer().unwrap_or(0);
    /// let err = config.within("pool.size", size, 1..=64).unwrap_err();
    /// assert_eq!(
    ///     err.to_string(),
    ///     "invalid value for `pool.size` in inline TOML: got 0, expected 1 to 64",
    /// );
    /// # Ok::<(), alerting_core::config::ConfigError>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`ConfigError::Invalid`] naming the key and its origin.
    pub fn within<T>(
        &self,
        key: &str,
        value: T,
        range: std::ops::RangeInclusive<T>,
    ) -> Result<(), ConfigError>
    where
        T: PartialOrd + fmt::Display,
    {
        if range.contains(&value) {
            Ok(())
        } else {
            Err(self.invalid(key, &value, format!("{} to {}", range.start(), range.end())))
        }
    }

    /// Checks that `secs` (the number of seconds at `key`) is a duration
    /// of zero or more, at most [`MAX_DURATION`], and returns it: the
    /// same check as the library's own `*_secs` keys. A duration that
    /// passes can be added to any [`Instant`](std::time::Instant) without
    /// overflow.
    ///
    /// ```
    /// use std::time::Duration;
    /// use alerting_core::config::ConfigLoader;
    ///
    /// let config = ConfigLoader::new()
    ///     .env_vars([("APP_COOLDOWN__JITTER_SECS", "1e300")])
    ///     .env_prefix("APP")
    ///     .load_service::<toml::Table>()?;
    /// let jitter = config.app["cooldown"]["jitter_secs"].as_float().unwrap_or(0.0);
    /// let err = config.duration_secs("cooldown.jitter_secs", jitter).unwrap_err();
    /// assert_eq!(
    ///     err.to_string(),
    ///     "invalid value for `cooldown.jitter_secs` from environment variable \
    ///      `APP_COOLDOWN__JITTER_SECS`: got 1e300, expected a number of seconds \
    ///      of at most 3153600000 (100 years)",
    /// );
    /// assert_eq!(config.duration_secs("cooldown.jitter_secs", 0.5)?, Duration::from_millis(500));
    /// # Ok::<(), alerting_core::config::ConfigError>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`ConfigError::Invalid`] naming the key, the value and its origin
    /// when `secs` is negative, not finite or too long.
    pub fn duration_secs(&self, key: &str, secs: f64) -> Result<Duration, ConfigError> {
        super::secs::checked(secs, false)
            .map_err(|expected| self.invalid(key, float(secs), expected))
    }

    /// As [`duration_secs`](Self::duration_secs), but zero is refused too
    /// (timeouts, intervals).
    ///
    /// # Errors
    ///
    /// [`ConfigError::Invalid`] naming the key, the value and its origin
    /// when `secs` is not above zero, not finite or too long.
    pub fn positive_duration_secs(&self, key: &str, secs: f64) -> Result<Duration, ConfigError> {
        super::secs::checked(secs, true)
            .map_err(|expected| self.invalid(key, float(secs), expected))
    }

    /// Checks that `value`, a number of `unit`s at `key` (seconds,
    /// minutes, milliseconds: `Duration::from_secs(60)` for a key in
    /// minutes), is a duration within `range`, and returns it. The range
    /// is the service's own limit for the key; its end is capped at
    /// [`MAX_DURATION`]. Use a small positive start (a millisecond) for a
    /// key that must not be zero.
    ///
    /// ```
    /// use std::time::Duration;
    /// use alerting_core::config::ConfigLoader;
    ///
    /// let config = ConfigLoader::new()
    ///     .toml("[cooldown]\nminutes = 1e300\n")
    ///     .no_env()
    ///     .load_service::<toml::Table>()?;
    /// let minutes = config.app["cooldown"]["minutes"].as_float().unwrap_or(0.0);
    /// let week = Duration::from_secs(7 * 86_400);
    /// let err = config
    ///     .duration_within("cooldown.minutes", minutes, Duration::from_secs(60), Duration::ZERO..=week)
    ///     .unwrap_err();
    /// assert_eq!(
    ///     err.to_string(),
    ///     "invalid value for `cooldown.minutes` in inline TOML: got 1e300, \
    ///      expected a number of minutes from 0 to 10080",
    /// );
    /// # Ok::<(), alerting_core::config::ConfigError>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`ConfigError::Invalid`] naming the key, the value (in its unit)
    /// and its origin when it is outside the range or not finite.
    pub fn duration_within(
        &self,
        key: &str,
        value: f64,
        unit: Duration,
        range: std::ops::RangeInclusive<Duration>,
    ) -> Result<Duration, ConfigError> {
        let (start, end) = (*range.start(), (*range.end()).min(MAX_DURATION));
        let in_units = |d: Duration| {
            if unit.is_zero() {
                0.0
            } else {
                d.as_secs_f64() / unit.as_secs_f64()
            }
        };
        let expected = || {
            format!(
                "a number of {} from {} to {}",
                unit_name(unit),
                in_units(start),
                in_units(end)
            )
        };
        let duration = if value.is_finite() && value >= 0.0 {
            Duration::try_from_secs_f64(value * unit.as_secs_f64()).ok()
        } else {
            None
        };
        match duration {
            Some(d) if start <= d && d <= end => Ok(d),
            _ => Err(self.invalid(key, float(value), expected())),
        }
    }

    /// Checks that `value` (at `key`) is a size from 1 to `max` (a number
    /// of items the service allocates room for: pairs, connections, a
    /// batch) and returns it as a `usize`. Choose `max` so that `max`
    /// items fit in memory: a size the loader accepted must never make the
    /// process abort on a failed allocation.
    ///
    /// ```
    /// use alerting_core::config::ConfigLoader;
    ///
    /// let config = ConfigLoader::new()
    ///     .toml("[simulator]\npairs = 4000000000\n")
    ///     .no_env()
    ///     .load_service::<toml::Table>()?;
    /// let pairs = config.app["simulator"]["pairs"].as_integer().unwrap_or(0);
    /// let err = config.size("simulator.pairs", pairs, 100_000).unwrap_err();
    /// assert_eq!(
    ///     err.to_string(),
    ///     "invalid value for `simulator.pairs` in inline TOML: got 4000000000, \
    ///      expected a size from 1 to 100000",
    /// );
    /// # Ok::<(), alerting_core::config::ConfigError>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`ConfigError::Invalid`] naming the key, the value and its origin
    /// when the size is 0 or above `max`.
    pub fn size<T>(&self, key: &str, value: T, max: usize) -> Result<usize, ConfigError>
    where
        T: Copy + TryInto<usize> + fmt::Display,
    {
        match value.try_into() {
            Ok(n) if (1..=max).contains(&n) => Ok(n),
            _ => Err(self.invalid(key, value, format!("a size from 1 to {max}"))),
        }
    }

    /// A [`ConfigError::Invalid`] for `key`, with its origin: `value` as
    /// the user wrote it (quote strings: `format!("{s:?}")`), and what the
    /// key accepts.
    pub fn invalid(
        &self,
        key: &str,
        value: impl fmt::Display,
        expected: impl Into<String>,
    ) -> ConfigError {
        ConfigError::Invalid {
            key: key.to_owned(),
            value: value.to_string(),
            expected: expected.into(),
            origin: self.origin(key),
        }
    }
}

fn parse_toml(text: &str, origin: &Origin) -> Result<Table, ConfigError> {
    text.parse::<Table>().map_err(|e| {
        let (line, column) = e
            .span()
            .map(|span| line_column(text, span.start))
            .unwrap_or((1, 1));
        ConfigError::Parse {
            origin: origin.clone(),
            line,
            column,
            message: e.message().trim().to_owned(),
        }
    })
}

fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let before = &text.as_bytes()[..offset.min(text.len())];
    let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
    let column = before.iter().rev().take_while(|&&b| b != b'\n').count() + 1;
    (line, column)
}

/// Deep merge: tables are merged key by key, anything else replaced.
fn merge(into: &mut Table, from: Table) {
    for (key, value) in from {
        match (into.get_mut(&key), value) {
            (Some(Value::Table(existing)), Value::Table(new)) => merge(existing, new),
            (_, value) => {
                into.insert(key, value);
            }
        }
    }
}

/// Where each leaf was last set.
#[derive(Clone, Debug, Default)]
struct Origins(BTreeMap<Vec<String>, Origin>);

impl Origins {
    fn record(&mut self, path: &mut Vec<String>, table: &Table, origin: &Origin) {
        for (key, value) in table {
            path.push(key.clone());
            match value {
                Value::Table(inner) if !inner.is_empty() => self.record(path, inner, origin),
                _ => {
                    self.0.insert(path.clone(), origin.clone());
                }
            }
            path.pop();
        }
    }

    /// The origin of `path`, of the nearest key above it, or of a key below
    /// it (a table whose bad part is a child).
    fn of(&self, path: &[String]) -> Origin {
        if path.is_empty() {
            return Origin::Defaults;
        }
        for len in (1..=path.len()).rev() {
            if let Some(origin) = self.0.get(&path[..len]) {
                return origin.clone();
            }
        }
        // A table: the origin of its keys that overrides the others (a
        // variable over a file or text, those over the defaults).
        let rank = |o: &Origin| match o {
            Origin::Env(_) => 3,
            Origin::File(_) | Origin::Inline => 2,
            Origin::Defaults => 1,
        };
        self.0
            .iter()
            .filter(|(k, _)| k.starts_with(path))
            .map(|(_, o)| o)
            .max_by_key(|o| rank(o))
            .cloned()
            .unwrap_or(Origin::Defaults)
    }
}

/// The key path of `ALERTING_SHUTDOWN__DEADLINE_SECS`: `shutdown`,
/// `deadline_secs`.
fn env_key(prefix: &str, name: &str) -> Vec<String> {
    name[prefix.len() + 1..]
        .split("__")
        .map(str::to_ascii_lowercase)
        .collect()
}

/// The library's sections (`MonitoringConfig`'s fields), sorted as a
/// table lists its keys. Written out rather than serialized from a default
/// `MonitoringConfig`: serializing built every config type's `Serialize`
/// into the library for four names.
fn sections() -> Vec<String> {
    // A field added to `MonitoringConfig` stops this from compiling until
    // the list names it.
    let _ = |c: &MonitoringConfig| {
        let MonitoringConfig {
            metrics: _,
            health: _,
            shutdown: _,
            logging: _,
        } = c;
    };
    ["health", "logging", "metrics", "shutdown"]
        .map(str::to_owned)
        .to_vec()
}

fn apply_env(
    table: &mut Table,
    origins: &mut Origins,
    prefix: &str,
    name: &str,
    raw: &str,
) -> Result<(), ConfigError> {
    let path = env_key(prefix, name);
    let origin = Origin::Env(name.to_owned());
    let Some(section) = path.first() else {
        return Ok(());
    };
    if !sections().contains(section) {
        // `ALERTING_TELEGRAM_TOKEN` is someone else's.
        return Ok(());
    }
    if path.len() < 2 || path.iter().any(String::is_empty) {
        return Err(ConfigError::UnknownKey {
            key: path.join("."),
            origin,
            expected: format!("a variable named `{prefix}_<SECTION>__<KEY>`"),
        });
    }

    // A TOML literal when it is one and the key takes it, else a string.
    let typed = raw.parse::<Value>().ok();
    let candidates = typed
        .iter()
        .cloned()
        .chain(std::iter::once(Value::String(raw.to_owned())));
    let mut first_error = None;
    for candidate in candidates {
        match single(&path, candidate.clone()).try_into::<MonitoringConfig>() {
            Ok(_) => {
                insert(table, &path, candidate);
                origins.0.retain(|k, _| !k.starts_with(&path));
                origins.0.insert(path, origin);
                return Ok(());
            }
            Err(e) => {
                first_error.get_or_insert(e);
            }
        }
    }
    let message = first_error
        .map(|e| e.message().to_owned())
        .unwrap_or_default();
    Err(from_message(path.join("."), quote(raw), &message, origin))
}

/// A table holding only `value` at `path`.
fn single(path: &[String], value: Value) -> Table {
    let mut table = Table::new();
    insert(&mut table, path, value);
    table
}

fn insert(table: &mut Table, path: &[String], value: Value) {
    let Some((last, parents)) = path.split_last() else {
        return;
    };
    let mut here = table;
    for key in parents {
        let slot = here
            .entry(key.clone())
            .or_insert_with(|| Value::Table(Table::new()));
        if !slot.is_table() {
            *slot = Value::Table(Table::new());
        }
        let Value::Table(next) = slot else {
            unreachable!("made a table just above")
        };
        here = next;
    }
    here.insert(last.clone(), value);
}

/// Finds the deepest key that fails on its own, so the error names it.
fn locate(table: &Table, origins: &Origins) -> Option<ConfigError> {
    fn walk(path: &mut Vec<String>, value: &Value, origins: &Origins) -> Option<ConfigError> {
        let Err(e) = single(path, value.clone()).try_into::<MonitoringConfig>() else {
            return None;
        };
        if let Value::Table(inner) = value {
            for (key, child) in inner {
                path.push(key.clone());
                let found = walk(path, child, origins);
                path.pop();
                if found.is_some() {
                    return found;
                }
            }
        }
        Some(from_message(
            path.join("."),
            show(value),
            e.message(),
            origins.of(path),
        ))
    }
    let mut path = Vec::new();
    for (key, value) in table {
        path.push(key.clone());
        if let Some(found) = walk(&mut path, value, origins) {
            return Some(found);
        }
        path.pop();
    }
    None
}

fn invalid_whole(e: &toml::de::Error) -> ConfigError {
    from_message(String::new(), String::new(), e.message(), Origin::Defaults)
}

/// Splits serde's "invalid type: string \"x\", expected a number" into what
/// was expected, and tells an unknown key from a bad value.
fn from_message(key: String, value: String, message: &str, origin: Origin) -> ConfigError {
    let message = message.trim();
    let expected = match message.split_once(", expected ") {
        Some((_, expected)) => expected.to_owned(),
        None => message.to_owned(),
    };
    if message.starts_with("unknown field") {
        ConfigError::UnknownKey {
            key,
            origin,
            expected,
        }
    } else {
        ConfigError::Invalid {
            key,
            value,
            expected,
            origin,
        }
    }
}

/// Checks serde cannot express: names the registry would refuse, paths.
fn check(config: &mut MonitoringConfig, origins: &Origins) -> Result<(), ConfigError> {
    let invalid = |key: Vec<&str>, value: String, expected: &str| {
        let path: Vec<String> = key.iter().map(|s| (*s).to_owned()).collect();
        ConfigError::Invalid {
            key: key.join("."),
            value,
            expected: expected.to_owned(),
            origin: origins.of(&path),
        }
    };
    let quoted = quote;

    let metrics = &mut config.metrics;
    if metrics.namespace.as_deref() == Some("") {
        metrics.namespace = None;
    }
    if let Err(e) = metrics.registry() {
        return Err(match e {
            MetricsError::NotSnakeCase { name } => invalid(
                vec!["metrics", "namespace"],
                quoted(&name),
                "a snake_case name (lowercase ASCII letters, digits and single underscores, starting with a letter)",
            ),
            MetricsError::InvalidLabelName { label, .. }
            | MetricsError::ReservedLabel { label, .. }
            | MetricsError::DuplicateLabel { label, .. } => invalid(
                vec!["metrics", "const_labels", label.as_str()],
                quoted(&label),
                "a label name matching [a-zA-Z_][a-zA-Z0-9_]* that does not start with `__`",
            ),
            other => invalid(vec!["metrics"], String::new(), &other.to_string()),
        });
    }
    // To Prometheus an empty label value is no label at all: a rule that
    // filters on it (`service="…"`) would silently match nothing.
    if let Some((name, _)) = metrics.const_labels.iter().find(|(_, v)| v.is_empty()) {
        return Err(invalid(
            vec!["metrics", "const_labels", name.as_str()],
            quoted(""),
            "a non-empty label value (to Prometheus an empty value is no label, \
             and rules filtering on it match nothing)",
        ));
    }
    if !metrics.path.starts_with('/') || metrics.path.chars().any(char::is_whitespace) {
        return Err(invalid(
            vec!["metrics", "path"],
            quoted(&metrics.path),
            "a URL path starting with `/`",
        ));
    }
    if let Some(token) = &metrics.bearer_token {
        // Printable ASCII without spaces: what an `Authorization: Bearer`
        // header can carry, and never empty (an empty token protects
        // nothing). The value is not echoed back: it is a secret.
        if token.is_empty() || !token.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(invalid(
                vec!["metrics", "bearer_token"],
                "(hidden)".to_owned(),
                "a non-empty token of printable ASCII characters without spaces",
            ));
        }
    }

    for target in config.logging.targets.keys() {
        let bad = target.is_empty()
            || target
                .chars()
                .any(|c| c.is_whitespace() || matches!(c, ',' | '=' | '[' | ']' | '{' | '}'));
        if bad {
            return Err(invalid(
                vec!["logging", "targets", target.as_str()],
                quoted(target),
                "a target such as `hyper` or `my_crate::module`",
            ));
        }
    }
    if let Some(otlp) = &config.logging.otlp {
        if cfg!(not(feature = "otlp")) {
            return Err(invalid(
                vec!["logging", "otlp"],
                "a `[logging.otlp]` table".to_owned(),
                "no `[logging.otlp]`: span export needs alerting-core's `otlp` feature",
            ));
        }
        let rest = otlp.endpoint.strip_prefix("http://").unwrap_or_default();
        let host = rest.split(['/', '?']).next().unwrap_or_default();
        if host.is_empty()
            || otlp
                .endpoint
                .bytes()
                .any(|b| b.is_ascii_control() || b == b' ')
        {
            return Err(invalid(
                vec!["logging", "otlp", "endpoint"],
                quoted(&otlp.endpoint),
                "an http:// URL of a collector's traces endpoint, such as http://127.0.0.1:4318/v1/traces",
            ));
        }
    }
    if let Some(file) = &config.logging.file {
        if cfg!(not(feature = "log-files")) {
            return Err(invalid(
                vec!["logging", "file"],
                "a `[logging.file]` table".to_owned(),
                "no `[logging.file]`: log files need alerting-core's `log-files` feature",
            ));
        }
        if file.directory.as_os_str().is_empty() {
            return Err(invalid(
                vec!["logging", "file", "directory"],
                quoted(""),
                "a directory",
            ));
        }
        if file.prefix.is_empty() || file.prefix.contains(['/', '\\']) {
            return Err(invalid(
                vec!["logging", "file", "prefix"],
                quoted(&file.prefix),
                "a file name without a directory",
            ));
        }
    }
    Ok(())
}

/// The name of `unit` in "a number of {unit}".
fn unit_name(unit: Duration) -> String {
    match unit.as_nanos() {
        1_000_000 => "milliseconds".to_owned(),
        1_000_000_000 => "seconds".to_owned(),
        60_000_000_000 => "minutes".to_owned(),
        3_600_000_000_000 => "hours".to_owned(),
        86_400_000_000_000 => "days".to_owned(),
        _ => format!("units of {unit:?}"),
    }
}

/// A number as the user would have written it: `1e300`, not three hundred
/// digits.
fn float(v: f64) -> String {
    let extreme = v.is_finite() && v != 0.0 && !(1e-4..1e16).contains(&v.abs());
    if extreme {
        format!("{v:e}")
    } else {
        v.to_string()
    }
}

/// A value as TOML, the way a user would write it, with huge or tiny
/// floats in exponent form. (toml's own writer is a feature we leave out:
/// errors are its only use here.)
fn show(value: &Value) -> String {
    let mut out = String::new();
    write_value(&mut out, value);
    out
}

fn write_value(out: &mut String, value: &Value) {
    use fmt::Write as _;
    match value {
        Value::String(s) => out.push_str(&quote(s)),
        Value::Integer(i) => {
            let _ = write!(out, "{i}");
        }
        Value::Float(v) if v.is_nan() => out.push_str("nan"),
        Value::Float(v) if v.is_infinite() => out.push_str(if *v > 0.0 { "inf" } else { "-inf" }),
        Value::Float(v) if *v != 0.0 && !(1e-4..1e16).contains(&v.abs()) => {
            let _ = write!(out, "{v:e}");
        }
        Value::Float(v) if v.fract() == 0.0 => {
            let _ = write!(out, "{v:.1}");
        }
        Value::Float(v) => {
            let _ = write!(out, "{v}");
        }
        Value::Boolean(b) => {
            let _ = write!(out, "{b}");
        }
        Value::Datetime(d) => {
            let _ = write!(out, "{d}");
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_value(out, item);
            }
            out.push(']');
        }
        Value::Table(table) => {
            out.push('{');
            for (i, (key, item)) in table.iter().enumerate() {
                out.push_str(if i > 0 { ", " } else { " " });
                let bare = !key.is_empty()
                    && key
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
                if bare {
                    out.push_str(key);
                } else {
                    out.push_str(&quote(key));
                }
                out.push_str(" = ");
                write_value(out, item);
            }
            out.push_str(if table.is_empty() { "}" } else { " }" });
        }
    }
}

/// `s` as a TOML basic string: quoted, with `"`, `\` and control
/// characters escaped.
fn quote(s: &str) -> String {
    use fmt::Write as _;
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{:04X}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}
