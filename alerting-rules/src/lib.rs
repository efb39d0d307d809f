//! `alerting-rules`: alert rules, SLOs and dashboards as code, generated
//! from the metrics a service defines with `alerting-core`.
//!
//! This crate runs at build time: in a generator binary, a build step or a
//! test, never inside the service. The service depends on `alerting-core`
//! only; its metric definitions (a `MetricGroup` of [`Named`] fields) are
//! shared with a small generator that depends on this crate and writes the
//! rule files, their `promtool` tests and the Grafana dashboards.
//!
//! # Rules
//!
//!
//! A rule names metrics by value, not by string: a [`MetricRef`] comes from
//! a metric registered as [`Named`], from the families this crate writes
//! itself ([`builtin`]: `#[instrumented]`, health, process, HTTP, `up`), or
//! from a [`RecordingRule`]. Rename the metric and every rule follows; a
//! rule cannot name a metric that does not exist.
//!
//! - [`Select`]: `.select()` on a [`MetricRef`] or a [`Named`] metric.
//! - [`Expr`] and the functions beside it ([`rate`], [`error_ratio`],
//!   [`histogram_quantile`], [`absent`]…) build PromQL and remember which
//!   labels each part carries, so that `by (route)` or
//!   `{{ $labels.batch_id }}` on a series without that label is an error
//!   at export, not an alert that never fires.
//! - [`AlertRule`] (`for`, [`Severity`], summary, description, runbook),
//!   [`RecordingRule`], [`RuleGroup`] (with an evaluation interval) and
//!   [`RuleFile`], written as YAML that `promtool check rules` accepts.
//! - [`Scope`]: the service (and optionally an instance or a batch) a
//!   rule file or dashboard is about, set once: every selector reads only
//!   its series, every rule carries its labels, and a label set in two
//!   places to two values is an error.
//! - [`Slo`]: an objective on an `#[instrumented]` function, an HTTP route
//!   or any pair of counters, generating recording rules and the
//!   multi-window, multi-burn-rate alerts of the Google SRE workbook, with
//!   a minimum-traffic guard, and an alert when its SLI disappears.
//! - [`RuleFile::runbooks`]: every alert's `runbook_url` from one base.
//! - [`packs`]: the alerts the seeds write by hand, as functions taking the
//!   user's own families.
//! - [`testing`]: `promtool test rules` files from the same values.
//! - [`dashboards`]: Grafana dashboards from the same references.
//!
//! # Severities
//!
//! `severity` is `critical`, `warning` or `info` ([`Severity`]). Teams that
//! speak in priorities map them to P1, P2 and P3; the example Alertmanager
//! configuration in `docs/alertmanager/` pages on `critical`, opens a
//! ticket (chat) on `warning`, and inhibits a service's warnings while a
//! critical alert for the same service fires.
//!
//! # Example
//!
//! ```
//! use std::time::Duration;
//! use alerting_core::metrics::{Gauge, Named, Registry};
//! use alerting_rules::{builtin, packs, AlertRule, RuleFile, RuleGroup, Select, Severity, Slo, Sli};
//!
//! let registry = Registry::builder().const_label("service", "sol-monitor").build()?;
//! let connections: Named<Gauge> =
//!     registry.register("sol_ws_connections_active", "Open WebSocket connections")?;
//! // Rules name the app's `#[instrumented]` functions, known from their
//! // call sites: a misspelt name is an error when the rules are generated.
//! #[alerting_core::instrumented]
//! async fn process_account_update() {}
//! let fns = builtin::Instrumented::new(&registry).within(module_path!());
//!
//! let slo = Slo::new("account_updates", Sli::instrumented(&fns, "process_account_update"), 0.999);
//! let file = RuleFile::new()
//!     .for_registry(&registry)
//!     .group(
//!         RuleGroup::new("sol-monitor")
//!             .interval(Duration::from_secs(30))
//!             .rule(packs::websocket_disconnected(&connections, &[]))
//!             .rule(packs::high_error_rate(&fns, 0.05))
//!             .rule(
//!                 AlertRule::new("TooManyConnections", connections.select().into())
//!                     .condition(|e| e.gt(200.0))
//!                     .severity(Severity::Info)
//!                     .summary("More than 200 WebSocket connections"),
//!             ),
//!     )
//!     .groups(slo.rule_groups()?);
//! let yaml = file.to_yaml()?;
//! assert!(yaml.contains("alert: WebSocketDisconnected"));
//! assert!(yaml.contains("record: slo:sli_error:ratio_rate5m"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![deny(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

use std::path::PathBuf;
use std::time::Duration;

use alerting_core::metrics::MetricKind;

pub mod builtin;
pub mod dashboards;
mod expr;
mod metric;
pub mod packs;
mod rule;
mod scope;
mod slo;
pub mod testing;

