//! bsc-monitor end to end: the real binary (its embedded simulated node,
//! a metrics port chosen by the OS), a real Prometheus scraping it every
//! second with bsc-monitor's generated rules, and a node outage (the
//! `simulator.faults.outage_after_secs` / `outage_secs` fault: the node
//! stops listening and closes every connection, then comes back on the
//! same port). `WebSocketDisconnected` and `NoDataReceived` must reach
//! `firing` during the outage and resolve once the node is back.
//!
//! The rules are the committed ones (`bsc_monitor::generate`, the same
//! definitions) at a test time scale: 1 s evaluation, `for: 2s`,
//! a 5 s no-data window. Every wait is bounded; everything listens on
//! 127.0.0.1.

use std::time::{Duration, Instant};

use alerting_tests::app::{self, App};
use alerting_tests::{Prometheus, Target};

/// When the node goes down, after bsc-monitor starts: time for
/// Prometheus to start and scrape it healthy first.
const OUTAGE_AFTER: Duration = Duration::from_secs(15);
/// How long it stays down: long enough for both alerts to fire (about
/// 4 s and 9 s in).
const OUTAGE: Duration = Duration::from_secs(20);
const JOB: &str = "bsc-monitor";

/// The names of the alerts in state `state`.
fn alerts_in(prometheus: &Prometheus, state: &str) -> Vec<String> {
    app::alerts_in(prometheus, JOB, state).expect("alerts")
}

#[test]
fn node_outage_fires_the_websocket_and_no_data_alerts_and_they_resolve() {
    let timing = bsc_monitor::generate::Timing {
        interval: Duration::from_secs(1),
        pending: Duration::from_secs(2),
        no_data_window: Duration::from_secs(5),
    };
    let generated = bsc_monitor::generate::with(&timing).expect("generate the rules");
    let [disconnected, no_data] = [
        "WebSocketDisconnected".to_owned(),
        "NoDataReceived".to_owned(),
    ];
    assert!(
        generated.rules.alerts().any(|a| a.name() == disconnected)
            && generated.rules.alerts().any(|a| a.name() == no_data)
    );
    let rules = generated.rules.to_yaml().expect("yaml");

    // Built before the clock starts: on a loaded machine (CI) the build can
    // take longer than the whole outage schedule.
    let binary = app::build("bsc-monitor").expect("build bsc-monitor");
    let (after, outage) = (
        OUTAGE_AFTER.as_secs().to_string(),
        OUTAGE.as_secs().to_string(),
    );
    let monitor = App::start(
        &binary,
        &[
            ("BSC_MONITOR_METRICS__LISTEN_ADDR", "127.0.0.1:0"),
            ("BSC_MONITOR_SIMULATOR__FAULTS__OUTAGE_AFTER_SECS", &after),
            ("BSC_MONITOR_SIMULATOR__FAULTS__OUTAGE_SECS", &outage),
            // Reconnect attempts at 0.2 s, doubling (capped at 30 s by the app).
            ("BSC_MONITOR_NODE__RECONNECT_BACKOFF_SECS", "0.2"),
            ("RUST_LOG", "warn"),
        ],
    )
    .expect("start bsc-monitor");
    // The app's outage timer starts with the app, which has just printed its
    // endpoints: time the schedule from here.
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
        .expect("bsc-monitor scraped");
    // Swaps are flowing before the outage.
    prometheus
        .wait_until(
            || {
                let v = prometheus
                    .query_value("sum(rate(bsc_ws_messages_received_total[5s]))")
                    .ok()??;
                (v > 0.0).then_some(())
            },
            Duration::from_secs(10),
        )
        .expect("messages received before the outage");
    if started.elapsed() + Duration::from_secs(2) < OUTAGE_AFTER {
        let firing = alerts_in(&prometheus, "firing");
        assert!(
            !firing.contains(&disconnected) && !firing.contains(&no_data),
            "alerts firing before the outage: {firing:?}"
        );
    }

    // The outage: both alerts fire while the node is down.
    let deadline = OUTAGE_AFTER + OUTAGE;
    prometheus
        .wait_until(
            || {
                let firing = alerts_in(&prometheus, "firing");
                (firing.contains(&disconnected) && firing.contains(&no_data)).then_some(())
            },
            // The bound: the end of the outage, plus slack for a loaded
            // machine (a late evaluation still shows the alerts firing, as
            // the no-data window only refills after the node is back).
            deadline.saturating_sub(started.elapsed()) + Duration::from_secs(8),
        )
        .expect("WebSocketDisconnected and NoDataReceived firing during the outage");
    let health = prometheus
        .query_value(r#"min_over_time(health_check_status{check="bsc_ws"}[30s])"#)
        .expect("query");
    assert_eq!(health, Some(0.0), "the bsc_ws health check went down");

    // The node is back: the app reconnects (its backoff is at most ~13 s
    // by then) and both alerts resolve.
    prometheus
        .wait_until(
            || {
                let active: Vec<String> = ["pending", "firing"]
                    .iter()
                    .flat_map(|s| alerts_in(&prometheus, s))
                    .collect();
                (!active.contains(&disconnected) && !active.contains(&no_data)).then_some(())
            },
            Duration::from_secs(90).saturating_sub(started.elapsed()),
        )
        .expect("the alerts resolve once the node is back");
    assert!(
        started.elapsed() < Duration::from_secs(90),
        "took {:?}",
        started.elapsed()
    );
    drop(prometheus);
    drop(monitor);
}
