//! The README's demo: a simulated BSC swap feed, instrumented with a typed
//! metric group, with live `/metrics` served by axum.
//!
//! ```text
//! cargo run --release -p alerting-axum --example demo
//! curl -s http://127.0.0.1:9464/metrics | grep bsc_
//! ```
//!
//! `ALERTING_DEMO_ADDR` sets the listen address (default `127.0.0.1:9464`),
//! `ALERTING_DEMO_SECONDS` stops it after that many seconds (default: run
//! until Ctrl-C). The feed is a deterministic generator, not a network: the
//! full BSC monitor with its simulated node is `examples/bsc-monitor` (to
//! come).

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use alerting_core::metrics::{
    Counter, DynamicFamily, Family, Histogram, LabelSet, LabelValue, MetricGroup, Registry,
};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, LabelValue)]
enum EventType {
    Swap,
    Sync,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, LabelValue)]
enum MessageResult {
    Processed,
    Filtered,
    Error,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, LabelValue)]
enum Layer {
    #[label(rename = "layer1")]
    Layer1,
    #[label(rename = "layer2")]
    Layer2,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, LabelValue)]
enum Reason {
    AmountTooSmall,
    PriceChangeTooSmall,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, LabelSet)]
struct Message {
    event_type: EventType,
    result: MessageResult,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, LabelSet)]
struct Event {
    event_type: EventType,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, LabelSet)]
struct Rejected {
    layer: Layer,
    reason: Reason,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, LabelSet)]
struct Token {
    token: String,
}

/// The seed's BSC metrics (a subset; the full list is the bsc-monitor's).
#[derive(Clone, Debug, MetricGroup)]
struct BscMetrics {
    /// WebSocket messages, by event type and processing result.
    bsc_ws_messages_total: Family<Message, Counter>,
    /// Time to process one WebSocket message.
    bsc_ws_messages_processing_seconds: Family<Event, Histogram>,
    /// Swap events rejected by a filter layer, by reason.
    bsc_filter_rejected_total: Family<Rejected, Counter>,
    /// Alerts suppressed because the token was in its cooldown period.
    cooldown_hits_total: Counter,
    /// Alerts raised per token (at most 50 tokens get their own series).
    #[metric(max_series = 50)]
    bsc_token_alerts_total: DynamicFamily<Token, Counter>,
}

/// A small deterministic generator (xorshift), so runs are repeatable.
struct Feed(u64);

impl Feed {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

async fn simulate(metrics: BscMetrics) {
    let mut feed = Feed(0x5eed);
    let mut tick = tokio::time::interval(Duration::from_millis(20));
    let mut last_alert = std::collections::HashMap::<u64, Instant>::new();
    loop {
        tick.tick().await;
        let started = Instant::now();
        let r = feed.next();
        let event_type = if r.is_multiple_of(5) {
            EventType::Sync
        } else {
            EventType::Swap
        };
        let amount_usd = (r >> 8) % 2_000;
        let token = (r >> 20) % 80;
        let result = if r.is_multiple_of(97) {
            MessageResult::Error
        } else if amount_usd < 400 {
            metrics
                .bsc_filter_rejected_total
                .get(Rejected {
                    layer: Layer::Layer1,
                    reason: Reason::AmountTooSmall,
                })
                .inc();
            MessageResult::Filtered
        } else if (r >> 40).is_multiple_of(3) {
            metrics
                .bsc_filter_rejected_total
                .get(Rejected {
                    layer: Layer::Layer2,
                    reason: Reason::PriceChangeTooSmall,
                })
                .inc();
            MessageResult::Filtered
        } else {
            let now = Instant::now();
            match last_alert.get(&token) {
                Some(at) if now.duration_since(*at) < Duration::from_secs(3) => {
                    metrics.cooldown_hits_total.inc();
                }
                _ => {
                    last_alert.insert(token, now);
                    metrics
                        .bsc_token_alerts_total
                        .get_or_create(&Token {
                            token: format!("0x{token:040x}"),
                        })
                        .inc();
                }
            }
            MessageResult::Processed
        };
        metrics
            .bsc_ws_messages_total
            .get(Message { event_type, result })
            .inc();
        metrics
            .bsc_ws_messages_processing_seconds
            .get(Event { event_type })
            .observe_duration(started.elapsed());
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let addr: SocketAddr = std::env::var("ALERTING_DEMO_ADDR")
        .unwrap_or_else(|_| "127.0.0.1:9464".into())
        .parse()
        .map_err(|e| format!("ALERTING_DEMO_ADDR: {e}"))?;
    let run_for = match std::env::var("ALERTING_DEMO_SECONDS") {
        Ok(s) => Some(Duration::from_secs(
            s.parse()
                .map_err(|e| format!("ALERTING_DEMO_SECONDS={s:?}: {e}"))?,
        )),
        Err(_) => None,
    };

    let registry = Registry::builder()
        .const_label("service", "bsc-demo")
        .const_label("version", env!("CARGO_PKG_VERSION"))
        .build()?;
    registry.register_process_collector()?;
    let metrics: BscMetrics = registry.register_group()?;
    tokio::spawn(simulate(metrics));

    let listener = tokio::net::TcpListener::bind(addr).await?;
    println!(
        "serving metrics on http://{}/metrics (Ctrl-C to stop)",
        listener.local_addr()?
    );
    let app = alerting_axum::metrics_router(registry);
    axum::serve(listener, app)
        .with_graceful_shutdown(async move {
            match run_for {
                Some(d) => tokio::time::sleep(d).await,
                None => {
                    let _ = tokio::signal::ctrl_c().await;
                }
            }
        })
        .await?;
    Ok(())
}