pub use alerting_core::metrics::{MetricOrigin, MetricRef, Named};
pub use expr::{
    BinOp, Expr, MatchOp, Matcher, Matching, Selector, TARGET_LABELS, absent, absent_over_time,
    avg_over_time, error_ratio, fmt_duration, fmt_number, histogram_quantile, increase,
    max_over_time, min_over_time, rate,
};
pub use metric::Select;
pub use rule::{AlertRule, RecordingRule, Rule, RuleFile, RuleGroup, Severity};
pub use scope::Scope;
pub use slo::{BurnWindow, DEFAULT_ABSENT_FOR, Sli, Slo};

pub(crate) use expr::le_values;

/// The traits that give metric references their selectors: `use
/// alerting_rules::prelude::*;`.
pub mod prelude {
    pub use crate::Select;
    pub use crate::builtin::InstrumentedExt;
}

/// Why rules could not be built or exported.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RulesError {
    /// A rule names an `#[instrumented]` function that is no linked call
    /// site (a misspelt name): the message names the closest one.
    #[error(transparent)]
    Instrumented(#[from] alerting_core::instrument::InstrumentError),
    /// A label used on series that do not carry it.
    #[error("{context}: label `{label}` is not on these series (they have: {available})")]
    UnknownLabel {
        /// Where it was used.
        context: String,
        /// The label name.
        label: String,
        /// The labels the series have.
        available: String,
    },
    /// A function given the wrong kind of metric (`rate` of a gauge).
    #[error("{context}: `{function}` needs {expected}, `{metric}` is a {kind}")]
    WrongKind {
        /// Where.
        context: String,
        /// The function.
        function: &'static str,
        /// The metric.
        metric: String,
        /// Its kind.
        kind: MetricKind,
        /// What the function needs.
        expected: &'static str,
    },
    /// A zero duration, or one with a part below a millisecond.
    #[error("{context}: {duration:?} is not a valid Prometheus duration")]
    InvalidDuration {
        /// Where.
        context: String,
        /// The duration.
        duration: Duration,
    },
    /// A quantile outside `0..=1`.
    #[error("{context}: quantile {quantile} is not between 0 and 1")]
    InvalidQuantile {
        /// Where.
        context: String,
        /// The quantile.
        quantile: f64,
    },
    /// A label (or annotation) name that is not `[a-zA-Z_][a-zA-Z0-9_]*`,
    /// or starts with `__`.
    #[error("{context}: `{label}` is not a valid label name")]
    InvalidLabelName {
        /// Where.
        context: String,
        /// The name.
        label: String,
    },
    /// An invalid alert, recording rule, group or SLO name.
    #[error("`{name}` is not a valid {what} name")]
    InvalidName {
        /// What was named.
        what: &'static str,
        /// The name.
        name: String,
    },
    /// Two groups with one name.
    #[error("rule group `{name}` appears twice")]
    DuplicateGroup {
        /// The name.
        name: String,
    },
    /// An expression that is a number where series are needed.
    #[error("{context}: the expression is a number, not a vector of series")]
    NotAVector {
        /// Where.
        context: String,
    },
    /// An annotation or label with unbalanced `{{ }}`.
    #[error("{context}: unbalanced `{{{{ }}}}` in template `{text}`")]
    InvalidTemplate {
        /// Where.
        context: String,
        /// The text.
        text: String,
    },
    /// An SLO objective outside `(0, 1)`.
    #[error("SLO `{slo}`: objective {objective} must be between 0 and 1 (exclusive)")]
    InvalidObjective {
        /// The SLO.
        slo: String,
        /// The objective.
        objective: f64,
    },
    /// A latency threshold that is not a bucket bound of the histogram.
    #[error(
        "SLO `{slo}`: {threshold} s is not a bucket bound of `{metric}` (bounds: {bounds}); the SLI would count nothing"
    )]
    ThresholdNotABucket {
        /// The SLO.
        slo: String,
        /// The threshold.
        threshold: f64,
        /// The histogram.
        metric: String,
        /// Its bounds.
        bounds: String,
    },
    /// A burn-rate window pair whose short window is not shorter.
    #[error("SLO `{slo}`: burn-rate windows need short < long and a positive factor")]
    InvalidBurnWindow {
        /// The SLO.
        slo: String,
    },
    /// An input series of a rule test that is not `name{label="value"}`.
    #[error("{context}: an input series takes `=` matchers only, got `{series}`")]
    InvalidSeries {
        /// Where.
        context: String,
        /// The selector.
        series: String,
    },
    /// A scope label (`service`, `instance`…) set in two places to two
    /// values: a rule file's [`Scope`] and an SLO's service, a selector's
    /// own matcher, or a rule's label.
    #[error(
        "{context}: `{label}` is `{first}` in one place and `{second}` in another; set it once, on the rule file's or dashboard's scope"
    )]
    ScopeConflict {
        /// Where.
        context: String,
        /// The label.
        label: String,
        /// One value.
        first: String,
        /// The other.
        second: String,
    },
    /// Serialising YAML failed.
    #[error("writing YAML failed")]
    Yaml(#[from] yaml_serde::Error),
    /// Writing a file failed.
    #[error("cannot write `{}`", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
}
