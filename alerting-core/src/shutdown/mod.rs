//! Graceful shutdown: signals, in-flight work, closers, and a report.
//!
//! A [`Shutdown`] coordinator listens for `SIGINT` and `SIGTERM` (Ctrl-C
//! where there are no Unix signals) and can be triggered from code. It hands
//! out:
//!
//! - an **intake token** ([`Shutdown::token`], a tokio-util
//!   [`CancellationToken`], with [child tokens](Shutdown::child_token) for
//!   sub-systems) that tells loops accepting new work to stop;
//! - **in-flight guards** ([`Shutdown::work_kind`] → [`WorkKind::start`] →
//!   [`InFlight`]) that mark work already accepted, by name.
//!
//! When shutdown begins (the first signal, or [`Shutdown::trigger`]), these
//! phases run in order, once, in a task of their own:
//!
//! 1. **readiness down**: [`Shutdown::is_shutting_down`] becomes true, so a
//!    [`HealthRegistry`](crate::health::HealthRegistry) built with this
//!    coordinator reports not-ready and a load balancer stops sending work;
//!    then the readiness delay (default 0) passes;
//! 2. **intake stopped**: the intake token and its children are cancelled;
//! 3. **drain**: wait until every in-flight guard is dropped, up to the
//!    deadline (default 30 s);
//! 4. **closers**: the registered closers (close WebSockets and pools, flush
//!    sinks) run one after another in **reverse order of registration**,
//!    each with its own timeout, whether the one before succeeded, failed,
//!    panicked or hung;
//! 5. **report**: a [`ShutdownReport`] of what drained, what was still
//!    running at the deadline and what of it finished late or was
//!    abandoned (by name and count), each closer's result and each phase's
//!    duration is logged, log guards handed over with
//!    [`Shutdown::add_log_guard`] are flushed, and [`Shutdown::run`]
//!    returns the report.
//!
//! A **second signal** (or [`Shutdown::force`]) ends the readiness delay or
//! the drain wait at once; the work still running is reported as such. The
//! closers still run, each within its timeout, because they are what
//! flushes data; a process that must die at once can still be sent
//! `SIGKILL`.
//!
//! # How long it takes
//!
//! Once shutdown has begun, [`Shutdown::run`] returns within
//! [`Shutdown::max_duration`]:
//!
//! ```text
//! readiness delay + deadline + the sum of the closers' timeouts
//!                 (+ 1.5 s to flush logs, if log guards were handed over)
//! ```
//!
//! Every wait is cut off by a timer; nothing waits for in-flight work after
//! the deadline. The figure holds as long as the tokio runtime is not
//! blocked (a closer that blocks its thread instead of awaiting defers every
//! timer) and is counted from the later of the trigger and the first poll
//! of [`Shutdown::run`] when shutdown was triggered outside a runtime.
//!
//! # Work past the deadline is abandoned
//!
//! Work still running when the drain ends (at the deadline, or when forced)
//! is **abandoned**: it is no longer waited for, and nothing cancels it; it
//! runs on until it finishes or the process exits. The report counts it
//! in [`WorkReport::still_running`] and then splits it into
//! [`finished_late`](WorkReport::finished_late) (its guard was dropped
//! while the closers ran, before the report was written) and
//! [`abandoned`](WorkReport::abandoned) (still running when the report
//! was written). Closers must not wait for abandoned work either: the HTTP
//! server's closer in `alerting-axum` does not.
//!
//! ```
//! use std::time::Duration;
//! use alerting_core::shutdown::Shutdown;
//!
//! # #[tokio::main(flavor = "current_thread")] async fn main() {
//! let shutdown = Shutdown::builder().deadline(Duration::from_secs(5)).build();
//!
//! // An intake loop: stops accepting when told, hands accepted work off.
//! let intake = shutdown.child_token();
//! let events = shutdown.work_kind("swap_event");
//! tokio::spawn(async move {
//!     loop {
//!         tokio::select! {
//!             _ = intake.cancelled() => break,
//!             _ = tokio::time::sleep(Duration::from_millis(5)) => {
//!                 // Accepted: shutdown waits for this before closing.
//!                 events.spawn(async { tokio::time::sleep(Duration::from_millis(20)).await });
//!             }
//!         }
//!     }
//! });
//! shutdown.add_closer("db_pool", async { Ok::<_, std::io::Error>(()) });
//!
//! // Normally SIGTERM does this.
//! shutdown.trigger("demo");
//! let report = shutdown.run().await;
//! assert_eq!(report.still_running(), 0);
//! println!("{report}");
//! # }
//! ```

