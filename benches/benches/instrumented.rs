//! The cost of timing a call and counting its outcome: `#[instrumented]`
//! against the floor (bare call, clock reads, atomics), hand-written
//! prometheus-client handles, our families unstriped and striped,
//! `#[autometrics]` (prometheus-client backend) and the `metrics` macros.
//!
//! Groups (one criterion run measures every row of a group under the same
//! conditions):
//!
//! - `call_sync/{1_thread,2_threads}`: a trivial sync function returning
//!   `Result`, called through each instrumentation.
//! - `call_async/{1_thread,2_threads}`: the same as an `async fn`, polled to
//!   completion with a no-op waker (no executor: its cost would swamp the
//!   difference).
//! - `floor/{1_thread,2_threads}`: what a call cannot cost less than: two
//!   clock reads (std, the TSC through quanta, and the TSC through
//!   `alerting_core::clock`), one relaxed atomic add, and two clock reads
//!   plus one atomic counter plus one lock-free atomic histogram, with each
//!   clock.
//! - `encode_striped/10k`: encoding 10,000 series, striped vs unstriped.
//! - `exemplars/{1_thread,2_threads}`: `#[instrumented]` on a function
//!   taking a `&str`, without and with `exemplar = tx_hash`; with the
//!   `otlp` feature, also called inside an entered span of a sampled
//!   OpenTelemetry trace (the trace id is then the exemplar). Without
//!   scrapes each bucket keeps its first exemplar, so these rows time the
//!   per-call check; a scrape lets the next call in each bucket store one.
//!
//! On two threads every row records into the same series from both threads;
//! the time is per operation per thread (see `alerting_benches::on_two_threads`).
//!
//! `docs/benchmarks.md` has the figures; `benches/summarize.py` makes the
//! tables.

use std::hint::black_box;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll, Waker};
use std::time::Instant;

use alerting_benches::{bench_op, test_mode, timing};
use alerting_core::instrumented;
use alerting_core::metrics::{
    Buckets, Counter, DynamicFamily, Family, Format, Histogram, LabelSet, LabelValue,
    MetricOptions, Outcome, Registry, StripedCounter, StripedHistogram,
};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

#[derive(Debug)]
struct WorkError;

impl std::fmt::Display for WorkError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("work error")
    }
}

impl std::error::Error for WorkError {}

/// The work every row wraps: as small as a function gets, kept opaque.
#[inline(never)]
fn work(x: u64) -> Result<u64, WorkError> {
    if x == u64::MAX {
        Err(WorkError)
    } else {
        Ok(x.wrapping_add(1))
    }
}

#[instrumented]
#[inline(never)]
fn work_instrumented(x: u64) -> Result<u64, WorkError> {
    if x == u64::MAX {
        Err(WorkError)
    } else {
        Ok(x.wrapping_add(1))
    }
}

#[autometrics::autometrics]
#[inline(never)]
fn work_autometrics(x: u64) -> Result<u64, WorkError> {
    if x == u64::MAX {
        Err(WorkError)
    } else {
        Ok(x.wrapping_add(1))
    }
}

#[inline(never)]
async fn work_async(x: u64) -> Result<u64, WorkError> {
    work(x)
}

#[instrumented]
#[inline(never)]
async fn work_async_instrumented(x: u64) -> Result<u64, WorkError> {
    work(x)
}

#[autometrics::autometrics]
#[inline(never)]
async fn work_async_autometrics(x: u64) -> Result<u64, WorkError> {
    work(x)
}

fn poll_ready<F: Future>(f: F) -> F::Output {
    let mut f = std::pin::pin!(f);
    let mut cx = Context::from_waker(Waker::noop());
    match f.as_mut().poll(&mut cx) {
        Poll::Ready(v) => v,
        Poll::Pending => unreachable!("the benchmarked futures never wait"),
    }
}

/// Hand-written instrumentation with prometheus-client handles resolved
/// once: what a careful user writes without a macro.
struct HandWritten {
    ok: prometheus_client::metrics::counter::Counter,
    error: prometheus_client::metrics::counter::Counter,
    duration: prometheus_client::metrics::histogram::Histogram,
}

