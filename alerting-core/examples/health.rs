//! Health checks and their report.
//!
//! ```text
//! cargo run -q -p alerting-core --example health
//! ```
//!
//! Registers four checks and prints the detailed report, its JSON, the
//! brief JSON an open endpoint would serve, and the health metrics:
//!
//! - `database`: a pulled check that succeeds;
//! - `redis`: a pulled check that fails; its raw error (with a password in
//!   it) is logged (the first lines of output) but kept out of the report;
//! - `price_api`: a pulled check that hangs, reported down at its 300 ms
//!   timeout; it is not critical, so the service is degraded, still ready;
//! - `ws_pool`: a pushed component that reported up once and then went
//!   silent for longer than its 1 s maximum silence: "no data for 1 s".

use std::error::Error;
use std::time::Duration;

use alerting_core::config::LoggingConfig;
use alerting_core::health::{CheckOptions, CheckOutcome, Detail, HealthRegistry, check_fn};
use alerting_core::logging;
use alerting_core::metrics::{Format, Registry};

#[tokio::main]
async fn main() -> Result<(), Box<dyn Error>> {
    // Status changes are logged, raw errors included (operators see them,
    // HTTP clients do not).
    let log_guard = logging::init(&LoggingConfig::default())?;

    let metrics = Registry::builder().namespace("demo").build()?;
    let health = HealthRegistry::builder()
        .version(env!("CARGO_PKG_VERSION"))
        .timeout(Duration::from_secs(2))
        .metrics(&metrics)
        .build()?;

    health.add_check(
        "database",
        CheckOptions::new(),
        check_fn(|| async {
            tokio::time::sleep(Duration::from_millis(3)).await; // SELECT 1
            Ok::<(), std::io::Error>(())
        }),
    )?;
    health.add_check(
        "redis",
        CheckOptions::new(),
        check_fn(|| async { Err::<(), _>("connection refused: redis://:hunter2@10.0.0.6:6379") }),
    )?;
    health.add_check(
        "price_api",
        CheckOptions::new()
            .critical(false)
            .timeout(Duration::from_millis(300)),
        check_fn(|| async {
            std::future::pending::<()>().await; // a request that never returns
            CheckOutcome::up()
        }),
    )?;
    let ws = health.add_component(
        "ws_pool",
        CheckOptions::new().max_silence(Duration::from_secs(1)),
    )?;
    ws.up(); // connected… and then nothing

    tokio::time::sleep(Duration::from_millis(1_200)).await;
    let report = health.refresh().await;
    log_guard.flush(); // the log lines first, then the report

    println!(
        "== detailed report (HTTP {})\n{report}\n",
        report.http_status()
    );
    println!(
        "== detailed JSON\n{}\n",
        serde_json::to_string_pretty(&report)?
    );
    println!(
        "== brief JSON (readiness)\n{}\n",
        serde_json::to_string(&health.readiness(Detail::Brief))?
    );
    println!("== metrics");
    for line in metrics
        .encode_to_string(Format::Prometheus)?
        .lines()
        .filter(|l| l.starts_with("demo_health_check_status") || l.contains("_count"))
    {
        println!("{line}");
    }
    Ok(())
}
