//! Alerting and recording rules, groups, and the rule file.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::Path;
use std::time::Duration;

use serde::Serialize;

use alerting_core::metrics::Registry;

use crate::expr::{Expr, fmt_duration, is_label_name, is_metric_name, target_set};
use crate::{RulesError, Scope};
use alerting_core::metrics::MetricRef;

/// How urgent an alert is: the `severity` label Alertmanager routes on.
///
/// | severity | priority (MarketPrism's P-levels) | meaning |
/// |---|---|---|
/// | `critical` | P1 | someone acts now (page) |
/// | `warning` | P2 | someone acts today (ticket) |
/// | `info` | P3 | worth knowing, no action |
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Severity {
    /// Page: act now.
    Critical,
    /// Ticket: act in working hours.
    Warning,
    /// For information only.
    Info,
}

impl Severity {
    /// `critical`, `warning` or `info`: the label value.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Critical => "critical",
            Severity::Warning => "warning",
            Severity::Info => "info",
        }
    }

    /// `P1`, `P2` or `P3`.
    pub fn priority(self) -> &'static str {
        match self {
            Severity::Critical => "P1",
            Severity::Warning => "P2",
            Severity::Info => "P3",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The annotation keys [`AlertRule`] has setters for.
const SUMMARY: &str = "summary";
const DESCRIPTION: &str = "description";
const RUNBOOK_URL: &str = "runbook_url";

/// An alerting rule: a name, an expression whose result series are the
/// alerts, how long they must hold (`for`), labels (with a severity) and
/// annotations.
///
/// ```
/// use std::time::Duration;
/// use alerting_core::metrics::{Gauge, Registry};
/// use alerting_rules::{AlertRule, Named, Select, Severity};
///
/// let registry = Registry::new();
/// let idle: Named<Gauge> = registry.register("db_pool_idle_connections", "Idle connections")?;
/// let rule = AlertRule::new("DatabasePoolExhausted", idle.select().into())
///     .condition(|e| e.lt(5.0))
///     .for_duration(Duration::from_secs(120))
///     .severity(Severity::Critical)
///     .summary("Database pool almost exhausted")
///     .description("{{ $value }} idle connections left on {{ $labels.instance }}");
/// assert_eq!(rule.expr().to_string(), "db_pool_idle_connections < 5");
/// # Ok::<(), alerting_core::metrics::MetricsError>(())
/// ```
#[derive(Clone, Debug)]
pub struct AlertRule {
    name: String,
    expr: Expr,
    for_duration: Option<Duration>,
    labels: BTreeMap<String, String>,
    annotations: BTreeMap<String, String>,
    /// The scope of what generated it (an SLO's service), merged with the
    /// file's at export.
    scope: Option<Scope>,
    /// The anchor of its runbook section, when not its name in lower case.
    runbook_anchor: Option<String>,
}

impl AlertRule {
    /// An alert named `name` (`CamelCase`, as Prometheus' own alerts)
    /// firing for each series `expr` returns; severity `warning` until
    /// [`severity`](Self::severity) says otherwise.
    pub fn new(name: impl Into<String>, expr: Expr) -> Self {
        let mut labels = BTreeMap::new();
        labels.insert("severity".to_owned(), Severity::Warning.as_str().to_owned());
        Self {
            name: name.into(),
            expr,
            for_duration: None,
            labels,
            annotations: BTreeMap::new(),
            scope: None,
            runbook_anchor: None,
        }
    }

    /// The scope the rule is exported in, besides the file's.
    pub(crate) fn with_scope(mut self, scope: &Scope) -> Self {
        self.scope = (!scope.is_empty()).then(|| scope.clone());
        self
    }

    /// The runbook section of this alert in the file's runbooks
    /// ([`RuleFile::runbooks`]), when not its name in lower case.
    pub(crate) fn with_runbook_anchor(mut self, anchor: &str) -> Self {
        self.runbook_anchor = Some(anchor.to_owned());
        self
    }

    /// The rule as the file exports it: `scope` applied to its selectors
    /// and labels, a `runbook_url` from `runbooks` unless it has one.
    fn resolved(
        &self,
        scope: Option<&Scope>,
        runbooks: Option<&str>,
        target: &BTreeSet<String>,
    ) -> Result<AlertRule, RulesError> {
        let context = format!("alert `{}`", self.name);
        let mut out = self.clone();
        if let Some(scope) = merged(scope, self.scope.as_ref(), &context)? {
            out.expr = self.expr.map_selectors(|s| scope.apply(s, target))?;
            scope.label_outputs(&mut out.labels, &context)?;
        }
        out.scope = None;
        if let Some(base) = runbooks
            && !out.annotations.contains_key(RUNBOOK_URL)
        {
            let anchor = self
                .runbook_anchor
                .clone()
                .unwrap_or_else(|| self.name.to_lowercase());
            out.annotations
                .insert(RUNBOOK_URL.to_owned(), format!("{base}#{anchor}"));
        }
        Ok(out)
    }

    /// Replaces the expression with `f(expr)`: adds a threshold to an
    /// expression, for example.
    #[must_use]
    pub fn condition(mut self, f: impl FnOnce(Expr) -> Expr) -> Self {
        self.expr = f(self.expr);
        self
    }

    /// Renames the alert.
    #[must_use]
    pub fn rename(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }

    /// How long the condition must hold before the alert fires (`for`).
    #[must_use]
    pub fn for_duration(mut self, duration: Duration) -> Self {
        self.for_duration = (!duration.is_zero()).then_some(duration);
        self
    }

    /// The `severity` label.
    #[must_use]
    pub fn severity(self, severity: Severity) -> Self {
        self.label("severity", severity.as_str())
    }

    /// Adds a label to the alert (`team`, `service`…).
    #[must_use]
    pub fn label(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.labels.insert(name.into(), value.into());
        self
    }

    /// The `summary` annotation: one line, may use `{{ $labels.x }}`.
    #[must_use]
    pub fn summary(self, text: impl Into<String>) -> Self {
        self.annotation(SUMMARY, text)
    }

    /// The `description` annotation: what is wrong and what it affects;
    /// may use `{{ $labels.x }}` and `{{ $value }}`.
    #[must_use]
    pub fn description(self, text: impl Into<String>) -> Self {
        self.annotation(DESCRIPTION, text)
    }

    /// The `runbook_url` annotation: where the on-call reads what to do.
    #[must_use]
    pub fn runbook_url(self, url: impl Into<String>) -> Self {
        self.annotation(RUNBOOK_URL, url)
    }

    /// Adds an annotation.
    #[must_use]
    pub fn annotation(mut self, name: impl Into<String>, text: impl Into<String>) -> Self {
        self.annotations.insert(name.into(), text.into());
        self
    }

    /// The alert's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The expression.
    pub fn expr(&self) -> &Expr {
        &self.expr
    }

    /// The `for` duration, if any.
    pub fn pending_for(&self) -> Option<Duration> {
        self.for_duration
    }

    /// The severity, if the `severity` label holds one of the three.
    pub fn severity_level(&self) -> Option<Severity> {
        match self.labels.get("severity").map(String::as_str) {
            Some("critical") => Some(Severity::Critical),
            Some("warning") => Some(Severity::Warning),
            Some("info") => Some(Severity::Info),
            _ => None,
        }
    }

    /// The labels the rule adds (the severity among them).
    pub fn labels(&self) -> &BTreeMap<String, String> {
        &self.labels
    }

    /// The annotations.
    pub fn annotations(&self) -> &BTreeMap<String, String> {
        &self.annotations
    }

    fn validate(&self, group: &str, target: &BTreeSet<String>) -> Result<(), RulesError> {
        let context = format!("alert `{}` in group `{group}`", self.name);
        if !is_alert_name(&self.name) {
            return Err(RulesError::InvalidName {
                what: "alert",
                name: self.name.clone(),
            });
        }
        if !self.expr.is_vector() {
            return Err(RulesError::NotAVector { context });
        }
        self.expr.check_in(&context, target)?;
        if let Some(d) = self.for_duration
            && fmt_duration(d).is_none()
        {
            return Err(RulesError::InvalidDuration {
                context: format!("{context}: `for`"),
                duration: d,
            });
        }
        for name in self.labels.keys().chain(self.annotations.keys()) {
            if !is_label_name(name) || name.starts_with("__") {
                return Err(RulesError::InvalidLabelName {
                    context: context.clone(),
                    label: name.clone(),
                });
            }
        }
        for (key, text) in self.annotations.iter().chain(self.labels.iter()) {
            check_template(text, &format!("{context}: `{key}`"))?;
            for label in template_labels(text) {
                if !self.expr.scope().contains(&label, target) {
                    return Err(RulesError::UnknownLabel {
                        context: format!("{context}: `{{{{ $labels.{label} }}}}` in `{key}`"),
                        label,
                        available: self.expr.scope().describe(target),
                    });
                }
            }
        }
        Ok(())
    }

    fn to_yaml_model(&self) -> RuleYaml {
        RuleYaml::Alert {
            alert: self.name.clone(),
            expr: self.expr.text().to_owned(),
            for_: self.for_duration.and_then(fmt_duration),
            labels: self.labels.clone(),
            annotations: self.annotations.clone(),
        }
    }
}

/// A recording rule: evaluates `expr` at every group evaluation and
/// stores the result as the series `record` (`level:metric:operations`,
/// as Prometheus' naming practices suggest).
#[derive(Clone, Debug)]
pub struct RecordingRule {
    record: String,
    expr: Expr,
    labels: BTreeMap<String, String>,
    scope: Option<Scope>,
}

impl RecordingRule {
    /// Records `expr` as `record`.
    pub fn new(record: impl Into<String>, expr: Expr) -> Self {
        Self {
            record: record.into(),
            expr,
            labels: BTreeMap::new(),
            scope: None,
        }
    }

    /// The scope the rule is exported in, besides the file's.
    pub(crate) fn with_scope(mut self, scope: &Scope) -> Self {
        self.scope = (!scope.is_empty()).then(|| scope.clone());
        self
    }

    fn resolved(
        &self,
        scope: Option<&Scope>,
        target: &BTreeSet<String>,
    ) -> Result<RecordingRule, RulesError> {
        let context = format!("recording rule `{}`", self.record);
        let mut out = self.clone();
        if let Some(scope) = merged(scope, self.scope.as_ref(), &context)? {
            out.expr = self.expr.map_selectors(|s| scope.apply(s, target))?;
            scope.label_outputs(&mut out.labels, &context)?;
        }
        out.scope = None;
        Ok(out)
    }

    /// Adds a label to the recorded series.
    #[must_use]
    pub fn label(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.labels.insert(name.into(), value.into());
        self
    }

    /// The recorded series' name.
    pub fn record(&self) -> &str {
        &self.record
    }

    /// The expression.
    pub fn expr(&self) -> &Expr {
        &self.expr
    }

    /// The labels the rule adds.
    pub fn labels(&self) -> &BTreeMap<String, String> {
        &self.labels
    }

    /// The recorded series as a metric other rules and panels can select:
    /// its labels are the expression's result labels and the rule's own.
    pub fn metric(&self) -> MetricRef {
        let scope = self.expr.scope();
        let mut labels = scope.own_names();
        for l in self.labels.keys() {
            if !labels.contains(l) {
                labels.push(l.clone());
            }
        }
        MetricRef::recorded(self.record.clone(), labels, scope.has_target())
    }

    fn validate(&self, group: &str, target: &BTreeSet<String>) -> Result<(), RulesError> {
        let context = format!("recording rule `{}` in group `{group}`", self.record);
        if !is_metric_name(&self.record) {
            return Err(RulesError::InvalidName {
                what: "recording rule",
                name: self.record.clone(),
            });
        }
        if !self.expr.is_vector() {
            return Err(RulesError::NotAVector { context });
        }
        self.expr.check_in(&context, target)?;
        for name in self.labels.keys() {
            if !is_label_name(name) || name.starts_with("__") {
                return Err(RulesError::InvalidLabelName {
                    context: context.clone(),
                    label: name.clone(),
                });
            }
        }
        Ok(())
    }

    fn to_yaml_model(&self) -> RuleYaml {
        RuleYaml::Record {
            record: self.record.clone(),
            expr: self.expr.text().to_owned(),
            labels: self.labels.clone(),
        }
    }
}

/// An alerting or a recording rule.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum Rule {
    /// An alerting rule.
    Alert(AlertRule),
    /// A recording rule.
    Record(RecordingRule),
}

