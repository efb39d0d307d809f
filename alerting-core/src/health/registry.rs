//! The registry: checks, cached results, background refresh, metrics.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, RwLock, Weak};
use std::time::{Duration, Instant, SystemTime};

use prometheus_client::encoding::{EncodeLabelSet, LabelSetEncoder};
use tokio::runtime::Handle;
use tokio_util::sync::CancellationToken;

use super::check::{BoxedCheck, QuietRepeatPanics, boxed};
use super::report::rfc3339;
use super::{
    CheckOptions, CheckOutcome, CheckReport, Detail, HealthCheck, HealthError, HealthReport, Probe,
    Status,
};
use crate::config::HealthConfig;
use crate::metrics::{
    Buckets, DynamicFamily, FloatGauge, Histogram, LabelSet, MetricKind, MetricOrigin, MetricRef,
    Registry, encode_label,
};
use crate::shutdown::{Shutdown, panic_message};

/// The shortest background interval; a zero interval would spin.
const MIN_INTERVAL: Duration = Duration::from_millis(1);

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The `check` label of the health metrics.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct CheckLabel {
    check: String,
}

impl EncodeLabelSet for CheckLabel {
    fn encode(&self, encoder: &mut LabelSetEncoder<'_>) -> Result<(), fmt::Error> {
        encode_label(encoder, "check", &self.check)
    }
}

impl LabelSet for CheckLabel {
    const NAMES: &'static [&'static str] = &["check"];
}

/// `health_check_status{check}`: 1 up, 0.5 degraded, 0 down.
const STATUS_METRIC: &str = "health_check_status";
/// `health_check_duration_seconds{check}`: each run of a pulled check.
const DURATION_METRIC: &str = "health_check_duration_seconds";

/// References to the families a [`HealthRegistry`] writes, for rules and
/// dashboards.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct HealthMetricRefs {
    /// `health_check_status{check}`: 1 up, 0.5 degraded, 0 down.
    pub status: MetricRef,
    /// `health_check_duration_seconds{check}`: the duration of each run of
    /// a pulled check (latency buckets).
    pub duration: MetricRef,
}

/// The families a [`HealthRegistry`] built on `registry` writes (with the
/// registry's namespace).
///
/// ```
/// use alerting_core::metrics::Registry;
///
/// let registry = Registry::builder().namespace("bsc").build()?;
/// let refs = alerting_core::health::metric_refs(&registry);
/// assert_eq!(refs.status.name(), "bsc_health_check_status");
/// # Ok::<(), alerting_core::metrics::MetricsError>(())
/// ```
pub fn metric_refs(registry: &Registry) -> HealthMetricRefs {
    let labels = || vec![CheckLabel::NAMES[0].to_owned()];
    HealthMetricRefs {
        status: MetricRef::new(
            registry.full_name(STATUS_METRIC),
            MetricKind::Gauge,
            labels(),
            MetricOrigin::Health,
            None,
        ),
        duration: MetricRef::new(
            registry.full_name(DURATION_METRIC),
            MetricKind::Histogram,
            labels(),
            MetricOrigin::Health,
            Some(Buckets::latency().bounds().to_vec()),
        ),
    }
}

#[derive(Clone)]
struct HealthMetrics {
    status: DynamicFamily<CheckLabel, FloatGauge>,
    duration: DynamicFamily<CheckLabel, Histogram>,
}

impl HealthMetrics {
    fn register(registry: &Registry) -> Result<Self, HealthError> {
        Ok(Self {
            status: registry.register(
                STATUS_METRIC,
                "Status of each health check: 1 up, 0.5 degraded, 0 down",
            )?,
            duration: registry.register(
                DURATION_METRIC,
                "Duration of each run of a pulled health check, timeouts included",
            )?,
        })
    }
}

enum Kind {
    Pulled(BoxedCheck),
    Pushed {
        /// Nanoseconds after the registry's epoch, plus one; 0 = never.
        last_data: AtomicU64,
    },
}

