//! The metrics: the SolAlert plan's BSC list, names and labels as written
//! there, with enum labels for every closed set.
//!
//! This file is the one definition of bsc-monitor's metrics: the rules and
//! dashboard generator (`src/generate.rs`, feature `generate`) uses these
//! types, so the generated rules, tests and dashboard (committed in
//! `docs/generated/bsc-monitor/`) name these families, labels and buckets. Each
//! field is [`Named`], which derefs to the metric and lets rules and panels
//! name it.

pub use alerting_axum::outbound::CallOutcome;
use alerting_axum::outbound::{Endpoint, OutboundMetrics};
use alerting_core::metrics::Named;
use alerting_core::metrics::{
    Counter, Family, Gauge, Histogram, LabelSet, LabelValue, MetricGroup, MetricsError, Registry,
};

/// The app's `#[instrumented]` functions (`src/pipeline.rs`,
/// `src/price.rs`, `src/sinks.rs`) that the generated dashboard gives a row
/// each, in this order. Their options come from the attributes (the
/// linked call sites); a name that is no call site fails generation.
pub const INSTRUMENTED_FUNCTIONS: &[&str] =
    &["process_swap_event", "fetch_token_info", "send_alert"];

/// What happened to a call.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, LabelValue)]
pub enum CallResult {
    /// It worked.
    Ok,
    /// It failed.
    Error,
}

/// A chain.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, LabelValue)]
pub enum Chain {
    /// BNB Smart Chain.
    Bsc,
}

/// Where an alert is sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, LabelValue)]
pub enum Channel {
    /// The log.
    Log,
    /// A webhook (a Telegram-style payload).
    Webhook,
}

/// `alerts_sent_total` labels.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, LabelSet)]
pub struct AlertSent {
    /// The chain.
    pub chain: Chain,
    /// The sink.
    pub channel: Channel,
    /// Whether it was delivered.
    pub result: CallResult,
}

/// A log event type.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, LabelValue)]
pub enum EventType {
    /// A DEX `Swap`.
    Swap,
    /// A message that could not be read as a log notification.
    Unknown,
}

/// How a WebSocket message was handled; each message read is counted
/// once, under one of these.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, LabelValue)]
pub enum Handled {
    /// Processed to the end: an alert was sent.
    Ok,
    /// Failed (malformed, or enrichment failed after retries).
    Error,
    /// Processed to the end: a filter or the cool-down dropped it.
    Filtered,
    /// Cut short by shutdown's deadline.
    Aborted,
}

/// `bsc_ws_messages_total` labels.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, LabelSet)]
pub struct WsMessage {
    /// The event type.
    pub event_type: EventType,
    /// How it was handled.
    pub result: Handled,
}

/// Labels by event type.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, LabelSet)]
pub struct Event {
    /// The event type.
    pub event_type: EventType,
}

/// A filter layer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, LabelValue)]
pub enum Layer {
    /// The blacklist, then amounts: single and cumulative.
    Layer1,
    /// Market data: price change, volume and market cap.
    Layer2,
}

/// The market a swap was made on (the seed's `market_type`; its filter
/// thresholds are set per market: `[filters.layer1.internal]`, …).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, LabelValue)]
pub enum MarketType {
    /// The internal market (内盘): a four.meme bonding curve, before the
    /// token graduates to a DEX.
    Internal,
    /// The external market (外盘): a DEX pair (PancakeSwap).
    External,
}

/// `bsc_filter_passed_total` labels.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, LabelSet)]
pub struct FilterPassed {
    /// The layer.
    pub layer: Layer,
    /// The market.
    pub market_type: MarketType,
}

/// Why a filter rejected an event.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, LabelValue)]
pub enum Reason {
    /// Single and cumulative amounts below the thresholds.
    AmountTooSmall,
    /// Price change below the threshold.
    PriceChangeTooSmall,
    /// Volume below the threshold.
    VolumeTooSmall,
    /// Market cap outside the rule's range (or not reported).
    MarketCapOutOfRange,
    /// The token is on the blacklist (`[filters.blacklist]`).
    Blacklisted,
    /// No market data (the degraded-data cache) and amount-only alerts off.
    NoData,
    /// The transaction failed on chain.
    TxFailed,
}

/// `bsc_filter_rejected_total` labels.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, LabelSet)]
pub struct FilterRejected {
    /// The layer.
    pub layer: Layer,
    /// Why.
    pub reason: Reason,
}

/// How the blacklist answered a lookup.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, LabelValue)]
pub enum CacheResult {
    /// From the cached list, within its TTL.
    Hit,
    /// The cached list had expired: answered from the last good list
    /// while a refresh runs in the background.
    Miss,
}

/// `bsc_blacklist_lookups_total` labels.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, LabelSet)]
pub struct CacheLookup {
    /// Hit or miss.
    pub result: CacheResult,
}

/// `bsc_blacklist_refreshes_total` labels.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, LabelSet)]
pub struct Refresh {
    /// `ok`: the list was replaced; `error`: the source could not be read
    /// and the last good list stays.
    pub result: CallResult,
}

