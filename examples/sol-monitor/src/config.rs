//! The configuration: `sol-monitor.toml`, then `SOL_MONITOR_…` environment
//! variables.
//!
//! The file has the library's sections (`[metrics]`, `[health]`,
//! `[shutdown]`, `[logging]`, see [`alerting_core::config`]) and the app's
//! own (`[node]`, `[batches]`, `[backoff]`, `[simulator]`,
//! `[simulator.faults]`). Every key has a default, so no file at all is a
//! valid configuration: a simulated node on 127.0.0.1, endpoints on
//! `127.0.0.1:9465`.
//!
//! `SOL_MONITOR_<SECTION>__<KEY>` overrides `<section>.<key>` (two
//! underscores between the parts of the path, any case):
//! `SOL_MONITOR_BATCHES__SIZE=50`, `SOL_MONITOR_SIMULATOR__FAULTS__SILENT_RATE=0.2`,
//! `SOL_MONITOR_LOGGING__FORMAT=json`. A value is read as TOML when it is
//! TOML (a number, a boolean, an array) and as a string otherwise.
//!
//! A bad value is a [`ConfigError`] naming the key and where it was set.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use alerting_core::config::MonitoringConfig;
use serde::Deserialize;
use toml::{Table, Value};

use crate::metrics::MAX_BATCHES;

/// The prefix of environment overrides.
pub const ENV_PREFIX: &str = "SOL_MONITOR";

/// `node.url` value meaning "start the embedded simulator".
pub const SIMULATED: &str = "simulated";

/// The default address of `/metrics`, `/health` and `/ready` (bsc-monitor
/// has 9464; both can run side by side).
pub const DEFAULT_LISTEN_ADDR: &str = "127.0.0.1:9465";

/// The sections that belong to [`MonitoringConfig`].
const MONITORING_SECTIONS: [&str; 4] = ["metrics", "health", "shutdown", "logging"];

/// A configuration that could not be loaded.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read config file `{}`: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not TOML.
    #[error("invalid TOML in `{}`: {message}", path.display())]
    Parse {
        /// The file.
        path: PathBuf,
        /// What the parser said.
        message: String,
    },
    /// A key has a bad value, or does not exist.
    #[error("invalid value for `{key}` {origin}: {message}")]
    Invalid {
        /// The dotted key (`batches.size`).
        key: String,
        /// Where it was set (`in file …`, `from environment variable …`).
        origin: String,
        /// What is wrong.
        message: String,
    },
    /// A bad value in `[metrics]`, `[health]`, `[shutdown]` or `[logging]`.
    #[error("{0}")]
    Monitoring(String),
}

impl ConfigError {
    /// The dotted key at fault, when there is one.
    pub fn key(&self) -> Option<&str> {
        match self {
            ConfigError::Invalid { key, .. } => Some(key),
            _ => None,
        }
    }
}

/// The whole configuration.
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct Config {
    /// Metrics, health, shutdown and logging (the library's sections).
    pub monitoring: MonitoringConfig,
    /// The app's own sections.
    pub app: AppConfig,
}

/// The app's own sections.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct AppConfig {
    /// `[node]`: the Solana node.
    pub node: NodeConfig,
    /// `[batches]`: which accounts, how many per connection.
    pub batches: BatchesConfig,
    /// `[backoff]`: reconnect delays.
    pub backoff: BackoffConfig,
    /// `[simulator]`: the embedded node.
    pub simulator: SimulatorConfig,
}

/// `[node]`.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct NodeConfig {
    /// `simulated`, or a `ws://` URL of a node.
    pub url: String,
    /// Time allowed to connect and have every subscription confirmed;
    /// past it the connection is retried with reason `timeout`.
    pub connect_timeout_secs: f64,
    /// A connection without a notification carrying data for this long is
    /// dropped and retried with reason `no_data`.
    pub no_data_timeout_secs: f64,
    /// A batch's health component is down ("no data for N s") after this
    /// long without data.
    pub max_silence_secs: f64,
}

impl Default for NodeConfig {
    fn default() -> Self {
        Self {
            url: SIMULATED.to_owned(),
            connect_timeout_secs: 5.0,
            no_data_timeout_secs: 30.0,
            max_silence_secs: 60.0,
        }
    }
}

