//! Striped metrics count exactly under threads and encode exactly as the
//! compact ones do.

use alerting_core::metrics::{
    Buckets, Counter, Family, Format, Histogram, LabelSet, LabelValue, MetricOptions, Registry,
    StripedCounter, StripedHistogram, stripes,
};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, LabelValue)]
enum Kind {
    Swap,
    Sync,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, LabelSet)]
struct Labels {
    kind: Kind,
    ok: bool,
}

/// More threads than the largest number of stripes (16).
const THREADS: u64 = 35;
const PER_THREAD: u64 = 20_000;

fn value(t: u64, i: u64) -> f64 {
    // Multiples of 1/8: exactly representable, so sums compare exactly.
    ((t * 7 + i) % 40) as f64 / 8.0
}

#[test]
fn many_threads_sum_exactly() {
    let counter = StripedCounter::default();
    let histogram = StripedHistogram::new(Buckets::new([0.5, 1.0, 2.5]).unwrap());
    let reference = Histogram::new(Buckets::new([0.5, 1.0, 2.5]).unwrap());
    std::thread::scope(|s| {
        for t in 0..THREADS {
            let (counter, histogram, reference) = (&counter, &histogram, &reference);
            s.spawn(move || {
                for i in 0..PER_THREAD {
                    counter.inc();
                    histogram.observe(value(t, i));
                    reference.observe(value(t, i));
                }
            });
        }
    });
    assert_eq!(counter.get(), THREADS * PER_THREAD);
    assert_eq!(histogram.count(), THREADS * PER_THREAD);
    assert_eq!(histogram.bucket_counts(), reference.bucket_counts());
    let exact: f64 = (0..THREADS)
        .flat_map(|t| (0..PER_THREAD).map(move |i| value(t, i)))
        .sum();
    assert_eq!(histogram.sum(), exact);
    assert_eq!(reference.sum(), exact);
}

#[test]
fn striped_families_encode_like_compact_ones() {
    let striped = Registry::new();
    let compact = Registry::new();
    let opts = || MetricOptions::new().buckets(Buckets::latency());
    let sc: Family<Labels, StripedCounter> = striped.register("events_total", "Events").unwrap();
    let sh: Family<Labels, StripedHistogram> = striped
        .register_with("event_seconds", "Time", opts())
        .unwrap();
    let cc: Family<Labels, Counter> = compact.register("events_total", "Events").unwrap();
    let ch: Family<Labels, Histogram> = compact
        .register_with("event_seconds", "Time", opts())
        .unwrap();
    std::thread::scope(|s| {
        for t in 0..4u64 {
            let (sc, sh, cc, ch) = (&sc, &sh, &cc, &ch);
            s.spawn(move || {
                for i in 0..5_000u64 {
                    let labels = Labels {
                        kind: if i % 3 == 0 { Kind::Sync } else { Kind::Swap },
                        ok: (i + t) % 5 != 0,
                    };
                    let v = value(t, i) / 100.0;
                    sc.get(labels).inc();
                    cc.get(labels).inc();
                    sh.get(labels).observe(v);
                    ch.get(labels).observe(v);
                }
            });
        }
    });
    for format in [Format::Prometheus, Format::OpenMetrics] {
        let a = striped.encode_to_string(format).unwrap();
        let b = compact.encode_to_string(format).unwrap();
        // Sums may differ in the last bits (added in another order): compare
        // every line but the sums exactly, and the sums numerically.
        let (a_lines, b_lines): (Vec<&str>, Vec<&str>) = (a.lines().collect(), b.lines().collect());
        assert_eq!(a_lines.len(), b_lines.len());
        for (x, y) in a_lines.iter().zip(&b_lines) {
            if x.contains("_sum{") {
                let xv: f64 = x.rsplit(' ').next().unwrap().parse().unwrap();
                let yv: f64 = y.rsplit(' ').next().unwrap().parse().unwrap();
                assert!((xv - yv).abs() <= 1e-9 * yv.abs().max(1.0), "{x} vs {y}");
            } else {
                assert_eq!(x, y, "{format:?}");
            }
        }
    }
}

#[test]
fn memory_per_series_is_fixed() {
    // Spawning many threads does not grow a striped series.
    let counter = StripedCounter::default();
    std::thread::scope(|s| {
        for _ in 0..64 {
            s.spawn(|| counter.inc());
        }
    });
    assert_eq!(counter.get(), 64);
    let n = stripes();
    assert!(n.is_power_of_two() && (2..=16).contains(&n), "{n} stripes");
}
