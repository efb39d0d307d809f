//! Dashboards check their queries and legends like rule files do, lay
//! panels out on Grafana's 24-column grid, and apply their filters to the
//! ready-made rows.

use std::time::Duration;

use alerting_core::instrument::call_sites;
use alerting_core::instrumented;
use alerting_core::metrics::{Counter, Family, LabelSet, LabelValue, Registry};
use alerting_rules::dashboards::{Dashboard, DashboardError, Panel, Row, Unit};
use alerting_rules::{Named, RulesError, Sli, Slo, builtin, rate};
use serde_json::Value;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, LabelValue)]
enum Kind {
    Swap,
    Sync,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, LabelSet)]
struct Labels {
    kind: Kind,
}

// The functions the rows name: rules and dashboards know them from their
// linked call sites, whether or not the test calls them.
#[instrumented(in_flight)]
fn process() {}

#[instrumented]
fn send() {}

fn messages(registry: &Registry) -> Named<Family<Labels, Counter>> {
    registry
        .register("messages_total", "Messages")
        .expect("register")
}

#[test]
fn a_legend_may_only_use_labels_of_its_series() {
    let registry = Registry::new();
    let m = messages(&registry);
    let panel = |legend: &str| {
        Dashboard::new("t", "t").row(
            Row::new("r").panel(
                Panel::timeseries("Messages", Unit::OpsPerSecond)
                    .query(rate(&m, Duration::from_secs(300)).sum_by(&["kind"]), legend),
            ),
        )
    };
    panel("{{kind}}").to_json().expect("kind is kept");
    let err = panel("{{ instance }}").to_json().unwrap_err();
    assert!(
        matches!(&err, DashboardError::UnknownLegendLabel { label, .. } if label == "instance"),
        "{err}"
    );
    let bad_by = Dashboard::new("t", "t").row(
        Row::new("r").panel(
            Panel::timeseries("Messages", Unit::OpsPerSecond)
                .query(rate(&m, Duration::from_secs(300)).sum_by(&["batch"]), "x"),
        ),
    );
    assert!(matches!(
        bad_by.to_json(),
        Err(DashboardError::Query {
            source: RulesError::UnknownLabel { .. },
            ..
        })
    ));
    let empty =
        Dashboard::new("t", "t").row(Row::new("r").panel(Panel::stat("Nothing", Unit::Short)));
    assert!(matches!(
        empty.to_json(),
        Err(DashboardError::NoQuery { .. })
    ));
    assert!(matches!(
        Dashboard::new("t", "x".repeat(41)).to_json(),
        Err(DashboardError::Invalid { what: "uid", .. })
    ));
}

