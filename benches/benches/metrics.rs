//! alerting-core against prometheus-client, `metrics` (with
//! metrics-exporter-prometheus) and `measured`.
//!
//! Each comparison is one criterion group, so one run measures every
//! contender under the same conditions:
//!
//! - `counter_inc_2_enum_labels/{1_thread,2_threads}`: one increment of a
//!   counter keyed by two enum labels (`method` × `status`, 12 series).
//! - `counter_plus_histogram/{1_thread,2_threads}`: the same increment plus one
//!   observation into a latency histogram with the same labels.
//! - `dynamic_get_or_create/{1_thread,2_threads}`: `get_or_create(&labels)`
//!   of an existing series keyed by an owned `String` label (an address)
//!   in a family of 1,000 series, then `.inc()`: ours (`DynamicFamily`,
//!   without and with an idle timeout; through the owned handle of
//!   `get_or_create` and through `with(&labels, |c| c.inc())`, which lends
//!   the series) against prometheus-client's `Family::get_or_create`.
//! - `encode_mixed/10k_counters_1k_histograms`: one scrape of a counter
//!   family with 10,000 series and a latency-histogram family with 1,000
//!   series (14 buckets), both keyed by a string label, in the Prometheus
//!   text format: ours against prometheus-client's own encoder.
//! - `encode/{10k,100k}`: a counter family with 10,000 / 100,000 series keyed
//!   by a string label, written in the Prometheus text format.
//!
//! "ours" is alerting-core's compact `Family<_, Counter>` / `Family<_,
//! Histogram>` (one atomic per cell); "ours striped" is the same family of
//! `StripedCounter` / `StripedHistogram` (per-thread, cache-line-padded
//! copies of the cells, added up at scrape); "ours exemplar" is the compact
//! `Family<_, ExemplarCounter>` (one atomic, plus an exemplar slot never
//! allocated here: these rows time `inc`, which does not look at it).
//!
//! Every contender increments the same fixed label set (`method="get"`,
//! `status="ok"`); per-call variants receive it through `black_box` so the
//! look-up cannot be hoisted out of the loop.
//!
//! `*/2_threads`: two threads, released together by a spinning barrier, each do
//! `iters` operations on the same series. The time given to criterion is the
//! slower thread's elapsed time, so the reported "time per iteration" is the
//! wall time per operation *per thread* while the other thread does the same;
//! the two threads together do two operations in that time.
//!
//! `docs/benchmarks.md` has the figures; `benches/summarize.py` makes its
//! tables from `target/criterion`.

use std::hint::black_box;
use std::time::{Duration, Instant};

use alerting_benches::{bench_op, on_two_threads, test_mode, timing};
use alerting_core::metrics::{
    Buckets, Counter, DynamicFamily, ExemplarCounter, Family, Format, Histogram, MetricOptions,
    Registry, StripedCounter, StripedHistogram,
};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

use labels::{Method, ReqLabels, Status, Token};

/// Label types for alerting-core (also used, as they are, as
/// prometheus-client's label sets: the derives implement its encoding
/// traits).
mod labels {
    use alerting_core::metrics::{LabelSet, LabelValue};

    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, LabelValue)]
    pub(crate) enum Method {
        Get,
        Post,
        Put,
        Delete,
    }

    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, LabelValue)]
    pub(crate) enum Status {
        Ok,
        Error,
        Timeout,
    }

    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, LabelSet)]
    pub(crate) struct ReqLabels {
        pub(crate) method: Method,
        pub(crate) status: Status,
    }

    #[derive(Clone, Debug, PartialEq, Eq, Hash, LabelSet)]
    pub(crate) struct Token {
        pub(crate) token: String,
    }
}

/// measured's label types: its own derives.
mod measured_labels {
    use measured::{FixedCardinalityLabel, LabelGroup};

    #[derive(Clone, Copy, Debug, PartialEq, FixedCardinalityLabel)]
    pub(crate) enum Method {
        Get,
        Post,
        Put,
        Delete,
    }

    #[derive(Clone, Copy, Debug, PartialEq, FixedCardinalityLabel)]
    pub(crate) enum Status {
        Ok,
        Error,
        Timeout,
    }

    #[derive(Clone, Copy, Debug, LabelGroup)]
    #[label(set = ReqSet)]
    pub(crate) struct Req {
        pub(crate) method: Method,
        pub(crate) status: Status,
    }

