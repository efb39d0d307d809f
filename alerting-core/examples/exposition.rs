//! Prints a registry that uses every metric kind to stdout, in the
//! Prometheus text format (or OpenMetrics with `--openmetrics`).
//!
//! ```text
//! cargo run -q -p alerting-core --example exposition | promtool check metrics
//! ```
//!
//! It shows: counters, gauges and histograms, alone and in families; enum
//! and string labels; label values with quotes, backslashes, newlines and
//! non-ASCII text (escaped in the output); a dynamic family pushed past its
//! series limit (the overflow series and `alerting_series_overflow_total`);
//! and the process collector.

use std::process::ExitCode;

use alerting_core::metrics::{
    Buckets, Counter, DynamicFamily, Family, FloatGauge, Format, Gauge, Histogram, LabelSet,
    LabelValue, MetricGroup, MetricsError, Outcome, Registry, StripedCounter, StripedHistogram,
};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, LabelValue)]
enum EventType {
    Swap,
    Sync,
    PairCreated,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, LabelValue)]
enum Layer {
    Amount,
    PriceChange,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, LabelSet)]
struct Message {
    event_type: EventType,
    result: Outcome,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, LabelSet)]
struct Event {
    event_type: EventType,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, LabelSet)]
struct Filter {
    layer: Layer,
    passed: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, LabelSet)]
struct Token {
    token: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, LabelSet)]
struct Endpoint {
    api: &'static str,
    endpoint: String,
}

/// Every kind of metric, registered in one call.
#[derive(Clone, Debug, MetricGroup)]
struct Metrics {
    /// WebSocket messages read, by event type and result.
    ws_messages_total: Family<Message, Counter>,
    /// Time to process one message, by event type.
    #[metric(buckets = Buckets::fast_latency())]
    ws_messages_processing_seconds: Family<Event, Histogram>,
    /// Swap events seen that passed or failed each filter layer.
    filter_decisions_total: Family<Filter, Counter>,
    /// Open WebSocket connections.
    ws_connections_active: Gauge,
    /// Last observed BNB price in USD.
    bnb_price_usd: FloatGauge,
    /// Size of the last RPC response.
    rpc_response_size_bytes: Histogram,
    /// Swaps seen per token; at most four tokens get their own series.
    #[metric(max_series = 4)]
    token_swaps_total: DynamicFamily<Token, Counter>,
    /// Requests to external APIs, by API and endpoint.
    api_requests_total: DynamicFamily<Endpoint, Counter>,
    /// Alerts sent since start.
    alerts_sent_total: Counter,
    /// Messages decoded, counted from every worker thread (striped).
    decoded_messages_total: Family<Event, StripedCounter>,
    /// Time to decode one message, from every worker thread (striped).
    #[metric(buckets = Buckets::fast_latency())]
    decode_seconds: StripedHistogram,
}

fn build() -> Result<Registry, MetricsError> {
    let registry = Registry::builder()
        .const_label("service", "exposition-example")
        .const_label("version", env!("CARGO_PKG_VERSION"))
        .build()?;
    registry.register_process_collector()?;
    let m: Metrics = registry.register_group()?;

    for (event_type, result, n) in [
        (EventType::Swap, Outcome::Ok, 40),
        (EventType::Swap, Outcome::Error, 2),
        (EventType::Sync, Outcome::Ok, 7),
        (EventType::PairCreated, Outcome::Cancelled, 1),
    ] {
        m.ws_messages_total
            .get(Message { event_type, result })
            .inc_by(n);
    }
    let swap = m.ws_messages_processing_seconds.get(Event {
        event_type: EventType::Swap,
    });
    for seconds in [0.00004, 0.0002, 0.0009, 0.003, 0.2, 2.0] {
        swap.observe(seconds);
    }
    m.filter_decisions_total
        .get(Filter {
            layer: Layer::Amount,
            passed: true,
        })
        .inc_by(12);
    m.filter_decisions_total
        .get(Filter {
            layer: Layer::PriceChange,
            passed: false,
        })
        .inc_by(5);
    m.ws_connections_active.set(4);
    m.bnb_price_usd.set(612.37);
    for size in [180.0, 2_400.0, 96_000.0] {
        m.rpc_response_size_bytes.observe(size);
    }
    // Label values from the outside world, escaped in the output; the
    // fifth and sixth distinct tokens pass the limit of four and are folded.
    for token in [
        "0x55d398326f99059ff775485246999027b3197955",
        "say \"hi\"",
        "back\\slash\nnew line",
        "代币-🚀",
        "0xbb4cdb9cbd36b01bd1cbaebf2de08d9173bc095c",
        "0x8ac76a51cc950d9822d68b83fe1ad97b32cd580d",
    ] {
        m.token_swaps_total
            .get_or_create(&Token {
                token: token.to_owned(),
            })
            .inc();
    }
    m.api_requests_total
        .get_or_create(&Endpoint {
            api: "dbotx",
            endpoint: "/api/v1/pair/{address}".to_owned(),
        })
        .inc_by(3);
    m.alerts_sent_total.inc();
    std::thread::scope(|s| {
        for worker in 0..2u32 {
            let m = &m;
            s.spawn(move || {
                for i in 0..100u32 {
                    let event_type = if i % 4 == 0 {
                        EventType::Sync
                    } else {
                        EventType::Swap
                    };
                    m.decoded_messages_total.get(Event { event_type }).inc();
                    m.decode_seconds.observe(f64::from(i + worker) * 1e-5);
                }
            });
        }
    });
    Ok(registry)
}

fn main() -> ExitCode {
    let format = if std::env::args().any(|a| a == "--openmetrics") {
        Format::OpenMetrics
    } else {
        Format::Prometheus
    };
    match build().and_then(|r| r.encode_to_string(format)) {
        Ok(text) => {
            print!("{text}");
            ExitCode::SUCCESS
        }
        Err(err) => {
            eprintln!("error: {err}");
            ExitCode::FAILURE
        }
    }
}
