//! `#[derive(MetricGroup)]`, through the public API.

use alerting_core::metrics::{
    BucketError, Buckets, Counter, DynamicFamily, Family, Format, Gauge, Histogram, LabelSet,
    LabelValue, MetricGroup, MetricsError, Registry,
};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, LabelValue)]
enum Stage {
    Intake,
    Filter,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, LabelSet)]
struct StageLabels {
    stage: Stage,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, LabelSet)]
struct TokenLabels {
    token: String,
}

/// Something in the group that is not a metric.
#[derive(Clone, Debug, Default, PartialEq)]
struct Notes(Vec<String>);

#[derive(Clone, Debug, MetricGroup)]
struct PipelineMetrics {
    /// Items read from the source.
    items_total: Counter,
    /// Items waiting
    ///   to be processed.
    ///
    /// Counted at each step.
    queue_depth: Gauge,
    /// Time spent in each stage.
    #[metric(buckets = [0.01, 0.1, 1.0])]
    stage_seconds: Family<StageLabels, Histogram>,
    /// Swaps seen, by token.
    #[metric(max_series = 2)]
    token_swaps_total: DynamicFamily<TokenLabels, Counter>,
    /// Replaced by `help`.
    #[metric(name = "pipeline_restarts_total", help = "Restarts of the pipeline")]
    restarts: Counter,
    #[metric(buckets = Buckets::linear(1.0, 1.0, 3))]
    #[metric(help = "Items per batch", name = "batch_items")]
    r#batch: Histogram,
    #[metric(skip)]
    notes: Notes,
}

fn exposition(registry: &Registry) -> String {
    registry.encode_to_string(Format::Prometheus).unwrap()
}

#[test]
fn group_registers_every_metric() {
    let registry = Registry::new();
    let metrics: PipelineMetrics = registry.register_group().unwrap();
    metrics.items_total.inc();
    metrics.queue_depth.set(7);
    metrics
        .stage_seconds
        .get(StageLabels {
            stage: Stage::Filter,
        })
        .observe(0.05);
    for token in ["0xaa", "0xbb", "0xcc"] {
        metrics
            .token_swaps_total
            .get_or_create(&TokenLabels {
                token: token.into(),
            })
            .inc();
    }
    metrics.restarts.inc();
    metrics.batch.observe(2.0);

    let text = exposition(&registry);
    for expected in [
        "items_total 1",
        "queue_depth 7",
        r#"stage_seconds_bucket{stage="filter",le="0.1"} 1"#,
        r#"stage_seconds_bucket{stage="intake",le="1"} 0"#,
        r#"token_swaps_total{token="0xaa"} 1"#,
        r#"token_swaps_total{token="__overflow__"} 1"#,
        "pipeline_restarts_total 1",
        r#"batch_items_bucket{le="2"} 1"#,
        r#"batch_items_bucket{le="3"} 1"#,
    ] {
        assert!(text.contains(expected), "missing `{expected}` in:\n{text}");
    }
    // max_series = 2: the third token was folded.
    assert_eq!(metrics.token_swaps_total.max_series(), 2);
    assert_eq!(metrics.token_swaps_total.overflow().get(), 1);
    // The skipped field is not a metric.
    assert_eq!(metrics.notes, Notes::default());
    assert!(!text.contains("notes"), "{text}");
}

#[test]
fn help_comes_from_doc_comments_unless_given() {
    let registry = Registry::new();
    let _metrics: PipelineMetrics = registry.register_group().unwrap();
    let text = exposition(&registry);
    for expected in [
        "# HELP items_total Items read from the source.",
        // Lines trimmed and joined with one space.
        "# HELP queue_depth Items waiting to be processed. Counted at each step.",
        "# HELP stage_seconds Time spent in each stage.",
        "# HELP token_swaps_total Swaps seen, by token.",
        "# HELP pipeline_restarts_total Restarts of the pipeline.",
        "# HELP batch_items Items per batch.",
    ] {
        assert!(text.contains(expected), "missing `{expected}` in:\n{text}");
    }
    assert!(!text.contains("Replaced by"), "{text}");
}

