//! The "runtime saturated" pack: promtool loads the rule, and its unit
//! tests show `RuntimeSaturated` firing when the workers are busy 95% of
//! the time and staying silent at 50%; the dashboard row validates.

mod common;

use std::path::PathBuf;
use std::time::Duration;

use alerting_core::metrics::Registry;
use alerting_core::metrics::runtime::RuntimeCollector;
use alerting_rules::dashboards::Dashboard;
use alerting_rules::prelude::*;
use alerting_rules::testing::{ExpectedAlert, RuleTests, fires_and_stays_silent};
use alerting_rules::{RuleFile, RuleGroup, Selector, packs};
use common::promtool;

fn temp_dir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("alerting-runtime-rules-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

#[test]
fn runtime_saturated_fires_when_workers_are_busy_and_not_otherwise() {
    let registry = Registry::builder()
        .const_label("service", "shop")
        .build()
        .unwrap();
    let rule = packs::runtime_saturated(&["instance"], 0.9);
    let rules = RuleFile::new()
        .for_registry(&registry)
        .group(RuleGroup::new("runtime").rules([rule.clone()]));

    let refs = RuntimeCollector::metric_refs();
    let target = |s: Selector| {
        s.eq("instance", "shop-1:9100")
            .eq("job", "shop")
            .eq("service", "shop")
    };
    let busy = |worker: &str| target(refs.worker_busy_seconds.select()).eq("worker", worker);
    let workers = target(refs.workers.select());
    // Two workers, each busy 57 of every 60 seconds (95%), or 30 (50%).
    let cases = fires_and_stays_silent(
        &rule,
        Duration::from_secs(20 * 60),
        &[
            (busy("0"), "0+57x25"),
            (busy("1"), "0+57x25"),
            (workers.clone(), "2x25"),
        ],
        &[
            (busy("0"), "0+30x25"),
            (busy("1"), "0+30x25"),
            (workers, "2x25"),
        ],
        ExpectedAlert::of(&rule)
            .label("instance", "shop-1:9100")
            .summary("tokio runtime saturated for instance=shop-1:9100")
            .description(
                "The tokio runtime's workers were busy 95% of the time over the last 5 minutes \
                 for instance=shop-1:9100 (threshold 90%): tasks wait for a free worker, so every \
                 latency of the service grows. Look for blocking calls or CPU-heavy work on the \
                 runtime, or give it more workers.",
            ),
    );
    let tests = RuleTests::new(["rules.yml"])
        .for_registry(&registry)
        .tests(cases);

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
    assert!(
        ok,
        "{report}\n{}\n{}",
        rules.to_yaml().expect("yaml"),
        tests.to_yaml().expect("yaml")
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn runtime_dashboard_row_names_the_collectors_metrics() {
    let registry = Registry::builder()
        .const_label("service", "shop")
        .build()
        .unwrap();
    let dashboard = Dashboard::new("shop", "shop")
        .for_registry(&registry)
        .filter("service", "shop")
        .runtime();
    dashboard.validate().expect("valid dashboard");
    let row = &dashboard.rows()[0];
    assert_eq!(row.title(), "Runtime");
    let titles: Vec<&str> = row.panels().iter().map(|p| p.title()).collect();
    assert_eq!(
        titles,
        [
            "Workers busy",
            "Alive tasks",
            "Global queue depth",
            "Worker parks"
        ]
    );
    let json = dashboard.to_json().expect("json");
    for name in [
        "tokio_runtime_worker_busy_seconds_total",
        "tokio_runtime_workers",
        "tokio_runtime_alive_tasks",
        "tokio_runtime_global_queue_depth",
        "tokio_runtime_worker_parks_total",
    ] {
        assert!(json.contains(name), "{name} missing from the dashboard");
    }
}
