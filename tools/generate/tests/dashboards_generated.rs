//! The generated Grafana dashboards are valid JSON in the shape Grafana
//! imports, every panel query parses as PromQL (promtool parses each one
//! as the expression of a recording rule), and every metric a panel names
//! is in the monitor's registry.

use std::collections::BTreeSet;
use std::error::Error;
use std::path::Path;
use std::process::Command;
use std::sync::OnceLock;

use alerting_core::health::{CheckOptions, HealthRegistry};
use alerting_core::metrics::{Format, Registry};
use alerting_generate::Monitor;
use alerting_rules::dashboards::SCHEMA_VERSION;
use serde_json::Value;

/// Stand-ins of bsc-monitor's instrumented functions, with the same names
/// and options, recording into its generator's registry: they register the
/// families `#[instrumented]` creates on a first call. The app's own tests
/// check that it exports `INSTRUMENTED_FUNCTIONS`.
mod bsc_stand_ins {
    use alerting_core::instrumented;
    use bsc_monitor::generate::registry;

    #[instrumented(registry = registry, in_flight)]
    pub(super) async fn process_swap_event(valid: bool) -> Result<(), String> {
        if valid { Ok(()) } else { Err("bad log".into()) }
    }

    #[instrumented(registry = registry)]
    pub(super) fn fetch_token_info(token: &str) -> Result<u64, String> {
        token.len().try_into().map_err(|_| "too long".to_owned())
    }

    #[instrumented(registry = registry)]
    pub(super) fn send_alert(ok: bool) -> Result<(), String> {
        if ok {
            Ok(())
        } else {
            Err("webhook down".into())
        }
    }
}

/// Stand-ins of sol-monitor's instrumented functions, as above.
mod sol_stand_ins {
    use alerting_core::instrumented;
    use sol_monitor::generate::registry;

    #[instrumented(registry = registry)]
    pub(super) fn process_account_update(valid: bool) -> Result<(), String> {
        if valid { Ok(()) } else { Err("decode".into()) }
    }

    #[instrumented(registry = registry)]
    pub(super) fn resubscribe_batch(batch: &str) -> Result<(), String> {
        if batch.is_empty() {
            Err("no batch".into())
        } else {
            Ok(())
        }
    }
}

/// Registers a health component named `check` in `registry`, so that the
/// health families the rules and panels name are exported.
fn exercise_health(registry: &Registry, check: &str) -> Result<(), Box<dyn Error>> {
    let health = HealthRegistry::builder()
        .metrics(registry)
        .build()
        .map_err(|e| e.to_string())?;
    health
        .add_component(check, CheckOptions::new())
        .map_err(|e| e.to_string())?
        .up();
    Ok(())
}

/// Runs what registers each monitor's lazily registered families
/// (`#[instrumented]` on a first call, health on a first check), once, so
/// that its registry exposes everything its rules and dashboard name.
fn exercise() -> Result<(), String> {
    static ONCE: OnceLock<Result<(), String>> = OnceLock::new();
    ONCE.get_or_init(|| {
        bsc_monitor::generate::metrics()?;
        sol_monitor::generate::metrics()?;
        exercise_health(bsc_monitor::generate::registry(), "bsc_ws").map_err(|e| e.to_string())?;
        exercise_health(sol_monitor::generate::registry(), "sol_ws_batch_0")
            .map_err(|e| e.to_string())?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .map_err(|e| e.to_string())?;
        runtime.block_on(async {
            let _ = bsc_stand_ins::process_swap_event(true).await;
        });
        let _ = bsc_stand_ins::fetch_token_info("0xabc");
        let _ = bsc_stand_ins::send_alert(true);
        let _ = sol_stand_ins::process_account_update(false);
        let _ = sol_stand_ins::resubscribe_batch("3");
        Ok(())
    })
    .clone()
}

fn dashboards() -> Vec<(String, Value, Monitor)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/generated");
    alerting_generate::monitors()
        .expect("generate")
        .into_iter()
        .map(|m| {
            let path = dir.join(m.service).join("dashboard.json");
            let text = std::fs::read_to_string(&path)
                .unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
            let json: Value = serde_json::from_str(&text)
                .unwrap_or_else(|e| panic!("{} is not valid JSON: {e}", path.display()));
            (m.service.to_owned(), json, m)
        })
        .collect()
}

/// Every panel, including those inside collapsed rows.
fn panels(dashboard: &Value) -> Vec<&Value> {
    let mut out = Vec::new();
    for p in dashboard["panels"].as_array().expect("panels") {
        out.push(p);
        if let Some(children) = p["panels"].as_array() {
            out.extend(children.iter());
        }
    }
    out
}

