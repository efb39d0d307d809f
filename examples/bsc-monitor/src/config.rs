//! The configuration: `bsc-monitor.toml`, then `BSC_MONITOR_…` environment
//! variables.
//!
//! The file has the library's sections (`[metrics]`, `[health]`,
//! `[shutdown]`, `[logging]`, see [`alerting_core::config`]) and the app's
//! own (`[node]`, `[price_api]`, `[pipeline]`, `[filters.layer1.internal]`,
//! `[filters.layer1.external]`, `[filters.layer2.internal]`,
//! `[filters.layer2.external]`, `[filters.blacklist]`, `[cooldown]`, `[degraded]`, `[sinks.log]`,
//! `[sinks.webhook]`, `[simulator]`, `[simulator.faults]`). Every key has a
//! default, so no file at all is a valid configuration: a simulated node
//! and price API on 127.0.0.1, endpoints on `127.0.0.1:9464`.
//!
//! `BSC_MONITOR_<SECTION>__<KEY>` overrides `<section>.<key>` (two
//! underscores between the parts of the path, any case):
//! `BSC_MONITOR_PIPELINE__CONCURRENCY=128`,
//! `BSC_MONITOR_FILTERS__LAYER1__INTERNAL__MIN_AMOUNT=500`,
//! `BSC_MONITOR_LOGGING__FORMAT=json`. A value is read as TOML when it is
//! TOML (a number, a boolean) and as a string otherwise.
//!
//! A bad value is a [`ConfigError`] naming the key and where it was set.
//! A key of the filters' layout before the split by market
//! (`filters.layer1.min_amount_usd`, `filters.layer2.min_price_change`, …)
//! is an error naming the key that replaces it.
//!
//! # Limits
//!
//! Every duration and every size that allocates has a maximum, so that no
//! value the loader accepts can make the program panic (a duration added
//! to an `Instant`) or abort (an allocation that fails) later:
//!
//! | key | range |
//! |---|---|
//! | `node.rpc_timeout_secs`, `price_api.timeout_secs`, `sinks.webhook.timeout_secs` | 0.001 to 3600 s (an hour) |
//! | `node.max_silence_secs`, `filters.layer1.internal.cumulative_window_secs`, `filters.blacklist.ttl_secs` | 0.001 to 86400 s (a day) |
//! | `filters.blacklist.tokens`, `filters.blacklist.file` | each at most 1000000 tokens; the file at most 64 MiB |
//! | `node.reconnect_backoff_secs` | 0.001 to 30 s (the longest delay) |
//! | `node.rpc_retries`, `price_api.retries` | 0 to 100 |
//! | `cooldown.minutes` | 0 to 10080 (a week) |
//! | `cooldown.jitter_secs` | 0 to 86400 s (a day) |
//! | `degraded.ttls_secs` | 1 to 100 durations, each 0.001 to 604800 s (a week) |
//! | `pipeline.concurrency` | 1 to 1000000 |
//! | `simulator.pairs` | 1 to 100000 |
//! | `simulator.rate_per_sec` | 0 to 1000000 |
//! | `simulator.latency_ms`, `simulator.faults.rpc_delay_ms` | 0 to 60000 ms (a minute) |
//! | `simulator.faults.outage_after_secs`, `simulator.faults.outage_secs` | 0 to 86400 s (a day) |
//!
//! The library's own durations (`[health]`, `[shutdown]`) are at most
//! [`MAX_DURATION`] (100 years).

use std::path::{Path, PathBuf};
use std::time::Duration;

pub use alerting_core::config::ConfigError;
use alerting_core::config::{ConfigLoader, MAX_DURATION, ServiceConfig};
use alerting_core::logging::redact_url;
use serde::Deserialize;

use crate::tls::Tls;

/// The prefix of environment overrides.
pub const ENV_PREFIX: &str = "BSC_MONITOR";

/// `node.url` / `price_api.url` value meaning "start the embedded simulator".
pub const SIMULATED: &str = "simulated";

/// The default address of `/metrics`, `/health` and `/ready`.
pub const DEFAULT_LISTEN_ADDR: &str = "127.0.0.1:9464";

const MILLISECOND: Duration = Duration::from_millis(1);
const SECOND: Duration = Duration::from_secs(1);
const MINUTE: Duration = Duration::from_secs(60);
const HOUR: Duration = Duration::from_secs(3600);
const DAY: Duration = Duration::from_secs(86_400);
const WEEK: Duration = Duration::from_secs(7 * 86_400);

/// Where this app's defaults for the library's keys differ from the
/// library's: its port and its `service` label.
const DEFAULTS: &str = r#"
[metrics]
listen_addr = "127.0.0.1:9464"
[metrics.const_labels]
service = "bsc-monitor"
"#;

/// The whole configuration: `monitoring` (the library's sections) and
/// `app` (this app's), with where each key was set.
pub type Config = ServiceConfig<AppConfig>;

