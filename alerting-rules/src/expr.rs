//! PromQL expressions built from metric references.
//!
//! An [`Expr`] is PromQL text plus what is needed to check it when it is
//! exported: the metrics it names, the label names its result carries, and
//! every label name it uses (in matchers, `by (…)`, `without (…)`). Building
//! never fails; mistakes (an unknown label, `rate` of a gauge, a quantile
//! of 2) are reported by [`RuleFile::to_yaml`](super::RuleFile::to_yaml) or
//! [`Expr::check`] as a [`RulesError`] that names them.

use std::collections::BTreeSet;
use std::fmt;
use std::ops;
use std::time::Duration;

use alerting_core::metrics::MetricKind;

use crate::RulesError;
use crate::metric::Select;
use alerting_core::metrics::{MetricRef, Named};

/// Where a selector goes in an expression's template text (a control
/// character, which PromQL text outside a string never holds, and the
/// template holds no strings: they are in the selectors).
const SLOT: char = '\u{1}';

/// Labels every scraped series has: Prometheus adds them to the target's.
pub const TARGET_LABELS: &[&str] = &["job", "instance"];

/// Label names an expression's result carries.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct LabelScope {
    names: BTreeSet<String>,
    /// Also the target's labels (`job`, `instance`, constant labels).
    target: bool,
    /// Target labels dropped by `without (…)` or `ignoring (…)`.
    removed: BTreeSet<String>,
    /// Not known (a function this module does not model): checks pass.
    unknown: bool,
}

impl LabelScope {
    fn of(names: impl IntoIterator<Item = String>, target: bool) -> Self {
        LabelScope {
            names: names.into_iter().collect(),
            target,
            ..LabelScope::default()
        }
    }

    pub(crate) fn contains(&self, label: &str, target_labels: &BTreeSet<String>) -> bool {
        self.unknown
            || self.names.contains(label)
            || (self.target && target_labels.contains(label) && !self.removed.contains(label))
    }

    /// The scope's own label names (not the target's).
    pub(crate) fn own_names(&self) -> Vec<String> {
        self.names.iter().cloned().collect()
    }

    /// Whether the target's labels are in scope too.
    pub(crate) fn has_target(&self) -> bool {
        self.target || self.unknown
    }

    /// The label names, for error messages.
    pub(crate) fn describe(&self, target_labels: &BTreeSet<String>) -> String {
        let mut all: Vec<&str> = self.names.iter().map(String::as_str).collect();
        if self.target {
            all.extend(
                target_labels
                    .iter()
                    .filter(|l| !self.removed.contains(*l) && !self.names.contains(*l))
                    .map(String::as_str),
            );
        }
        if all.is_empty() {
            "no labels".to_owned()
        } else {
            all.join(", ")
        }
    }

    fn without(&self, labels: &[String]) -> LabelScope {
        let mut s = self.clone();
        for l in labels {
            s.names.remove(l);
            s.removed.insert(l.clone());
        }
        s
    }

    fn intersect(&self, other: &LabelScope) -> LabelScope {
        if self.unknown {
            return other.clone();
        }
        if other.unknown {
            return self.clone();
        }
        LabelScope {
            names: self.names.intersection(&other.names).cloned().collect(),
            target: self.target && other.target,
            removed: self.removed.union(&other.removed).cloned().collect(),
            unknown: false,
        }
    }
}

/// A use of a label name, checked against the scope it was used in.
#[derive(Clone, Debug)]
pub(crate) struct LabelUse {
    pub(crate) label: String,
    pub(crate) scope: LabelScope,
    pub(crate) context: String,
}

/// A mistake found while building, reported at export.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Problem {
    WrongKind {
        function: &'static str,
        metric: String,
        kind: MetricKind,
        expected: &'static str,
    },
    Window {
        function: &'static str,
        window: Duration,
    },
    Quantile(f64),
    LabelName(String),
    MetricName(String),
    NotHistogram {
        metric: String,
    },
}

impl Problem {
    pub(crate) fn into_error(self, context: &str) -> RulesError {
        match self {
            Problem::WrongKind {
                function,
                metric,
                kind,
                expected,
            } => RulesError::WrongKind {
                context: context.to_owned(),
                function,
                metric,
                kind,
                expected,
            },
            Problem::Window { function, window } => RulesError::InvalidDuration {
                context: format!("{context}: window of `{function}`"),
                duration: window,
            },
            Problem::Quantile(q) => RulesError::InvalidQuantile {
                context: context.to_owned(),
                quantile: q,
            },
            Problem::LabelName(label) => RulesError::InvalidLabelName {
                context: context.to_owned(),
                label,
            },
            Problem::MetricName(name) => RulesError::InvalidName {
                what: "metric",
                name,
            },
            Problem::NotHistogram { metric } => RulesError::WrongKind {
                context: context.to_owned(),
                function: "bucket/sum/count",
                metric,
                kind: MetricKind::Counter,
                expected: "a histogram",
            },
        }
    }
}

/// How a label matcher compares.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum MatchOp {
    /// `=`
    Equal,
    /// `!=`
    NotEqual,
    /// `=~` (a fully anchored RE2 regular expression)
    Regex,
    /// `!~`
    NotRegex,
}

