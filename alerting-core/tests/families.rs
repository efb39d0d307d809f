//! Families behave like prometheus-client's own types fed the same values,
//! and dynamic families stay bounded.

use alerting_core::metrics::{
    Buckets, Counter, DynamicFamily, Family, Format, Histogram, LabelSet, LabelValue,
    MetricOptions, Outcome, Registry,
};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, LabelValue)]
enum Chain {
    Bsc,
    Sol,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, LabelSet)]
struct Call {
    chain: Chain,
    outcome: Outcome,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, LabelSet)]
struct Batch {
    batch_id: String,
}

fn sorted_lines(text: &str) -> Vec<&str> {
    let mut lines: Vec<&str> = text.lines().collect();
    lines.sort_unstable();
    lines
}

#[test]
fn histogram_encodes_like_prometheus_client() {
    let bounds = [0.005, 0.05, 0.5, 5.0];
    let values = [0.001, 0.005, 0.02, 0.3, 0.3, 4.0, 9.5];

    let ours = Registry::new();
    let h: Histogram = ours
        .register_with(
            "work_seconds",
            "Work",
            MetricOptions::new().buckets(Buckets::new(bounds).unwrap()),
        )
        .unwrap();
    let mut reference = prometheus_client::registry::Registry::default();
    let theirs = prometheus_client::metrics::histogram::Histogram::new(bounds);
    reference.register_with_unit(
        "work",
        "Work",
        prometheus_client::registry::Unit::Seconds,
        theirs.clone(),
    );
    for v in values {
        h.observe(v);
        theirs.observe(v);
    }
    for format in [Format::Prometheus, Format::OpenMetrics] {
        let a = ours.encode_to_string(format).unwrap();
        let mut b = String::new();
        match format {
            Format::Prometheus => {
                prometheus_client::encoding::prometheus_text::encode(&mut b, &reference).unwrap()
            }
            _ => prometheus_client::encoding::text::encode(&mut b, &reference).unwrap(),
        }
        assert_eq!(a, b, "{format:?}");
    }
    assert_eq!(h.count(), 7);
    assert_eq!(h.bucket_counts(), vec![2, 3, 5, 6, 7]);
}

/// Around the number of buckets encoded without an allocation (31 bounds
/// and `+Inf`), and far past it.
#[test]
fn histograms_of_many_buckets_encode_like_prometheus_client() {
    for n in [1, 30, 31, 32, 100] {
        let bounds: Vec<f64> = (1..=n).map(|i| f64::from(i) * 0.01).collect();
        let ours = Registry::new();
        let h: Histogram = ours
            .register_with(
                "work_seconds",
                "Work",
                MetricOptions::new().buckets(Buckets::new(bounds.clone()).unwrap()),
            )
            .unwrap();
        let mut reference = prometheus_client::registry::Registry::default();
        let theirs = prometheus_client::metrics::histogram::Histogram::new(bounds.iter().copied());
        reference.register_with_unit(
            "work",
            "Work",
            prometheus_client::registry::Unit::Seconds,
            theirs.clone(),
        );
        for i in 0..=(n + 2) {
            let v = f64::from(i) * 0.0099;
            h.observe(v);
            theirs.observe(v);
        }
        let mut expected = String::new();
        prometheus_client::encoding::prometheus_text::encode(&mut expected, &reference).unwrap();
        assert_eq!(
            ours.encode_to_string(Format::Prometheus).unwrap(),
            expected,
            "{n} bounds"
        );
    }
}