mod report;
mod signal;
mod tracker;
mod work;

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::config::ShutdownConfig;
#[cfg(feature = "logging")]
use crate::logging::LogGuard;

pub use report::{
    CloserOutcome, CloserReport, DrainOutcome, Phases, ShutdownReport, Trigger, WorkReport,
};
pub use work::{InFlight, WorkKind};

use work::KindState;

/// Why the shutdown coordinator could not do what was asked.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ShutdownError {
    /// [`Shutdown::listen_for_signals`] outside a tokio runtime.
    #[error("cannot listen for signals: not inside a tokio runtime")]
    NoRuntime,
    /// The operating system refused the signal handler.
    #[error("cannot listen for signals")]
    Signal(#[source] std::io::Error),
}

/// What a closer returns: `()` or `Result<(), E>` with a displayable error.
pub trait CloseResult {
    /// `Ok`, or the error as text for the report.
    fn into_close_result(self) -> Result<(), String>;
}

impl CloseResult for () {
    fn into_close_result(self) -> Result<(), String> {
        Ok(())
    }
}

impl<E: fmt::Display> CloseResult for Result<(), E> {
    fn into_close_result(self) -> Result<(), String> {
        self.map_err(|e| e.to_string())
    }
}

type CloseFuture = Pin<Box<dyn Future<Output = Result<(), String>> + Send>>;

struct Closer {
    name: Cow<'static, str>,
    timeout: Duration,
    future: CloseFuture,
}

#[derive(Default)]
struct Closers {
    pending: Vec<Closer>,
    /// The sum of the timeouts of the closers the closers phase runs.
    budget: Duration,
    /// The closers phase has taken the list; later ones run at once.
    taken: bool,
}

/// The state when shutdown began.
struct Triggered {
    trigger: Trigger,
    at: Instant,
    /// Per kind: (in flight, finished) at the trigger.
    work: BTreeMap<String, (u64, u64)>,
}

struct Settings {
    deadline: Duration,
    closer_timeout: Duration,
    readiness_delay: Duration,
    signals: bool,
}

