//! One scope, set once on a rule file or a dashboard, reaches every input
//! selector (SLO recordings and their 30-day and alert selectors, custom
//! dashboard rows) and every output label; a label set in two places to
//! two values is a typed error. Runbook links come from one base; row
//! titles are unique; error outcomes are those `#[instrumented]` records.

use std::time::Duration;

use alerting_core::instrumented;
use alerting_core::metrics::{Counter, Named, Registry};
use alerting_rules::dashboards::{Dashboard, DashboardError, Panel, Row, Unit};
use alerting_rules::prelude::*;
use alerting_rules::testing::{AlertTest, ExpectedAlert, RuleTests, TestCase};
use alerting_rules::{
    AlertRule, Expr, RuleFile, RuleGroup, RulesError, Scope, Sli, Slo, builtin, packs, rate,
};

/// The function the SLOs below are about: a linked `#[instrumented]`
/// call site, as rules require.
#[instrumented]
fn checkout() {}

const FIVE: Duration = Duration::from_secs(300);

fn registry() -> Registry {
    Registry::builder()
        .const_label("service", "shop")
        .build()
        .expect("registry")
}

/// A rule as exported: `(name, expr, labels)`.
type Exported = (String, String, Vec<(String, String)>);

/// The rules of a file, as exported.
fn exported(file: &RuleFile) -> Vec<Exported> {
    file.resolved_groups()
        .expect("resolved")
        .iter()
        .flat_map(|g| g.rule_list().to_vec())
        .map(|r| match r {
            alerting_rules::Rule::Alert(a) => (
                a.name().to_owned(),
                a.expr().to_string(),
                a.labels()
                    .iter()
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect(),
            ),
            alerting_rules::Rule::Record(r) => (
                r.record().to_owned(),
                r.expr().to_string(),
                r.labels()
                    .iter()
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect(),
            ),
            _ => unreachable!("two kinds of rules"),
        })
        .collect()
}