impl From<AlertRule> for Rule {
    fn from(r: AlertRule) -> Self {
        Rule::Alert(r)
    }
}

impl From<RecordingRule> for Rule {
    fn from(r: RecordingRule) -> Self {
        Rule::Record(r)
    }
}

/// A group of rules evaluated together, in order, every `interval` (the
/// global `evaluation_interval` when not set).
#[derive(Clone, Debug)]
pub struct RuleGroup {
    name: String,
    interval: Option<Duration>,
    rules: Vec<Rule>,
}

impl RuleGroup {
    /// An empty group.
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            interval: None,
            rules: Vec::new(),
        }
    }

    /// How often the group is evaluated.
    #[must_use]
    pub fn interval(mut self, interval: Duration) -> Self {
        self.interval = Some(interval);
        self
    }

    /// Adds a rule.
    #[must_use]
    pub fn rule(mut self, rule: impl Into<Rule>) -> Self {
        self.rules.push(rule.into());
        self
    }

    /// Adds rules.
    #[must_use]
    pub fn rules<R: Into<Rule>>(mut self, rules: impl IntoIterator<Item = R>) -> Self {
        self.rules.extend(rules.into_iter().map(Into::into));
        self
    }

    /// The group's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The rules, in evaluation order.
    pub fn rule_list(&self) -> &[Rule] {
        &self.rules
    }

    /// The alerting rules.
    pub fn alerts(&self) -> impl Iterator<Item = &AlertRule> {
        self.rules.iter().filter_map(|r| match r {
            Rule::Alert(a) => Some(a),
            Rule::Record(_) => None,
        })
    }

    fn validate(&self, target: &BTreeSet<String>) -> Result<(), RulesError> {
        if self.name.trim().is_empty() {
            return Err(RulesError::InvalidName {
                what: "group",
                name: self.name.clone(),
            });
        }
        if let Some(d) = self.interval
            && fmt_duration(d).is_none()
        {
            return Err(RulesError::InvalidDuration {
                context: format!("group `{}`: interval", self.name),
                duration: d,
            });
        }
        for rule in &self.rules {
            match rule {
                Rule::Alert(a) => a.validate(&self.name, target)?,
                Rule::Record(r) => r.validate(&self.name, target)?,
            }
        }
        Ok(())
    }
}

