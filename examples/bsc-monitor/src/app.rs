//! Wiring: the simulator (by default), the clients, the pipeline, health,
//! the admin endpoints and shutdown.

use std::fmt;
use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use alerting_axum::Server;
use alerting_core::Observability;
use alerting_core::health::{CheckOptions, CheckOutcome, HealthHandle, HealthRegistry, check_fn};
use alerting_core::logging::redact_url;
use alerting_core::shutdown::{Shutdown, ShutdownReport, WorkKind};
use futures_util::StreamExt;
use serde_json::json;
use tokio::sync::Semaphore;
use tokio_tungstenite::tungstenite::Message;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::blacklist::{Blacklist, BlacklistError};
use crate::config::{Config, SIMULATED, secs};
use crate::cooldown::Cooldown;
use crate::degraded::NoDataCache;
use crate::filters::{Layer1, Layer2};
use crate::metrics::{BscMetrics, Event, EventType, Handled, RpcMethod};
use crate::pipeline::{Pipeline, Swap};
use crate::price::PriceClient;
use crate::rpc::{self, RpcClient};
use crate::sim::{SimNode, SimPriceApi};
use crate::sinks::{Sinks, Webhook};
use crate::tls::Tls;

/// The name of the in-flight work kind in the shutdown report.
pub const WORK_KIND: &str = "ws_message";

/// A function given every message's processing time.
pub type ProcessingObserver = Box<dyn Fn(Duration) + Send + Sync>;