#[derive(Default)]
struct State {
    outcome: Option<CheckOutcome>,
    /// When `outcome` was set.
    at: Option<(Instant, SystemTime)>,
    duration: Option<Duration>,
    last_success: Option<SystemTime>,
    /// The status last logged, to log changes only.
    logged: Option<Status>,
}

struct Entry {
    name: String,
    probe: Probe,
    critical: bool,
    timeout: Duration,
    interval: Duration,
    max_silence: Option<Duration>,
    registered: Instant,
    epoch: (Instant, SystemTime),
    kind: Kind,
    state: Mutex<State>,
    gauge: Option<FloatGauge>,
    histogram: Option<Histogram>,
    /// The check's panic message went to the panic hook: later ones do not.
    panic_printed: Arc<AtomicBool>,
    /// Cancelled when the check is removed (a child of the registry's).
    stop: CancellationToken,
}

/// A check's status at one instant, with what is needed to report it.
struct Evaluated {
    /// No result, no report, no data, not silent: nothing to log yet.
    initial: bool,
    status: Status,
    reason: Option<String>,
    error: Option<String>,
    duration: Option<Duration>,
    last_success: Option<SystemTime>,
    checked_at: Option<SystemTime>,
}

impl Entry {
    fn evaluate(&self, now: Instant) -> Evaluated {
        let state = lock(&self.state);
        let mut last_success = state.last_success;
        let mut checked_at = state.at.map(|(_, t)| t);
        let mut initial = state.outcome.is_none();
        let (mut status, mut reason, error) = match &state.outcome {
            Some(o) => (o.status, o.public_reason(), o.error.clone()),
            None => (Status::Down, None, None),
        };
        if let Kind::Pushed { last_data } = &self.kind {
            let data = match last_data.load(Ordering::Relaxed) {
                0 => None,
                n => Some(self.epoch.0 + Duration::from_nanos(n - 1)),
            };
            if let Some(seen) = data {
                initial = false;
                let seen_wall = self.epoch.1 + seen.duration_since(self.epoch.0);
                checked_at = checked_at.max(Some(seen_wall));
                if state.outcome.is_none() {
                    // Data flowing without an explicit report counts as up.
                    status = Status::Up;
                    reason = None;
                }
                if status == Status::Up {
                    last_success = last_success.max(Some(seen_wall));
                }
            } else if state.outcome.is_none() {
                reason = Some("not reported yet".to_owned());
            }
            if let Some(max) = self.max_silence {
                let last = state
                    .at
                    .map(|(i, _)| i)
                    .max(data)
                    .unwrap_or(self.registered);
                let silent = now.saturating_duration_since(last);
                if silent > max {
                    initial = false;
                    status = Status::Down;
                    reason = Some(format!("no data for {} s", silent.as_secs()));
                }
            }
        } else if state.outcome.is_none() {
            reason = Some("not checked yet".to_owned());
        }
        Evaluated {
            initial,
            status,
            reason,
            error,
            duration: state.duration,
            last_success,
            checked_at,
        }
    }

    /// Sets the gauge and logs a change of status.
    fn observe(&self, e: &Evaluated) {
        if let Some(g) = &self.gauge {
            g.set(e.status.gauge_value());
        }
        if e.initial {
            return;
        }
        let changed = {
            let mut state = lock(&self.state);
            let changed = state.logged != Some(e.status);
            state.logged = Some(e.status);
            changed
        };
        if !changed {
            return;
        }
        let reason = e.reason.as_deref();
        let error = e.error.as_deref();
        if e.status == Status::Up {
            tracing::info!(
                target: "alerting_core::health",
                check = %self.name,
                status = %e.status,
                "health check up",
            );
        } else {
            tracing::warn!(
                target: "alerting_core::health",
                check = %self.name,
                status = %e.status,
                reason,
                error,
                "health check not up",
            );
        }
    }

