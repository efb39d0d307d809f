//! The configuration: `sol-monitor.toml`, then `SOL_MONITOR_…` environment
//! variables.
//!
//! The file has the library's sections (`[metrics]`, `[health]`,
//! `[shutdown]`, `[logging]`, see [`alerting_core::config`]) and the app's
//! own (`[node]`, `[batches]`, `[backoff]`, `[simulator]`,
//! `[simulator.faults]`, `[store]`, `[cooldown]`, `[sinks]`). Every key has a default, so no file at all is a
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
//!
//! # Limits
//!
//! Every duration and every size that allocates has a maximum, so that no
//! value the loader accepts can make the program panic (a duration added
//! to an `Instant`) or abort (an allocation that fails) later:
//!
//! | key | range |
//! |---|---|
//! | `node.connect_timeout_secs` | 0.001 to 3600 s (an hour) |
//! | `node.no_data_timeout_secs`, `node.max_silence_secs` | 0.001 to 86400 s (a day) |
//! | `batches.size` | 1 to 10000, and at most [`MAX_BATCHES`] batches |
//! | `backoff.initial_secs` | 0.001 to 3600 s (an hour) |
//! | `backoff.max_secs` | `backoff.initial_secs` to 86400 s (a day) |
//! | `backoff.multiplier` | 1 to 100 |
//! | `simulator.pairs` | 1 to 100000 |
//! | `simulator.rate_per_sec` | 0 to 1000 |
//! | `simulator.faults.outage_after_secs`, `simulator.faults.outage_secs` | 0 to 86400 s (a day) |
//! | `store.max_connections` | 1 to 64 |
//! | `store.poll_interval_secs`, `store.slow_query_secs`, `store.alert_log_flush_secs` | 0.001 to 3600 s (an hour) |
//! | `store.alert_log_batch` | 1 to 10000 |
//! | `store.alert_log_queue` | 1 to 1000000 |
//! | `cooldown.secs` | 0 to 604800 s (a week) |
//! | `cooldown.jitter_secs` | 0 to 86400 s (a day) |
//! | `sinks.webhook.url` | empty (off), or an `http://` or `https://` URL with a host |
//! | `sinks.webhook.timeout_secs` | 0.001 to 3600 s (an hour) |
//!
//! The library's own durations (`[health]`, `[shutdown]`) are at most
//! [`MAX_DURATION`] (100 years).

use std::path::{Path, PathBuf};
use std::time::Duration;

pub use alerting_core::config::ConfigError;
use alerting_core::config::{ConfigLoader, MAX_DURATION, ServiceConfig};
use alerting_core::logging::redact_url;
use serde::Deserialize;

use crate::metrics::MAX_BATCHES;
use crate::tls::Tls;

/// The prefix of environment overrides.
pub const ENV_PREFIX: &str = "SOL_MONITOR";

/// `node.url` value meaning "start the embedded simulator".
pub const SIMULATED: &str = "simulated";

/// The default address of `/metrics`, `/health` and `/ready` (bsc-monitor
/// has 9464; both can run side by side).
pub const DEFAULT_LISTEN_ADDR: &str = "127.0.0.1:9465";

const MILLISECOND: Duration = Duration::from_millis(1);
const SECOND: Duration = Duration::from_secs(1);
const HOUR: Duration = Duration::from_secs(3600);
const DAY: Duration = Duration::from_secs(86_400);

/// Where this app's defaults for the library's keys differ from the
/// library's: its port and its `service` label.
const DEFAULTS: &str = r#"
[metrics]
listen_addr = "127.0.0.1:9465"
[metrics.const_labels]
service = "sol-monitor"
"#;

/// The whole configuration: `monitoring` (the library's sections) and
/// `app` (this app's), with where each key was set.
pub type Config = ServiceConfig<AppConfig>;

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
    /// `[tls]`: certificates trusted by `wss://` connections.
    pub tls: TlsConfig,
    /// `[store]`: the SQLite store of batches, templates and the alert log.
    pub store: StoreConfig,
    /// `[cooldown]`: quiet time after an alert.
    pub cooldown: CooldownConfig,
    /// `[sinks]`: where alerts go.
    pub sinks: SinksConfig,
}