/// Which subscriptions each account gets.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum SubscriptionKind {
    /// `accountSubscribe`.
    #[default]
    Account,
    /// `logsSubscribe` with `mentions`.
    Logs,
    /// Both.
    Both,
}

/// `[batches]`.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct BatchesConfig {
    /// Accounts per connection (one batch, one `batch_id`, per connection).
    pub size: usize,
    /// `account`, `logs` or `both`.
    pub subscription: SubscriptionKind,
    /// The accounts (base58 pubkeys of pairs) to watch; empty with the
    /// simulator: every simulated pair.
    pub accounts: Vec<String>,
}

impl Default for BatchesConfig {
    fn default() -> Self {
        Self {
            size: 25,
            subscription: SubscriptionKind::Account,
            accounts: Vec::new(),
        }
    }
}

/// `[backoff]`: delay before reconnect attempt `n` (from 0) is
/// `min(initial * multiplier^n, max)`, less up to `jitter` of it at random.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct BackoffConfig {
    /// The first delay.
    pub initial_secs: f64,
    /// The longest delay.
    pub max_secs: f64,
    /// The growth factor per failed attempt (1 or more).
    pub multiplier: f64,
    /// The fraction (0 to 1) of each delay that is random.
    pub jitter: f64,
}

impl Default for BackoffConfig {
    fn default() -> Self {
        Self {
            initial_secs: 0.5,
            max_secs: 30.0,
            multiplier: 2.0,
            jitter: 0.5,
        }
    }
}

/// `[simulator]`.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct SimulatorConfig {
    /// Number of simulated pairs (accounts).
    pub pairs: u32,
    /// Notifications per second per subscription.
    pub rate_per_sec: f64,
    /// Seed: the same seed gives the same accounts, notifications and faults.
    pub seed: u64,
    /// Fraction of notifications without data (empty account data, no logs).
    pub empty_rate: f64,
    /// `[simulator.faults]`.
    pub faults: FaultsConfig,
}

impl Default for SimulatorConfig {
    fn default() -> Self {
        Self {
            pairs: 100,
            rate_per_sec: 2.0,
            seed: 7,
            empty_rate: 0.1,
            faults: FaultsConfig::default(),
        }
    }
}

/// `[simulator.faults]`: every fault is off by default. Each connection
/// draws one fault at most (deterministic from the seed).
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct FaultsConfig {
    /// Close each connection after this many notifications; 0: never.
    pub disconnect_after: u64,
    /// Fraction of connections whose subscriptions are confirmed but never
    /// notified (silent subscriptions).
    pub silent_rate: f64,
    /// Fraction of connections whose subscribe requests are never answered.
    pub unresponsive_rate: f64,
    /// Fraction of connections whose subscribe requests get a JSON-RPC error.
    pub subscribe_error_rate: f64,
}

impl Config {
    /// Loads `path` (if any) and the process environment.
    ///
    /// # Errors
    ///
    /// [`ConfigError`] naming the file or the key at fault.
    pub fn load(path: Option<&Path>) -> Result<Self, ConfigError> {
        Self::load_with(path, None, std::env::vars())
    }

    /// Loads `path` (if any) or `text` (if any), then `env` (pairs of
    /// variable name and value; only `SOL_MONITOR_…` ones are read).
    ///
    /// # Errors
    ///
    /// [`ConfigError`] naming the file or the key at fault.
    pub fn load_with(
        path: Option<&Path>,
        text: Option<&str>,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self, ConfigError> {
        let (mut table, file_origin) = match (path, text) {
            (Some(path), _) => {
                let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
                    path: path.to_owned(),
                    source,
                })?;
                (parse(&text, path)?, format!("in file `{}`", path.display()))
            }
            (None, Some(text)) => (
                parse(text, Path::new("<inline>"))?,
                "in inline TOML".to_owned(),
            ),
            (None, None) => (Table::new(), "in the defaults".to_owned()),
        };

