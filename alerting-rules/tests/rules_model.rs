//! Rules name metrics by value, and what building cannot check is checked
//! at export: unknown labels (in `by`, matchers and `{{ $labels.x }}`),
//! functions given the wrong kind of metric, invalid SLOs.

use std::time::Duration;

use alerting_core::metrics::{
    Counter, Family, Gauge, Histogram, LabelSet, LabelValue, MetricGroup, MetricKind, Registry,
};
use alerting_rules::prelude::*;
use alerting_rules::testing::{RuleTests, TestCase};
use alerting_rules::{
    AlertRule, Expr, Matcher, MetricOrigin, MetricRef, Named, RuleFile, RuleGroup, RulesError,
    Severity, Sli, Slo, absent, builtin, error_ratio, fmt_duration, histogram_quantile, packs,
    rate,
};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, LabelValue)]
enum Method {
    Get,
    Post,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, LabelValue)]
enum Status {
    Ok,
    Error,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, LabelSet)]
struct Call {
    method: Method,
    status: Status,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, LabelSet)]
struct Route {
    method: Method,
}

#[derive(Clone, Debug, MetricGroup)]
struct Metrics {
    /// API calls.
    api_calls_total: Named<Family<Call, Counter>>,
    /// API call duration.
    #[metric(buckets = [0.1, 0.5, 1.0])]
    api_call_duration_seconds: Named<Family<Route, Histogram>>,
    /// Open connections.
    connections_active: Named<Gauge>,
}

fn five() -> Duration {
    Duration::from_secs(300)
}

fn metrics() -> (Registry, Metrics) {
    let registry = Registry::builder()
        .namespace("shop")
        .const_label("service", "shop")
        .build()
        .expect("registry");
    let m: Metrics = registry.register_group().expect("register");
    (registry, m)
}

fn export(rule: AlertRule) -> Result<String, RulesError> {
    RuleFile::new()
        .group(RuleGroup::new("test").rule(rule))
        .to_yaml()
}

#[test]
fn a_named_metric_knows_its_registered_name_kind_and_labels() {
    let (_, m) = metrics();
    let calls = m.api_calls_total.metric_ref();
    assert_eq!(calls.name(), "shop_api_calls_total");
    assert_eq!(calls.kind(), MetricKind::Counter);
    assert_eq!(calls.label_names(), ["method", "status"]);
    assert_eq!(calls.origin(), MetricOrigin::Registered);
    let duration = m.api_call_duration_seconds.metric_ref();
    assert_eq!(duration.kind(), MetricKind::Histogram);
    assert_eq!(duration.bucket_bounds(), Some(&[0.1, 0.5, 1.0][..]));
    assert_eq!(
        duration.sample_names(),
        [
            "shop_api_call_duration_seconds_bucket",
            "shop_api_call_duration_seconds_sum",
            "shop_api_call_duration_seconds_count"
        ]
    );
    // The hot path is the family's own.
    m.api_calls_total
        .get(Call {
            method: Method::Get,
            status: Status::Ok,
        })
        .inc();
    m.connections_active.set(3);
    assert_eq!(m.connections_active.get(), 3);
}

#[test]
fn a_plain_registration_still_works_beside_named_ones() {
    let registry = Registry::new();
    let plain: Counter = registry.register("plain_total", "Plain").expect("plain");
    let named: Named<Counter> = registry.register("named_total", "Named").expect("named");
    plain.inc();
    named.inc();
    let text = registry
        .encode_to_string(alerting_core::metrics::Format::Prometheus)
        .expect("encode");
    assert!(
        text.contains("plain_total 1") && text.contains("named_total 1"),
        "{text}"
    );
    // The same name cannot be registered twice, Named or not.
    assert!(
        registry
            .register::<Named<Counter>>("plain_total", "Again")
            .is_err()
    );
}