impl MatchOp {
    fn as_str(self) -> &'static str {
        match self {
            MatchOp::Equal => "=",
            MatchOp::NotEqual => "!=",
            MatchOp::Regex => "=~",
            MatchOp::NotRegex => "!~",
        }
    }
}

/// A label matcher: `status=~"5.."`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Matcher {
    label: String,
    op: MatchOp,
    value: String,
}

impl Matcher {
    /// `label="value"`.
    pub fn eq(label: impl Into<String>, value: impl Into<String>) -> Self {
        Self::new(label, MatchOp::Equal, value)
    }
    /// `label!="value"`.
    pub fn ne(label: impl Into<String>, value: impl Into<String>) -> Self {
        Self::new(label, MatchOp::NotEqual, value)
    }
    /// `label=~"regex"`.
    pub fn re(label: impl Into<String>, regex: impl Into<String>) -> Self {
        Self::new(label, MatchOp::Regex, regex)
    }
    /// `label!~"regex"`.
    pub fn not_re(label: impl Into<String>, regex: impl Into<String>) -> Self {
        Self::new(label, MatchOp::NotRegex, regex)
    }
    /// A matcher with any operator.
    pub fn new(label: impl Into<String>, op: MatchOp, value: impl Into<String>) -> Self {
        Self {
            label: label.into(),
            op,
            value: value.into(),
        }
    }
    /// The label name.
    pub fn label(&self) -> &str {
        &self.label
    }
    /// The operator.
    pub fn op(&self) -> MatchOp {
        self.op
    }
    /// The value or regular expression.
    pub fn value(&self) -> &str {
        &self.value
    }
}

impl fmt::Display for Matcher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}{}{}",
            self.label,
            self.op.as_str(),
            quote(&self.value)
        )
    }
}

/// Which sample of a metric a selector reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Sample {
    Value,
    Bucket,
    Count,
    Sum,
}

/// An instant-vector selector of one metric: `name{label="value", …}`.
///
/// Made with [`MetricRef::select`] (or `From<&MetricRef>`), narrowed with
/// matchers. A histogram's selector reads its `_bucket`, `_count` or `_sum`
/// samples ([`Selector::bucket`]…); functions that need one choose it.
#[derive(Clone, Debug, PartialEq)]
pub struct Selector {
    metric: MetricRef,
    sample: Sample,
    matchers: Vec<Matcher>,
}

impl Selector {
    pub(crate) fn new(metric: MetricRef) -> Self {
        Self {
            metric,
            sample: Sample::Value,
            matchers: Vec::new(),
        }
    }

    /// Adds `label="value"`.
    #[must_use]
    pub fn eq(self, label: &str, value: &str) -> Self {
        self.matching(Matcher::eq(label, value))
    }
    /// Adds `label!="value"`.
    #[must_use]
    pub fn ne(self, label: &str, value: &str) -> Self {
        self.matching(Matcher::ne(label, value))
    }
    /// Adds `label=~"regex"`.
    #[must_use]
    pub fn re(self, label: &str, regex: &str) -> Self {
        self.matching(Matcher::re(label, regex))
    }
    /// Adds `label!~"regex"`.
    #[must_use]
    pub fn not_re(self, label: &str, regex: &str) -> Self {
        self.matching(Matcher::not_re(label, regex))
    }
    /// Adds a matcher.
    #[must_use]
    pub fn matching(mut self, matcher: Matcher) -> Self {
        self.matchers.push(matcher);
        self
    }
    /// Adds matchers.
    #[must_use]
    pub fn matching_all(mut self, matchers: impl IntoIterator<Item = Matcher>) -> Self {
        self.matchers.extend(matchers);
        self
    }

    /// The `_bucket` samples of a histogram (with the `le` label).
    #[must_use]
    pub fn bucket(mut self) -> Self {
        self.sample = Sample::Bucket;
        self
    }
    /// The `_count` samples of a histogram.
    #[must_use]
    pub fn count(mut self) -> Self {
        self.sample = Sample::Count;
        self
    }
    /// The `_sum` samples of a histogram.
    #[must_use]
    pub fn sum(mut self) -> Self {
        self.sample = Sample::Sum;
        self
    }

    /// The metric selected.
    pub fn metric(&self) -> &MetricRef {
        &self.metric
    }

    /// The matchers, in order.
    pub fn matchers(&self) -> &[Matcher] {
        &self.matchers
    }

    /// The sample name read: the metric's name, or its `_bucket`, `_count`
    /// or `_sum` samples.
    pub fn sample_name(&self) -> String {
        let suffix = match self.sample {
            Sample::Value => "",
            Sample::Bucket => "_bucket",
            Sample::Count => "_count",
            Sample::Sum => "_sum",
        };
        format!("{}{suffix}", self.metric.name())
    }

    /// Whether it reads something that only goes up (a counter, or a
    /// histogram's samples).
    fn is_counter_like(&self) -> bool {
        match self.metric.kind() {
            MetricKind::Counter => true,
            MetricKind::Histogram => self.sample != Sample::Value,
            _ => false,
        }
    }