/// The app's own sections.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct AppConfig {
    /// `[node]`: the BSC node.
    pub node: NodeConfig,
    /// `[price_api]`: the token price API (DBotX-like).
    pub price_api: PriceApiConfig,
    /// `[pipeline]`: concurrency.
    pub pipeline: PipelineConfig,
    /// `[filters]`: the two filter layers.
    pub filters: FiltersConfig,
    /// `[cooldown]`: per-token cool-down.
    pub cooldown: CooldownConfig,
    /// `[degraded]`: the "no data" cache.
    pub degraded: DegradedConfig,
    /// `[sinks]`: where alerts go.
    pub sinks: SinksConfig,
    /// `[simulator]`: the embedded node and price API.
    pub simulator: SimulatorConfig,
    /// `[tls]`: certificates trusted by `wss://` and `https://` clients.
    pub tls: TlsConfig,
}

/// `[tls]`.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct TlsConfig {
    /// A PEM file of CA certificates to trust besides Mozilla's roots
    /// (bundled): a node or webhook behind a private CA. None by default.
    pub ca_file: Option<PathBuf>,
}

/// `[node]`.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct NodeConfig {
    /// `simulated`, or the `ws://` or `wss://` URL of a node.
    pub url: String,
    /// Timeout of one JSON-RPC call.
    pub rpc_timeout_secs: f64,
    /// Retries of a failed or timed-out JSON-RPC call.
    pub rpc_retries: u32,
    /// Longest silence of the subscription before its health is down.
    pub max_silence_secs: f64,
    /// First reconnect delay; doubles up to 30 s.
    pub reconnect_backoff_secs: f64,
}

impl Default for NodeConfig {
    fn default() -> Self {
        Self {
            url: SIMULATED.to_owned(),
            rpc_timeout_secs: 2.0,
            rpc_retries: 2,
            max_silence_secs: 10.0,
            reconnect_backoff_secs: 0.5,
        }
    }
}

/// `[price_api]`.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct PriceApiConfig {
    /// `simulated`, or the base URL (`https://…` or `http://…`) of the API.
    pub url: String,
    /// Timeout of one request.
    pub timeout_secs: f64,
    /// Retries of a failed, rate-limited or timed-out request.
    pub retries: u32,
}

impl Default for PriceApiConfig {
    fn default() -> Self {
        Self {
            url: SIMULATED.to_owned(),
            timeout_secs: 2.0,
            retries: 2,
        }
    }
}

/// `[pipeline]`.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct PipelineConfig {
    /// Messages processed at once; the reader waits when all are busy.
    pub concurrency: usize,
}

impl Default for PipelineConfig {
    fn default() -> Self {
        Self { concurrency: 64 }
    }
}

/// `[filters]`.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct FiltersConfig {
    /// `[filters.layer1]`: amounts, per market.
    pub layer1: Layer1Config,
    /// `[filters.layer2]`: market data, one rule per market.
    pub layer2: Layer2Config,
    /// `[filters.blacklist]`: tokens never alerted.
    pub blacklist: BlacklistConfig,
}

/// `[filters.layer1]`: the seed's `filters.layer1.internal` /
/// `filters.layer1.external`.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct Layer1Config {
    /// `[filters.layer1.internal]`: the bonding curve (内盘).
    pub internal: InternalLayer1Config,
    /// `[filters.layer1.external]`: DEX pairs (外盘).
    pub external: ExternalLayer1Config,
    // The keys of the layout before the split by market, accepted only
    // so that the checks can name the keys replacing them.
    pub(crate) min_amount_usd: Option<toml::Value>,
    pub(crate) cumulative_min_amount_usd: Option<toml::Value>,
    pub(crate) cumulative_window_secs: Option<toml::Value>,
}

/// `[filters.layer1.internal]`.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct InternalLayer1Config {
    /// A single swap of at least this many USD(T) passes.
    pub min_amount: f64,
    /// Smaller swaps of one token pass once they add up to this in the window.
    pub cumulative_min_amount: f64,
    /// The window of the cumulative amount.
    pub cumulative_window_secs: f64,
}

impl Default for InternalLayer1Config {
    fn default() -> Self {
        Self {
            min_amount: 400.0,
            cumulative_min_amount: 1000.0,
            cumulative_window_secs: 60.0,
        }
    }
}

/// `[filters.layer1.external]`: a single-swap minimum only, as in the
/// seed (no cumulative amount on DEX pairs).
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct ExternalLayer1Config {
    /// A single swap of at least this many USD(T) passes.
    pub min_amount: f64,
}

impl Default for ExternalLayer1Config {
    fn default() -> Self {
        Self { min_amount: 400.0 }
    }
}

/// `[filters.layer2]`: one rule per market.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct Layer2Config {
    /// `[filters.layer2.internal]`: the rule for bonding-curve tokens.
    pub internal: Layer2Rule,
    /// `[filters.layer2.external]`: the rule for DEX tokens.
    pub external: Layer2Rule,
    // The keys of the layout before the rules per market.
    pub(crate) min_price_change: Option<toml::Value>,
    pub(crate) price_window: Option<toml::Value>,
    pub(crate) min_volume_usd: Option<toml::Value>,
}

