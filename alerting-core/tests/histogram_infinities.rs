//! ±Inf and NaN observed into the histograms: `+Inf` is counted in the
//! `+Inf` bucket, `-Inf` in the first bucket, neither is added to `_sum`
//! (which would become infinite for good, then NaN once both signs were
//! seen); NaN is ignored. Checked on the encoded lines, exactly.

use alerting_core::metrics::{
    Buckets, Format, Histogram, MetricOptions, Registry, StripedHistogram,
};

/// Finite values, then the non-finite ones, then finite ones again.
const VALUES: [f64; 9] = [
    0.25,
    f64::INFINITY,
    f64::NEG_INFINITY,
    f64::NAN,
    -f64::NAN,
    3.0,
    f64::INFINITY,
    f64::NEG_INFINITY,
    0.5,
];

/// What both histogram types encode for `VALUES` with bounds 0.5 and 2:
/// `_sum` is 0.25 + 3 + 0.5; `_count` is 7 (the two NaN left out); the
/// first bucket holds 0.25, 0.5 and both `-Inf`, the `+Inf` bucket
/// everything.
const EXPECTED: &str = "\
# HELP work_seconds Work.
# TYPE work_seconds histogram
work_seconds_bucket{le=\"0.5\"} 4
work_seconds_bucket{le=\"2\"} 4
work_seconds_bucket{le=\"+Inf\"} 7
work_seconds_sum 3.75
work_seconds_count 7
";

fn options() -> MetricOptions {
    MetricOptions::new().buckets(Buckets::new([0.5, 2.0]).unwrap())
}

/// The Prometheus text exposition.
fn encoded(registry: &Registry) -> String {
    registry.encode_to_string(Format::Prometheus).unwrap()
}

#[test]
fn histogram_counts_infinities_and_keeps_a_finite_sum() {
    let registry = Registry::new();
    let h: Histogram = registry
        .register_with("work_seconds", "Work", options())
        .unwrap();
    for v in VALUES {
        h.observe(v);
    }
    assert_eq!(encoded(&registry), EXPECTED);
    assert_eq!(h.sum(), 3.75);
    assert_eq!(h.count(), 7);
    assert_eq!(h.bucket_counts(), vec![4, 4, 7]);
}

#[test]
fn striped_histogram_counts_infinities_and_keeps_a_finite_sum() {
    let registry = Registry::new();
    let h: StripedHistogram = registry
        .register_with("work_seconds", "Work", options())
        .unwrap();
    // From several threads, so that several stripes see each kind.
    std::thread::scope(|s| {
        for _ in 0..4 {
            s.spawn(|| {
                for v in VALUES {
                    h.observe(v);
                }
            });
        }
    });
    let text = encoded(&registry);
    let expected = EXPECTED
        .replace("_sum 3.75", "_sum 15.0")
        .replace("_count 7", "_count 28")
        .replace("} 4\n", "} 16\n")
        .replace("} 7\n", "} 28\n");
    assert_eq!(text, expected);
    assert_eq!(h.sum(), 15.0);
    assert_eq!(h.bucket_counts(), vec![16, 16, 28]);
}

#[test]
fn only_infinities_leave_the_sum_at_zero() {
    for striped in [false, true] {
        let registry = Registry::new();
        let observe: Box<dyn Fn(f64)> = if striped {
            let h: StripedHistogram = registry
                .register_with("work_seconds", "Work", options())
                .unwrap();
            Box::new(move |v| h.observe(v))
        } else {
            let h: Histogram = registry
                .register_with("work_seconds", "Work", options())
                .unwrap();
            Box::new(move |v| h.observe(v))
        };
        observe(f64::INFINITY);
        observe(f64::NEG_INFINITY);
        observe(f64::NAN);
        let text = encoded(&registry);
        assert!(text.contains("work_seconds_sum 0.0\n"), "{text}");
        assert!(text.contains("work_seconds_count 2\n"), "{text}");
        assert!(
            text.contains("work_seconds_bucket{le=\"0.5\"} 1\n"),
            "{text}"
        );
        assert!(
            text.contains("work_seconds_bucket{le=\"+Inf\"} 2\n"),
            "{text}"
        );
        assert!(!text.contains("NaN") && !text.contains("inf"), "{text}");
    }
}

#[test]
fn openmetrics_sum_is_finite_too() {
    let registry = Registry::new();
    let h: Histogram = registry
        .register_with("work_seconds", "Work", options())
        .unwrap();
    for v in VALUES {
        h.observe(v);
    }
    let text = registry.encode_to_string(Format::OpenMetrics).unwrap();
    assert!(text.contains("work_seconds_sum 3.75\n"), "{text}");
    assert!(text.contains("work_seconds_count 7\n"), "{text}");
}
