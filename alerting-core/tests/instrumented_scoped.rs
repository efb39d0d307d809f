//! A test keeps its registry as a value: `Registry::in_scope` and
//! `Registry::enter_scope` make every `#[instrumented]` call site on the
//! test's thread record into it, so tests running in parallel do not see
//! each other's counts.
//!
//! Each test calls functions of its own, so that what it checks in the
//! global registry (shared by the tests of this file) is its own doing.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::{Barrier, OnceLock};

use alerting_core::instrument::ErrorKind;
use alerting_core::instrumented;
use alerting_core::metrics::{Format, Registry};

/// The `function_calls_total` sample lines of `function` in `registry`.
fn calls(registry: &Registry, function: &str) -> Vec<String> {
    let text = registry.encode_to_string(Format::Prometheus).unwrap();
    let prefix = format!(r#"function_calls_total{{function="{function}","#);
    text.lines()
        .filter(|l| l.starts_with(&prefix))
        .map(str::to_owned)
        .collect()
}

/// The sample lines a call site with `ok` and `error` calls writes.
fn expected(function: &str, ok: u64, error: u64) -> Vec<String> {
    expected_with(function, &[("ok", ok), ("error", error)])
}

/// The sample lines of a call site: every outcome but `timeout`, counts
/// from `counts` (0 when not given).
fn expected_with(function: &str, counts: &[(&str, u64)]) -> Vec<String> {
    ["ok", "error", "panic", "cancelled"]
        .iter()
        .map(|outcome| {
            let n = counts
                .iter()
                .find(|(o, _)| o == outcome)
                .map_or(0, |(_, n)| *n);
            format!(
                r#"function_calls_total{{function="{function}",module="instrumented_scoped",outcome="{outcome}"}} {n}"#
            )
        })
        .collect()
}

/// The `_count` line of the duration histogram of `function`, if any.
fn duration_count(registry: &Registry, function: &str) -> Option<String> {
    let text = registry.encode_to_string(Format::Prometheus).unwrap();
    let prefix = format!(r#"function_call_duration_seconds_count{{function="{function}","#);
    text.lines()
        .find(|l| l.starts_with(&prefix))
        .map(str::to_owned)
}

#[derive(Debug)]
enum FetchError {
    Timeout,
}

impl ErrorKind for FetchError {
    fn error_kind(&self) -> &'static str {
        match self {
            FetchError::Timeout => "timeout",
        }
    }
}

#[instrumented]
fn shared(fail: bool) -> Result<(), String> {
    if fail { Err(String::new()) } else { Ok(()) }
}

#[instrumented]
fn shared_with_kinds(fail: bool) -> Result<(), FetchError> {
    if fail {
        Err(FetchError::Timeout)
    } else {
        Ok(())
    }
}

#[test]
fn threads_in_parallel_each_see_only_their_own_calls() {
    // Both threads are inside their scopes at the same time: each records
    // between the two waits while the other does too.
    let barrier = Barrier::new(2);
    let run = |ok: usize, errors: usize| {
        let registry = Registry::new();
        registry.in_scope(|| {
            barrier.wait();
            for i in 0..ok + errors {
                let _ = shared(i >= ok);
                let _ = shared_with_kinds(i >= ok);
            }
            barrier.wait();
        });
        registry
    };
    let (a, b) = std::thread::scope(|s| {
        let a = s.spawn(|| run(3, 1));
        let b = s.spawn(|| run(5, 2));
        (a.join().unwrap(), b.join().unwrap())
    });

    assert_eq!(calls(&a, "shared"), expected("shared", 3, 1));
    assert_eq!(calls(&b, "shared"), expected("shared", 5, 2));
    let line = |n| {
        format!(
            r#"function_call_duration_seconds_count{{function="shared",module="instrumented_scoped"}} {n}"#
        )
    };
    assert_eq!(duration_count(&a, "shared"), Some(line(4)));
    assert_eq!(duration_count(&b, "shared"), Some(line(7)));

    // Error kinds are series of the scoped registry too.
    let kinds = |ok, timeouts| {
        let mut lines = expected("shared_with_kinds", ok, 0);
        lines.push(format!(
            r#"function_calls_total{{function="shared_with_kinds",module="instrumented_scoped",outcome="error",error_kind="timeout"}} {timeouts}"#
        ));
        lines
    };
    assert_eq!(calls(&a, "shared_with_kinds"), kinds(3, 1));
    assert_eq!(calls(&b, "shared_with_kinds"), kinds(5, 2));

    let global = Registry::global();
    assert_eq!(calls(global, "shared"), Vec::<String>::new());
    assert_eq!(calls(global, "shared_with_kinds"), Vec::<String>::new());
}

#[instrumented]
fn between_tests() {}

/// Two tests (which the harness runs on two threads, in parallel unless
/// told otherwise) calling the same function: each counts its own calls.
fn count_own_calls(n: usize) {
    let registry = Registry::new();
    registry.in_scope(|| {
        for _ in 0..n {
            between_tests();
            std::thread::yield_now();
        }
    });
    let lines = expected_with("between_tests", &[("ok", n as u64)]);
    assert_eq!(calls(&registry, "between_tests"), lines);
}

#[test]
fn a_test_counts_its_own_calls() {
    count_own_calls(1_000);
}

#[test]
fn another_test_counts_its_own_calls() {
    count_own_calls(1_500);
}

#[instrumented]
fn nested() {}

#[test]
fn nested_scopes_restore_the_outer_one() {
    let outer = Registry::new();
    let inner = Registry::new();
    outer.in_scope(|| {
        nested();
        inner.in_scope(|| {
            nested();
            nested();
        });
        nested();
    });
    assert_eq!(calls(&outer, "nested"), expected("nested", 2, 0));
    assert_eq!(calls(&inner, "nested"), expected("nested", 2, 0));
    assert_eq!(calls(Registry::global(), "nested"), Vec::<String>::new());
}

fn pinned_registry() -> &'static Registry {
    static R: OnceLock<Registry> = OnceLock::new();
    R.get_or_init(Registry::new)
}

