//! Thread-scoped registries, for tests: [`Registry::in_scope`] and
//! [`Registry::enter_scope`].
//!
//! A thread keeps a stack of the registries it entered; the top one is where
//! every `#[instrumented]` call site records the calls that start on this
//! thread. A process-wide count of active scopes lets call sites skip the
//! thread-local entirely (one relaxed load) while no test has a scope open.

use std::cell::RefCell;
use std::fmt;
use std::marker::PhantomData;
use std::sync::atomic::{AtomicUsize, Ordering};

use super::Registry;

/// Scopes open on any thread. Zero unless a test entered one: a call site
/// reads it first and looks no further while it is zero.
static ACTIVE: AtomicUsize = AtomicUsize::new(0);

/// This thread's open scopes, innermost last.
struct Scopes {
    stack: Vec<(u64, Registry)>,
    next_id: u64,
}

thread_local! {
    static SCOPES: RefCell<Scopes> = const {
        RefCell::new(Scopes { stack: Vec::new(), next_id: 0 })
    };
}

/// Whether any thread has a scope open: the only thing an `#[instrumented]`
/// call reads about scopes while none is.
#[inline(always)]
pub(crate) fn any_scope_active() -> bool {
    ACTIVE.load(Ordering::Relaxed) != 0
}

/// The registry of this thread's innermost scope, if it has one.
pub(crate) fn scoped_registry() -> Option<Registry> {
    SCOPES
        .try_with(|s| s.borrow().stack.last().map(|(_, r)| r.clone()))
        .ok()
        .flatten()
}

impl Registry {
    /// Runs `f` with this registry as the one every `#[instrumented]` call
    /// site records into, for the calls that start on this thread while `f`
    /// runs. Meant for tests: each test gives its code a registry of its
    /// own, and tests running in parallel (on their own threads) do not see
    /// each other's counts.
    ///
    /// - **What is covered:** calls that *start* on the current thread
    ///   during `f` (an async call starts at its first poll), from every
    ///   call site, including those with an explicit `registry = path`
    ///   option. Calls on other threads (threads `f` spawns, a
    ///   multi-thread runtime's other workers, `spawn_blocking`) are not:
    ///   they record where they would without a scope.
    /// - **What is not changed:** the global registry and the call sites'
    ///   own registries do not see the calls made in the scope; this
    ///   registry sees exactly those (and whatever else was registered in
    ///   it). Metrics other than `#[instrumented]` ones (handles you
    ///   registered yourself) are not redirected: they are values already.
    /// - **Nesting:** scopes nest; when an inner one ends, the outer one
    ///   (or none) applies again. The scope ends when `f` returns or
    ///   panics.
    ///
    /// # Cost
    ///
    /// While no thread has a scope open, a call site pays one relaxed load
    /// of a process-wide count. While one is open anywhere, every
    /// `#[instrumented]` call in the process also reads a thread-local, and
    /// a call in a scope takes a lock to find its series in this registry.
    /// The first call of each call site in a scoped registry registers its
    /// series there and leaks a small struct (the site's handles: a few
    /// hundred bytes to a few KiB) that is never freed, even when the
    /// registry is dropped: fine for tests, not for a registry per request.
    ///
    /// ```
    /// use alerting_core::instrumented;
    /// use alerting_core::metrics::{Format, Registry};
    ///
    /// #[instrumented]
    /// fn parse(raw: &str) -> Result<u64, std::num::ParseIntError> {
    ///     raw.parse()
    /// }
    ///
    /// let registry = Registry::new();
    /// registry.in_scope(|| {
    ///     parse("1").unwrap();
    ///     assert!(parse("x").is_err());
    /// });
    ///
    /// let text = registry.encode_to_string(Format::Prometheus)?;
    /// assert!(text.contains(r#"function="parse""#));
    /// assert!(text.contains(r#"outcome="ok"} 1"#));
    /// assert!(text.contains(r#"outcome="error"} 1"#));
    /// // The default registry saw none of it.
    /// let global = Registry::global().encode_to_string(Format::Prometheus)?;
    /// assert!(!global.contains(r#"function="parse""#));
    /// # Ok::<(), alerting_core::metrics::MetricsError>(())
    /// ```
    pub fn in_scope<R>(&self, f: impl FnOnce() -> R) -> R {
        let _scope = self.enter_scope();
        f()
    }

