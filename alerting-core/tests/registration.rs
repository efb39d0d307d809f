//! Registration checks: each rule is a typed error that names the metric.

use alerting_core::metrics::{
    Buckets, Counter, DynamicFamily, Family, Gauge, Histogram, LabelSet, LabelValue, MetricOptions,
    MetricsError, Registry,
};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, LabelValue)]
enum Method {
    Get,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, LabelSet)]
struct MethodLabels {
    method: Method,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, LabelSet)]
struct ServiceLabel {
    service: Method,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, LabelSet)]
struct Path {
    path: String,
}

fn err<M: alerting_core::metrics::Metric>(registry: &Registry, name: &str) -> MetricsError {
    registry
        .register::<M>(name, "Some help")
        .expect_err("registration should fail")
}

#[test]
fn names_must_be_snake_case() {
    let r = Registry::new();
    for bad in [
        "Requests_total",
        "requests-total",
        "1st_total",
        "a__b_total",
        "x_total_",
        "",
        "ünï_total",
    ] {
        let e = err::<Counter>(&r, bad);
        assert!(
            matches!(e, MetricsError::NotSnakeCase { ref name } if name == bad),
            "{bad}: {e}"
        );
        assert!(e.to_string().contains("must be snake_case"), "{e}");
    }
}

#[test]
fn counters_end_in_total_and_only_counters_do() {
    let r = Registry::new();
    let e = err::<Counter>(&r, "requests");
    assert_eq!(
        e.to_string(),
        "counter `requests`: counter names must end in `_total`"
    );
    let e = err::<Gauge>(&r, "connections_total");
    assert_eq!(
        e.to_string(),
        "gauge `connections_total`: only counters end in `_total`"
    );
    let e = err::<Histogram>(&r, "latency_seconds_total");
    assert!(matches!(e, MetricsError::TotalOnNonCounter { .. }), "{e}");
    let e = err::<Histogram>(&r, "latency_seconds_count");
    assert!(
        matches!(
            e,
            MetricsError::ReservedSuffix {
                suffix: "_count",
                ..
            }
        ),
        "{e}"
    );
}

#[test]
fn units_are_base_units_at_the_end() {
    let r = Registry::new();
    let e = err::<Histogram>(&r, "request_duration_ms");
    assert_eq!(
        e.to_string(),
        "metric `request_duration_ms`: `ms` is not a base unit, use `seconds`"
    );
    let e = err::<Gauge>(&r, "heap_kb");
    assert!(
        matches!(e, MetricsError::NonBaseUnit { base: "bytes", .. }),
        "{e}"
    );
    let e = err::<Gauge>(&r, "cpu_percent");
    assert!(
        matches!(e, MetricsError::NonBaseUnit { base: "ratio", .. }),
        "{e}"
    );
    let e = err::<Histogram>(&r, "request_seconds_duration");
    assert_eq!(
        e.to_string(),
        "metric `request_seconds_duration`: the unit `seconds` must end the name (before `_total` on a counter)"
    );
    // Words that merely contain a unit are fine, and so is a unit before `_total`.
    r.register::<Counter>("sms_sent_total", "SMS sent")
        .expect("sms is not ms");
    r.register::<Counter>("busy_seconds_total", "Busy time")
        .expect("unit before _total");
}

#[test]
fn the_type_is_not_part_of_the_name() {
    let r = Registry::new();
    let e = err::<Gauge>(&r, "connections_gauge");
    assert_eq!(
        e.to_string(),
        "metric `connections_gauge`: the name must not contain the metric type (`gauge`)"
    );
    let e = err::<Counter>(&r, "requests_counter_total");
    assert!(matches!(e, MetricsError::TypeInName { .. }), "{e}");
}

#[test]
fn help_must_not_be_empty() {
    let r = Registry::new();
    let e = r.register::<Counter>("requests_total", "  ").unwrap_err();
    assert_eq!(
        e.to_string(),
        "metric `requests_total`: help text must not be empty"
    );
}

#[test]
fn no_name_or_sample_name_twice() {
    let r = Registry::new();
    let _: Histogram = r.register("latency_seconds", "Latency").unwrap();
    let e = r
        .register::<Histogram>("latency_seconds", "Again")
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "metric `latency_seconds`: `latency_seconds` is already written by `latency_seconds`"
    );
    // A gauge named like one of a histogram's samples collides too.
    let _: Histogram = r
        .register_with(
            "queue_depth",
            "Depth",
            MetricOptions::new().buckets(Buckets::linear(0.0, 10.0, 5).unwrap()),
        )
        .unwrap();
    let e = r
        .register::<Gauge>("queue_depth_bucket", "Clash")
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "metric `queue_depth_bucket`: `queue_depth_bucket` is already written by `queue_depth`"
    );
    // A failed registration leaves the registry usable.
    let _: Counter = r.register("requests_total", "Requests").unwrap();
}