/// One layer-2 rule: some of its conditions (`conditions`), combined with
/// `trigger`.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct Layer2Rule {
    /// `any`: the rule passes when one of its conditions holds; `all`:
    /// when every one does.
    pub trigger: Trigger,
    /// The conditions that make up the rule, at least one; the thresholds
    /// of the others are ignored.
    pub conditions: Vec<Condition>,
    /// `price_change`: the absolute price change over a window.
    pub price_change: PriceChangeCondition,
    /// `volume`: the traded volume over a window.
    pub volume: VolumeCondition,
    /// `market_cap`: the market cap within a range.
    pub market_cap: MarketCapCondition,
}

impl Default for Layer2Rule {
    fn default() -> Self {
        Self {
            trigger: Trigger::All,
            conditions: vec![Condition::PriceChange, Condition::Volume],
            price_change: PriceChangeCondition::default(),
            volume: VolumeCondition::default(),
            market_cap: MarketCapCondition::default(),
        }
    }
}

/// How a rule combines its conditions.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum Trigger {
    /// One condition holding is enough.
    Any,
    /// Every condition must hold.
    #[default]
    All,
}

/// A layer-2 condition.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Condition {
    /// [`PriceChangeCondition`].
    PriceChange,
    /// [`VolumeCondition`].
    Volume,
    /// [`MarketCapCondition`].
    MarketCap,
}

/// `price_change`: holds when the absolute price change over
/// `time_window` is at least `threshold`.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct PriceChangeCondition {
    /// The smallest absolute change (0.05 = 5 %, up or down).
    pub threshold: f64,
    /// The window: `1m`, `5m` or `1h`.
    pub time_window: PriceWindow,
}

impl Default for PriceChangeCondition {
    fn default() -> Self {
        Self {
            threshold: 0.05,
            time_window: PriceWindow::OneMinute,
        }
    }
}

/// `volume`: holds when the volume over `time_window` is at least
/// `min_volume`.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct VolumeCondition {
    /// The smallest volume, USD.
    pub min_volume: f64,
    /// The window: `1m`, `5m` or `1h`.
    pub time_window: PriceWindow,
}

impl Default for VolumeCondition {
    fn default() -> Self {
        Self {
            min_volume: 1000.0,
            time_window: PriceWindow::OneMinute,
        }
    }
}

/// `market_cap`: holds when the market cap is at least `min` and, if
/// `max` is set, at most `max`. A token whose market cap the API does
/// not report does not meet it.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct MarketCapCondition {
    /// The smallest market cap, USD.
    pub min: f64,
    /// The largest market cap, USD; none by default.
    pub max: Option<f64>,
}

/// A window of price change and volume, as the price API reports them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[non_exhaustive]
pub enum PriceWindow {
    /// One minute.
    #[default]
    #[serde(rename = "1m")]
    OneMinute,
    /// Five minutes.
    #[serde(rename = "5m")]
    FiveMinutes,
    /// One hour.
    #[serde(rename = "1h")]
    OneHour,
}

/// `[filters.blacklist]`: tokens rejected before any API call, from the
/// list here and a file, cached for `ttl_secs`.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct BlacklistConfig {
    /// Token addresses (`0x` and 40 hex digits, any case).
    pub tokens: Vec<String>,
    /// A file of token addresses, one a line (`#` starts a comment),
    /// re-read when the cached list is older than `ttl_secs`; none by
    /// default.
    pub file: Option<PathBuf>,
    /// How long the cached list is used before the file is read again.
    pub ttl_secs: f64,
}

impl Default for BlacklistConfig {
    fn default() -> Self {
        Self {
            tokens: Vec::new(),
            file: None,
            ttl_secs: 60.0,
        }
    }
}

/// The most tokens `filters.blacklist.tokens`, and the file, may each hold.
pub const MAX_BLACKLIST_TOKENS: usize = 1_000_000;

impl FiltersConfig {
    /// Each key of the old layout that is set, with the keys replacing it.
    fn moved_keys(&self) -> Vec<(&'static str, &toml::Value, &'static str)> {
        let (l1, l2) = (&self.layer1, &self.layer2);
        [
            (
                "filters.layer1.min_amount_usd",
                &l1.min_amount_usd,
                "`filters.layer1.internal.min_amount` and `filters.layer1.external.min_amount`",
            ),
            (
                "filters.layer1.cumulative_min_amount_usd",
                &l1.cumulative_min_amount_usd,
                "`filters.layer1.internal.cumulative_min_amount`",
            ),
            (
                "filters.layer1.cumulative_window_secs",
                &l1.cumulative_window_secs,
                "`filters.layer1.internal.cumulative_window_secs`",
            ),
            (
                "filters.layer2.min_price_change",
                &l2.min_price_change,
                "`filters.layer2.internal.price_change.threshold` and `filters.layer2.external.price_change.threshold`",
            ),
            (
                "filters.layer2.price_window",
                &l2.price_window,
                "`filters.layer2.internal.price_change.time_window` and `filters.layer2.external.price_change.time_window` (and `….volume.time_window`)",
            ),
            (
                "filters.layer2.min_volume_usd",
                &l2.min_volume_usd,
                "`filters.layer2.internal.volume.min_volume` and `filters.layer2.external.volume.min_volume`",
            ),
        ]
        .into_iter()
        .filter_map(|(key, v, new)| v.as_ref().map(|v| (key, v, new)))
        .collect()
    }
}

