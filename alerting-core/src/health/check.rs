//! What a check is, what it returns, and how it is registered.

use std::borrow::Cow;
use std::cell::Cell;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Once};
use std::task::{Context, Poll};
use std::time::Duration;

use super::{Probe, Status};

/// A pulled health check: something the registry runs to learn whether a
/// dependency works (ping a database, a Redis, an RPC endpoint).
///
/// The registry runs it in a task of its own with a timeout, in the
/// background every interval and on demand; a check that hangs is cancelled
/// at its timeout and reported down, and one that panics is reported down.
/// A check must not block its thread (use `spawn_blocking` inside it for
/// blocking clients), or the timeout cannot fire on a single-threaded
/// runtime.
///
/// # Panics print once
///
/// A check that panics is reported down, "check panicked", on every run
/// (its metrics too), but its panic message (which may hold secrets) goes
/// to the panic hook only the **first** time that check panics: later
/// panics of the same check are silent. To do this the registry wraps the
/// panic hook in place when it first runs a check, once per process: the
/// wrapper skips the hook for a panic raised while a check that already
/// panicked is being polled on the current thread (a thread-local flag set
/// around each poll of the check's future), and calls the hook it wrapped
/// for every other panic, so a hook installed before is kept for panics
/// elsewhere. A hook installed *after* the registry first ran a check
/// replaces the wrapper: check panics then reach that hook every time
/// (unless it calls the hook it replaced, as `take_hook` chaining does). A
/// panic in code the check spawns onto other tasks or threads is not the
/// check's, and is never silenced.
///
/// Implement it with an `async fn`, or wrap a closure with [`check_fn`]:
///
/// ```
/// use alerting_core::health::{CheckOutcome, HealthCheck};
///
/// struct Redis { /* client */ }
///
/// impl HealthCheck for Redis {
///     async fn check(&self) -> CheckOutcome {
///         let ping: Result<(), std::io::Error> = Ok(()); // self.client.ping().await
///         match ping {
///             Ok(()) => CheckOutcome::up(),
///             Err(e) => CheckOutcome::down("ping failed").with_error(e),
///         }
///     }
/// }
/// ```
pub trait HealthCheck: Send + Sync + 'static {
    /// Runs the check once.
    fn check(&self) -> impl Future<Output = CheckOutcome> + Send;
}

/// A [`HealthCheck`] from a closure returning a future; see [`check_fn`].
#[derive(Clone)]
pub struct CheckFn<F>(F);

impl<F> fmt::Debug for CheckFn<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("CheckFn")
    }
}

/// Makes a [`HealthCheck`] of a closure. The future may return a
/// [`CheckOutcome`], a [`Status`], `()`, or a `Result<(), E>` with a
/// displayable error (an `Err` is down, with the error kept private: see
/// [`CheckOutcome`]).
///
/// ```
/// use alerting_core::health::{check_fn, CheckOptions, HealthRegistry};
///
/// let registry = HealthRegistry::new();
/// registry.add_check(
///     "database",
///     CheckOptions::new(),
///     check_fn(|| async {
///         // pool.execute("SELECT 1").await.map(|_| ())
///         Ok::<(), std::io::Error>(())
///     }),
/// )?;
/// # Ok::<(), alerting_core::health::HealthError>(())
/// ```
pub fn check_fn<F, Fut, O>(f: F) -> CheckFn<F>
where
    F: Fn() -> Fut + Send + Sync + 'static,
    Fut: Future<Output = O> + Send + 'static,
    O: Into<CheckOutcome>,
{
    CheckFn(f)
}

impl<F, Fut, O> HealthCheck for CheckFn<F>
where
    F: Fn() -> Fut + Send + Sync + 'static,
    Fut: Future<Output = O> + Send + 'static,
    O: Into<CheckOutcome>,
{
    fn check(&self) -> impl Future<Output = CheckOutcome> + Send {
        let fut = (self.0)();
        async move { fut.await.into() }
    }
}

thread_local! {
    /// The check being polled on this thread, if any: the flag "its panic
    /// message was printed already", set while its future is polled.
    static POLLING_CHECK: Cell<Option<Arc<AtomicBool>>> = const { Cell::new(None) };
}