/// A hook for benchmarks (`benches/throughput.rs`): when set, it is called
/// with the processing time of every message, the very value observed into
/// `bsc_ws_messages_processing_seconds`, whose buckets only bound it.
/// Process-wide and set at most once; unset (the default), it costs one
/// atomic load per message.
pub static PROCESSING_OBSERVER: OnceLock<ProcessingObserver> = OnceLock::new();

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
    /// The endpoints could not be built.
    #[error(transparent)]
    Server(#[from] alerting_axum::ServerError),
    /// The simulator could not start.
    #[error("cannot start the simulator: {0}")]
    Simulator(std::io::Error),
    /// The TLS client configuration (`tls.ca_file`) could not be built.
    #[error(transparent)]
    Tls(#[from] crate::tls::TlsError),
    /// The blacklist file (`filters.blacklist.file`) could not be read.
    #[error("cannot load the blacklist")]
    Blacklist(#[from] BlacklistError),
    /// The shared cool-down (`cooldown.redis_url`) could not be set up.
    #[error("cannot set up the shared cool-down")]
    Cooldown(#[from] alerting_core::cooldown::RedisStoreError),
}

/// The embedded simulator, when `node.url = "simulated"`.
#[derive(Debug)]
pub struct Simulation {
    /// The node.
    pub node: SimNode,
    /// The price API, when `price_api.url = "simulated"`.
    pub price: Option<SimPriceApi>,
}

/// A running monitor.
#[derive(Debug)]
pub struct Running {
    /// Where `/metrics`, `/health` and `/ready` are.
    pub admin_addr: SocketAddr,
    /// The node's URL.
    pub node_url: String,
    /// The price API's URL.
    pub price_url: String,
    /// The metrics.
    pub metrics: BscMetrics,
    /// The health registry.
    pub health: HealthRegistry,
    /// The simulator, if it runs (shared with the `simulator` closer).
    pub simulation: Option<Arc<Simulation>>,
}

/// What happened to the messages, with the shutdown report.
#[derive(Debug)]
#[non_exhaustive]
pub struct Summary {
    /// Read from the socket.
    pub received: u64,
    /// Processed, alert sent.
    pub ok: u64,
    /// Processed, filtered or cooling down.
    pub filtered: u64,
    /// Failed.
    pub error: u64,
    /// Cut short at the shutdown deadline.
    pub aborted: u64,
    /// The shutdown report.
    pub report: ShutdownReport,
}

impl Summary {
    /// Messages read but counted nowhere: 0 unless something is wrong.
    pub fn unaccounted(&self) -> i64 {
        self.received as i64 - (self.ok + self.filtered + self.error + self.aborted) as i64
    }

    fn of(metrics: &BscMetrics, report: ShutdownReport) -> Self {
        Self {
            received: metrics.bsc_ws_messages_received_total.get(),
            ok: metrics.handled_with(Handled::Ok),
            filtered: metrics.handled_with(Handled::Filtered),
            error: metrics.handled_with(Handled::Error),
            aborted: metrics.handled_with(Handled::Aborted),
            report,
        }
    }
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "messages: received={} ok={} filtered={} error={} aborted={} unaccounted={}",
            self.received,
            self.ok,
            self.filtered,
            self.error,
            self.aborted,
            self.unaccounted()
        )
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
    let metrics: BscMetrics = registry.register_group()?;

    // The simulator (closed last: registered first).
    let simulation = if app.node.url == SIMULATED {
        let node = SimNode::start(app.simulator.clone())
            .await
            .map_err(AppError::Simulator)?;
        let price = if app.price_api.url == SIMULATED {
            Some(
                SimPriceApi::start(app.simulator.clone())
                    .await
                    .map_err(AppError::Simulator)?,
            )
        } else {
            None
        };
        Some(Arc::new(Simulation { node, price }))
    } else {
        None
    };
    if let Some(sim) = &simulation {
        let sim = Arc::clone(sim);
        shutdown.add_closer("simulator", async move {
            sim.node.stop();
            if let Some(p) = &sim.price {
                p.stop();
            }
        });
    }
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
                        if let Err(e) = sim.node.outage(outage).await {
                            tracing::error!(error = %e, "simulated node: cannot come back");
                        }
                    }
                }
            });
        }
    }
    let node_url = match &simulation {
        Some(sim) => sim.node.url(),
        None => app.node.url.clone(),
    };
    let price_url = match simulation.as_ref().and_then(|s| s.price.as_ref()) {
        Some(p) => p.url(),
        None if app.price_api.url == SIMULATED => {
            // A real node with a simulated price API: run the API alone.
            let p = SimPriceApi::start(app.simulator.clone())
                .await
                .map_err(AppError::Simulator)?;
            let url = p.url();
            shutdown.add_closer("simulated_price_api", async move { p.stop() });
            url
        }
        None => app.price_api.url.clone(),
    };

    // Running already: checks added below start at once.
    let health = obs.health().clone();

    let tls = Tls::new(app.tls.ca_file.as_deref())?;
    let http = crate::http::client(&tls);
    let rpc = Arc::new(RpcClient::new(
        node_url.clone(),
        tls.clone(),
        secs(app.node.rpc_timeout_secs),
        app.node.rpc_retries,
        metrics.clone(),
    ));
    {
        let rpc = Arc::clone(&rpc);
        shutdown.add_closer("rpc_client", async move { rpc.close().await });
    }
    let price = PriceClient::new(
        price_url.clone(),
        http.clone(),
        secs(app.price_api.timeout_secs),
        app.price_api.retries,
        metrics.clone(),
    );

    let webhook = if app.sinks.webhook.url.is_empty() {
        None
    } else {
        let handle = health.add_component("webhook_sink", CheckOptions::new().critical(false))?;
        handle.up();
        Some(Webhook {
            url: app.sinks.webhook.url.clone(),
            chat_id: app.sinks.webhook.chat_id.clone(),
            timeout: secs(app.sinks.webhook.timeout_secs),
            client: http.clone(),
            health: handle,
        })
    };
    let sinks = Sinks::new(app.sinks.log.enabled, webhook, metrics.clone());
    {
        let metrics = metrics.clone();
        shutdown.add_closer("alert_sinks", async move {
            // Delivery is inline in each message's task, so the drain has
            // flushed the sinks; this records what they delivered.
            let sent: u64 = metrics.alerts_sent_total.iter().map(|(_, c)| c.get()).sum();
            tracing::info!(alerts = sent, "alert sinks flushed");
        });
    }

    // Shared by the instances through Redis when `cooldown.redis_url` is
    // set: without Redis each instance decides alone, and health says
    // degraded.
    let cooldown = Cooldown::from_config(&app.cooldown, app.simulator.seed, registry)?;
    if let Some(redis) = cooldown.redis() {
        health.add_check("redis", CheckOptions::new().critical(false), redis.check())?;
    }
    // Not critical: a blacklist file that cannot be refreshed leaves the
    // last good list in use.
    let blacklist_health = match &app.filters.blacklist.file {
        Some(_) => Some(health.add_component("blacklist", CheckOptions::new().critical(false))?),
        None => None,
    };
    let blacklist = Blacklist::new(&app.filters.blacklist, metrics.clone(), blacklist_health)?;
    let pipeline = Arc::new(Pipeline::new(
        metrics.clone(),
        Arc::clone(&rpc),
        price.clone(),
        blacklist,
        Layer1::new(app.filters.layer1.clone()),
        Layer2::new(app.filters.layer2.clone()),
        cooldown,
        NoDataCache::new(app.degraded.ttls_secs.iter().map(|s| secs(*s)).collect()),
        app.degraded.alert_amount_only,
        sinks,
    ));

    let ws_health = health.add_component(
        "bsc_ws",
        CheckOptions::new().max_silence(secs(app.node.max_silence_secs)),
    )?;
    {
        let rpc = Arc::clone(&rpc);
        health.add_check(
            "rpc",
            CheckOptions::new(),
            check_fn(move || {
                let rpc = Arc::clone(&rpc);
                async move {
                    match rpc.call_with(RpcMethod::EthBlockNumber, json!([]), 0).await {
                        Ok(_) => CheckOutcome::up(),
                        Err(e) => CheckOutcome::down("the node does not answer").with_error(e),
                    }
                }
            }),
        )?;
    }
    {
        // Not critical: without it, alerts degrade to amount only.
        let price = price.clone();
        health.add_check(
            "price_api",
            CheckOptions::new().critical(false),
            check_fn(move || {
                let price = price.clone();
                async move {
                    match price.ping().await {
                        Ok(()) => CheckOutcome::up(),
                        Err(e) => CheckOutcome::down("the price API does not answer").with_error(e),
                    }
                }
            }),
        )?;
    }

    // In-flight messages: the drain waits for them; at the deadline the
    // `abort_in_flight` closer (registered last, so it runs first) cuts
    // them short and they are counted as aborted.
    let abort = CancellationToken::new();
    let tracker = TaskTracker::new();
    {
        let abort = abort.clone();
        let tracker = tracker.clone();
        shutdown.add_closer("abort_in_flight", async move {
            abort.cancel();
            tracker.close();
            tracker.wait().await;
        });
    }
    let intake = Intake {
        url: node_url.clone(),
        tls,
        timeout: secs(app.node.rpc_timeout_secs),
        backoff: secs(app.node.reconnect_backoff_secs),
        semaphore: Arc::new(Semaphore::new(app.pipeline.concurrency)),
        pipeline,
        metrics: metrics.clone(),
        health: ws_health,
        stop: shutdown.child_token(),
        abort,
        work: shutdown.work_kind(WORK_KIND),
        tracker,
    };
    tokio::spawn(intake.run());

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
        price_url,
        metrics,
        health,
        simulation,
    })
}

