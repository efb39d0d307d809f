//! bsc-monitor: a BSC swap-event monitor, made observable and safe to run
//! with `alerting`. It is the README's demo and a program to copy.
//!
//! ```text
//! WebSocket (eth_subscribe logs) ─▶ semaphore (back-pressure, no queue)
//!   ─▶ task per message: pair info (eth_call, cached)
//!   ─▶ layer 1 (blacklist, TTL-cached; amounts per market)
//!   ─▶ price API (timeouts, retries, no-data cache)
//!   ─▶ layer 2 (a rule per market: change, volume, market cap; any / all)
//!   ─▶ cool-down ─▶ receipt (eth_getTransactionReceipt) ─▶ log / webhook sinks
//! ```
//!
//! By default the node and the price API are simulated in-process on
//! 127.0.0.1 ([`sim`]); `node.url` and `price_api.url` point it at real
//! ones. Metrics ([`metrics`]) are the SolAlert plan's BSC list; health has
//! the WebSocket as a pushed component, the node and the price API as
//! pulled checks and the webhook sink; shutdown stops reading, drains,
//! aborts what is left at the deadline (counted), closes, and reports.

pub mod app;
pub mod blacklist;
pub mod config;
pub mod cooldown;
pub mod degraded;
pub mod filters;
#[cfg(feature = "generate")]
pub mod generate;
pub mod http;
pub mod metrics;
pub mod pipeline;
pub mod price;
pub mod rng;
pub mod rpc;
pub mod sim;
pub mod sinks;
pub mod tls;
