//! An SLO on an HTTP route (the HTTP layer's `http_requests_total{method,
//! route, status}` and `http_request_duration_seconds{method, route}`):
//! promtool loads the generated rules, and its unit tests show each
//! burn-rate alert firing at the workbook's burn rates and not below them,
//! for availability and for latency.

mod common;

use std::path::PathBuf;
use std::time::Duration;

use alerting_core::metrics::Registry;
use alerting_rules::prelude::*;
use alerting_rules::testing::{AlertTest, ExpectedAlert, RuleTests, TestCase};
use alerting_rules::{RuleFile, Sli, Slo, builtin, fmt_duration, fmt_number};
use common::promtool;

const ROUTE: &str = "/api/checkout";

fn temp_dir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("alerting-http-slo-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

/// What each burn-rate alert of `slo` says when the error ratio is `ratio`.
fn expected(slo: &Slo, ratio: f64, what: &str) -> Vec<(f64, ExpectedAlert)> {
    let pct = |r: f64| format!("{}%", fmt_number(r * 100.0));
    let alerts = slo.alerts().expect("alerts");
    alerts
        .iter()
        .zip(slo.burn_window_list())
        .map(|(rule, w)| {
            let long = fmt_duration(w.long()).expect("long");
            let short = fmt_duration(w.short()).expect("short");
            let gone = fmt_duration(Duration::from_secs(
                (30.0 * 86_400.0 / w.factor() / 60.0).round() as u64 * 60,
            ))
            .expect("exhaustion");
            let alert = ExpectedAlert::of(rule)
                .label("slo", slo.name())
                .label("service", "shop")
                .annotation(
                    "summary",
                    format!(
                        "SLO {}: error budget burning {}x faster than sustainable",
                        slo.name(),
                        fmt_number(w.factor())
                    ),
                )
                .annotation(
                    "description",
                    format!(
                        "{what} are {} over the last {long} (and over {short}); the objective is {} \
                         over 30d, a budget of {}. At this rate the budget is gone in {gone}.",
                        pct(ratio),
                        pct(slo.objective()),
                        pct(slo.error_budget()),
                    ),
                );
            (w.factor(), alert)
        })
        .collect()
}

#[test]
fn http_route_slo_alerts_fire_at_the_workbook_burn_rates() {
    let registry = Registry::new();
    let requests = builtin::http_requests(&registry);
    let duration = builtin::http_request_duration(&registry);
    let availability =
        Slo::new("checkout", Sli::http_route(&requests, ROUTE), 0.999).service("shop");
    let latency = Slo::new(
        "checkout_latency",
        Sli::http_route_latency(&duration, ROUTE, Duration::from_millis(500)),
        0.99,
    )
    .service("shop");
    let rules = RuleFile::new()
        .groups(availability.rule_groups().expect("availability"))
        .groups(latency.rule_groups().expect("latency"));

    let request = |status: &str| {
        requests
            .select()
            .eq("method", "POST")
            .eq("route", ROUTE)
            .eq("status", status)
    };
    let mut tests = RuleTests::new(["rules.yml"]);
    let name = availability.alert();
    for burn in [20.0, 10.0, 5.0, 2.0, 0.5] {
        // 1000 requests a minute, `burn × 0.1%` of them 5xx.
        let errors = burn;
        let mut at = AlertTest::new(
            &availability.alerts().expect("alerts")[0],
            Duration::from_secs(3600),
        );
        for (factor, alert) in expected(
            &availability,
            burn * 0.001,
            "Requests to `/api/checkout` answered with 5xx",
        ) {
            if burn > factor {
                at = at.fires(alert);
            }
        }
        tests = tests.test(
            TestCase::new(format!("{name} at {burn}x"))
                .series(request("2xx"), format!("0+{}x70", 1000.0 - errors))
                .series(request("5xx"), format!("0+{errors}x70"))
                .expect(at),
        );
    }
    // No 5xx series at all is no errors, not no data: nothing fires.
    tests = tests.test(
        TestCase::new("no 5xx series")
            .series(request("2xx"), "0+1000x70")
            .expect(AlertTest::new(
                &availability.alerts().expect("alerts")[0],
                Duration::from_secs(3600),
            )),
    );
    // Latency: 3% of requests slower than 500 ms is 3x the 1% budget:
    // only the ticket alerts fire.
    let bucket = |le: &str| {
        duration
            .select()
            .bucket()
            .eq("method", "POST")
            .eq("route", ROUTE)
            .eq("le", le)
    };
    let mut at = AlertTest::new(
        &latency.alerts().expect("alerts")[0],
        Duration::from_secs(3600),
    );
    for (factor, alert) in expected(
        &latency,
        0.035,
        "Requests to `/api/checkout` slower than 500ms",
    ) {
        if 3.5 > factor {
            at = at.fires(alert);
        }
    }
    tests = tests.test(
        TestCase::new("latency at 3.5x")
            .series(bucket("0.5"), "0+965x70")
            .series(bucket("+Inf"), "0+1000x70")
            .series(
                duration
                    .select()
                    .count()
                    .eq("method", "POST")
                    .eq("route", ROUTE),
                "0+1000x70",
            )
            .expect(at),
    );

    let dir = temp_dir();
    rules.write(dir.join("rules.yml")).expect("write rules");
    tests
        .write(dir.join("rules_test.yml"))
        .expect("write tests");
    let rules_path = dir.join("rules.yml");
    let (ok, report) = promtool(&["check", "rules", rules_path.to_str().expect("path")]);
    assert!(ok, "{report}");
    let tests_path = dir.join("rules_test.yml");
    let (ok, report) = promtool(&["test", "rules", tests_path.to_str().expect("path")]);
    assert!(ok, "{report}\n{}", tests.to_yaml().expect("yaml"));
    let _ = std::fs::remove_dir_all(&dir);
}