#[test]
fn names_are_prefixed_by_the_namespace() {
    let registry = Registry::builder().namespace("bsc").build().unwrap();
    let metrics: PipelineMetrics = registry.register_group().unwrap();
    metrics.restarts.inc();
    let text = exposition(&registry);
    assert!(text.contains("bsc_pipeline_restarts_total 1"), "{text}");
    assert!(text.contains("# TYPE bsc_items_total counter"), "{text}");
}

#[test]
fn invalid_buckets_name_the_metric() {
    #[derive(Debug, MetricGroup)]
    #[allow(dead_code)] // registered, never read
    struct Bad {
        /// Fine.
        ok_total: Counter,
        /// Bounds out of order.
        #[metric(buckets = [1.0, 0.5])]
        wait_seconds: Histogram,
    }
    let registry = Registry::builder().namespace("app").build().unwrap();
    match registry.register_group::<Bad>() {
        Err(MetricsError::InvalidMetricBuckets { name, source }) => {
            assert_eq!(name, "app_wait_seconds");
            assert!(
                matches!(source, BucketError::NotIncreasing { index: 1, .. }),
                "{source:?}"
            );
        }
        other => panic!("expected InvalidMetricBuckets, got {other:?}"),
    }
}

#[test]
fn bucket_builder_errors_name_the_metric() {
    #[derive(Debug, MetricGroup)]
    #[allow(dead_code)] // registered, never read
    struct Bad {
        /// Zero width.
        #[metric(buckets = Buckets::linear(0.0, 0.0, 4))]
        size_bytes: Histogram,
    }
    let err = Registry::new().register_group::<Bad>().unwrap_err();
    assert!(
        matches!(&err, MetricsError::InvalidMetricBuckets { name, .. } if name == "size_bytes"),
        "{err:?}"
    );
}

