//! `health_check_status{check}` (1 up, 0.5 degraded, 0 down) and
//! `health_check_duration_seconds{check}`.

use std::time::Duration;

use alerting_core::health::{CheckOptions, CheckOutcome, HealthError, HealthRegistry, check_fn};
use alerting_core::metrics::{Format, Registry};

#[tokio::test]
async fn status_and_duration_are_exported() {
    let metrics = Registry::builder().namespace("bsc").build().unwrap();
    let health = HealthRegistry::builder()
        .metrics(&metrics)
        .timeout(Duration::from_millis(50))
        .build()
        .unwrap();
    health
        .add_check(
            "db",
            CheckOptions::new(),
            check_fn(|| async { CheckOutcome::up() }),
        )
        .unwrap();
    health
        .add_check(
            "replica",
            CheckOptions::new(),
            check_fn(|| async { CheckOutcome::degraded("lag") }),
        )
        .unwrap();
    health
        .add_check(
            "rpc",
            CheckOptions::new(),
            check_fn(std::future::pending::<CheckOutcome>),
        )
        .unwrap();
    let ws = health.add_component("ws", CheckOptions::new()).unwrap();

    let text = metrics.encode_to_string(Format::Prometheus).unwrap();
    assert!(
        text.contains(r#"bsc_health_check_status{check="db"} 0"#),
        "{text}"
    );
    assert!(
        text.contains(r#"bsc_health_check_status{check="ws"} 0"#),
        "{text}"
    );

    health.refresh().await;
    ws.up();
    let text = metrics.encode_to_string(Format::Prometheus).unwrap();
    assert!(
        text.contains("# TYPE bsc_health_check_status gauge"),
        "{text}"
    );
    assert!(
        text.contains(r#"bsc_health_check_status{check="db"} 1"#),
        "{text}"
    );
    assert!(
        text.contains(r#"bsc_health_check_status{check="replica"} 0.5"#),
        "{text}"
    );
    assert!(
        text.contains(r#"bsc_health_check_status{check="rpc"} 0"#),
        "{text}"
    );
    assert!(
        text.contains(r#"bsc_health_check_status{check="ws"} 1"#),
        "{text}"
    );
    assert!(
        text.contains("# TYPE bsc_health_check_duration_seconds histogram"),
        "{text}"
    );
    assert!(
        text.contains(r#"bsc_health_check_duration_seconds_count{check="rpc"} 1"#),
        "{text}"
    );
    assert!(
        text.contains(r#"bsc_health_check_duration_seconds_count{check="db"} 1"#),
        "{text}"
    );
    // Pushed components have no runs to time.
    assert!(
        !text.contains(r#"bsc_health_check_duration_seconds_count{check="ws"}"#),
        "{text}"
    );

    ws.down("closed");
    let text = metrics.encode_to_string(Format::Prometheus).unwrap();
    assert!(
        text.contains(r#"bsc_health_check_status{check="ws"} 0"#),
        "{text}"
    );
}

#[test]
fn registering_the_metrics_twice_in_one_registry_is_an_error() {
    let metrics = Registry::new();
    HealthRegistry::builder().metrics(&metrics).build().unwrap();
    let err = HealthRegistry::builder()
        .metrics(&metrics)
        .build()
        .unwrap_err();
    assert!(matches!(err, HealthError::Metrics(_)), "{err:?}");
}