struct Inner {
    settings: Settings,
    begun: CancellationToken,
    intake: CancellationToken,
    force: CancellationToken,
    tracker: tracker::Tracker,
    triggered: Mutex<Option<Triggered>>,
    kinds: Mutex<BTreeMap<Cow<'static, str>, Arc<KindState>>>,
    /// The drain has ended (set with the `kinds` lock held).
    drain_ended: AtomicBool,
    closers: Mutex<Closers>,
    #[cfg(feature = "logging")]
    log_guards: Mutex<Vec<LogGuard>>,
    driver_started: AtomicBool,
    signals_installed: AtomicBool,
    report: watch::Sender<Option<ShutdownReport>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The graceful-shutdown coordinator: see the [module documentation](self)
/// for the phases.
///
/// # Sharing
///
/// A `Shutdown` is a handle: clones share everything (the tokens, the
/// in-flight counters, the closers, the report). Give a clone to each
/// sub-system that needs to take guards or register closers.
///
/// # Who waits, what is cancelled
///
/// - Shutdown begins once: the first of a signal, [`Shutdown::trigger`] or
///   [`Shutdown::force`]. Later triggers are ignored; a later signal forces.
/// - The phases run in a task spawned on the tokio runtime where shutdown
///   began (or where [`Shutdown::run`] is first polled). They are not
///   cancelled when a `run` future is dropped.
/// - [`Shutdown::run`] waits for shutdown to begin and then for the report;
///   any number of clones may await it and all get the same report.
/// - Only the intake token (and its children) is cancelled. Tasks are never
///   aborted: work still running at the deadline is abandoned (see the
///   [module documentation](self#work-past-the-deadline-is-abandoned)):
///   it keeps running until it finishes or the process exits, and the
///   report says by name whether it finished late or was abandoned.
/// - [`Shutdown::run`] returns within [`Shutdown::max_duration`] once
///   shutdown has begun: it waits for no work after the deadline and for
///   no closer after its timeout.
///
/// ```
/// use std::time::Duration;
/// use alerting_core::shutdown::{CloserOutcome, Shutdown};
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let shutdown = Shutdown::builder()
///     .deadline(Duration::from_millis(200))
///     .closer_timeout(Duration::from_millis(100))
///     .build();
///
/// // A unit of work that will not finish in time.
/// let stuck = shutdown.in_flight("stuck_rpc");
///
/// shutdown.add_closer("flush_sink", async { Ok::<_, String>(()) });
/// shutdown.add_closer("ws_pool", async { Err::<(), _>("already closed") });
///
/// shutdown.trigger("test");
/// let report = shutdown.run().await;
/// assert_eq!(report.still_running_by_name().collect::<Vec<_>>(), [("stuck_rpc", 1)]);
/// assert_eq!(report.abandoned_by_name().collect::<Vec<_>>(), [("stuck_rpc", 1)]);
/// // Reverse order of registration:
/// assert_eq!(report.closers[0].name, "ws_pool");
/// assert!(matches!(report.closers[0].outcome, CloserOutcome::Failed { .. }));
/// assert_eq!(report.closers[1].outcome, CloserOutcome::Ok);
/// drop(stuck);
/// # }
/// ```
#[derive(Clone)]
pub struct Shutdown {
    inner: Arc<Inner>,
}

/// Builds a [`Shutdown`]; [`Shutdown::builder`].
#[derive(Clone, Debug)]
#[must_use]
pub struct ShutdownBuilder {
    deadline: Duration,
    closer_timeout: Duration,
    readiness_delay: Duration,
    signals: bool,
}

impl Default for ShutdownBuilder {
    fn default() -> Self {
        let config = ShutdownConfig::default();
        Self {
            deadline: config.deadline,
            closer_timeout: config.closer_timeout,
            readiness_delay: config.readiness_delay,
            signals: true,
        }
    }
}

impl ShutdownBuilder {
    /// Takes the deadline, closer timeout and readiness delay from
    /// configuration.
    pub fn config(mut self, config: &ShutdownConfig) -> Self {
        self.deadline = config.deadline;
        self.closer_timeout = config.closer_timeout;
        self.readiness_delay = config.readiness_delay;
        self
    }

    /// How long the drain may wait for in-flight work (default 30 s).
    pub fn deadline(mut self, deadline: Duration) -> Self {
        self.deadline = deadline;
        self
    }

    /// Default timeout of one closer (default 5 s).
    pub fn closer_timeout(mut self, timeout: Duration) -> Self {
        self.closer_timeout = timeout;
        self
    }

    /// Time between readiness going down and intake being told to stop
    /// (default 0), for load balancers to take the instance out of
    /// rotation before it stops accepting.
    pub fn readiness_delay(mut self, delay: Duration) -> Self {
        self.readiness_delay = delay;
        self
    }

    /// Whether [`Shutdown::run`] installs the `SIGINT`/`SIGTERM` handlers
    /// (default true). Without them, only code triggers shutdown.
    pub fn signals(mut self, listen: bool) -> Self {
        self.signals = listen;
        self
    }