    #[derive(Clone, Copy, Debug, LabelGroup)]
    #[label(set = TokenSet)]
    pub(crate) struct Token<'a> {
        #[label(dynamic_with = measured::lasso::ThreadedRodeo)]
        pub(crate) token: &'a str,
    }
}

const GET_OK: ReqLabels = ReqLabels {
    method: Method::Get,
    status: Status::Ok,
};
const MEASURED_GET_OK: measured_labels::Req = measured_labels::Req {
    method: measured_labels::Method::Get,
    status: measured_labels::Status::Ok,
};
const GET_ERROR: ReqLabels = ReqLabels {
    method: Method::Get,
    status: Status::Error,
};
const MEASURED_GET_ERROR: measured_labels::Req = measured_labels::Req {
    method: measured_labels::Method::Get,
    status: measured_labels::Status::Error,
};
/// The observed latency, in seconds (lands in the 5 ms bucket).
const LATENCY_SAMPLE: f64 = 0.0042;
const LATENCY_BUCKETS: usize = 14;

type PcCounterFamily = prometheus_client::metrics::family::Family<ReqLabels, Counter>;
type PcHistogram = prometheus_client::metrics::histogram::Histogram;
type PcHistogramFamily =
    prometheus_client::metrics::family::Family<ReqLabels, PcHistogram, fn() -> PcHistogram>;
type MeasuredHistogramVec = measured::HistogramVec<measured_labels::ReqSet, LATENCY_BUCKETS>;

/// The bounds of `Buckets::latency()`, which every contender uses.
fn latency_bounds() -> [f64; LATENCY_BUCKETS] {
    Buckets::latency()
        .bounds()
        .try_into()
        .expect("Buckets::latency() has 14 bounds")
}

fn pc_histogram() -> PcHistogram {
    PcHistogram::new(latency_bounds())
}

/// The `metrics` recorder, installed globally once (increments go through
/// the macros, which use the global recorder), with the latency buckets so
/// that `histogram!` is a histogram rather than a summary.
fn metrics_handle() -> &'static metrics_exporter_prometheus::PrometheusHandle {
    static HANDLE: std::sync::OnceLock<metrics_exporter_prometheus::PrometheusHandle> =
        std::sync::OnceLock::new();
    HANDLE.get_or_init(|| {
        let recorder = metrics_exporter_prometheus::PrometheusBuilder::new()
            .set_buckets(&latency_bounds())
            .expect("valid buckets")
            .build_recorder();
        let handle = recorder.handle();
        metrics::set_global_recorder(recorder).expect("no global recorder yet");
        metrics::describe_counter!("bench_requests_total", "Requests handled");
        metrics::describe_histogram!("bench_request_duration_seconds", "Time to handle a request");
        handle
    })
}

/// Everything the increment benches use, built once.
struct Contenders {
    ours_counters: Family<ReqLabels, Counter>,
    ours_histograms: Family<ReqLabels, Histogram>,
    ours_striped_counters: Family<ReqLabels, StripedCounter>,
    ours_striped_histograms: Family<ReqLabels, StripedHistogram>,
    ours_exemplar_counters: Family<ReqLabels, ExemplarCounter>,
    pc_counters: PcCounterFamily,
    pc_histograms: PcHistogramFamily,
    measured_counters: measured::CounterVec<measured_labels::ReqSet>,
    measured_histograms: MeasuredHistogramVec,
}

impl Contenders {
    fn new() -> Self {
        let registry = Registry::new();
        let ours_counters = registry
            .register("bench_requests_total", "Requests handled")
            .expect("register counter family");
        let ours_histograms = registry
            .register_with(
                "bench_request_duration_seconds",
                "Time to handle a request",
                MetricOptions::new().buckets(Buckets::latency()),
            )
            .expect("register histogram family");
        let ours_striped_counters = registry
            .register("bench_striped_requests_total", "Requests handled")
            .expect("register striped counter family");
        let ours_striped_histograms = registry
            .register_with(
                "bench_striped_request_duration_seconds",
                "Time to handle a request",
                MetricOptions::new().buckets(Buckets::latency()),
            )
            .expect("register striped histogram family");
        let ours_exemplar_counters = registry
            .register("bench_exemplar_requests_total", "Requests handled")
            .expect("register exemplar counter family");
        let pc_histograms =
            PcHistogramFamily::new_with_constructor(pc_histogram as fn() -> PcHistogram);
        let measured_histograms = MeasuredHistogramVec::with_label_set_and_metadata(
            measured_labels::ReqSet::new(),
            measured::metric::histogram::Thresholds::with_buckets(latency_bounds()),
        );
        Self {
            ours_counters,
            ours_histograms,
            ours_striped_counters,
            ours_striped_histograms,
            ours_exemplar_counters,
            pc_counters: PcCounterFamily::default(),
            pc_histograms,
            measured_counters: measured::CounterVec::with_label_set(measured_labels::ReqSet::new()),
            measured_histograms,
        }
    }
}