/// A Prometheus rule file: groups of rules, checked and written as YAML.
///
/// Checks at export: every label a rule uses (matchers, `by (…)`,
/// `{{ $labels.x }}` in annotations) is on the series it is used on, every
/// function gets the kind of metric it needs, names and durations are
/// valid, group names are unique. The result passes `promtool check
/// rules`.
///
/// ```
/// use std::time::Duration;
/// use alerting_core::metrics::Registry;
/// use alerting_rules::{builtin, packs, RuleFile, RuleGroup};
///
/// let registry = Registry::builder().const_label("service", "bsc-monitor").build()?;
/// let fns = builtin::Instrumented::new(&registry).within(module_path!());
/// let file = RuleFile::new()
///     .for_registry(&registry)
///     .group(
///         RuleGroup::new("bsc-monitor")
///             .interval(Duration::from_secs(30))
///             .rule(packs::high_error_rate(&fns, 0.05)),
///     );
/// let yaml = file.to_yaml()?;
/// assert!(yaml.contains("alert: HighErrorRate"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, Default)]
pub struct RuleFile {
    groups: Vec<RuleGroup>,
    target_labels: Vec<String>,
    header: Option<String>,
    scope: Option<Scope>,
    runbooks: Option<String>,
}

impl RuleFile {
    /// An empty file.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a group.
    #[must_use]
    pub fn group(mut self, group: RuleGroup) -> Self {
        self.groups.push(group);
        self
    }

