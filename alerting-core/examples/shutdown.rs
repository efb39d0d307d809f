//! Graceful shutdown, end to end.
//!
//! ```text
//! cargo run -q -p alerting-core --example shutdown
//! ```
//!
//! An intake loop accepts "swap events" every few milliseconds and hands
//! each to a task that takes 20–200 ms; three closers stand for a WebSocket
//! pool, a database pool and an alert sink. After half a second the program
//! sends itself `SIGTERM` (`kill -TERM <pid>`), and the [`Shutdown`]
//! coordinator takes readiness down, stops the intake, drains the accepted
//! events, runs the closers in reverse order, logs and prints the report,
//! and the program exits 0.
//!
//! Options (used by the tests):
//!
//! - `--wait-for-signal`: print `ready pid=<pid>` and wait for a real signal
//!   instead of sending one; a second signal forces the shutdown.
//! - `--stuck`: also start a task that never finishes, reported by name at
//!   the deadline.
//!
//! `ALERTING_…` environment variables override the configuration, for
//! example `ALERTING_SHUTDOWN__DEADLINE_SECS=1` or
//! `ALERTING_LOGGING__FORMAT=json`.

use std::error::Error;
use std::io::Write;
use std::time::Duration;

use alerting_core::config::MonitoringConfig;
use alerting_core::health::{Detail, HealthRegistry};
use alerting_core::logging;
use alerting_core::shutdown::Shutdown;

/// The example's configuration, before environment overrides.
const CONFIG: &str = r#"
[shutdown]
deadline_secs = 2
closer_timeout_secs = 1

[logging]
format = "compact"
"#;

#[tokio::main]
async fn main() -> Result<(), Box<dyn Error>> {
    let wait_for_signal = std::env::args().any(|a| a == "--wait-for-signal");
    let stuck = std::env::args().any(|a| a == "--stuck");

    let config = MonitoringConfig::loader().toml(CONFIG).load()?;
    let log_guard = logging::init(&config.logging)?;

    let shutdown = Shutdown::from_config(&config.shutdown);
    // Install the handlers before anything can send a signal.
    shutdown.listen_for_signals()?;
    shutdown.add_log_guard(log_guard);
    let health = HealthRegistry::builder().shutdown(&shutdown).build()?;

    // Closers run in reverse order: the sink first, the WebSocket pool last.
    shutdown.add_closer("ws_pool", async {
        tokio::time::sleep(Duration::from_millis(20)).await;
        tracing::info!("WebSocket pool closed");
    });
    shutdown.add_closer("db_pool", async {
        tokio::time::sleep(Duration::from_millis(5)).await;
        Ok::<(), std::io::Error>(())
    });
    shutdown.add_closer("alert_sink", async {
        tracing::info!("alert sink flushed");
        Ok::<(), std::io::Error>(())
    });

    let events = shutdown.work_kind("swap_event");
    let intake = shutdown.child_token();
    tokio::spawn(async move {
        let mut n: u64 = 0;
        loop {
            tokio::select! {
                _ = intake.cancelled() => break,
                _ = tokio::time::sleep(Duration::from_millis(3)) => {
                    n += 1;
                    let work = Duration::from_millis(20 + n * 37 % 180);
                    events.spawn(async move {
                        tokio::time::sleep(work).await;
                    });
                }
            }
        }
        tracing::info!(accepted = n, "intake stopped");
    });
    if stuck {
        shutdown.spawn("stuck_rpc", std::future::pending::<()>());
    }

    tracing::info!(ready = health.is_ready(), "working");
    if wait_for_signal {
        println!("ready pid={}", std::process::id());
        std::io::stdout().flush()?;
    } else {
        tokio::time::sleep(Duration::from_millis(500)).await;
        signal_self(&shutdown);
    }

    let report = shutdown.run().await;
    // Logged by the coordinator already (and the log writer flushed);
    // printed here as well, as text and as JSON.
    println!(
        "ready after shutdown: {}",
        health.readiness(Detail::Brief).ready
    );
    println!("{report}");
    println!("{}", serde_json::to_string(&report)?);
    Ok(())
}

/// Sends this process `SIGTERM`, as Kubernetes or systemd would.
#[cfg(unix)]
fn signal_self(_shutdown: &Shutdown) {
    let pid = std::process::id().to_string();
    match std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
    {
        Ok(status) if status.success() => {}
        other => eprintln!("could not run `kill -TERM {pid}`: {other:?}"),
    }
}

/// No Unix signals here: trigger from code instead.
#[cfg(not(unix))]
fn signal_self(shutdown: &Shutdown) {
    shutdown.trigger("example");
}