    fn record(&self, outcome: CheckOutcome, duration: Option<Duration>) {
        let now = (Instant::now(), SystemTime::now());
        {
            let mut state = lock(&self.state);
            if outcome.status == Status::Up {
                state.last_success = Some(now.1);
            }
            state.outcome = Some(outcome);
            state.at = Some(now);
            if duration.is_some() {
                state.duration = duration;
            }
        }
        let e = self.evaluate(now.0);
        self.observe(&e);
    }

    fn report(&self, e: Evaluated, detail: Detail) -> CheckReport {
        match detail {
            Detail::Brief => CheckReport {
                status: e.status,
                reason: None,
                probe: None,
                critical: None,
                duration: None,
                last_success: None,
                checked_at: None,
            },
            Detail::Full => CheckReport {
                status: e.status,
                reason: e.reason,
                probe: Some(self.probe),
                critical: Some(self.critical),
                duration: e.duration,
                last_success: e.last_success.map(rfc3339),
                checked_at: e.checked_at.map(rfc3339),
            },
        }
    }
}

/// Aborts a task when dropped: a check whose caller gave up must not run on.
struct AbortOnDrop(tokio::task::AbortHandle);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Runs a pulled check once, in a task of its own, with its timeout.
async fn run_pulled(entry: &Entry, check: &BoxedCheck) -> CheckOutcome {
    let start = Instant::now();
    // Its panic message is printed the first time only (see `HealthCheck`).
    let mut task = tokio::spawn(QuietRepeatPanics::new(check(), &entry.panic_printed));
    let _abort = AbortOnDrop(task.abort_handle());
    let outcome = match tokio::time::timeout(entry.timeout, &mut task).await {
        Ok(Ok(outcome)) => outcome,
        Ok(Err(join)) => CheckOutcome::down("check panicked").with_error(panic_message(join)),
        Err(_) => {
            // `_abort` cancels the hung check.
            CheckOutcome::down(format!("timed out after {} s", entry.timeout.as_secs_f64()))
        }
    };
    let duration = start.elapsed();
    if let Some(h) = &entry.histogram {
        h.observe(duration.as_secs_f64());
    }
    entry.record(outcome.clone(), Some(duration));
    outcome
}

async fn run_entry(entry: &Entry) {
    if let Kind::Pulled(check) = &entry.kind {
        run_pulled(entry, check).await;
    }
}

struct Inner {
    version: Option<String>,
    interval: Duration,
    timeout: Duration,
    shutdown: Option<Shutdown>,
    metrics: Option<HealthMetrics>,
    entries: RwLock<BTreeMap<String, Arc<Entry>>>,
    /// The runtime of the background refresh, once started.
    runtime: Mutex<Option<Handle>>,
    /// Cancelled when the last handle is dropped: stops the background.
    stop: CancellationToken,
    epoch: (Instant, SystemTime),
}