#[instrumented]
fn restored() {}

#[instrumented(registry = pinned_registry)]
fn pinned() {}

#[test]
fn a_scope_ending_restores_the_usual_registries() {
    restored();
    pinned();

    let scoped = Registry::new();
    scoped.in_scope(|| {
        restored();
        pinned();
        pinned();
    });
    assert_eq!(calls(&scoped, "restored"), expected("restored", 1, 0));
    // `registry = …` is overridden too.
    assert_eq!(calls(&scoped, "pinned"), expected("pinned", 2, 0));

    restored();
    pinned();
    assert_eq!(
        calls(Registry::global(), "restored"),
        expected("restored", 2, 0)
    );
    assert_eq!(calls(pinned_registry(), "pinned"), expected("pinned", 2, 0));

    // A scope of a call site's own registry records into its usual series
    // (not a second copy of them).
    pinned_registry().in_scope(pinned);
    assert_eq!(calls(pinned_registry(), "pinned"), expected("pinned", 3, 0));
}

#[instrumented]
fn out_of_order() {}

#[test]
fn a_guard_dropped_out_of_order_ends_its_own_scope_only() {
    let first = Registry::new();
    let second = Registry::new();
    let a = first.enter_scope();
    let b = second.enter_scope();
    drop(a);
    out_of_order();
    drop(b);
    out_of_order();
    assert_eq!(calls(&first, "out_of_order"), Vec::<String>::new());
    assert_eq!(
        calls(&second, "out_of_order"),
        expected("out_of_order", 1, 0)
    );
    assert_eq!(
        calls(Registry::global(), "out_of_order"),
        expected("out_of_order", 1, 0)
    );
}

#[instrumented]
fn before_the_panic() {}

#[instrumented]
fn panics() {
    panic!("inside a scope");
}

#[test]
fn a_panic_inside_in_scope_ends_the_scope() {
    let scoped = Registry::new();
    let result = catch_unwind(AssertUnwindSafe(|| {
        scoped.in_scope(|| {
            before_the_panic();
            panics();
        })
    }));
    assert!(result.is_err());
    before_the_panic();

    assert_eq!(
        calls(&scoped, "before_the_panic"),
        expected("before_the_panic", 1, 0)
    );
    assert_eq!(
        calls(&scoped, "panics"),
        expected_with("panics", &[("panic", 1)])
    );
    let global = Registry::global();
    assert_eq!(
        calls(global, "before_the_panic"),
        expected("before_the_panic", 1, 0)
    );
    assert_eq!(calls(global, "panics"), Vec::<String>::new());
}

#[instrumented]
async fn fetch(n: u64) -> Result<u64, String> {
    tokio::task::yield_now().await;
    if n == 0 { Err(String::new()) } else { Ok(n) }
}

#[instrumented]
fn blocking() {}

#[instrumented]
async fn after_the_scope() {}

#[tokio::test]
async fn a_guard_covers_an_async_test_and_the_tasks_it_spawns() {
    let scoped = Registry::new();
    let scope = scoped.enter_scope();

    fetch(1).await.unwrap();
    let tasks: Vec<_> = (0..4).map(|n| tokio::spawn(fetch(n))).collect();
    for task in tasks {
        let _ = task.await.unwrap();
    }
    // Another thread: not covered.
    tokio::task::spawn_blocking(blocking).await.unwrap();
    drop(scope);
    after_the_scope().await;

    assert_eq!(calls(&scoped, "fetch"), expected("fetch", 4, 1));
    assert_eq!(calls(&scoped, "blocking"), Vec::<String>::new());
    assert_eq!(calls(&scoped, "after_the_scope"), Vec::<String>::new());
    let global = Registry::global();
    assert_eq!(calls(global, "fetch"), Vec::<String>::new());
    assert_eq!(calls(global, "blocking"), expected("blocking", 1, 0));
    assert_eq!(
        calls(global, "after_the_scope"),
        expected("after_the_scope", 1, 0)
    );
}