/// `[store]`.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct StoreConfig {
    /// The SQLite file (created, migrated and seeded on first start), or
    /// `:memory:` (nothing kept; for tests).
    pub path: String,
    /// Connections in the pool.
    pub max_connections: u32,
    /// How often the batch pool and templates are read again.
    pub poll_interval_secs: f64,
    /// A query slower than this counts in `sol_store_slow_queries_total`.
    pub slow_query_secs: f64,
    /// Alert-log rows written in one transaction, at most.
    pub alert_log_batch: usize,
    /// Alert-log rows wait at most this long before they are written.
    pub alert_log_flush_secs: f64,
    /// Alert-log rows that may wait (the store down, or slow); past it the
    /// oldest are dropped and counted.
    pub alert_log_queue: usize,
}

impl Default for StoreConfig {
    fn default() -> Self {
        Self {
            path: "sol-monitor.db".to_owned(),
            max_connections: 4,
            poll_interval_secs: 5.0,
            slow_query_secs: 0.1,
            alert_log_batch: 100,
            alert_log_flush_secs: 1.0,
            alert_log_queue: 10_000,
        }
    }
}

/// `[cooldown]`: after an alert of a template on a pair, that template
/// stays quiet on that pair for `secs` plus up to `jitter_secs`.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct CooldownConfig {
    /// The quiet time.
    pub secs: f64,
    /// A random 0 to this many seconds more (repeatable per seed).
    pub jitter_secs: f64,
}

impl Default for CooldownConfig {
    fn default() -> Self {
        Self {
            secs: 180.0,
            jitter_secs: 30.0,
        }
    }
}

/// `[sinks]`.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct SinksConfig {
    /// `[sinks.log]`.
    pub log: LogSinkConfig,
    /// `[sinks.webhook]`.
    pub webhook: WebhookConfig,
}

/// `[sinks.log]`.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct LogSinkConfig {
    /// Log each alert (target `sol_monitor::alert`).
    pub enabled: bool,
}

impl Default for LogSinkConfig {
    fn default() -> Self {
        Self { enabled: true }
    }
}

/// `[sinks.webhook]`.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct WebhookConfig {
    /// `http://` or `https://` URL to POST a Telegram-style payload to;
    /// empty: off.
    pub url: String,
    /// The payload's `chat_id`.
    pub chat_id: String,
    /// Timeout of one POST.
    pub timeout_secs: f64,
}

impl Default for WebhookConfig {
    fn default() -> Self {
        Self {
            url: String::new(),
            chat_id: "-1001234567890".to_owned(),
            timeout_secs: 2.0,
        }
    }
}

/// `[tls]`.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct TlsConfig {
    /// A PEM file of CA certificates to trust besides Mozilla's roots
    /// (bundled): a node behind a private CA. None by default.
    pub ca_file: Option<PathBuf>,
}

/// `[node]`.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct NodeConfig {
    /// `simulated`, or the `ws://` or `wss://` URL of a node.
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
    /// Seconds after start-up at which the simulated node goes down (it
    /// stops listening and closes every connection) for `outage_secs`;
    /// 0: never.
    pub outage_after_secs: f64,
    /// How long the outage lasts, seconds; the node then comes back on the
    /// same port. 0: no outage.
    pub outage_secs: f64,
}

