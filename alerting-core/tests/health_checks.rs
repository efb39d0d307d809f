//! Pulled checks: timeouts, panics, criticality, probes, and what a report
//! shows.

use std::time::{Duration, Instant};

use alerting_core::health::{
    CheckOptions, CheckOutcome, Detail, HealthCheck, HealthError, HealthRegistry, Probe, Status,
    check_fn,
};

const TIMEOUT: Duration = Duration::from_millis(200);

fn registry() -> HealthRegistry {
    HealthRegistry::builder()
        .timeout(TIMEOUT)
        .version("1.2.3")
        .build()
        .unwrap()
}

struct Database {
    fail: bool,
}

impl HealthCheck for Database {
    async fn check(&self) -> CheckOutcome {
        tokio::time::sleep(Duration::from_millis(2)).await;
        if self.fail {
            CheckOutcome::down("ping failed")
                .with_error("password authentication failed for user \"bsc\" at 10.0.0.5")
        } else {
            CheckOutcome::up()
        }
    }
}

#[tokio::test]
async fn a_hanging_check_is_down_at_its_timeout_and_never_hangs_the_caller() {
    let health = registry();
    health
        .add_check("db", CheckOptions::new(), Database { fail: false })
        .unwrap();
    health
        .add_check(
            "rpc",
            CheckOptions::new(),
            check_fn(std::future::pending::<CheckOutcome>),
        )
        .unwrap();
    health
        .add_check(
            "slow_rpc",
            CheckOptions::new().timeout(Duration::from_millis(50)),
            check_fn(|| async {
                tokio::time::sleep(Duration::from_secs(3600)).await;
            }),
        )
        .unwrap();

    let start = Instant::now();
    let report = health.refresh().await;
    assert!(start.elapsed() < TIMEOUT + Duration::from_secs(1));
    assert_eq!(report.checks["db"].status, Status::Up);
    assert_eq!(report.checks["rpc"].status, Status::Down);
    assert_eq!(
        report.checks["rpc"].reason.as_deref(),
        Some("timed out after 0.2 s")
    );
    assert!(report.checks["rpc"].duration.unwrap() >= TIMEOUT);
    assert_eq!(
        report.checks["slow_rpc"].reason.as_deref(),
        Some("timed out after 0.05 s")
    );
    assert_eq!(report.status, Status::Down);
    assert!(!report.ready);
    assert_eq!(report.http_status(), 503);
}

#[tokio::test]
async fn a_panicking_check_is_down_and_the_registry_goes_on() {
    let health = registry();
    health
        .add_check(
            "flaky",
            CheckOptions::new(),
            check_fn(|| async {
                if true {
                    panic!("index out of bounds");
                }
                CheckOutcome::up()
            }),
        )
        .unwrap();
    health
        .add_check("db", CheckOptions::new(), Database { fail: false })
        .unwrap();

    for _ in 0..3 {
        let report = health.refresh().await;
        assert_eq!(report.checks["flaky"].status, Status::Down);
        assert_eq!(
            report.checks["flaky"].reason.as_deref(),
            Some("check panicked")
        );
        assert_eq!(report.checks["db"].status, Status::Up);
    }
    let one = health.check_now("flaky").await.unwrap();
    assert_eq!(one.status, Status::Down);
}

#[tokio::test]
async fn raw_errors_stay_out_of_reports_unless_marked_safe() {
    let health = registry();
    health
        .add_check("db", CheckOptions::new(), Database { fail: true })
        .unwrap();
    health
        .add_check(
            "redis",
            CheckOptions::new(),
            check_fn(|| async { Err::<(), _>("connection refused: redis://:hunter2@10.0.0.6") }),
        )
        .unwrap();
    health
        .add_check(
            "disk",
            CheckOptions::new(),
            check_fn(|| async {
                CheckOutcome::degraded("low disk space")
                    .with_error("92% used")
                    .show_error()
            }),
        )
        .unwrap();

    let report = health.refresh().await;
    let json = serde_json::to_string(&report).unwrap();
    for secret in ["password", "10.0.0.5", "hunter2", "10.0.0.6"] {
        assert!(!json.contains(secret), "{secret} leaked: {json}");
        assert!(!report.to_string().contains(secret));
    }
    assert_eq!(report.checks["db"].reason.as_deref(), Some("ping failed"));
    assert_eq!(
        report.checks["redis"].reason.as_deref(),
        Some("check failed")
    );
    assert_eq!(
        report.checks["disk"].reason.as_deref(),
        Some("low disk space: 92% used")
    );
}