impl HandWritten {
    fn new() -> Self {
        Self {
            ok: Default::default(),
            error: Default::default(),
            duration: prometheus_client::metrics::histogram::Histogram::new(
                Buckets::latency().bounds().iter().copied(),
            ),
        }
    }

    #[inline]
    fn call(&self, x: u64) -> Result<u64, WorkError> {
        let start = Instant::now();
        let r = work(x);
        self.duration.observe(start.elapsed().as_secs_f64());
        if r.is_ok() { &self.ok } else { &self.error }.inc();
        r
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, LabelValue)]
enum Function {
    Work,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, LabelSet)]
struct CallLabels {
    function: Function,
    outcome: Outcome,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, LabelSet)]
struct FnLabels {
    function: Function,
}

/// Our families with handles resolved once, timed with our clock.
struct OurHandles<C, H> {
    ok: C,
    error: C,
    duration: H,
}

macro_rules! our_handles {
    ($counter:ty, $histogram:ty, $prefix:literal) => {{
        let r = Registry::new();
        let calls: Family<CallLabels, $counter> = r
            .register(concat!($prefix, "_calls_total"), "Calls")
            .expect("register");
        let duration: Family<FnLabels, $histogram> = r
            .register(concat!($prefix, "_call_seconds"), "Duration")
            .expect("register");
        let labels = |outcome| CallLabels {
            function: Function::Work,
            outcome,
        };
        OurHandles {
            ok: calls.get(labels(Outcome::Ok)).clone(),
            error: calls.get(labels(Outcome::Error)).clone(),
            duration: duration
                .get(FnLabels {
                    function: Function::Work,
                })
                .clone(),
        }
    }};
}

impl OurHandles<Counter, Histogram> {
    #[inline]
    fn call(&self, x: u64) -> Result<u64, WorkError> {
        let start = alerting_core::clock::now();
        let r = work(x);
        self.duration
            .observe(alerting_core::clock::nanos_since(start) as f64 * 1e-9);
        if r.is_ok() { &self.ok } else { &self.error }.inc();
        r
    }
}

impl OurHandles<StripedCounter, StripedHistogram> {
    #[inline]
    fn call(&self, x: u64) -> Result<u64, WorkError> {
        let start = alerting_core::clock::now();
        let r = work(x);
        self.duration
            .observe(alerting_core::clock::nanos_since(start) as f64 * 1e-9);
        if r.is_ok() { &self.ok } else { &self.error }.inc();
        r
    }
}

fn metrics_macros_call(x: u64) -> Result<u64, WorkError> {
    let start = Instant::now();
    let r = work(x);
    metrics::histogram!("work_duration_seconds", "function" => "work")
        .record(start.elapsed().as_secs_f64());
    let outcome = if r.is_ok() { "ok" } else { "error" };
    metrics::counter!("work_calls_total", "function" => "work", "outcome" => outcome).increment(1);
    r
}

/// A lock-free atomic histogram as small as it gets: the floor for one.
struct AtomicHistogram {
    bounds_ns: [u64; 14],
    counts: [AtomicU64; 15],
    sum_ns: AtomicU64,
}

impl AtomicHistogram {
    fn new() -> Self {
        let mut bounds_ns = [0; 14];
        for (b, s) in bounds_ns.iter_mut().zip(Buckets::latency().bounds()) {
            *b = (s * 1e9) as u64;
        }
        Self {
            bounds_ns,
            counts: std::array::from_fn(|_| AtomicU64::new(0)),
            sum_ns: AtomicU64::new(0),
        }
    }

    #[inline]
    fn observe_ns(&self, ns: u64) {
        let i = self.bounds_ns.partition_point(|&b| b < ns);
        self.counts[i].fetch_add(1, Ordering::Relaxed);
        self.sum_ns.fetch_add(ns, Ordering::Relaxed);
    }
}

fn suffix(threads: usize) -> &'static str {
    if threads == 1 {
        "1_thread"
    } else {
        "2_threads"
    }
}

fn install_metrics_recorder() {
    let recorder = metrics_exporter_prometheus::PrometheusBuilder::new().build_recorder();
    // Another bench file in the same process may have set it: ignore.
    let _ = metrics::set_global_recorder(recorder);
}