fn counter_inc(c: &mut Criterion) {
    let m = Contenders::new();
    let metrics_handle = metrics_handle();
    for threads in [1, 2] {
        let mut group = c.benchmark_group(if threads == 1 {
            "counter_inc_2_enum_labels/1_thread"
        } else {
            "counter_inc_2_enum_labels/2_threads"
        });
        timing(&mut group, threads);

        bench_op(&mut group, "ours_get", threads, || {
            m.ours_counters.get(black_box(GET_OK)).inc();
        });
        let ours = m.ours_counters.get(GET_OK).clone();
        bench_op(&mut group, "ours_resolved", threads, || {
            ours.inc();
        });
        bench_op(&mut group, "ours_striped_get", threads, || {
            m.ours_striped_counters.get(black_box(GET_OK)).inc();
        });
        let striped = m.ours_striped_counters.get(GET_OK).clone();
        bench_op(&mut group, "ours_striped_resolved", threads, || {
            striped.inc();
        });
        bench_op(&mut group, "ours_exemplar_get", threads, || {
            m.ours_exemplar_counters.get(black_box(GET_OK)).inc();
        });
        let exemplar = m.ours_exemplar_counters.get(GET_OK).clone();
        bench_op(&mut group, "ours_exemplar_resolved", threads, || {
            exemplar.inc();
        });
        bench_op(
            &mut group,
            "prometheus_client_get_or_create",
            threads,
            || {
                m.pc_counters.get_or_create(black_box(&GET_OK)).inc();
            },
        );
        let pc = m.pc_counters.get_or_create_owned(&GET_OK);
        bench_op(&mut group, "prometheus_client_resolved", threads, || {
            pc.inc();
        });
        bench_op(&mut group, "metrics_counter_macro", threads, || {
            metrics::counter!("bench_requests_total", "method" => "get", "status" => "ok")
                .increment(1);
        });
        bench_op(&mut group, "measured_counter_vec", threads, || {
            m.measured_counters.inc(black_box(MEASURED_GET_OK));
        });
        if threads == 2 {
            // Not the same series: thread 0 increments get/ok, thread 1
            // get/error, the neighbouring series in each family. Shows
            // whether distinct series share a cache line (false sharing).
            let ours = [GET_OK, GET_ERROR].map(|l| m.ours_counters.get(l).clone());
            group.bench_function("ours_resolved_adjacent_series", |b| {
                b.iter_custom(|iters| {
                    on_two_threads(iters, |t| {
                        ours[t].inc();
                    })
                })
            });
            let measured = [MEASURED_GET_OK, MEASURED_GET_ERROR];
            group.bench_function("measured_counter_vec_adjacent_series", |b| {
                b.iter_custom(|iters| {
                    on_two_threads(iters, |t| m.measured_counters.inc(black_box(measured[t])))
                })
            });
        }
        group.finish();
    }
    metrics_handle.run_upkeep();
}