#[test]
fn expressions_render_as_promql() {
    let (_, m) = metrics();
    let calls = m.api_calls_total.metric_ref();
    let expr = error_ratio(
        calls.select().eq("status", "error"),
        calls.select(),
        five(),
        &["method"],
    )
    .gt(0.05);
    assert_eq!(
        expr.to_string(),
        r#"sum by (method) (rate(shop_api_calls_total{status="error"}[5m])) / sum by (method) (rate(shop_api_calls_total[5m])) > 0.05"#
    );
    let p95 = histogram_quantile(0.95, &m.api_call_duration_seconds, five(), &["method"]);
    assert_eq!(
        p95.to_string(),
        "histogram_quantile(0.95, sum by (le, method) (rate(shop_api_call_duration_seconds_bucket[5m])))"
    );
    let nodata = absent(calls.select().eq("method", "get"));
    assert_eq!(
        nodata.to_string(),
        r#"absent(shop_api_calls_total{method="get"})"#
    );
    // Precedence: parentheses only where PromQL needs them.
    let e = (Expr::from(calls) + 1.0) / 2.0;
    assert_eq!(e.to_string(), "(shop_api_calls_total + 1) / 2");
    let e = Expr::from(calls).gt(1.0).or(nodata);
    assert_eq!(
        e.to_string(),
        r#"shop_api_calls_total > 1 or absent(shop_api_calls_total{method="get"})"#
    );
    // Label values are escaped.
    let s = calls.select().eq("method", "a\"b\\c");
    assert_eq!(s.to_string(), r#"shop_api_calls_total{method="a\"b\\c"}"#);
}

#[test]
fn an_unknown_label_in_by_is_an_error_naming_it() {
    let (_, m) = metrics();
    let calls = m.api_calls_total.metric_ref();
    let rule = AlertRule::new(
        "HighErrorRate",
        error_ratio(calls.select(), calls.select(), five(), &["route"]).gt(0.1),
    );
    let err = export(rule).unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, RulesError::UnknownLabel { ref label, .. } if label == "route"));
    assert!(msg.contains("alert `HighErrorRate`"), "{msg}");
    assert!(msg.contains("method, status"), "{msg}");
}

#[test]
fn an_unknown_label_in_a_matcher_is_an_error() {
    let (_, m) = metrics();
    let rule = AlertRule::new(
        "X",
        Expr::from(m.connections_active.select().eq("batch_id", "3")),
    );
    assert!(matches!(
        export(rule),
        Err(RulesError::UnknownLabel { label, .. }) if label == "batch_id"
    ));
}

#[test]
fn annotations_may_only_use_labels_the_alert_has() {
    let (_, m) = metrics();
    let calls = m.api_calls_total.metric_ref();
    let by_method = || rate(calls, five()).sum_by(&["method"]).gt(1.0);
    let ok = AlertRule::new("A", by_method()).description("{{ $labels.method }}: {{ $value }}");
    export(ok).expect("method is kept by `sum by (method)`");
    // `sum by (method)` drops `status` and the target labels.
    for label in ["status", "instance"] {
        let bad = AlertRule::new("A", by_method()).summary(format!("{{{{ $labels.{label} }}}}"));
        let err = export(bad).unwrap_err();
        assert!(
            matches!(&err, RulesError::UnknownLabel { label: l, .. } if l == label),
            "{err}"
        );
        assert!(err.to_string().contains("(they have: method)"), "{err}");
    }
    // Without aggregation, the target's labels are there.
    let raw = AlertRule::new("A", Expr::from(calls).gt(1.0))
        .summary("{{ $labels.instance }} {{ $labels.job }} {{ $labels.status }}");
    export(raw).expect("instance and job are target labels");
    // A template that does not close is refused.
    let broken = AlertRule::new("A", Expr::from(calls).gt(1.0)).summary("{{ $value");
    assert!(matches!(
        export(broken),
        Err(RulesError::InvalidTemplate { .. })
    ));
}

#[test]
fn constant_labels_are_target_labels_when_the_file_knows_the_registry() {
    let (registry, m) = metrics();
    let by_service = || {
        AlertRule::new(
            "A",
            rate(&m.api_calls_total, five())
                .sum_by(&["service"])
                .gt(1.0),
        )
    };
    assert!(export(by_service()).is_err());
    RuleFile::new()
        .for_registry(&registry)
        .group(RuleGroup::new("g").rule(by_service()))
        .to_yaml()
        .expect("service is a constant label of the registry");
}

