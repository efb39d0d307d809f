//! Named in-flight work: what shutdown waits for, and reports by name.

use std::borrow::Cow;
use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use super::tracker::{Token, Tracker};
use tokio::task::JoinHandle;

/// The top bit of [`KindState::word`]: the drain has ended.
const DRAIN_ENDED: u64 = 1 << 63;

/// Counters of one kind of work.
#[derive(Debug)]
pub(crate) struct KindState {
    pub(crate) name: Cow<'static, str>,
    /// Units in flight (the low 63 bits) and whether the drain has ended
    /// ([`DRAIN_ENDED`]). One word, so that a unit knows exactly whether it
    /// was counted as still running when the drain ended: its start and
    /// its end are ordered against the drain's end by this word alone.
    word: AtomicU64,
    finished: AtomicU64,
    /// Units running when the drain ended that have finished since.
    finished_late: AtomicU64,
}

impl KindState {
    /// Counters for a new kind; `drain_ended` if it is created after the
    /// drain ended (its units were never waited for).
    pub(crate) fn new(name: Cow<'static, str>, drain_ended: bool) -> Self {
        Self {
            name,
            word: AtomicU64::new(if drain_ended { DRAIN_ENDED } else { 0 }),
            finished: AtomicU64::new(0),
            finished_late: AtomicU64::new(0),
        }
    }

    pub(crate) fn active(&self) -> u64 {
        self.word.load(Ordering::Acquire) & !DRAIN_ENDED
    }

    pub(crate) fn finished(&self) -> u64 {
        self.finished.load(Ordering::Acquire)
    }

    /// Marks the end of the drain; returns the units still running then.
    /// Each of them, when it finishes, counts in [`Self::finished_late`].
    pub(crate) fn end_drain(&self) -> u64 {
        self.word.fetch_or(DRAIN_ENDED, Ordering::AcqRel) & !DRAIN_ENDED
    }

    /// Units still running when the drain ended that have finished since.
    pub(crate) fn finished_late(&self) -> u64 {
        self.finished_late.load(Ordering::Acquire)
    }
}

/// A named kind of work (`"swap_event"`, `"http_request"`) whose accepted
/// units are tracked, so that shutdown can wait for them and report by name
/// what was still running at the deadline.
///
/// Get one from [`Shutdown::work_kind`](super::Shutdown::work_kind) once, at
/// start-up, and keep it: [`WorkKind::start`] is then three atomic
/// operations (no lock, no look-up by name). Clones share the counters; two
/// calls of `work_kind` with the same name return handles to the same
/// counters.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// use alerting_core::shutdown::Shutdown;
///
/// let shutdown = Shutdown::new();
/// let swaps = shutdown.work_kind("swap_event");
///
/// let guard = swaps.start(); // accepted: shutdown now waits for it
/// assert_eq!(swaps.in_flight(), 1);
/// drop(guard); // done
/// assert_eq!(swaps.in_flight(), 0);
///
/// // Or let a task hold the guard for as long as it runs.
/// swaps.spawn(async { /* handle the event */ }).await.unwrap();
/// # }
/// ```
#[derive(Clone)]
pub struct WorkKind {
    state: Arc<KindState>,
    tracker: Tracker,
}

impl WorkKind {
    pub(crate) fn new(state: Arc<KindState>, tracker: Tracker) -> Self {
        Self { state, tracker }
    }

    /// The name given to [`Shutdown::work_kind`](super::Shutdown::work_kind).
    pub fn name(&self) -> &str {
        &self.state.name
    }

    /// Marks one unit of work as accepted; it is done when the returned
    /// guard is dropped. Shutdown waits (up to its deadline) until every
    /// guard is dropped, including guards taken after shutdown began: stop
    /// taking them by watching the intake token, not by expecting this to
    /// fail. It never fails and never blocks.
    ///
    /// A unit still running when the drain ends is not waited for any
    /// longer: it is *abandoned* (left running, to the process exit) and
    /// the report counts it as finished late if its guard is dropped
    /// before the report is written. A guard taken after the drain ended is
    /// neither waited for nor reported.
    pub fn start(&self) -> InFlight {
        let before = self.state.word.fetch_add(1, Ordering::AcqRel);
        InFlight {
            state: Arc::clone(&self.state),
            waited_for: before & DRAIN_ENDED == 0,
            _token: self.tracker.token(),
        }
    }

    /// Spawns `future` on the current tokio runtime with a guard held until
    /// it completes (or is aborted, or panics).
    ///
    /// # Panics
    ///
    /// Like [`tokio::spawn`], when called outside a tokio runtime.
    pub fn spawn<F>(&self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        let guard = self.start();
        tokio::spawn(async move {
            let _guard = guard;
            future.await
        })
    }

    /// Units accepted and not yet done.
    pub fn in_flight(&self) -> u64 {
        self.state.active()
    }

    /// Units done since start-up.
    pub fn finished(&self) -> u64 {
        self.state.finished()
    }
}

impl fmt::Debug for WorkKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WorkKind")
            .field("name", &self.state.name)
            .field("in_flight", &self.in_flight())
            .field("finished", &self.finished())
            .finish()
    }
}

/// One accepted unit of work; dropping it marks the unit done.
///
/// Hold it for as long as the work runs (move it into the task). It is
/// `Send`, so it can cross `.await` points and threads.
#[must_use = "the work counts as done as soon as the guard is dropped"]
pub struct InFlight {
    state: Arc<KindState>,
    /// Started before the drain ended: if it is still running when the
    /// drain ends, it counts in the report's `still_running`.
    waited_for: bool,
    _token: Token,
}

impl InFlight {
    /// The name of the kind of work.
    pub fn name(&self) -> &str {
        &self.state.name
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        let before = self.state.word.fetch_sub(1, Ordering::AcqRel);
        if self.waited_for && before & DRAIN_ENDED != 0 {
            // Counted as still running when the drain ended.
            self.state.finished_late.fetch_add(1, Ordering::AcqRel);
        }
        self.state.finished.fetch_add(1, Ordering::AcqRel);
    }
}

impl fmt::Debug for InFlight {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("InFlight")
            .field("name", &self.state.name)
            .finish()
    }
}
