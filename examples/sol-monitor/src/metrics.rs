//! The metrics: the SolAlert plan's SOL list, names and labels as written
//! there (`sol_ws_connections_active{batch_id}`,
//! `sol_ws_reconnects_total{batch_id,reason}`,
//! `sol_ws_data_received_total{batch_id,has_data}`).
//!
//! This file is the one definition of sol-monitor's metrics: the rules and
//! dashboard generator (`src/generate.rs`, feature `generate`) uses these
//! types, so the generated rules, tests and dashboard (committed in
//! `docs/generated/sol-monitor/`) name these families and labels. Each
//! field is [`Named`], which derefs to the metric and lets rules and panels
//! name it.
//!
//! # Why a `DynamicFamily` for `batch_id`
//!
//! Batch ids are not a closed set known at compile time: they follow from
//! the configuration (the number of accounts over the batch size; in the
//! seed they are rows of a database table), so they cannot be a
//! `LabelValue` enum without capping the app at a fixed number of batches
//! baked into the code. They are bounded twice instead: the configuration
//! refuses more than [`MAX_BATCHES`] batches (naming `batches.size`), and
//! each family's `max_series` is [`MAX_BATCHES`] times the other labels'
//! values, so even a bug cannot grow the series past that. `reason` and
//! `has_data` stay typed (an enum and a `bool`). Each batch resolves its
//! handles once, at start-up, so the hot path never hashes a label.

use alerting_core::metrics::Named;
use alerting_core::metrics::{
    Counter, DynamicFamily, Family, Gauge, Histogram, LabelSet, LabelValue, MetricGroup,
};

/// The app's `#[instrumented]` functions (`src/conn.rs`) that the
/// generated dashboard gives a row each, in this order. Their options come
/// from the attributes (the linked call sites); a name that is no call
/// site fails generation.
pub const INSTRUMENTED_FUNCTIONS: &[&str] = &["process_account_update", "resubscribe_batch"];

/// The most batches (connections) one monitor keeps.
pub const MAX_BATCHES: usize = 256;

/// Why a batch's connection was (re)opened.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, LabelValue)]
pub enum Reason {
    /// The node closed the connection.
    Closed,
    /// Connecting failed, the socket failed, or a subscription was refused.
    Error,
    /// Connecting or confirming the subscriptions took too long.
    Timeout,
    /// Connected, but no notification with data for `node.no_data_timeout_secs`.
    NoData,
}

impl Reason {
    /// Every reason.
    pub const ALL: [Reason; 4] = [
        Reason::Closed,
        Reason::Error,
        Reason::Timeout,
        Reason::NoData,
    ];
}

/// Labels by batch.
#[derive(Clone, Debug, PartialEq, Eq, Hash, LabelSet)]
pub struct Batch {
    /// The batch (`0`, `1`, …).
    pub batch_id: String,
}

/// `sol_ws_reconnects_total` labels.
#[derive(Clone, Debug, PartialEq, Eq, Hash, LabelSet)]
pub struct Reconnect {
    /// The batch.
    pub batch_id: String,
    /// Why.
    pub reason: Reason,
}

/// `sol_ws_data_received_total` labels.
#[derive(Clone, Debug, PartialEq, Eq, Hash, LabelSet)]
pub struct DataReceived {
    /// The batch.
    pub batch_id: String,
    /// Whether the notification carried data.
    pub has_data: bool,
}

/// A query of the store (`src/store.rs`), the `query` label.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, LabelValue)]
pub enum StoreQuery {
    /// Creating or upgrading the schema.
    Migrate,
    /// Filling an empty store on first start.
    Seed,
    /// Reading the active batches (`sol_ws_batch_pool`).
    LoadBatches,
    /// Reading the alert templates.
    LoadTemplates,
    /// Writing a batch of alert-log rows (one transaction).
    InsertAlerts,
}

impl StoreQuery {
    /// Every query.
    pub const ALL: [StoreQuery; 5] = [
        StoreQuery::Migrate,
        StoreQuery::Seed,
        StoreQuery::LoadBatches,
        StoreQuery::LoadTemplates,
        StoreQuery::InsertAlerts,
    ];
}

/// Labels by store query.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, LabelSet)]
pub struct QueryLabel {
    /// The query.
    pub query: StoreQuery,
}

/// A store table whose rows are read, the `table` label.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, LabelValue)]
pub enum StoreTable {
    /// `sol_ws_batch_pool`.
    #[label(rename = "sol_ws_batch_pool")]
    BatchPool,
    /// `sol_ws_alert_template`.
    #[label(rename = "sol_ws_alert_template")]
    AlertTemplate,
}

/// Labels by table.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, LabelSet)]
pub struct TableLabel {
    /// The table.
    pub table: StoreTable,
}

/// What happened to a call.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, LabelValue)]
pub enum CallResult {
    /// It worked.
    Ok,
    /// It failed.
    Error,
}

/// A chain (bsc-monitor counts `bsc` under the same names, so one rule
/// covers both).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, LabelValue)]
pub enum Chain {
    /// Solana.
    Sol,
}

