//! Results are cached and refreshed in the background: reading a report
//! does not run a check.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use alerting_core::health::{CheckOptions, CheckOutcome, Detail, HealthRegistry, Status, check_fn};

fn counting(runs: &Arc<AtomicU64>) -> impl alerting_core::health::HealthCheck {
    let runs = Arc::clone(runs);
    check_fn(move || {
        runs.fetch_add(1, Ordering::SeqCst);
        async { CheckOutcome::up() }
    })
}

async fn wait_until(mut cond: impl FnMut() -> bool) {
    tokio::time::timeout(Duration::from_secs(10), async {
        while !cond() {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await
    .expect("condition reached");
}

#[tokio::test]
async fn a_thousand_reports_do_not_run_the_check_a_thousand_times() {
    let health = HealthRegistry::builder()
        .interval(Duration::from_secs(3600))
        .build()
        .unwrap();
    let runs = Arc::new(AtomicU64::new(0));
    health
        .add_check("db", CheckOptions::new(), counting(&runs))
        .unwrap();
    health.start().unwrap();
    health.start().unwrap(); // idempotent

    wait_until(|| runs.load(Ordering::SeqCst) == 1).await;
    wait_until(|| health.is_ready()).await;
    for _ in 0..1_000 {
        assert_eq!(health.readiness(Detail::Brief).status, Status::Up);
    }
    assert_eq!(runs.load(Ordering::SeqCst), 1);

    // On demand, it runs.
    health.check_now("db").await.unwrap();
    assert_eq!(runs.load(Ordering::SeqCst), 2);
    health.refresh().await;
    assert_eq!(runs.load(Ordering::SeqCst), 3);
}

#[tokio::test]
async fn checks_run_again_every_interval() {
    let health = HealthRegistry::builder()
        .interval(Duration::from_millis(20))
        .build()
        .unwrap();
    let runs = Arc::new(AtomicU64::new(0));
    let slow = Arc::new(AtomicU64::new(0));
    health.start().unwrap();
    // Added after start: starts at registration.
    health
        .add_check("db", CheckOptions::new(), counting(&runs))
        .unwrap();
    health
        .add_check(
            "rpc",
            CheckOptions::new().interval(Duration::from_secs(3600)),
            counting(&slow),
        )
        .unwrap();
    wait_until(|| runs.load(Ordering::SeqCst) >= 4).await;
    assert_eq!(slow.load(Ordering::SeqCst), 1, "its own, longer interval");
}

#[tokio::test]
async fn the_background_stops_when_the_registry_is_dropped() {
    let health = HealthRegistry::builder()
        .interval(Duration::from_millis(5))
        .build()
        .unwrap();
    let runs = Arc::new(AtomicU64::new(0));
    health
        .add_check("db", CheckOptions::new(), counting(&runs))
        .unwrap();
    health.start().unwrap();
    wait_until(|| runs.load(Ordering::SeqCst) >= 2).await;
    drop(health);
    tokio::time::sleep(Duration::from_millis(20)).await;
    let after_drop = runs.load(Ordering::SeqCst);
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(runs.load(Ordering::SeqCst), after_drop);
}

#[test]
fn start_outside_a_runtime_is_an_error() {
    let health = HealthRegistry::new();
    assert_eq!(
        health.start().unwrap_err().to_string(),
        "cannot start background health checks: not inside a tokio runtime"
    );
}