fn calls(c: &mut Criterion) {
    install_metrics_recorder();
    let hand = HandWritten::new();
    let unstriped = our_handles!(Counter, Histogram, "unstriped");
    let striped = our_handles!(StripedCounter, StripedHistogram, "striped");
    // Resolve the call sites before measuring.
    let _ = work_instrumented(1);
    let _ = poll_ready(work_async_instrumented(1));

    for threads in [1, 2] {
        let mut group = c.benchmark_group(format!("call_sync/{}", suffix(threads)));
        timing(&mut group, threads);
        bench_op(&mut group, "bare", threads, || {
            drop(black_box(work(black_box(7))))
        });
        bench_op(&mut group, "prometheus_client_resolved", threads, || {
            drop(black_box(hand.call(black_box(7))))
        });
        bench_op(&mut group, "ours_unstriped_resolved", threads, || {
            drop(black_box(unstriped.call(black_box(7))))
        });
        bench_op(&mut group, "ours_striped_resolved", threads, || {
            drop(black_box(striped.call(black_box(7))))
        });
        bench_op(&mut group, "instrumented", threads, || {
            drop(black_box(work_instrumented(black_box(7))))
        });
        bench_op(&mut group, "autometrics", threads, || {
            drop(black_box(work_autometrics(black_box(7))))
        });
        bench_op(&mut group, "metrics_macros", threads, || {
            drop(black_box(metrics_macros_call(black_box(7))))
        });
        group.finish();

        let mut group = c.benchmark_group(format!("call_async/{}", suffix(threads)));
        timing(&mut group, threads);
        bench_op(&mut group, "bare", threads, || {
            drop(black_box(poll_ready(work_async(black_box(7)))))
        });
        bench_op(&mut group, "instrumented", threads, || {
            drop(black_box(poll_ready(work_async_instrumented(black_box(7)))))
        });
        bench_op(&mut group, "autometrics", threads, || {
            drop(black_box(poll_ready(work_async_autometrics(black_box(7)))))
        });
        group.finish();
    }
}

fn floor(c: &mut Criterion) {
    let clock = quanta::Clock::new();
    let counter = AtomicU64::new(0);
    let histogram = AtomicHistogram::new();
    for threads in [1, 2] {
        let mut group = c.benchmark_group(format!("floor/{}", suffix(threads)));
        timing(&mut group, threads);
        bench_op(&mut group, "bare", threads, || {
            drop(black_box(work(black_box(7))))
        });
        bench_op(&mut group, "two_std_clock_reads", threads, || {
            let start = Instant::now();
            black_box(start.elapsed());
        });
        bench_op(&mut group, "two_tsc_reads", threads, || {
            let start = clock.raw();
            black_box(clock.delta_as_nanos(start, clock.raw()));
        });
        bench_op(&mut group, "two_tsc_reads_ours", threads, || {
            let start = alerting_core::clock::now();
            black_box(alerting_core::clock::nanos_since(start));
        });
        bench_op(&mut group, "one_atomic_add", threads, || {
            counter.fetch_add(1, Ordering::Relaxed);
        });
        bench_op(&mut group, "clock_counter_histogram_std", threads, || {
            let start = Instant::now();
            let r = work(black_box(7));
            histogram.observe_ns(start.elapsed().as_nanos() as u64);
            counter.fetch_add(1, Ordering::Relaxed);
            drop(black_box(r));
        });
        bench_op(&mut group, "clock_counter_histogram_tsc", threads, || {
            let start = clock.raw();
            let r = work(black_box(7));
            histogram.observe_ns(clock.delta_as_nanos(start, clock.raw()));
            counter.fetch_add(1, Ordering::Relaxed);
            drop(black_box(r));
        });
        bench_op(
            &mut group,
            "clock_counter_histogram_tsc_ours",
            threads,
            || {
                let start = alerting_core::clock::now();
                let r = work(black_box(7));
                histogram.observe_ns(alerting_core::clock::nanos_since(start));
                counter.fetch_add(1, Ordering::Relaxed);
                drop(black_box(r));
            },
        );
        group.finish();
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, LabelSet)]
struct Token {
    token: String,
}

