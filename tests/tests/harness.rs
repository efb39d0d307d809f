//! The Prometheus harness itself: rule files are loaded and evaluated,
//! alerts can be waited for, a broken rule file is a clear error, and a
//! reload picks up a changed file.

use std::path::PathBuf;
use std::time::Duration;

use alerting_tests::{HarnessError, Prometheus};

const WAIT: Duration = Duration::from_secs(30);

/// A rule file in a directory of its own, removed at the end.
struct RuleFile(PathBuf);

impl RuleFile {
    fn new(name: &str, text: &str) -> Self {
        let dir =
            std::env::temp_dir().join(format!("alerting-rules-{}-{name}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("rules.yml");
        std::fs::write(&path, text).unwrap();
        Self(path)
    }
}

impl Drop for RuleFile {
    fn drop(&mut self) {
        if let Some(dir) = self.0.parent() {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

#[test]
fn rules_are_evaluated_and_alerts_fire() {
    let rules = RuleFile::new(
        "fire",
        r#"
groups:
  - name: harness
    rules:
      - record: harness:answer
        expr: vector(42)
      - alert: AlwaysFiring
        expr: vector(1) > 0
        labels:
          severity: page
        annotations:
          summary: always
"#,
    );
    let prometheus = Prometheus::builder()
        .rule_file(&rules.0)
        .start()
        .expect("start prometheus");

    let alert = prometheus
        .wait_until(
            || {
                let alerts = prometheus.alerts().ok()?;
                alerts
                    .as_array()?
                    .iter()
                    .find(|a| a["labels"]["alertname"] == "AlwaysFiring" && a["state"] == "firing")
                    .cloned()
            },
            WAIT,
        )
        .expect("the alert fires");
    assert_eq!(alert["labels"]["severity"], "page");
    assert_eq!(alert["annotations"]["summary"], "always");

    let answer = prometheus
        .wait_until(
            || prometheus.query_value("harness:answer").ok().flatten(),
            WAIT,
        )
        .unwrap();
    assert_eq!(answer, 42.0);

    let groups = prometheus.rules().unwrap();
    assert_eq!(groups[0]["name"], "harness");
    assert_eq!(groups[0]["rules"][0]["health"], "ok");

    // Change the file and reload: the new rule is there.
    std::fs::write(
        &rules.0,
        "groups:\n  - name: reloaded\n    rules:\n      - record: harness:other\n        expr: vector(7)\n",
    )
    .unwrap();
    prometheus.reload().unwrap();
    let groups = prometheus.rules().unwrap();
    assert_eq!(groups[0]["name"], "reloaded");
}

#[test]
fn a_broken_rule_file_is_an_error_with_the_log() {
    let rules = RuleFile::new(
        "broken",
        "groups:\n  - name: x\n    rules:\n      - alert: Bad\n        expr: sum(\n",
    );
    let err = Prometheus::builder()
        .rule_file(&rules.0)
        .start()
        .expect_err("prometheus refuses a broken rule file");
    assert!(matches!(err, HarnessError::Exited { .. }), "{err}");
    assert!(err.to_string().contains("rules.yml"), "{err}");
}

#[test]
fn rules_given_as_text_are_written_for_the_server() {
    let err = Prometheus::builder()
        .rules_yaml("groups:\n  - name: x\n    rules:\n      - alert: Bad\n        expr: sum(\n")
        .start()
        .expect_err("prometheus refuses a broken rule text");
    assert!(matches!(err, HarnessError::Exited { .. }), "{err}");
    assert!(err.to_string().contains("rules-0.yml"), "{err}");
}