#[test]
fn panels_are_laid_out_on_the_grid_under_their_rows() {
    let registry = Registry::builder()
        .const_label("service", "demo")
        .build()
        .expect("registry");
    let fns = builtin::Instrumented::new(&registry);
    let slo = Slo::new("swaps", Sli::instrumented(&fns, "process"), 0.99);
    let d = Dashboard::new("Demo", "demo")
        .for_registry(&registry)
        .filter("service", "demo")
        .instrumented_overview(&fns)
        .instrumented_functions(&fns, &["process", "send"])
        .health(
            &builtin::health_check_status(&registry),
            &builtin::health_check_duration(&registry),
        )
        .process()
        .slo(&slo);
    let json: Value = serde_json::from_str(&d.to_json().expect("json")).expect("valid");
    let panels = json["panels"].as_array().expect("panels");
    let rows: Vec<&str> = panels
        .iter()
        .filter(|p| p["type"] == "row")
        .map(|p| p["title"].as_str().expect("title"))
        .collect();
    assert_eq!(
        rows,
        [
            "Functions overview",
            "fn process",
            "fn send",
            "Health",
            "Process",
            "SLO swaps"
        ]
    );
    // No two panels overlap; each panel is below its row.
    let mut cells = std::collections::BTreeSet::new();
    let mut row_y = 0;
    for p in panels {
        let g = &p["gridPos"];
        let (x, y, w, h) = (
            g["x"].as_u64().expect("x"),
            g["y"].as_u64().expect("y"),
            g["w"].as_u64().expect("w"),
            g["h"].as_u64().expect("h"),
        );
        assert!(x + w <= 24);
        if p["type"] == "row" {
            row_y = y;
        } else {
            assert!(y > row_y, "{} above its row", p["title"]);
        }
        for cx in x..x + w {
            for cy in y..y + h {
                assert!(
                    cells.insert((cx, cy)),
                    "{} overlaps another panel",
                    p["title"]
                );
            }
        }
    }
    // The filter is on every ready-made query; SLO panels read recordings.
    for e in d.exprs() {
        assert!(
            e.text().contains(r#"service="demo""#) || e.text().contains("slo:"),
            "{e}"
        );
    }
    let health = panels
        .iter()
        .find(|p| p["title"] == "Health checks")
        .expect("health panel");
    assert_eq!(health["type"], "stat");
    assert_eq!(
        health["fieldConfig"]["defaults"]["mappings"][0]["options"]["0.5"]["text"],
        "DEGRADED"
    );
}

#[test]
fn in_flight_panels_only_for_functions_that_have_the_gauge() {
    let registry = Registry::new();
    let titles = |fns: &builtin::Instrumented| -> Vec<(String, Vec<String>)> {
        Dashboard::new("Demo", "demo")
            .instrumented_overview(fns)
            .instrumented_functions(fns, &["process", "send"])
            .rows()
            .iter()
            .map(|r| {
                let panels = r.panels().iter().map(|p| p.title().to_owned()).collect();
                (r.title().to_owned(), panels)
            })
            .collect()
    };
    let has_in_flight = |rows: &[(String, Vec<String>)], row: &str| {
        rows.iter()
            .find(|(t, _)| t == row)
            .expect("row")
            .1
            .iter()
            .any(|p| p == "In flight")
    };
    // Known from the attributes: `process` has `in_flight`, `send` not.
    let linked = titles(&builtin::Instrumented::new(&registry));
    assert!(has_in_flight(&linked, "Functions overview"));
    assert!(has_in_flight(&linked, "fn process"));
    assert!(!has_in_flight(&linked, "fn send"));
    // Without a site that has one, the overview has no in-flight panel.
    let only_send = builtin::Instrumented::for_sites(
        &registry,
        call_sites().filter(|s| s.function() == "send"),
    );
    let rows = Dashboard::new("Demo", "demo")
        .instrumented_overview(&only_send)
        .rows()
        .iter()
        .map(|r| {
            let panels = r.panels().iter().map(|p| p.title().to_owned()).collect();
            (r.title().to_owned(), panels)
        })
        .collect::<Vec<_>>();
    assert!(!has_in_flight(&rows, "Functions overview"));
    // The functions exist; calling them changes nothing above.
    process();
    send();
}

#[test]
fn latency_panels_show_the_exemplars_of_their_p99_query() {
    let registry = Registry::new();
    let fns = builtin::Instrumented::new(&registry);
    let dashboard = Dashboard::new("t", "t")
        .instrumented_overview(&fns)
        .instrumented_functions(&fns, &["process"]);
    let json: Value = serde_json::from_str(&dashboard.to_json().expect("json")).expect("parse");
    let panels: Vec<&Value> = json["panels"]
        .as_array()
        .expect("panels")
        .iter()
        .filter(|p| p["type"] != "row")
        .collect();
    let mut latency = 0;
    for panel in &panels {
        let targets = panel["targets"].as_array().expect("targets");
        let with: Vec<&str> = targets
            .iter()
            .filter(|t| t["exemplar"] == true)
            .map(|t| t["legendFormat"].as_str().unwrap_or_default())
            .collect();
        if panel["title"]
            .as_str()
            .is_some_and(|t| t.starts_with("Latency"))
        {
            latency += 1;
            assert_eq!(with, ["p99"], "{panel}");
            assert_eq!(panel["type"], "timeseries");
        } else {
            assert!(with.is_empty(), "{panel}");
        }
    }
    // The overview's and the function row's.
    assert_eq!(latency, 2, "{json}");
}
