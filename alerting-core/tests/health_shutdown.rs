//! Readiness goes down as soon as shutdown begins; liveness does not.

use std::time::Duration;

use alerting_core::health::{CheckOptions, Detail, HealthRegistry, Status};
use alerting_core::shutdown::Shutdown;

#[tokio::test]
async fn readiness_goes_down_when_shutdown_begins_before_the_drain() {
    let shutdown = Shutdown::builder()
        .deadline(Duration::from_secs(30))
        .signals(false)
        .build();
    let health = HealthRegistry::builder()
        .shutdown(&shutdown)
        .build()
        .unwrap();
    let ws = health.add_component("ws", CheckOptions::new()).unwrap();
    ws.up();
    assert!(health.is_ready());

    // Work in flight keeps the drain waiting; readiness must be down anyway.
    let job = shutdown.in_flight("job");
    shutdown.trigger("deploy");
    assert!(!health.is_ready());
    assert!(health.is_live());
    let ready = health.readiness(Detail::Full);
    assert_eq!(ready.status, Status::Down);
    assert!(ready.shutting_down);
    assert_eq!(ready.http_status(), 503);
    assert_eq!(health.liveness(Detail::Brief).http_status(), 200);
    let json = serde_json::to_value(&ready).unwrap();
    assert_eq!(json["shutting_down"], true);

    drop(job);
    let report = shutdown.run().await;
    assert_eq!(report.still_running(), 0);
    assert!(!health.is_ready());
}
