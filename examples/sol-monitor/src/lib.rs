//! sol-monitor: keeps batches of Solana WebSocket subscriptions alive, made
//! observable and safe to run with `alerting`.
//!
//! ```text
//! accounts ─▶ batches of `batches.size` ─▶ one connection per batch (`batch_id`)
//!   connect ─▶ accountSubscribe / logsSubscribe each account ─▶ read notifications
//!   on close / error / timeout / no data: count the reason, back off (jitter), reconnect
//! ```
//!
//! By default the node is simulated in-process on 127.0.0.1 ([`sim`]);
//! `node.url` and `batches.accounts` point it at a real one. Metrics
//! ([`metrics`]) are the SolAlert plan's SOL list; health has each batch's
//! connection as a pushed component with a maximum silence; shutdown stops
//! every connection (closing its subscriptions), waits for them, and
//! reports.

pub mod alert_log;
pub mod alerts;
pub mod app;
pub mod batch;
pub mod config;
pub mod conn;
pub mod evaluate;
#[cfg(feature = "generate")]
pub mod generate;
pub mod metrics;
pub mod rng;
pub mod sim;
pub mod store;
pub mod tls;
