//! Wiring: the simulator (by default), the batches and their connections,
//! health, the admin endpoints and shutdown.

use std::fmt;
use std::net::SocketAddr;
use std::sync::Arc;

use alerting_axum::Server;
use alerting_core::Observability;
use alerting_core::health::{CheckOptions, HealthRegistry};
use alerting_core::shutdown::{Shutdown, ShutdownReport};

use crate::batch::{self, Backoff};
use crate::config::{Config, SIMULATED, secs};
use crate::conn::BatchConnection;
use crate::metrics::{BatchMetrics, Reason, SolMetrics};
use crate::rng::hash;
use crate::sim::SimNode;
use crate::tls::Tls;

/// The name of the in-flight work kind in the shutdown report: one per
/// batch connection.
pub const WORK_KIND: &str = "ws_connection";

/// Start-up failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AppError {
    /// A metric could not be registered.
    #[error(transparent)]
    Metrics(#[from] alerting_core::metrics::MetricsError),
    /// A health check could not be registered.
    #[error(transparent)]
    Health(#[from] alerting_core::health::HealthError),
    /// The endpoints could not be served.
    #[error(transparent)]
    Server(#[from] alerting_axum::ServerError),
    /// The simulator could not start.
    #[error("cannot start the simulator: {0}")]
    Simulator(std::io::Error),
    /// The TLS client configuration (`tls.ca_file`) could not be built.
    #[error(transparent)]
    Tls(#[from] crate::tls::TlsError),
}

/// A running monitor.
#[derive(Debug)]
pub struct Running {
    /// Where `/metrics`, `/health` and `/ready` are.
    pub admin_addr: SocketAddr,
    /// The node's URL.
    pub node_url: String,
    /// The metrics.
    pub metrics: SolMetrics,
    /// Each batch's id, account count and series.
    pub batches: Vec<(String, usize, BatchMetrics)>,
    /// The health registry.
    pub health: HealthRegistry,
    /// The simulator, if it runs.
    pub simulation: Option<Arc<SimNode>>,
}

/// One batch's counts.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct BatchSummary {
    /// `batch_id`.
    pub id: String,
    /// Accounts in it.
    pub accounts: usize,
    /// Connections open now (0 after shutdown).
    pub active: i64,
    /// Reconnects by reason, in [`Reason::ALL`] order.
    pub reconnects: [u64; 4],
    /// Notifications with data.
    pub with_data: u64,
    /// Notifications without data.
    pub without_data: u64,
}

/// The batches' counts, with the shutdown report.
#[derive(Debug)]
#[non_exhaustive]
pub struct Summary {
    /// Each batch.
    pub batches: Vec<BatchSummary>,
    /// The shutdown report.
    pub report: ShutdownReport,
}

impl Summary {
    fn of(running: &Running, report: ShutdownReport) -> Self {
        let batches = running
            .batches
            .iter()
            .map(|(id, accounts, m)| BatchSummary {
                id: id.clone(),
                accounts: *accounts,
                active: m.active.get(),
                reconnects: Reason::ALL.map(|r| m.reconnects(r).get()),
                with_data: m.with_data.get(),
                without_data: m.without_data.get(),
            })
            .collect();
        Self { batches, report }
    }

    /// Connections still open: 0 after a clean shutdown.
    pub fn active(&self) -> i64 {
        self.batches.iter().map(|b| b.active).sum()
    }
}

impl fmt::Display for BatchSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let [closed, error, timeout, no_data] = self.reconnects;
        write!(
            f,
            "active={} reconnects={} (closed={closed} error={error} timeout={timeout} \
             no_data={no_data}) notifications: with_data={} without_data={}",
            self.active,
            closed + error + timeout + no_data,
            self.with_data,
            self.without_data,
        )
    }
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut total = BatchSummary {
            id: String::new(),
            accounts: 0,
            active: 0,
            reconnects: [0; 4],
            with_data: 0,
            without_data: 0,
        };
        for b in &self.batches {
            total.accounts += b.accounts;
            total.active += b.active;
            for (t, n) in total.reconnects.iter_mut().zip(b.reconnects) {
                *t += n;
            }
            total.with_data += b.with_data;
            total.without_data += b.without_data;
        }
        writeln!(f, "batches: {} {total}", self.batches.len())?;
        for b in &self.batches {
            writeln!(f, "  batch {} ({} accounts): {b}", b.id, b.accounts)?;
        }
        Ok(())
    }
}