impl Drop for Inner {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

/// Where health checks are registered and reports come from.
///
/// # Sharing
///
/// A cheap handle (an `Arc`): clones share the checks, the cached results
/// and the background refresh. Pass a clone to the HTTP layer and to each
/// component that registers itself.
///
/// # Who runs what, when
///
/// - Nothing runs until [`HealthRegistry::start`]: it spawns, on the
///   current tokio runtime, one task per pulled check that runs it at once
///   and then every interval (checks added later start at registration),
///   and one task that re-evaluates pushed components every interval.
///   Those tasks stop when the last clone of the registry is dropped.
/// - Reports ([`HealthRegistry::report`], [`liveness`](Self::liveness),
///   [`readiness`](Self::readiness)) never run a check: they read the cached
///   results and evaluate pushed components' silence, under short locks,
///   without awaiting. Serve them from endpoints freely.
/// - [`HealthRegistry::check_now`] and [`HealthRegistry::refresh`] run
///   checks now; they are cancel-safe (a check cut short by dropping the
///   future is aborted and its previous result kept) and take at most the
///   longest timeout.
///
/// ```
/// use std::time::Duration;
/// use alerting_core::health::{check_fn, CheckOptions, CheckOutcome, Detail, HealthRegistry, Status};
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), alerting_core::health::HealthError> {
/// let health = HealthRegistry::builder()
///     .interval(Duration::from_secs(10))
///     .timeout(Duration::from_millis(100))
///     .build()?;
///
/// health.add_check("database", CheckOptions::new(), check_fn(|| async { CheckOutcome::up() }))?;
/// health.add_check(
///     "price_api",
///     CheckOptions::new().critical(false),
///     check_fn(|| async {
///         std::future::pending::<()>().await; // hangs
///     }),
/// )?;
///
/// let report = health.refresh().await; // returns at the 100 ms timeout
/// assert_eq!(report.checks["price_api"].status, Status::Down);
/// assert_eq!(report.checks["price_api"].reason.as_deref(), Some("timed out after 0.1 s"));
/// // Not critical: the service is degraded, still ready.
/// assert_eq!(report.status, Status::Degraded);
/// assert!(report.ready);
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct HealthRegistry {
    inner: Arc<Inner>,
}

/// Builds a [`HealthRegistry`]; [`HealthRegistry::builder`].
#[derive(Clone, Debug)]
#[must_use]
pub struct HealthRegistryBuilder {
    version: Option<String>,
    interval: Duration,
    timeout: Duration,
    shutdown: Option<Shutdown>,
    metrics: Option<Registry>,
}

impl Default for HealthRegistryBuilder {
    fn default() -> Self {
        let config = HealthConfig::default();
        Self {
            version: None,
            interval: config.interval,
            timeout: config.timeout,
            shutdown: None,
            metrics: None,
        }
    }
}

impl HealthRegistryBuilder {
    /// Takes the interval and default timeout from configuration.
    pub fn config(mut self, config: &HealthConfig) -> Self {
        self.interval = config.interval;
        self.timeout = config.timeout;
        self
    }

    /// The service version shown in full reports (such as
    /// `env!("CARGO_PKG_VERSION")`).
    pub fn version(mut self, version: impl Into<String>) -> Self {
        self.version = Some(version.into());
        self
    }

    /// How often pulled checks run in the background (default 10 s;
    /// at least 1 ms).
    pub fn interval(mut self, interval: Duration) -> Self {
        self.interval = interval.max(MIN_INTERVAL);
        self
    }

    /// Timeout of a check that does not set its own (default 2 s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Readiness is down as soon as `shutdown` begins.
    pub fn shutdown(mut self, shutdown: &Shutdown) -> Self {
        self.shutdown = Some(shutdown.clone());
        self
    }

    /// Registers `health_check_status` and `health_check_duration_seconds`
    /// in `registry` (see the [module documentation](super)).
    pub fn metrics(mut self, registry: &Registry) -> Self {
        self.metrics = Some(registry.clone());
        self
    }

    /// The registry.
    ///
    /// # Errors
    ///
    /// [`HealthError::Metrics`] if the metrics cannot be registered (their
    /// names are taken in that registry).
    pub fn build(self) -> Result<HealthRegistry, HealthError> {
        let metrics = self
            .metrics
            .as_ref()
            .map(HealthMetrics::register)
            .transpose()?;
        Ok(self.assemble(metrics))
    }

    fn assemble(self, metrics: Option<HealthMetrics>) -> HealthRegistry {
        HealthRegistry {
            inner: Arc::new(Inner {
                version: self.version,
                interval: self.interval,
                timeout: self.timeout,
                shutdown: self.shutdown,
                metrics,
                entries: RwLock::new(BTreeMap::new()),
                runtime: Mutex::new(None),
                stop: CancellationToken::new(),
                epoch: (Instant::now(), SystemTime::now()),
            }),
        }
    }
}

impl Default for HealthRegistry {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for HealthRegistry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<String> = self.entries().iter().map(|e| e.name.clone()).collect();
        f.debug_struct("HealthRegistry")
            .field("checks", &names)
            .field("interval", &self.inner.interval)
            .field("timeout", &self.inner.timeout)
            .finish_non_exhaustive()
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Scope {
    All,
    Liveness,
    Readiness,
}

impl HealthRegistry {
    /// A registry with the defaults (10 s interval, 2 s timeout), no
    /// metrics, not tied to a shutdown.
    pub fn new() -> Self {
        Self::from_builder(HealthRegistryBuilder::default())
    }

    fn from_builder(builder: HealthRegistryBuilder) -> Self {
        builder.assemble(None)
    }

    /// Starts a registry with other settings.
    pub fn builder() -> HealthRegistryBuilder {
        HealthRegistryBuilder::default()
    }

    /// A registry with the interval and timeout from configuration.
    pub fn from_config(config: &HealthConfig) -> Self {
        Self::from_builder(HealthRegistryBuilder::default().config(config))
    }

    fn entries(&self) -> Vec<Arc<Entry>> {
        self.inner
            .entries
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .values()
            .cloned()
            .collect()
    }

    fn insert(
        &self,
        name: String,
        options: CheckOptions,
        kind: Kind,
    ) -> Result<Arc<Entry>, HealthError> {
        if name.trim().is_empty() {
            return Err(HealthError::EmptyName);
        }
        let inner = &self.inner;
        let mut entries = inner
            .entries
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        if entries.contains_key(&name) {
            return Err(HealthError::Duplicate { name });
        }
        let label = CheckLabel {
            check: name.clone(),
        };
        let gauge = inner
            .metrics
            .as_ref()
            .map(|m| m.status.get_or_create(&label));
        let histogram = match kind {
            Kind::Pulled(_) => inner
                .metrics
                .as_ref()
                .map(|m| m.duration.get_or_create(&label)),
            Kind::Pushed { .. } => None,
        };
        let entry = Arc::new(Entry {
            name: name.clone(),
            probe: options.probe,
            critical: !options.non_critical,
            timeout: options.timeout.unwrap_or(inner.timeout),
            interval: options.interval.unwrap_or(inner.interval).max(MIN_INTERVAL),
            max_silence: options.max_silence,
            registered: Instant::now(),
            epoch: inner.epoch,
            kind,
            state: Mutex::new(State::default()),
            gauge,
            histogram,
            panic_printed: Arc::default(),
            stop: inner.stop.child_token(),
        });
        entries.insert(name, Arc::clone(&entry));
        Ok(entry)
    }

    /// Registers a pulled check. If the background refresh is running, the
    /// check runs at once and then every interval.
    ///
    /// # Errors
    ///
    /// [`HealthError::EmptyName`], [`HealthError::Duplicate`].
    pub fn add_check<C: HealthCheck>(
        &self,
        name: impl Into<String>,
        options: CheckOptions,
        check: C,
    ) -> Result<(), HealthError> {
        let entry = self.insert(name.into(), options, Kind::Pulled(boxed(check)))?;
        if let Some(handle) = lock(&self.inner.runtime).clone() {
            spawn_loop(&handle, entry);
        }
        Ok(())
    }

    /// Removes the check or component `name`: a pulled check stops running
    /// (a run under way is cancelled), and its `health_check_status` and
    /// `health_check_duration_seconds` series are no longer exported. The
    /// name is free again. Handles of a removed component still work but
    /// report to nothing. Returns `false` if there was no such check.
    ///
    /// ```
    /// use alerting_core::health::{CheckOptions, HealthRegistry};
    ///
    /// let health = HealthRegistry::new();
    /// health.add_component("ws_batch_7", CheckOptions::new())?.down("closed");
    /// assert!(!health.is_ready());
    /// assert!(health.remove("ws_batch_7")); // the batch was deleted
    /// assert!(health.is_ready());
    /// assert!(!health.has_check("ws_batch_7"));
    /// # Ok::<(), alerting_core::health::HealthError>(())
    /// ```
    pub fn remove(&self, name: &str) -> bool {
        let removed = self
            .inner
            .entries
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(name);
        let Some(entry) = removed else {
            return false;
        };
        entry.stop.cancel();
        if let Some(m) = &self.inner.metrics {
            let label = CheckLabel {
                check: name.to_owned(),
            };
            m.status.remove(&label);
            m.duration.remove(&label);
        }
        true
    }

    /// Registers a pushed component and returns its handle. Until it
    /// reports (or sees data) it is down, "not reported yet".
    ///
    /// # Errors
    ///
    /// [`HealthError::EmptyName`], [`HealthError::Duplicate`].
    pub fn add_component(
        &self,
        name: impl Into<String>,
        options: CheckOptions,
    ) -> Result<HealthHandle, HealthError> {
        let entry = self.insert(
            name.into(),
            options,
            Kind::Pushed {
                last_data: AtomicU64::new(0),
            },
        )?;
        Ok(HealthHandle { entry })
    }

    /// Starts the background refresh on the current tokio runtime (see
    /// [Who runs what, when](HealthRegistry#who-runs-what-when)).
    /// Idempotent.
    ///
    /// # Errors
    ///
    /// [`HealthError::NoRuntime`] outside a tokio runtime.
    pub fn start(&self) -> Result<(), HealthError> {
        let handle = Handle::try_current().map_err(|_| HealthError::NoRuntime)?;
        {
            let mut runtime = lock(&self.inner.runtime);
            if runtime.is_some() {
                return Ok(());
            }
            *runtime = Some(handle.clone());
        }
        for entry in self.entries() {
            if matches!(entry.kind, Kind::Pulled(_)) {
                spawn_loop(&handle, entry);
            }
        }
        let weak = Arc::downgrade(&self.inner);
        handle.spawn(watch_pushed(
            weak,
            self.inner.stop.clone(),
            self.inner.interval,
        ));
        Ok(())
    }

    /// Runs the check `name` now (a pushed component is only re-evaluated)
    /// and returns its full report.
    ///
    /// # Errors
    ///
    /// [`HealthError::UnknownCheck`].
    pub async fn check_now(&self, name: &str) -> Result<CheckReport, HealthError> {
        let entry = self
            .inner
            .entries
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(name)
            .cloned()
            .ok_or_else(|| HealthError::UnknownCheck {
                name: name.to_owned(),
            })?;
        run_entry(&entry).await;
        let e = entry.evaluate(Instant::now());
        entry.observe(&e);
        Ok(entry.report(e, Detail::Full))
    }

    /// Runs every pulled check now, concurrently, and returns the full
    /// report. Takes at most the longest timeout.
    pub async fn refresh(&self) -> HealthReport {
        let mut set = tokio::task::JoinSet::new();
        for entry in self.entries() {
            if matches!(entry.kind, Kind::Pulled(_)) {
                set.spawn(async move { run_entry(&entry).await });
            }
        }
        while set.join_next().await.is_some() {}
        self.report(Detail::Full)
    }

    /// Every check, with the overall status (the worse of liveness and
    /// readiness).
    pub fn report(&self, detail: Detail) -> HealthReport {
        self.build_report(Scope::All, detail)
    }

    /// The checks that count for liveness, with the liveness status: what
    /// `/health` answers.
    pub fn liveness(&self, detail: Detail) -> HealthReport {
        self.build_report(Scope::Liveness, detail)
    }

    /// The checks that count for readiness, with the readiness status: what
    /// `/ready` answers. Down once shutdown has begun.
    pub fn readiness(&self, detail: Detail) -> HealthReport {
        self.build_report(Scope::Readiness, detail)
    }

    /// A view of this registry in which the checks named in `exclude` do
    /// not count, for the Kubernetes `?exclude=<check>` convention: its
    /// reports leave them out and compute every status without them
    /// (unknown names are ignored; [`HealthRegistry::has_check`] tells
    /// them apart).
    ///
    /// ```
    /// use alerting_core::health::{CheckOptions, Detail, HealthRegistry};
    ///
    /// let health = HealthRegistry::new();
    /// health.add_component("db", CheckOptions::new())?.down("refused");
    /// health.add_component("cache", CheckOptions::new())?.up();
    /// assert!(!health.readiness(Detail::Brief).ready);
    /// let without_db = health.excluding(&["db"]);
    /// let report = without_db.readiness(Detail::Brief);
    /// assert!(report.ready);
    /// assert!(!report.checks.contains_key("db"));
    /// # Ok::<(), alerting_core::health::HealthError>(())
    /// ```
    pub fn excluding<'a, S: AsRef<str>>(&'a self, exclude: &'a [S]) -> Excluding<'a, S> {
        Excluding {
            registry: self,
            exclude,
        }
    }

    /// Whether a check named `name` is registered.
    pub fn has_check(&self, name: &str) -> bool {
        self.entries().iter().any(|e| e.name == name)
    }

    /// Whether the liveness probe passes.
    pub fn is_live(&self) -> bool {
        self.liveness(Detail::Brief).live
    }

    /// Whether the readiness probe passes; false once shutdown has begun.
    pub fn is_ready(&self) -> bool {
        if self.shutting_down() {
            return false;
        }
        self.readiness(Detail::Brief).ready
    }

    fn shutting_down(&self) -> bool {
        self.inner
            .shutdown
            .as_ref()
            .is_some_and(Shutdown::is_shutting_down)
    }

    fn build_report(&self, scope: Scope, detail: Detail) -> HealthReport {
        self.build_report_excluding::<&str>(scope, detail, &[])
    }

    fn build_report_excluding<S: AsRef<str>>(
        &self,
        scope: Scope,
        detail: Detail,
        exclude: &[S],
    ) -> HealthReport {
        let now = Instant::now();
        let shutting_down = self.shutting_down();
        let mut live = Status::Up;
        let mut ready = Status::Up;
        let mut checks = BTreeMap::new();
        for entry in self.entries() {
            let e = entry.evaluate(now);
            entry.observe(&e);
            if exclude.iter().any(|x| x.as_ref() == entry.name) {
                continue;
            }
            let effect = if e.status == Status::Down && !entry.critical {
                Status::Degraded
            } else {
                e.status
            };
            if entry.probe.counts_for_liveness() {
                live = live.max(effect);
            }
            if entry.probe.counts_for_readiness() {
                ready = ready.max(effect);
            }
            let included = match scope {
                Scope::All => true,
                Scope::Liveness => entry.probe.counts_for_liveness(),
                Scope::Readiness => entry.probe.counts_for_readiness(),
            };
            if included {
                checks.insert(entry.name.clone(), entry.report(e, detail));
            }
        }
        if shutting_down {
            ready = Status::Down;
        }
        let status = match scope {
            Scope::All => live.max(ready),
            Scope::Liveness => live,
            Scope::Readiness => ready,
        };
        HealthReport {
            status,
            live: live != Status::Down,
            ready: ready != Status::Down,
            shutting_down,
            version: match detail {
                Detail::Full => self.inner.version.clone(),
                Detail::Brief => None,
            },
            checks,
        }
    }
}

/// A [`HealthRegistry`] without some of its checks:
/// [`HealthRegistry::excluding`].
#[derive(Debug)]
pub struct Excluding<'a, S> {
    registry: &'a HealthRegistry,
    exclude: &'a [S],
}

impl<S: AsRef<str>> Excluding<'_, S> {
    /// As [`HealthRegistry::report`], without the excluded checks.
    pub fn report(&self, detail: Detail) -> HealthReport {
        self.registry
            .build_report_excluding(Scope::All, detail, self.exclude)
    }

    /// As [`HealthRegistry::liveness`], without the excluded checks.
    pub fn liveness(&self, detail: Detail) -> HealthReport {
        self.registry
            .build_report_excluding(Scope::Liveness, detail, self.exclude)
    }

    /// As [`HealthRegistry::readiness`], without the excluded checks
    /// (still down once shutdown has begun).
    pub fn readiness(&self, detail: Detail) -> HealthReport {
        self.registry
            .build_report_excluding(Scope::Readiness, detail, self.exclude)
    }
}

