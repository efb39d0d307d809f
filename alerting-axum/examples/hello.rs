//! An API on one port and its admin endpoints on another, stopped
//! gracefully on `SIGTERM` or Ctrl-C: the service bootstrap
//! (`Observability` + `Server`) with its configuration from the
//! environment.
//!
//! ```text
//! cargo run -p alerting-axum --example hello
//! curl -s http://127.0.0.1:3000/hello/world
//! curl -s http://127.0.0.1:9000/metrics | grep http_requests_total
//! curl -s http://127.0.0.1:9000/ready?verbose
//! curl -s http://127.0.0.1:9000/healthz
//! ```
//!
//! Environment (`HELLO_<SECTION>__<KEY>`, see `alerting_core::config`):
//!
//! - `HELLO_API__LISTEN_ADDR` (default `127.0.0.1:3000`): the API: `GET /`,
//!   `GET /hello/{name}`, `GET /slow` (takes two seconds; start one and
//!   press Ctrl-C to watch it drain).
//! - `HELLO_METRICS__LISTEN_ADDR` (default `127.0.0.1:9000`): `/metrics`,
//!   `/health`, `/ready`, `/healthz`, kept off the API's port.
//! - `HELLO_METRICS__BEARER_TOKEN` (default none): if set, `/metrics` and
//!   `/healthz` need `Authorization: Bearer <token>`.
//! - and the rest: `HELLO_LOGGING__FORMAT=json`,
//!   `HELLO_SHUTDOWN__DEADLINE_SECS=5`…

use std::net::SocketAddr;
use std::time::Duration;

use alerting_axum::Server;
use alerting_core::config::ConfigLoader;
use alerting_core::health::{CheckOptions, CheckOutcome, check_fn};
use alerting_core::metrics::{Counter, MetricGroup};
use alerting_core::{MainError, Observability};
use axum::Router;
use axum::extract::{Path, State};
use axum::routing::get;
use serde::Deserialize;

/// The example's own section of the configuration: `[api]`.
#[derive(Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct Config {
    api: Api,
}

#[derive(Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct Api {
    listen_addr: SocketAddr,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            api: Api {
                listen_addr: SocketAddr::from(([127, 0, 0, 1], 3000)),
            },
        }
    }
}

impl Default for Api {
    fn default() -> Self {
        Config::default().api
    }
}

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

/// Instrumented: its calls, duration and in-flight series are exported
/// at 0 from start-up (the bootstrap installs the global registry, which
/// registers every linked call site), before anyone calls it.
#[alerting_core::instrumented(in_flight)]
async fn slow() -> &'static str {
    tokio::time::sleep(Duration::from_secs(2)).await;
    "done\n"
}

#[tokio::main]
async fn main() -> Result<(), MainError> {
    let config = ConfigLoader::new()
        .env_prefix("HELLO")
        .load_service::<Config>()?;
    let obs = Observability::builder("hello")
        .version(env!("CARGO_PKG_VERSION"))
        .config(&config.monitoring)
        .start()?;
    let metrics: Metrics = obs.registry().register_group()?;
    obs.health().add_check(
        "self",
        CheckOptions::new(),
        check_fn(|| async { CheckOutcome::up() }),
    )?;

    let api = Router::new()
        .route("/", get(index))
        .route("/hello/{name}", get(greet))
        .route("/slow", get(slow))
        .with_state(metrics);
    let server = Server::new(&obs)
        .api(config.app.api.listen_addr, api)
        .bind()
        .await?;
    println!(
        "api on http://{}/ and admin on http://{}/metrics (Ctrl-C to stop)",
        server.api_addr().unwrap_or(server.metrics_addr()),
        server.metrics_addr(),
    );
    let report = server.run().await?;
    println!("{report}");
    Ok(())
}
