//! sol-monitor: keeps batches of Solana WebSocket subscriptions alive, made
//! observable and safe to run with `alerting`.
//!
//! ```text
//! store (SQLite) ─▶ active batches of sol_ws_batch_pool ─▶ one connection per batch (`batch_id`)
//!   connect ─▶ accountSubscribe / logsSubscribe each pair ─▶ read notifications
//!   each price ─▶ templates over the pair's time_interval ─▶ cool-down ─▶ sinks ─▶ alert log
//!   on close / error / timeout / no data: count the reason, back off (jitter), reconnect
//!   every store.poll_interval_secs: batches added / deactivated / removed follow the store
//! ```
//!
//! By default the node is simulated in-process on 127.0.0.1 ([`sim`]);
//! `node.url` and `batches.accounts` point it at a real one. Metrics
//! ([`metrics`]) are the SolAlert plan's SOL list; health has each batch's
//! connection as a pushed component with a maximum silence, and the store
//! ([`store`]) as a pulled check; shutdown stops every connection (closing
//! its subscriptions), waits for them and for the alerts being sent,
//! writes the alert log's last rows, and reports.

pub mod alert_log;
pub mod alerts;
pub mod app;
pub mod batch;
pub mod config;
pub mod conn;
pub mod evaluate;
#[cfg(feature = "generate")]
pub mod generate;
pub mod http;
pub mod metrics;
pub mod rng;
pub mod sim;
pub mod store;
pub mod tls;
