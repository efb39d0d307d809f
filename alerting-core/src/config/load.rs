//! Loading: TOML layers, environment overrides, errors that name the key.

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;

use toml::{Table, Value};

use super::MonitoringConfig;
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
    File(PathBuf),
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

    /// Adds a TOML file; it must exist.
    pub fn file(mut self, path: impl Into<PathBuf>) -> Self {
        self.layers.push(Layer::File(path.into()));
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
        let mut table = Table::new();
        let mut origins = Origins::default();

        for layer in &self.layers {
            let (origin, text) = match layer {
                Layer::File(path) => {
                    let text =
                        std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
                            path: path.clone(),
                            source,
                        })?;
                    (Origin::File(path.clone()), text)
                }
                Layer::Text(text) => (Origin::Inline, text.clone()),
            };
            let layer_table = parse_toml(&text, &origin)?;
            origins.record(&mut Vec::new(), &layer_table, &origin);
            merge(&mut table, layer_table);
        }

        for (name, raw) in self.collect_env()? {
            apply_env(&mut table, &mut origins, &self.prefix, &name, &raw)?;
        }

        let mut config: MonitoringConfig = match Value::Table(table.clone()).try_into() {
            Ok(config) => config,
            Err(whole) => {
                return Err(locate(&table, &origins).unwrap_or_else(|| invalid_whole(&whole)));
            }
        };
        check(&mut config, &origins)?;
        Ok(config)
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
#[derive(Debug, Default)]
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
        for len in (1..=path.len()).rev() {
            if let Some(origin) = self.0.get(&path[..len]) {
                return origin.clone();
            }
        }
        self.0
            .iter()
            .find(|(k, _)| k.starts_with(path))
            .map(|(_, o)| o.clone())
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

fn sections() -> Vec<String> {
    match Table::try_from(MonitoringConfig::default()) {
        Ok(t) => t.keys().cloned().collect(),
        Err(_) => Vec::new(),
    }
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
    Err(from_message(
        path.join("."),
        Value::String(raw.to_owned()).to_string(),
        &message,
        origin,
    ))
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
            value.to_string(),
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
    let quoted = |s: &str| Value::String(s.to_owned()).to_string();

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
    if !metrics.path.starts_with('/') || metrics.path.chars().any(char::is_whitespace) {
        return Err(invalid(
            vec!["metrics", "path"],
            quoted(&metrics.path),
            "a URL path starting with `/`",
        ));
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
    if let Some(file) = &config.logging.file {
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