    /// The coordinator. Needs no runtime.
    pub fn build(self) -> Shutdown {
        Shutdown {
            inner: Arc::new(Inner {
                settings: Settings {
                    deadline: self.deadline,
                    closer_timeout: self.closer_timeout,
                    readiness_delay: self.readiness_delay,
                    signals: self.signals,
                },
                begun: CancellationToken::new(),
                intake: CancellationToken::new(),
                force: CancellationToken::new(),
                tracker: tracker::Tracker::default(),
                triggered: Mutex::new(None),
                kinds: Mutex::new(BTreeMap::new()),
                drain_ended: AtomicBool::new(false),
                closers: Mutex::new(Closers::default()),
                #[cfg(feature = "logging")]
                log_guards: Mutex::new(Vec::new()),
                driver_started: AtomicBool::new(false),
                signals_installed: AtomicBool::new(false),
                report: watch::Sender::new(None),
            }),
        }
    }
}

impl Default for Shutdown {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for Shutdown {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Shutdown")
            .field("shutting_down", &self.is_shutting_down())
            .field("in_flight", &self.inner.tracker.len())
            .field("deadline", &self.inner.settings.deadline)
            .finish_non_exhaustive()
    }
}

impl Shutdown {
    /// A coordinator with the defaults: 30 s deadline, 5 s per closer, no
    /// readiness delay, signal handlers installed by [`Shutdown::run`].
    pub fn new() -> Self {
        ShutdownBuilder::default().build()
    }

    /// Starts a coordinator with other settings.
    pub fn builder() -> ShutdownBuilder {
        ShutdownBuilder::default()
    }

    /// A coordinator with the deadlines from configuration.
    pub fn from_config(config: &ShutdownConfig) -> Self {
        Self::builder().config(config).build()
    }

    /// The intake token: cancelled when intake must stop (phase 2). Clones
    /// of the token are the same token; use [`Shutdown::child_token`] for a
    /// sub-system that may also be stopped on its own.
    pub fn token(&self) -> CancellationToken {
        self.inner.intake.clone()
    }

    /// A child of the intake token: cancelled with it, or on its own
    /// without affecting the intake token.
    pub fn child_token(&self) -> CancellationToken {
        self.inner.intake.child_token()
    }

    /// Whether shutdown has begun (readiness is down). Cheap: one atomic
    /// load.
    pub fn is_shutting_down(&self) -> bool {
        self.inner.begun.is_cancelled()
    }

    /// Waits until shutdown begins. Cancel-safe.
    pub async fn triggered(&self) {
        self.inner.begun.cancelled().await;
    }

    /// The [`WorkKind`] named `name`, created on first use. Keep the handle:
    /// starting work through it takes no lock.
    pub fn work_kind(&self, name: impl Into<Cow<'static, str>>) -> WorkKind {
        let name = name.into();
        let state = {
            let mut kinds = lock(&self.inner.kinds);
            let ended = self.inner.drain_ended.load(Ordering::Acquire);
            Arc::clone(
                kinds
                    .entry(name.clone())
                    .or_insert_with(|| Arc::new(KindState::new(name, ended))),
            )
        };
        WorkKind::new(state, self.inner.tracker.clone())
    }

    /// One unit of work of kind `name` (see [`WorkKind::start`]). Looks the
    /// kind up by name each time; on a hot path keep a [`WorkKind`].
    pub fn in_flight(&self, name: impl Into<Cow<'static, str>>) -> InFlight {
        self.work_kind(name).start()
    }

    /// Spawns `future` as one unit of work of kind `name` (see
    /// [`WorkKind::spawn`]).
    ///
    /// # Panics
    ///
    /// Like [`tokio::spawn`], when called outside a tokio runtime.
    pub fn spawn<F>(&self, name: impl Into<Cow<'static, str>>, future: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.work_kind(name).spawn(future)
    }