        // The library's sections go to its own loader (with its checks and
        // errors); defaults that differ from the library's are set first.
        let mut monitoring = Table::new();
        for section in MONITORING_SECTIONS {
            if let Some(value) = table.remove(section) {
                monitoring.insert(section.to_owned(), value);
            }
        }
        let metrics = monitoring
            .entry("metrics")
            .or_insert_with(|| Value::Table(Table::new()));
        if let Value::Table(metrics) = metrics {
            metrics
                .entry("listen_addr")
                .or_insert_with(|| Value::String(DEFAULT_LISTEN_ADDR.to_owned()));
            let labels = metrics
                .entry("const_labels")
                .or_insert_with(|| Value::Table(Table::new()));
            if let Value::Table(labels) = labels {
                labels
                    .entry("service")
                    .or_insert_with(|| Value::String("sol-monitor".to_owned()));
            }
        }

        let lead = format!("{ENV_PREFIX}_");
        let mut env: Vec<(String, String)> = env
            .into_iter()
            .filter(|(k, _)| k.to_ascii_uppercase().starts_with(&lead))
            .collect();
        env.sort();

        let monitoring_text = toml::to_string(&monitoring)
            .map_err(|e| ConfigError::Monitoring(format!("cannot re-encode the file: {e}")))?;
        let monitoring = MonitoringConfig::loader()
            .toml(monitoring_text)
            .env_prefix(ENV_PREFIX)
            .env_vars(env.iter().map(|(k, v)| (k.clone(), v.clone())))
            .load()
            .map_err(|e| {
                ConfigError::Monitoring(e.to_string().replace("in inline TOML", &file_origin))
            })?;

        let mut origins: BTreeMap<String, String> = BTreeMap::new();
        for (name, raw) in &env {
            let path: Vec<String> = name[lead.len()..]
                .split("__")
                .map(str::to_ascii_lowercase)
                .collect();
            if path.iter().any(String::is_empty) {
                return Err(ConfigError::Invalid {
                    key: path.join("."),
                    origin: format!("from environment variable `{name}`"),
                    message: "an empty part in the variable name".to_owned(),
                });
            }
            if MONITORING_SECTIONS.contains(&path[0].as_str()) {
                continue;
            }
            set_path(&mut table, &path, env_value(raw)).map_err(|message| {
                ConfigError::Invalid {
                    key: path.join("."),
                    origin: format!("from environment variable `{name}`"),
                    message,
                }
            })?;
            origins.insert(
                path.join("."),
                format!("from environment variable `{name}`"),
            );
        }

        let origin_of = |key: &str| -> String {
            origins
                .iter()
                .find(|(k, _)| {
                    key == k.as_str()
                        || key.starts_with(&format!("{k}."))
                        || k.starts_with(&format!("{key}."))
                })
                .map(|(_, o)| o.clone())
                .unwrap_or_else(|| file_origin.clone())
        };

        let app: AppConfig =
            serde_path_to_error::deserialize(Value::Table(table)).map_err(|e| {
                let key = e.path().to_string();
                let inner = e.inner().to_string();
                // The TOML deserializer appends "in `section`"; the key says it.
                let message = inner.lines().next().unwrap_or_default().to_owned();
                // An unknown top-level section is reported on the root.
                let key = match unknown_field(&message) {
                    Some(field) if key == "." => field.to_owned(),
                    _ => key,
                };
                ConfigError::Invalid {
                    origin: origin_of(&key),
                    key,
                    message,
                }
            })?;
        app.validate(&origin_of)?;
        Ok(Config { monitoring, app })
    }
}

fn parse(text: &str, path: &Path) -> Result<Table, ConfigError> {
    text.parse::<Table>().map_err(|e| ConfigError::Parse {
        path: path.to_owned(),
        message: e.to_string().trim().to_owned(),
    })
}

/// `unknown field `x`, expected …` → `x`.
fn unknown_field(message: &str) -> Option<&str> {
    let rest = message.strip_prefix("unknown field `")?;
    rest.split('`').next()
}

fn env_value(raw: &str) -> Value {
    // Numbers, booleans and arrays as TOML; everything else as a string.
    format!("v = {raw}")
        .parse::<Table>()
        .ok()
        .and_then(|mut t| t.remove("v"))
        .unwrap_or_else(|| Value::String(raw.to_owned()))
}

fn set_path(table: &mut Table, path: &[String], value: Value) -> Result<(), String> {
    let (last, parents) = path.split_last().ok_or("an empty key")?;
    let mut at = table;
    for part in parents {
        let next = at
            .entry(part.clone())
            .or_insert_with(|| Value::Table(Table::new()));
        at = match next {
            Value::Table(t) => t,
            _ => return Err(format!("`{part}` is not a section")),
        };
    }
    at.insert(last.clone(), value);
    Ok(())
}

