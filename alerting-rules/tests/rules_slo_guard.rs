//! An SLO's burn-rate alerts need traffic (the minimum-traffic guard), and
//! an SLO whose SLI disappears raises its own alert, shown by promtool:
//! `promtool check rules --lint=all` loads the rules, `promtool test
//! rules` runs the cases of `alerting_rules::testing` on them.
//!
//! promtool (Debian's `prometheus` package) must be installed: `.ci/run`
//! installs it. Without it these tests fail rather than skip.

mod common;

use std::path::PathBuf;

use alerting_core::instrumented;
use alerting_core::metrics::Registry;
use alerting_rules::prelude::*;
use alerting_rules::testing::{
    RuleTests, slo_absent_cases, slo_burn_cases, slo_traffic_guard_cases,
};
use alerting_rules::{RuleFile, Scope, Selector, Sli, Slo, builtin};
use common::promtool;

/// The function the SLOs below are about: a linked `#[instrumented]`
/// call site, as rules require.
#[instrumented]
fn checkout() {}

/// `rules.yml` and `rules_test.yml` in a directory of their own, removed
/// when dropped.
struct Written {
    dir: PathBuf,
    rules: PathBuf,
    tests: PathBuf,
}

impl Drop for Written {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Writes `rules` and `tests` into a directory of their own.
fn write(name: &str, rules: &RuleFile, tests: &RuleTests) -> Written {
    let dir =
        std::env::temp_dir().join(format!("alerting-slo-guard-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let (r, t) = (dir.join("rules.yml"), dir.join("rules_test.yml"));
    rules.write(&r).expect("write rules");
    tests.write(&t).expect("write tests");
    Written {
        dir,
        rules: r,
        tests: t,
    }
}

struct Shop {
    registry: Registry,
    fns: builtin::Instrumented,
}

impl Shop {
    fn new() -> Self {
        let registry = Registry::builder()
            .const_label("service", "shop")
            .build()
            .expect("registry");
        let fns = builtin::Instrumented::new(&registry);
        Self { registry, fns }
    }

    fn slo(&self) -> Slo {
        Slo::new("checkout", Sli::instrumented(&self.fns, "checkout"), 0.999)
    }

    fn call(&self, outcome: &str) -> Selector {
        self.fns
            .calls()
            .select()
            .eq("function", "checkout")
            .eq("module", "shop::orders")
            .eq("outcome", outcome)
    }

    fn rules(&self, slo: &Slo) -> RuleFile {
        RuleFile::new()
            .for_registry(&self.registry)
            .scope(Scope::service("shop"))
            .groups(slo.rule_groups().expect("slo rules"))
    }
}

#[test]
fn the_guard_holds_back_a_trickle_and_never_hides_an_outage() {
    let shop = Shop::new();
    let slo = shop.slo();
    let rules = shop.rules(&slo);
    let cases = slo_traffic_guard_cases(&slo, shop.call("ok"), shop.call("error")).expect("cases");
    let names: Vec<&str> = cases.iter().map(|c| c.name()).collect();
    assert_eq!(
        names,
        [
            "checkout: 1 bad event in 3 in an hour does not page",
            "checkout: 15x the budget at normal traffic pages",
            "checkout: a full outage at normal traffic pages",
        ]
    );
    let burns = slo_burn_cases(&slo, shop.call("ok"), shop.call("error")).expect("burn cases");
    let tests = RuleTests::new(["rules.yml"])
        .for_rules(&rules)
        .tests(cases.to_vec())
        .tests(burns);
    let written = write("guarded", &rules, &tests);
    let (ok, report) = promtool(&[
        "check",
        "rules",
        "--lint=all",
        "--lint-fatal",
        written.rules.to_str().expect("utf-8"),
    ]);
    assert!(ok, "{report}");
    let (ok, report) = promtool(&["test", "rules", written.tests.to_str().expect("utf-8")]);
    assert!(ok, "{report}");

    // The same trickle against the same SLO without the guard pages: the
    // case tests the guard, not a quirk of its series.
    let unguarded = slo.clone().min_events(0);
    let rules = shop.rules(&unguarded);
    let [trickle, _, _] = cases;
    let tests = RuleTests::new(["rules.yml"])
        .for_rules(&rules)
        .test(trickle);
    let written = write("unguarded", &rules, &tests);
    let (ok, report) = promtool(&["test", "rules", written.tests.to_str().expect("utf-8")]);
    assert!(
        !ok,
        "the trickle did not page even without the guard:\n{report}"
    );
    assert!(
        report.contains("CheckoutErrorBudgetBurn") && report.contains("long_window=\"1h\""),
        "{report}"
    );
}

#[test]
fn the_default_guard_lets_one_bad_event_stay_under_each_threshold() {
    let shop = Shop::new();
    for objective in [0.9, 0.99, 0.995, 0.999, 0.9999] {
        let slo = Slo::new(
            "checkout",
            Sli::instrumented(&shop.fns, "checkout"),
            objective,
        );
        for w in slo.burn_window_list() {
            let n = slo.min_events_for(w) as f64;
            let threshold = w.factor() * slo.error_budget();
            // One bad event among `n` is at most the threshold (which the
            // alert must exceed); among one fewer it would be above.
            assert!(1.0 / n <= threshold + 1e-12, "{objective} {w:?}: {n}");
            assert!(
                n == 1.0 || 1.0 / (n - 1.0) > threshold,
                "{objective} {w:?}: {n}"
            );
        }
    }
    assert_eq!(
        shop.slo()
            .burn_window_list()
            .iter()
            .map(|w| shop.slo().min_events_for(w))
            .collect::<Vec<_>>(),
        [70, 167, 334, 1000]
    );
    let fixed = shop.slo().min_events(25);
    assert!(
        fixed
            .burn_window_list()
            .iter()
            .all(|w| fixed.min_events_for(w) == 25)
    );
}

#[test]
fn an_slo_whose_sli_disappears_raises_its_absent_alert() {
    let shop = Shop::new();
    let slo = shop.slo();
    let rule = slo.absent_alert().expect("valid").expect("an absent alert");
    assert_eq!(rule.name(), "CheckoutSliAbsent");
    assert_eq!(
        rule.annotations()["description"],
        "No series of `function_calls_total` for 10m: the SLO checkout cannot be computed and \
         its burn-rate alerts cannot fire. The service stopped exporting the metric, is not \
         scraped, or the selector names a series that does not exist."
    );
    assert_eq!(rule.pending_for(), Some(alerting_rules::DEFAULT_ABSENT_FOR));
    let rules = shop.rules(&slo);
    let exported = rules
        .resolved_alert("CheckoutSliAbsent")
        .expect("resolved")
        .expect("in the file");
    assert_eq!(
        exported.expr().to_string(),
        r#"absent(function_calls_total{outcome!="cancelled", function="checkout", service="shop"})"#
    );
    let cases = slo_absent_cases(&slo, shop.call("ok")).expect("cases");
    let tests = RuleTests::new(["rules.yml"]).for_rules(&rules).tests(cases);
    let written = write("absent", &rules, &tests);
    let (ok, report) = promtool(&["test", "rules", written.tests.to_str().expect("utf-8")]);
    assert!(ok, "{report}");

    // A latency SLO watches its histogram's count.
    let latency = Slo::new(
        "checkout_latency",
        Sli::instrumented_latency(&shop.fns, "checkout", std::time::Duration::from_secs(1)),
        0.99,
    )
    .absent_for(std::time::Duration::from_secs(300));
    let rules = shop.rules(&latency);
    let count = shop
        .fns
        .duration()
        .select()
        .eq("function", "checkout")
        .eq("module", "shop::orders")
        .count();
    let tests = RuleTests::new(["rules.yml"])
        .for_rules(&rules)
        .tests(slo_absent_cases(&latency, count).expect("cases"));
    let written = write("absent-latency", &rules, &tests);
    let (ok, report) = promtool(&["test", "rules", written.tests.to_str().expect("utf-8")]);
    assert!(ok, "{report}");

    // No absent alert when asked for none.
    let none = shop.slo().without_absent_alert();
    assert!(none.absent_alert().expect("valid").is_none());
    assert!(slo_absent_cases(&none, shop.call("ok")).is_err());
}