fn spawn_loop(handle: &Handle, entry: Arc<Entry>) {
    let stop = entry.stop.clone();
    handle.spawn(async move {
        loop {
            tokio::select! {
                biased;
                _ = stop.cancelled() => return,
                _ = run_entry(&entry) => {}
            }
            tokio::select! {
                biased;
                _ = stop.cancelled() => return,
                _ = tokio::time::sleep(entry.interval) => {}
            }
        }
    });
}

/// Re-evaluates pushed components every interval, so a silent one's gauge
/// drops (and its change is logged) without anyone asking for a report.
async fn watch_pushed(inner: Weak<Inner>, stop: CancellationToken, interval: Duration) {
    loop {
        tokio::select! {
            biased;
            _ = stop.cancelled() => return,
            _ = tokio::time::sleep(interval) => {}
        }
        let Some(inner) = inner.upgrade() else { return };
        let now = Instant::now();
        let entries: Vec<Arc<Entry>> = inner
            .entries
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .values()
            .filter(|e| matches!(e.kind, Kind::Pushed { .. }))
            .cloned()
            .collect();
        drop(inner);
        for entry in entries {
            let e = entry.evaluate(now);
            entry.observe(&e);
        }
    }
}

/// The handle of a pushed component: it reports its own status.
///
/// Clones share the component. Reporting takes a short lock;
/// [`HealthHandle::saw_data`], meant for the hot path (every message), is
/// one clock read and one atomic store.
///
/// ```
/// use std::time::Duration;
/// use alerting_core::health::{CheckOptions, Detail, HealthRegistry, Status};
///
/// let health = HealthRegistry::new();
/// let ws = health.add_component(
///     "ws_batch_7",
///     CheckOptions::new().max_silence(Duration::from_secs(60)),
/// )?;
///
/// ws.up(); // connected
/// ws.saw_data(); // for every message
/// assert_eq!(health.report(Detail::Brief).checks["ws_batch_7"].status, Status::Up);
///
/// ws.down("connection reset by peer"); // dropped
/// assert!(!health.is_ready());
/// # Ok::<(), alerting_core::health::HealthError>(())
/// ```
#[derive(Clone)]
pub struct HealthHandle {
    entry: Arc<Entry>,
}