impl AppConfig {
    fn validate(&self, origin_of: &dyn Fn(&str) -> String) -> Result<(), ConfigError> {
        let bad = |key: &str, message: &str| ConfigError::Invalid {
            key: key.to_owned(),
            origin: origin_of(key),
            message: message.to_owned(),
        };
        let positive = |key: &str, v: f64| {
            if v.is_finite() && v > 0.0 {
                Ok(())
            } else {
                Err(bad(key, &format!("got {v}, expected a number above 0")))
            }
        };
        let fraction = |key: &str, v: f64| {
            if (0.0..=1.0).contains(&v) {
                Ok(())
            } else {
                Err(bad(
                    key,
                    &format!("got {v}, expected a fraction from 0 to 1"),
                ))
            }
        };
        let n = &self.node;
        if n.url != SIMULATED && !n.url.starts_with("ws://") && !n.url.starts_with("wss://") {
            return Err(bad(
                "node.url",
                &format!("got {:?}, expected `simulated` or a ws:// URL", n.url),
            ));
        }
        positive("node.connect_timeout_secs", n.connect_timeout_secs)?;
        positive("node.no_data_timeout_secs", n.no_data_timeout_secs)?;
        positive("node.max_silence_secs", n.max_silence_secs)?;

        let b = &self.batches;
        if b.size == 0 || b.size > 10_000 {
            return Err(bad(
                "batches.size",
                &format!("got {}, expected 1 to 10000", b.size),
            ));
        }
        if n.url != SIMULATED && b.accounts.is_empty() {
            return Err(bad(
                "batches.accounts",
                "got [], expected the accounts to watch (only the simulator has defaults)",
            ));
        }
        if let Some(a) = b.accounts.iter().find(|a| !is_pubkey(a)) {
            return Err(bad(
                "batches.accounts",
                &format!("got {a:?}, expected a base58 public key (32 to 44 characters)"),
            ));
        }
        let accounts = if b.accounts.is_empty() {
            self.simulator.pairs as usize
        } else {
            b.accounts.len()
        };
        if accounts.div_ceil(b.size) > MAX_BATCHES {
            return Err(bad(
                "batches.size",
                &format!(
                    "{accounts} accounts in batches of {} make {} batches; at most {MAX_BATCHES} \
                     (the series limit of the batch metrics): raise the size",
                    b.size,
                    accounts.div_ceil(b.size)
                ),
            ));
        }

        let k = &self.backoff;
        positive("backoff.initial_secs", k.initial_secs)?;
        positive("backoff.max_secs", k.max_secs)?;
        if k.max_secs < k.initial_secs {
            return Err(bad(
                "backoff.max_secs",
                &format!(
                    "got {}, expected at least backoff.initial_secs ({})",
                    k.max_secs, k.initial_secs
                ),
            ));
        }
        if !(k.multiplier.is_finite() && (1.0..=100.0).contains(&k.multiplier)) {
            return Err(bad(
                "backoff.multiplier",
                &format!("got {}, expected 1 to 100", k.multiplier),
            ));
        }
        fraction("backoff.jitter", k.jitter)?;

        let s = &self.simulator;
        if s.pairs == 0 || s.pairs > 100_000 {
            return Err(bad(
                "simulator.pairs",
                &format!("got {}, expected 1 to 100000", s.pairs),
            ));
        }
        if !(s.rate_per_sec.is_finite() && (0.0..=1000.0).contains(&s.rate_per_sec)) {
            return Err(bad(
                "simulator.rate_per_sec",
                &format!("got {}, expected 0 to 1000", s.rate_per_sec),
            ));
        }
        fraction("simulator.empty_rate", s.empty_rate)?;
        let f = &s.faults;
        fraction("simulator.faults.silent_rate", f.silent_rate)?;
        fraction("simulator.faults.unresponsive_rate", f.unresponsive_rate)?;
        fraction(
            "simulator.faults.subscribe_error_rate",
            f.subscribe_error_rate,
        )?;
        if f.silent_rate + f.unresponsive_rate + f.subscribe_error_rate > 1.0 {
            return Err(bad(
                "simulator.faults",
                "silent_rate + unresponsive_rate + subscribe_error_rate is above 1",
            ));
        }
        Ok(())
    }
}

