//! Two bsc-monitor instances, one place to query: each is scraped by a
//! Prometheus in agent mode (as on its own host) that remote-writes into a
//! central Prometheus (`--web.enable-remote-write-receiver`), which alone
//! holds bsc-monitor's generated rules. Instance A's node goes down (the
//! simulator's outage fault); instance B's does not. Centrally,
//! `WebSocketDisconnected` and `NoDataReceived` fire for A's `instance`
//! and never for B's.
//!
//! Everything listens on 127.0.0.1 and every wait is bounded; the rules
//! are the generated ones at a test time scale (1 s evaluation, `for: 2s`,
//! a 5 s no-data window), as in `bsc_monitor_alerts.rs`.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use alerting_tests::app::{self, App};
use alerting_tests::{Prometheus, Target};

const JOB: &str = "bsc-monitor";
const OUTAGE_AFTER: Duration = Duration::from_secs(15);
const OUTAGE: Duration = Duration::from_secs(25);
const WATCHED: [&str; 2] = ["WebSocketDisconnected", "NoDataReceived"];

/// `(alertname, instance)` of the central server's alerts in `state`s.
fn alerts(central: &Prometheus, states: &[&str]) -> BTreeSet<(String, String)> {
    central
        .alerts()
        .expect("alerts")
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .filter(|a| states.iter().any(|s| a["state"] == *s))
        .map(|a| {
            let label = |k: &str| a["labels"][k].as_str().unwrap_or_default().to_owned();
            (label("alertname"), label("instance"))
        })
        .collect()
}

#[test]
fn central_rules_fire_for_the_faulty_instance_only() {
    let timing = bsc_monitor::generate::Timing {
        interval: Duration::from_secs(1),
        pending: Duration::from_secs(2),
        no_data_window: Duration::from_secs(5),
    };
    let rules = bsc_monitor::generate::with(&timing)
        .expect("generate the rules")
        .rules
        .to_yaml()
        .expect("yaml");
    let binary = app::build("bsc-monitor").expect("build bsc-monitor");

    let (after, outage) = (
        OUTAGE_AFTER.as_secs().to_string(),
        OUTAGE.as_secs().to_string(),
    );
    let common = [
        ("BSC_MONITOR_METRICS__LISTEN_ADDR", "127.0.0.1:0"),
        ("BSC_MONITOR_NODE__RECONNECT_BACKOFF_SECS", "0.2"),
        ("RUST_LOG", "warn"),
    ];
    let faulty_env: Vec<(&str, &str)> = common
        .iter()
        .copied()
        .chain([
            (
                "BSC_MONITOR_SIMULATOR__FAULTS__OUTAGE_AFTER_SECS",
                after.as_str(),
            ),
            (
                "BSC_MONITOR_SIMULATOR__FAULTS__OUTAGE_SECS",
                outage.as_str(),
            ),
        ])
        .collect();
    let faulty = App::start(&binary, &faulty_env).expect("start instance A");
    let started = Instant::now();
    let healthy = App::start(&binary, &common).expect("start instance B");
    let (a, b) = (
        faulty.metrics_addr().to_string(),
        healthy.metrics_addr().to_string(),
    );

    let central = Prometheus::builder()
        .remote_write_receiver()
        .rules_yaml(rules)
        .evaluation_interval(Duration::from_secs(1))
        .start()
        .expect("start the central prometheus");
    let write_url = format!("{}/api/v1/write", central.url());
    let agents: Vec<Prometheus> = [
        (faulty.metrics_addr(), "host-a"),
        (healthy.metrics_addr(), "host-b"),
    ]
    .into_iter()
    .map(|(addr, host)| {
        Prometheus::builder()
            .agent()
            .target(Target::new(JOB, addr))
            .scrape_interval(Duration::from_secs(1))
            .remote_write(&write_url)
            .external_label("agent", host)
            .start()
            .expect("start an agent")
    })
    .collect();

    // Both instances arrive centrally, each under its own `instance`, with
    // the label of the agent that sent it.
    central
        .wait_until(
            || {
                let result = central.query(r#"up{job="bsc-monitor"} == 1"#).ok()?;
                let seen: BTreeSet<(String, String)> = result["result"]
                    .as_array()?
                    .iter()
                    .map(|s| {
                        let l = &s["metric"];
                        (
                            l["instance"].as_str().unwrap_or_default().to_owned(),
                            l["agent"].as_str().unwrap_or_default().to_owned(),
                        )
                    })
                    .collect();
                let expected = BTreeSet::from([
                    (a.clone(), "host-a".to_owned()),
                    (b.clone(), "host-b".to_owned()),
                ]);
                (seen == expected).then_some(())
            },
            Duration::from_secs(30),
        )
        .expect("both instances remote-written to the central server");

    // A's outage: both alerts fire for A. B never has an active one.
    let mut b_active = BTreeSet::new();
    central
        .wait_until(
            || {
                let active = alerts(&central, &["pending", "firing"]);
                b_active.extend(active.iter().filter(|(_, i)| *i == b).cloned());
                let firing = alerts(&central, &["firing"]);
                WATCHED
                    .iter()
                    .all(|name| firing.contains(&(name.to_string(), a.clone())))
                    .then_some(())
            },
            (OUTAGE_AFTER + OUTAGE).saturating_sub(started.elapsed()) + Duration::from_secs(10),
        )
        .expect("WebSocketDisconnected and NoDataReceived firing for instance A");
    b_active.extend(
        alerts(&central, &["pending", "firing"])
            .into_iter()
            .filter(|(_, i)| *i == b),
    );
    let b_watched: Vec<_> = b_active
        .iter()
        .filter(|(name, _)| WATCHED.contains(&name.as_str()))
        .collect();
    assert!(
        b_watched.is_empty(),
        "alerts active for the healthy instance B: {b_watched:?}"
    );
    drop(agents);
}