    fn scope(&self) -> LabelScope {
        let mut names: Vec<String> = self.metric.label_names().to_vec();
        if self.sample == Sample::Bucket {
            names.push("le".to_owned());
        }
        LabelScope::of(names, self.metric.has_target_labels())
    }

    fn problems(&self) -> Vec<Problem> {
        let mut out = Vec::new();
        if !is_metric_name(self.metric.name()) {
            out.push(Problem::MetricName(self.metric.name().to_owned()));
        }
        if self.sample != Sample::Value && self.metric.kind() != MetricKind::Histogram {
            out.push(Problem::NotHistogram {
                metric: self.metric.name().to_owned(),
            });
        }
        for m in &self.matchers {
            if !is_label_name(&m.label) {
                out.push(Problem::LabelName(m.label.clone()));
            }
        }
        out
    }

    fn uses(&self) -> Vec<LabelUse> {
        let scope = self.scope();
        self.matchers
            .iter()
            .map(|m| LabelUse {
                label: m.label.clone(),
                scope: scope.clone(),
                context: format!("matcher `{m}` on `{}`", self.sample_name()),
            })
            .collect()
    }

    /// The series selected by the equality matchers only (what `absent`
    /// returns as labels).
    fn equal_labels(&self) -> Vec<String> {
        self.matchers
            .iter()
            .filter(|m| m.op == MatchOp::Equal)
            .map(|m| m.label.clone())
            .collect()
    }

    /// `name{…}` for a promtool input series: only `=` matchers.
    pub(crate) fn series_text(&self) -> Option<String> {
        if self.matchers.iter().any(|m| m.op != MatchOp::Equal) {
            return None;
        }
        Some(self.to_string())
    }
}

impl fmt::Display for Selector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.sample_name())?;
        if !self.matchers.is_empty() {
            f.write_str("{")?;
            for (i, m) in self.matchers.iter().enumerate() {
                if i > 0 {
                    f.write_str(", ")?;
                }
                write!(f, "{m}")?;
            }
            f.write_str("}")?;
        }
        Ok(())
    }
}

impl From<&MetricRef> for Selector {
    fn from(m: &MetricRef) -> Self {
        m.select()
    }
}

impl From<MetricRef> for Selector {
    fn from(m: MetricRef) -> Self {
        Selector::new(m)
    }
}

impl<M> From<&Named<M>> for Selector {
    fn from(m: &Named<M>) -> Self {
        m.select()
    }
}

/// The type of an expression's value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Type {
    Scalar,
    Vector,
}

/// Operator precedence, lowest first (`or` < `and`/`unless` < comparisons
/// < `+ -` < `* / %` < `^` < atoms).
const PREC_OR: u8 = 1;
const PREC_AND: u8 = 2;
const PREC_CMP: u8 = 3;
const PREC_ADD: u8 = 4;
const PREC_MUL: u8 = 5;
const PREC_POW: u8 = 6;
const PREC_ATOM: u8 = 10;

/// A binary operator.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum BinOp {
    /// `+`
    Add,
    /// `-`
    Sub,
    /// `*`
    Mul,
    /// `/`
    Div,
    /// `%`
    Mod,
    /// `^`
    Pow,
    /// `==` (filters)
    Eq,
    /// `!=`
    Ne,
    /// `>`
    Gt,
    /// `>=`
    Ge,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `and`
    And,
    /// `or`
    Or,
    /// `unless`
    Unless,
}

impl BinOp {
    fn token(self) -> &'static str {
        match self {
            BinOp::Add => "+",
            BinOp::Sub => "-",
            BinOp::Mul => "*",
            BinOp::Div => "/",
            BinOp::Mod => "%",
            BinOp::Pow => "^",
            BinOp::Eq => "==",
            BinOp::Ne => "!=",
            BinOp::Gt => ">",
            BinOp::Ge => ">=",
            BinOp::Lt => "<",
            BinOp::Le => "<=",
            BinOp::And => "and",
            BinOp::Or => "or",
            BinOp::Unless => "unless",
        }
    }
    fn prec(self) -> u8 {
        match self {
            BinOp::Or => PREC_OR,
            BinOp::And | BinOp::Unless => PREC_AND,
            BinOp::Eq | BinOp::Ne | BinOp::Gt | BinOp::Ge | BinOp::Lt | BinOp::Le => PREC_CMP,
            BinOp::Add | BinOp::Sub => PREC_ADD,
            BinOp::Mul | BinOp::Div | BinOp::Mod => PREC_MUL,
            BinOp::Pow => PREC_POW,
        }
    }
    fn is_set(self) -> bool {
        matches!(self, BinOp::And | BinOp::Or | BinOp::Unless)
    }
}

/// Vector matching of a binary operation: which labels must be equal.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Matching {
    /// All labels (the default).
    #[default]
    All,
    /// `on (labels)`: only these.
    On(Vec<String>),
    /// `ignoring (labels)`: all but these.
    Ignoring(Vec<String>),
}

impl Matching {
    /// `on (labels)`.
    pub fn on(labels: &[&str]) -> Self {
        Matching::On(labels.iter().map(|l| (*l).to_owned()).collect())
    }
    /// `ignoring (labels)`.
    pub fn ignoring(labels: &[&str]) -> Self {
        Matching::Ignoring(labels.iter().map(|l| (*l).to_owned()).collect())
    }
}