#[test]
fn label_names_are_checked() {
    let r = Registry::builder()
        .const_label("service", "x")
        .build()
        .unwrap();
    let e = r
        .register::<Family<ServiceLabel, Counter>>("a_total", "A")
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "metric `a_total`: label `service` appears twice (in the label set or among the constant labels)"
    );
    let e = Registry::builder()
        .const_label("le", "1")
        .build()
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "metric `const labels`: label name `le` is reserved"
    );
    let e = Registry::builder()
        .const_label("__name", "1")
        .build()
        .unwrap_err();
    assert!(matches!(e, MetricsError::ReservedLabel { .. }), "{e}");
    let e = Registry::builder()
        .const_label("bad-name", "1")
        .build()
        .unwrap_err();
    assert!(matches!(e, MetricsError::InvalidLabelName { .. }), "{e}");
    let e = Registry::builder()
        .const_label("instance", "a")
        .const_label("instance", "b")
        .build()
        .unwrap_err();
    assert!(matches!(e, MetricsError::DuplicateLabel { .. }), "{e}");
    r.register::<Family<MethodLabels, Counter>>("b_total", "B")
        .unwrap();
}

#[test]
fn namespace_prefixes_and_is_checked() {
    let r = Registry::builder().namespace("bsc").build().unwrap();
    let c: Counter = r.register("ws_messages_total", "Messages").unwrap();
    c.inc();
    let text = r.encode_to_string(Default::default()).unwrap();
    assert!(text.contains("bsc_ws_messages_total 1"), "{text}");
    let e = Registry::builder().namespace("Bad-NS").build().unwrap_err();
    assert!(matches!(e, MetricsError::NotSnakeCase { .. }), "{e}");
}

#[test]
fn histograms_need_buckets_unless_the_unit_says() {
    let r = Registry::new();
    let e = r.register::<Histogram>("gas_used", "Gas").unwrap_err();
    assert_eq!(
        e.to_string(),
        "histogram `gas_used`: no buckets given, and no default for a name not ending in `_seconds` or `_bytes`"
    );
    let h: Histogram = r
        .register_with(
            "gas_used",
            "Gas",
            MetricOptions::new().buckets(Buckets::exponential(10_000.0, 5.0, 4).unwrap()),
        )
        .unwrap();
    assert_eq!(h.bounds(), &[10_000.0, 50_000.0, 250_000.0, 1_250_000.0]);
    let h: Histogram = r.register("body_bytes", "Body size").unwrap();
    assert_eq!(h.bounds(), Buckets::sizes().bounds());
}

#[test]
fn invalid_buckets_are_errors() {
    assert_eq!(
        Buckets::new([1.0, 1.0]).unwrap_err().to_string(),
        "invalid histogram buckets: bound #1 (1) is not greater than the one before it (1)"
    );
    assert_eq!(
        Buckets::new([0.1, f64::NAN]).unwrap_err().to_string(),
        "invalid histogram buckets: bound #1 is NaN, bounds must be finite (+Inf is implicit)"
    );
    assert_eq!(
        Buckets::new([0.1, f64::INFINITY]).unwrap_err().to_string(),
        "invalid histogram buckets: bound #1 is inf, bounds must be finite (+Inf is implicit)"
    );
    assert_eq!(
        Buckets::new([]).unwrap_err().to_string(),
        "invalid histogram buckets: no buckets given"
    );
    assert!(Buckets::linear(0.0, 0.0, 3).is_err());
    assert!(Buckets::linear(0.0, 1.0, 0).is_err());
    assert!(Buckets::exponential(0.0, 2.0, 3).is_err());
    assert!(Buckets::exponential(1.0, 1.0, 3).is_err());
    assert!(Buckets::exponential(1.0, 1e300, 5).is_err()); // overflows to +Inf
    assert!(Buckets::new((0..300).map(f64::from)).is_err());
}

#[test]
fn dynamic_family_limit_must_be_positive() {
    let r = Registry::new();
    let e = r
        .register_with::<DynamicFamily<Path, Counter>>(
            "hits_total",
            "Hits",
            MetricOptions::new().max_series(0),
        )
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "metric `hits_total`: max_series must be at least 1"
    );
}

#[test]
fn global_registry_is_set_once() {
    let mine = Registry::builder()
        .const_label("service", "global-test")
        .build()
        .unwrap();
    // Either this test sets it first, or something already used it; both are
    // handled without panicking, and a second set always fails.
    let first = Registry::set_global(mine);
    let again = Registry::set_global(Registry::new());
    assert!(matches!(again, Err(MetricsError::GlobalAlreadySet)));
    if first.is_ok() {
        assert_eq!(Registry::global().const_labels()[0].1, "global-test");
    }
}