#[test]
fn buckets_accept_a_vec_a_slice_and_buckets() {
    const BOUNDS: &[f64] = &[0.5, 1.0];
    #[derive(Debug, MetricGroup)]
    #[allow(dead_code)] // registered, never read
    struct Options {
        /// From a Vec.
        #[metric(buckets = vec![1.0, 2.0])]
        a_seconds: Histogram,
        /// From a slice.
        #[metric(buckets = BOUNDS)]
        b_seconds: Histogram,
        /// From a preset.
        #[metric(buckets = Buckets::sizes())]
        c_bytes: Histogram,
        /// No buckets: the default for `_seconds`.
        d_seconds: Histogram,
    }
    let registry = Registry::new();
    let metrics: Options = registry.register_group().unwrap();
    metrics.a_seconds.observe(1.5);
    let text = exposition(&registry);
    assert!(text.contains(r#"a_seconds_bucket{le="2"} 1"#), "{text}");
    assert!(text.contains(r#"b_seconds_bucket{le="0.5"} 0"#), "{text}");
    assert!(text.contains(r#"c_bytes_bucket{le="64"} 0"#), "{text}");
    assert!(text.contains(r#"d_seconds_bucket{le="0.001"} 0"#), "{text}");
}

#[test]
fn registering_a_group_twice_is_a_duplicate() {
    let registry = Registry::new();
    let _first: PipelineMetrics = registry.register_group().unwrap();
    let err = registry.register_group::<PipelineMetrics>().unwrap_err();
    assert!(
        matches!(&err, MetricsError::Duplicate { name, .. } if name == "items_total"),
        "{err:?}"
    );
}

#[test]
fn naming_rules_are_checked_at_registration() {
    #[derive(Debug, MetricGroup)]
    #[allow(dead_code)] // registered, never read
    struct Misnamed {
        /// A counter without `_total`.
        messages: Counter,
    }
    let err = Registry::new().register_group::<Misnamed>().unwrap_err();
    assert!(
        matches!(&err, MetricsError::CounterWithoutTotal { name } if name == "messages"),
        "{err:?}"
    );
}

/// The BSC monitor's metrics (plan v2, section 4, "BSC监控指标") as one group.
///
/// Closed sets of values are enums: the family is a dense table whose every
/// series exists from the start. Open sets (API names, endpoints, RPC
/// methods) are strings in a `DynamicFamily`, bounded by `max_series`.
mod bsc {
    use super::*;

    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, LabelValue)]
    pub(crate) enum EventType {
        PairCreated,
        Swap,
        Sync,
        Mint,
        Burn,
    }

    /// What became of a WebSocket message.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, LabelValue)]
    pub(crate) enum MessageResult {
        Processed,
        Ignored,
        DecodeError,
    }

    /// How a call to something outside ended.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, LabelValue)]
    pub(crate) enum Status {
        Ok,
        Error,
        Timeout,
        RateLimited,
    }

    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, LabelValue)]
    pub(crate) enum Layer {
        Layer1,
        Layer2,
    }

    /// Four.meme's bonding curve (internal) or a DEX pair (external).
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, LabelValue)]
    pub(crate) enum MarketType {
        Internal,
        External,
    }

    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, LabelValue)]
    pub(crate) enum RejectReason {
        BelowMinAmount,
        BelowCumulativeAmount,
        PriceChange,
        Volume,
        Blacklisted,
    }

    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, LabelValue)]
    pub(crate) enum Chain {
        Bsc,
        Sol,
    }

    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, LabelValue)]
    pub(crate) enum Channel {
        Telegram,
        #[label(rename = "wechat")]
        WeChat,
    }

    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, LabelSet)]
    pub(crate) struct WsMessage {
        pub(crate) event_type: EventType,
        pub(crate) result: MessageResult,
    }

    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, LabelSet)]
    pub(crate) struct WsEvent {
        pub(crate) event_type: EventType,
    }

    #[derive(Clone, Debug, PartialEq, Eq, Hash, LabelSet)]
    pub(crate) struct ApiRequest {
        pub(crate) api: &'static str,
        pub(crate) endpoint: String,
        pub(crate) status: Status,
    }

    #[derive(Clone, Debug, PartialEq, Eq, Hash, LabelSet)]
    pub(crate) struct ApiEndpoint {
        pub(crate) api: &'static str,
        pub(crate) endpoint: String,
    }

    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, LabelSet)]
    pub(crate) struct FilterPassed {
        pub(crate) layer: Layer,
        pub(crate) market_type: MarketType,
    }

    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, LabelSet)]
    pub(crate) struct FilterRejected {
        pub(crate) layer: Layer,
        pub(crate) reason: RejectReason,
    }

    #[derive(Clone, Debug, PartialEq, Eq, Hash, LabelSet)]
    pub(crate) struct RpcCall {
        pub(crate) chain: Chain,
        pub(crate) method: &'static str,
        pub(crate) result: Status,
    }

    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, LabelSet)]
    pub(crate) struct AlertSent {
        pub(crate) chain: Chain,
        pub(crate) channel: Channel,
        pub(crate) result: Status,
    }

    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, LabelSet)]
    pub(crate) struct ChainLabel {
        pub(crate) chain: Chain,
    }

    #[derive(Clone, Debug, MetricGroup)]
    pub(crate) struct BscMetrics {
        /// WebSocket messages received, by event type and result.
        pub(crate) bsc_ws_messages_total: Family<WsMessage, Counter>,
        /// Time to process one WebSocket message.
        #[metric(buckets = Buckets::fast_latency())]
        pub(crate) bsc_ws_messages_processing_seconds: Family<WsEvent, Histogram>,
        /// Calls to external APIs, by API, endpoint and status.
        #[metric(max_series = 500)]
        pub(crate) api_requests_total: DynamicFamily<ApiRequest, Counter>,
        /// Response time of external APIs.
        #[metric(max_series = 200)]
        pub(crate) api_request_duration_seconds: DynamicFamily<ApiEndpoint, Histogram>,
        /// Tokens that passed a filter layer.
        pub(crate) bsc_filter_passed_total: Family<FilterPassed, Counter>,
        /// Tokens rejected by a filter layer, by reason.
        pub(crate) bsc_filter_rejected_total: Family<FilterRejected, Counter>,
        /// JSON-RPC calls, by chain, method and result.
        #[metric(max_series = 100)]
        pub(crate) rpc_calls_total: DynamicFamily<RpcCall, Counter>,
        /// Alerts sent, by chain, channel and result.
        pub(crate) alerts_sent_total: Family<AlertSent, Counter>,
        /// Alerts suppressed because the token was in its cooldown period.
        pub(crate) cooldown_hits_total: Family<ChainLabel, Counter>,
    }
}