/// A PromQL expression, with the metrics it names and the labels it uses.
///
/// Build it from selectors with the functions of this module ([`rate`],
/// [`error_ratio`], [`histogram_quantile`], [`absent`]…), aggregate it
/// ([`Expr::sum_by`]…), compare it ([`Expr::gt`]…) and combine it with
/// `+ - * /` and [`Expr::and`]/[`Expr::or`]/[`Expr::unless`].
/// `Display` writes the PromQL.
///
/// ```
/// use std::time::Duration;
/// use alerting_core::metrics::MetricKind;
/// use alerting_rules::{error_ratio, MetricRef, Select};
///
/// let requests = MetricRef::external("api_requests_total", MetricKind::Counter, &["api", "status"]);
/// let expr = error_ratio(
///     requests.select().eq("status", "error"),
///     requests.select(),
///     Duration::from_secs(300),
///     &["api"],
/// )
/// .gt(0.1);
/// assert_eq!(
///     expr.to_string(),
///     r#"sum by (api) (rate(api_requests_total{status="error"}[5m])) / sum by (api) (rate(api_requests_total[5m])) > 0.1"#,
/// );
/// // `by (route)` would name a label the metric does not have:
/// let bad = error_ratio(requests.select(), requests.select(), Duration::from_secs(300), &["route"]);
/// assert!(bad.check(&[]).is_err());
/// ```
#[derive(Clone, Debug)]
pub struct Expr {
    /// The PromQL text with [`SLOT`] where each of `selectors` goes.
    template: String,
    /// The PromQL text.
    text: String,
    /// The selectors, in the order of their slots.
    selectors: Vec<Selector>,
    prec: u8,
    ty: Type,
    scope: LabelScope,
    uses: Vec<LabelUse>,
    metrics: Vec<MetricRef>,
    problems: Vec<Problem>,
}

impl fmt::Display for Expr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl From<Selector> for Expr {
    fn from(sel: Selector) -> Self {
        Expr {
            template: SLOT.to_string(),
            text: sel.to_string(),
            prec: PREC_ATOM,
            ty: Type::Vector,
            scope: sel.scope(),
            uses: sel.uses(),
            metrics: vec![sel.metric.clone()],
            problems: sel.problems(),
            selectors: vec![sel],
        }
    }
}

impl From<&MetricRef> for Expr {
    fn from(m: &MetricRef) -> Self {
        Expr::from(m.select())
    }
}

impl<M> From<&Named<M>> for Expr {
    fn from(m: &Named<M>) -> Self {
        Expr::from(m.select())
    }
}

impl From<f64> for Expr {
    fn from(v: f64) -> Self {
        Expr::number(v)
    }
}

impl From<i32> for Expr {
    fn from(v: i32) -> Self {
        Expr::number(f64::from(v))
    }
}

impl Expr {
    /// A number literal.
    pub fn number(v: f64) -> Self {
        Expr {
            template: fmt_number(v),
            text: fmt_number(v),
            selectors: Vec::new(),
            prec: if v < 0.0 { PREC_ADD } else { PREC_ATOM },
            ty: Type::Scalar,
            scope: LabelScope::default(),
            uses: Vec::new(),
            metrics: Vec::new(),
            problems: Vec::new(),
        }
    }

    /// `vector(v)`: a single series without labels.
    pub fn vector(v: f64) -> Self {
        let mut e = Expr::number(v);
        e.template = format!("vector({})", e.template);
        e.text = e.template.clone();
        e.prec = PREC_ATOM;
        e.ty = Type::Vector;
        e
    }

    /// The PromQL text.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The selectors this expression reads, in the order they appear.
    pub fn selectors(&self) -> &[Selector] {
        &self.selectors
    }

    /// The same expression with every selector replaced by `f(selector)`
    /// (a matcher added, for example); the first error stops.
    pub fn map_selectors<E>(
        &self,
        mut f: impl FnMut(&Selector) -> Result<Selector, E>,
    ) -> Result<Expr, E> {
        let mut e = self.clone();
        e.selectors = self
            .selectors
            .iter()
            .map(&mut f)
            .collect::<Result<_, E>>()?;
        e.render();
        Ok(e)
    }

    /// Writes `text` from the template and the selectors.
    fn render(&mut self) {
        let mut out = String::with_capacity(self.template.len() + 32 * self.selectors.len());
        let mut selectors = self.selectors.iter();
        for (i, part) in self.template.split(SLOT).enumerate() {
            if i > 0
                && let Some(sel) = selectors.next()
            {
                out.push_str(&sel.to_string());
            }
            out.push_str(part);
        }
        self.text = out;
    }

    /// The metrics this expression names.
    pub fn metrics(&self) -> &[MetricRef] {
        &self.metrics
    }

    /// Whether the result is an instant vector (not a number).
    pub fn is_vector(&self) -> bool {
        self.ty == Type::Vector
    }