    /// Adds groups.
    #[must_use]
    pub fn groups(mut self, groups: impl IntoIterator<Item = RuleGroup>) -> Self {
        self.groups.extend(groups);
        self
    }

    /// Labels every scraped series has besides `job` and `instance`, which
    /// rules may use (`by (service)`).
    #[must_use]
    pub fn target_label(mut self, label: impl Into<String>) -> Self {
        self.target_labels.push(label.into());
        self
    }

    /// Takes the registry's constant labels as target labels.
    #[must_use]
    pub fn for_registry(mut self, registry: &Registry) -> Self {
        self.target_labels
            .extend(registry.const_labels().iter().map(|(n, _)| n.clone()));
        self
    }

    /// The series every rule of the file is about, set once: its labels
    /// are added to every selector whose series carry them and to every
    /// rule's labels (see [`Scope`]). Calling it again replaces it.
    #[must_use]
    pub fn scope(mut self, scope: Scope) -> Self {
        self.scope = Some(scope);
        self
    }

    /// The file's scope, when set.
    pub fn scope_of(&self) -> Option<&Scope> {
        self.scope.as_ref()
    }

    /// Where the runbooks are: every alert without a `runbook_url` gets
    /// `<base>#<section>`, the section being the alert's name in lower case
    /// (GitHub's anchor for a `## HighErrorRate` heading) or, for an SLO's
    /// alerts, `slo-burn-rate-alerts` and `slo-sli-absent`. A URL, or a
    /// path relative to where the on-call reads the alerts.
    #[must_use]
    pub fn runbooks(mut self, base: impl Into<String>) -> Self {
        self.runbooks = Some(base.into());
        self
    }

