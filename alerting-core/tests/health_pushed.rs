//! Pushed components: status reported by the component, data seen, and
//! the maximum silence.

use std::time::Duration;

use alerting_core::health::{CheckOptions, CheckOutcome, Detail, HealthRegistry, Status};

#[test]
fn a_component_reports_its_own_status() {
    let health = HealthRegistry::new();
    let ws = health
        .add_component("ws_pool", CheckOptions::new())
        .unwrap();
    assert_eq!(ws.name(), "ws_pool");

    let report = health.report(Detail::Full);
    assert_eq!(report.checks["ws_pool"].status, Status::Down);
    assert_eq!(
        report.checks["ws_pool"].reason.as_deref(),
        Some("not reported yet")
    );

    ws.up();
    assert!(health.is_ready());
    assert_eq!(health.report(Detail::Full).checks["ws_pool"].reason, None);

    ws.degraded("3 of 10 connections down");
    let report = health.report(Detail::Full);
    assert_eq!(report.status, Status::Degraded);
    assert_eq!(
        report.checks["ws_pool"].reason.as_deref(),
        Some("3 of 10 connections down")
    );
    assert!(report.ready);

    ws.set(CheckOutcome::down("connection reset").with_error("wss://node.example/KEY"));
    let report = health.report(Detail::Full);
    assert!(!report.ready);
    assert_eq!(
        report.checks["ws_pool"].reason.as_deref(),
        Some("connection reset")
    );
    assert!(!serde_json::to_string(&report).unwrap().contains("KEY"));
}

#[test]
fn data_counts_as_up_until_a_status_is_reported() {
    let health = HealthRegistry::new();
    let feed = health.add_component("feed", CheckOptions::new()).unwrap();
    feed.saw_data();
    let report = health.report(Detail::Full);
    assert_eq!(report.checks["feed"].status, Status::Up);
    assert!(report.checks["feed"].last_success.is_some());
}

#[test]
fn a_silent_component_is_down_with_no_data_for_n_s() {
    let health = HealthRegistry::new();
    let silence = Duration::from_millis(1100);
    let ws = health
        .add_component("ws_batch_7", CheckOptions::new().max_silence(silence))
        .unwrap();
    ws.up();
    assert!(health.is_ready());

    // Data keeps it up past the silence window.
    for _ in 0..3 {
        std::thread::sleep(Duration::from_millis(400));
        ws.saw_data();
        assert!(health.is_ready(), "data arrived within the window");
    }

    std::thread::sleep(silence + Duration::from_millis(100));
    let report = health.report(Detail::Full);
    let check = &report.checks["ws_batch_7"];
    assert_eq!(check.status, Status::Down);
    assert_eq!(check.reason.as_deref(), Some("no data for 1 s"));
    assert!(!report.ready);

    // A report (or data) brings it back.
    ws.saw_data();
    assert!(health.is_ready());
}

#[test]
fn a_component_that_never_reports_goes_silent_too() {
    let health = HealthRegistry::new();
    health
        .add_component(
            "never",
            CheckOptions::new().max_silence(Duration::from_millis(20)),
        )
        .unwrap();
    std::thread::sleep(Duration::from_millis(40));
    let report = health.report(Detail::Full);
    assert_eq!(
        report.checks["never"].reason.as_deref(),
        Some("no data for 0 s")
    );
}

#[test]
fn handles_are_shared() {
    let health = HealthRegistry::new();
    let a = health.add_component("pool", CheckOptions::new()).unwrap();
    let b = a.clone();
    a.up();
    b.down("closed");
    assert_eq!(
        health.report(Detail::Brief).checks["pool"].status,
        Status::Down
    );
}