    /// Whether the result carries `label` (`target_labels`: labels every
    /// scraped series has besides `job` and `instance`, such as the
    /// registry's constant labels).
    pub fn has_label(&self, label: &str, target_labels: &[&str]) -> bool {
        self.scope.contains(label, &target_set(target_labels))
    }

    pub(crate) fn scope(&self) -> &LabelScope {
        &self.scope
    }

    /// Checks what building could not: that every label used is on the
    /// series it is used on, and that functions get the kind of metric
    /// they need. `target_labels` are the labels every scraped series has
    /// besides `job` and `instance` (the registry's constant labels).
    pub fn check(&self, target_labels: &[&str]) -> Result<(), RulesError> {
        self.check_in(&self.text, &target_set(target_labels))
    }

    pub(crate) fn check_in(
        &self,
        context: &str,
        target_labels: &BTreeSet<String>,
    ) -> Result<(), RulesError> {
        if let Some(p) = self.problems.first() {
            return Err(p.clone().into_error(context));
        }
        for u in &self.uses {
            if !u.scope.contains(&u.label, target_labels) {
                return Err(RulesError::UnknownLabel {
                    context: format!("{context}: {}", u.context),
                    label: u.label.clone(),
                    available: u.scope.describe(target_labels),
                });
            }
        }
        Ok(())
    }

    fn atom(text: String, ty: Type, scope: LabelScope, parts: Vec<Expr>) -> Expr {
        let mut e = Expr {
            template: text,
            text: String::new(),
            selectors: Vec::new(),
            prec: PREC_ATOM,
            ty,
            scope,
            uses: Vec::new(),
            metrics: Vec::new(),
            problems: Vec::new(),
        };
        for p in parts {
            e.absorb(p);
        }
        e.render();
        e
    }

    /// Takes in `other`'s selectors (after this one's: parts are absorbed
    /// in the order they appear in the text), uses, metrics and problems.
    fn absorb(&mut self, other: Expr) {
        self.selectors.extend(other.selectors);
        self.uses.extend(other.uses);
        for m in other.metrics {
            if !self.metrics.contains(&m) {
                self.metrics.push(m);
            }
        }
        self.problems.extend(other.problems);
    }

    fn use_labels(&mut self, labels: &[String], scope: &LabelScope, context: &str) {
        for l in labels {
            if !is_label_name(l) {
                self.problems.push(Problem::LabelName(l.clone()));
            }
            self.uses.push(LabelUse {
                label: l.clone(),
                scope: scope.clone(),
                context: context.to_owned(),
            });
        }
    }

    fn aggregate(self, op: &str, grouping: Option<(&str, &[&str])>) -> Expr {
        let inner_scope = self.scope.clone();
        let text = match grouping {
            Some((kw, labels)) => format!("{op} {kw} ({}) ({})", labels.join(", "), self.template),
            None => format!("{op}({})", self.template),
        };
        let (scope, used): (LabelScope, Vec<String>) = match grouping {
            Some(("by", labels)) => {
                let labels: Vec<String> = labels.iter().map(|l| (*l).to_owned()).collect();
                let mut scope = LabelScope::of(labels.iter().cloned(), false);
                scope.unknown = inner_scope.unknown;
                (scope, labels)
            }
            Some((_, labels)) => {
                let labels: Vec<String> = labels.iter().map(|l| (*l).to_owned()).collect();
                (inner_scope.without(&labels), labels)
            }
            None => (LabelScope::default(), Vec::new()),
        };
        let context = format!("`{op} {}`", grouping.map(|(kw, _)| kw).unwrap_or(""));
        let mut e = Expr::atom(text, Type::Vector, scope, vec![self]);
        e.use_labels(&used, &inner_scope, context.trim_end());
        e
    }

    /// `sum(expr)`: one series without labels.
    #[must_use]
    pub fn sum(self) -> Expr {
        self.aggregate("sum", None)
    }
    /// `sum by (labels) (expr)`.
    #[must_use]
    pub fn sum_by(self, labels: &[&str]) -> Expr {
        self.aggregate("sum", Some(("by", labels)))
    }
    /// `sum without (labels) (expr)`.
    #[must_use]
    pub fn sum_without(self, labels: &[&str]) -> Expr {
        self.aggregate("sum", Some(("without", labels)))
    }
    /// `max(expr)`.
    #[must_use]
    pub fn max(self) -> Expr {
        self.aggregate("max", None)
    }
    /// `max by (labels) (expr)`.
    #[must_use]
    pub fn max_by(self, labels: &[&str]) -> Expr {
        self.aggregate("max", Some(("by", labels)))
    }
    /// `min(expr)`.
    #[must_use]
    pub fn min(self) -> Expr {
        self.aggregate("min", None)
    }
    /// `min by (labels) (expr)`.
    #[must_use]
    pub fn min_by(self, labels: &[&str]) -> Expr {
        self.aggregate("min", Some(("by", labels)))
    }
    /// `avg by (labels) (expr)`.
    #[must_use]
    pub fn avg_by(self, labels: &[&str]) -> Expr {
        self.aggregate("avg", Some(("by", labels)))
    }
    /// `count by (labels) (expr)`.
    #[must_use]
    pub fn count_by(self, labels: &[&str]) -> Expr {
        self.aggregate("count", Some(("by", labels)))
    }

