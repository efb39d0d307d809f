//! Shutdown drains accepted work: nothing in flight at the signal is lost.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use alerting_core::shutdown::{DrainOutcome, Shutdown};
use tokio_util::sync::CancellationToken;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_tasks_in_flight_at_the_signal_all_finish() {
    let shutdown = Shutdown::builder()
        .deadline(Duration::from_secs(30))
        .signals(false)
        .build();
    let swaps = shutdown.work_kind("swap_event");
    let finished = Arc::new(AtomicU64::new(0));
    // Holds every task until the signal, so all 10,000 are in flight then.
    let gate = CancellationToken::new();

    for i in 0..10_000u64 {
        // Accepted before the signal: the guard is taken here, not in the task.
        let guard = swaps.start();
        let finished = Arc::clone(&finished);
        let gate = gate.clone();
        tokio::spawn(async move {
            gate.cancelled().await;
            tokio::time::sleep(Duration::from_millis(5 + i % 200)).await;
            finished.fetch_add(1, Ordering::SeqCst);
            drop(guard);
        });
    }
    assert_eq!(swaps.in_flight(), 10_000);

    let start = Instant::now();
    assert!(shutdown.trigger("test"));
    gate.cancel();
    let report = shutdown.run().await;
    let took = start.elapsed();

    assert_eq!(finished.load(Ordering::SeqCst), 10_000, "{report}");
    assert_eq!(report.drain, DrainOutcome::Drained);
    assert!(!report.forced);
    assert_eq!(report.in_flight_at_trigger(), 10_000);
    assert_eq!(report.drained(), 10_000);
    assert_eq!(report.still_running(), 0);
    assert_eq!(swaps.in_flight(), 0);
    assert!(report.is_clean());
    eprintln!("drained 10,000 in-flight tasks in {took:?}\n{report}");
}

#[tokio::test]
async fn intake_stops_and_work_accepted_until_then_is_drained() {
    let shutdown = Shutdown::builder()
        .deadline(Duration::from_secs(30))
        .signals(false)
        .build();
    let events = shutdown.work_kind("event");
    let intake = shutdown.child_token();
    let handled = Arc::new(AtomicU64::new(0));

    let accepted = {
        let events = events.clone();
        let handled = Arc::clone(&handled);
        tokio::spawn(async move {
            let mut accepted = 0u64;
            loop {
                tokio::select! {
                    _ = intake.cancelled() => return accepted,
                    _ = tokio::time::sleep(Duration::from_millis(1)) => {
                        accepted += 1;
                        let handled = Arc::clone(&handled);
                        events.spawn(async move {
                            tokio::time::sleep(Duration::from_millis(30)).await;
                            handled.fetch_add(1, Ordering::SeqCst);
                        });
                    }
                }
            }
        })
    };

    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(!shutdown.is_shutting_down());
    shutdown.trigger("deploy");
    assert!(shutdown.is_shutting_down());
    let report = shutdown.run().await;

    let accepted = accepted.await.unwrap();
    assert!(shutdown.token().is_cancelled());
    assert_eq!(handled.load(Ordering::SeqCst), accepted, "{report}");
    assert_eq!(report.still_running(), 0);
    assert_eq!(report.work[0].name, "event");
}

#[tokio::test]
async fn every_caller_of_run_gets_the_same_report_and_dropping_run_does_not_stop_it() {
    let shutdown = Shutdown::builder().signals(false).build();
    let guard = shutdown.in_flight("job");

    // A `run` that is dropped while the drain waits.
    let early = shutdown.clone();
    let dropped = tokio::time::timeout(Duration::from_millis(20), async move {
        early.trigger("test");
        early.run().await
    })
    .await;
    assert!(dropped.is_err(), "the drain is still waiting for `job`");
    assert!(shutdown.report().is_none());

    let other = shutdown.clone();
    let waiter = tokio::spawn(async move { other.run().await });
    drop(guard);
    let first = shutdown.run().await;
    let second = waiter.await.unwrap();
    assert_eq!(first, second);
    assert_eq!(first.drained(), 1);
    assert_eq!(shutdown.report(), Some(first));
    // A later trigger is ignored.
    assert!(!shutdown.trigger("again"));
}
