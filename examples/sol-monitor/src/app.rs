//! Wiring: the simulator (by default), the batches and their connections,
//! health, the admin endpoints and shutdown.

use std::collections::BTreeMap;
use std::fmt;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};

use alerting_axum::Server;
use alerting_core::Observability;
use alerting_core::health::{CheckOptions, HealthRegistry};
use alerting_core::metrics::sql_pool::SqlPoolCollector;
use alerting_core::shutdown::{Shutdown, ShutdownReport, WorkKind};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::alert_log::{AlertLog, WriterSettings};
use crate::alerts::Alerter;
use crate::batch::{Backoff, Batch};
use crate::config::{AppConfig, Config, SIMULATED, secs};
use crate::conn::BatchConnection;
use crate::evaluate::Evaluator;
use crate::metrics::{BatchMetrics, MAX_BATCHES, Reason, SolMetrics};
use crate::rng::hash;
use crate::sim::SimNode;
use crate::store::{POOL_NAME, PairRow, Store, Template};
use crate::tls::Tls;

/// The name of the in-flight work kind in the shutdown report: one per
/// batch connection.
pub const WORK_KIND: &str = "ws_connection";

/// The work kind of alert deliveries.
pub const ALERT_WORK_KIND: &str = "alert";

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
    /// The store could not be opened.
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
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
    /// The running batches (they follow the store).
    pub batches: Batches,
    /// The health registry.
    pub health: HealthRegistry,
    /// The simulator, if it runs.
    pub simulation: Option<Arc<SimNode>>,
    /// The store.
    pub store: Store,
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
            .snapshot()
            .into_iter()
            .map(|(id, accounts, m)| BatchSummary {
                id,
                accounts,
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

/// The batches running now, by `batch_id`, shared with the reconciler.
#[derive(Clone, Debug, Default)]
pub struct Batches {
    inner: Arc<Mutex<BTreeMap<i64, RunningBatch>>>,
}

#[derive(Debug)]
struct RunningBatch {
    pairs: Vec<PairRow>,
    series: BatchMetrics,
    stop: CancellationToken,
    task: JoinHandle<()>,
}

impl Batches {
    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<i64, RunningBatch>> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Each running batch: its id, pair count and series.
    pub fn snapshot(&self) -> Vec<(String, usize, BatchMetrics)> {
        self.lock()
            .iter()
            .map(|(id, b)| (id.to_string(), b.pairs.len(), b.series.clone()))
            .collect()
    }

    /// The running batches' ids.
    pub fn ids(&self) -> Vec<i64> {
        self.lock().keys().copied().collect()
    }

    /// How many batches run.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Whether none runs.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// What starting a batch needs.
struct Ctx {
    store: Store,
    metrics: SolMetrics,
    health: HealthRegistry,
    work: WorkKind,
    templates: watch::Sender<Arc<Vec<Template>>>,
    alerter: Alerter,
    url: String,
    tls: Tls,
    config: AppConfig,
    shutdown: CancellationToken,
}

/// The health component of a batch's connection.
pub fn component_name(batch_id: i64) -> String {
    format!("sol_ws_batch_{batch_id}")
}

impl Ctx {
    fn start_batch(&self, id: i64, pairs: Vec<PairRow>) -> Result<RunningBatch, AppError> {
        let app = &self.config;
        let label = id.to_string();
        let series = BatchMetrics::new(&self.metrics, &label);
        let component = self.health.add_component(
            component_name(id),
            CheckOptions::new().max_silence(secs(app.node.max_silence_secs)),
        )?;
        let stop = self.shutdown.child_token();
        let evaluator = Evaluator::new(
            id,
            pairs.iter().map(|p| (p.pair.clone(), p.time_interval)),
            self.templates.subscribe(),
            self.alerter.clone(),
        );
        let connection = BatchConnection {
            backoff: Backoff::new(&app.backoff, app.simulator.seed ^ hash(&label)),
            batch: Batch {
                id: label,
                accounts: pairs.iter().map(|p| p.pair.clone()).collect(),
            },
            url: self.url.clone(),
            tls: self.tls.clone(),
            kind: app.batches.subscription,
            connect_timeout: secs(app.node.connect_timeout_secs),
            no_data_timeout: secs(app.node.no_data_timeout_secs),
            metrics: series.clone(),
            health: component,
            stop: stop.clone(),
            evaluator,
        };
        let task = self.work.spawn(connection.run());
        Ok(RunningBatch {
            pairs,
            series,
            stop,
            task,
        })
    }

    /// Reads the store and makes the running batches match it: new active
    /// batches start, deactivated, deleted or changed ones stop (their
    /// connection closes, their health component and `batch_id` series
    /// go), changed ones start again. A store that cannot be read changes
    /// nothing.
    async fn reconcile(&self, batches: &Batches) {
        match self.store.load_templates().await {
            Ok(t) => {
                self.templates.send_if_modified(|old| {
                    let changed = **old != t;
                    if changed {
                        *old = Arc::new(t);
                    }
                    changed
                });
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot read the templates; keeping the last ones")
            }
        }
        let loaded = match self.store.load_batches().await {
            Ok(b) => b,
            Err(e) => {
                tracing::warn!(error = %e, "cannot read the batch pool; keeping the running batches");
                return;
            }
        };
        let stopping: Vec<(i64, RunningBatch)> = {
            let mut running = batches.lock();
            let gone: Vec<i64> = running
                .iter()
                .filter(|(id, b)| loaded.get(id) != Some(&b.pairs))
                .map(|(id, _)| *id)
                .collect();
            gone.into_iter()
                .filter_map(|id| running.remove(&id).map(|b| (id, b)))
                .collect()
        };
        for (id, b) in stopping {
            b.stop.cancel();
            if let Err(e) = b.task.await {
                tracing::error!(batch_id = id, error = %e, "batch connection failed");
            }
            self.health.remove(&component_name(id));
            BatchMetrics::remove(&self.metrics, &id.to_string());
            tracing::info!(
                batch_id = id,
                "batch stopped (no longer active in the store)"
            );
        }
        if self.shutdown.is_cancelled() {
            return;
        }
        let mut running = batches.lock();
        for (id, pairs) in loaded {
            if running.contains_key(&id) {
                continue;
            }
            if running.len() >= MAX_BATCHES {
                tracing::warn!(
                    batch_id = id,
                    max = MAX_BATCHES,
                    "too many active batches; batch not started"
                );
                continue;
            }
            let n = pairs.len();
            match self.start_batch(id, pairs) {
                Ok(b) => {
                    tracing::info!(batch_id = id, pairs = n, "batch started");
                    running.insert(id, b);
                }
                Err(e) => tracing::error!(batch_id = id, error = %e, "cannot start batch"),
            }
        }
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

    // The store: opened (created, migrated, seeded with the accounts on
    // first start), its pool's connections exported, a pulled check,
    // closed last but one (after the alert log's last write).
    let store = Store::open(&app.store, &accounts, app.batches.size, &metrics).await?;
    SqlPoolCollector::register(registry)?.add(POOL_NAME, store.pool());
    health.add_check(POOL_NAME, CheckOptions::new(), store.check())?;
    {
        let store = store.clone();
        shutdown.add_closer("store", async move { store.close().await });
    }
    let (alert_log, writer) = AlertLog::start(
        store.clone(),
        WriterSettings {
            batch: app.store.alert_log_batch,
            flush: secs(app.store.alert_log_flush_secs),
            queue: app.store.alert_log_queue,
        },
        &metrics,
    );
    shutdown.add_closer("alert_log", writer.finish());
    let tls = Tls::new(app.tls.ca_file.as_deref())?;
    let alerter = Alerter::new(
        &app.sinks,
        &tls,
        &app.cooldown,
        app.simulator.seed,
        alert_log,
        &metrics,
        shutdown.work_kind(ALERT_WORK_KIND),
    );

    let ctx = Arc::new(Ctx {
        store: store.clone(),
        metrics: metrics.clone(),
        health: health.clone(),
        work: shutdown.work_kind(WORK_KIND),
        templates: watch::channel(Arc::new(Vec::new())).0,
        alerter,
        url: node_url.clone(),
        tls,
        config: app.clone(),
        shutdown: shutdown.child_token(),
    });
    let batches = Batches::default();
    ctx.reconcile(&batches).await;
    {
        // Polls the store: batches added, deactivated or removed while
        // running.
        let (ctx, batches) = (Arc::clone(&ctx), batches.clone());
        let every = secs(app.store.poll_interval_secs);
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    _ = ctx.shutdown.cancelled() => return,
                    _ = tokio::time::sleep(every) => ctx.reconcile(&batches).await,
                }
            }
        });
    }
    {
        let batches = batches.clone();
        shutdown.add_closer("ws_connections", async move {
            // The drain waited for every connection task; this records it.
            let snapshot = batches.snapshot();
            let open: i64 = snapshot.iter().map(|(_, _, m)| m.active.get()).sum();
            tracing::info!(
                batches = snapshot.len(),
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
        store,
    })
}

/// Waits for the shutdown to finish and sums up the batches.
pub async fn finish(running: &Running, shutdown: &Shutdown) -> Summary {
    let report = shutdown.run().await;
    Summary::of(running, report)
}
