//! One scope for a rule file or a dashboard: the service (and optionally an
//! instance, a batch…) that every selector reads and every output carries.

use std::collections::{BTreeMap, BTreeSet};

use alerting_core::metrics::MetricOrigin;

use crate::RulesError;
use crate::expr::{MatchOp, Matcher, Selector, is_label_name};

/// The series a rule file or a dashboard is about, set once: `service`
/// (and optionally an `instance`, a batch label…).
///
/// Given to [`RuleFile::scope`](crate::RuleFile::scope),
/// [`Slo::scope`](crate::Slo::scope) or
/// [`Dashboard::scope`](crate::dashboards::Dashboard::scope), a scope
///
/// - adds `label="value"` to every selector whose series carry the label
///   (the metric's own labels, or the target's labels such as a
///   registry's constant `service` label), and `job="<service>"` to
///   Prometheus' own `up` (see [`job`](Self::job));
/// - adds its labels to every recording rule and alert of the file (so
///   series recorded there carry them, and selectors of recorded series
///   get them too);
/// - adds its labels to the input series and expected alerts of rule
///   tests made with [`RuleTests::for_rules`](crate::testing::RuleTests::for_rules).
///
/// A label set in two places to two values (the file's scope and an SLO's
/// service, a selector's own matcher, a rule's label) is a
/// [`RulesError::ScopeConflict`] at export, never a silent choice.
///
/// ```
/// use std::time::Duration;
/// use alerting_core::metrics::Registry;
/// use alerting_rules::{builtin, packs, RuleFile, RuleGroup, Scope};
///
/// let registry = Registry::builder().const_label("service", "checkout").build()?;
/// let fns = builtin::Instrumented::new(&registry).within(module_path!());
/// let file = RuleFile::new()
///     .for_registry(&registry)
///     .scope(Scope::service("checkout"))
///     .group(RuleGroup::new("checkout").rule(packs::high_error_rate(&fns, 0.05)));
/// let yaml = file.to_yaml()?;
/// assert!(yaml.contains(r#"function_calls_total{outcome=~"#));
/// assert!(yaml.contains(r#", service="checkout"}"#));
/// assert!(yaml.contains("service: checkout"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Scope {
    labels: Vec<(String, String)>,
    job: Option<String>,
}

/// The label a scope's service is.
const SERVICE: &str = "service";

impl Scope {
    /// The series of `service`: the label `service` (a registry's constant
    /// label), and the scrape job of the same name for `up`.
    pub fn service(service: impl Into<String>) -> Self {
        Self::default().label(SERVICE, service)
    }

    /// A scope without a service: only the labels added with
    /// [`label`](Self::label).
    pub fn new() -> Self {
        Self::default()
    }

    /// Narrows to one instance (`instance="…"`).
    #[must_use]
    pub fn instance(self, instance: impl Into<String>) -> Self {
        self.label("instance", instance)
    }

    /// Narrows to `label="value"` (a batch, a region…).
    #[must_use]
    pub fn label(mut self, label: impl Into<String>, value: impl Into<String>) -> Self {
        self.labels.push((label.into(), value.into()));
        self
    }

    /// The scrape job `up` is selected by (by default the service's name:
    /// Prometheus scrapes the service as that job).
    #[must_use]
    pub fn job(mut self, job: impl Into<String>) -> Self {
        self.job = Some(job.into());
        self
    }

    /// The service, when set.
    pub fn service_name(&self) -> Option<&str> {
        self.value(SERVICE)
    }

    /// The labels, in the order they were set.
    pub fn labels(&self) -> impl Iterator<Item = (&str, &str)> {
        self.labels.iter().map(|(l, v)| (l.as_str(), v.as_str()))
    }

    /// Whether no label is set.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// Adds `other`'s labels (and job) to this scope; conflicts are found
    /// at export.
    pub(crate) fn extend(&mut self, other: &Scope) {
        self.labels.extend(other.labels.iter().cloned());
        if other.job.is_some() {
            self.job.clone_from(&other.job);
        }
    }

    fn value(&self, label: &str) -> Option<&str> {
        self.labels
            .iter()
            .find(|(l, _)| l == label)
            .map(|(_, v)| v.as_str())
    }

    /// Both scopes' labels; a label both set to different values is an
    /// error.
    pub(crate) fn merge(&self, other: &Scope, context: &str) -> Result<Scope, RulesError> {
        let mut out = self.clone();
        out.labels.extend(other.labels.iter().cloned());
        out.job = match (&self.job, &other.job) {
            (Some(a), Some(b)) if a != b => {
                return Err(conflict(context, "job", a, b));
            }
            (a, b) => a.clone().or_else(|| b.clone()),
        };
        out.check(context)?;
        let mut seen = BTreeSet::new();
        out.labels.retain(|(l, _)| seen.insert(l.clone()));
        Ok(out)
    }

    /// Every label name valid, and set once (or twice to one value).
    pub(crate) fn check(&self, context: &str) -> Result<(), RulesError> {
        let mut seen: BTreeMap<&str, &str> = BTreeMap::new();
        for (label, value) in &self.labels {
            if !is_label_name(label) || label.starts_with("__") {
                return Err(RulesError::InvalidLabelName {
                    context: format!("{context}: scope"),
                    label: label.clone(),
                });
            }
            if let Some(first) = seen.insert(label, value)
                && first != value
            {
                return Err(conflict(context, label, first, value));
            }
        }
        Ok(())
    }

    /// `selector` narrowed to the scope: for each label its series carry
    /// (`target` holds the labels every scraped series has), `label="value"`
    /// unless it is already there.
    pub(crate) fn apply(
        &self,
        selector: &Selector,
        target: &BTreeSet<String>,
    ) -> Result<Selector, RulesError> {
        let metric = selector.metric();
        let mut out = selector.clone();
        for (label, value) in &self.labels {
            let (label, value) = match metric.origin() {
                MetricOrigin::Scrape if label == SERVICE => {
                    ("job", self.job.as_deref().unwrap_or(value))
                }
                MetricOrigin::Scrape if label == "instance" => (label.as_str(), value.as_str()),
                MetricOrigin::Recorded => (label.as_str(), value.as_str()),
                _ if metric.label_names().iter().any(|l| l == label)
                    || (metric.has_target_labels() && target.contains(label)) =>
                {
                    (label.as_str(), value.as_str())
                }
                _ => continue,
            };
            let existing = out
                .matchers()
                .iter()
                .find(|m| m.label() == label && m.op() == MatchOp::Equal)
                .map(|m| m.value().to_owned());
            match existing {
                Some(v) if v == value => {}
                Some(v) => {
                    return Err(conflict(
                        &format!("selector `{selector}`"),
                        label,
                        &v,
                        value,
                    ));
                }
                None => out = out.matching(Matcher::eq(label, value)),
            }
        }
        Ok(out)
    }

    /// Adds the scope's labels to a rule's (or an expected alert's) labels.
    pub(crate) fn label_outputs(
        &self,
        labels: &mut BTreeMap<String, String>,
        context: &str,
    ) -> Result<(), RulesError> {
        for (label, value) in &self.labels {
            match labels.get(label) {
                Some(v) if v != value => return Err(conflict(context, label, v, value)),
                Some(_) => {}
                None => {
                    labels.insert(label.clone(), value.clone());
                }
            }
        }
        Ok(())
    }
}

fn conflict(context: &str, label: &str, first: &str, second: &str) -> RulesError {
    RulesError::ScopeConflict {
        context: context.to_owned(),
        label: label.to_owned(),
        first: first.to_owned(),
        second: second.to_owned(),
    }
}