fn counter_plus_histogram(c: &mut Criterion) {
    let m = Contenders::new();
    let metrics_handle = metrics_handle();
    for threads in [1, 2] {
        let mut group = c.benchmark_group(if threads == 1 {
            "counter_plus_histogram/1_thread"
        } else {
            "counter_plus_histogram/2_threads"
        });
        timing(&mut group, threads);

        bench_op(&mut group, "ours_get", threads, || {
            let labels = black_box(GET_OK);
            m.ours_counters.get(labels).inc();
            m.ours_histograms
                .get(labels)
                .observe(black_box(LATENCY_SAMPLE));
        });
        let counter = m.ours_counters.get(GET_OK).clone();
        let histogram = m.ours_histograms.get(GET_OK).clone();
        bench_op(&mut group, "ours_resolved", threads, || {
            counter.inc();
            histogram.observe(black_box(LATENCY_SAMPLE));
        });
        bench_op(&mut group, "ours_striped_get", threads, || {
            let labels = black_box(GET_OK);
            m.ours_striped_counters.get(labels).inc();
            m.ours_striped_histograms
                .get(labels)
                .observe(black_box(LATENCY_SAMPLE));
        });
        let striped_counter = m.ours_striped_counters.get(GET_OK).clone();
        let striped_histogram = m.ours_striped_histograms.get(GET_OK).clone();
        bench_op(&mut group, "ours_striped_resolved", threads, || {
            striped_counter.inc();
            striped_histogram.observe(black_box(LATENCY_SAMPLE));
        });
        bench_op(
            &mut group,
            "prometheus_client_get_or_create",
            threads,
            || {
                let labels = black_box(&GET_OK);
                m.pc_counters.get_or_create(labels).inc();
                m.pc_histograms
                    .get_or_create(labels)
                    .observe(black_box(LATENCY_SAMPLE));
            },
        );
        let pc_counter = m.pc_counters.get_or_create_owned(&GET_OK);
        let pc_histogram = m.pc_histograms.get_or_create_owned(&GET_OK);
        bench_op(&mut group, "prometheus_client_resolved", threads, || {
            pc_counter.inc();
            pc_histogram.observe(black_box(LATENCY_SAMPLE));
        });
        // `histogram!` appends the raw value to a lock-free buffer; the
        // recorder sorts values into buckets at scrape or upkeep, which runs
        // here between samples, outside the timed loop.
        let metrics_op = || {
            metrics::counter!("bench_requests_total", "method" => "get", "status" => "ok")
                .increment(1);
            metrics::histogram!(
                "bench_request_duration_seconds", "method" => "get", "status" => "ok"
            )
            .record(black_box(LATENCY_SAMPLE));
        };
        group.bench_function("metrics_macros", |b| {
            b.iter_custom(|iters| {
                let elapsed = if threads == 1 {
                    let start = Instant::now();
                    for _ in 0..iters {
                        metrics_op();
                    }
                    start.elapsed()
                } else {
                    on_two_threads(iters, |_| metrics_op())
                };
                metrics_handle.run_upkeep();
                elapsed
            });
        });
        bench_op(&mut group, "measured_vecs", threads, || {
            let labels = black_box(MEASURED_GET_OK);
            m.measured_counters.inc(labels);
            m.measured_histograms
                .observe(labels, black_box(LATENCY_SAMPLE));
        });
        group.finish();
    }
}

fn dynamic_get_or_create(c: &mut Criterion) {
    const SERIES: usize = 1_000;
    let registry = Registry::new();
    let ours: DynamicFamily<Token, Counter> = registry
        .register("bench_dynamic_swaps_total", "Swaps seen, by token")
        .expect("register dynamic family");
    let ours_idle: DynamicFamily<Token, Counter> = registry
        .register_with(
            "bench_dynamic_idle_swaps_total",
            "Swaps seen, by token",
            MetricOptions::new().idle_timeout(Duration::from_secs(3600)),
        )
        .expect("register dynamic family with idle timeout");
    let pc = prometheus_client::metrics::family::Family::<Token, Counter>::default();
    for i in 0..SERIES {
        let labels = Token { token: token(i) };
        ours.get_or_create(&labels);
        ours_idle.get_or_create(&labels);
        drop(pc.get_or_create(&labels));
    }
    let labels = Token {
        token: token(SERIES / 2),
    };
    for threads in [1, 2] {
        let mut group = c.benchmark_group(if threads == 1 {
            "dynamic_get_or_create/1_thread"
        } else {
            "dynamic_get_or_create/2_threads"
        });
        timing(&mut group, threads);
        bench_op(&mut group, "ours", threads, || {
            ours.get_or_create(black_box(&labels)).inc();
        });
        bench_op(&mut group, "ours_idle_timeout", threads, || {
            ours_idle.get_or_create(black_box(&labels)).inc();
        });
        bench_op(&mut group, "ours_with", threads, || {
            ours.with(black_box(&labels), |c| c.inc());
        });
        bench_op(&mut group, "ours_with_idle_timeout", threads, || {
            ours_idle.with(black_box(&labels), |c| c.inc());
        });
        bench_op(
            &mut group,
            "prometheus_client_get_or_create",
            threads,
            || {
                pc.get_or_create(black_box(&labels)).inc();
            },
        );
        if threads == 2 {
            // Each thread its own series: what two threads cost each other
            // when they share no series (the machine, not the family).
            let own = [SERIES / 2, SERIES / 2 + 1].map(|i| Token { token: token(i) });
            group.bench_function("ours_distinct_series", |b| {
                b.iter_custom(|iters| {
                    on_two_threads(iters, |t| {
                        ours.get_or_create(black_box(&own[t])).inc();
                    })
                })
            });
            group.bench_function("ours_with_distinct_series", |b| {
                b.iter_custom(|iters| {
                    on_two_threads(iters, |t| {
                        ours.with(black_box(&own[t]), |c| c.inc());
                    })
                })
            });
        }
        group.finish();
    }
}