    /// Registers a closer with the default timeout. Closers run after the
    /// drain, in reverse order of registration (the last registered runs
    /// first, as resources are released in reverse order of acquisition).
    ///
    /// `closer` is not polled until then. It returns `()` or
    /// `Result<(), E>` with `E: Display`; it is cancelled (dropped) at its
    /// timeout, and a panic in it is reported, not propagated. Its timeout
    /// adds to [`Shutdown::max_duration`]. It runs after the drain ended:
    /// it must not wait for work still running then (abandoned work), or
    /// it only times out. It must await rather than block its thread, or
    /// no timeout can fire on a single-threaded runtime.
    ///
    /// A closer registered once the closers have started runs at once, in
    /// the background: nothing waits for it, and it is not in the report.
    pub fn add_closer<F>(&self, name: impl Into<Cow<'static, str>>, closer: F)
    where
        F: Future + Send + 'static,
        F::Output: CloseResult,
    {
        self.add_closer_with_timeout(name, self.inner.settings.closer_timeout, closer);
    }

    /// Registers a closer with its own timeout (see [`Shutdown::add_closer`]).
    pub fn add_closer_with_timeout<F>(
        &self,
        name: impl Into<Cow<'static, str>>,
        timeout: Duration,
        closer: F,
    ) where
        F: Future + Send + 'static,
        F::Output: CloseResult,
    {
        let closer = Closer {
            name: name.into(),
            timeout,
            future: Box::pin(async move { closer.await.into_close_result() }),
        };
        let late = {
            let mut closers = lock(&self.inner.closers);
            if closers.taken {
                Some(closer)
            } else {
                closers.budget = closers.budget.saturating_add(closer.timeout);
                closers.pending.push(closer);
                None
            }
        };
        if let Some(closer) = late {
            if let Ok(handle) = tokio::runtime::Handle::try_current() {
                // `run_closer` logs how it ended.
                handle.spawn(run_closer(closer));
            } else {
                tracing::warn!(
                    target: "alerting_core::shutdown",
                    closer = %closer.name,
                    "closer registered during shutdown outside a runtime was dropped",
                );
            }
        }
    }

    /// Hands a log guard over: it is flushed as the very last step, after
    /// the report has been logged and before [`Shutdown::run`] returns.
    /// Logs written after that are lost; to log after `run`, keep the guard
    /// in `main` instead and drop it at the end.
    ///
    /// `run` waits at most 1.5 s for the flush (included in
    /// [`Shutdown::max_duration`]); a flush still going on then finishes
    /// on a blocking thread, which the runtime waits for when it is dropped.
    #[cfg(feature = "logging")]
    pub fn add_log_guard(&self, guard: LogGuard) {
        if self.inner.report.borrow().is_some() {
            drop(guard);
        } else {
            lock(&self.inner.log_guards).push(guard);
        }
    }

    /// Begins shutdown, as a signal would, with `reason` in the report.
    /// Returns whether this call began it (false if it had begun already;
    /// the call is then ignored). Does not wait: await [`Shutdown::run`]
    /// for the report.
    pub fn trigger(&self, reason: impl Into<Cow<'static, str>>) -> bool {
        begin(&self.inner, Trigger::Requested(reason.into()))
    }

    /// Ends the readiness delay or the drain wait at once, as a second
    /// signal does, beginning shutdown first if needed.
    pub fn force(&self) {
        begin(&self.inner, Trigger::Requested("forced".into()));
        self.inner.force.cancel();
    }

    /// Installs the `SIGINT` and `SIGTERM` handlers (Ctrl-C elsewhere): the
    /// first signal begins shutdown, any later one forces it. [`Shutdown::run`]
    /// calls this (unless the builder said `signals(false)`); call it
    /// earlier if signals may come before `run` is awaited. Idempotent.
    ///
    /// Once installed, the handlers replace the default action (exit) for
    /// the rest of the process: make sure something awaits `run`.
    ///
    /// # Errors
    ///
    /// [`ShutdownError::NoRuntime`] outside a tokio runtime,
    /// [`ShutdownError::Signal`] if the handler cannot be installed.
    ///
    /// # Panics
    ///
    /// If the tokio runtime was built without I/O (tokio's own
    /// requirement for signals; `#[tokio::main]` enables it).
    pub fn listen_for_signals(&self) -> Result<(), ShutdownError> {
        if self.inner.signals_installed.load(Ordering::Acquire) {
            return Ok(());
        }
        let handle = tokio::runtime::Handle::try_current().map_err(|_| ShutdownError::NoRuntime)?;
        let _enter = handle.enter();
        let signals = signal::Signals::new().map_err(ShutdownError::Signal)?;
        if self.inner.signals_installed.swap(true, Ordering::AcqRel) {
            return Ok(());
        }
        let weak = Arc::downgrade(&self.inner);
        handle.spawn(signals.forward(weak));
        Ok(())
    }

    /// Waits for shutdown to begin, then for the phases to finish, and
    /// returns the report. Installs the signal handlers first (unless
    /// disabled).
    ///
    /// Cancel-safe: dropping the future does not stop a shutdown in
    /// progress, and awaiting `run` again (on any clone) returns the same
    /// report. Must be polled inside a tokio runtime.
    pub async fn run(&self) -> ShutdownReport {
        if self.inner.settings.signals
            && let Err(e) = self.listen_for_signals()
        {
            tracing::warn!(
                target: "alerting_core::shutdown",
                error = %e,
                "signal handlers not installed; only code can trigger shutdown",
            );
        }
        self.inner.begun.cancelled().await;
        start_driver(&self.inner);
        let mut rx = self.inner.report.subscribe();
        if let Ok(report) = rx.wait_for(Option::is_some).await
            && let Some(report) = report.as_ref()
        {
            return report.clone();
        }
        // The sender lives in `inner`, which we hold: the wait cannot fail.
        std::future::pending().await
    }

    /// The report, once shutdown has finished.
    pub fn report(&self) -> Option<ShutdownReport> {
        self.inner.report.borrow().clone()
    }

    /// The longest [`Shutdown::run`] takes once shutdown has begun, with the
    /// closers and log guards registered so far:
    ///
    /// ```text
    /// readiness delay + deadline + the sum of the closers' timeouts
    ///                 (+ 1.5 s to flush logs, if log guards were handed over)
    /// ```
    ///
    /// Each phase is cut off by its own timer: the readiness delay and the
    /// drain end at their time (or earlier), each closer is cancelled at its
    /// timeout, the wait for the log flush at 1.5 s. Work still running at
    /// the deadline is abandoned, not waited for. Closers registered after
    /// the closers phase began run in the background and do not count.
    ///
    /// The figure assumes the tokio runtime is not blocked (no closer or
    /// task blocking its thread) and counts from the later of the trigger
    /// and the first poll of [`Shutdown::run`] (shutdown triggered outside
    /// a runtime starts when `run` is first polled). Saturates at
    /// [`Duration::MAX`].
    ///
    /// ```
    /// use std::time::Duration;
    /// use alerting_core::shutdown::Shutdown;
    ///
    /// let shutdown = Shutdown::builder()
    ///     .readiness_delay(Duration::from_secs(2))
    ///     .deadline(Duration::from_secs(10))
    ///     .closer_timeout(Duration::from_secs(3))
    ///     .build();
    /// shutdown.add_closer("db_pool", async {});
    /// shutdown.add_closer_with_timeout("sink", Duration::from_secs(1), async {});
    /// assert_eq!(shutdown.max_duration(), Duration::from_secs(2 + 10 + 3 + 1));
    /// ```
    pub fn max_duration(&self) -> Duration {
        let settings = &self.inner.settings;
        let closers = lock(&self.inner.closers).budget;
        #[cfg(feature = "logging")]
        let logs = if lock(&self.inner.log_guards).is_empty() {
            Duration::ZERO
        } else {
            LOG_FLUSH_BUDGET
        };
        #[cfg(not(feature = "logging"))]
        let logs = Duration::ZERO;
        settings
            .readiness_delay
            .saturating_add(settings.deadline)
            .saturating_add(closers)
            .saturating_add(logs)
    }
}

/// How long [`Shutdown::run`] waits for the log guards to flush:
/// tracing-appender's own bound (0.1 s to signal its worker, 1 s for the
/// worker to finish) with a margin.
#[cfg(feature = "logging")]
const LOG_FLUSH_BUDGET: Duration = Duration::from_millis(1500);

/// Begins shutdown with `trigger`; false if it had begun.
fn begin(inner: &Arc<Inner>, trigger: Trigger) -> bool {
    {
        let mut slot = lock(&inner.triggered);
        if slot.is_some() {
            return false;
        }
        let work = lock(&inner.kinds)
            .iter()
            .map(|(name, k)| (name.to_string(), (k.active(), k.finished())))
            .collect();
        *slot = Some(Triggered {
            trigger: trigger.clone(),
            at: Instant::now(),
            work,
        });
    }
    inner.begun.cancel();
    tracing::info!(
        target: "alerting_core::shutdown",
        %trigger,
        in_flight = inner.tracker.len(),
        "shutdown began: readiness down",
    );
    if tokio::runtime::Handle::try_current().is_ok() {
        start_driver(inner);
    }
    true
}

/// Spawns the phases, once.
fn start_driver(inner: &Arc<Inner>) {
    if inner.driver_started.swap(true, Ordering::AcqRel) {
        return;
    }
    let inner = Arc::clone(inner);
    tokio::spawn(async move {
        let report = drive(&inner).await;
        log_report(&report);
        #[cfg(feature = "logging")]
        {
            let guards = std::mem::take(&mut *lock(&inner.log_guards));
            if !guards.is_empty() {
                // Dropping a guard blocks while the writer drains: not on a
                // runtime thread, and not for longer than the budget (the
                // flush then goes on in the background).
                let flush = tokio::task::spawn_blocking(move || drop(guards));
                let _ = tokio::time::timeout(LOG_FLUSH_BUDGET, flush).await;
            }
        }
        inner.report.send_replace(Some(report));
    });
}

async fn drive(inner: &Inner) -> ShutdownReport {
    let (trigger, at, at_trigger) = {
        let slot = lock(&inner.triggered);
        match slot.as_ref() {
            Some(t) => (t.trigger.clone(), t.at, t.work.clone()),
            None => (
                Trigger::Requested("unknown".into()),
                Instant::now(),
                BTreeMap::new(),
            ),
        }
    };
    let settings = &inner.settings;

    // 1. Readiness is down since the trigger; give load balancers time.
    let phase = Instant::now();
    if !settings.readiness_delay.is_zero() {
        tokio::select! {
            _ = tokio::time::sleep(settings.readiness_delay) => {}
            _ = inner.force.cancelled() => {}
        }
    }
    let readiness = phase.elapsed() + phase.saturating_duration_since(at);

    // 2. Stop intake.
    let phase = Instant::now();
    inner.intake.cancel();
    let stop_intake = phase.elapsed();

    // 3. Drain.
    let phase = Instant::now();
    inner.tracker.close();
    let drain_outcome = tokio::select! {
        biased;
        _ = inner.tracker.wait() => DrainOutcome::Drained,
        _ = inner.force.cancelled() => DrainOutcome::Forced,
        _ = tokio::time::sleep(settings.deadline) => DrainOutcome::DeadlineReached,
    };
    let drain = phase.elapsed();
    // From here on, no work is waited for: what still runs is abandoned.
    let ended: Vec<(Arc<KindState>, WorkReport)> = {
        let kinds = lock(&inner.kinds);
        inner.drain_ended.store(true, Ordering::Release);
        kinds
            .iter()
            .map(|(name, k)| {
                let (active0, finished0) = at_trigger.get(name.as_ref()).copied().unwrap_or((0, 0));
                let still_running = k.end_drain();
                // `finished` counts the units that finished late too; read
                // it first, so that every late one in it is in `late`.
                let finished = k.finished();
                let late = k.finished_late();
                let report = WorkReport {
                    name: name.to_string(),
                    in_flight_at_trigger: active0,
                    drained: finished.saturating_sub(finished0).saturating_sub(late),
                    still_running,
                    finished_late: 0,
                    abandoned: still_running,
                };
                (Arc::clone(k), report)
            })
            .collect()
    };
    for (_, w) in ended.iter().filter(|(_, w)| w.still_running > 0) {
        tracing::warn!(
            target: "alerting_core::shutdown",
            work = %w.name,
            still_running = w.still_running,
            outcome = %drain_outcome,
            "work still running when the drain ended: no longer waited for",
        );
    }

    // 4. Closers, last registered first.
    let phase = Instant::now();
    let pending = {
        let mut closers = lock(&inner.closers);
        closers.taken = true;
        std::mem::take(&mut closers.pending)
    };
    let mut closers = Vec::with_capacity(pending.len());
    for closer in pending.into_iter().rev() {
        closers.push(run_closer(closer).await);
    }
    let closers_phase = phase.elapsed();

    // What was still running at the end of the drain: finished since, or
    // abandoned to the process exit.
    let work: Vec<WorkReport> = ended
        .into_iter()
        .map(|(kind, mut w)| {
            w.finished_late = kind.finished_late().min(w.still_running);
            w.abandoned = w.still_running - w.finished_late;
            if w.abandoned > 0 {
                tracing::warn!(
                    target: "alerting_core::shutdown",
                    work = %w.name,
                    abandoned = w.abandoned,
                    finished_late = w.finished_late,
                    "work abandoned: left running until the process exits",
                );
            }
            w
        })
        .collect();

    ShutdownReport {
        trigger,
        drain: drain_outcome,
        forced: inner.force.is_cancelled(),
        deadline: settings.deadline,
        work,
        closers,
        phases: Phases {
            readiness,
            stop_intake,
            drain,
            closers: closers_phase,
            total: at.elapsed(),
        },
    }
}

/// Runs one closer in a task of its own, so a panic is caught and a hang is
/// cut off at its timeout.
async fn run_closer(closer: Closer) -> CloserReport {
    let start = Instant::now();
    let mut task = tokio::spawn(closer.future);
    let outcome = match tokio::time::timeout(closer.timeout, &mut task).await {
        Ok(Ok(Ok(()))) => CloserOutcome::Ok,
        Ok(Ok(Err(error))) => CloserOutcome::Failed { error },
        Ok(Err(join)) => CloserOutcome::Panicked {
            message: panic_message(join),
        },
        Err(_) => {
            task.abort();
            CloserOutcome::TimedOut
        }
    };
    let report = CloserReport {
        name: closer.name.into_owned(),
        outcome,
        duration: start.elapsed(),
        timeout: closer.timeout,
    };
    let duration_secs = report.duration.as_secs_f64();
    match &report.outcome {
        CloserOutcome::Ok => tracing::info!(
            target: "alerting_core::shutdown",
            closer = %report.name,
            duration_secs,
            "closer finished",
        ),
        CloserOutcome::Failed { error } => tracing::warn!(
            target: "alerting_core::shutdown",
            closer = %report.name,
            duration_secs,
            error = %error,
            "closer failed",
        ),
        CloserOutcome::TimedOut => tracing::warn!(
            target: "alerting_core::shutdown",
            closer = %report.name,
            duration_secs,
            "closer timed out",
        ),
        CloserOutcome::Panicked { message } => tracing::warn!(
            target: "alerting_core::shutdown",
            closer = %report.name,
            duration_secs,
            panic = %message,
            "closer panicked",
        ),
    }
    report
}

/// The message of a panic caught by a join handle.
pub(crate) fn panic_message(join: tokio::task::JoinError) -> String {
    if join.is_cancelled() {
        return "cancelled".to_owned();
    }
    let payload = join.into_panic();
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "panicked".to_owned()
    }
}

fn log_report(report: &ShutdownReport) {
    let failed_closers = report.closers.iter().filter(|c| !c.outcome.is_ok()).count();
    tracing::info!(
        target: "alerting_core::shutdown",
        trigger = %report.trigger,
        drain = %report.drain,
        forced = report.forced,
        in_flight_at_trigger = report.in_flight_at_trigger(),
        drained = report.drained(),
        still_running = report.still_running(),
        finished_late = report.finished_late(),
        abandoned = report.abandoned(),
        closers = report.closers.len(),
        failed_closers,
        drain_secs = report.phases.drain.as_secs_f64(),
        closers_secs = report.phases.closers.as_secs_f64(),
        total_secs = report.phases.total.as_secs_f64(),
        "shutdown finished",
    );
}
