//! An API on one port and its admin endpoints on another, stopped
//! gracefully on `SIGTERM` or Ctrl-C.
//!
//! ```text
//! cargo run -p alerting-axum --example hello
//! curl -s http://127.0.0.1:3000/hello/world
//! curl -s http://127.0.0.1:9000/metrics | grep http_requests_total
//! curl -s http://127.0.0.1:9000/ready?verbose
//! curl -s http://127.0.0.1:9000/healthz
//! ```
//!
//! Environment:
//!
//! - `HELLO_API_ADDR` (default `127.0.0.1:3000`): the API: `GET /`,
//!   `GET /hello/{name}`, `GET /slow` (takes two seconds; start one and
//!   press Ctrl-C to watch it drain).
//! - `HELLO_ADMIN_ADDR` (default `127.0.0.1:9000`): `/metrics`, `/health`,
//!   `/ready`, `/healthz`, kept off the API's port.
//! - `HELLO_ADMIN_TOKEN` (default none): if set, `/metrics` and `/healthz`
//!   need `Authorization: Bearer <token>`.
//!
//! `ALERTING_…` variables configure the rest (`ALERTING_LOGGING__FORMAT=json`,
//! `ALERTING_SHUTDOWN__DEADLINE_SECS=5`; see `alerting_core::config`).

use std::error::Error;
use std::net::SocketAddr;
use std::time::Duration;

use alerting_axum::{Endpoints, HttpMetricsLayer, serve, serve_admin};
use alerting_core::config::MonitoringConfig;
use alerting_core::health::{CheckOptions, CheckOutcome, HealthRegistry, check_fn};
use alerting_core::logging;
use alerting_core::metrics::{Counter, MetricGroup};
use alerting_core::shutdown::Shutdown;
use axum::Router;
use axum::extract::{Path, State};
use axum::routing::get;
use tokio::net::TcpListener;

/// What the API counts besides its HTTP metrics.
#[derive(Clone, Debug, MetricGroup)]
struct Metrics {
    /// Greetings sent.
    hello_greetings_total: Counter,
}

async fn index() -> &'static str {
    "hello\n"
}

async fn greet(State(metrics): State<Metrics>, Path(name): Path<String>) -> String {
    metrics.hello_greetings_total.inc();
    format!("hello, {name}\n")
}

async fn slow() -> &'static str {
    tokio::time::sleep(Duration::from_secs(2)).await;
    "done\n"
}

fn addr(var: &str, default: &str) -> Result<SocketAddr, String> {
    let value = std::env::var(var).unwrap_or_else(|_| default.to_owned());
    value.parse().map_err(|e| format!("{var}={value:?}: {e}"))
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn Error>> {
    let api_addr = addr("HELLO_API_ADDR", "127.0.0.1:3000")?;
    let admin_addr = addr("HELLO_ADMIN_ADDR", "127.0.0.1:9000")?;

    let config = MonitoringConfig::from_env()?;
    let log_guard = logging::init(&config.logging)?;
    let registry = config.metrics.registry()?;
    registry.register_process_collector()?;
    let metrics: Metrics = registry.register_group()?;

    let shutdown = Shutdown::from_config(&config.shutdown);
    shutdown.add_log_guard(log_guard);
    let health = HealthRegistry::builder()
        .config(&config.health)
        .version(env!("CARGO_PKG_VERSION"))
        .shutdown(&shutdown)
        .metrics(&registry)
        .build()?;
    health.add_check(
        "self",
        CheckOptions::new(),
        check_fn(|| async { CheckOutcome::up() }),
    )?;
    health.start()?;

    let api = Router::new()
        .route("/", get(index))
        .route("/hello/{name}", get(greet))
        .route("/slow", get(slow))
        .with_state(metrics)
        .layer(HttpMetricsLayer::new(&registry)?);

    let mut endpoints = Endpoints::new()
        .metrics(registry)
        .metrics_path(config.metrics.path.as_str())
        .health(health);
    if let Ok(token) = std::env::var("HELLO_ADMIN_TOKEN") {
        endpoints = endpoints.bearer_token(token);
    }
    let admin = endpoints.router()?;

    let api_listener = TcpListener::bind(api_addr).await?;
    let admin_listener = TcpListener::bind(admin_addr).await?;
    println!(
        "api on http://{}/ and admin on http://{}/metrics (Ctrl-C to stop)",
        api_listener.local_addr()?,
        admin_listener.local_addr()?,
    );
    let api_server = tokio::spawn(serve(api_listener, api, &shutdown));
    let admin_server = tokio::spawn(serve_admin(admin_listener, admin, &shutdown));

    let report = shutdown.run().await;
    println!("{report}");
    api_server.await??;
    admin_server.await??;
    Ok(())
}
