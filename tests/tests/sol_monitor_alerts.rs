//! sol-monitor end to end: the real binary (its embedded simulated Solana
//! node, four batches of 25 accounts, a metrics port chosen by the OS), a
//! real Prometheus scraping it every second with sol-monitor's generated
//! rules, and a node outage (the `simulator.faults.outage_after_secs` /
//! `outage_secs` fault: the node stops listening and closes every
//! connection, then comes back on the same port). `WebSocketDisconnected`
//! and `NoDataReceived` must reach `firing` for every batch during the
//! outage, and resolve for every batch once the node is back.
//!
//! The rules are the committed ones (`sol_monitor::generate`, the same
//! definitions) at a test time scale: 1 s evaluation, `for: 2s`, a 5 s
//! no-data window. Every wait is bounded; everything listens on 127.0.0.1.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use alerting_tests::app::{self, App};
use alerting_tests::{Prometheus, Target};

/// When the node goes down, after sol-monitor starts.
const OUTAGE_AFTER: Duration = Duration::from_secs(15);
/// How long it stays down: long enough for both alerts to fire for every
/// batch (about 4 s and 8 s in).
const OUTAGE: Duration = Duration::from_secs(20);
/// Everything must be over by then.
const BOUND: Duration = Duration::from_secs(90);
const JOB: &str = "sol-monitor";
const BATCHES: [&str; 4] = ["0", "1", "2", "3"];

/// `(alertname, batch_id)` of sol-monitor's alerts in `states`.
fn alerts(prometheus: &Prometheus, states: &[&str]) -> BTreeSet<(String, String)> {
    prometheus
        .alerts()
        .expect("alerts")
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .filter(|a| a["labels"]["service"] == JOB && states.iter().any(|s| a["state"] == *s))
        .filter_map(|a| {
            let name = a["labels"]["alertname"].as_str()?.to_owned();
            let batch = a["labels"]["batch_id"].as_str().unwrap_or("").to_owned();
            Some((name, batch))
        })
        .collect()
}

fn every_batch(names: &[&str]) -> BTreeSet<(String, String)> {
    names
        .iter()
        .flat_map(|n| BATCHES.iter().map(|b| ((*n).to_owned(), (*b).to_owned())))
        .collect()
}