/// Waits for the shutdown to finish and sums up the messages.
pub async fn finish(running: &Running, shutdown: &Shutdown) -> Summary {
    let report = shutdown.run().await;
    Summary::of(&running.metrics, report)
}

struct Intake {
    url: String,
    tls: Tls,
    timeout: Duration,
    backoff: Duration,
    semaphore: Arc<Semaphore>,
    pipeline: Arc<Pipeline>,
    metrics: BscMetrics,
    health: HealthHandle,
    stop: CancellationToken,
    abort: CancellationToken,
    work: WorkKind,
    tracker: TaskTracker,
}

impl Intake {
    async fn run(self) {
        let mut backoff = self.backoff;
        while !self.stop.is_cancelled() {
            let connected = tokio::select! {
                _ = self.stop.cancelled() => break,
                c = rpc::subscribe_swaps(&self.url, &self.tls, self.timeout, &self.metrics) => c,
            };
            match connected {
                Ok((ws, subscription)) => {
                    tracing::info!(url = %redact_url(&self.url), %subscription, "subscribed to swap logs");
                    backoff = self.backoff;
                    self.health.up();
                    self.metrics.bsc_ws_connections_active.set(1);
                    let why = self.read(ws).await;
                    self.metrics.bsc_ws_connections_active.set(0);
                    if self.stop.is_cancelled() {
                        break;
                    }
                    tracing::warn!(reason = why, "WebSocket disconnected; reconnecting");
                    self.health.down(format!("disconnected: {why}"));
                }
                Err(e) => {
                    tracing::warn!(error = %e, retry_in = ?backoff, "cannot subscribe");
                    self.health.down(format!("cannot subscribe: {e}"));
                }
            }
            tokio::select! {
                _ = self.stop.cancelled() => break,
                _ = tokio::time::sleep(backoff) => {}
            }
            backoff = (backoff * 2).min(Duration::from_secs(30));
        }
        tracing::info!("intake stopped");
    }

