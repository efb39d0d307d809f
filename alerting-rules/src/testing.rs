//! `promtool test rules` files, built from the same metric references and
//! alert rules as the rule file they test.
//!
//! A [`RuleTests`] file names the rule files to load and holds
//! [`TestCase`]s: synthetic input series (in promtool's expanding notation,
//! `0+10x60` is 0, 10, 20… for 61 samples) and the alerts expected at given
//! times. Input series are written from [`Selector`]s with `=` matchers, so
//! a series name or label that does not exist fails when the file is
//! written; expected alerts start from the [`AlertRule`] they test, so a
//! renamed alert renames its test.
//!
//! ```
//! use std::time::Duration;
//! use alerting_core::metrics::{Gauge, Registry};
//! use alerting_rules::testing::{AlertTest, ExpectedAlert, RuleTests, TestCase};
//! use alerting_rules::{packs, Named, Select};
//!
//! let registry = Registry::new();
//! let conns: Named<Gauge> = registry.register("ws_connections_active", "Open connections")?;
//! let rule = packs::websocket_disconnected(&conns, &[]);
//!
//! let tests = RuleTests::new(["rules.yml"]).test(
//!     TestCase::new("disconnected for 5 minutes")
//!         .series(conns.select().eq("instance", "a:9000"), "1 1 0x10")
//!         .expect(AlertTest::new(&rule, Duration::from_secs(8 * 60)).fires(
//!             ExpectedAlert::of(&rule)
//!                 .label("instance", "a:9000")
//!                 .annotation("summary", "WebSocket disconnected")
//!                 .annotation(
//!                     "description",
//!                     "No WebSocket connection has been open for 5 minutes. Events are not being received.",
//!                 ),
//!         )),
//! );
//! assert!(tests.to_yaml()?.contains("alertname: WebSocketDisconnected"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::time::Duration;

use serde::Serialize;

use crate::RulesError;
use crate::expr::{Expr, Selector, fmt_duration, target_set};
use crate::rule::{AlertRule, comment};

/// A `promtool test rules` file.
#[derive(Clone, Debug)]
pub struct RuleTests {
    rule_files: Vec<String>,
    evaluation_interval: Duration,
    tests: Vec<TestCase>,
    header: Option<String>,
    target_labels: Vec<String>,
}

impl RuleTests {
    /// Tests of the rules in `rule_files` (paths relative to the test file).
    pub fn new<S: Into<String>>(rule_files: impl IntoIterator<Item = S>) -> Self {
        Self {
            rule_files: rule_files.into_iter().map(Into::into).collect(),
            evaluation_interval: Duration::from_secs(60),
            tests: Vec::new(),
            header: None,
            target_labels: Vec::new(),
        }
    }

    /// Labels every scraped series has besides `job` and `instance`, which
    /// input series may carry.
    #[must_use]
    pub fn target_label(mut self, label: impl Into<String>) -> Self {
        self.target_labels.push(label.into());
        self
    }

    /// Takes the registry's constant labels as target labels.
    #[must_use]
    pub fn for_registry(mut self, registry: &alerting_core::metrics::Registry) -> Self {
        self.target_labels
            .extend(registry.const_labels().iter().map(|(n, _)| n.clone()));
        self
    }

    /// How often rules are evaluated in the tests (1 minute by default).
    #[must_use]
    pub fn evaluation_interval(mut self, interval: Duration) -> Self {
        self.evaluation_interval = interval;
        self
    }

    /// Adds a test case.
    #[must_use]
    pub fn test(mut self, case: TestCase) -> Self {
        self.tests.push(case);
        self
    }

    /// Adds test cases.
    #[must_use]
    pub fn tests(mut self, cases: impl IntoIterator<Item = TestCase>) -> Self {
        self.tests.extend(cases);
        self
    }

    /// A comment at the top of the file.
    #[must_use]
    pub fn header(mut self, text: impl Into<String>) -> Self {
        self.header = Some(text.into());
        self
    }

    /// The test cases.
    pub fn cases(&self) -> &[TestCase] {
        &self.tests
    }

    /// The file as YAML.
    pub fn to_yaml(&self) -> Result<String, RulesError> {
        let extra: Vec<&str> = self.target_labels.iter().map(String::as_str).collect();
        let target = target_set(&extra);
        let model = FileYaml {
            rule_files: self.rule_files.clone(),
            evaluation_interval: duration(self.evaluation_interval, "evaluation_interval")?,
            tests: self
                .tests
                .iter()
                .map(|t| t.to_model(&target))
                .collect::<Result<_, _>>()?,
        };
        let body = yaml_serde::to_string(&model)?;
        Ok(match &self.header {
            Some(h) => format!("{}{body}", comment(h)),
            None => body,
        })
    }

    /// Writes [`to_yaml`](Self::to_yaml) to `path`.
    pub fn write(&self, path: impl AsRef<Path>) -> Result<(), RulesError> {
        let path = path.as_ref();
        std::fs::write(path, self.to_yaml()?).map_err(|source| RulesError::Io {
            path: path.to_path_buf(),
            source,
        })
    }
}