    /// Sums by `labels`, or into one series when `labels` is empty.
    fn sum_by_or_all(self, labels: &[&str]) -> Expr {
        if labels.is_empty() {
            self.sum()
        } else {
            self.sum_by(labels)
        }
    }

    /// `self op rhs` with a vector matching.
    #[must_use]
    pub fn binary(self, op: BinOp, rhs: impl Into<Expr>, matching: Matching) -> Expr {
        let rhs = rhs.into();
        let prec = op.prec();
        let wrap = |e: &Expr, right: bool| {
            let paren = if right { e.prec <= prec } else { e.prec < prec };
            if paren {
                format!("({})", e.template)
            } else {
                e.template.clone()
            }
        };
        let modifier = match &matching {
            Matching::All => String::new(),
            Matching::On(l) => format!(" on ({})", l.join(", ")),
            Matching::Ignoring(l) => format!(" ignoring ({})", l.join(", ")),
        };
        let text = format!(
            "{} {}{modifier} {}",
            wrap(&self, false),
            op.token(),
            wrap(&rhs, true)
        );
        let ty = if self.ty == Type::Scalar && rhs.ty == Type::Scalar {
            Type::Scalar
        } else {
            Type::Vector
        };
        let both_vectors = self.ty == Type::Vector && rhs.ty == Type::Vector;
        let joint = self.scope.intersect(&rhs.scope);
        let scope = if !both_vectors {
            if self.ty == Type::Vector {
                self.scope.clone()
            } else {
                rhs.scope.clone()
            }
        } else {
            match (&matching, op) {
                (Matching::On(l), _) if !op.is_set() => {
                    let mut s = LabelScope::of(l.iter().cloned(), false);
                    s.unknown = joint.unknown;
                    s
                }
                (Matching::Ignoring(l), _) if !op.is_set() => joint.without(l),
                (_, BinOp::And | BinOp::Unless) => self.scope.clone(),
                (_, BinOp::Or) => joint,
                _ => joint,
            }
        };
        let (lhs_scope, rhs_scope) = (self.scope.clone(), rhs.scope.clone());
        let mut e = Expr {
            template: text,
            text: String::new(),
            selectors: Vec::new(),
            prec,
            ty,
            scope,
            uses: Vec::new(),
            metrics: Vec::new(),
            problems: Vec::new(),
        };
        e.absorb(self);
        e.absorb(rhs);
        e.render();
        if let Matching::On(l) | Matching::Ignoring(l) = &matching {
            let ctx = format!("`{} on/ignoring`", op.token());
            e.use_labels(l, &lhs_scope, &ctx);
            if both_vectors {
                e.use_labels(l, &rhs_scope, &ctx);
            }
        }
        e
    }

    /// `self > rhs`: keeps the series above `rhs`.
    #[must_use]
    pub fn gt(self, rhs: impl Into<Expr>) -> Expr {
        self.binary(BinOp::Gt, rhs, Matching::All)
    }
    /// `self >= rhs`.
    #[must_use]
    pub fn ge(self, rhs: impl Into<Expr>) -> Expr {
        self.binary(BinOp::Ge, rhs, Matching::All)
    }
    /// `self < rhs`.
    #[must_use]
    pub fn lt(self, rhs: impl Into<Expr>) -> Expr {
        self.binary(BinOp::Lt, rhs, Matching::All)
    }
    /// `self <= rhs`.
    #[must_use]
    pub fn le(self, rhs: impl Into<Expr>) -> Expr {
        self.binary(BinOp::Le, rhs, Matching::All)
    }
    /// `self == rhs` (keeps the series equal to `rhs`).
    #[must_use]
    pub fn equal(self, rhs: impl Into<Expr>) -> Expr {
        self.binary(BinOp::Eq, rhs, Matching::All)
    }
    /// `self != rhs`.
    #[must_use]
    pub fn not_equal(self, rhs: impl Into<Expr>) -> Expr {
        self.binary(BinOp::Ne, rhs, Matching::All)
    }
    /// `self and rhs`: the series of `self` that have a match in `rhs`.
    #[must_use]
    pub fn and(self, rhs: impl Into<Expr>) -> Expr {
        self.binary(BinOp::And, rhs, Matching::All)
    }
    /// `self or rhs`.
    #[must_use]
    pub fn or(self, rhs: impl Into<Expr>) -> Expr {
        self.binary(BinOp::Or, rhs, Matching::All)
    }
    /// `self unless rhs`.
    #[must_use]
    pub fn unless(self, rhs: impl Into<Expr>) -> Expr {
        self.binary(BinOp::Unless, rhs, Matching::All)
    }

    fn call(self, function: &str, extra: &[String]) -> Expr {
        let mut args = vec![self.template.clone()];
        args.extend(extra.iter().cloned());
        let text = format!("{function}({})", args.join(", "));
        let (ty, scope) = (self.ty, self.scope.clone());
        Expr::atom(text, ty, scope, vec![self])
    }

