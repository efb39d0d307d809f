//! Memory per series, side by side with the peers in the same run: the
//! heap bytes a family holds for each of its series, counted by a global
//! allocator that adds up the sizes requested and not yet freed (exact for
//! what the code asks for; the allocator's own headers and rounding come
//! on top, for every implementation alike), not sampled from the RSS.
//!
//! Each implementation builds one family in a registry of its own and
//! creates `n` series in it, labelled by a 42-byte token (an address, as
//! the encoding benchmark uses), incrementing (or observing) each once; the
//! live bytes after, minus before, divided by `n`, is its cost per series,
//! the label string included. It is measured for `n` = 10,000 and 100,000
//! and reported with the ratio to ours.
//!
//! ```text
//! cargo bench -p alerting-benches --bench memory
//! ```
//!
//! `metrics-exporter-prometheus` is in the counter rows only: its
//! histograms keep the observed values until a scrape drains them, so their
//! memory depends on the traffic between scrapes, not on the series.
//! `cargo test -p alerting-benches --benches` runs it with small `n`.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicIsize, Ordering};

use alerting_benches::test_mode;
use alerting_core::metrics::{
    Buckets, Counter, DynamicFamily, ExemplarCounter, Histogram, LabelSet, Metric, MetricOptions,
    Registry, Series, StripedCounter,
};

/// The system allocator, counting the bytes live at any time.
struct Counting;

static LIVE: AtomicIsize = AtomicIsize::new(0);

// SAFETY: every call is forwarded to `System` unchanged; only the size is
// recorded on the side.
#[allow(unsafe_code)]
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's contract is `System`'s.
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            LIVE.fetch_add(layout.size() as isize, Ordering::Relaxed);
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as above.
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            LIVE.fetch_add(layout.size() as isize, Ordering::Relaxed);
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: as above.
        unsafe { System.dealloc(ptr, layout) };
        LIVE.fetch_sub(layout.size() as isize, Ordering::Relaxed);
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: as above.
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            LIVE.fetch_add(
                new_size as isize - layout.size() as isize,
                Ordering::Relaxed,
            );
        }
        p
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// The label of the series: our derive also implements prometheus-client's
/// encoding traits, so both families are keyed by this very type.
#[derive(Clone, Debug, PartialEq, Eq, Hash, LabelSet)]
struct Token {
    token: String,
}

/// measured's dynamic (interned) label set.
mod measured_labels {
    use measured::LabelGroup;

    #[derive(Clone, Copy, Debug, LabelGroup)]
    #[label(set = TokenSet)]
    pub(crate) struct Token<'a> {
        #[label(dynamic_with = measured::lasso::ThreadedRodeo)]
        pub(crate) token: &'a str,
    }
}

fn token(i: usize) -> String {
    format!("0x{i:040x}")
}

/// The observed value (lands in the 5 ms bucket).
const SAMPLE: f64 = 0.0042;

/// Live bytes held by what `build` returns, per series: `build` creates
/// the family and its `n` series; the value is kept alive while counting.
fn per_series<T>(n: usize, build: impl FnOnce(usize) -> T) -> f64 {
    let before = LIVE.load(Ordering::SeqCst);
    let kept = build(n);
    let after = LIVE.load(Ordering::SeqCst);
    drop(kept);
    (after - before) as f64 / n as f64
}

/// One of our dynamic families of `M` with `n` series, each touched once.
fn ours<M>(n: usize, name: &str, options: MetricOptions, touch: impl Fn(M)) -> impl Sized
where
    M: Series,
    DynamicFamily<Token, M>: Metric,
{
    let registry = Registry::new();
    let family: DynamicFamily<Token, M> = registry
        .register_with(name, "Swaps, by token", options.max_series(n))
        .expect("register");
    for i in 0..n {
        touch(family.get_or_create(&Token { token: token(i) }));
    }
    (registry, family)
}

fn ours_counter(n: usize) -> impl Sized {
    ours(
        n,
        "token_swaps_total",
        MetricOptions::new(),
        |c: Counter| {
            c.inc();
        },
    )
}

fn ours_exemplar_counter(n: usize) -> impl Sized {
    ours(
        n,
        "token_swaps_total",
        MetricOptions::new(),
        |c: ExemplarCounter| {
            c.inc();
        },
    )
}

fn ours_striped_counter(n: usize) -> impl Sized {
    ours(
        n,
        "token_swaps_total",
        MetricOptions::new(),
        |c: StripedCounter| c.inc(),
    )
}

fn ours_histogram(n: usize) -> impl Sized {
    let options = MetricOptions::new().buckets(Buckets::latency());
    ours(n, "token_swap_seconds", options, |h: Histogram| {
        h.observe(SAMPLE)
    })
}

fn prometheus_client_counter(n: usize) -> impl Sized {
    let mut registry = prometheus_client::registry::Registry::default();
    let family = prometheus_client::metrics::family::Family::<
        Token,
        prometheus_client::metrics::counter::Counter,
    >::default();
    registry.register("token_swaps", "Swaps seen, by token", family.clone());
    for i in 0..n {
        family.get_or_create(&Token { token: token(i) }).inc();
    }
    (registry, family)
}

