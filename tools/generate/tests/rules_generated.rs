//! The generated rule files, rule tests and dashboards under
//! `docs/generated/` are what the code generates, and promtool accepts
//! them: `promtool check rules --lint=all` on every rule file (no
//! duplicate rules, no hard-coded values in labels), `promtool test rules`
//! on every rule test file (each alert firing on a faulty series and
//! silent on a healthy one, each SLO alert at the workbook's burn rates).
//!
//! promtool (Debian's `prometheus` package) must be installed: `.ci/run`
//! installs it. Without it these tests fail rather than skip.

use std::path::{Path, PathBuf};
use std::process::Command;

use alerting_generate::REGENERATE;

fn generated_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/generated")
}

fn promtool(args: &[&str]) -> (bool, String) {
    let out = Command::new("promtool")
        .args(args)
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "cannot run promtool ({e}): install Debian's `prometheus` package (.ci/run does)"
            )
        });
    let mut report = String::from_utf8_lossy(&out.stdout).into_owned();
    report.push_str(&String::from_utf8_lossy(&out.stderr));
    (out.status.success(), report)
}

/// Files under `dir`, relative to it.
fn list(dir: &Path, base: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read docs/generated") {
        let path = entry.expect("dir entry").path();
        if path.is_dir() {
            list(&path, base, out);
        } else {
            out.push(path.strip_prefix(base).expect("prefix").to_path_buf());
        }
    }
}

#[test]
fn committed_files_are_what_the_code_generates() {
    let dir = generated_dir();
    let files = alerting_generate::files().expect("generate");
    let mut stale = Vec::new();
    for (rel, contents) in &files {
        let committed = std::fs::read_to_string(dir.join(rel)).unwrap_or_default();
        if committed != *contents {
            stale.push(rel.display().to_string());
        }
    }
    let mut on_disk = Vec::new();
    list(&dir, &dir, &mut on_disk);
    let extra: Vec<String> = on_disk
        .iter()
        .filter(|p| !files.iter().any(|(rel, _)| rel == *p))
        .map(|p| p.display().to_string())
        .collect();
    assert!(
        stale.is_empty() && extra.is_empty(),
        "docs/generated is out of date (differs: {stale:?}; not generated any more: {extra:?}).\n\
         Regenerate with `{REGENERATE}` and commit the result."
    );
}

#[test]
fn promtool_checks_every_generated_rule_file() {
    let dir = generated_dir();
    let mut checked = 0;
    for m in alerting_generate::monitors().expect("generate") {
        let path = dir.join(m.service).join("rules.yml");
        let (ok, report) = promtool(&[
            "check",
            "rules",
            "--lint=all",
            "--lint-fatal",
            path.to_str().expect("utf-8 path"),
        ]);
        assert!(
            ok,
            "promtool check rules --lint=all {}:\n{report}",
            path.display()
        );
        assert!(report.contains("SUCCESS"), "{report}");
        checked += 1;
    }
    assert_eq!(checked, 2);
}

#[test]
fn promtool_runs_every_generated_rule_test() {
    let dir = generated_dir();
    for m in alerting_generate::monitors().expect("generate") {
        let path = dir.join(m.service).join("rules_test.yml");
        let (ok, report) = promtool(&["test", "rules", path.to_str().expect("utf-8 path")]);
        assert!(ok, "promtool test rules {}:\n{report}", path.display());
    }
}

#[test]
fn every_rule_pack_alert_has_a_firing_and_a_silent_test() {
    for m in alerting_generate::monitors().expect("generate") {
        let yaml = m.tests.to_yaml().expect("tests yaml");
        for alert in m.rules.alerts() {
            let name = alert.name();
            if name.ends_with("ErrorBudgetBurn") {
                continue;
            }
            assert!(
                yaml.contains(&format!("name: {name} fires")),
                "{}: no firing test for {name}",
                m.service
            );
            assert!(
                yaml.contains(&format!("name: {name} stays silent when healthy")),
                "{}: no healthy test for {name}",
                m.service
            );
        }
    }
}

#[test]
fn slo_burn_rate_tests_cover_every_window_pair() {
    for m in alerting_generate::monitors().expect("generate") {
        let yaml = m.tests.to_yaml().expect("tests yaml");
        for (long, short) in [("1h", "5m"), ("6h", "30m"), ("1d", "2h"), ("3d", "6h")] {
            assert!(
                yaml.contains(&format!("long_window: {long}"))
                    && yaml.contains(&format!("short_window: {short}")),
                "{}: no test expects the {long}/{short} burn-rate alert",
                m.service
            );
        }
        for burn in ["15x", "7x", "4x", "2x", "0.5x"] {
            assert!(
                yaml.contains(&format!("at {burn} the budget")),
                "{}: no test at {burn}",
                m.service
            );
        }
    }
}

#[test]
fn every_runbook_link_names_a_section_of_a_runbook_in_this_repository() {
    let dir = generated_dir();
    let mut checked = 0;
    for m in alerting_generate::monitors().expect("generate") {
        for group in m.rules.resolved_groups().expect("resolved") {
            for alert in group.alerts() {
                let url = alert.annotations().get("runbook_url").unwrap_or_else(|| {
                    panic!("{}: {} has no runbook_url", m.service, alert.name())
                });
                let (path, anchor) = url.split_once('#').expect("an anchor");
                // Relative to the rule file's directory.
                let file = dir.join(m.service).join(path);
                let text = std::fs::read_to_string(&file)
                    .unwrap_or_else(|e| panic!("{}: {url}: {} ({e})", m.service, file.display()));
                // GitHub's anchor of a heading: lower case, spaces to `-`.
                let anchors: Vec<String> = text
                    .lines()
                    .filter_map(|l| l.strip_prefix("## "))
                    .map(|h| {
                        h.trim()
                            .to_lowercase()
                            .chars()
                            .filter(|c| c.is_alphanumeric() || *c == ' ' || *c == '-')
                            .map(|c| if c == ' ' { '-' } else { c })
                            .collect()
                    })
                    .collect();
                assert!(
                    anchors.iter().any(|a| a == anchor),
                    "{}: {} links to `#{anchor}`, which is no heading of {} ({anchors:?})",
                    m.service,
                    alert.name(),
                    file.display()
                );
                checked += 1;
            }
        }
    }
    assert!(checked > 20, "{checked}");
}