/// Whether `s` looks like a base58 public key.
fn is_pubkey(s: &str) -> bool {
    (32..=44).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() && !matches!(b, b'0' | b'O' | b'I' | b'l'))
}

/// Seconds (already validated) as a [`Duration`].
pub(crate) fn secs(v: f64) -> Duration {
    Duration::try_from_secs_f64(v).unwrap_or(Duration::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(text: &str, env: &[(&str, &str)]) -> Result<Config, ConfigError> {
        Config::load_with(
            None,
            Some(text),
            env.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
        )
    }

    #[test]
    fn defaults_work_without_a_file() {
        let c = load("", &[]).unwrap();
        assert_eq!(c.app, AppConfig::default());
        assert_eq!(
            c.monitoring.metrics.listen_addr.to_string(),
            DEFAULT_LISTEN_ADDR
        );
    }

    #[test]
    fn the_shipped_file_loads_and_matches_the_defaults() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("sol-monitor.toml");
        let c = Config::load_with(Some(&path), None, std::iter::empty()).unwrap();
        assert_eq!(c.app, AppConfig::default());
        assert_eq!(
            c.monitoring.metrics.listen_addr.to_string(),
            DEFAULT_LISTEN_ADDR
        );
    }

    #[test]
    fn env_overrides_both_kinds_of_section() {
        let c = load(
            "[batches]\nsize = 8\n",
            &[
                ("SOL_MONITOR_BATCHES__SIZE", "16"),
                ("SOL_MONITOR_BATCHES__SUBSCRIPTION", "both"),
                ("SOL_MONITOR_SIMULATOR__FAULTS__SILENT_RATE", "0.25"),
                ("SOL_MONITOR_SHUTDOWN__DEADLINE_SECS", "3"),
                ("OTHER", "x"),
            ],
        )
        .unwrap();
        assert_eq!(c.app.batches.size, 16);
        assert_eq!(c.app.batches.subscription, SubscriptionKind::Both);
        assert_eq!(c.app.simulator.faults.silent_rate, 0.25);
        assert_eq!(c.monitoring.shutdown.deadline, Duration::from_secs(3));
    }

    #[test]
    fn errors_name_the_key() {
        let e = load("[batches]\nsize = \"many\"\n", &[]).unwrap_err();
        assert_eq!(e.key(), Some("batches.size"), "{e}");
        let e = load("[backoff]\ninitial = 3\n", &[]).unwrap_err();
        assert_eq!(e.key(), Some("backoff.initial"), "{e}");
        let e = load("", &[("SOL_MONITOR_BATCHES__SIZE", "0")]).unwrap_err();
        assert_eq!(e.key(), Some("batches.size"));
        assert!(e.to_string().contains("SOL_MONITOR_BATCHES__SIZE"), "{e}");
        let e = load("[batches]\nsize = 1\n[simulator]\npairs = 5000\n", &[]).unwrap_err();
        assert_eq!(e.key(), Some("batches.size"), "{e}");
        let e = load("[batches]\nsubscription = \"blocks\"\n", &[]).unwrap_err();
        assert_eq!(e.key(), Some("batches.subscription"), "{e}");
        let e = load("[backoff]\njitter = 2.0\n", &[]).unwrap_err();
        assert_eq!(e.key(), Some("backoff.jitter"));
        let e = load("[backoff]\nmax_secs = 0.1\n", &[]).unwrap_err();
        assert_eq!(e.key(), Some("backoff.max_secs"));
        let e = load("[node]\nurl = \"https://x\"\n", &[]).unwrap_err();
        assert_eq!(e.key(), Some("node.url"));
        let e = load("[node]\nurl = \"ws://127.0.0.1:1\"\n", &[]).unwrap_err();
        assert_eq!(e.key(), Some("batches.accounts"));
        let e = load("[batches]\naccounts = [\"0xabc\"]\n", &[]).unwrap_err();
        assert_eq!(e.key(), Some("batches.accounts"));
        let e = load("[shutdown]\ndeadline_secs = -1\n", &[]).unwrap_err();
        assert!(e.to_string().contains("shutdown.deadline_secs"), "{e}");
        let e = load("[nope]\n", &[]).unwrap_err();
        assert_eq!(e.key(), Some("nope"), "{e}");
    }
}