#[test]
fn functions_refuse_the_wrong_kind_of_metric() {
    let (_, m) = metrics();
    let err = export(AlertRule::new(
        "A",
        rate(&m.connections_active, five()).gt(1.0),
    ))
    .unwrap_err();
    assert!(
        err.to_string()
            .contains("`rate` needs a counter (or a histogram's samples), `shop_connections_active` is a gauge"),
        "{err}"
    );
    let err = export(AlertRule::new(
        "A",
        histogram_quantile(0.9, &m.api_calls_total, five(), &[]).gt(1.0),
    ))
    .unwrap_err();
    assert!(matches!(
        err,
        RulesError::WrongKind {
            function: "histogram_quantile",
            ..
        }
    ));
    let err = export(AlertRule::new(
        "A",
        histogram_quantile(1.5, &m.api_call_duration_seconds, five(), &[]).gt(1.0),
    ))
    .unwrap_err();
    assert!(matches!(err, RulesError::InvalidQuantile { .. }));
    // A histogram's samples are counters.
    export(AlertRule::new(
        "A",
        rate(m.api_call_duration_seconds.select().count(), five()).gt(1.0),
    ))
    .expect("rate of _count");
    let err = export(AlertRule::new(
        "A",
        rate(m.api_calls_total.select().count(), five()).gt(1.0),
    ))
    .unwrap_err();
    assert!(err.to_string().contains("needs a histogram"), "{err}");
}

#[test]
fn names_and_durations_are_checked() {
    let (_, m) = metrics();
    let rule = || AlertRule::new("Fine", Expr::from(&m.connections_active).gt(1.0));
    assert!(matches!(
        export(rule().rename("not valid")),
        Err(RulesError::InvalidName { what: "alert", .. })
    ));
    assert!(matches!(
        export(rule().for_duration(Duration::from_nanos(1500))),
        Err(RulesError::InvalidDuration { .. })
    ));
    assert!(matches!(
        export(rule().label("__x", "y")),
        Err(RulesError::InvalidLabelName { .. })
    ));
    assert!(matches!(
        export(AlertRule::new("A", Expr::number(1.0))),
        Err(RulesError::NotAVector { .. })
    ));
    assert!(matches!(
        export(AlertRule::new(
            "A",
            rate(&m.api_calls_total, Duration::ZERO)
        )),
        Err(RulesError::InvalidDuration { .. })
    ));
    let twice = RuleFile::new()
        .group(RuleGroup::new("g").rule(rule()))
        .group(RuleGroup::new("g").rule(rule()));
    assert!(matches!(
        twice.to_yaml(),
        Err(RulesError::DuplicateGroup { .. })
    ));
    assert_eq!(
        fmt_duration(Duration::from_secs(5400)).as_deref(),
        Some("1h30m")
    );
}

#[test]
fn the_rule_file_is_the_yaml_prometheus_reads() {
    let (_, m) = metrics();
    let rule = AlertRule::new(
        "ManyConnections",
        Expr::from(&m.connections_active).gt(100.0),
    )
    .for_duration(Duration::from_secs(120))
    .severity(Severity::Critical)
    .label("team", "core")
    .summary("{{ $labels.instance }} has {{ $value }} connections")
    .description("Line one.\nLine two: {{ $labels.job }}")
    .runbook_url("https://runbooks.example/many");
    let file = RuleFile::new().header("generated").group(
        RuleGroup::new("shop")
            .interval(Duration::from_secs(30))
            .rule(rule),
    );
    let yaml = file.to_yaml().expect("yaml");
    assert!(yaml.starts_with("# generated\n"), "{yaml}");
    let value: yaml_serde::Value = yaml_serde::from_str(&yaml).expect("parse back");
    let group = &value["groups"][0];
    assert_eq!(group["name"].as_str(), Some("shop"));
    assert_eq!(group["interval"].as_str(), Some("30s"));
    let r = &group["rules"][0];
    assert_eq!(r["alert"].as_str(), Some("ManyConnections"));
    assert_eq!(r["expr"].as_str(), Some("shop_connections_active > 100"));
    assert_eq!(r["for"].as_str(), Some("2m"));
    assert_eq!(r["labels"]["severity"].as_str(), Some("critical"));
    assert_eq!(r["labels"]["team"].as_str(), Some("core"));
    assert_eq!(
        r["annotations"]["description"].as_str(),
        Some("Line one.\nLine two: {{ $labels.job }}")
    );
    assert_eq!(
        r["annotations"]["runbook_url"].as_str(),
        Some("https://runbooks.example/many")
    );
}