/// `[cooldown]`.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct CooldownConfig {
    /// After an alert, no other alert for the same token for this long.
    pub minutes: f64,
    /// A random extra delay of up to this many seconds, so tokens alerted
    /// together do not come out of cool-down together.
    pub jitter_secs: f64,
    /// Empty: cool-downs are kept in this process. A `redis://` URL: they
    /// are claimed in that Redis, shared by every instance that names it,
    /// so several instances on one feed send each alert once.
    pub redis_url: String,
    /// Prefix of the cool-down keys in Redis.
    pub redis_prefix: String,
}

impl Default for CooldownConfig {
    fn default() -> Self {
        Self {
            minutes: 3.0,
            jitter_secs: 30.0,
            redis_url: String::new(),
            redis_prefix: "bsc-monitor:cooldown:".to_owned(),
        }
    }
}

/// `[degraded]`: the seed's item 8, plan B.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct DegradedConfig {
    /// How long a token stays "no data" after its 1st, 2nd, 3rd and later
    /// consecutive failures; a success clears it.
    pub ttls_secs: Vec<f64>,
    /// While a token has no data, alert on the amount alone (marked as
    /// such) instead of not at all.
    pub alert_amount_only: bool,
}

impl Default for DegradedConfig {
    fn default() -> Self {
        Self {
            ttls_secs: vec![300.0, 1800.0, 3600.0],
            alert_amount_only: true,
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
    pub webhook: WebhookSinkConfig,
}

/// `[sinks.log]`.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct LogSinkConfig {
    /// Log each alert.
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
pub struct WebhookSinkConfig {
    /// `https://` or `http://` URL to POST alerts to; empty: no webhook.
    pub url: String,
    /// The `chat_id` of the Telegram-style payload.
    pub chat_id: String,
    /// Timeout of one POST.
    pub timeout_secs: f64,
}

impl Default for WebhookSinkConfig {
    fn default() -> Self {
        Self {
            url: String::new(),
            chat_id: "-1001234567890".to_owned(),
            timeout_secs: 2.0,
        }
    }
}

/// `[simulator]`.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct SimulatorConfig {
    /// Swap notifications per second.
    pub rate_per_sec: f64,
    /// Seed of the stream: the same seed gives the same swaps.
    pub seed: u64,
    /// Number of trading pairs.
    pub pairs: u32,
    /// Latency of each RPC answer and price API response, milliseconds.
    pub latency_ms: u64,
    /// `[simulator.faults]`.
    pub faults: FaultsConfig,
}

impl Default for SimulatorConfig {
    fn default() -> Self {
        Self {
            rate_per_sec: 200.0,
            seed: 7,
            pairs: 50,
            latency_ms: 0,
            faults: FaultsConfig::default(),
        }
    }
}

/// `[simulator.faults]`: every fault is off by default.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct FaultsConfig {
    /// Close each subscription after this many notifications; 0: never.
    pub disconnect_after: u64,
    /// Extra delay of RPC answers, milliseconds.
    pub rpc_delay_ms: u64,
    /// Fraction of RPC calls answered with a JSON-RPC error.
    pub rpc_error_rate: f64,
    /// Fraction of notifications that are not JSON.
    pub malformed_rate: f64,
    /// Fraction of price API requests answered `429 Too Many Requests`.
    pub price_429_rate: f64,
    /// Fraction of price API answers missing their market data.
    pub price_missing_rate: f64,
    /// Seconds after start-up at which the simulated node goes down (it
    /// stops listening and closes every connection) for `outage_secs`;
    /// 0: never.
    pub outage_after_secs: f64,
    /// How long the outage lasts, seconds; the node then comes back on the
    /// same port with the same stream. 0: no outage.
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
/// variable name and value; only `BSC_MONITOR_…` ones are read).
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
    /// The checks serde cannot express: ranges, URL schemes.
    fn validate(&self, config: &Config) -> Result<(), ConfigError> {
        let url = |key: &str, v: &str, schemes: &[&str]| {
            if v == SIMULATED || schemes.iter().any(|s| v.starts_with(s)) {
                Ok(())
            } else {
                Err(config.invalid(
                    key,
                    format!("{:?}", redact_url(v)),
                    format!(
                        "`simulated` or a URL starting with {}",
                        schemes.join(" or ")
                    ),
                ))
            }
        };
        url("node.url", &self.node.url, &["ws://", "wss://"])?;
        let timeout = MILLISECOND..=HOUR;
        let n = &self.node;
        config.duration_within(
            "node.rpc_timeout_secs",
            n.rpc_timeout_secs,
            SECOND,
            timeout.clone(),
        )?;
        config.within("node.rpc_retries", n.rpc_retries, 0..=100)?;
        config.duration_within(
            "node.max_silence_secs",
            n.max_silence_secs,
            SECOND,
            MILLISECOND..=DAY,
        )?;
        config.duration_within(
            "node.reconnect_backoff_secs",
            n.reconnect_backoff_secs,
            SECOND,
            MILLISECOND..=MAX_RECONNECT_BACKOFF,
        )?;
        url(
            "price_api.url",
            &self.price_api.url,
            &["http://", "https://"],
        )?;
        config.duration_within(
            "price_api.timeout_secs",
            self.price_api.timeout_secs,
            SECOND,
            timeout.clone(),
        )?;
        config.within("price_api.retries", self.price_api.retries, 0..=100)?;
        config.size("pipeline.concurrency", self.pipeline.concurrency, 1_000_000)?;
        self.filters.validate(config)?;
        config.duration_within(
            "cooldown.minutes",
            self.cooldown.minutes,
            MINUTE,
            Duration::ZERO..=WEEK,
        )?;
        config.duration_within(
            "cooldown.jitter_secs",
            self.cooldown.jitter_secs,
            SECOND,
            Duration::ZERO..=DAY,
        )?;
        let redis = &self.cooldown.redis_url;
        if !redis.is_empty() {
            let valid = ["redis://", "rediss://", "redis+unix://"]
                .iter()
                .any(|s| redis.starts_with(s))
                && alerting_core::cooldown::RedisStore::builder(redis.as_str())
                    .build()
                    .is_ok();
            if !valid {
                return Err(config.invalid(
                    "cooldown.redis_url",
                    format!("{:?}", redact_url(redis)),
                    "empty (cool-downs in this process) or a redis:// URL",
                ));
            }
        }
        if self.cooldown.redis_prefix.len() > 256 {
            return Err(config.invalid(
                "cooldown.redis_prefix",
                format!("{} bytes", self.cooldown.redis_prefix.len()),
                "at most 256 bytes",
            ));
        }
        let ttls = &self.degraded.ttls_secs;
        if ttls.is_empty() || ttls.len() > 100 {
            return Err(config.invalid(
                "degraded.ttls_secs",
                format!("a list of {} durations", ttls.len()),
                "1 to 100 durations",
            ));
        }
        for ttl in ttls {
            config.duration_within("degraded.ttls_secs", *ttl, SECOND, MILLISECOND..=WEEK)?;
        }
        let webhook = &self.sinks.webhook.url;
        if !webhook.is_empty()
            && !webhook.starts_with("http://")
            && !webhook.starts_with("https://")
        {
            return Err(config.invalid(
                "sinks.webhook.url",
                format!("{:?}", redact_url(webhook)),
                "empty or an `http://` or `https://` URL",
            ));
        }
        config.duration_within(
            "sinks.webhook.timeout_secs",
            self.sinks.webhook.timeout_secs,
            SECOND,
            timeout,
        )?;
        let sim = &self.simulator;
        config.within("simulator.rate_per_sec", sim.rate_per_sec, 0.0..=1e6)?;
        config.size("simulator.pairs", sim.pairs, 100_000)?;
        // Whole milliseconds, so f64 is exact up to 2^53.
        let millis = Duration::ZERO..=MINUTE;
        config.duration_within(
            "simulator.latency_ms",
            sim.latency_ms as f64,
            MILLISECOND,
            millis.clone(),
        )?;
        if let Some(path) = &self.tls.ca_file
            && let Err(e) = Tls::new(Some(path))
        {
            return Err(config.invalid(
                "tls.ca_file",
                format!("{path:?}"),
                format!("a readable PEM file of CA certificates ({e})"),
            ));
        }
        let f = &sim.faults;
        config.duration_within(
            "simulator.faults.rpc_delay_ms",
            f.rpc_delay_ms as f64,
            MILLISECOND,
            millis,
        )?;
        config.fraction("simulator.faults.rpc_error_rate", f.rpc_error_rate)?;
        config.fraction("simulator.faults.malformed_rate", f.malformed_rate)?;
        config.fraction("simulator.faults.price_429_rate", f.price_429_rate)?;
        config.fraction("simulator.faults.price_missing_rate", f.price_missing_rate)?;
        for (key, v) in [
            ("simulator.faults.outage_after_secs", f.outage_after_secs),
            ("simulator.faults.outage_secs", f.outage_secs),
        ] {
            config.duration_within(key, v, SECOND, Duration::ZERO..=DAY)?;
        }
        Ok(())
    }
}

