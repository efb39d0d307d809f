//! Work past the deadline: abandoned, not waited for; the report says what
//! of it finished late (while the closers ran) and what was left running.
//! And `run` returns within `Shutdown::max_duration`.

use std::time::{Duration, Instant};

use alerting_core::shutdown::{DrainOutcome, Shutdown, ShutdownReport};

/// Slack on time bounds: the machine running the tests may be loaded.
const SLACK: Duration = Duration::from_secs(1);

fn counts(report: &ShutdownReport, name: &str) -> (u64, u64, u64, u64, u64) {
    let w = report
        .work
        .iter()
        .find(|w| w.name == name)
        .unwrap_or_else(|| panic!("{name} not in the report:\n{report}"));
    (
        w.in_flight_at_trigger,
        w.drained,
        w.still_running,
        w.finished_late,
        w.abandoned,
    )
}

#[tokio::test]
async fn work_finishing_while_the_closers_run_is_reported_late_the_rest_abandoned() {
    let deadline = Duration::from_millis(200);
    let shutdown = Shutdown::builder()
        .deadline(deadline)
        .closer_timeout(Duration::from_secs(3))
        .signals(false)
        .build();
    // Finish 800 ms after the deadline, while the closer below runs.
    let late = shutdown.work_kind("late_rpc");
    for _ in 0..3 {
        late.spawn(tokio::time::sleep(Duration::from_secs(1)));
    }
    let stuck = shutdown.spawn("stuck_rpc", std::future::pending::<()>());
    shutdown.spawn("swap_event", tokio::time::sleep(Duration::from_millis(10)));
    let watched = late.clone();
    let after_the_drain = shutdown.work_kind("after_the_drain");
    shutdown.add_closer("flush", async move {
        // Work started after the drain is neither waited for nor reported.
        drop(after_the_drain.start());
        let _unreported = after_the_drain.spawn(std::future::pending::<()>());
        let start = Instant::now();
        while watched.in_flight() > 0 && start.elapsed() < Duration::from_secs(2) {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    });
    let bound = shutdown.max_duration();
    assert_eq!(bound, deadline + Duration::from_secs(3));

    let start = Instant::now();
    shutdown.trigger("test");
    let report = shutdown.run().await;
    let took = start.elapsed();
    eprintln!("{report}");

    assert!(took < bound + SLACK, "took {took:?}, bound {bound:?}");
    assert_eq!(report.drain, DrainOutcome::DeadlineReached);
    // (at trigger, drained, still running, finished late, abandoned)
    assert_eq!(counts(&report, "late_rpc"), (3, 0, 3, 3, 0));
    assert_eq!(counts(&report, "stuck_rpc"), (1, 0, 1, 0, 1));
    assert_eq!(counts(&report, "swap_event"), (1, 1, 0, 0, 0));
    assert_eq!(counts(&report, "after_the_drain"), (0, 0, 0, 0, 0));
    assert_eq!(
        (
            report.still_running(),
            report.finished_late(),
            report.abandoned()
        ),
        (4, 3, 1)
    );
    assert_eq!(
        report.finished_late_by_name().collect::<Vec<_>>(),
        [("late_rpc", 3)]
    );
    assert_eq!(
        report.abandoned_by_name().collect::<Vec<_>>(),
        [("stuck_rpc", 1)]
    );
    let text = report.to_string();
    assert!(
        text.contains("4 still running at the end of the drain (3 finished late, 1 abandoned)"),
        "{text}"
    );
    assert!(
        text.contains(
            "finished late (after the drain ended, before this report):\n    late_rpc ×3"
        ),
        "{text}"
    );
    assert!(
        text.contains("abandoned (still running, left to the process exit):\n    stuck_rpc ×1"),
        "{text}"
    );

    let json = serde_json::to_value(&report).unwrap();
    let late_json = json["work"]
        .as_array()
        .unwrap()
        .iter()
        .find(|w| w["name"] == "late_rpc")
        .unwrap();
    assert_eq!(late_json["finished_late"], 3);
    assert_eq!(late_json["abandoned"], 0);
    let back: ShutdownReport = serde_json::from_value(json).unwrap();
    assert_eq!(back.work, report.work);

    // Abandoned work was left running, not cancelled.
    assert!(!stuck.is_finished());
    stuck.abort();
}

#[tokio::test]
async fn run_returns_within_max_duration_whatever_the_work_and_closers_do() {
    let shutdown = Shutdown::builder()
        .readiness_delay(Duration::from_millis(100))
        .deadline(Duration::from_millis(300))
        .closer_timeout(Duration::from_millis(200))
        .signals(false)
        .build();
    let stuck = shutdown.spawn("stuck_rpc", std::future::pending::<()>());
    let held = shutdown.in_flight("held_guard");
    // Two closers that hang and one that waits for the abandoned work.
    shutdown.add_closer("hangs", std::future::pending::<()>());
    shutdown.add_closer_with_timeout(
        "hangs_longer",
        Duration::from_millis(300),
        std::future::pending::<()>(),
    );
    let kind = shutdown.work_kind("stuck_rpc");
    shutdown.add_closer("waits_for_abandoned_work", async move {
        while kind.in_flight() > 0 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    });
    let bound = shutdown.max_duration();
    assert_eq!(bound, Duration::from_millis(100 + 300 + 200 + 300 + 200));

    let start = Instant::now();
    shutdown.trigger("test");
    let report = shutdown.run().await;
    let took = start.elapsed();
    eprintln!("bound {bound:?}, took {took:?}\n{report}");
    assert!(took < bound + SLACK, "took {took:?}, bound {bound:?}");
    assert_eq!(report.abandoned(), 2);
    assert_eq!(report.finished_late(), 0);
    assert_eq!(report.closers.len(), 3);
    assert!(report.closers.iter().all(|c| !c.outcome.is_ok()));
    drop(held);
    stuck.abort();
}

#[tokio::test]
async fn a_drained_shutdown_reports_nothing_late_or_abandoned() {
    let shutdown = Shutdown::builder()
        .deadline(Duration::from_secs(5))
        .signals(false)
        .build();
    let kind = shutdown.work_kind("swap_event");
    for _ in 0..10 {
        kind.spawn(tokio::time::sleep(Duration::from_millis(20)));
    }
    shutdown.trigger("test");
    let report = shutdown.run().await;
    assert_eq!(report.drain, DrainOutcome::Drained);
    assert_eq!(counts(&report, "swap_event"), (10, 10, 0, 0, 0));
    assert!(report.is_clean(), "{report}");
    let text = report.to_string();
    assert!(!text.contains("abandoned"), "{text}");
    assert!(!text.contains("finished late"), "{text}");
}