    /// Makes this registry the one every `#[instrumented]` call site
    /// records into, for the calls that start on this thread until the
    /// returned guard is dropped. The guard form of
    /// [`in_scope`](Self::in_scope), for async tests; everything said there
    /// applies.
    ///
    /// In a `#[tokio::test]` (a current-thread runtime: the test body and
    /// the tasks it spawns all run on the test's thread), a guard held
    /// across the body's `.await`s covers the body and every task polled
    /// while it is alive. With `flavor = "multi_thread"` it covers only
    /// what happens to run on the thread that holds it: use the
    /// current-thread runtime. The guard cannot be sent to another thread.
    ///
    /// Drop guards in the reverse order of creation, as scopes nest. A
    /// guard dropped out of order ends its own scope only; a guard that is
    /// never dropped (`mem::forget`) leaves its registry in place on its
    /// thread, and every call in the process on the slower path above.
    ///
    /// ```
    /// use alerting_core::instrumented;
    /// use alerting_core::metrics::{Format, Registry};
    ///
    /// #[instrumented]
    /// async fn fetch(n: u64) -> u64 {
    ///     tokio::task::yield_now().await;
    ///     n
    /// }
    ///
    /// // What `#[tokio::test]` builds: a current-thread runtime.
    /// let runtime = tokio::runtime::Builder::new_current_thread().build()?;
    /// let registry = Registry::new();
    /// runtime.block_on(async {
    ///     let _scope = registry.enter_scope();
    ///     fetch(1).await;
    ///     tokio::spawn(fetch(2)).await.unwrap();
    /// });
    ///
    /// let text = registry.encode_to_string(Format::Prometheus)?;
    /// assert!(text.contains(r#"function="fetch""#));
    /// assert!(text.contains(r#"outcome="ok"} 2"#));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn enter_scope(&self) -> ScopeGuard {
        let id = SCOPES
            .try_with(|s| {
                let mut s = s.borrow_mut();
                let id = s.next_id;
                s.next_id += 1;
                s.stack.push((id, self.clone()));
                id
            })
            .ok();
        if id.is_some() {
            ACTIVE.fetch_add(1, Ordering::Relaxed);
        }
        ScopeGuard {
            id,
            _not_send: PhantomData,
        }
    }
}

/// A registry scope on this thread, from [`Registry::enter_scope`]; dropping
/// it ends the scope. Cannot be sent to another thread.
#[must_use = "the scope ends when the guard is dropped"]
pub struct ScopeGuard {
    /// The scope's entry in this thread's stack (`None`: the thread's
    /// storage was already gone, and nothing was entered).
    id: Option<u64>,
    /// A scope belongs to the thread that entered it.
    _not_send: PhantomData<*const ()>,
}

impl fmt::Debug for ScopeGuard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ScopeGuard").finish_non_exhaustive()
    }
}

impl Drop for ScopeGuard {
    fn drop(&mut self) {
        let Some(id) = self.id else { return };
        // Removed by id rather than popped, so that a guard dropped out of
        // order ends its own scope and no other.
        let removed = SCOPES
            .try_with(|s| {
                let mut s = s.borrow_mut();
                let at = s.stack.iter().rposition(|(i, _)| *i == id)?;
                Some(s.stack.remove(at))
            })
            .ok()
            .flatten();
        ACTIVE.fetch_sub(1, Ordering::Relaxed);
        // The registry is dropped outside the borrow.
        drop(removed);
    }
}
