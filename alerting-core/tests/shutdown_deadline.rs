//! The drain deadline, and the second signal that ends the wait at once.

use std::time::{Duration, Instant};

use alerting_core::shutdown::{DrainOutcome, Shutdown, ShutdownReport, Trigger};

const DEADLINE: Duration = Duration::from_millis(300);

#[tokio::test]
async fn a_task_that_never_finishes_is_reported_by_name_at_the_deadline() {
    let shutdown = Shutdown::builder()
        .deadline(DEADLINE)
        .signals(false)
        .build();
    let stuck = shutdown.spawn("stuck_rpc", std::future::pending::<()>());
    let quick = shutdown.work_kind("swap_event");
    for _ in 0..5 {
        quick.spawn(tokio::time::sleep(Duration::from_millis(20)));
    }

    let start = Instant::now();
    shutdown.trigger("test");
    let report = shutdown.run().await;
    let took = start.elapsed();

    assert!(took < DEADLINE + Duration::from_secs(1), "took {took:?}");
    assert!(took >= DEADLINE, "returned before the deadline: {took:?}");
    assert_eq!(report.drain, DrainOutcome::DeadlineReached);
    assert_eq!(
        report.still_running_by_name().collect::<Vec<_>>(),
        [("stuck_rpc", 1)]
    );
    let swaps = report.work.iter().find(|w| w.name == "swap_event").unwrap();
    assert_eq!(
        (
            swaps.in_flight_at_trigger,
            swaps.drained,
            swaps.still_running
        ),
        (5, 5, 0)
    );
    assert!(!report.is_clean());
    let text = report.to_string();
    assert!(text.contains("stuck_rpc ×1"), "{text}");
    assert!(text.contains("deadline reached"), "{text}");
    eprintln!("deadline {DEADLINE:?}, returned after {took:?}\n{text}");
    stuck.abort();
}

#[tokio::test]
async fn a_second_signal_ends_the_wait_at_once() {
    let deadline = Duration::from_secs(30);
    let shutdown = Shutdown::builder()
        .deadline(deadline)
        .signals(false)
        .build();
    let _stuck = shutdown.in_flight("ws_batch");

    shutdown.trigger("first");
    let forcer = shutdown.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(50)).await;
        forcer.force();
    });
    let start = Instant::now();
    let report = shutdown.run().await;
    assert!(start.elapsed() < deadline, "the wait was not cut short");
    assert_eq!(report.drain, DrainOutcome::Forced);
    assert!(report.forced);
    assert_eq!(report.trigger, Trigger::Requested("first".into()));
    assert_eq!(report.still_running(), 1);
}

#[tokio::test]
async fn force_also_ends_the_readiness_delay() {
    let shutdown = Shutdown::builder()
        .readiness_delay(Duration::from_secs(30))
        .signals(false)
        .build();
    shutdown.force();
    let report = tokio::time::timeout(Duration::from_secs(10), shutdown.run())
        .await
        .expect("force ends the readiness delay");
    assert!(report.forced);
    assert!(report.phases.readiness < Duration::from_secs(30));
}

#[tokio::test]
async fn the_readiness_delay_comes_before_intake_stops() {
    let delay = Duration::from_millis(100);
    let shutdown = Shutdown::builder()
        .readiness_delay(delay)
        .signals(false)
        .build();
    let intake = shutdown.token();
    shutdown.trigger("test");
    assert!(shutdown.is_shutting_down());
    assert!(!intake.is_cancelled(), "intake stops after the delay");
    let report = shutdown.run().await;
    assert!(intake.is_cancelled());
    assert!(report.phases.readiness >= delay);
}

#[tokio::test]
async fn the_report_is_serde() {
    let shutdown = Shutdown::builder()
        .deadline(Duration::from_millis(50))
        .signals(false)
        .build();
    let _stuck = shutdown.in_flight("stuck");
    shutdown.add_closer("sink", async { Err::<(), _>("disk full") });
    shutdown.trigger("test");
    let report = shutdown.run().await;

    let json = serde_json::to_value(&report).unwrap();
    assert_eq!(json["trigger"]["kind"], "requested");
    assert_eq!(json["drain"], "deadline_reached");
    assert_eq!(json["deadline_secs"], 0.05);
    assert_eq!(json["work"][0]["name"], "stuck");
    assert_eq!(json["work"][0]["still_running"], 1);
    assert_eq!(json["closers"][0]["result"], "failed");
    assert_eq!(json["closers"][0]["error"], "disk full");
    assert!(json["phases"]["drain_secs"].as_f64().unwrap() >= 0.05);

    let back: ShutdownReport = serde_json::from_value(json).unwrap();
    assert_eq!(back.closers, report.closers);
    assert_eq!(back.work, report.work);
}