#[test]
fn enum_family_has_every_series_from_the_start() {
    let r = Registry::new();
    let calls: Family<Call, Counter> = r.register("rpc_calls_total", "RPC calls").unwrap();
    calls
        .get(Call {
            chain: Chain::Sol,
            outcome: Outcome::Timeout,
        })
        .inc_by(3);
    let text = r.encode_to_string(Format::Prometheus).unwrap();
    let samples: Vec<&str> = text.lines().filter(|l| !l.starts_with('#')).collect();
    assert_eq!(samples.len(), 2 * 5, "{text}");
    assert!(
        text.contains(r#"rpc_calls_total{chain="sol",outcome="timeout"} 3"#),
        "{text}"
    );
    assert!(
        text.contains(r#"rpc_calls_total{chain="bsc",outcome="ok"} 0"#),
        "{text}"
    );
    // iter() walks every label set once, in index order.
    let seen: Vec<Call> = calls.iter().map(|(l, _)| l).collect();
    assert_eq!(seen.len(), 10);
    assert_eq!(
        seen[0],
        Call {
            chain: Chain::Bsc,
            outcome: Outcome::Ok
        }
    );
}

#[test]
fn enum_family_encodes_like_prometheus_client_family() {
    let ours = Registry::new();
    let fam: Family<Call, Counter> = ours.register("rpc_calls_total", "RPC calls").unwrap();
    let mut reference = prometheus_client::registry::Registry::default();
    let theirs = prometheus_client::metrics::family::Family::<Call, Counter>::default();
    reference.register("rpc_calls", "RPC calls", theirs.clone());
    // prometheus-client only writes series it has seen: touch them all.
    for (i, (labels, series)) in fam.iter().enumerate() {
        series.inc_by(i as u64);
        theirs.get_or_create(&labels).inc_by(i as u64);
    }
    let a = ours.encode_to_string(Format::Prometheus).unwrap();
    let mut b = String::new();
    prometheus_client::encoding::prometheus_text::encode(&mut b, &reference).unwrap();
    assert_eq!(sorted_lines(&a), sorted_lines(&b));
}

#[test]
fn dynamic_family_is_bounded_and_counts_what_it_folds() {
    let r = Registry::new();
    let data: DynamicFamily<Batch, Counter> = r
        .register_with(
            "ws_data_received_total",
            "Data frames",
            MetricOptions::new().max_series(100),
        )
        .unwrap();
    for i in 0..10_000 {
        data.get_or_create(&Batch {
            batch_id: format!("batch-{i}"),
        })
        .inc();
    }
    // An existing series is still found after the limit is reached.
    data.get_or_create(&Batch {
        batch_id: "batch-7".into(),
    })
    .inc();
    assert_eq!(data.len(), 100);
    assert_eq!(data.overflow().get(), 9_900);
    let text = r.encode_to_string(Format::Prometheus).unwrap();
    assert!(
        text.contains(r#"ws_data_received_total{batch_id="batch-7"} 2"#),
        "{text}"
    );
    assert!(
        text.contains(r#"ws_data_received_total{batch_id="__overflow__"} 9900"#),
        "{text}"
    );
    assert!(
        text.contains(r#"alerting_series_overflow_total{metric="ws_data_received_total"} 9900"#),
        "{text}"
    );
    let samples = text
        .lines()
        .filter(|l| l.starts_with("ws_data_received_total"))
        .count();
    assert_eq!(samples, 101);
}

#[test]
fn handles_share_their_series() {
    let r = Registry::new();
    let fam: Family<Call, Counter> = r.register("x_total", "X").unwrap();
    let labels = Call {
        chain: Chain::Bsc,
        outcome: Outcome::Error,
    };
    let handle = fam.get(labels).clone();
    let clone = fam.clone();
    handle.inc();
    clone.get(labels).inc();
    assert_eq!(fam.get(labels).get(), 2);
}

#[test]
fn histogram_counts_are_exact_under_threads() {
    let h = Histogram::new(Buckets::new([1.0, 2.0]).unwrap());
    std::thread::scope(|s| {
        for t in 0..4 {
            let h = h.clone();
            s.spawn(move || {
                for i in 0..10_000 {
                    h.observe(f64::from((i + t) % 3) + 0.5);
                }
            });
        }
    });
    assert_eq!(h.count(), 40_000);
    let counts = h.bucket_counts();
    assert_eq!(counts[2], 40_000);
    // Sum is exact here: every value is a multiple of 0.5.
    let expected: f64 = (0..4)
        .flat_map(|t| (0..10_000).map(move |i| f64::from((i + t) % 3) + 0.5))
        .sum();
    assert_eq!(h.sum(), expected);
    h.observe(f64::NAN);
    assert_eq!(h.count(), 40_000, "NaN is not recorded");
}

#[test]
fn openmetrics_and_text_differ_where_the_formats_do() {
    let r = Registry::new();
    let c: Counter = r.register("jobs_total", "Jobs").unwrap();
    c.inc();
    let text = r.encode_to_string(Format::Prometheus).unwrap();
    let om = r.encode_to_string(Format::OpenMetrics).unwrap();
    assert_eq!(
        text,
        "# HELP jobs_total Jobs.\n# TYPE jobs_total counter\njobs_total 1\n"
    );
    assert!(om.ends_with("# EOF\n"), "{om}");
    assert!(om.contains("# TYPE jobs counter\n"), "{om}");
    assert!(!text.contains("# EOF") && !text.contains("# UNIT") && !text.contains("_created"));
}