impl FiltersConfig {
    /// `[filters]`: thresholds finite and 0 or more, windows within their
    /// limits, every rule with a condition, the blacklist readable.
    fn validate(&self, config: &Config) -> Result<(), ConfigError> {
        if let Some((key, value, new)) = self.moved_keys().first() {
            return Err(config.invalid(
                key,
                value,
                format!("no value: the key moved to {new} (thresholds are set per market)"),
            ));
        }
        let l1 = &self.layer1;
        for (key, v) in [
            ("filters.layer1.internal.min_amount", l1.internal.min_amount),
            (
                "filters.layer1.internal.cumulative_min_amount",
                l1.internal.cumulative_min_amount,
            ),
            ("filters.layer1.external.min_amount", l1.external.min_amount),
        ] {
            config.non_negative(key, v)?;
        }
        config.duration_within(
            "filters.layer1.internal.cumulative_window_secs",
            l1.internal.cumulative_window_secs,
            SECOND,
            MILLISECOND..=DAY,
        )?;
        for (market, rule) in [
            ("internal", &self.layer2.internal),
            ("external", &self.layer2.external),
        ] {
            let key = |k: &str| format!("filters.layer2.{market}.{k}");
            if rule.conditions.is_empty() {
                return Err(config.invalid(
                    &key("conditions"),
                    "[]",
                    "at least one of \"price_change\", \"volume\", \"market_cap\"",
                ));
            }
            for (i, c) in rule.conditions.iter().enumerate() {
                if rule.conditions[..i].contains(c) {
                    return Err(config.invalid(
                        &key("conditions"),
                        format!("{c:?} twice"),
                        "each condition at most once",
                    ));
                }
            }
            config.non_negative(&key("price_change.threshold"), rule.price_change.threshold)?;
            config.non_negative(&key("volume.min_volume"), rule.volume.min_volume)?;
            config.non_negative(&key("market_cap.min"), rule.market_cap.min)?;
            if let Some(max) = rule.market_cap.max {
                config.non_negative(&key("market_cap.max"), max)?;
                if max < rule.market_cap.min {
                    return Err(config.invalid(
                        &key("market_cap.max"),
                        max,
                        format!("at least `market_cap.min` ({})", rule.market_cap.min),
                    ));
                }
            }
        }
        let b = &self.blacklist;
        config.duration_within(
            "filters.blacklist.ttl_secs",
            b.ttl_secs,
            SECOND,
            MILLISECOND..=DAY,
        )?;
        if b.tokens.len() > MAX_BLACKLIST_TOKENS {
            return Err(config.invalid(
                "filters.blacklist.tokens",
                format!("a list of {} tokens", b.tokens.len()),
                format!("at most {MAX_BLACKLIST_TOKENS} tokens"),
            ));
        }
        for token in &b.tokens {
            if crate::blacklist::parse_address(token).is_none() {
                return Err(config.invalid(
                    "filters.blacklist.tokens",
                    format!("{token:?}"),
                    "token addresses: `0x` and 40 hex digits",
                ));
            }
        }
        if let Some(path) = &b.file
            && let Err(e) = crate::blacklist::read_file(path)
        {
            return Err(config.invalid(
                "filters.blacklist.file",
                format!("{path:?}"),
                format!("a readable file of token addresses, one a line ({e})"),
            ));
        }
        Ok(())
    }
}