/// One test: input series sampled every `interval`, and expectations.
#[derive(Clone, Debug)]
pub struct TestCase {
    name: String,
    interval: Duration,
    series: Vec<(Selector, String)>,
    alerts: Vec<AlertTest>,
}

impl TestCase {
    /// A test named `name`, with series sampled every minute.
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            interval: Duration::from_secs(60),
            series: Vec::new(),
            alerts: Vec::new(),
        }
    }

    /// The sampling interval of the input series.
    #[must_use]
    pub fn interval(mut self, interval: Duration) -> Self {
        self.interval = interval;
        self
    }

    /// An input series: a selector with `=` matchers only, and its values
    /// in promtool's notation (`0+10x60`, `1 1 0x10`, `_` for a gap,
    /// `stale`).
    #[must_use]
    pub fn series(mut self, series: impl Into<Selector>, values: impl Into<String>) -> Self {
        self.series.push((series.into(), values.into()));
        self
    }

    /// An expectation about an alert at a time.
    #[must_use]
    pub fn expect(mut self, alert: AlertTest) -> Self {
        self.alerts.push(alert);
        self
    }

    /// The test's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    fn to_model(&self, target: &BTreeSet<String>) -> Result<CaseYaml, RulesError> {
        let context = format!("rule test `{}`", self.name);
        for (sel, _) in &self.series {
            Expr::from(sel.clone()).check_in(&context, target)?;
        }
        let input_series = self
            .series
            .iter()
            .map(|(sel, values)| {
                Ok(SeriesYaml {
                    series: sel.series_text().ok_or_else(|| RulesError::InvalidSeries {
                        context: context.clone(),
                        series: sel.to_string(),
                    })?,
                    values: values.clone(),
                })
            })
            .collect::<Result<_, RulesError>>()?;
        Ok(CaseYaml {
            name: self.name.clone(),
            interval: duration(self.interval, &context)?,
            input_series,
            alert_rule_test: self
                .alerts
                .iter()
                .map(|a| {
                    Ok(AlertTestYaml {
                        eval_time: duration(a.eval_time, &context)?,
                        alertname: a.alertname.clone(),
                        exp_alerts: a
                            .expected
                            .iter()
                            .map(|e| ExpAlertYaml {
                                exp_labels: e.labels.clone(),
                                exp_annotations: e.annotations.clone(),
                            })
                            .collect(),
                    })
                })
                .collect::<Result<_, RulesError>>()?,
        })
    }
}

/// The alerts of one rule expected to be firing at one time (none, unless
/// [`fires`](Self::fires) adds some).
#[derive(Clone, Debug)]
pub struct AlertTest {
    eval_time: Duration,
    alertname: String,
    expected: Vec<ExpectedAlert>,
}

impl AlertTest {
    /// At `eval_time` after the start of the series, `rule` fires nothing
    /// (add alerts with [`fires`](Self::fires)).
    pub fn new(rule: &AlertRule, eval_time: Duration) -> Self {
        Self {
            eval_time,
            alertname: rule.name().to_owned(),
            expected: Vec::new(),
        }
    }

    /// Expects this alert to be firing.
    #[must_use]
    pub fn fires(mut self, alert: ExpectedAlert) -> Self {
        self.expected.push(alert);
        self
    }
}

/// An alert expected to fire: all its labels and annotations, exactly
/// (promtool compares both in full).
#[derive(Clone, Debug, Default)]
pub struct ExpectedAlert {
    labels: BTreeMap<String, String>,
    annotations: BTreeMap<String, String>,
}

impl ExpectedAlert {
    /// An alert with `rule`'s own labels (severity and the others it adds);
    /// add the series' labels and the expanded annotations.
    pub fn of(rule: &AlertRule) -> Self {
        Self {
            labels: rule.labels().clone(),
            annotations: BTreeMap::new(),
        }
    }

    /// A label the alert has (from the series, or the rule).
    #[must_use]
    pub fn label(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.labels.insert(name.into(), value.into());
        self
    }

    /// An annotation as Prometheus expands it.
    #[must_use]
    pub fn annotation(mut self, name: impl Into<String>, text: impl Into<String>) -> Self {
        self.annotations.insert(name.into(), text.into());
        self
    }
}

fn duration(d: Duration, context: &str) -> Result<String, RulesError> {
    if d.is_zero() {
        return Ok("0s".to_owned());
    }
    fmt_duration(d).ok_or_else(|| RulesError::InvalidDuration {
        context: context.to_owned(),
        duration: d,
    })
}

#[derive(Serialize)]
struct FileYaml {
    rule_files: Vec<String>,
    evaluation_interval: String,
    tests: Vec<CaseYaml>,
}

#[derive(Serialize)]
struct CaseYaml {
    name: String,
    interval: String,
    input_series: Vec<SeriesYaml>,
    alert_rule_test: Vec<AlertTestYaml>,
}

#[derive(Serialize)]
struct SeriesYaml {
    series: String,
    values: String,
}

#[derive(Serialize)]
struct AlertTestYaml {
    eval_time: String,
    alertname: String,
    exp_alerts: Vec<ExpAlertYaml>,
}

#[derive(Serialize)]
struct ExpAlertYaml {
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    exp_labels: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    exp_annotations: BTreeMap<String, String>,
}