    /// Reads until the socket closes or intake stops; returns why.
    async fn read(&self, mut ws: rpc::WsStream) -> &'static str {
        loop {
            // A free slot first: when every slot is busy the socket is not
            // read, and the node sees TCP back-pressure. Nothing is queued
            // in between, so nothing can be dropped.
            let permit = tokio::select! {
                _ = self.stop.cancelled() => return "intake stopped",
                p = Arc::clone(&self.semaphore).acquire_owned() => match p {
                    Ok(p) => p,
                    Err(_) => return "semaphore closed",
                },
            };
            let msg = tokio::select! {
                _ = self.stop.cancelled() => {
                    let _ = ws.close(None).await;
                    return "intake stopped";
                }
                msg = ws.next() => msg,
            };
            let text = match msg {
                Some(Ok(Message::Text(text))) => text,
                Some(Ok(Message::Close(_))) | None => return "closed by the node",
                Some(Err(_)) => return "read error",
                Some(Ok(_)) => continue,
            };
            self.health.saw_data();
            self.metrics.bsc_ws_messages_received_total.inc();
            self.metrics.bsc_ws_messages_in_flight.inc();
            let guard = self.work.start();
            let accounting = Accounting {
                metrics: self.metrics.clone(),
                event: EventType::Unknown,
                tx: None,
                started: Instant::now(),
                done: false,
            };
            let pipeline = Arc::clone(&self.pipeline);
            let abort = self.abort.clone();
            self.tracker.spawn(async move {
                let _permit = permit;
                let _guard = guard;
                let mut accounting = accounting;
                let handled = match Swap::parse(text.as_str()) {
                    Err(e) => {
                        tracing::debug!(error = %e, "malformed message");
                        Handled::Error
                    }
                    Ok(swap) => {
                        accounting.event = EventType::Swap;
                        let handled = tokio::select! {
                            biased;
                            _ = abort.cancelled() => Handled::Aborted,
                            r = pipeline.process_swap_event(&swap) => match r {
                                Ok(h) => h,
                                Err(e) => {
                                    tracing::debug!(error = %e, tx = %swap.tx, "processing failed");
                                    Handled::Error
                                }
                            },
                        };
                        accounting.tx = Some(swap.tx);
                        handled
                    }
                };
                accounting.finish(handled);
            });
        }
    }
}

/// Counts a message exactly once: under its result, or as aborted if its
/// task ends without one (dropped with the runtime, or panicked).
struct Accounting {
    metrics: BscMetrics,
    event: EventType,
    /// The swap's transaction hash: the processing time's exemplar.
    tx: Option<String>,
    started: Instant,
    done: bool,
}

impl Accounting {
    fn finish(mut self, handled: Handled) {
        self.record(handled);
    }

    fn record(&mut self, handled: Handled) {
        if self.done {
            return;
        }
        self.done = true;
        self.metrics.handled(self.event, handled);
        let elapsed = self.started.elapsed();
        let histogram = self.metrics.bsc_ws_messages_processing_seconds.get(Event {
            event_type: self.event,
        });
        match &self.tx {
            // A slow bucket on the dashboard then names a transaction.
            Some(tx) => {
                if let Err(e) =
                    histogram.observe_with_exemplar(elapsed.as_secs_f64(), &[("tx_hash", tx)])
                {
                    tracing::debug!(error = %e, "no exemplar for this message");
                }
            }
            None => histogram.observe(elapsed.as_secs_f64()),
        }
        if let Some(observe) = PROCESSING_OBSERVER.get() {
            observe(elapsed);
        }
        self.metrics.bsc_ws_messages_in_flight.dec();
    }
}

impl Drop for Accounting {
    fn drop(&mut self) {
        self.record(Handled::Aborted);
    }
}