#[test]
fn a_file_scope_reaches_every_selector_and_labels_every_rule() {
    let registry = registry();
    let fns = builtin::Instrumented::new(&registry);
    // The SLO says nothing about the service: the file's scope does.
    let slo = Slo::new("checkout", Sli::instrumented(&fns, "checkout"), 0.999);
    let file = RuleFile::new()
        .for_registry(&registry)
        .scope(Scope::service("shop"))
        .group(
            RuleGroup::new("shop")
                .rule(packs::high_error_rate(&fns, 0.05))
                .rule(packs::scrape_target_down(builtin::up())),
        )
        .groups(slo.rule_groups().expect("slo"));
    file.to_yaml().expect("export");
    let rules = exported(&file);
    assert!(rules.len() > 15, "{rules:?}");
    for (name, expr, labels) in &rules {
        assert!(
            labels.contains(&("service".to_owned(), "shop".to_owned())),
            "{name} is not labelled service=shop: {labels:?}"
        );
        // Every selector: the scraped ones by `service`, `up` by its job,
        // the SLO's recorded series (30-day, alert, guard) by `service`.
        let selectors = expr.matches('{').count();
        let scoped =
            expr.matches(r#"service="shop""#).count() + expr.matches(r#"job="shop""#).count();
        assert_eq!(selectors, scoped, "{name}: {expr}");
    }
    let thirty_days = rules
        .iter()
        .find(|(n, _, _)| n == "slo:sli_error:ratio_rate30d")
        .expect("30-day recording");
    assert_eq!(
        thirty_days.1,
        r#"avg_over_time(slo:sli_error:ratio_rate5m{slo="checkout", service="shop"}[30d])"#
    );
    let down = rules
        .iter()
        .find(|(n, _, _)| n == "ScrapeTargetDown")
        .expect("ScrapeTargetDown");
    assert_eq!(down.1, r#"up{job="shop"} == 0"#);
}

#[test]
fn an_instance_or_batch_scope_narrows_the_series_that_carry_the_label() {
    let registry = registry();
    let fns = builtin::Instrumented::new(&registry);
    let file = RuleFile::new()
        .for_registry(&registry)
        .scope(
            Scope::service("shop")
                .instance("shop-1:9100")
                .job("shop-job"),
        )
        .group(
            RuleGroup::new("shop")
                .rule(packs::high_error_rate(&fns, 0.05))
                .rule(packs::scrape_target_down(builtin::up())),
        );
    let yaml = file.to_yaml().expect("export");
    assert!(
        yaml.contains(r#"up{job="shop-job", instance="shop-1:9100"} == 0"#),
        "{yaml}"
    );
    assert!(
        yaml.contains(r#"outcome=~"error|panic", service="shop", instance="shop-1:9100"}"#),
        "{yaml}"
    );
    // A label only some series carry narrows those, and leaves the others.
    let batches = alerting_core::metrics::MetricRef::external(
        "ws_connections_active",
        alerting_core::metrics::MetricKind::Gauge,
        &["batch_id"],
    );
    let file = RuleFile::new()
        .scope(Scope::new().label("batch_id", "3"))
        .group(
            RuleGroup::new("ws")
                .rule(packs::websocket_disconnected(&batches, &[]))
                .rule(packs::scrape_target_down(builtin::up())),
        );
    let yaml = file.to_yaml().expect("export");
    assert!(
        yaml.contains(r#"ws_connections_active{batch_id="3"} < 1"#),
        "{yaml}"
    );
    assert!(yaml.contains("expr: up == 0"), "{yaml}");
}

#[test]
fn an_slo_service_narrows_its_inputs_and_its_own_selectors() {
    let registry = registry();
    let fns = builtin::Instrumented::new(&registry);
    let slo = Slo::new("checkout", Sli::instrumented(&fns, "checkout"), 0.999).service("shop");
    // Without a file scope, the SLO's own scope applies.
    let file = RuleFile::new()
        .for_registry(&registry)
        .groups(slo.rule_groups().expect("slo"));
    let yaml = file.to_yaml().expect("export");
    assert!(
        yaml.contains(
            r#"rate(function_calls_total{outcome!="cancelled", function="checkout", service="shop"}[5m])"#
        ),
        "{yaml}"
    );
    assert!(
        yaml.contains(r#"slo:sli_error:ratio_rate1h{slo="checkout", service="shop"} > 14.4"#),
        "{yaml}"
    );
    // The same service on the file and the SLO agrees.
    let both = RuleFile::new()
        .for_registry(&registry)
        .scope(Scope::service("shop"))
        .groups(slo.rule_groups().expect("slo"));
    assert_eq!(both.to_yaml().expect("export"), yaml);
}

#[test]
fn a_scope_label_set_to_two_values_is_a_conflict() {
    let registry = registry();
    let fns = builtin::Instrumented::new(&registry);
    let conflict = |result: Result<String, RulesError>, expected: (&str, &str, &str)| match result {
        Err(RulesError::ScopeConflict {
            label,
            first,
            second,
            ..
        }) => assert_eq!((label.as_str(), first.as_str(), second.as_str()), expected),
        other => panic!("expected a scope conflict, got {other:?}"),
    };
    // The file says shop, the SLO cart.
    let slo = Slo::new("checkout", Sli::instrumented(&fns, "checkout"), 0.999).service("cart");
    let file = RuleFile::new()
        .for_registry(&registry)
        .scope(Scope::service("shop"))
        .groups(slo.rule_groups().expect("slo"));
    conflict(file.to_yaml(), ("service", "shop", "cart"));
    // A selector's own matcher.
    let rule = packs::high_error_rate_of(fns.errors().eq("service", "cart"), fns.finished(), 0.05);
    let file = RuleFile::new()
        .for_registry(&registry)
        .scope(Scope::service("shop"))
        .group(RuleGroup::new("shop").rule(rule));
    conflict(file.to_yaml(), ("service", "cart", "shop"));
    // A rule's label.
    let rule = packs::tag(packs::high_error_rate(&fns, 0.05), "cart", "runbooks.md");
    let file = RuleFile::new()
        .for_registry(&registry)
        .scope(Scope::service("shop"))
        .group(RuleGroup::new("shop").rule(rule));
    conflict(file.to_yaml(), ("service", "cart", "shop"));
    // One scope with the label twice.
    let file = RuleFile::new()
        .scope(Scope::service("shop").label("service", "cart"))
        .group(RuleGroup::new("shop").rule(packs::high_error_rate(&fns, 0.05)));
    conflict(file.to_yaml(), ("service", "shop", "cart"));
    // The message says where, and what to do.
    let err = RuleFile::new()
        .for_registry(&registry)
        .scope(Scope::service("shop"))
        .groups(
            Slo::new("checkout", Sli::instrumented(&fns, "checkout"), 0.999)
                .service("cart")
                .rule_groups()
                .expect("slo"),
        )
        .to_yaml()
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("`service` is `shop` in one place and `cart` in another"),
        "{err}"
    );
    // A dashboard filtered twice.
    let d = Dashboard::new("shop", "shop")
        .filter("service", "cart")
        .scope(Scope::service("shop"))
        .instrumented_overview(&fns);
    assert!(matches!(d.to_json(), Err(DashboardError::Scope(_))));
}

#[test]
fn the_dashboard_scope_reaches_custom_rows() {
    let registry = registry();
    let orders: Named<Counter> = registry
        .register("orders_total", "Orders placed")
        .expect("register");
    let fns = builtin::Instrumented::new(&registry);
    let slo = Slo::new("checkout", Sli::instrumented(&fns, "checkout"), 0.999);
    let d = Dashboard::new("shop", "shop")
        .for_registry(&registry)
        .scope(Scope::service("shop"))
        .instrumented_overview(&fns)
        .slo(&slo)
        // Written without the dashboard in mind: no `filtered`.
        .row(
            Row::new("Orders").panel(
                Panel::timeseries("Orders per second", Unit::OpsPerSecond)
                    .query(rate(&orders, FIVE).sum(), "orders")
                    .query(Expr::from(&orders), "{{instance}}"),
            ),
        );
    let queries = d.queries().expect("queries");
    assert!(queries.len() > 5);
    for q in &queries {
        assert!(q.text().contains(r#"service="shop""#), "{q}");
    }
    let json = d.to_json().expect("json");
    assert!(json.contains(r#"sum(rate(orders_total{service=\"shop\"}[5m]))"#));
}

#[test]
fn row_titles_are_unique() {
    let registry = registry();
    let fns = builtin::Instrumented::new(&registry);
    let http = builtin::http_requests(&registry);
    let duration = builtin::http_request_duration(&registry);
    let d = Dashboard::new("shop", "shop")
        .http_overview(&http, &duration, None)
        .instrumented_overview(&fns);
    let titles: Vec<&str> = d.rows().iter().map(Row::title).collect();
    assert_eq!(titles, ["HTTP overview", "Functions overview"]);
    d.to_json().expect("distinct titles");
    let twice = d
        .row(Row::new("Functions overview").panel(
            Panel::timeseries("Calls", Unit::Short).query(Expr::from(fns.calls()), "calls"),
        ));
    assert!(matches!(
        twice.to_json(),
        Err(DashboardError::DuplicateRow { title }) if title == "Functions overview"
    ));
}

#[test]
fn runbook_links_come_from_one_base() {
    let registry = registry();
    let fns = builtin::Instrumented::new(&registry);
    let slo = Slo::new("checkout", Sli::instrumented(&fns, "checkout"), 0.999);
    let file = RuleFile::new()
        .for_registry(&registry)
        .runbooks("https://runbooks.example.com/shop.md")
        .group(
            RuleGroup::new("shop")
                .rule(packs::high_error_rate(&fns, 0.05))
                // An explicit link stays.
                .rule(
                    AlertRule::new("Custom", Expr::from(fns.calls()).gt(1.0))
                        .runbook_url("https://elsewhere.example.com/custom"),
                ),
        )
        .groups(slo.rule_groups().expect("slo"));
    let mut links = Vec::new();
    for g in file.resolved_groups().expect("resolved") {
        for a in g.alerts() {
            links.push((a.name().to_owned(), a.annotations()["runbook_url"].clone()));
        }
    }
    let link = |name: &str| {
        links
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, l)| l.as_str())
            .expect(name)
    };
    assert_eq!(
        link("HighErrorRate"),
        "https://runbooks.example.com/shop.md#higherrorrate"
    );
    assert_eq!(link("Custom"), "https://elsewhere.example.com/custom");
    assert_eq!(
        link("CheckoutErrorBudgetBurn"),
        "https://runbooks.example.com/shop.md#slo-burn-rate-alerts"
    );
    assert_eq!(
        link("CheckoutSliAbsent"),
        "https://runbooks.example.com/shop.md#slo-sli-absent"
    );
}

#[test]
fn rule_tests_for_a_file_take_its_scope_and_runbooks() {
    let registry = registry();
    let fns = builtin::Instrumented::new(&registry);
    let rule = packs::high_error_rate(&fns, 0.05);
    let file = RuleFile::new()
        .for_registry(&registry)
        .scope(Scope::service("shop"))
        .runbooks("runbooks.md")
        .group(RuleGroup::new("shop").rule(rule.clone()));
    let call = |outcome: &str| {
        fns.calls()
            .select()
            .eq("function", "checkout")
            .eq("module", "shop")
            .eq("outcome", outcome)
    };
    let tests = RuleTests::new(["rules.yml"]).for_rules(&file).test(
        TestCase::new("errors")
            .series(call("ok"), "0+9x20")
            .series(call("error"), "0+1x20")
            .expect(
                AlertTest::new(&rule, Duration::from_secs(15 * 60)).fires(
                    ExpectedAlert::of(&rule)
                        .labels([("function", "checkout"), ("module", "shop")])
                        .summary("High error rate in checkout"),
                ),
            ),
    );
    let yaml = tests.to_yaml().expect("tests");
    assert!(
        yaml.contains(r#"function_calls_total{function="checkout", module="shop", outcome="ok", service="shop"}"#),
        "{yaml}"
    );
    assert!(yaml.contains("service: shop"), "{yaml}");
    assert!(
        yaml.contains("runbook_url: runbooks.md#higherrorrate"),
        "{yaml}"
    );
}

#[test]
fn error_outcomes_are_the_ones_instrumented_records() {
    let fns = builtin::Instrumented::new(&registry());
    assert_eq!(
        fns.errors().to_string(),
        r#"function_calls_total{outcome=~"error|panic"}"#
    );
}