#[test]
fn severities_map_to_priorities() {
    assert_eq!(Severity::Critical.as_str(), "critical");
    assert_eq!(Severity::Critical.priority(), "P1");
    assert_eq!(Severity::Warning.priority(), "P2");
    assert_eq!(Severity::Info.priority(), "P3");
    let rule = AlertRule::new("A", Expr::vector(1.0));
    assert_eq!(rule.severity_level(), Some(Severity::Warning));
    assert_eq!(
        rule.severity(Severity::Info).severity_level(),
        Some(Severity::Info)
    );
}

#[alerting_core::instrumented(labels(chain = "bsc"))]
fn swap() {}

#[test]
fn builtin_families_have_the_names_the_code_writes() {
    swap();
    let registry = Registry::builder()
        .namespace("bsc")
        .build()
        .expect("registry");
    // The static label of the linked `swap` below is on the families.
    let fns = builtin::Instrumented::new(&registry);
    assert_eq!(fns.calls().name(), "bsc_function_calls_total");
    assert_eq!(
        fns.calls().label_names(),
        ["function", "module", "chain", "outcome", "error_kind"]
    );
    assert_eq!(fns.duration().name(), "bsc_function_call_duration_seconds");
    assert_eq!(fns.in_flight().name(), "bsc_function_calls_in_flight");
    assert_eq!(
        builtin::health_check_status(&registry).name(),
        "bsc_health_check_status"
    );
    assert_eq!(
        builtin::http_requests(&registry).name(),
        "bsc_http_requests_total"
    );
    assert_eq!(
        builtin::http_request_duration(&registry).label_names(),
        ["method", "route"]
    );
    // Process metrics are never namespaced; `up` is Prometheus'.
    assert_eq!(
        builtin::process_resident_memory_bytes().name(),
        "process_resident_memory_bytes"
    );
    assert!(!builtin::up().origin().is_exported());
    // `#[instrumented]` with `outcome_label` and other family names.
    let custom = builtin::Instrumented::new(&registry)
        .with_names(
            "filter_checks_total",
            "filter_check_seconds",
            "filter_checks_in_flight",
        )
        .with_outcome_label("result");
    assert_eq!(
        custom.errors().to_string(),
        r#"bsc_filter_checks_total{result=~"error|panic"}"#
    );
}

#[test]
fn slos_are_validated() {
    let (_, m) = metrics();
    let calls = m.api_calls_total.metric_ref();
    let sli = || Sli::error_ratio(calls.select().eq("status", "error"), calls.select());
    assert!(matches!(
        Slo::new("a", sli(), 1.0).rule_groups(),
        Err(RulesError::InvalidObjective { .. })
    ));
    assert!(matches!(
        Slo::new("not valid", sli(), 0.99).rule_groups(),
        Err(RulesError::InvalidName { what: "SLO", .. })
    ));
    let err = Slo::new(
        "fast",
        Sli::latency(&m.api_call_duration_seconds, Duration::from_millis(300)),
        0.99,
    )
    .rule_groups()
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "SLO `fast`: 0.3 s is not a bucket bound of `shop_api_call_duration_seconds` (bounds: 0.1, 0.5, 1); the SLI would count nothing"
    );
    // An integral bound is written `1` in the text format and `1.0` in
    // OpenMetrics; the SLI matches both.
    let one = Slo::new(
        "one_second",
        Sli::latency(&m.api_call_duration_seconds, Duration::from_secs(1)),
        0.99,
    );
    let rules = one.recording_rules().expect("rules");
    assert!(
        rules[0].expr().to_string().contains(r#"le=~"1|1\\.0""#),
        "{}",
        rules[0].expr()
    );
}

