//! The processing histograms carry the swap's transaction hash as their
//! exemplar in the OpenMetrics exposition: `bsc_ws_messages_processing_seconds`
//! (observed by the intake) and `process_swap_event`'s duration
//! (`#[instrumented(exemplar(tx_hash = swap.tx))]`).

use std::time::Duration;

use alerting_core::Observability;
use alerting_core::metrics::Format;
use bsc_monitor::{app, config};

const TOML: &str = r#"
[metrics]
listen_addr = "127.0.0.1:0"
[shutdown]
deadline_secs = 5
[logging]
level = "warn"
[simulator]
rate_per_sec = 500
latency_ms = 1
"#;

/// The exemplars on the bucket lines of `metric` that contain `needle`.
fn exemplars<'a>(text: &'a str, metric: &str, needle: &str) -> Vec<&'a str> {
    text.lines()
        .filter(|l| l.starts_with(&format!("{metric}_bucket{{")) && l.contains(needle))
        .filter_map(|l| l.split_once(" # ").map(|(_, e)| e))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn processing_times_name_their_transaction() {
    let config = config::load_with(None, Some(TOML), std::iter::empty()).unwrap();
    let obs = Observability::builder("bsc-monitor")
        .config(&config.monitoring)
        .logging(false)
        .signals(false)
        .start()
        .unwrap();
    let running = app::start(&config, &obs).await.unwrap();
    tokio::time::sleep(Duration::from_secs(1)).await;
    let text = obs
        .registry()
        .encode_to_string(Format::OpenMetrics)
        .unwrap();
    obs.shutdown().trigger("test");
    app::finish(&running, obs.shutdown()).await;

    for (metric, needle) in [
        ("bsc_ws_messages_processing_seconds", r#"event_type="swap""#),
        (
            "function_call_duration_seconds",
            r#"function="process_swap_event""#,
        ),
    ] {
        let found = exemplars(&text, metric, needle);
        assert!(!found.is_empty(), "no exemplar on {metric} in\n{text}");
        for exemplar in found {
            // `{tx_hash="0x…"} <seconds> <unix time>`, a 32-byte hash.
            let hash = exemplar
                .strip_prefix(r#"{tx_hash=""#)
                .and_then(|rest| rest.split_once('"'))
                .map(|(hash, _)| hash)
                .unwrap_or_else(|| panic!("not a tx_hash exemplar: {exemplar}"));
            assert!(
                hash.len() == 66 && hash.starts_with("0x"),
                "{metric}: {exemplar}"
            );
        }
    }
    // The Prometheus text format has none.
    let text = obs.registry().encode_to_string(Format::Prometheus).unwrap();
    assert!(!text.contains("tx_hash"));
}
