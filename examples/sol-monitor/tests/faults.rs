//! The app against the embedded node with every fault on, for two
//! seconds: connections drop and come back, reconnects are counted by
//! batch and reason, data by batch, and `/metrics` serves them with the
//! seed's names and labels.

use std::time::Duration;

use alerting_core::Observability;
use sol_monitor::app;
use sol_monitor::config;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const TOML: &str = r#"
[metrics]
listen_addr = "127.0.0.1:0"
[shutdown]
deadline_secs = 5
[logging]
level = "warn"
[node]
connect_timeout_secs = 0.3
no_data_timeout_secs = 0.4
max_silence_secs = 1.0
[batches]
size = 10
subscription = "both"
[backoff]
initial_secs = 0.02
max_secs = 0.1
jitter = 0.5
[simulator]
pairs = 40
rate_per_sec = 10.0
empty_rate = 0.2
[store]
path = ":memory:"
[simulator.faults]
disconnect_after = 150
silent_rate = 0.15
unresponsive_rate = 0.15
subscribe_error_rate = 0.15
"#;

async fn get(addr: std::net::SocketAddr, path: &str) -> String {
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    let req = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    s.write_all(req.as_bytes()).await.unwrap();
    let mut out = String::new();
    tokio::time::timeout(Duration::from_secs(5), s.read_to_string(&mut out))
        .await
        .unwrap()
        .unwrap();
    out
}

/// The value of the first sample line starting with `series`.
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find(|l| l.starts_with(series))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn faults_are_counted_by_batch_and_reason() {
    let config = config::load_with(None, Some(TOML), std::iter::empty()).unwrap();
    let obs = Observability::builder("sol-monitor")
        .config(&config.monitoring)
        .logging(false)
        .signals(false)
        // `#[instrumented]` functions record into the global registry.
        .start()
        .unwrap();
    let running = app::start(&config, &obs).await.unwrap();
    assert_eq!(running.batches.len(), 4);

    tokio::time::sleep(Duration::from_secs(2)).await;

    let text = get(running.admin_addr, "/metrics").await;
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
    for id in 0..4 {
        let b = format!(r#"service="sol-monitor",batch_id="{id}""#);
        for series in [
            format!("sol_ws_connections_active{{{b}}}"),
            format!(r#"sol_ws_reconnects_total{{{b},reason="closed"}}"#),
            format!(r#"sol_ws_reconnects_total{{{b},reason="no_data"}}"#),
            format!(r#"sol_ws_data_received_total{{{b},has_data="true"}}"#),
            format!(r#"sol_ws_data_received_total{{{b},has_data="false"}}"#),
        ] {
            assert!(
                sample(&text, &series).is_some(),
                "missing {series} in\n{text}"
            );
        }
        let health = format!(r#"check="sol_ws_batch_{id}""#);
        assert!(text.contains(&health), "missing {health} in\n{text}");
    }
    // The functions the generated rules and dashboard name (src/generate.rs).
    for function in sol_monitor::metrics::INSTRUMENTED_FUNCTIONS {
        let series = format!(r#"function="{function}",module="sol_monitor::conn""#);
        assert!(text.contains(&series), "missing {series} in\n{text}");
    }
    // …and the in-flight gauge exactly for those whose attribute has one.
    for function in sol_monitor::metrics::INSTRUMENTED_FUNCTIONS {
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
    assert!(text.contains("process_resident_memory_bytes"), "{text}");
    assert!(
        text.contains(r#"tokio_runtime_workers{service="sol-monitor"}"#),
        "{text}"
    );
    let ready = get(running.admin_addr, "/healthz").await;
    assert!(ready.contains("sol_ws_batch_0"), "{ready}");

    // Every batch served from the same series as the exposition.
    let served: f64 = (0..4)
        .map(|id| {
            sample(
                &text,
                &format!(
                    r#"sol_ws_data_received_total{{service="sol-monitor",batch_id="{id}",has_data="true"}}"#
                ),
            )
            .unwrap()
        })
        .sum();
    assert!(served > 0.0, "no data served\n{text}");

    obs.shutdown().trigger("test");
    let summary = app::finish(&running, obs.shutdown()).await;
    println!("{summary}{}", summary.report);
    assert_eq!(summary.active(), 0, "{summary}");
    assert_eq!(summary.report.still_running(), 0, "{}", summary.report);
    assert!(
        summary.report.in_flight_at_trigger() >= 4,
        "{}",
        summary.report
    );

    // Every batch lost its connection at least once (each connection ends
    // within ~0.8 s: 150 notifications at 200/s, or a fault) and reconnected.
    for b in &summary.batches {
        assert!(b.reconnects.iter().sum::<u64>() >= 1, "{b:?}\n{summary}");
    }
    let by_reason = |i: usize| summary.batches.iter().map(|b| b.reconnects[i]).sum::<u64>();
    assert!(by_reason(0) > 0, "closed by the node: {summary}");
    assert!(
        by_reason(1) + by_reason(2) + by_reason(3) > 0,
        "error, timeout or no_data: {summary}"
    );
    let with_data: u64 = summary.batches.iter().map(|b| b.with_data).sum();
    let without: u64 = summary.batches.iter().map(|b| b.without_data).sum();
    assert!(with_data > 100 && without > 0, "{summary}");
    assert!(
        summary.batches.iter().filter(|b| b.with_data > 0).count() >= 3,
        "{summary}"
    );
    // Every counted reconnect ended a connection the node had accepted.
    let sim = running.simulation.as_ref().unwrap();
    let reconnects: u64 = summary
        .batches
        .iter()
        .map(|b| b.reconnects.iter().sum::<u64>())
        .sum();
    assert!(sim.connections() >= reconnects, "{summary}");
}