/// A JSON-RPC method.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, LabelValue)]
pub enum RpcMethod {
    /// `eth_subscribe`.
    #[label(rename = "eth_subscribe")]
    EthSubscribe,
    /// `eth_call`.
    #[label(rename = "eth_call")]
    EthCall,
    /// `eth_getTransactionReceipt`.
    #[label(rename = "eth_getTransactionReceipt")]
    EthGetTransactionReceipt,
    /// `eth_blockNumber` (the health check).
    #[label(rename = "eth_blockNumber")]
    EthBlockNumber,
}

/// Labels by chain.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, LabelSet)]
pub struct ChainLabel {
    /// The chain.
    pub chain: Chain,
}

/// The price API, as the `target` label of `api_requests_total`.
pub const PRICE_API: &str = "dbotx";
/// The price API's token endpoint, as the `route` label.
pub const TOKEN_INFO: &str = "token_info";
/// The chain node, as the `target` label of `rpc_calls_total`.
pub const BSC_NODE: &str = "bsc_node";

/// Every metric of bsc-monitor: its own families ([`BscFamilies`], which
/// it derefs to) and the calls it makes, recorded by alerting-axum's
/// outbound-call metrics (`target`, `route`, `outcome`):
///
/// - `api_requests_total`, `api_request_duration_seconds`: the price API
///   (`target="dbotx"`, `route="token_info"`);
/// - `rpc_calls_total`, `rpc_call_duration_seconds`: JSON-RPC calls to
///   the node (`target="bsc_node"`, `route` the JSON-RPC method).
#[derive(Clone, Debug)]
pub struct BscMetrics {
    families: BscFamilies,
    /// Calls to external data APIs.
    pub api: OutboundMetrics,
    /// JSON-RPC calls to the chain node.
    pub rpc: OutboundMetrics,
}

impl std::ops::Deref for BscMetrics {
    type Target = BscFamilies;

    fn deref(&self) -> &BscFamilies {
        &self.families
    }
}

impl MetricGroup for BscMetrics {
    fn register(registry: &Registry) -> Result<Self, MetricsError> {
        Ok(Self {
            families: BscFamilies::register(registry)?,
            api: OutboundMetrics::builder()
                .names("api_requests_total", "api_request_duration_seconds")
                .build(registry)?,
            rpc: OutboundMetrics::builder()
                .names("rpc_calls_total", "rpc_call_duration_seconds")
                .build(registry)?,
        })
    }
}

impl BscMetrics {
    /// The calls of one JSON-RPC method.
    pub fn rpc_method(&self, method: RpcMethod) -> Endpoint {
        self.rpc.endpoint(BSC_NODE, method.as_method())
    }
}

/// bsc-monitor's own families.
#[derive(Clone, Debug, MetricGroup)]
pub struct BscFamilies {
    /// WebSocket messages handled, by event type and how they were handled.
    pub bsc_ws_messages_total: Named<Family<WsMessage, Counter>>,
    /// Time to process one WebSocket message.
    #[metric(buckets = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0])]
    pub bsc_ws_messages_processing_seconds: Named<Family<Event, Histogram>>,
    /// WebSocket messages read from the socket (each ends in `bsc_ws_messages_total`).
    pub bsc_ws_messages_received_total: Named<Counter>,
    /// WebSocket messages being processed.
    pub bsc_ws_messages_in_flight: Named<Gauge>,
    /// Open log subscriptions (1 when connected).
    pub bsc_ws_connections_active: Named<Gauge>,
    /// Events that passed a filter layer.
    pub bsc_filter_passed_total: Named<Family<FilterPassed, Counter>>,
    /// Events a filter layer rejected, by reason.
    pub bsc_filter_rejected_total: Named<Family<FilterRejected, Counter>>,
    /// Alerts sent to users.
    pub alerts_sent_total: Named<Family<AlertSent, Counter>>,
    /// Alerts suppressed by a cool-down period.
    pub cooldown_hits_total: Named<Family<ChainLabel, Counter>>,
    /// Blacklist lookups, by whether the cached list was fresh.
    pub bsc_blacklist_lookups_total: Named<Family<CacheLookup, Counter>>,
    /// Blacklist refreshes from its sources, by result.
    pub bsc_blacklist_refreshes_total: Named<Family<Refresh, Counter>>,
    /// Tokens on the blacklist in use.
    pub bsc_blacklist_tokens: Named<Gauge>,
}

impl BscFamilies {
    /// Counts one message handled.
    pub fn handled(&self, event_type: EventType, result: Handled) {
        self.bsc_ws_messages_total
            .get(WsMessage { event_type, result })
            .inc();
    }

    /// The messages handled so far, all labels.
    pub fn handled_total(&self) -> u64 {
        self.bsc_ws_messages_total
            .iter()
            .map(|(_, c)| c.get())
            .sum()
    }

    /// The messages handled so far with `result`.
    pub fn handled_with(&self, result: Handled) -> u64 {
        self.bsc_ws_messages_total
            .iter()
            .filter(|(l, _)| l.result == result)
            .map(|(_, c)| c.get())
            .sum()
    }
}
