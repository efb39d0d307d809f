//! The minimum-traffic guard of SLO burn-rate alerts, in a real
//! Prometheus: two SLOs with the same objective and windows, the same
//! error ratio (half the calls fail) injected into both, one on a trickle
//! of calls and one at normal traffic. The normal one pages; the trickle
//! one does not, although its recorded error ratio is as far above the
//! threshold, because its long window holds fewer events than the guard
//! needs.
//!
//! Windows of seconds (`BurnWindow::new`, `Slo::window`) and a 1 s scrape
//! and evaluation interval keep it to seconds; every wait is bounded.

use std::sync::OnceLock;
use std::time::Duration;

use alerting_core::instrumented;
use alerting_core::metrics::{Format, Registry};
use alerting_rules::{BurnWindow, RuleFile, Scope, Severity, Sli, Slo, builtin};
use alerting_tests::{ExpositionServer, Prometheus, Target};

const WAIT: Duration = Duration::from_secs(45);
const SERVICE: &str = "guard-monitor";
/// Events the long window must hold for an alert to fire.
const MIN_EVENTS: u64 = 40;

fn registry() -> &'static Registry {
    static R: OnceLock<Registry> = OnceLock::new();
    R.get_or_init(|| {
        Registry::builder()
            .const_label("service", SERVICE)
            .build()
            .expect("registry")
    })
}

/// Called a few times an hour, say at night.
#[instrumented(registry = registry)]
fn trickle(fail: bool) -> Result<(), String> {
    if fail { Err("bad".into()) } else { Ok(()) }
}

/// Called at normal traffic.
#[instrumented(registry = registry)]
fn steady(fail: bool) -> Result<(), String> {
    if fail { Err("bad".into()) } else { Ok(()) }
}

/// An SLO of 90% over an hour with one window pair of 60 s / 20 s at 2×
/// the budget (an error ratio above 20%), guarded at [`MIN_EVENTS`].
fn slo(fns: &builtin::Instrumented, function: &str) -> Slo {
    Slo::new(function, Sli::instrumented(fns, function), 0.9)
        .window(Duration::from_secs(3600))
        .burn_windows(vec![BurnWindow::new(
            Duration::from_secs(60),
            Duration::from_secs(20),
            2.0,
            Severity::Critical,
        )])
        .min_events(MIN_EVENTS)
}

#[test]
fn a_burst_of_errors_on_a_trickle_does_not_page_and_the_same_ratio_at_normal_traffic_does() {
    let registry = registry();
    // One good call each, so that both functions have series before the
    // first scrape: the burst below is an increase Prometheus sees.
    let _ = trickle(false);
    let _ = steady(false);

    let fns = builtin::Instrumented::new(registry);
    let (quiet, busy) = (slo(&fns, "trickle"), slo(&fns, "steady"));
    let mut file = RuleFile::new()
        .for_registry(registry)
        .scope(Scope::service(SERVICE));
    for s in [&quiet, &busy] {
        file = file.groups(
            s.rule_groups()
                .expect("slo rules")
                .into_iter()
                .map(|g| g.interval(Duration::from_secs(1))),
        );
    }
    let yaml = file.to_yaml().expect("render the rule file");
    assert!(
        yaml.contains(&format!(
            r#"slo:sli_events:increase1m{{slo="trickle", service="{SERVICE}"}} >= {MIN_EVENTS}"#
        )),
        "{yaml}"
    );

    let server = ExpositionServer::start(|| registry.encode_to_string(Format::Prometheus));
    let prometheus = Prometheus::builder()
        .target(Target::new(SERVICE, server.addr()))
        .rules_yaml(yaml)
        .scrape_interval(Duration::from_secs(1))
        .evaluation_interval(Duration::from_secs(1))
        .start()
        .expect("start prometheus");
    prometheus
        .wait_for_target_up(SERVICE, WAIT)
        .expect("target up");
    prometheus
        .wait_until(
            || {
                let v = prometheus
                    .query_value(&format!(
                        "count_over_time(function_calls_total{{function=\"steady\", outcome=\"ok\", service=\"{SERVICE}\"}}[1m])"
                    ))
                    .ok()??;
                (v >= 3.0).then_some(())
            },
            WAIT,
        )
        .expect("three scrapes before the burst");

    // The same ratio, half the calls failing: 2 of 4 on the trickle,
    // 100 of 200 at normal traffic.
    for fail in [true, false, true, false] {
        let _ = trickle(fail);
    }
    for i in 0..200 {
        let _ = steady(i % 2 == 0);
    }

    // Normal traffic pages.
    let page = prometheus
        .wait_until(|| prometheus.firing(&busy.alert()).into_iter().next(), WAIT)
        .expect("the burn-rate alert of the busy SLO fires");
    assert_eq!(page["labels"]["slo"], "steady");
    assert_eq!(page["labels"]["service"], SERVICE);

    // The trickle is as far above the threshold, over both windows, and
    // holds fewer events than the guard needs: only the guard keeps its
    // alert silent.
    let recorded = |metric: &str| {
        prometheus
            .query_value(&format!(
                "{metric}{{slo=\"trickle\", service=\"{SERVICE}\"}}"
            ))
            .expect("query")
    };
    let over = prometheus
        .wait_until(
            || {
                let long = recorded("slo:sli_error:ratio_rate1m")?;
                let short = recorded("slo:sli_error:ratio_rate20s")?;
                (long > 0.2 && short > 0.2).then_some((long, short))
            },
            WAIT,
        )
        .expect("the trickle's error ratio is above 2x the budget over both windows");
    let events = recorded("slo:sli_events:increase1m").expect("events recorded");
    assert!(events < MIN_EVENTS as f64, "{events} events on the trickle");
    // Several evaluations of its alert at these ratios, none firing.
    for _ in 0..4 {
        assert!(
            prometheus.firing(&quiet.alert()).is_empty(),
            "the trickle paged at error ratios {over:?} on {events} events"
        );
        std::thread::sleep(Duration::from_secs(1));
    }
    let still = (
        recorded("slo:sli_error:ratio_rate1m"),
        recorded("slo:sli_error:ratio_rate20s"),
    );
    assert!(
        matches!(still, (Some(l), Some(s)) if l > 0.2 && s > 0.2),
        "the trickle's ratios fell before its alert was evaluated: {still:?}"
    );
    // Its alert rule was evaluated, and is healthy, not in error.
    let rules = prometheus.rules().expect("rules");
    let guard = rules
        .as_array()
        .expect("groups")
        .iter()
        .flat_map(|g| g["rules"].as_array().into_iter().flatten())
        .find(|r| r["name"] == quiet.alert())
        .expect("the trickle's alert rule is loaded");
    assert_eq!(guard["health"], "ok", "{guard}");
    assert_eq!(guard["state"], "inactive", "{guard}");

    drop(prometheus);
    drop(server);
}
