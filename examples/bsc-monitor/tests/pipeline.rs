//! The pipeline against the embedded node, with every fault on, for two
//! seconds: every message read is counted once, and the served metrics
//! carry the seed's names and labels.

use std::time::Duration;

use alerting_core::Observability;
use axum::http::Method;
use bsc_monitor::app;
use bsc_monitor::config;

const TOML: &str = r#"
[metrics]
listen_addr = "127.0.0.1:0"
[shutdown]
deadline_secs = 5
[logging]
level = "warn"
[pipeline]
concurrency = 32
[cooldown]
minutes = 0.01
jitter_secs = 0.1
[simulator]
rate_per_sec = 1500
latency_ms = 2
[simulator.faults]
disconnect_after = 700
rpc_error_rate = 0.05
malformed_rate = 0.05
price_429_rate = 0.1
price_missing_rate = 0.1
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_message_read_is_counted_once() {
    let config = config::load_with(None, Some(TOML), std::iter::empty()).unwrap();
    let obs = Observability::builder("bsc-monitor")
        .config(&config.monitoring)
        .logging(false)
        .signals(false)
        // `#[instrumented]` functions record into the global registry.
        .start()
        .unwrap();
    let running = app::start(&config, &obs).await.unwrap();

    tokio::time::sleep(Duration::from_secs(2)).await;

    let client = bsc_monitor::http::client(&bsc_monitor::tls::Tls::new(None).unwrap());
    let url = format!("http://{}/metrics", running.admin_addr);
    let (status, body) =
        bsc_monitor::http::send(&client, Method::GET, &url, None, Duration::from_secs(5))
            .await
            .unwrap();
    assert!(status.is_success());
    let text = String::from_utf8_lossy(&body);
    for series in [
        r#"bsc_ws_messages_total{service="bsc-monitor",event_type="swap",result="filtered"}"#,
        r#"bsc_ws_messages_processing_seconds_bucket{service="bsc-monitor",event_type="swap""#,
        r#"api_requests_total{service="bsc-monitor",target="dbotx",route="token_info",outcome="429"}"#,
        r#"api_request_duration_seconds_count{service="bsc-monitor",target="dbotx",route="token_info"}"#,
        r#"bsc_filter_passed_total{service="bsc-monitor",layer="layer1",market_type="internal"}"#,
        r#"bsc_filter_passed_total{service="bsc-monitor",layer="layer1",market_type="external"}"#,
        r#"bsc_filter_rejected_total{service="bsc-monitor",layer="layer1",reason="amount_too_small"}"#,
        r#"rpc_calls_total{service="bsc-monitor",target="bsc_node",route="eth_call",outcome="#,
        r#"alerts_sent_total{service="bsc-monitor",chain="bsc",channel="log",result="ok"}"#,
        r#"cooldown_hits_total{service="bsc-monitor",chain="bsc"}"#,
        "process_resident_memory_bytes",
        r#"tokio_runtime_workers{service="bsc-monitor"}"#,
        r#"health_check_status"#,
    ] {
        assert!(text.contains(series), "missing {series} in\n{text}");
    }
    // The functions the generated rules and dashboard name (src/generate.rs).
    for function in bsc_monitor::metrics::INSTRUMENTED_FUNCTIONS {
        let series = format!(r#"function="{function}""#);
        assert!(text.contains(&series), "missing {series} in\n{text}");
    }
    // …and the in-flight gauge exactly for those whose attribute has one.
    for function in bsc_monitor::metrics::INSTRUMENTED_FUNCTIONS {
        let gauge = text.lines().any(|l| {
            l.starts_with("function_calls_in_flight{")
                && l.contains(&format!(r#"function="{function}""#))
        });
        assert_eq!(
            gauge,
            alerting_core::instrument::call_sites()
                .any(|s| s.function() == *function && s.has_in_flight()),
            "function_calls_in_flight of {function}"
        );
    }

    obs.shutdown().trigger("test");
    let summary = app::finish(&running, obs.shutdown()).await;
    println!("{summary}\n{}", summary.report);
    assert!(summary.received > 500, "{summary}");
    assert_eq!(summary.unaccounted(), 0, "{summary}");
    assert!(
        summary.error > 0,
        "malformed messages are errors: {summary}"
    );
    assert!(summary.filtered > 0 && summary.ok > 0, "{summary}");
    assert_eq!(summary.report.still_running(), 0, "{}", summary.report);
    let m = &running.metrics;
    assert_eq!(m.handled_total(), summary.received);
    assert_eq!(m.bsc_ws_messages_in_flight.get(), 0);
    // Disconnects happened and were survived (one subscribe per connection).
    let subscribes = m
        .rpc_method(bsc_monitor::metrics::RpcMethod::EthSubscribe)
        .total();
    assert!(
        subscribes >= 2,
        "expected reconnects, got {subscribes} subscribes"
    );
}