    /// `clamp_min(self, min)`.
    #[must_use]
    pub fn clamp_min(self, min: f64) -> Expr {
        self.call("clamp_min", &[fmt_number(min)])
    }
    /// `clamp_max(self, max)`.
    #[must_use]
    pub fn clamp_max(self, max: f64) -> Expr {
        self.call("clamp_max", &[fmt_number(max)])
    }
    /// `abs(self)`.
    #[must_use]
    pub fn abs(self) -> Expr {
        self.call("abs", &[])
    }
}

macro_rules! arith {
    ($trait:ident, $method:ident, $op:expr) => {
        impl<R: Into<Expr>> ops::$trait<R> for Expr {
            type Output = Expr;
            fn $method(self, rhs: R) -> Expr {
                self.binary($op, rhs, Matching::All)
            }
        }
    };
}

arith!(Add, add, BinOp::Add);
arith!(Sub, sub, BinOp::Sub);
arith!(Mul, mul, BinOp::Mul);
arith!(Div, div, BinOp::Div);

impl ops::Sub<Expr> for f64 {
    type Output = Expr;
    fn sub(self, rhs: Expr) -> Expr {
        Expr::number(self).binary(BinOp::Sub, rhs, Matching::All)
    }
}

fn range(function: &'static str, sel: Selector, window: Duration, counter: bool) -> Expr {
    let mut problems = Vec::new();
    if counter && !sel.is_counter_like() {
        problems.push(Problem::WrongKind {
            function,
            metric: sel.sample_name(),
            kind: sel.metric.kind(),
            expected: "a counter (or a histogram's samples)",
        });
    }
    let w = match fmt_duration(window) {
        Some(w) => w,
        None => {
            problems.push(Problem::Window { function, window });
            "0s".to_owned()
        }
    };
    let inner = Expr::from(sel);
    let text = format!("{function}({}[{w}])", inner.template);
    let scope = inner.scope.clone();
    let mut e = Expr::atom(text, Type::Vector, scope, vec![inner]);
    e.problems.extend(problems);
    e
}

/// `rate(counter[window])`: per-second increase, over `window`.
pub fn rate(counter: impl Into<Selector>, window: Duration) -> Expr {
    range("rate", counter.into(), window, true)
}

/// `increase(counter[window])`: increase over `window`.
pub fn increase(counter: impl Into<Selector>, window: Duration) -> Expr {
    range("increase", counter.into(), window, true)
}

/// `avg_over_time(series[window])`.
pub fn avg_over_time(series: impl Into<Selector>, window: Duration) -> Expr {
    range("avg_over_time", series.into(), window, false)
}

/// `max_over_time(series[window])`.
pub fn max_over_time(series: impl Into<Selector>, window: Duration) -> Expr {
    range("max_over_time", series.into(), window, false)
}

/// `min_over_time(series[window])`.
pub fn min_over_time(series: impl Into<Selector>, window: Duration) -> Expr {
    range("min_over_time", series.into(), window, false)
}

/// `absent(selector)`: one series (with the selector's `=` labels) when
/// nothing matches, nothing otherwise. The usual "no data" alert.
pub fn absent(series: impl Into<Selector>) -> Expr {
    let sel = series.into();
    let scope = LabelScope::of(sel.equal_labels(), false);
    let inner = Expr::from(sel);
    let text = format!("absent({})", inner.template);
    Expr::atom(text, Type::Vector, scope, vec![inner])
}

/// `absent_over_time(selector[window])`: like [`absent`], for a whole window.
pub fn absent_over_time(series: impl Into<Selector>, window: Duration) -> Expr {
    let sel = series.into();
    let scope = LabelScope::of(sel.equal_labels(), false);
    let mut e = range("absent_over_time", sel, window, false);
    e.scope = scope;
    e
}

/// `histogram_quantile(q, sum by (le, by…) (rate(h_bucket[window])))`: the
/// `q`-quantile (0.95 for p95) of a histogram over `window`, per `by`.
pub fn histogram_quantile(
    q: f64,
    histogram: impl Into<Selector>,
    window: Duration,
    by: &[&str],
) -> Expr {
    let sel = histogram.into();
    let mut problems = Vec::new();
    if !(0.0..=1.0).contains(&q) {
        problems.push(Problem::Quantile(q));
    }
    if sel.metric.kind() != MetricKind::Histogram {
        problems.push(Problem::WrongKind {
            function: "histogram_quantile",
            metric: sel.metric.name().to_owned(),
            kind: sel.metric.kind(),
            expected: "a histogram",
        });
    }
    let sel = if sel.metric.kind() == MetricKind::Histogram {
        sel.bucket()
    } else {
        sel
    };
    let mut grouping = vec!["le"];
    grouping.extend(by.iter().filter(|l| **l != "le"));
    let inner = rate(sel, window).sum_by(&grouping);
    let scope = LabelScope::of(by.iter().map(|l| (*l).to_owned()), false);
    let text = format!("histogram_quantile({}, {})", fmt_number(q), inner.template);
    let mut e = Expr::atom(text, Type::Vector, scope, vec![inner]);
    e.problems.extend(problems);
    e
}

