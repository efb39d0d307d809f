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
//!
//! Helpers write the cases most services need:
//!
//! - [`fires_and_stays_silent`]: an alert firing on a faulty series, with
//!   its labels and expanded annotations, and silent on a healthy one;
//! - [`slo_burn_cases`] and [`latency_slo_case`]: an SLO's burn-rate
//!   alerts at the workbook's burn rates, expected with
//!   [`ExpectedAlert::slo_burn`];
//! - [`CommonAlerts::test_cases`](crate::packs::CommonAlerts::test_cases):
//!   the alerts every service has on its process, scrape target and
//!   health checks.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::time::Duration;

use serde::Serialize;

use crate::expr::{Expr, Selector, fmt_duration, target_set};
use crate::rule::{AlertRule, RuleFile, comment};
use crate::{RulesError, Slo, le_values};

/// A `promtool test rules` file.
#[derive(Clone, Debug)]
pub struct RuleTests {
    rule_files: Vec<String>,
    evaluation_interval: Duration,
    tests: Vec<TestCase>,
    header: Option<String>,
    target_labels: Vec<String>,
    rules: Option<RuleFile>,
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
            rules: None,
        }
    }

    /// Tests of `rules` as it is exported: its target labels, and its
    /// [`Scope`](crate::Scope) and runbooks applied to the tests too. Each
    /// input series gets the scope's labels its metric carries (`service`,
    /// `job` on `up`), and each expected alert the labels and plain
    /// annotations (`runbook_url`) the file adds to its rule, so a test
    /// states only what its case is about.
    #[must_use]
    pub fn for_rules(mut self, rules: &RuleFile) -> Self {
        self.target_labels.extend(
            rules
                .target()
                .into_iter()
                .filter(|l| !crate::TARGET_LABELS.contains(&l.as_str())),
        );
        self.rules = Some(rules.clone());
        self
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
                .map(|t| t.to_model(&target, self.rules.as_ref()))
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

    fn to_model(
        &self,
        target: &BTreeSet<String>,
        rules: Option<&RuleFile>,
    ) -> Result<CaseYaml, RulesError> {
        let context = format!("rule test `{}`", self.name);
        let scope = rules.and_then(RuleFile::scope_of);
        let series = self
            .series
            .iter()
            .map(|(sel, values)| match scope {
                Some(scope) => Ok((scope.apply(sel, target)?, values)),
                None => Ok((sel.clone(), values)),
            })
            .collect::<Result<Vec<_>, RulesError>>()?;
        for (sel, _) in &series {
            Expr::from(sel.clone()).check_in(&context, target)?;
        }
        let input_series = series
            .iter()
            .map(|(sel, values)| {
                Ok(SeriesYaml {
                    series: sel.series_text().ok_or_else(|| RulesError::InvalidSeries {
                        context: context.clone(),
                        series: sel.to_string(),
                    })?,
                    values: (*values).clone(),
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
                    let added = match rules {
                        Some(r) => Added::by(r, &a.alertname)?,
                        None => None,
                    };
                    Ok(AlertTestYaml {
                        eval_time: duration(a.eval_time, &context)?,
                        alertname: a.alertname.clone(),
                        exp_alerts: a
                            .expected
                            .iter()
                            .map(|e| e.with_rule(added.as_ref(), &context))
                            .collect::<Result<_, RulesError>>()?,
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

/// What a rule file adds to an alert rule when it exports it.
struct Added {
    alert: String,
    labels: BTreeMap<String, String>,
    annotations: BTreeMap<String, String>,
}

impl Added {
    /// What `rules` adds to its alert `name`: labels (its scope's) and
    /// annotations (a runbook); `None` when the file has no such alert.
    fn by(rules: &RuleFile, name: &str) -> Result<Option<Added>, RulesError> {
        let (Some(raw), Some(resolved)) = (rules.alert(name), rules.resolved_alert(name)?) else {
            return Ok(None);
        };
        let labels = resolved
            .labels()
            .iter()
            .filter(|(k, _)| !raw.labels().contains_key(*k))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        Ok(Some(Added {
            alert: resolved.name().to_owned(),
            labels,
            annotations: resolved.annotations().clone(),
        }))
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
    /// An alert with `rule`'s own labels (severity and the others it adds)
    /// and its annotations that hold no template (no `{{`), such as
    /// `runbook_url`, which Prometheus leaves as they are; add the series'
    /// labels and the expanded annotations.
    pub fn of(rule: &AlertRule) -> Self {
        Self {
            labels: rule.labels().clone(),
            annotations: rule
                .annotations()
                .iter()
                .filter(|(_, text)| !text.contains("{{"))
                .map(|(name, text)| (name.clone(), text.clone()))
                .collect(),
        }
    }

    /// The alert `rule` (one of [`Slo::alerts`]) raises when the SLO's
    /// error ratio over the rule's windows is `error_ratio` (`0.015` for
    /// 15× a budget of 0.1%): the rule's labels, the labels of the SLO's
    /// recorded series (`slo`, and `service` when set), and its
    /// annotations with `$value` expanded as Prometheus'
    /// `humanizePercentage` does.
    pub fn slo_burn(slo: &Slo, rule: &AlertRule, error_ratio: f64) -> Self {
        // The alert's series are the recorded error ratios: their labels
        // are those every recording rule of the SLO adds.
        let recorded = slo
            .recording_rules()
            .ok()
            .and_then(|rules| rules.first().map(|r| r.labels().clone()))
            .unwrap_or_default();
        let value = humanize_percentage(error_ratio);
        let mut alert = Self::of(rule)
            .labels(recorded)
            .labels(slo.scope_of().labels());
        for (name, text) in rule.annotations() {
            if text.contains("{{") {
                let expanded = text.replace("{{ $value | humanizePercentage }}", &value);
                alert = alert.annotation(name, expanded);
            }
        }
        alert
    }

    /// The expected alert with what the file adds to its rule (`added`:
    /// the alert's name, labels, annotations): the labels (one expected
    /// with another value is a conflict) and the annotations without
    /// templates.
    fn with_rule(&self, added: Option<&Added>, context: &str) -> Result<ExpAlertYaml, RulesError> {
        let mut labels = self.labels.clone();
        let mut annotations = self.annotations.clone();
        if let Some(Added {
            alert,
            labels: added_labels,
            annotations: added_annotations,
        }) = added
        {
            for (name, value) in added_labels {
                match labels.get(name) {
                    Some(v) if v != value => {
                        return Err(RulesError::ScopeConflict {
                            context: format!("{context}: expected alert `{alert}`"),
                            label: name.clone(),
                            first: v.clone(),
                            second: value.clone(),
                        });
                    }
                    Some(_) => {}
                    None => {
                        labels.insert(name.clone(), value.clone());
                    }
                }
            }
            for (name, text) in added_annotations {
                if !text.contains("{{") {
                    annotations
                        .entry(name.clone())
                        .or_insert_with(|| text.clone());
                }
            }
        }
        Ok(ExpAlertYaml {
            exp_labels: labels,
            exp_annotations: annotations,
        })
    }

    /// A label the alert has (from the series, or the rule).
    #[must_use]
    pub fn label(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.labels.insert(name.into(), value.into());
        self
    }

    /// Labels the alert has, as [`label`](Self::label).
    #[must_use]
    pub fn labels<K: Into<String>, V: Into<String>>(
        mut self,
        labels: impl IntoIterator<Item = (K, V)>,
    ) -> Self {
        self.labels
            .extend(labels.into_iter().map(|(k, v)| (k.into(), v.into())));
        self
    }

    /// An annotation as Prometheus expands it.
    #[must_use]
    pub fn annotation(mut self, name: impl Into<String>, text: impl Into<String>) -> Self {
        self.annotations.insert(name.into(), text.into());
        self
    }

    /// The `summary` annotation as Prometheus expands it.
    #[must_use]
    pub fn summary(self, text: impl Into<String>) -> Self {
        self.annotation("summary", text)
    }

    /// The `description` annotation as Prometheus expands it.
    #[must_use]
    pub fn description(self, text: impl Into<String>) -> Self {
        self.annotation("description", text)
    }
}

/// A firing case and a healthy case of one alert, both evaluated at `at`:
/// `<Alert> fires` on the `faulty` input series, expecting `fired`, and
/// `<Alert> stays silent when healthy` on the `healthy` ones. Each series is
/// a selector with `=` matchers and its values in promtool's notation.
///
/// ```
/// use std::time::Duration;
/// use alerting_core::metrics::{Gauge, Named, Registry};
/// use alerting_rules::testing::{ExpectedAlert, RuleTests, fires_and_stays_silent};
/// use alerting_rules::{Select, packs};
///
/// let registry = Registry::new();
/// let conns: Named<Gauge> = registry.register("ws_connections_active", "Open connections")?;
/// let rule = packs::websocket_disconnected(&conns, &[]);
/// let series = conns.select().eq("instance", "a:9000");
/// let cases = fires_and_stays_silent(
///     &rule,
///     Duration::from_secs(8 * 60),
///     // Down after two minutes…
///     &[(series.clone(), "1 1 0x10")],
///     // …or back up before the alert's `for` is over.
///     &[(series, "1 1 0 1x10")],
///     ExpectedAlert::of(&rule)
///         .label("instance", "a:9000")
///         .summary("WebSocket disconnected")
///         .description(
///             "No WebSocket connection has been open for 5 minutes. Events are not being received.",
///         ),
/// );
/// assert_eq!(cases[0].name(), "WebSocketDisconnected fires");
/// assert_eq!(cases[1].name(), "WebSocketDisconnected stays silent when healthy");
/// let yaml = RuleTests::new(["rules.yml"]).tests(cases).to_yaml()?;
/// assert!(yaml.contains("values: 1 1 0 1x10"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn fires_and_stays_silent(
    rule: &AlertRule,
    at: Duration,
    faulty: &[(Selector, &str)],
    healthy: &[(Selector, &str)],
    fired: ExpectedAlert,
) -> [TestCase; 2] {
    let case = |name: String, series: &[(Selector, &str)]| {
        series
            .iter()
            .fold(TestCase::new(name), |case, (s, values)| {
                case.series(s.clone(), *values)
            })
    };
    [
        case(format!("{} fires", rule.name()), faulty)
            .expect(AlertTest::new(rule, at).fires(fired)),
        case(
            format!("{} stays silent when healthy", rule.name()),
            healthy,
        )
        .expect(AlertTest::new(rule, at)),
    ]
}

/// The burn rates [`slo_burn_cases`] tests, as multiples of the error
/// budget: above each of the workbook's factors (14.4, 6, 3, 1), and one
/// below them all.
pub const SLO_BURN_RATES: [f64; 5] = [15.0, 7.0, 4.0, 2.0, 0.5];

/// How long the error ratio is held before the SLO's alerts are evaluated.
const BURN_HELD: Duration = Duration::from_secs(3600);

/// Test cases of an SLO's burn-rate alerts, one per rate of
/// [`SLO_BURN_RATES`]: `good` and `bad`, two input series of the SLO's
/// counters (selectors with `=` matchers, `outcome="ok"` and
/// `outcome="error"`), grow by 1000 events a minute, `rate × budget` of them
/// bad, for an hour; then every alert whose window pair has a factor below
/// the rate fires ([`ExpectedAlert::slo_burn`]) and the others do not.
///
/// ```
/// use std::time::Duration;
/// use alerting_core::metrics::Registry;
/// use alerting_rules::testing::{RuleTests, latency_slo_case, slo_burn_cases};
/// use alerting_rules::{Matcher, Sli, Slo, builtin};
/// use alerting_rules::prelude::*;
///
/// #[alerting_core::instrumented]
/// async fn checkout() {}
///
/// let registry = Registry::builder().const_label("service", "shop").build()?;
/// let fns = builtin::Instrumented::new(&registry).within(module_path!());
/// let slo = Slo::new("checkout", Sli::instrumented(&fns, "checkout"), 0.999).service("shop");
/// let calls = |outcome: &str| {
///     fns.calls().select().eq("function", "checkout").eq("outcome", outcome).eq("service", "shop")
/// };
/// let mut cases = slo_burn_cases(&slo, calls("ok"), calls("error"))?;
///
/// let threshold = Duration::from_secs(1);
/// let fast = Slo::new(
///     "checkout_latency",
///     Sli::instrumented_latency(&fns, "checkout", threshold).matching(Matcher::eq("service", "shop")),
///     0.99,
/// )
/// .service("shop");
/// let histogram = fns.duration().select().eq("function", "checkout").eq("service", "shop");
/// cases.push(latency_slo_case(&fast, histogram, threshold)?);
///
/// let yaml = RuleTests::new(["rules.yml"]).for_registry(&registry).tests(cases).to_yaml()?;
/// assert!(yaml.contains("name: 'checkout: error ratio at 15x the budget for an hour'"));
/// assert!(yaml.contains("description: Calls of `checkout` that failed are 1.5% over the last 1h"));
/// assert!(yaml.contains(r#"le="1"}"#));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # Errors
///
/// When the SLO is not valid ([`Slo::alerts`]).
pub fn slo_burn_cases(
    slo: &Slo,
    good: impl Into<Selector>,
    bad: impl Into<Selector>,
) -> Result<Vec<TestCase>, RulesError> {
    let (good, bad) = (good.into(), bad.into());
    let alerts = slo.alerts()?;
    let budget = slo.error_budget();
    Ok(SLO_BURN_RATES
        .iter()
        .map(|&burn| {
            let errors = 1000.0 * budget * burn;
            let ok = 1000.0 - errors;
            TestCase::new(format!(
                "{}: error ratio at {burn}x the budget for an hour",
                slo.name()
            ))
            .series(good.clone(), format!("0+{ok}x70"))
            .series(bad.clone(), format!("0+{errors}x70"))
            .expect(burn_test(slo, &alerts, burn))
        })
        .collect())
}

/// The test case of a latency SLO: for an hour, 1000 events a minute,
/// 15× the error budget of them slower than `threshold` (the SLO's, a
/// bucket bound of the histogram); then every alert fires. `histogram` is
/// the SLO's histogram with `=` matchers (the case writes its `_bucket`
/// series at `threshold` and `+Inf`, and its `_count`).
///
/// One case is enough next to [`slo_burn_cases`]: which alerts fire at
/// which rate does not depend on the SLI; this case checks that the
/// latency SLI counts the slow events.
///
/// # Errors
///
/// When the SLO is not valid ([`Slo::alerts`]).
pub fn latency_slo_case(
    slo: &Slo,
    histogram: impl Into<Selector>,
    threshold: Duration,
) -> Result<TestCase, RulesError> {
    const BURN: f64 = 15.0;
    let histogram = histogram.into();
    let alerts = slo.alerts()?;
    let slow = 1000.0 * slo.error_budget() * BURN;
    let le = le_values(threshold.as_secs_f64()).swap_remove(0);
    Ok(TestCase::new(format!(
        "{}: {BURN}x the budget slower than the threshold",
        slo.name()
    ))
    .series(
        histogram.clone().bucket().eq("le", &le),
        format!("0+{}x70", 1000.0 - slow),
    )
    .series(histogram.clone().bucket().eq("le", "+Inf"), "0+1000x70")
    .series(histogram.count(), "0+1000x70")
    .expect(burn_test(slo, &alerts, BURN)))
}

/// The minimum-traffic guard of an SLO's burn-rate alerts
/// ([`Slo::min_events`]), three cases on `good` and `bad` (the SLO's
/// counters as input series, selectors with `=` matchers):
///
/// - one bad event among three in an hour (33%, far above every
///   threshold, the last two within the short windows) pages nobody;
/// - 15× the budget at normal traffic (1000 events a minute) fires the
///   alerts whose factor is below 15, as [`slo_burn_cases`] does;
/// - a full outage (no good event, 1000 bad a minute) fires every alert:
///   the guard never hides an outage.
///
/// ```
/// use alerting_core::metrics::Registry;
/// use alerting_rules::testing::{RuleTests, slo_traffic_guard_cases};
/// use alerting_rules::{Sli, Slo, builtin};
/// use alerting_rules::prelude::*;
///
/// #[alerting_core::instrumented]
/// fn checkout() {}
///
/// let fns = builtin::Instrumented::new(&Registry::new()).within(module_path!());
/// let slo = Slo::new("checkout", Sli::instrumented(&fns, "checkout"), 0.999);
/// let calls = |outcome: &str| fns.calls().select().eq("function", "checkout").eq("outcome", outcome);
/// let cases = slo_traffic_guard_cases(&slo, calls("ok"), calls("error"))?;
/// let yaml = RuleTests::new(["rules.yml"]).tests(cases).to_yaml()?;
/// assert!(yaml.contains("1 bad event in 3 in an hour does not page"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # Errors
///
/// When the SLO is not valid ([`Slo::alerts`]).
pub fn slo_traffic_guard_cases(
    slo: &Slo,
    good: impl Into<Selector>,
    bad: impl Into<Selector>,
) -> Result<[TestCase; 3], RulesError> {
    let (good, bad) = (good.into(), bad.into());
    let alerts = slo.alerts()?;
    let name = slo.name();
    let budget = slo.error_budget();
    let errors = 1000.0 * budget * 15.0;
    Ok([
        // Good events at minutes 20 and 59, a bad one at 59: at 60 the
        // error ratio is 1/3 over the hour and 1/2 over 5 minutes.
        TestCase::new(format!("{name}: 1 bad event in 3 in an hour does not page"))
            .series(good.clone(), "0x19 1x38 2x12")
            .series(bad.clone(), "0x58 1x12")
            .expect(AlertTest {
                eval_time: BURN_HELD,
                alertname: slo.alert(),
                expected: Vec::new(),
            }),
        TestCase::new(format!("{name}: 15x the budget at normal traffic pages"))
            .series(good.clone(), format!("0+{}x70", 1000.0 - errors))
            .series(bad.clone(), format!("0+{errors}x70"))
            .expect(burn_test(slo, &alerts, 15.0)),
        TestCase::new(format!("{name}: a full outage at normal traffic pages"))
            .series(good, "0x70")
            .series(bad, "0+1000x70")
            .expect(AlertTest {
                eval_time: BURN_HELD,
                alertname: slo.alert(),
                expected: alerts
                    .iter()
                    .map(|rule| ExpectedAlert::slo_burn(slo, rule, 1.0))
                    .collect(),
            }),
    ])
}

/// The absent alert of an SLO ([`Slo::absent_alert`]), firing and silent:
/// `total` (the SLI's total-events series as an input series, a selector
/// with `=` matchers) is exported for 5 minutes then goes stale, and the
/// alert fires once it has been absent for the SLO's `absent_for`; while
/// it is exported, nothing fires. The expected alert carries the `=`
/// labels of the SLI's selector, `slo`, and the SLO's scope.
///
/// ```
/// use alerting_core::metrics::Registry;
/// use alerting_rules::testing::{RuleTests, slo_absent_cases};
/// use alerting_rules::{Sli, Slo, builtin};
/// use alerting_rules::prelude::*;
///
/// #[alerting_core::instrumented]
/// fn checkout() {}
///
/// let fns = builtin::Instrumented::new(&Registry::new()).within(module_path!());
/// let slo = Slo::new("checkout", Sli::instrumented(&fns, "checkout"), 0.999);
/// let ok = fns.calls().select().eq("function", "checkout").eq("outcome", "ok");
/// let cases = slo_absent_cases(&slo, ok)?;
/// assert_eq!(cases[0].name(), "CheckoutSliAbsent fires");
/// let yaml = RuleTests::new(["rules.yml"]).tests(cases).to_yaml()?;
/// assert!(yaml.contains("values: 0+10x5 stale"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # Errors
///
/// When the SLO is not valid, or has no absent alert
/// ([`Slo::without_absent_alert`]): [`RulesError::InvalidName`] naming
/// the alert.
pub fn slo_absent_cases(
    slo: &Slo,
    total: impl Into<Selector>,
) -> Result<[TestCase; 2], RulesError> {
    let total = total.into();
    let rule = slo.absent_alert()?.ok_or_else(|| RulesError::InvalidName {
        what: "absent alert (the SLO has none)",
        name: slo.absent_alert_name(),
    })?;
    let pending = rule.pending_for().unwrap_or_default();
    let at = Duration::from_secs(6 * 60) + pending + Duration::from_secs(5 * 60);
    let samples = at.as_secs() / 60 + 5;
    let sel = slo.sli().total();
    let equal: Vec<(String, String)> = sel
        .matchers()
        .iter()
        .filter(|m| m.op() == crate::MatchOp::Equal)
        .map(|m| (m.label().to_owned(), m.value().to_owned()))
        .collect();
    let fired = ExpectedAlert::of(&rule)
        .labels(equal)
        .labels(slo.scope_of().labels());
    Ok(fires_and_stays_silent(
        &rule,
        at,
        &[(total.clone(), "0+10x5 stale")],
        &[(total, &format!("0+10x{samples}"))],
        fired,
    ))
}

/// An hour at `burn` × the budget: the alerts of `slo` (its `alerts`) whose
/// factor is below `burn` fire.
fn burn_test(slo: &Slo, alerts: &[AlertRule], burn: f64) -> AlertTest {
    let ratio = burn * slo.error_budget();
    let fired = alerts
        .iter()
        .zip(slo.burn_window_list())
        .filter(|(_, window)| burn > window.factor())
        .map(|(rule, _)| ExpectedAlert::slo_burn(slo, rule, ratio));
    AlertTest {
        eval_time: BURN_HELD,
        alertname: slo.alert(),
        expected: fired.collect(),
    }
}

/// `{{ $value | humanizePercentage }}`: Go's `%.4g` of the ratio × 100.
pub(crate) fn humanize_percentage(ratio: f64) -> String {
    format!("{}%", format_g4(ratio * 100.0))
}

/// `{{ $value | humanize1024 }}`: Go's `%.4g` after dividing by 1024 while
/// at least 1024, with the binary prefix (`1.397Gi`).
pub(crate) fn humanize1024(value: f64) -> String {
    if value.abs() <= 1.0 || !value.is_finite() {
        return format_g4(value);
    }
    let mut v = value;
    let mut prefix = "";
    for p in ["Ki", "Mi", "Gi", "Ti", "Pi", "Ei", "Zi", "Yi"] {
        if v.abs() < 1024.0 {
            break;
        }
        prefix = p;
        v /= 1024.0;
    }
    format!("{}{prefix}", format_g4(v))
}

/// Go's `fmt.Sprintf("%.4g", v)`: four significant digits, trailing zeros
/// dropped, an exponent below 1e-4 and from 1e4.
fn format_g4(v: f64) -> String {
    const PRECISION: i32 = 4;
    if v.is_nan() {
        return "NaN".to_owned();
    }
    if v.is_infinite() {
        return if v > 0.0 { "+Inf" } else { "-Inf" }.to_owned();
    }
    if v == 0.0 {
        return "0".to_owned();
    }
    let scientific = format!("{:.*e}", (PRECISION - 1) as usize, v);
    let (mantissa, exponent) = scientific.split_once('e').unwrap_or((&scientific, "0"));
    let exponent: i32 = exponent.parse().unwrap_or(0);
    let trim = |s: &str| {
        if s.contains('.') {
            s.trim_end_matches('0').trim_end_matches('.').to_owned()
        } else {
            s.to_owned()
        }
    };
    if !(-4..PRECISION).contains(&exponent) {
        let sign = if exponent < 0 { '-' } else { '+' };
        format!("{}e{sign}{:02}", trim(mantissa), exponent.abs())
    } else {
        let decimals = (PRECISION - 1 - exponent).max(0) as usize;
        trim(&format!("{v:.decimals$}"))
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

#[cfg(test)]
mod tests {
    use std::process::Command;
    use std::time::Duration;

    use alerting_core::metrics::Registry;

    use super::{
        RuleTests, format_g4, humanize_percentage, humanize1024, latency_slo_case, slo_burn_cases,
    };
    use crate::prelude::*;
    use crate::{Matcher, RuleFile, RuleGroup, Sli, Slo, builtin, packs};

    /// The helpers' cases on an HTTP service (an SLI and a latency
    /// threshold other than the examples'), run by promtool.
    #[test]
    fn promtool_passes_the_helpers_cases() {
        let registry = Registry::builder()
            .const_label("service", "shop")
            .build()
            .expect("registry");
        let requests = builtin::http_requests(&registry);
        let duration = builtin::http_request_duration(&registry);
        let shop = Matcher::eq("service", "shop");
        let availability = Slo::new(
            "checkout",
            Sli::http_route(&requests, "/checkout").matching(shop.clone()),
            0.995,
        )
        .service("shop")
        .runbook_url("https://runbooks.example.com/shop.md#slo");
        let threshold = Duration::from_millis(500);
        let latency = Slo::new(
            "checkout_latency",
            Sli::http_route_latency(&duration, "/checkout", threshold).matching(shop),
            0.99,
        )
        .service("shop");
        let common = packs::CommonAlerts::new("shop", &registry, 5e8)
            .runbooks("https://runbooks.example.com/shop.md");
        let rules = RuleFile::new()
            .for_registry(&registry)
            .group(RuleGroup::new("shop").rules(common.rules()))
            .groups(availability.rule_groups().expect("slo"))
            .groups(latency.rule_groups().expect("slo"));

        let request = |status: &str| {
            requests
                .select()
                .eq("method", "POST")
                .eq("route", "/checkout")
                .eq("status", status)
                .eq("service", "shop")
        };
        let mut cases = slo_burn_cases(&availability, request("200"), request("503")).expect("slo");
        let histogram = duration
            .select()
            .eq("method", "POST")
            .eq("route", "/checkout")
            .eq("service", "shop");
        cases.push(latency_slo_case(&latency, histogram, threshold).expect("latency"));
        cases.extend(common.test_cases("shop-1:8080", "db", 900_000_000, 100_000_000));
        let tests = RuleTests::new(["rules.yml"])
            .for_registry(&registry)
            .tests(cases);

        let dir = std::env::temp_dir().join(format!("alerting-testing-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        rules.write(dir.join("rules.yml")).expect("rules");
        tests.write(dir.join("rules_test.yml")).expect("tests");
        let yaml = tests.to_yaml().expect("yaml");
        assert!(yaml.contains(r#"le="0.5"}"#), "{yaml}");
        assert!(yaml.contains("Resident memory is 858.3MiB"), "{yaml}");
        let out = Command::new("promtool")
            .args(["test", "rules", "rules_test.yml"])
            .current_dir(&dir)
            .output()
            .expect("cannot run promtool: install Debian's `prometheus` package (.ci/run does)");
        let _ = std::fs::remove_dir_all(&dir);
        assert!(
            out.status.success(),
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    #[test]
    fn values_are_formatted_as_go_formats_them() {
        // fmt.Sprintf("%.4g", v) in Go.
        for (v, go) in [
            (0.0, "0"),
            (1.5, "1.5"),
            (0.7000000000000001, "0.7"),
            (15.0, "15"),
            (2.4249999, "2.425"),
            (1023.96, "1024"),
            (9.99996, "10"),
            (12346.0, "1.235e+04"),
            (0.00001234, "1.234e-05"),
            (0.0001234, "0.0001234"),
            (-3.25, "-3.25"),
        ] {
            assert_eq!(format_g4(v), go, "{v}");
        }
        assert_eq!(humanize_percentage(0.015), "1.5%");
        assert_eq!(humanize_percentage(0.007), "0.7%");
        assert_eq!(humanize1024(1_500_000_000.0), "1.397Gi");
        assert_eq!(humanize1024(4_294_967_296.0), "4Gi");
        assert_eq!(humanize1024(512.0), "512");
        assert_eq!(humanize1024(0.5), "0.5");
    }
}