#[test]
fn node_outage_fires_the_websocket_and_no_data_alerts_per_batch_and_they_resolve() {
    let timing = sol_monitor::generate::Timing {
        interval: Duration::from_secs(1),
        pending: Duration::from_secs(2),
        no_data_window: Duration::from_secs(5),
    };
    let generated = sol_monitor::generate::with(&timing).expect("generate the rules");
    let stream = ["WebSocketDisconnected", "NoDataReceived"];
    for name in stream {
        assert!(generated.rules.alerts().any(|a| a.name() == name), "{name}");
    }
    let rules = generated.rules.to_yaml().expect("yaml");

    let binary = app::build("sol-monitor").expect("build sol-monitor");
    let (after, outage) = (
        OUTAGE_AFTER.as_secs().to_string(),
        OUTAGE.as_secs().to_string(),
    );
    let monitor = App::start(
        &binary,
        &[
            ("SOL_MONITOR_METRICS__LISTEN_ADDR", "127.0.0.1:0"),
            ("SOL_MONITOR_STORE__PATH", ":memory:"),
            ("SOL_MONITOR_SIMULATOR__PAIRS", "100"),
            ("SOL_MONITOR_BATCHES__SIZE", "25"),
            ("SOL_MONITOR_SIMULATOR__FAULTS__OUTAGE_AFTER_SECS", &after),
            ("SOL_MONITOR_SIMULATOR__FAULTS__OUTAGE_SECS", &outage),
            // Retry every 0.2 s up to 2 s, so the batches are back within
            // a few seconds of the node.
            ("SOL_MONITOR_BACKOFF__INITIAL_SECS", "0.2"),
            ("SOL_MONITOR_BACKOFF__MAX_SECS", "2"),
            // The health components go down after 3 s without data.
            ("SOL_MONITOR_NODE__MAX_SILENCE_SECS", "3"),
            ("SOL_MONITOR_HEALTH__INTERVAL_SECS", "1"),
            ("RUST_LOG", "warn"),
        ],
    )
    .expect("start sol-monitor");
    // The app's outage timer starts with the app, which has just printed
    // its endpoints: time the schedule from here.
    let started = Instant::now();
    let prometheus = Prometheus::builder()
        .target(Target::new(JOB, monitor.metrics_addr()))
        .rules_yaml(rules)
        .scrape_interval(Duration::from_secs(1))
        .evaluation_interval(Duration::from_secs(1))
        .start()
        .expect("start prometheus");
    prometheus
        .wait_for_target_up(JOB, Duration::from_secs(10))
        .expect("sol-monitor scraped");
    // Every batch connected and receiving before the outage.
    prometheus
        .wait_until(
            || {
                let v = prometheus
                    .query(
                        r#"sum by (batch_id) (rate(sol_ws_data_received_total{has_data="true"}[5s])) > 0
                           and on (batch_id) sol_ws_connections_active > 0"#,
                    )
                    .ok()?;
                (v["result"].as_array()?.len() == BATCHES.len()).then_some(())
            },
            Duration::from_secs(10),
        )
        .expect("every batch receiving data before the outage");
    if started.elapsed() + Duration::from_secs(2) < OUTAGE_AFTER {
        let firing = alerts(&prometheus, &["firing"]);
        assert!(
            firing
                .iter()
                .all(|(name, _)| !stream.contains(&name.as_str())),
            "alerts firing before the outage: {firing:?}"
        );
    }

    // The outage: both alerts fire for every batch while the node is down.
    let deadline = OUTAGE_AFTER + OUTAGE;
    let expected = every_batch(&stream);
    prometheus
        .wait_until(
            || {
                let firing = alerts(&prometheus, &["firing"]);
                expected.is_subset(&firing).then_some(())
            },
            // The bound: the end of the outage, plus slack for a loaded
            // machine (a late evaluation still shows the alerts firing, as
            // the no-data window only refills after the node is back).
            deadline.saturating_sub(started.elapsed()) + Duration::from_secs(8),
        )
        .unwrap_or_else(|e| {
            panic!(
                "WebSocketDisconnected and NoDataReceived not firing for every batch: {e}\n\
                 firing: {:?}",
                alerts(&prometheus, &["firing"])
            )
        });
    let health = prometheus
        .query_value(r#"max(min_over_time(health_check_status{check=~"sol_ws_batch_.*"}[30s]))"#)
        .expect("query");
    assert_eq!(health, Some(0.0), "every batch's health check went down");

    // The node is back: every batch reconnects and both alerts resolve.
    prometheus
        .wait_until(
            || {
                let active = alerts(&prometheus, &["pending", "firing"]);
                active
                    .iter()
                    .all(|(name, _)| !stream.contains(&name.as_str()))
                    .then_some(())
            },
            BOUND.saturating_sub(started.elapsed()),
        )
        .unwrap_or_else(|e| {
            panic!(
                "the alerts did not resolve once the node was back: {e}\nactive: {:?}",
                alerts(&prometheus, &["pending", "firing"])
            )
        });
    assert!(started.elapsed() < BOUND, "took {:?}", started.elapsed());
    // The batches reconnected for a reason the rules and dashboard show.
    let reconnects = prometheus
        .query_value("sum(sol_ws_reconnects_total)")
        .expect("query")
        .unwrap_or(0.0);
    assert!(
        reconnects >= BATCHES.len() as f64,
        "reconnects: {reconnects}"
    );
    drop(prometheus);
    drop(monitor);
}

#[test]
fn an_app_that_exits_at_start_up_is_reported_with_its_stderr() {
    let binary = app::build("sol-monitor").expect("build sol-monitor");
    let started = Instant::now();
    let err = App::start(&binary, &[("SOL_MONITOR_BATCHES__SIZE", "0")])
        .expect_err("a bad configuration stops the app");
    assert!(
        matches!(err, alerting_tests::HarnessError::AppExited { .. }),
        "{err}"
    );
    let text = err.to_string();
    assert!(
        text.contains("batches.size") && text.contains("SOL_MONITOR_BATCHES__SIZE"),
        "{text}"
    );
    // Reported when it exits, not after the 30 s wait for its address.
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "{:?}",
        started.elapsed()
    );
}