/// Loads `path` (if any), then the process environment.
///
/// # Errors
///
/// [`ConfigError`] naming the file or the key at fault.
pub fn load(path: Option<&Path>) -> Result<Config, ConfigError> {
    let mut loader = ConfigLoader::new().defaults(DEFAULTS);
    if let Some(path) = path {
        loader = loader.file(path);
    }
    finish(loader.env_prefix(ENV_PREFIX).load_service()?)
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
) -> Result<Config, ConfigError> {
    let mut loader = ConfigLoader::new().defaults(DEFAULTS);
    match (path, text) {
        (Some(path), _) => loader = loader.file(path),
        (None, Some(text)) => loader = loader.toml(text),
        (None, None) => {}
    }
    finish(loader.env_prefix(ENV_PREFIX).env_vars(env).load_service()?)
}

fn finish(config: Config) -> Result<Config, ConfigError> {
    config.app.validate(&config)?;
    Ok(config)
}

impl AppConfig {
    /// The checks serde cannot express: ranges, and keys that depend on
    /// each other.
    fn validate(&self, config: &Config) -> Result<(), ConfigError> {
        let n = &self.node;
        if n.url != SIMULATED && !n.url.starts_with("ws://") && !n.url.starts_with("wss://") {
            return Err(config.invalid(
                "node.url",
                format!("{:?}", redact_url(&n.url)),
                "`simulated` or a ws:// or wss:// URL",
            ));
        }
        let up_to = |max| MILLISECOND..=max;
        config.duration_within(
            "node.connect_timeout_secs",
            n.connect_timeout_secs,
            SECOND,
            up_to(HOUR),
        )?;
        config.duration_within(
            "node.no_data_timeout_secs",
            n.no_data_timeout_secs,
            SECOND,
            up_to(DAY),
        )?;
        config.duration_within(
            "node.max_silence_secs",
            n.max_silence_secs,
            SECOND,
            up_to(DAY),
        )?;

        let b = &self.batches;
        config.size("batches.size", b.size, 10_000)?;
        if n.url != SIMULATED && b.accounts.is_empty() {
            return Err(config.invalid(
                "batches.accounts",
                "[]",
                "the accounts to watch (only the simulator has defaults)",
            ));
        }
        if let Some(a) = b.accounts.iter().find(|a| !is_pubkey(a)) {
            return Err(config.invalid(
                "batches.accounts",
                format!("{a:?}"),
                "base58 public keys (32 to 44 characters)",
            ));
        }
        // Before the batch count, which depends on it.
        config.size("simulator.pairs", self.simulator.pairs, 100_000)?;
        let accounts = if b.accounts.is_empty() {
            self.simulator.pairs as usize
        } else {
            b.accounts.len()
        };
        if accounts.div_ceil(b.size) > MAX_BATCHES {
            return Err(config.invalid(
                "batches.size",
                b.size,
                format!(
                    "a size that makes at most {MAX_BATCHES} batches of the {accounts} accounts \
                     (the series limit of the batch metrics), not {}: raise it",
                    accounts.div_ceil(b.size)
                ),
            ));
        }

        let k = &self.backoff;
        config.duration_within("backoff.initial_secs", k.initial_secs, SECOND, up_to(HOUR))?;
        config.duration_within("backoff.max_secs", k.max_secs, SECOND, up_to(DAY))?;
        if k.max_secs < k.initial_secs {
            return Err(config.invalid(
                "backoff.max_secs",
                k.max_secs,
                format!("at least backoff.initial_secs ({})", k.initial_secs),
            ));
        }
        config.within("backoff.multiplier", k.multiplier, 1.0..=100.0)?;
        config.fraction("backoff.jitter", k.jitter)?;

        let s = &self.simulator;
        config.within("simulator.rate_per_sec", s.rate_per_sec, 0.0..=1000.0)?;
        config.fraction("simulator.empty_rate", s.empty_rate)?;
        let f = &s.faults;
        config.fraction("simulator.faults.silent_rate", f.silent_rate)?;
        config.fraction("simulator.faults.unresponsive_rate", f.unresponsive_rate)?;
        config.fraction(
            "simulator.faults.subscribe_error_rate",
            f.subscribe_error_rate,
        )?;
        for (key, v) in [
            ("simulator.faults.outage_after_secs", f.outage_after_secs),
            ("simulator.faults.outage_secs", f.outage_secs),
        ] {
            config.duration_within(key, v, SECOND, Duration::ZERO..=DAY)?;
        }
        if let Some(path) = &self.tls.ca_file
            && let Err(e) = Tls::new(Some(path))
        {
            return Err(config.invalid(
                "tls.ca_file",
                format!("{path:?}"),
                format!("a readable PEM file of CA certificates ({e})"),
            ));
        }
        let st = &self.store;
        if st.path.trim().is_empty() {
            return Err(config.invalid(
                "store.path",
                "\"\"",
                "a file path for the SQLite store, or :memory:",
            ));
        }
        config.size("store.max_connections", st.max_connections, 64)?;
        config.duration_within(
            "store.poll_interval_secs",
            st.poll_interval_secs,
            SECOND,
            up_to(HOUR),
        )?;
        config.duration_within(
            "store.slow_query_secs",
            st.slow_query_secs,
            SECOND,
            up_to(HOUR),
        )?;
        config.size("store.alert_log_batch", st.alert_log_batch, 10_000)?;
        config.duration_within(
            "store.alert_log_flush_secs",
            st.alert_log_flush_secs,
            SECOND,
            up_to(HOUR),
        )?;
        config.size("store.alert_log_queue", st.alert_log_queue, 1_000_000)?;
        let c = &self.cooldown;
        config.duration_within("cooldown.secs", c.secs, SECOND, Duration::ZERO..=7 * DAY)?;
        config.duration_within(
            "cooldown.jitter_secs",
            c.jitter_secs,
            SECOND,
            Duration::ZERO..=DAY,
        )?;
        let w = &self.sinks.webhook;
        if !w.url.is_empty() && !crate::http::is_http_url(&w.url) {
            return Err(config.invalid(
                "sinks.webhook.url",
                format!("{:?}", redact_url(&w.url)),
                "an http:// or https:// URL with a host (or empty: no webhook)",
            ));
        }
        config.duration_within(
            "sinks.webhook.timeout_secs",
            w.timeout_secs,
            SECOND,
            up_to(HOUR),
        )?;
        let sum = f.silent_rate + f.unresponsive_rate + f.subscribe_error_rate;
        if sum > 1.0 {
            return Err(config.invalid(
                "simulator.faults",
                format!("rates adding up to {sum}"),
                "silent_rate + unresponsive_rate + subscribe_error_rate of 1 at most",
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

/// Seconds (already validated, so within [`MAX_DURATION`]) as a
/// [`Duration`]; never more than [`MAX_DURATION`], so adding it to an
/// `Instant` cannot overflow.
pub(crate) fn secs(v: f64) -> Duration {
    match Duration::try_from_secs_f64(v) {
        Ok(d) => d.min(MAX_DURATION),
        Err(_) if v > 0.0 => MAX_DURATION,
        Err(_) => Duration::ZERO,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(text: &str, env: &[(&str, &str)]) -> Result<Config, ConfigError> {
        load_with(
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
        let c = load_with(Some(&path), None, std::iter::empty()).unwrap();
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
        let e = load("[store]\npath = \" \"\n", &[]).unwrap_err();
        assert_eq!(e.key(), Some("store.path"), "{e}");
        let e = load("[store]\nmax_connections = 0\n", &[]).unwrap_err();
        assert_eq!(e.key(), Some("store.max_connections"), "{e}");
        let e = load("[store]\nalert_log_queue = 0\n", &[]).unwrap_err();
        assert_eq!(e.key(), Some("store.alert_log_queue"), "{e}");
        let e = load(
            "[sinks.webhook]\nurl = \"ftp://api.telegram.org/bot1:secret/send\"\n",
            &[],
        )
        .unwrap_err();
        assert_eq!(e.key(), Some("sinks.webhook.url"), "{e}");
        assert!(!e.to_string().contains("secret"), "{e}");
        let e = load("[sinks.webhook]\nurl = \"https:///send\"\n", &[]).unwrap_err();
        assert_eq!(e.key(), Some("sinks.webhook.url"), "{e}");
        let https = load(
            "[sinks.webhook]\nurl = \"https://api.telegram.org/bot1:secret/send\"\n",
            &[],
        )
        .unwrap();
        assert!(https.app.sinks.webhook.url.starts_with("https://"));
        let e = load("[cooldown]\nsecs = -1\n", &[]).unwrap_err();
        assert_eq!(e.key(), Some("cooldown.secs"), "{e}");
    }

    /// Values that passed the old checks and then panicked at run time
    /// (`Instant + Duration` with a duration of 1e300 s).
    #[test]
    fn every_duration_and_size_has_a_maximum() {
        for (var, value, key) in [
            (
                "SOL_MONITOR_NODE__CONNECT_TIMEOUT_SECS",
                "1e300",
                "node.connect_timeout_secs",
            ),
            (
                "SOL_MONITOR_NODE__NO_DATA_TIMEOUT_SECS",
                "1e300",
                "node.no_data_timeout_secs",
            ),
            (
                "SOL_MONITOR_NODE__MAX_SILENCE_SECS",
                "1e300",
                "node.max_silence_secs",
            ),
            ("SOL_MONITOR_BATCHES__SIZE", "4000000000", "batches.size"),
            (
                "SOL_MONITOR_BACKOFF__INITIAL_SECS",
                "1e300",
                "backoff.initial_secs",
            ),
            ("SOL_MONITOR_BACKOFF__MAX_SECS", "1e300", "backoff.max_secs"),
            (
                "SOL_MONITOR_SIMULATOR__PAIRS",
                "4000000000",
                "simulator.pairs",
            ),
            (
                "SOL_MONITOR_SIMULATOR__FAULTS__OUTAGE_AFTER_SECS",
                "1e300",
                "simulator.faults.outage_after_secs",
            ),
            (
                "SOL_MONITOR_SHUTDOWN__DEADLINE_SECS",
                "1e300",
                "shutdown.deadline_secs",
            ),
            (
                "SOL_MONITOR_STORE__POLL_INTERVAL_SECS",
                "1e300",
                "store.poll_interval_secs",
            ),
            (
                "SOL_MONITOR_STORE__SLOW_QUERY_SECS",
                "1e300",
                "store.slow_query_secs",
            ),
            (
                "SOL_MONITOR_STORE__ALERT_LOG_FLUSH_SECS",
                "1e300",
                "store.alert_log_flush_secs",
            ),
            (
                "SOL_MONITOR_STORE__ALERT_LOG_BATCH",
                "4000000000",
                "store.alert_log_batch",
            ),
            (
                "SOL_MONITOR_STORE__ALERT_LOG_QUEUE",
                "4000000000",
                "store.alert_log_queue",
            ),
            ("SOL_MONITOR_COOLDOWN__SECS", "1e300", "cooldown.secs"),
            (
                "SOL_MONITOR_COOLDOWN__JITTER_SECS",
                "1e300",
                "cooldown.jitter_secs",
            ),
            (
                "SOL_MONITOR_SINKS__WEBHOOK__TIMEOUT_SECS",
                "1e300",
                "sinks.webhook.timeout_secs",
            ),
            (
                "SOL_MONITOR_METRICS__CONST_LABELS__SERVICE",
                "",
                "metrics.const_labels.service",
            ),
        ] {
            let e = load("", &[(var, value)]).unwrap_err();
            assert_eq!(e.key(), Some(key), "{var}={value}: {e}");
            assert!(e.to_string().contains(var), "{e}");
        }
        let c = load("[node]\nno_data_timeout_secs = 86400\n", &[]).unwrap();
        assert_eq!(
            secs(c.app.node.no_data_timeout_secs),
            Duration::from_secs(86_400)
        );
    }
}
