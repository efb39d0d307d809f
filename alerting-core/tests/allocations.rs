//! The hot path does not allocate: counted with a counting global allocator.
#![allow(unsafe_code)] // a GlobalAlloc impl is unsafe by definition

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use alerting_core::metrics::{
    Counter, DynamicFamily, Family, Histogram, LabelSet, LabelValue, Outcome, Registry,
    StripedCounter, StripedHistogram,
};

struct Counting;

thread_local! {
    static ALLOCATIONS: Cell<u64> = const { Cell::new(0) };
}

// SAFETY: forwards to the system allocator; only counts.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.with(|a| a.set(a.get() + 1));
        // SAFETY: same contract as ours.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as ours.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn allocations_during(f: impl FnOnce()) -> u64 {
    let before = ALLOCATIONS.with(Cell::get);
    f();
    ALLOCATIONS.with(Cell::get) - before
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, LabelValue)]
enum Method {
    Get,
    Post,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, LabelSet)]
struct Labels {
    method: Method,
    outcome: Outcome,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, LabelSet)]
struct Api {
    api: &'static str,
}

#[test]
fn labelled_increments_and_observations_do_not_allocate() {
    let r = Registry::new();
    let calls: Family<Labels, Counter> = r.register("calls_total", "Calls").unwrap();
    let latency: Family<Labels, Histogram> = r.register("call_seconds", "Latency").unwrap();
    let apis: DynamicFamily<Api, Counter> = r.register("api_calls_total", "API calls").unwrap();
    let dbotx = apis.get_or_create(&Api { api: "dbotx" });
    let hot: Family<Labels, StripedCounter> = r.register("hot_total", "Hot").unwrap();
    let hot_latency: Family<Labels, StripedHistogram> =
        r.register("hot_seconds", "Hot latency").unwrap();
    // A thread's stripe is assigned on its first record (a thread-local).
    hot.get(Labels {
        method: Method::Get,
        outcome: Outcome::Ok,
    })
    .inc();

    let n = allocations_during(|| {
        for i in 0..10_000u32 {
            let labels = Labels {
                method: if i % 2 == 0 {
                    Method::Get
                } else {
                    Method::Post
                },
                outcome: if i % 7 == 0 {
                    Outcome::Error
                } else {
                    Outcome::Ok
                },
            };
            calls.get(labels).inc();
            latency.get(labels).observe(f64::from(i) * 1e-5);
            dbotx.inc();
            hot.get(labels).inc();
            hot_latency.get(labels).observe(f64::from(i) * 1e-5);
        }
    });
    assert_eq!(n, 0, "allocations on the hot path");
    assert_eq!(dbotx.get(), 10_000);

    // The counter really counts allocations (so the zero above means something).
    let n = allocations_during(|| drop(std::hint::black_box(vec![1u8; 16])));
    assert_eq!(n, 1);
}

#[alerting_core::instrumented(labels(chain = "bsc"), in_flight)]
fn instrumented_sync(n: u32) -> Result<u32, String> {
    if n.is_multiple_of(3) {
        Err(String::new())
    } else {
        Ok(n)
    }
}

#[alerting_core::instrumented]
async fn instrumented_async(n: u32) -> Option<u32> {
    Some(n)
}

/// Polls a future that never waits, without an executor (which would
/// allocate on its own).
fn poll_ready<F: std::future::Future>(f: F) -> F::Output {
    let mut f = std::pin::pin!(f);
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    match f.as_mut().poll(&mut cx) {
        std::task::Poll::Ready(v) => v,
        std::task::Poll::Pending => panic!("the future waited"),
    }
}

#[test]
fn instrumented_calls_do_not_allocate() {
    // The first call resolves the call site (registers series: allocates).
    let _ = instrumented_sync(1);
    let _ = poll_ready(instrumented_async(1));
    let n = allocations_during(|| {
        for i in 0..10_000 {
            let _ = std::hint::black_box(instrumented_sync(std::hint::black_box(i)));
            let _ = std::hint::black_box(poll_ready(instrumented_async(i)));
        }
    });
    // `Err(String::new())` does not allocate (an empty String has no buffer).
    assert_eq!(n, 0, "allocations per 20,000 instrumented calls");
}