/// Where an alert is sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, LabelValue)]
pub enum Channel {
    /// The log.
    Log,
    /// A webhook (a Telegram-style payload).
    Webhook,
}

/// `alerts_sent_total` labels (as bsc-monitor's).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, LabelSet)]
pub struct AlertSent {
    /// The chain.
    pub chain: Chain,
    /// The sink.
    pub channel: Channel,
    /// Whether it was delivered.
    pub result: CallResult,
}

/// Labels by chain.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, LabelSet)]
pub struct ChainLabel {
    /// The chain.
    pub chain: Chain,
}

/// Every metric of sol-monitor (besides the process and health metrics,
/// the store pool's `sql_pool_connections`, and those of `#[instrumented]`
/// functions).
#[derive(Clone, Debug, MetricGroup)]
pub struct SolMetrics {
    /// Open WebSocket connections, by subscription batch.
    #[metric(max_series = MAX_BATCHES)]
    pub sol_ws_connections_active: Named<DynamicFamily<Batch, Gauge>>,
    /// WebSocket reconnects, by batch and reason.
    #[metric(max_series = MAX_BATCHES * Reason::ALL.len())]
    pub sol_ws_reconnects_total: Named<DynamicFamily<Reconnect, Counter>>,
    /// WebSocket notifications received, by batch and whether they carried data.
    #[metric(max_series = MAX_BATCHES * 2)]
    pub sol_ws_data_received_total: Named<DynamicFamily<DataReceived, Counter>>,
    /// Duration of each store query, by query.
    #[metric(buckets = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0])]
    pub sol_store_query_duration_seconds: Named<Family<QueryLabel, Histogram>>,
    /// Store queries slower than `store.slow_query_secs`, by query.
    pub sol_store_slow_queries_total: Named<Family<QueryLabel, Counter>>,
    /// Store rows that could not be read (reported with their id, skipped).
    pub sol_store_rows_rejected_total: Named<Family<TableLabel, Counter>>,
    /// Alert-log rows written.
    pub sol_store_alert_log_written_total: Named<Counter>,
    /// Alert-log rows dropped: the store refused them longer than the
    /// queue could wait (`store.alert_log_queue`).
    pub sol_store_alert_log_dropped_total: Named<Counter>,
    /// Alert-log rows waiting to be written.
    pub sol_store_alert_log_pending: Named<Gauge>,
    /// Alerts sent to users.
    pub alerts_sent_total: Named<Family<AlertSent, Counter>>,
    /// Alerts suppressed by a cool-down period.
    pub cooldown_hits_total: Named<Family<ChainLabel, Counter>>,
}

/// One batch's series, resolved once.
#[derive(Clone, Debug)]
pub struct BatchMetrics {
    /// `sol_ws_connections_active{batch_id}`.
    pub active: Gauge,
    /// `sol_ws_reconnects_total{batch_id,reason}`, in [`Reason::ALL`] order.
    reconnects: [Counter; 4],
    /// `sol_ws_data_received_total{batch_id,has_data="true"}`.
    pub with_data: Counter,
    /// `sol_ws_data_received_total{batch_id,has_data="false"}`.
    pub without_data: Counter,
}

impl BatchMetrics {
    /// Resolves (and so exports, at 0) every series of `batch_id`.
    pub fn new(metrics: &SolMetrics, batch_id: &str) -> Self {
        let id = batch_id.to_owned();
        let data = |has_data| {
            metrics
                .sol_ws_data_received_total
                .get_or_create(&DataReceived {
                    batch_id: id.clone(),
                    has_data,
                })
        };
        Self {
            active: metrics.sol_ws_connections_active.get_or_create(&Batch {
                batch_id: id.clone(),
            }),
            reconnects: Reason::ALL.map(|reason| {
                metrics.sol_ws_reconnects_total.get_or_create(&Reconnect {
                    batch_id: id.clone(),
                    reason,
                })
            }),
            with_data: data(true),
            without_data: data(false),
        }
    }

    /// The reconnect counter for `reason`.
    pub fn reconnects(&self, reason: Reason) -> &Counter {
        &self.reconnects[reason as usize]
    }

    /// Reconnects so far, all reasons.
    pub fn reconnects_total(&self) -> u64 {
        self.reconnects.iter().map(Counter::get).sum()
    }

    /// Drops every series of `batch_id` (a batch removed from the store),
    /// so `/metrics` no longer shows it and its slots under `max_series`
    /// are free again.
    pub fn remove(metrics: &SolMetrics, batch_id: &str) {
        let id = || batch_id.to_owned();
        metrics
            .sol_ws_connections_active
            .remove(&Batch { batch_id: id() });
        for reason in Reason::ALL {
            metrics.sol_ws_reconnects_total.remove(&Reconnect {
                batch_id: id(),
                reason,
            });
        }
        for has_data in [true, false] {
            metrics.sol_ws_data_received_total.remove(&DataReceived {
                batch_id: id(),
                has_data,
            });
        }
    }
}