#[test]
fn an_slo_generates_recordings_and_one_alert_per_window_pair() {
    let registry = Registry::new();
    let http = builtin::http_requests(&registry);
    let slo = Slo::new("checkout", Sli::http_route(&http, "/api/checkout"), 0.999).service("shop");
    let groups = slo.rule_groups().expect("groups");
    assert_eq!(groups.len(), 2);
    let records: Vec<String> = slo
        .recording_rules()
        .expect("records")
        .iter()
        .map(|r| r.record().to_owned())
        .collect();
    for w in ["5m", "30m", "1h", "2h", "6h", "1d", "3d", "30d"] {
        assert!(
            records.contains(&format!("slo:sli_error:ratio_rate{w}")),
            "{records:?}"
        );
    }
    assert!(records.contains(&"slo:error_budget_remaining:ratio".to_owned()));
    let alerts = slo.alerts().expect("alerts");
    // The last number is the minimum-traffic guard: ⌈1 / (factor × budget)⌉.
    let expected = [
        ("1h", "5m", 14.4, Severity::Critical, 70),
        ("6h", "30m", 6.0, Severity::Critical, 167),
        ("1d", "2h", 3.0, Severity::Warning, 334),
        ("3d", "6h", 1.0, Severity::Warning, 1000),
    ];
    assert_eq!(alerts.len(), 4);
    for (alert, (long, short, factor, severity, min)) in alerts.iter().zip(expected) {
        assert_eq!(alert.name(), "CheckoutErrorBudgetBurn");
        assert_eq!(alert.labels()["long_window"], long);
        assert_eq!(alert.labels()["short_window"], short);
        assert_eq!(alert.severity_level(), Some(severity));
        let threshold = format!("> {} * 0.001", alerting_rules::fmt_number(factor));
        assert_eq!(
            alert.expr().to_string(),
            format!(
                r#"slo:sli_error:ratio_rate{long}{{slo="checkout", service="shop"}} {threshold} and slo:sli_error:ratio_rate{short}{{slo="checkout", service="shop"}} {threshold} and slo:sli_events:increase{long}{{slo="checkout", service="shop"}} >= {min}"#
            )
        );
    }
}

#[test]
fn rule_test_input_series_are_checked() {
    let (_, m) = metrics();
    let bad = RuleTests::new(["rules.yml"]).test(
        TestCase::new("regex series").series(m.api_calls_total.select().re("method", "g.*"), "1x5"),
    );
    assert!(matches!(
        bad.to_yaml(),
        Err(RulesError::InvalidSeries { .. })
    ));
    let unknown = RuleTests::new(["rules.yml"]).test(
        TestCase::new("unknown label")
            .series(m.connections_active.select().eq("batch", "1"), "1x5"),
    );
    assert!(matches!(
        unknown.to_yaml(),
        Err(RulesError::UnknownLabel { .. })
    ));
}

#[test]
fn external_metrics_are_declared_by_name() {
    let redis = MetricRef::external("redis_connected_clients", MetricKind::Gauge, &["addr"]);
    let rule = AlertRule::new("RedisClients", Expr::from(redis.select()).gt(1000.0))
        .summary("{{ $labels.addr }}");
    export(rule).expect("external metric");
    assert!(!redis.origin().is_exported());
    let typo = MetricRef::external("redis connected", MetricKind::Gauge, &[]);
    assert!(matches!(
        export(AlertRule::new("A", Expr::from(&typo).gt(1.0))),
        Err(RulesError::InvalidName { what: "metric", .. })
    ));
    let api = packs::api_error_rate(
        MetricRef::external(
            "api_requests_total",
            MetricKind::Counter,
            &["api", "status"],
        )
        .select(),
        Matcher::eq("status", "error"),
        &["api"],
        0.1,
    );
    export(api).expect("pack on an external metric");
}