/// The token label of series `i`: an address-like 42-byte string.
fn token(i: usize) -> String {
    format!("0x{i:040x}")
}

fn encode(c: &mut Criterion) {
    let sizes: [(&str, usize); 2] = if test_mode() {
        [("10k", 100), ("100k", 1_000)]
    } else {
        [("10k", 10_000), ("100k", 100_000)]
    };
    for (label, n) in sizes {
        let mut group = c.benchmark_group(format!("encode/{label}"));
        group
            .throughput(Throughput::Elements(n as u64))
            .sample_size(10)
            .warm_up_time(Duration::from_millis(500))
            .measurement_time(Duration::from_secs(if n > 10_000 { 6 } else { 3 }));

        // Ours: a DynamicFamily holding n series.
        let registry = Registry::new();
        let family: DynamicFamily<Token, Counter> = registry
            .register_with(
                "token_swaps_total",
                "Swaps seen, by token",
                MetricOptions::new().max_series(n),
            )
            .expect("register dynamic family");
        for i in 0..n {
            family.get_or_create(&Token { token: token(i) }).inc();
        }
        let mut buf = String::new();
        registry
            .encode(Format::Prometheus, &mut buf)
            .expect("encode");
        check_exposition("ours", &buf, n);
        group.bench_function("ours", |b| {
            b.iter(|| {
                registry
                    .encode(Format::Prometheus, &mut buf)
                    .expect("encode");
                black_box(buf.len())
            });
        });

        // prometheus-client: the same-shaped Family in its own registry.
        let mut pc_registry = prometheus_client::registry::Registry::default();
        let pc_family = prometheus_client::metrics::family::Family::<Token, Counter>::default();
        pc_registry.register("token_swaps", "Swaps seen, by token", pc_family.clone());
        for i in 0..n {
            pc_family.get_or_create(&Token { token: token(i) }).inc();
        }
        let mut pc_buf = String::new();
        prometheus_client::encoding::prometheus_text::encode(&mut pc_buf, &pc_registry)
            .expect("encode");
        check_exposition("prometheus-client", &pc_buf, n);
        group.bench_function("prometheus_client", |b| {
            b.iter(|| {
                pc_buf.clear();
                prometheus_client::encoding::prometheus_text::encode(&mut pc_buf, &pc_registry)
                    .expect("encode");
                black_box(pc_buf.len())
            });
        });

        // metrics-exporter-prometheus: a recorder of its own (not the global
        // one), filled through the macros.
        let recorder = metrics_exporter_prometheus::PrometheusBuilder::new().build_recorder();
        metrics::with_local_recorder(&recorder, || {
            metrics::describe_counter!("token_swaps_total", "Swaps seen, by token");
            for i in 0..n {
                metrics::counter!("token_swaps_total", "token" => token(i)).increment(1);
            }
        });
        let handle = recorder.handle();
        check_exposition("metrics-exporter-prometheus", &handle.render(), n);
        group.bench_function("metrics_exporter_prometheus", |b| {
            b.iter(|| black_box(handle.render().len()));
        });

        // measured: a CounterVec with a dynamic (interned) label set.
        let measured_group = MeasuredTokens {
            token_swaps_total: measured::CounterVec::with_label_set(
                measured_labels::TokenSet::new(measured::lasso::ThreadedRodeo::new()),
            ),
        };
        for i in 0..n {
            let token = token(i);
            measured_group
                .token_swaps_total
                .inc(measured_labels::Token { token: &token });
        }
        let mut encoder = measured::text::BufferedTextEncoder::new();
        measured_encode(&measured_group, &mut encoder);
        check_exposition(
            "measured",
            std::str::from_utf8(&encoder.finish()).expect("utf-8"),
            n,
        );
        group.bench_function("measured", |b| {
            b.iter(|| {
                measured_encode(&measured_group, &mut encoder);
                black_box(encoder.finish().len())
            });
        });

        group.finish();
    }
}