    /// The groups with the scope and runbooks applied: what
    /// [`to_yaml`](Self::to_yaml) writes.
    pub fn resolved_groups(&self) -> Result<Vec<RuleGroup>, RulesError> {
        let target = self.target();
        if let Some(s) = &self.scope {
            s.check("rule file")?;
        }
        self.groups
            .iter()
            .map(|g| {
                let rules = g
                    .rules
                    .iter()
                    .map(|r| {
                        Ok(match r {
                            Rule::Alert(a) => Rule::Alert(a.resolved(
                                self.scope.as_ref(),
                                self.runbooks.as_deref(),
                                &target,
                            )?),
                            Rule::Record(r) => {
                                Rule::Record(r.resolved(self.scope.as_ref(), &target)?)
                            }
                        })
                    })
                    .collect::<Result<Vec<Rule>, RulesError>>()?;
                Ok(RuleGroup {
                    name: g.name.clone(),
                    interval: g.interval,
                    rules,
                })
            })
            .collect()
    }

    /// The alert rule named `name` as the file exports it (scope and
    /// runbook applied), when there is one.
    pub fn resolved_alert(&self, name: &str) -> Result<Option<AlertRule>, RulesError> {
        match self.alert(name) {
            Some(a) => Ok(Some(a.resolved(
                self.scope.as_ref(),
                self.runbooks.as_deref(),
                &self.target(),
            )?)),
            None => Ok(None),
        }
    }

    /// The labels every scraped series has.
    pub(crate) fn target(&self) -> BTreeSet<String> {
        let extra: Vec<&str> = self.target_labels.iter().map(String::as_str).collect();
        target_set(&extra)
    }

    /// A comment written at the top of the file (each line prefixed `# `).
    #[must_use]
    pub fn header(mut self, text: impl Into<String>) -> Self {
        self.header = Some(text.into());
        self
    }

    /// The groups.
    pub fn group_list(&self) -> &[RuleGroup] {
        &self.groups
    }

    /// Every alerting rule, in file order.
    pub fn alerts(&self) -> impl Iterator<Item = &AlertRule> {
        self.groups.iter().flat_map(RuleGroup::alerts)
    }

    /// The first alerting rule named `name`.
    pub fn alert(&self, name: &str) -> Option<&AlertRule> {
        self.alerts().find(|a| a.name() == name)
    }