/// Starts everything; returns once the endpoints listen. Shutdown (a
/// signal, or [`Shutdown::trigger`]) stops it; then call [`finish`].
///
/// # Errors
///
/// [`AppError`] if a part cannot start.
pub async fn start(config: &Config, obs: &Observability) -> Result<Running, AppError> {
    let (registry, shutdown) = (obs.registry(), obs.shutdown());
    let app = &config.app;
    let metrics: SolMetrics = registry.register_group()?;

    // The simulator (closed last: registered first).
    let simulation = if app.node.url == SIMULATED {
        let node = SimNode::start(app.simulator.clone())
            .await
            .map_err(AppError::Simulator)?;
        let node = Arc::new(node);
        let closing = Arc::clone(&node);
        shutdown.add_closer("simulator", async move { closing.stop() });
        Some(node)
    } else {
        None
    };
    if let Some(sim) = &simulation {
        let faults = &app.simulator.faults;
        if faults.outage_after_secs > 0.0 && faults.outage_secs > 0.0 {
            // The `simulator.faults.outage_*` fault: the node goes down
            // once, for a while, and comes back on the same port.
            let sim = Arc::clone(sim);
            let (after, outage) = (secs(faults.outage_after_secs), secs(faults.outage_secs));
            let stop = shutdown.child_token();
            tokio::spawn(async move {
                tokio::select! {
                    _ = stop.cancelled() => {}
                    _ = tokio::time::sleep(after) => {
                        if let Err(e) = sim.outage(outage).await {
                            tracing::error!(error = %e, "simulated node: cannot come back");
                        }
                    }
                }
            });
        }
    }
    let (node_url, accounts) = match &simulation {
        Some(sim) if app.batches.accounts.is_empty() => (sim.url(), sim.accounts()),
        Some(sim) => (sim.url(), app.batches.accounts.clone()),
        None => (app.node.url.clone(), app.batches.accounts.clone()),
    };

    // Running already: checks added below start at once.
    let health = obs.health().clone();

    let tls = Tls::new(app.tls.ca_file.as_deref())?;
    let work = shutdown.work_kind(WORK_KIND);
    let mut batches = Vec::new();
    for batch in batch::batches(&accounts, app.batches.size) {
        let series = BatchMetrics::new(&metrics, &batch.id);
        let component = health.add_component(
            format!("sol_ws_batch_{}", batch.id),
            CheckOptions::new().max_silence(secs(app.node.max_silence_secs)),
        )?;
        batches.push((batch.id.clone(), batch.accounts.len(), series.clone()));
        let connection = BatchConnection {
            backoff: Backoff::new(&app.backoff, app.simulator.seed ^ hash(&batch.id)),
            batch,
            url: node_url.clone(),
            tls: tls.clone(),
            kind: app.batches.subscription,
            connect_timeout: secs(app.node.connect_timeout_secs),
            no_data_timeout: secs(app.node.no_data_timeout_secs),
            metrics: series,
            health: component,
            stop: shutdown.child_token(),
        };
        work.spawn(connection.run());
    }
    {
        let batches = batches.clone();
        shutdown.add_closer("ws_connections", async move {
            // The drain waited for every connection task; this records it.
            let open: i64 = batches.iter().map(|(_, _, m)| m.active.get()).sum();
            tracing::info!(
                batches = batches.len(),
                open,
                "WebSocket connections closed"
            );
        });
    }

    // The endpoints, from `[metrics]`: address, path, token.
    let server = Server::new(obs).bind().await?;
    let admin_addr = server.metrics_addr();
    tokio::spawn(async move {
        if let Err(e) = server.run().await {
            tracing::error!(error = %e, "admin server failed");
        }
    });

    Ok(Running {
        admin_addr,
        node_url,
        metrics,
        batches,
        health,
        simulation,
    })
}

/// Waits for the shutdown to finish and sums up the batches.
pub async fn finish(running: &Running, shutdown: &Shutdown) -> Summary {
    let report = shutdown.run().await;
    Summary::of(running, report)
}