fn encode_striped(c: &mut Criterion) {
    let n = if test_mode() { 100 } else { 10_000 };
    let unstriped = Registry::new();
    let striped = Registry::new();
    let a: DynamicFamily<Token, Counter> = unstriped
        .register_with("swaps_total", "Swaps", MetricOptions::new().max_series(n))
        .expect("register");
    let b: DynamicFamily<Token, StripedCounter> = striped
        .register_with("swaps_total", "Swaps", MetricOptions::new().max_series(n))
        .expect("register");
    for i in 0..n {
        let token = Token {
            token: format!("0x{i:040x}"),
        };
        a.get_or_create(&token).inc();
        b.get_or_create(&token).inc();
    }
    let mut group = c.benchmark_group("encode_striped/10k");
    group.throughput(Throughput::Elements(n as u64));
    group.sample_size(20);
    let mut buf = String::new();
    group.bench_function("unstriped", |bencher| {
        bencher.iter(|| {
            unstriped
                .encode(Format::Prometheus, &mut buf)
                .expect("encode")
        })
    });
    group.bench_function("striped", |bencher| {
        bencher.iter(|| {
            striped
                .encode(Format::Prometheus, &mut buf)
                .expect("encode")
        })
    });
    group.finish();
}

#[instrumented]
#[inline(never)]
fn handle_tx(x: u64, tx_hash: &str) -> Result<u64, WorkError> {
    work(x ^ tx_hash.len() as u64)
}

#[instrumented(exemplar = tx_hash)]
#[inline(never)]
fn handle_tx_exemplar(x: u64, tx_hash: &str) -> Result<u64, WorkError> {
    work(x ^ tx_hash.len() as u64)
}

const TX: &str = "0x5c504ed432cb51138bcf09aa5e8a410dd4a1e204ef84bfed1be16dfba1b22060";

/// Installs a tracing subscriber with an OpenTelemetry layer (a tracer
/// that samples everything and exports nowhere) and enters a span of it
/// for as long as the guard lives.
#[cfg(feature = "otlp")]
fn traced_span() -> impl Drop {
    use opentelemetry::trace::TracerProvider as _;
    use tracing_subscriber::layer::SubscriberExt as _;

    struct Traced {
        _provider: opentelemetry_sdk::trace::SdkTracerProvider,
        _default: tracing::subscriber::DefaultGuard,
        _entered: tracing::span::EnteredSpan,
    }
    impl Drop for Traced {
        fn drop(&mut self) {}
    }
    let provider = opentelemetry_sdk::trace::SdkTracerProvider::builder().build();
    let layer = tracing_opentelemetry::layer().with_tracer(provider.tracer("bench"));
    let default = tracing::subscriber::set_default(tracing_subscriber::registry().with(layer));
    let entered = tracing::info_span!("request").entered();
    Traced {
        _provider: provider,
        _default: default,
        _entered: entered,
    }
}

fn exemplars(c: &mut Criterion) {
    // Resolve the call sites before measuring.
    let _ = handle_tx(1, TX);
    let _ = handle_tx_exemplar(1, TX);
    for threads in [1, 2] {
        let mut group = c.benchmark_group(format!("exemplars/{}", suffix(threads)));
        timing(&mut group, threads);
        bench_op(&mut group, "bare", threads, || {
            drop(black_box(work(black_box(7))))
        });
        bench_op(&mut group, "instrumented", threads, || {
            drop(black_box(handle_tx(black_box(7), black_box(TX))))
        });
        bench_op(&mut group, "instrumented_exemplar_arg", threads, || {
            drop(black_box(handle_tx_exemplar(black_box(7), black_box(TX))))
        });
        // The span is entered on the thread that measures: one thread.
        #[cfg(feature = "otlp")]
        if threads == 1 {
            let traced = traced_span();
            bench_op(&mut group, "instrumented_traced_span", threads, || {
                drop(black_box(handle_tx(black_box(7), black_box(TX))))
            });
            drop(traced);
        }
        group.finish();
    }
}

criterion_group!(benches, calls, floor, encode_striped, exemplars);
criterion_main!(benches);