type PcHistogram = prometheus_client::metrics::histogram::Histogram;

fn prometheus_client_histogram(n: usize) -> impl Sized {
    fn new_histogram() -> PcHistogram {
        PcHistogram::new(Buckets::latency().bounds().iter().copied())
    }
    let mut registry = prometheus_client::registry::Registry::default();
    let family = prometheus_client::metrics::family::Family::<
        Token,
        PcHistogram,
        fn() -> PcHistogram,
    >::new_with_constructor(new_histogram);
    registry.register(
        "token_swap_seconds",
        "Swap handling time, by token",
        family.clone(),
    );
    for i in 0..n {
        family
            .get_or_create(&Token { token: token(i) })
            .observe(SAMPLE);
    }
    (registry, family)
}

fn metrics_rs_counter(n: usize) -> impl Sized {
    let recorder = metrics_exporter_prometheus::PrometheusBuilder::new().build_recorder();
    metrics::with_local_recorder(&recorder, || {
        metrics::describe_counter!("token_swaps_total", "Swaps seen, by token");
        for i in 0..n {
            metrics::counter!("token_swaps_total", "token" => token(i)).increment(1);
        }
    });
    recorder
}

#[derive(measured::MetricGroup)]
struct MeasuredCounters {
    /// Swaps seen, by token
    token_swaps_total: measured::CounterVec<measured_labels::TokenSet>,
}

fn measured_counter(n: usize) -> impl Sized {
    let group = MeasuredCounters {
        token_swaps_total: measured::CounterVec::with_label_set(measured_labels::TokenSet::new(
            measured::lasso::ThreadedRodeo::new(),
        )),
    };
    for i in 0..n {
        let token = token(i);
        group
            .token_swaps_total
            .inc(measured_labels::Token { token: &token });
    }
    group
}

#[derive(measured::MetricGroup)]
struct MeasuredHistograms {
    /// Swap handling time, by token
    token_swap_seconds: measured::HistogramVec<measured_labels::TokenSet, 14>,
}

fn measured_histogram(n: usize) -> impl Sized {
    let bounds: [f64; 14] = Buckets::latency()
        .bounds()
        .try_into()
        .expect("Buckets::latency() has 14 bounds");
    let group = MeasuredHistograms {
        token_swap_seconds: measured::HistogramVec::with_label_set_and_metadata(
            measured_labels::TokenSet::new(measured::lasso::ThreadedRodeo::new()),
            measured::metric::histogram::Thresholds::with_buckets(bounds),
        ),
    };
    for i in 0..n {
        let token = token(i);
        group
            .token_swap_seconds
            .observe(measured_labels::Token { token: &token }, SAMPLE);
    }
    group
}

/// One row: the implementation and its bytes per series.
struct Row {
    kind: &'static str,
    who: &'static str,
    bytes: f64,
}

fn main() {
    let sizes: &[usize] = if test_mode() {
        &[1_000]
    } else {
        &[10_000, 100_000]
    };
    println!(
        "memory per series: live bytes after creating n series (one 42-byte label, one \
         increment or observation each), minus before, over n; {} bucket bounds",
        Buckets::latency().bounds().len()
    );
    for &n in sizes {
        let rows = [
            Row {
                kind: "counter",
                who: "ours: DynamicFamily<_, Counter>",
                bytes: per_series(n, ours_counter),
            },
            Row {
                kind: "counter",
                who: "ours: DynamicFamily<_, ExemplarCounter> (no exemplar offered)",
                bytes: per_series(n, ours_exemplar_counter),
            },
            Row {
                kind: "counter",
                who: "ours: DynamicFamily<_, StripedCounter>",
                bytes: per_series(n, ours_striped_counter),
            },
            Row {
                kind: "counter",
                who: "prometheus-client: Family<_, Counter>",
                bytes: per_series(n, prometheus_client_counter),
            },
            Row {
                kind: "counter",
                who: "metrics + metrics-exporter-prometheus",
                bytes: per_series(n, metrics_rs_counter),
            },
            Row {
                kind: "counter",
                who: "measured: CounterVec (interned labels)",
                bytes: per_series(n, measured_counter),
            },
            Row {
                kind: "histogram",
                who: "ours: DynamicFamily<_, Histogram>",
                bytes: per_series(n, ours_histogram),
            },
            Row {
                kind: "histogram",
                who: "prometheus-client: Family<_, Histogram>",
                bytes: per_series(n, prometheus_client_histogram),
            },
            Row {
                kind: "histogram",
                who: "measured: HistogramVec (interned labels)",
                bytes: per_series(n, measured_histogram),
            },
        ];
        println!("\nn = {n}");
        println!(
            "| kind | implementation | bytes per series | / ours (compact) |\n|---|---|---:|---:|"
        );
        for row in &rows {
            let ours = rows
                .iter()
                .find(|r| r.kind == row.kind)
                .map_or(f64::NAN, |r| r.bytes);
            println!(
                "| {} | {} | {:.0} | {:.2}x |",
                row.kind,
                row.who,
                row.bytes,
                row.bytes / ours
            );
        }
    }
}
