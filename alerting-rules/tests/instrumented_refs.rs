//! Rules and dashboards name `#[instrumented]` functions through the call
//! sites linked into the program: a misspelt name is a typed error when
//! the rules or the dashboard are generated, naming the closest function,
//! and what the attribute declares (labels, in-flight, names, buckets) is
//! not restated.

use std::time::Duration;

use alerting_core::instrumented;
use alerting_core::metrics::{Buckets, Registry};
use alerting_rules::builtin::{InstrumentError, Instrumented, InstrumentedExt};
use alerting_rules::dashboards::{Dashboard, DashboardError};
use alerting_rules::{RuleFile, RulesError, Sli, Slo};

#[instrumented(labels(shop = "eu"))]
fn create_order() {}

#[instrumented(in_flight, calls = "refunds_total", outcome_label = "result", buckets = [0.1, 0.5, 2.0])]
fn refund_order() {}

fn registry() -> Registry {
    Registry::builder()
        .namespace("shop")
        .build()
        .expect("registry")
}

fn unknown(error: &InstrumentError) -> (&str, Option<&str>) {
    match error {
        InstrumentError::UnknownFunction { name, suggestion } => {
            (name.as_str(), suggestion.as_deref())
        }
        other => panic!("unexpected error {other:?}"),
    }
}

#[test]
fn a_misspelt_function_in_an_slo_fails_generation_with_a_suggestion() {
    let fns = Instrumented::new(&registry());
    let slo = Slo::new("orders", Sli::instrumented(&fns, "create_ordr"), 0.999);
    let err = slo.rule_groups().expect_err("no function `create_ordr`");
    let RulesError::Instrumented(inner) = &err else {
        panic!("unexpected error {err:?}");
    };
    assert_eq!(unknown(inner), ("create_ordr", Some("create_order")));
    assert_eq!(
        err.to_string(),
        "no `#[instrumented]` function `create_ordr` is linked into this program; \
         did you mean `create_order`?"
    );
    // A rule file holding it does not export either.
    let groups = Slo::new(
        "slow",
        Sli::instrumented_latency(&fns, "refund_ordr", Duration::from_millis(500)),
        0.99,
    )
    .rule_groups();
    let Err(RulesError::Instrumented(inner)) = groups else {
        panic!("expected an unknown function, got {groups:?}");
    };
    assert_eq!(unknown(&inner), ("refund_ordr", Some("refund_order")));
}

#[test]
fn a_misspelt_function_in_a_dashboard_row_fails_generation_with_a_suggestion() {
    let fns = Instrumented::new(&registry());
    let dashboard = Dashboard::new("Shop", "shop")
        .instrumented_functions(&fns, &["create_order", "refnd_order"]);
    let err = dashboard.to_json().expect_err("no function `refnd_order`");
    let DashboardError::Instrumented(inner) = &err else {
        panic!("unexpected error {err:?}");
    };
    assert_eq!(unknown(inner), ("refnd_order", Some("refund_order")));
    assert!(
        err.to_string().ends_with("did you mean `refund_order`?"),
        "{err}"
    );
}

#[test]
fn a_correct_name_generates_rules_from_the_attribute() {
    let fns = Instrumented::new(&registry());
    // The static label comes from the attribute: no `with_labels`.
    assert_eq!(
        fns.calls().label_names(),
        ["function", "module", "shop", "outcome", "error_kind"]
    );
    // A function's reference carries its own names, outcome label and
    // buckets.
    let refund = fns.function("refund_order").expect("linked");
    assert_eq!(
        refund.errors().to_string(),
        r#"shop_refunds_total{result=~"error|panic", function="refund_order"}"#
    );
    assert_eq!(
        refund.duration().bucket_bounds(),
        Some(Buckets::new([0.1, 0.5, 2.0]).expect("buckets").bounds())
    );
    assert_eq!(
        refund.in_flight().map(|m| m.name()),
        Some("shop_function_calls_in_flight")
    );
    assert!(
        fns.function("create_order")
            .expect("linked")
            .in_flight()
            .is_none()
    );

    let slo = Slo::new("refunds", Sli::instrumented(&fns, "refund_order"), 0.999);
    let latency = Slo::new(
        "refund_latency",
        Sli::instrumented_latency(&fns, "refund_order", Duration::from_millis(500)),
        0.99,
    );
    let mut file = RuleFile::new();
    for group in slo
        .rule_groups()
        .expect("rules")
        .into_iter()
        .chain(latency.rule_groups().expect("rules"))
    {
        file = file.group(group);
    }
    let yaml = file.to_yaml().expect("yaml");
    // The SLI reads the function's own counter and outcome label.
    assert!(yaml.contains("shop_refunds_total{result=~"), "{yaml}");
    assert!(!yaml.contains("shop_function_calls_total"), "{yaml}");
    assert!(
        yaml.contains("shop_function_call_duration_seconds_bucket"),
        "{yaml}"
    );
    // The functions exist; calling them changes nothing above.
    create_order();
    refund_order();
}

#[test]
fn without_any_linked_function_the_error_says_so() {
    let none = Instrumented::for_sites(&registry(), []);
    let err = none.function("create_order").expect_err("nothing linked");
    assert_eq!(unknown(&err), ("create_order", None));
    assert!(err.to_string().contains("none is"), "{err}");
}