/// `sum by (by) (rate(errors[window])) / sum by (by) (rate(total[window]))`:
/// the share of events that were errors, per `by` (one series when `by` is
/// empty). When nothing happened the ratio is `NaN`, so no comparison on it
/// is true.
pub fn error_ratio(
    errors: impl Into<Selector>,
    total: impl Into<Selector>,
    window: Duration,
    by: &[&str],
) -> Expr {
    rate(errors, window).sum_by_or_all(by) / rate(total, window).sum_by_or_all(by)
}

/// Whether `name` is a valid label name.
pub(crate) fn is_label_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Whether `name` is a valid metric name (colons allowed, for recording rules).
pub(crate) fn is_metric_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_' || c == ':')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
}

pub(crate) fn target_set(extra: &[&str]) -> BTreeSet<String> {
    TARGET_LABELS
        .iter()
        .chain(extra)
        .map(|l| (*l).to_owned())
        .collect()
}

/// A PromQL (and Go template) string literal.
pub(crate) fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A number as PromQL writes it, rounded to 12 significant digits so that
/// `14.4 * 0.001` computed in Rust prints as `0.0144`.
pub fn fmt_number(v: f64) -> String {
    if v.is_nan() {
        return "NaN".to_owned();
    }
    if v.is_infinite() {
        return if v > 0.0 { "+Inf" } else { "-Inf" }.to_owned();
    }
    let rounded: f64 = format!("{v:.11e}").parse().unwrap_or(v);
    let s = format!("{rounded}");
    if s == "-0" { "0".to_owned() } else { s }
}

/// A duration as Prometheus writes it (`5m`, `1h30m`, `3d`), or `None` for
/// zero or a duration with a part below a millisecond.
pub fn fmt_duration(d: Duration) -> Option<String> {
    if d.is_zero() || !d.subsec_nanos().is_multiple_of(1_000_000) {
        return None;
    }
    let mut ms = d.as_millis();
    let mut out = String::new();
    for (unit, size) in [
        ("d", 86_400_000u128),
        ("h", 3_600_000),
        ("m", 60_000),
        ("s", 1_000),
        ("ms", 1),
    ] {
        if ms >= size {
            out.push_str(&format!("{}{unit}", ms / size));
            ms %= size;
        }
    }
    Some(out)
}

/// The `le` label values a histogram bound may be written with: Go's
/// `%g` form in the Prometheus text format (`1`, `1e-05`), and the
/// OpenMetrics form (`1.0`). Prometheus 2 compares them as strings.
pub(crate) fn le_values(bound: f64) -> Vec<String> {
    let mut out = vec![go_float(bound)];
    let om = if bound.is_finite() && bound.fract() == 0.0 && bound.abs() < 1e16 {
        format!("{bound:.1}")
    } else {
        format!("{bound}")
    };
    if !out.contains(&om) {
        out.push(om);
    }
    out
}

/// Go's `strconv.FormatFloat(v, 'g', -1, 64)`.
fn go_float(v: f64) -> String {
    if !v.is_finite() {
        return fmt_number(v);
    }
    if v == 0.0 {
        return "0".to_owned();
    }
    let e = format!("{v:e}"); // shortest digits: "1.2345e-5"
    let (mantissa, exp) = e.split_once('e').unwrap_or((&e, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    // Go uses `%e` for shortest `%g` when the exponent is below -4 or at
    // least 6 (its default precision).
    if !(-4..6).contains(&exp) {
        let sign = if exp < 0 { '-' } else { '+' };
        format!("{mantissa}e{sign}{:02}", exp.abs())
    } else {
        format!("{v}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        let s = |secs| fmt_duration(Duration::from_secs(secs)).unwrap();
        assert_eq!(s(300), "5m");
        assert_eq!(s(90), "1m30s");
        assert_eq!(s(3 * 86_400), "3d");
        assert_eq!(s(30 * 86_400), "30d");
        assert_eq!(s(3_600 + 1_800), "1h30m");
        assert_eq!(
            fmt_duration(Duration::from_millis(1500)).as_deref(),
            Some("1s500ms")
        );
        assert_eq!(fmt_duration(Duration::ZERO), None);
        assert_eq!(fmt_duration(Duration::from_nanos(1)), None);
    }

    #[test]
    fn numbers() {
        assert_eq!(fmt_number(14.4 * 0.001), "0.0144");
        assert_eq!(fmt_number(0.05), "0.05");
        assert_eq!(fmt_number(1e9), "1000000000");
        assert_eq!(fmt_number(1.0), "1");
        assert_eq!(fmt_number(-0.0), "0");
        assert_eq!(fmt_number(f64::INFINITY), "+Inf");
    }

    #[test]
    fn go_floats() {
        assert_eq!(go_float(0.5), "0.5");
        assert_eq!(go_float(1.0), "1");
        assert_eq!(go_float(10.0), "10");
        assert_eq!(go_float(0.00001), "1e-05");
        assert_eq!(go_float(0.0001), "0.0001");
        assert_eq!(go_float(1e6), "1e+06");
        assert_eq!(go_float(123456.0), "123456");
        assert_eq!(go_float(2.5), "2.5");
        assert_eq!(le_values(1.0), ["1", "1.0"]);
        assert_eq!(le_values(0.25), ["0.25"]);
    }
}