/// Wraps the panic hook, once per process (see [`HealthCheck`], "Panics
/// print once").
fn wrap_panic_hook() {
    static WRAPPED: Once = Once::new();
    WRAPPED.call_once(|| {
        let hook = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let printed_before = POLLING_CHECK
                .try_with(|polling| {
                    let check = polling.take();
                    let printed = check
                        .as_ref()
                        .map(|printed| printed.swap(true, Ordering::AcqRel));
                    polling.set(check);
                    printed
                })
                .ok()
                .flatten();
            if printed_before != Some(true) {
                hook(info);
            }
        }));
    });
}

/// A check's future, polled with [`POLLING_CHECK`] set to its flag, so
/// that the panic hook prints its panic message once.
pub(crate) struct QuietRepeatPanics {
    future: CheckFuture,
    printed: Arc<AtomicBool>,
}

impl QuietRepeatPanics {
    /// `future`, whose panics are silent once `printed` is set (the first
    /// panic sets it). Wraps the panic hook if it was not already.
    pub(crate) fn new(future: CheckFuture, printed: &Arc<AtomicBool>) -> Self {
        wrap_panic_hook();
        Self {
            future,
            printed: Arc::clone(printed),
        }
    }
}

/// Restores the previous [`POLLING_CHECK`], also when the poll unwinds.
struct Polling(Option<Arc<AtomicBool>>);

impl Drop for Polling {
    fn drop(&mut self) {
        let previous = self.0.take();
        let _ = POLLING_CHECK.try_with(|polling| polling.set(previous));
    }
}

impl Future for QuietRepeatPanics {
    type Output = CheckOutcome;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<CheckOutcome> {
        let this = self.get_mut();
        let _polling = Polling(
            POLLING_CHECK
                .try_with(|polling| polling.replace(Some(Arc::clone(&this.printed))))
                .ok()
                .flatten(),
        );
        this.future.as_mut().poll(cx)
    }
}

/// A check made object-safe and `'static` for spawning.
pub(crate) type BoxedCheck = Arc<dyn Fn() -> CheckFuture + Send + Sync>;
pub(crate) type CheckFuture = Pin<Box<dyn Future<Output = CheckOutcome> + Send>>;

pub(crate) fn boxed<C: HealthCheck>(check: C) -> BoxedCheck {
    let check = Arc::new(check);
    Arc::new(move || {
        let check = Arc::clone(&check);
        Box::pin(async move { check.check().await })
    })
}

/// The result of one run of a check, or a status pushed by a component.
///
/// It has a status, a **reason** (short, written by the check's author,
/// safe to show anyone: "ping failed") and optionally the raw **error**
/// (`connection refused (postgres://user:secret@db)`), which may contain
/// hosts, user names or worse. The raw error is logged when the status
/// changes and never appears in a report unless the check calls
/// [`CheckOutcome::show_error`].
///
/// ```
/// use alerting_core::health::{CheckOutcome, Status};
///
/// let ok = CheckOutcome::up();
/// assert_eq!(ok.status(), Status::Up);
///
/// let lagging = CheckOutcome::degraded("replica lag 12 s");
/// assert_eq!(lagging.reason(), Some("replica lag 12 s"));
///
/// let failed: CheckOutcome = Err::<(), _>("password authentication failed for user bsc").into();
/// assert_eq!(failed.status(), Status::Down);
/// assert_eq!(failed.reason(), Some("check failed")); // the raw error stays private
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CheckOutcome {
    pub(crate) status: Status,
    pub(crate) reason: Option<Cow<'static, str>>,
    pub(crate) error: Option<String>,
    pub(crate) error_is_public: bool,
}

impl CheckOutcome {
    fn new(status: Status, reason: Option<Cow<'static, str>>) -> Self {
        Self {
            status,
            reason,
            error: None,
            error_is_public: false,
        }
    }

    /// Working.
    pub fn up() -> Self {
        Self::new(Status::Up, None)
    }

