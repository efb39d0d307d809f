//! The filters in the running monitor, against the embedded node: a
//! blacklisted token (from the config list, and from a file that changes
//! and then goes bad while running) is rejected with reason `blacklisted`
//! and never alerted, and the passes are counted by `market_type`.
//!
//! Alerts are received by a webhook on 127.0.0.1 that records them. Every
//! wait is bounded.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use alerting_core::Observability;
use axum::http::Method;
use bsc_monitor::config::{self, SimulatorConfig};
use bsc_monitor::metrics::{
    BscMetrics, CallResult, FilterPassed, FilterRejected, Layer, MarketType, Reason, Refresh,
};
use bsc_monitor::{app, sim};

/// Starts a webhook on 127.0.0.1 that records each alert's text.
async fn webhook() -> (
    SocketAddr,
    Arc<Mutex<Vec<String>>>,
    tokio::task::JoinHandle<()>,
) {
    let texts = Arc::new(Mutex::new(Vec::new()));
    let recorded = Arc::clone(&texts);
    let router = axum::Router::new().route(
        "/alert",
        axum::routing::post(move |body: String| {
            let recorded = Arc::clone(&recorded);
            async move {
                let v: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
                let text = v["text"].as_str().unwrap_or_default().to_owned();
                recorded.lock().unwrap().push(text);
                "ok"
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    (addr, texts, server)
}

/// Waits (bounded) until `f` holds.
async fn until(what: &str, mut f: impl FnMut() -> bool) {
    for _ in 0..1000 {
        if f() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("timed out waiting for {what}");
}

fn passed(m: &BscMetrics, layer: Layer, market_type: MarketType) -> u64 {
    m.bsc_filter_passed_total
        .get(FilterPassed { layer, market_type })
        .get()
}

fn blacklisted(m: &BscMetrics) -> u64 {
    m.bsc_filter_rejected_total
        .get(FilterRejected {
            layer: Layer::Layer1,
            reason: Reason::Blacklisted,
        })
        .get()
}

fn refreshes(m: &BscMetrics, result: CallResult) -> u64 {
    m.bsc_blacklist_refreshes_total
        .get(Refresh { result })
        .get()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blacklisted_tokens_are_rejected_and_passes_counted_by_market() {
    // The simulator's tokens, known from its configuration.
    let mut simulator = SimulatorConfig::default();
    simulator.pairs = 12;
    let tokens = sim::tokens(&simulator);
    let of = |market| {
        tokens
            .iter()
            .filter(move |(_, m)| *m == market)
            .map(|(t, _)| t.clone())
    };
    let internal: Vec<String> = of(MarketType::Internal).collect();
    let external: Vec<String> = of(MarketType::External).collect();
    assert!(
        internal.len() >= 2 && external.len() >= 2,
        "both markets: {tokens:?}"
    );
    // In the config list: an internal token. In the file: an external one,
    // then a second internal one too.
    let (listed, filed, added) = (&internal[0], &external[0], &internal[1]);
    let file = std::env::temp_dir().join(format!(
        "bsc-monitor-filters-test-{}.txt",
        std::process::id()
    ));
    std::fs::write(
        &file,
        format!(
            "# test\n{}\n",
            filed.to_ascii_uppercase().replacen("0X", "0x", 1)
        ),
    )
    .unwrap();

    let (hook, alerts, server) = webhook().await;
    let toml = format!(
        r#"
[metrics]
listen_addr = "127.0.0.1:0"
[shutdown]
deadline_secs = 5
[logging]
level = "warn"
[cooldown]
minutes = 0.0
jitter_secs = 0.0
[simulator]
rate_per_sec = 1000
pairs = {pairs}
[filters.layer1.internal]
min_amount = 0.0
[filters.layer1.external]
min_amount = 0.0
[filters.layer2.internal]
conditions = ["market_cap"]
[filters.layer2.external]
trigger = "any"
conditions = ["market_cap", "volume"]
[filters.blacklist]
tokens = ["{listed}"]
file = {file:?}
ttl_secs = 0.2
[sinks.log]
enabled = false
[sinks.webhook]
url = "http://{hook}/alert"
"#,
        pairs = simulator.pairs,
    );
    let config = config::load_with(None, Some(&toml), std::iter::empty()).unwrap();
    let obs = Observability::builder("bsc-monitor")
        .config(&config.monitoring)
        .logging(false)
        .signals(false)
        .install_global(false)
        .start()
        .unwrap();
    let running = app::start(&config, &obs).await.unwrap();
    let m = running.metrics.clone();

    // Both blacklisted tokens are rejected; both markets pass both layers.
    until("blacklisted rejections and passes in both markets", || {
        blacklisted(&m) >= 10
            && [MarketType::Internal, MarketType::External]
                .iter()
                .all(|&market| {
                    passed(&m, Layer::Layer1, market) > 0 && passed(&m, Layer::Layer2, market) > 0
                })
            && alerts.lock().unwrap().len() >= 10
    })
    .await;

    // The file changes: after the TTL, its new token is rejected too.
    std::fs::write(&file, format!("{filed}\n{added}\n")).unwrap();
    until("a refresh of the changed file", || {
        refreshes(&m, CallResult::Ok) >= 1 && m.bsc_blacklist_tokens.get() == 3
    })
    .await;

    // The file goes bad: the last good list stays, and health says so.
    std::fs::write(&file, "0xnot-an-address\n").unwrap();
    until("a failed refresh", || refreshes(&m, CallResult::Error) >= 1).await;
    // From here (at least a TTL after the refresh, so no swap looked up
    // before it is still on its way), no alert may be for `added`.
    let after_refresh = alerts.lock().unwrap().len();
    let rejected = blacklisted(&m);
    until("more rejections with the last good list", || {
        blacklisted(&m) > rejected + 10 && alerts.lock().unwrap().len() > after_refresh + 10
    })
    .await;
    assert_eq!(m.bsc_blacklist_tokens.get(), 3);

    let client = bsc_monitor::http::client(&bsc_monitor::tls::Tls::new(None).unwrap());
    let get = |path: &str| {
        let url = format!("http://{}{path}", running.admin_addr);
        let client = client.clone();
        async move {
            let (status, body) =
                bsc_monitor::http::send(&client, Method::GET, &url, None, Duration::from_secs(5))
                    .await
                    .unwrap();
            (status, String::from_utf8_lossy(&body).into_owned())
        }
    };
    let (status, health) = get("/ready?verbose").await;
    assert!(status.is_success(), "not critical: still ready: {health}");
    assert!(
        health.lines().any(|l| l.starts_with("[-]blacklist")),
        "the blacklist component is down: {health}"
    );
    let (_, text) = get("/metrics").await;
    for series in [
        r#"bsc_filter_rejected_total{service="bsc-monitor",layer="layer1",reason="blacklisted"}"#,
        r#"bsc_filter_passed_total{service="bsc-monitor",layer="layer1",market_type="internal"}"#,
        r#"bsc_filter_passed_total{service="bsc-monitor",layer="layer2",market_type="external"}"#,
        r#"bsc_blacklist_refreshes_total{service="bsc-monitor",result="error"}"#,
        r#"bsc_blacklist_lookups_total{service="bsc-monitor",result="miss"}"#,
        r#"bsc_blacklist_tokens{service="bsc-monitor"} 3"#,
    ] {
        assert!(text.contains(series), "missing {series} in\n{text}");
    }

    obs.shutdown().trigger("test");
    let summary = app::finish(&running, obs.shutdown()).await;
    server.abort();
    let _ = std::fs::remove_file(&file);
    assert_eq!(summary.unaccounted(), 0, "{summary}");

    let alerts = alerts.lock().unwrap();
    for (i, text) in alerts.iter().enumerate() {
        for token in [listed, filed] {
            assert!(
                !text.contains(token.as_str()),
                "alert {i} is for {token}: {text}"
            );
        }
        if i >= after_refresh {
            assert!(
                !text.contains(added.as_str()),
                "alert {i} is for {added}: {text}"
            );
        }
    }
    // Alerts went out for the other tokens, of both markets.
    for market in [MarketType::Internal, MarketType::External] {
        let name = format!("on the {} market", market_name(market));
        assert!(alerts.iter().any(|t| t.contains(&name)), "no alert {name}");
    }
}

fn market_name(market: MarketType) -> &'static str {
    use alerting_core::metrics::EnumLabel as _;
    market.as_str()
}