/// The longest `node.reconnect_backoff_secs`: the delay doubles up to
/// 30 s (`Intake::run` in `app.rs`), so a longer first delay means nothing.
const MAX_RECONNECT_BACKOFF: Duration = Duration::from_secs(30);

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
        assert_eq!(c.app.node.url, SIMULATED);
        assert_eq!(
            c.monitoring.metrics.listen_addr.to_string(),
            DEFAULT_LISTEN_ADDR
        );
        assert_eq!(c.app.pipeline.concurrency, 64);
    }

    #[test]
    fn the_shipped_file_loads_and_matches_the_defaults() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("bsc-monitor.toml");
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
            "[pipeline]\nconcurrency = 8\n",
            &[
                ("BSC_MONITOR_PIPELINE__CONCURRENCY", "16"),
                ("BSC_MONITOR_FILTERS__LAYER1__INTERNAL__MIN_AMOUNT", "500"),
                (
                    "BSC_MONITOR_FILTERS__LAYER2__EXTERNAL__CONDITIONS",
                    r#"["market_cap"]"#,
                ),
                ("BSC_MONITOR_FILTERS__LAYER2__EXTERNAL__TRIGGER", "any"),
                ("BSC_MONITOR_SHUTDOWN__DEADLINE_SECS", "3"),
                ("BSC_MONITOR_NODE__URL", "ws://127.0.0.1:1"),
                ("OTHER", "x"),
            ],
        )
        .unwrap();
        assert_eq!(c.app.pipeline.concurrency, 16);
        assert_eq!(c.app.filters.layer1.internal.min_amount, 500.0);
        assert_eq!(c.app.filters.layer1.external.min_amount, 400.0);
        let external = &c.app.filters.layer2.external;
        assert_eq!(external.conditions, [Condition::MarketCap]);
        assert_eq!(external.trigger, Trigger::Any);
        assert_eq!(c.app.filters.layer2.internal, Layer2Rule::default());
        assert_eq!(c.app.node.url, "ws://127.0.0.1:1");
        assert_eq!(c.monitoring.shutdown.deadline, Duration::from_secs(3));
    }

    #[test]
    fn errors_name_the_key() {
        let e = load("[pipeline]\nconcurrency = \"many\"\n", &[]).unwrap_err();
        assert_eq!(e.key(), Some("pipeline.concurrency"), "{e}");
        let e = load("[filters.layer1]\nmin_amount = 3\n", &[]).unwrap_err();
        assert_eq!(e.key(), Some("filters.layer1.min_amount"), "{e}");
        let e = load("", &[("BSC_MONITOR_PIPELINE__CONCURRENCY", "0")]).unwrap_err();
        assert_eq!(e.key(), Some("pipeline.concurrency"));
        assert!(
            e.to_string().contains("BSC_MONITOR_PIPELINE__CONCURRENCY"),
            "{e}"
        );
        let e = load("[simulator.faults]\nrpc_error_rate = 2.0\n", &[]).unwrap_err();
        assert_eq!(e.key(), Some("simulator.faults.rpc_error_rate"));
        let e = load("[node]\nurl = \"https://x\"\n", &[]).unwrap_err();
        assert_eq!(e.key(), Some("node.url"));
        let e = load("[shutdown]\ndeadline_secs = -1\n", &[]).unwrap_err();
        assert!(e.to_string().contains("shutdown.deadline_secs"), "{e}");
        let e = load("[nope]\n", &[]).unwrap_err();
        assert_eq!(e.key(), Some("nope"), "{e}");
    }

    #[test]
    fn the_old_filter_keys_name_the_keys_that_replace_them() {
        for (text, old, new) in [
            (
                "[filters.layer1]\nmin_amount_usd = 500.0\n",
                "filters.layer1.min_amount_usd",
                "filters.layer1.internal.min_amount",
            ),
            (
                "[filters.layer1]\ncumulative_min_amount_usd = 500.0\n",
                "filters.layer1.cumulative_min_amount_usd",
                "filters.layer1.internal.cumulative_min_amount",
            ),
            (
                "[filters.layer1]\ncumulative_window_secs = 30\n",
                "filters.layer1.cumulative_window_secs",
                "filters.layer1.internal.cumulative_window_secs",
            ),
            (
                "[filters.layer2]\nmin_price_change = 0.1\n",
                "filters.layer2.min_price_change",
                "filters.layer2.internal.price_change.threshold",
            ),
            (
                "[filters.layer2]\nprice_window = \"5m\"\n",
                "filters.layer2.price_window",
                "filters.layer2.internal.price_change.time_window",
            ),
            (
                "[filters.layer2]\nmin_volume_usd = 10\n",
                "filters.layer2.min_volume_usd",
                "filters.layer2.external.volume.min_volume",
            ),
        ] {
            let e = load(text, &[]).unwrap_err();
            assert_eq!(e.key(), Some(old), "{e}");
            assert!(e.to_string().contains(new), "{e}");
        }
        // From the environment too, naming the variable.
        let e = load("", &[("BSC_MONITOR_FILTERS__LAYER1__MIN_AMOUNT_USD", "0")]).unwrap_err();
        assert_eq!(e.key(), Some("filters.layer1.min_amount_usd"), "{e}");
        assert!(
            e.to_string()
                .contains("BSC_MONITOR_FILTERS__LAYER1__MIN_AMOUNT_USD"),
            "{e}"
        );
    }

    #[test]
    fn bad_filter_values_are_errors_naming_the_key() {
        for (text, key) in [
            (
                "[filters.layer1.internal]\nmin_amount = -1.0\n",
                "filters.layer1.internal.min_amount",
            ),
            (
                "[filters.layer1.internal]\ncumulative_min_amount = nan\n",
                "filters.layer1.internal.cumulative_min_amount",
            ),
            (
                "[filters.layer1.external]\nmin_amount = inf\n",
                "filters.layer1.external.min_amount",
            ),
            (
                "[filters.layer1.external]\ncumulative_min_amount = 5.0\n",
                "filters.layer1.external.cumulative_min_amount",
            ),
            (
                "[filters.layer2.internal]\nconditions = []\n",
                "filters.layer2.internal.conditions",
            ),
            (
                "[filters.layer2.external]\nconditions = [\"volume\", \"volume\"]\n",
                "filters.layer2.external.conditions",
            ),
            (
                "[filters.layer2.external]\nconditions = [\"holders\"]\n",
                "filters.layer2.external.conditions.0",
            ),
            (
                "[filters.layer2.internal]\ntrigger = \"some\"\n",
                "filters.layer2.internal.trigger",
            ),
            (
                "[filters.layer2.internal.price_change]\ntime_window = \"2m\"\n",
                "filters.layer2.internal.price_change.time_window",
            ),
            (
                "[filters.layer2.external.volume]\ntime_window = \"1d\"\n",
                "filters.layer2.external.volume.time_window",
            ),
            (
                "[filters.layer2.internal.price_change]\nthreshold = -0.05\n",
                "filters.layer2.internal.price_change.threshold",
            ),
            (
                "[filters.layer2.external.volume]\nmin_volume = nan\n",
                "filters.layer2.external.volume.min_volume",
            ),
            (
                "[filters.layer2.internal.market_cap]\nmin = -1.0\n",
                "filters.layer2.internal.market_cap.min",
            ),
            (
                "[filters.layer2.internal.market_cap]\nmin = 100.0\nmax = 10.0\n",
                "filters.layer2.internal.market_cap.max",
            ),
            (
                "[filters.blacklist]\ntokens = [\"0x12\"]\n",
                "filters.blacklist.tokens",
            ),
            (
                "[filters.blacklist]\nfile = \"/nonexistent/blacklist.txt\"\n",
                "filters.blacklist.file",
            ),
            (
                "[filters.blacklist]\nttl_secs = 0\n",
                "filters.blacklist.ttl_secs",
            ),
        ] {
            let e = load(text, &[]).unwrap_err();
            assert_eq!(e.key(), Some(key), "{text}: {e}");
        }
        // The allowed sets are named.
        let e = load("[filters.layer2.internal]\ntrigger = \"some\"\n", &[]).unwrap_err();
        assert!(
            e.to_string().contains("any") && e.to_string().contains("all"),
            "{e}"
        );
        let e = load(
            "[filters.layer2.internal.price_change]\ntime_window = \"2m\"\n",
            &[],
        )
        .unwrap_err();
        assert!(e.to_string().contains("5m"), "{e}");
    }

    /// Values that passed the old checks and then panicked (`Instant +
    /// Duration`) or aborted (a failed allocation) at run time.
    #[test]
    fn every_duration_and_size_has_a_maximum() {
        for (var, value, key) in [
            (
                "BSC_MONITOR_NODE__RPC_TIMEOUT_SECS",
                "1e300",
                "node.rpc_timeout_secs",
            ),
            (
                "BSC_MONITOR_NODE__RPC_RETRIES",
                "4000000000",
                "node.rpc_retries",
            ),
            (
                "BSC_MONITOR_NODE__MAX_SILENCE_SECS",
                "1e300",
                "node.max_silence_secs",
            ),
            (
                "BSC_MONITOR_NODE__RECONNECT_BACKOFF_SECS",
                "1e300",
                "node.reconnect_backoff_secs",
            ),
            (
                "BSC_MONITOR_PRICE_API__TIMEOUT_SECS",
                "1e300",
                "price_api.timeout_secs",
            ),
            ("BSC_MONITOR_PRICE_API__RETRIES", "101", "price_api.retries"),
            (
                "BSC_MONITOR_PIPELINE__CONCURRENCY",
                "1000000000000",
                "pipeline.concurrency",
            ),
            (
                "BSC_MONITOR_FILTERS__LAYER1__INTERNAL__CUMULATIVE_WINDOW_SECS",
                "1e300",
                "filters.layer1.internal.cumulative_window_secs",
            ),
            (
                "BSC_MONITOR_FILTERS__BLACKLIST__TTL_SECS",
                "1e300",
                "filters.blacklist.ttl_secs",
            ),
            ("BSC_MONITOR_COOLDOWN__MINUTES", "1e300", "cooldown.minutes"),
            ("BSC_MONITOR_COOLDOWN__MINUTES", "10081", "cooldown.minutes"),
            (
                "BSC_MONITOR_COOLDOWN__JITTER_SECS",
                "1e300",
                "cooldown.jitter_secs",
            ),
            (
                "BSC_MONITOR_COOLDOWN__REDIS_URL",
                "http://127.0.0.1:6379/",
                "cooldown.redis_url",
            ),
            (
                "BSC_MONITOR_COOLDOWN__REDIS_URL",
                "redis://[::1/",
                "cooldown.redis_url",
            ),
            (
                "BSC_MONITOR_DEGRADED__TTLS_SECS",
                "[300, 1e300]",
                "degraded.ttls_secs",
            ),
            (
                "BSC_MONITOR_SINKS__WEBHOOK__TIMEOUT_SECS",
                "1e300",
                "sinks.webhook.timeout_secs",
            ),
            (
                "BSC_MONITOR_SIMULATOR__PAIRS",
                "4000000000",
                "simulator.pairs",
            ),
            (
                "BSC_MONITOR_SIMULATOR__LATENCY_MS",
                "10000000000000",
                "simulator.latency_ms",
            ),
            (
                "BSC_MONITOR_SIMULATOR__FAULTS__RPC_DELAY_MS",
                "10000000000000",
                "simulator.faults.rpc_delay_ms",
            ),
            (
                "BSC_MONITOR_SIMULATOR__FAULTS__OUTAGE_SECS",
                "1e300",
                "simulator.faults.outage_secs",
            ),
            (
                "BSC_MONITOR_HEALTH__TIMEOUT_SECS",
                "1e300",
                "health.timeout_secs",
            ),
            (
                "BSC_MONITOR_METRICS__CONST_LABELS__SERVICE",
                "",
                "metrics.const_labels.service",
            ),
        ] {
            let e = load("", &[(var, value)]).unwrap_err();
            assert_eq!(e.key(), Some(key), "{var}={value}: {e}");
            assert!(e.to_string().contains(var), "{e}");
        }
        // The maxima themselves load.
        let c = load(
            "[cooldown]\nminutes = 10080\n[simulator]\npairs = 100000\nlatency_ms = 60000\n",
            &[],
        )
        .unwrap();
        assert_eq!(c.app.simulator.pairs, 100_000);
        assert_eq!(
            secs(c.app.cooldown.minutes * 60.0),
            Duration::from_secs(7 * 86_400)
        );
    }
}