    /// Working, but not well (slow, lagging, a fallback in use).
    pub fn degraded(reason: impl Into<Cow<'static, str>>) -> Self {
        Self::new(Status::Degraded, Some(reason.into()))
    }

    /// Not working.
    pub fn down(reason: impl Into<Cow<'static, str>>) -> Self {
        Self::new(Status::Down, Some(reason.into()))
    }

    /// Attaches the raw error: logged, kept out of reports unless
    /// [`CheckOutcome::show_error`] is called.
    #[must_use]
    pub fn with_error(mut self, error: impl fmt::Display) -> Self {
        self.error = Some(error.to_string());
        self
    }

    /// Marks the raw error as safe to show in detailed reports.
    #[must_use]
    pub fn show_error(mut self) -> Self {
        self.error_is_public = true;
        self
    }

    /// The status.
    pub fn status(&self) -> Status {
        self.status
    }

    /// The reason, if any.
    pub fn reason(&self) -> Option<&str> {
        self.reason.as_deref()
    }

    /// The raw error, if any (whether or not it is shown).
    pub fn error(&self) -> Option<&str> {
        self.error.as_deref()
    }

    /// The reason as a report shows it: the reason, then the error if it
    /// is public.
    pub(crate) fn public_reason(&self) -> Option<String> {
        let error = self.error.as_deref().filter(|_| self.error_is_public);
        match (self.reason.as_deref(), error) {
            (Some(r), Some(e)) => Some(format!("{r}: {e}")),
            (Some(r), None) => Some(r.to_owned()),
            (None, Some(e)) => Some(e.to_owned()),
            (None, None) if self.status != Status::Up => Some("check failed".to_owned()),
            (None, None) => None,
        }
    }
}

impl From<Status> for CheckOutcome {
    fn from(status: Status) -> Self {
        Self::new(status, None)
    }
}

impl From<()> for CheckOutcome {
    fn from((): ()) -> Self {
        Self::up()
    }
}

impl<E: fmt::Display> From<Result<(), E>> for CheckOutcome {
    fn from(result: Result<(), E>) -> Self {
        match result {
            Ok(()) => Self::up(),
            Err(e) => Self::down("check failed").with_error(e),
        }
    }
}

/// How a check counts and how it runs. The defaults: readiness, critical,
/// the registry's timeout and interval, no maximum silence.
///
/// ```
/// use std::time::Duration;
/// use alerting_core::health::{CheckOptions, Probe};
///
/// // A cache: if it is down the service still works, more slowly.
/// let cache = CheckOptions::new().critical(false).timeout(Duration::from_millis(500));
/// // The event loop: if it is stuck, restart the process.
/// let event_loop = CheckOptions::new().probe(Probe::Liveness);
/// # let _ = (cache, event_loop);
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[must_use]
pub struct CheckOptions {
    pub(crate) probe: Probe,
    pub(crate) non_critical: bool,
    pub(crate) timeout: Option<Duration>,
    pub(crate) interval: Option<Duration>,
    pub(crate) max_silence: Option<Duration>,
}

impl CheckOptions {
    /// The defaults.
    pub fn new() -> Self {
        Self::default()
    }

    /// Which probes the check counts for (default [`Probe::Readiness`]).
    pub fn probe(mut self, probe: Probe) -> Self {
        self.probe = probe;
        self
    }

    /// Whether the check being down makes its probe fail (true, the
    /// default) or only degraded (false: the service still works without
    /// it).
    pub fn critical(mut self, critical: bool) -> Self {
        self.non_critical = !critical;
        self
    }

    /// How long one run may take before it counts as down (pulled checks;
    /// default: the registry's, 2 s unless configured).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// How often the check runs in the background (pulled checks; default:
    /// the registry's interval).
    pub fn interval(mut self, interval: Duration) -> Self {
        self.interval = Some(interval);
        self
    }

    /// For a pushed component: if it has neither reported nor seen data
    /// for longer than this, it is down with the reason "no data for N s".
    pub fn max_silence(mut self, max_silence: Duration) -> Self {
        self.max_silence = Some(max_silence);
        self
    }
}