    /// Checks every rule (see the type's documentation).
    pub fn validate(&self) -> Result<(), RulesError> {
        self.validated().map(|_| ())
    }

    fn validated(&self) -> Result<Vec<RuleGroup>, RulesError> {
        let target = self.target();
        let mut seen = BTreeSet::new();
        for g in &self.groups {
            if !seen.insert(g.name.as_str()) {
                return Err(RulesError::DuplicateGroup {
                    name: g.name.clone(),
                });
            }
        }
        let groups = self.resolved_groups()?;
        for g in &groups {
            g.validate(&target)?;
        }
        Ok(groups)
    }

    /// The file as YAML, after [`validate`](Self::validate).
    pub fn to_yaml(&self) -> Result<String, RulesError> {
        let groups = self.validated()?;
        let model = FileYaml {
            groups: groups
                .iter()
                .map(|g| GroupYaml {
                    name: g.name.clone(),
                    interval: g.interval.and_then(fmt_duration),
                    rules: g
                        .rules
                        .iter()
                        .map(|r| match r {
                            Rule::Alert(a) => a.to_yaml_model(),
                            Rule::Record(r) => r.to_yaml_model(),
                        })
                        .collect(),
                })
                .collect(),
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
        let yaml = self.to_yaml()?;
        std::fs::write(path, yaml).map_err(|source| RulesError::Io {
            path: path.to_path_buf(),
            source,
        })
    }
}

/// The file's scope and a rule's own, merged.
fn merged(
    file: Option<&Scope>,
    rule: Option<&Scope>,
    context: &str,
) -> Result<Option<Scope>, RulesError> {
    Ok(match (file, rule) {
        (Some(f), Some(r)) => Some(f.merge(r, context)?),
        (Some(s), None) | (None, Some(s)) => Some(s.clone()),
        (None, None) => None,
    })
}

/// `text` as YAML comment lines.
pub(crate) fn comment(text: &str) -> String {
    text.lines()
        .map(|l| {
            if l.is_empty() {
                "#\n".to_owned()
            } else {
                format!("# {l}\n")
            }
        })
        .collect()
}

fn is_alert_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// The label names a template reads as `$labels.name`.
fn template_labels(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(i) = rest.find("$labels.") {
        rest = &rest[i + "$labels.".len()..];
        let name: String = rest
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        if !name.is_empty() && !out.contains(&name) {
            out.push(name);
        }
    }
    out
}

/// Rejects unbalanced `{{ … }}` actions, which Prometheus refuses to load.
fn check_template(text: &str, context: &str) -> Result<(), RulesError> {
    let mut depth = 0i32;
    let bytes = text.as_bytes();
    let mut i = 0;
    while i + 1 < bytes.len() {
        match (bytes[i], bytes[i + 1]) {
            (b'{', b'{') => {
                depth += 1;
                i += 2;
            }
            (b'}', b'}') => {
                depth -= 1;
                i += 2;
            }
            _ => i += 1,
        }
        if !(0..=1).contains(&depth) {
            break;
        }
    }
    if depth != 0 {
        return Err(RulesError::InvalidTemplate {
            context: context.to_owned(),
            text: text.to_owned(),
        });
    }
    Ok(())
}

#[derive(Serialize)]
struct FileYaml {
    groups: Vec<GroupYaml>,
}

#[derive(Serialize)]
struct GroupYaml {
    name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    interval: Option<String>,
    rules: Vec<RuleYaml>,
}

#[derive(Serialize)]
#[serde(untagged)]
enum RuleYaml {
    Alert {
        alert: String,
        expr: String,
        #[serde(rename = "for", skip_serializing_if = "Option::is_none")]
        for_: Option<String>,
        #[serde(skip_serializing_if = "BTreeMap::is_empty")]
        labels: BTreeMap<String, String>,
        #[serde(skip_serializing_if = "BTreeMap::is_empty")]
        annotations: BTreeMap<String, String>,
    },
    Record {
        record: String,
        expr: String,
        #[serde(skip_serializing_if = "BTreeMap::is_empty")]
        labels: BTreeMap<String, String>,
    },
}