#[test]
fn dashboards_have_the_shape_grafana_imports() {
    for (service, d, m) in dashboards() {
        assert_eq!(d["schemaVersion"], SCHEMA_VERSION, "{service}");
        assert_eq!(d["uid"], format!("alerting-{service}"));
        let ds = &d["templating"]["list"][0];
        assert_eq!(ds["type"], "datasource");
        assert_eq!(ds["query"], "prometheus");
        let mut ids = BTreeSet::new();
        let mut rows = Vec::new();
        for p in panels(&d) {
            let id = p["id"].as_u64().expect("panel id");
            assert!(ids.insert(id), "{service}: panel id {id} twice");
            let pos = &p["gridPos"];
            let (x, w) = (pos["x"].as_u64().expect("x"), pos["w"].as_u64().expect("w"));
            assert!(
                x + w <= 24,
                "{service}: panel {} overflows the grid",
                p["title"]
            );
            if p["type"] == "row" {
                rows.push(p["title"].as_str().expect("row title").to_owned());
                continue;
            }
            assert_eq!(p["datasource"]["uid"], "${datasource}", "{service}");
            let targets = p["targets"].as_array().expect("targets");
            assert!(
                !targets.is_empty(),
                "{service}: {} has no query",
                p["title"]
            );
            for t in targets {
                let expr = t["expr"].as_str().expect("expr");
                assert!(!expr.is_empty());
                assert_eq!(t["datasource"]["uid"], "${datasource}");
                // The dashboard's scope reaches every query, custom rows too.
                assert!(
                    expr.contains(&format!("service=\"{service}\"")),
                    "{service}: panel {} reads other services' series: {expr}",
                    p["title"]
                );
            }
        }
        let mut unique = rows.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(
            unique.len(),
            rows.len(),
            "{service}: two rows share a title: {rows:?}"
        );
        // Overview, a row per instrumented function, health, process.
        assert_eq!(rows[0], "Functions overview");
        for f in m.instrumented_functions {
            assert!(
                rows.contains(&format!("fn {f}")),
                "{service}: no row for {f}"
            );
        }
        for r in ["Health", "Process"] {
            assert!(rows.iter().any(|x| x == r), "{service}: no {r} row");
        }
        assert!(
            rows.iter().any(|x| x.starts_with("SLO ")),
            "{service}: no SLO row"
        );
    }
}

#[test]
fn every_panel_query_parses() {
    let dir = std::env::temp_dir().join(format!("alerting-dashboards-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    for (service, d, _) in dashboards() {
        // Each query becomes the expression of a recording rule, which
        // `promtool check rules` parses with Prometheus' own PromQL parser.
        let mut yaml = String::from("groups:\n- name: panels\n  rules:\n");
        let mut count = 0;
        for p in panels(&d) {
            for t in p["targets"].as_array().into_iter().flatten() {
                let expr = t["expr"].as_str().expect("expr");
                yaml.push_str(&format!(
                    "  - record: panel:query:{count}\n    expr: {}\n",
                    serde_json::to_string(expr).expect("quote")
                ));
                count += 1;
            }
        }
        assert!(count > 20, "{service}: only {count} queries");
        let path = dir.join(format!("{service}-panels.yml"));
        std::fs::write(&path, yaml).expect("write");
        let out = Command::new("promtool")
            .args(["check", "rules"])
            .arg(&path)
            .output()
            .expect("cannot run promtool: install Debian's `prometheus` package (.ci/run does)");
        let report = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            out.status.success(),
            "{service}: a panel query does not parse:\n{report}"
        );
        assert!(
            report.contains(&format!("SUCCESS: {count} rules found")),
            "{report}"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn every_metric_a_panel_names_is_in_the_registry() {
    exercise().expect("exercise the monitors");
    for (service, d, m) in dashboards() {
        let exposition = m
            .registry
            .encode_to_string(Format::Prometheus)
            .expect("encode");
        let exposed: BTreeSet<&str> = exposition
            .lines()
            .filter_map(|l| l.strip_prefix("# TYPE "))
            .filter_map(|l| l.split_whitespace().next())
            .collect();
        let mut checked = 0;
        for metric in m.dashboard.metrics() {
            if !metric.origin().is_exported() {
                continue;
            }
            assert!(
                exposed.contains(metric.name()),
                "{service}: a panel names `{}`, which the registry does not expose",
                metric.name()
            );
            checked += 1;
        }
        assert!(checked >= 10, "{service}: only {checked} metrics checked");
        // And the committed JSON names nothing else: every metric in its
        // queries is one the dashboard value names.
        let names: BTreeSet<String> = m
            .dashboard
            .metrics()
            .iter()
            .flat_map(|r| r.sample_names())
            .collect();
        for p in panels(&d) {
            for t in p["targets"].as_array().into_iter().flatten() {
                let expr = t["expr"].as_str().expect("expr");
                for word in identifiers(expr) {
                    // Every selector the generator writes has matchers or a
                    // range: a metric name is followed by `{` or `[`.
                    let is_metric =
                        expr.contains(&format!("{word}{{")) || expr.contains(&format!("{word}["));
                    if is_metric {
                        assert!(
                            names.contains(&word),
                            "{service}: `{word}` in `{expr}` is not a metric of the dashboard"
                        );
                    }
                }
            }
        }
    }
}

/// Identifier-like words of a PromQL expression outside string literals.
fn identifiers(expr: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut in_string = false;
    let mut escaped = false;
    let mut word = String::new();
    for c in expr.chars() {
        if in_string {
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_string = false;
            }
            continue;
        }
        if c == '"' {
            in_string = true;
        }
        if c.is_ascii_alphanumeric() || c == '_' || c == ':' {
            word.push(c);
        } else if !word.is_empty() {
            out.push(std::mem::take(&mut word));
        }
    }
    if !word.is_empty() {
        out.push(word);
    }
    out
}