fn encode_mixed(c: &mut Criterion) {
    let (counters, histograms) = if test_mode() {
        (100, 10)
    } else {
        (10_000, 1_000)
    };
    let mut group = c.benchmark_group("encode_mixed/10k_counters_1k_histograms");
    group
        .throughput(Throughput::Elements((counters + histograms) as u64))
        .sample_size(20)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(4));
    // The same values in both: counter i at i, histogram i with two
    // observations.
    let observations = |i: usize| [LATENCY_SAMPLE, 0.05 + (i % 100) as f64 / 100.0];

    let registry = Registry::new();
    let ours_counters: DynamicFamily<Token, Counter> = registry
        .register_with(
            "token_swaps_total",
            "Swaps seen, by token",
            MetricOptions::new().max_series(counters),
        )
        .expect("register counter family");
    let ours_histograms: DynamicFamily<Token, Histogram> = registry
        .register_with(
            "token_swap_duration_seconds",
            "Time to process a swap, by token",
            MetricOptions::new()
                .max_series(histograms)
                .buckets(Buckets::latency()),
        )
        .expect("register histogram family");
    let mut pc_registry = prometheus_client::registry::Registry::default();
    let pc_counters = prometheus_client::metrics::family::Family::<Token, Counter>::default();
    let pc_histograms =
        prometheus_client::metrics::family::Family::<Token, PcHistogram, _>::new_with_constructor(
            pc_histogram as fn() -> PcHistogram,
        );
    pc_registry.register("token_swaps", "Swaps seen, by token", pc_counters.clone());
    pc_registry.register_with_unit(
        "token_swap_duration",
        "Time to process a swap, by token",
        prometheus_client::registry::Unit::Seconds,
        pc_histograms.clone(),
    );
    for i in 0..counters {
        let labels = Token { token: token(i) };
        ours_counters.get_or_create(&labels).inc_by(i as u64);
        pc_counters.get_or_create(&labels).inc_by(i as u64);
    }
    for i in 0..histograms {
        let labels = Token { token: token(i) };
        for v in observations(i) {
            ours_histograms.get_or_create(&labels).observe(v);
            pc_histograms.get_or_create(&labels).observe(v);
        }
    }

    let mut buf = String::new();
    registry
        .encode(Format::Prometheus, &mut buf)
        .expect("encode");
    let mut pc_buf = String::new();
    prometheus_client::encoding::prometheus_text::encode(&mut pc_buf, &pc_registry)
        .expect("encode");
    for (who, text) in [("ours", &buf), ("prometheus-client", &pc_buf)] {
        check_exposition(who, text, counters);
        let buckets = text
            .lines()
            .filter(|l| l.starts_with("token_swap_duration_seconds_bucket{"))
            .count();
        assert_eq!(buckets, histograms * (LATENCY_BUCKETS + 1), "{who}");
    }
    // The same lines, but for our `alerting_series_overflow_total`.
    let sorted = |text: &str| {
        let mut lines: Vec<String> = text
            .lines()
            .filter(|l| !l.contains("alerting_series_overflow"))
            .map(str::to_owned)
            .collect();
        lines.sort_unstable();
        lines
    };
    assert!(
        sorted(&buf) == sorted(&pc_buf),
        "ours and prometheus-client's expositions differ"
    );

    group.bench_function("ours", |b| {
        b.iter(|| {
            registry
                .encode(Format::Prometheus, &mut buf)
                .expect("encode");
            black_box(buf.len())
        });
    });
    group.bench_function("prometheus_client", |b| {
        b.iter(|| {
            pc_buf.clear();
            prometheus_client::encoding::prometheus_text::encode(&mut pc_buf, &pc_registry)
                .expect("encode");
            black_box(pc_buf.len())
        });
    });
    group.finish();
}

#[derive(measured::MetricGroup)]
struct MeasuredTokens {
    /// Swaps seen, by token
    token_swaps_total: measured::CounterVec<measured_labels::TokenSet>,
}

fn measured_encode(group: &MeasuredTokens, encoder: &mut measured::text::BufferedTextEncoder) {
    use measured::MetricGroup as _;
    match group.collect_group_into(encoder) {
        Ok(()) => {}
        Err(never) => match never {},
    }
}

/// Checks that an exposition holds the `n` token series, so every contender
/// writes the same thing.
fn check_exposition(who: &str, text: &str, n: usize) {
    let series = text
        .lines()
        .filter(|l| l.starts_with("token_swaps_total{"))
        .count();
    assert_eq!(
        series,
        n,
        "{who}: expected {n} series in\n{}",
        &text[..text.len().min(500)]
    );
}

criterion_group! {
    name = benches;
    config = Criterion::default();
    targets = counter_inc, counter_plus_histogram, dynamic_get_or_create, encode_mixed, encode
}
criterion_main!(benches);