impl fmt::Debug for HealthHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HealthHandle")
            .field("name", &self.entry.name)
            .finish_non_exhaustive()
    }
}

impl HealthHandle {
    /// The component's name.
    pub fn name(&self) -> &str {
        &self.entry.name
    }

    /// Reports the component up.
    pub fn up(&self) {
        self.set(CheckOutcome::up());
    }

    /// Reports the component degraded.
    pub fn degraded(&self, reason: impl Into<Cow<'static, str>>) {
        self.set(CheckOutcome::degraded(reason));
    }

    /// Reports the component down.
    pub fn down(&self, reason: impl Into<Cow<'static, str>>) {
        self.set(CheckOutcome::down(reason));
    }

    /// Reports an outcome (with a raw error, say).
    pub fn set(&self, outcome: impl Into<CheckOutcome>) {
        self.entry.record(outcome.into(), None);
    }

    /// Notes that data arrived: resets the silence clock. Until the
    /// component reports a status, data arriving counts as up.
    #[inline]
    pub fn saw_data(&self) {
        let nanos = u64::try_from(self.entry.epoch.0.elapsed().as_nanos()).unwrap_or(u64::MAX - 1);
        let Kind::Pushed { last_data } = &self.entry.kind else {
            return;
        };
        last_data.store(nanos + 1, Ordering::Relaxed);
    }
}