#[test]
fn bsc_metrics_appear_in_the_exposition() {
    use bsc::*;

    let registry = Registry::builder()
        .const_label("service", "bsc-monitor")
        .build()
        .unwrap();
    let m: BscMetrics = registry.register_group().unwrap();

    m.bsc_ws_messages_total
        .get(WsMessage {
            event_type: EventType::PairCreated,
            result: MessageResult::Processed,
        })
        .inc();
    m.bsc_ws_messages_processing_seconds
        .get(WsEvent {
            event_type: EventType::Swap,
        })
        .observe(0.0003);
    m.api_requests_total
        .get_or_create(&ApiRequest {
            api: "dexscreener",
            endpoint: "/latest/dex/tokens".into(),
            status: Status::RateLimited,
        })
        .inc();
    m.api_request_duration_seconds
        .get_or_create(&ApiEndpoint {
            api: "dexscreener",
            endpoint: "/latest/dex/tokens".into(),
        })
        .observe(0.2);
    m.bsc_filter_passed_total
        .get(FilterPassed {
            layer: Layer::Layer1,
            market_type: MarketType::Internal,
        })
        .inc();
    m.bsc_filter_rejected_total
        .get(FilterRejected {
            layer: Layer::Layer2,
            reason: RejectReason::BelowCumulativeAmount,
        })
        .inc();
    m.rpc_calls_total
        .get_or_create(&RpcCall {
            chain: Chain::Bsc,
            method: "eth_getTransactionReceipt",
            result: Status::Timeout,
        })
        .inc();
    m.alerts_sent_total
        .get(AlertSent {
            chain: Chain::Bsc,
            channel: Channel::WeChat,
            result: Status::Ok,
        })
        .inc();
    m.cooldown_hits_total
        .get(ChainLabel { chain: Chain::Bsc })
        .inc();

    let text = exposition(&registry);
    for (name, kind) in [
        ("bsc_ws_messages_total", "counter"),
        ("bsc_ws_messages_processing_seconds", "histogram"),
        ("api_requests_total", "counter"),
        ("api_request_duration_seconds", "histogram"),
        ("bsc_filter_passed_total", "counter"),
        ("bsc_filter_rejected_total", "counter"),
        ("rpc_calls_total", "counter"),
        ("alerts_sent_total", "counter"),
        ("cooldown_hits_total", "counter"),
    ] {
        let line = format!("# TYPE {name} {kind}");
        assert!(text.contains(&line), "missing `{line}` in:\n{text}");
    }
    for sample in [
        r#"bsc_ws_messages_total{service="bsc-monitor",event_type="pair_created",result="processed"} 1"#,
        r#"bsc_ws_messages_processing_seconds_count{service="bsc-monitor",event_type="swap"} 1"#,
        r#"api_requests_total{service="bsc-monitor",api="dexscreener",endpoint="/latest/dex/tokens",status="rate_limited"} 1"#,
        r#"api_request_duration_seconds_count{service="bsc-monitor",api="dexscreener",endpoint="/latest/dex/tokens"} 1"#,
        r#"bsc_filter_passed_total{service="bsc-monitor",layer="layer1",market_type="internal"} 1"#,
        r#"bsc_filter_rejected_total{service="bsc-monitor",layer="layer2",reason="below_cumulative_amount"} 1"#,
        r#"rpc_calls_total{service="bsc-monitor",chain="bsc",method="eth_getTransactionReceipt",result="timeout"} 1"#,
        r#"alerts_sent_total{service="bsc-monitor",chain="bsc",channel="wechat",result="ok"} 1"#,
        r#"cooldown_hits_total{service="bsc-monitor",chain="bsc"} 1"#,
        // Enum-keyed families show their zeros from the start.
        r#"cooldown_hits_total{service="bsc-monitor",chain="sol"} 0"#,
    ] {
        assert!(text.contains(sample), "missing `{sample}` in:\n{text}");
    }
}