#[tokio::test]
async fn a_non_critical_check_degrades_and_the_service_stays_ready() {
    let health = registry();
    health
        .add_check("db", CheckOptions::new(), Database { fail: false })
        .unwrap();
    health
        .add_check(
            "price_cache",
            CheckOptions::new().critical(false),
            Database { fail: true },
        )
        .unwrap();
    let report = health.refresh().await;
    assert_eq!(report.checks["price_cache"].status, Status::Down);
    assert_eq!(report.checks["price_cache"].critical, Some(false));
    assert_eq!(report.status, Status::Degraded);
    assert!(report.ready);
    assert_eq!(report.http_status(), 200);
    assert!(health.is_ready());
}

#[tokio::test]
async fn liveness_and_readiness_count_their_own_checks() {
    let health = registry();
    health
        .add_check(
            "event_loop",
            CheckOptions::new().probe(Probe::Liveness),
            Database { fail: false },
        )
        .unwrap();
    health
        .add_check("db", CheckOptions::new(), Database { fail: true })
        .unwrap();
    health
        .add_check(
            "config",
            CheckOptions::new().probe(Probe::Both),
            Database { fail: false },
        )
        .unwrap();
    health.refresh().await;

    let live = health.liveness(Detail::Brief);
    assert_eq!(live.status, Status::Up);
    assert_eq!(
        live.checks.keys().collect::<Vec<_>>(),
        ["config", "event_loop"]
    );
    assert!(health.is_live());

    let ready = health.readiness(Detail::Brief);
    assert_eq!(ready.status, Status::Down);
    assert_eq!(ready.checks.keys().collect::<Vec<_>>(), ["config", "db"]);
    assert!(!health.is_ready());
}

#[tokio::test]
async fn brief_reports_say_only_the_statuses() {
    let health = registry();
    health
        .add_check("db", CheckOptions::new(), Database { fail: true })
        .unwrap();
    health.refresh().await;

    let brief = serde_json::to_value(health.report(Detail::Brief)).unwrap();
    assert_eq!(
        brief,
        serde_json::json!({
            "status": "down",
            "live": true,
            "ready": false,
            "checks": { "db": { "status": "down" } }
        })
    );

    let full = serde_json::to_value(health.report(Detail::Full)).unwrap();
    assert_eq!(full["version"], "1.2.3");
    let db = &full["checks"]["db"];
    assert_eq!(db["reason"], "ping failed");
    assert_eq!(db["probe"], "readiness");
    assert_eq!(db["critical"], true);
    assert!(db["duration_secs"].as_f64().unwrap() > 0.0);
    assert!(db["checked_at"].as_str().unwrap().ends_with('Z'));
    assert!(db.get("last_success").is_none(), "it never succeeded");
}

#[tokio::test]
async fn last_success_is_kept_when_a_check_starts_failing() {
    let health = registry();
    let fail = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let flag = std::sync::Arc::clone(&fail);
    health
        .add_check(
            "db",
            CheckOptions::new(),
            check_fn(move || {
                let failing = flag.load(std::sync::atomic::Ordering::SeqCst);
                async move {
                    if failing {
                        CheckOutcome::down("ping failed")
                    } else {
                        CheckOutcome::up()
                    }
                }
            }),
        )
        .unwrap();
    let up = health.check_now("db").await.unwrap();
    let success = up.last_success.clone().unwrap();
    fail.store(true, std::sync::atomic::Ordering::SeqCst);
    let down = health.check_now("db").await.unwrap();
    assert_eq!(down.status, Status::Down);
    assert_eq!(down.last_success, Some(success));
}

#[tokio::test]
async fn names_are_checked() {
    let health = registry();
    health
        .add_check("db", CheckOptions::new(), Database { fail: false })
        .unwrap();
    let dup = health
        .add_check("db", CheckOptions::new(), Database { fail: false })
        .unwrap_err();
    assert!(matches!(dup, HealthError::Duplicate { .. }));
    assert_eq!(dup.to_string(), "health check `db` is already registered");
    assert!(matches!(
        health.add_component(" ", CheckOptions::new()),
        Err(HealthError::EmptyName)
    ));
    assert!(matches!(
        health.check_now("nope").await,
        Err(HealthError::UnknownCheck { .. })
    ));
}

#[tokio::test]
async fn a_check_not_yet_run_is_down() {
    let health = registry();
    health
        .add_check("db", CheckOptions::new(), Database { fail: false })
        .unwrap();
    let report = health.report(Detail::Full);
    assert_eq!(report.checks["db"].status, Status::Down);
    assert_eq!(
        report.checks["db"].reason.as_deref(),
        Some("not checked yet")
    );
    assert!(!health.is_ready());
}
