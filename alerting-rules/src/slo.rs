//! Service level objectives: recording rules and multi-window,
//! multi-burn-rate alerts.

use std::time::Duration;

use crate::builtin::Instrumented;
use crate::builtin::InstrumentedExt;
use crate::expr::{Expr, Matcher, Selector, avg_over_time, fmt_duration, fmt_number, rate};
use crate::metric::Select;
use crate::rule::{AlertRule, RecordingRule, RuleGroup, Severity};
use crate::{RulesError, Scope, absent, increase, le_values};
use alerting_core::instrument::{InstrumentError, InstrumentedFn};
use alerting_core::metrics::MetricRef;

/// What counts as a bad event, and out of what.
#[derive(Clone, Debug)]
pub struct Sli {
    kind: SliKind,
    what: String,
    /// A function name that is no linked call site: reported by
    /// [`Slo`]'s rules.
    unknown: Option<InstrumentError>,
}

#[derive(Clone, Debug)]
enum SliKind {
    /// Bad events / all events, two counters.
    Ratio { errors: Selector, total: Selector },
    /// Events slower than `threshold` / all events, one histogram.
    Latency { histogram: Selector, threshold: f64 },
}

impl Sli {
    /// Errors out of all events, from two counter selectors (often the same
    /// counter, with and without a matcher on its result label).
    pub fn error_ratio(errors: impl Into<Selector>, total: impl Into<Selector>) -> Self {
        let errors = errors.into();
        let what = format!("errors of `{}`", errors.sample_name());
        Self {
            kind: SliKind::Ratio {
                errors,
                total: total.into(),
            },
            what,
            unknown: None,
        }
    }

    /// Calls of an `#[instrumented]` function that failed (`error`,
    /// `panic`) out of those that finished (`cancelled` left out).
    /// `function` must be a linked call site ([`Instrumented::function`]);
    /// otherwise the SLO's rules are a [`RulesError::Instrumented`] naming
    /// the closest one.
    pub fn instrumented(functions: &Instrumented, function: &str) -> Self {
        match functions.function(function) {
            Ok(f) => Self::instrumented_fn(&f),
            Err(e) => Self::unknown_function(functions, function, e),
        }
    }

    /// [`instrumented`](Self::instrumented) from a function's reference.
    pub fn instrumented_fn(function: &InstrumentedFn) -> Self {
        Self {
            kind: SliKind::Ratio {
                errors: function.errors(),
                total: function.finished(),
            },
            what: format!("calls of `{}` that failed", function.name()),
            unknown: None,
        }
    }

    /// An SLI on the family-wide selectors that reports `error`.
    fn unknown_function(functions: &Instrumented, function: &str, error: InstrumentError) -> Self {
        let mut sli = Self::error_ratio(
            functions.errors().eq("function", function),
            functions.finished().eq("function", function),
        );
        sli.what = format!("calls of `{function}` that failed");
        sli.unknown = Some(error);
        sli
    }

    /// Requests to an HTTP route answered with a 5xx status, out of all
    /// requests to it (`http_requests_total{method, route, status}`).
    pub fn http_route(requests: &MetricRef, route: &str) -> Self {
        Self {
            kind: SliKind::Ratio {
                errors: requests.select().eq("route", route).re("status", "5.."),
                total: requests.select().eq("route", route),
            },
            what: format!("requests to `{route}` answered with 5xx"),
            unknown: None,
        }
    }

    /// Events slower than `threshold` out of all events of a histogram.
    /// The threshold must be one of its bucket bounds (checked when the
    /// bounds are known).
    pub fn latency(histogram: impl Into<Selector>, threshold: Duration) -> Self {
        let histogram = histogram.into();
        let what = format!(
            "`{}` events slower than {}",
            histogram.metric().name(),
            fmt_seconds(threshold)
        );
        Self {
            kind: SliKind::Latency {
                histogram,
                threshold: threshold.as_secs_f64(),
            },
            what,
            unknown: None,
        }
    }

    /// Calls of an `#[instrumented]` function slower than `threshold` (a
    /// bucket bound of the function's histogram). `function` must be a
    /// linked call site, as for [`instrumented`](Self::instrumented).
    pub fn instrumented_latency(
        functions: &Instrumented,
        function: &str,
        threshold: Duration,
    ) -> Self {
        match functions.function(function) {
            Ok(f) => Self::instrumented_fn_latency(&f, threshold),
            Err(e) => {
                let mut sli = Self::latency(
                    functions.duration().select().eq("function", function),
                    threshold,
                );
                sli.unknown = Some(e);
                sli
            }
        }
    }

    /// [`instrumented_latency`](Self::instrumented_latency) from a
    /// function's reference.
    pub fn instrumented_fn_latency(function: &InstrumentedFn, threshold: Duration) -> Self {
        let name = function.name();
        let mut sli = Self::latency(function.duration().select().eq("function", name), threshold);
        sli.what = format!("calls of `{name}` slower than {}", fmt_seconds(threshold));
        sli
    }

    /// Requests to an HTTP route slower than `threshold`
    /// (`http_request_duration_seconds{method, route}`).
    pub fn http_route_latency(duration: &MetricRef, route: &str, threshold: Duration) -> Self {
        let mut sli = Self::latency(duration.select().eq("route", route), threshold);
        sli.what = format!(
            "requests to `{route}` slower than {}",
            fmt_seconds(threshold)
        );
        sli
    }

    /// Adds a matcher to every selector (`service="bsc-monitor"`, a job).
    #[must_use]
    pub fn matching(mut self, matcher: Matcher) -> Self {
        self.kind = match self.kind {
            SliKind::Ratio { errors, total } => SliKind::Ratio {
                errors: errors.matching(matcher.clone()),
                total: total.matching(matcher),
            },
            SliKind::Latency {
                histogram,
                threshold,
            } => SliKind::Latency {
                histogram: histogram.matching(matcher),
                threshold,
            },
        };
        self
    }

    /// What a bad event is, in words (used in annotations).
    pub fn describe(&self) -> &str {
        &self.what
    }

    /// The selector of all events, good and bad (a histogram's `_count`
    /// for a latency SLI): what the minimum-traffic guard counts, and
    /// whose absence raises the SLO's absent alert.
    pub fn total(&self) -> Selector {
        match &self.kind {
            SliKind::Ratio { total, .. } => total.clone(),
            SliKind::Latency { histogram, .. } => histogram.clone().count(),
        }
    }

    /// The events over `window`, one series without labels.
    fn events(&self, window: Duration) -> Expr {
        increase(self.total(), window).sum()
    }

    /// The error ratio over `window`, one series without labels.
    fn ratio(&self, window: Duration) -> Expr {
        match &self.kind {
            SliKind::Ratio { errors, total } => {
                // `or vector(0)`: a counter of errors that has no series yet
                // (no 5xx so far) means no errors, not no data.
                rate(errors.clone(), window).sum().or(Expr::vector(0.0))
                    / rate(total.clone(), window).sum()
            }
            SliKind::Latency {
                histogram,
                threshold,
            } => {
                let values = le_values(*threshold);
                let fast = if values.len() == 1 {
                    histogram.clone().bucket().eq("le", &values[0])
                } else {
                    let alternatives: Vec<String> =
                        values.iter().map(|v| v.replace('.', "\\.")).collect();
                    histogram.clone().bucket().re("le", &alternatives.join("|"))
                };
                let all = rate(histogram.clone().count(), window).sum();
                (all.clone() - rate(fast, window).sum()) / all
            }
        }
    }
}

/// One pair of windows of a multi-window, multi-burn-rate alert: it fires
/// when the error ratio over both the long and the short window exceeds
/// `factor` times the error budget. The long window makes it significant,
/// the short one makes it stop soon after the errors stop.
#[derive(Clone, Debug, PartialEq)]
pub struct BurnWindow {
    long: Duration,
    short: Duration,
    factor: f64,
    severity: Severity,
    for_duration: Option<Duration>,
}

impl BurnWindow {
    /// A window pair.
    pub fn new(long: Duration, short: Duration, factor: f64, severity: Severity) -> Self {
        Self {
            long,
            short,
            factor,
            severity,
            for_duration: None,
        }
    }

    /// A `for` duration on this pair's alert (none by default: the short
    /// window already filters blips).
    #[must_use]
    pub fn for_duration(mut self, duration: Duration) -> Self {
        self.for_duration = (!duration.is_zero()).then_some(duration);
        self
    }

    /// The Google SRE workbook's table for a 30-day objective ("Alerting on
    /// SLOs", multiwindow, multi-burn-rate alerts): page when 2% of the
    /// budget burns in 1 h (14.4×) or 5% in 6 h (6×); ticket when 10%
    /// burns in 1 day (3×) or 10% in 3 days (1×). Short windows are 1/12
    /// of the long ones.
    pub fn workbook() -> Vec<BurnWindow> {
        const MIN: u64 = 60;
        const HOUR: u64 = 3_600;
        const DAY: u64 = 86_400;
        let d = Duration::from_secs;
        vec![
            BurnWindow::new(d(HOUR), d(5 * MIN), 14.4, Severity::Critical),
            BurnWindow::new(d(6 * HOUR), d(30 * MIN), 6.0, Severity::Critical),
            BurnWindow::new(d(DAY), d(2 * HOUR), 3.0, Severity::Warning),
            BurnWindow::new(d(3 * DAY), d(6 * HOUR), 1.0, Severity::Warning),
        ]
    }

    /// The long window.
    pub fn long(&self) -> Duration {
        self.long
    }
    /// The short window.
    pub fn short(&self) -> Duration {
        self.short
    }
    /// The burn-rate factor.
    pub fn factor(&self) -> f64 {
        self.factor
    }
    /// The severity of its alert.
    pub fn severity(&self) -> Severity {
        self.severity
    }
}

/// A service level objective: the share of good events over a window
/// (`0.999` over 30 days), with the recording rules and burn-rate alerts
/// that watch it, as Sloth and Pyrra generate them.
///
/// Generated, for an SLO named `n` (all series labelled `slo="n"` and
/// with the labels of its [`Scope`], its own or the rule file's):
///
/// - `slo:sli_error:ratio_rate<w>`: the error ratio over each window `w`
///   the alerts use (5m, 30m, 1h, 2h, 6h, 1d, 3d by default), and over the
///   SLO window (30d, as the average of the shortest one);
/// - `slo:sli_events:increase<w>`: the events over each long window, for
///   the minimum-traffic guard;
/// - `slo:objective:ratio`, `slo:error_budget:ratio` and
///   `slo:error_budget_remaining:ratio` (1 = untouched, 0 = spent, below 0
///   = overspent) for dashboards;
/// - one alert per [`BurnWindow`], all named `<Name>ErrorBudgetBurn`, told
///   apart by their `long_window`/`short_window` labels and severity. Each
///   fires when the error ratio over both windows is above `factor ×
///   budget` **and** the long window holds enough events
///   ([`min_events`](Self::min_events)): one bad event among three at
///   night does not page;
/// - `<Name>SliAbsent` (warning, `for: 10m`): the SLI's series are absent
///   ([`absent_alert`](Self::absent_alert)), so the SLO cannot be computed.
///
/// The SLI's selectors, the recorded series and the selectors over them
/// (the 30-day average, the alerts) are narrowed to the scope: set it once,
/// with [`RuleFile::scope`](crate::RuleFile::scope) or
/// [`service`](Self::service).
///
/// ```
/// use std::time::Duration;
/// use alerting_core::metrics::Registry;
/// use alerting_rules::{builtin, RuleFile, Sli, Slo};
///
/// let registry = Registry::new();
/// let http = builtin::http_requests(&registry);
/// let latency = builtin::http_request_duration(&registry);
/// let availability = Slo::new("checkout", Sli::http_route(&http, "/api/checkout"), 0.999)
///     .service("shop");
/// let fast = Slo::new(
///     "checkout_latency",
///     Sli::http_route_latency(&latency, "/api/checkout", Duration::from_millis(500)),
///     0.99,
/// );
/// let file = RuleFile::new().groups(availability.rule_groups()?).groups(fast.rule_groups()?);
/// let yaml = file.to_yaml()?;
/// assert!(yaml.contains("alert: CheckoutErrorBudgetBurn"));
/// assert!(yaml.contains(r#"le="0.5""#));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug)]
pub struct Slo {
    name: String,
    sli: Sli,
    objective: f64,
    window: Duration,
    scope: Scope,
    alert_name: Option<String>,
    windows: Vec<BurnWindow>,
    runbook_url: Option<String>,
    min_events: Option<u64>,
    absent_for: Option<Duration>,
}

/// How long an SLO's SLI may be absent before its absent alert fires
/// ([`Slo::absent_for`]).
pub const DEFAULT_ABSENT_FOR: Duration = Duration::from_secs(10 * 60);

impl Slo {
    /// An objective: `objective` of events good (`0.999`) over 30 days,
    /// with the workbook's burn-rate windows.
    pub fn new(name: impl Into<String>, sli: Sli, objective: f64) -> Self {
        Self {
            name: name.into(),
            sli,
            objective,
            window: Duration::from_secs(30 * 86_400),
            scope: Scope::new(),
            alert_name: None,
            windows: BurnWindow::workbook(),
            runbook_url: None,
            min_events: None,
            absent_for: Some(DEFAULT_ABSENT_FOR),
        }
    }

    /// The SLO window (30 days by default). The workbook's factors assume
    /// 30 days; with another window, give [`burn_windows`](Self::burn_windows)
    /// to match.
    #[must_use]
    pub fn window(mut self, window: Duration) -> Self {
        self.window = window;
        self
    }

    /// The SLO of `service`: [`scope`](Self::scope) with
    /// [`Scope::service`]. The SLI's selectors read only that service's
    /// series, and every recorded series and alert carries the label.
    #[must_use]
    pub fn service(self, service: impl Into<String>) -> Self {
        self.scope(Scope::service(service))
    }

    /// Narrows the SLO to a [`Scope`]: the SLI's input selectors (where
    /// their series carry the label), the recorded series (labelled with
    /// it), the 30-day and alert selectors over them, and the alerts'
    /// labels. Adds to what [`service`](Self::service) set; a label set to
    /// two values, here or against the rule file's scope, is a
    /// [`RulesError::ScopeConflict`] at export.
    #[must_use]
    pub fn scope(mut self, scope: Scope) -> Self {
        self.scope.extend(&scope);
        self
    }

    /// The minimum-traffic guard: a burn-rate alert fires only when at
    /// least `events` events (good or bad) happened over its long window,
    /// so one bad event among three at night does not page. `0` turns the
    /// guard off.
    ///
    /// By default each window pair needs `⌈1 / (factor × budget)⌉`
    /// events: the fewest with which a single bad event stays under the
    /// alert's threshold (70 in the 1-hour window of a 99.9% SLO, 1000 in
    /// its 3-day window). A full outage at normal traffic still pages.
    #[must_use]
    pub fn min_events(mut self, events: u64) -> Self {
        self.min_events = Some(events);
        self
    }

    /// How long the SLI's series may be absent (the service stopped
    /// exporting them, or is not scraped) before the `<Name>SliAbsent`
    /// alert fires ([`DEFAULT_ABSENT_FOR`], 10 minutes, by default).
    #[must_use]
    pub fn absent_for(mut self, duration: Duration) -> Self {
        self.absent_for = Some(duration);
        self
    }

    /// No `<Name>SliAbsent` alert (for an SLI whose series only appear
    /// with the first event).
    #[must_use]
    pub fn without_absent_alert(mut self) -> Self {
        self.absent_for = None;
        self
    }

    /// The alerts' name (default: the SLO's name in `CamelCase` followed by
    /// `ErrorBudgetBurn`).
    #[must_use]
    pub fn alert_name(mut self, name: impl Into<String>) -> Self {
        self.alert_name = Some(name.into());
        self
    }

    /// Replaces the burn-rate windows.
    #[must_use]
    pub fn burn_windows(mut self, windows: Vec<BurnWindow>) -> Self {
        self.windows = windows;
        self
    }

    /// A `runbook_url` annotation on the alerts.
    #[must_use]
    pub fn runbook_url(mut self, url: impl Into<String>) -> Self {
        self.runbook_url = Some(url.into());
        self
    }

    /// The SLO's name (the `slo` label).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The SLO window (30 days by default).
    pub fn slo_window(&self) -> Duration {
        self.window
    }

    /// What is measured.
    pub fn sli(&self) -> &Sli {
        &self.sli
    }

    /// The objective (`0.999`).
    pub fn objective(&self) -> f64 {
        self.objective
    }

    /// The error budget, `1 - objective`.
    pub fn error_budget(&self) -> f64 {
        // Rounded so that 1 - 0.999 prints as 0.001.
        fmt_number(1.0 - self.objective).parse().unwrap_or(0.0)
    }

    /// The burn-rate windows.
    pub fn burn_window_list(&self) -> &[BurnWindow] {
        &self.windows
    }

    /// The SLO's scope ([`service`](Self::service), [`scope`](Self::scope)).
    pub fn scope_of(&self) -> &Scope {
        &self.scope
    }

    /// The minimum events over a window pair's long window for its alert
    /// to fire (see [`min_events`](Self::min_events)).
    pub fn min_events_for(&self, window: &BurnWindow) -> u64 {
        self.min_events.unwrap_or_else(|| {
            let threshold = window.factor * self.error_budget();
            if threshold > 0.0 && threshold.is_finite() {
                // Rounded first so that 1 / 0.0144 is 69.44…, not 69.4400…01.
                let n: f64 = fmt_number(1.0 / threshold).parse().unwrap_or(1.0);
                (n.ceil() as u64).max(1)
            } else {
                1
            }
        })
    }

    /// The name of the alert raised when the SLI's series are absent:
    /// the SLO's name in `CamelCase` followed by `SliAbsent`.
    pub fn absent_alert_name(&self) -> String {
        format!("{}SliAbsent", camel_case(&self.name))
    }

    /// The alerts' name.
    pub fn alert(&self) -> String {
        self.alert_name
            .clone()
            .unwrap_or_else(|| format!("{}ErrorBudgetBurn", camel_case(&self.name)))
    }

    /// The recorded error ratio over `window` (one of the burn windows, or
    /// the SLO window), selected to this SLO.
    pub fn error_ratio(&self, window: Duration) -> Selector {
        self.own(&ratio_name(window))
    }

    /// The recorded events over `window` (a long burn window), selected to
    /// this SLO: what the minimum-traffic guard compares.
    pub fn events(&self, window: Duration) -> Selector {
        self.own(&events_name(window))
    }

    /// The recorded remaining error budget (1 untouched, 0 spent), selected
    /// to this SLO.
    pub fn error_budget_remaining(&self) -> Selector {
        self.own("slo:error_budget_remaining:ratio")
    }

    /// A series recorded for this SLO: `slo` and the scope's labels.
    fn own(&self, name: &str) -> Selector {
        let mut labels = vec!["slo".to_owned()];
        labels.extend(self.scope.labels().map(|(l, _)| l.to_owned()));
        let mut sel = MetricRef::recorded(name.to_owned(), labels, false)
            .select()
            .eq("slo", &self.name);
        for (l, v) in self.scope.labels() {
            if !sel.matchers().iter().any(|m| m.label() == l) {
                sel = sel.eq(l, v);
            }
        }
        sel
    }

    fn labelled(&self, rule: RecordingRule) -> RecordingRule {
        rule.label("slo", &self.name).with_scope(&self.scope)
    }

    fn guarded(&self) -> bool {
        self.min_events != Some(0)
    }

    fn validate(&self) -> Result<(), RulesError> {
        if let Some(unknown) = &self.sli.unknown {
            return Err(RulesError::Instrumented(unknown.clone()));
        }
        if !super::expr::is_label_name(&self.name) {
            return Err(RulesError::InvalidName {
                what: "SLO",
                name: self.name.clone(),
            });
        }
        if !(self.objective > 0.0 && self.objective < 1.0) {
            return Err(RulesError::InvalidObjective {
                slo: self.name.clone(),
                objective: self.objective,
            });
        }
        if fmt_duration(self.window).is_none() {
            return Err(RulesError::InvalidDuration {
                context: format!("SLO `{}`: window", self.name),
                duration: self.window,
            });
        }
        self.scope.check(&format!("SLO `{}`", self.name))?;
        if let Some(d) = self.absent_for
            && fmt_duration(d).is_none()
        {
            return Err(RulesError::InvalidDuration {
                context: format!("SLO `{}`: absent_for", self.name),
                duration: d,
            });
        }
        for w in &self.windows {
            if w.short >= w.long || !(w.factor > 0.0 && w.factor.is_finite()) {
                return Err(RulesError::InvalidBurnWindow {
                    slo: self.name.clone(),
                });
            }
        }
        if let SliKind::Latency {
            histogram,
            threshold,
        } = &self.sli.kind
            && let Some(bounds) = histogram.metric().bucket_bounds()
            && !bounds.contains(threshold)
        {
            return Err(RulesError::ThresholdNotABucket {
                slo: self.name.clone(),
                threshold: *threshold,
                metric: histogram.metric().name().to_owned(),
                bounds: bounds
                    .iter()
                    .map(|b| fmt_number(*b))
                    .collect::<Vec<_>>()
                    .join(", "),
            });
        }
        Ok(())
    }

    /// The recording rules: the error ratio over every window, the
    /// objective, the budget and what remains of it.
    pub fn recording_rules(&self) -> Result<Vec<RecordingRule>, RulesError> {
        self.validate()?;
        let mut windows: Vec<Duration> = self
            .windows
            .iter()
            .flat_map(|w| [w.short, w.long])
            .collect();
        windows.sort();
        windows.dedup();
        windows.retain(|w| *w != self.window);
        let mut rules: Vec<RecordingRule> = windows
            .iter()
            .map(|w| self.labelled(RecordingRule::new(ratio_name(*w), self.sli.ratio(*w))))
            .collect();
        let slo_window = match windows.first() {
            Some(shortest) => avg_over_time(self.error_ratio(*shortest), self.window),
            None => self.sli.ratio(self.window),
        };
        rules.push(self.labelled(RecordingRule::new(ratio_name(self.window), slo_window)));
        if self.guarded() {
            let mut longs: Vec<Duration> = self.windows.iter().map(|w| w.long).collect();
            longs.sort();
            longs.dedup();
            rules.extend(
                longs.iter().map(|w| {
                    self.labelled(RecordingRule::new(events_name(*w), self.sli.events(*w)))
                }),
            );
        }
        rules.push(self.labelled(RecordingRule::new(
            "slo:objective:ratio",
            Expr::vector(self.objective),
        )));
        rules.push(self.labelled(RecordingRule::new(
            "slo:error_budget:ratio",
            Expr::vector(self.error_budget()),
        )));
        rules.push(self.labelled(RecordingRule::new(
            "slo:error_budget_remaining:ratio",
            1.0 - Expr::from(self.error_ratio(self.window)) / self.error_budget(),
        )));
        Ok(rules)
    }

    /// The burn-rate alerts, one per window pair.
    pub fn alerts(&self) -> Result<Vec<AlertRule>, RulesError> {
        self.validate()?;
        let budget = self.error_budget();
        let name = self.alert();
        Ok(self
            .windows
            .iter()
            .map(|w| {
                let threshold = || Expr::number(w.factor) * budget;
                let mut expr = Expr::from(self.error_ratio(w.long))
                    .gt(threshold())
                    .and(Expr::from(self.error_ratio(w.short)).gt(threshold()));
                if self.guarded() {
                    // The minimum-traffic guard.
                    expr =
                        expr.and(Expr::from(self.events(w.long)).ge(self.min_events_for(w) as f64));
                }
                let long = fmt_duration(w.long).unwrap_or_default();
                let short = fmt_duration(w.short).unwrap_or_default();
                let exhaustion = Duration::from_secs(
                    ((self.window.as_secs_f64() / w.factor / 60.0).round() as u64)
                        .max(1)
                        .saturating_mul(60),
                );
                let mut rule = AlertRule::new(name.clone(), expr)
                    .severity(w.severity)
                    .label("long_window", &long)
                    .label("short_window", &short)
                    .summary(format!(
                        "SLO {}: error budget burning {}x faster than sustainable",
                        self.name,
                        fmt_number(w.factor)
                    ))
                    .description(format!(
                        "{} are {{{{ $value | humanizePercentage }}}} over the last {long} \
                         (and over {short}); the objective is {} over {}, a budget of {}. \
                         At this rate the budget is gone in {}.",
                        capitalise(self.sli.describe()),
                        percent(self.objective),
                        fmt_duration(self.window).unwrap_or_default(),
                        percent(budget),
                        fmt_duration(exhaustion).unwrap_or_default(),
                    ));
                if let Some(d) = w.for_duration {
                    rule = rule.for_duration(d);
                }
                if let Some(url) = &self.runbook_url {
                    rule = rule.runbook_url(url);
                }
                rule.with_scope(&self.scope)
                    .with_runbook_anchor("slo-burn-rate-alerts")
            })
            .collect())
    }

    /// The alert raised when the SLI's total-events series are absent for
    /// [`absent_for`](Self::absent_for) (the service stopped exporting
    /// them, or is not scraped): `<Name>SliAbsent`, severity warning,
    /// over the SLI's selectors (narrowed to the scope at export). `None`
    /// after [`without_absent_alert`](Self::without_absent_alert).
    pub fn absent_alert(&self) -> Result<Option<AlertRule>, RulesError> {
        self.validate()?;
        let Some(pending) = self.absent_for else {
            return Ok(None);
        };
        let presence = self.sli.total();
        let mut rule = AlertRule::new(self.absent_alert_name(), absent(presence.clone()))
            .for_duration(pending)
            .severity(Severity::Warning)
            .label("slo", &self.name)
            .summary(format!("SLO {}: its SLI is not measured", self.name))
            .description(format!(
                "No series of `{}` for {}: the SLO {} cannot be computed and its burn-rate \
                 alerts cannot fire. The service stopped exporting the metric, is not scraped, \
                 or the selector names a series that does not exist.",
                presence.sample_name(),
                fmt_duration(pending).unwrap_or_default(),
                self.name,
            ));
        if let Some(url) = &self.runbook_url {
            rule = rule.runbook_url(url);
        }
        Ok(Some(
            rule.with_scope(&self.scope)
                .with_runbook_anchor("slo-sli-absent"),
        ))
    }

    /// Two groups: `slo_<name>_recordings` and `slo_<name>_alerts` (the
    /// burn-rate alerts, then the absent alert).
    pub fn rule_groups(&self) -> Result<Vec<RuleGroup>, RulesError> {
        Ok(vec![
            RuleGroup::new(format!("slo_{}_recordings", self.name)).rules(self.recording_rules()?),
            RuleGroup::new(format!("slo_{}_alerts", self.name))
                .rules(self.alerts()?)
                .rules(self.absent_alert()?),
        ])
    }
}

fn ratio_name(window: Duration) -> String {
    format!(
        "slo:sli_error:ratio_rate{}",
        fmt_duration(window).unwrap_or_else(|| "0s".to_owned())
    )
}

fn events_name(window: Duration) -> String {
    format!(
        "slo:sli_events:increase{}",
        fmt_duration(window).unwrap_or_else(|| "0s".to_owned())
    )
}

fn camel_case(name: &str) -> String {
    name.split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|p| !p.is_empty())
        .map(capitalise)
        .collect()
}

fn capitalise(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(c) => c.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// `0.999` → `99.9%`.
pub(crate) fn percent(ratio: f64) -> String {
    format!("{}%", fmt_number(ratio * 100.0))
}

/// A duration in seconds as a person reads it: `500ms`, `1s`, `2.5s`.
pub(crate) fn fmt_seconds(d: Duration) -> String {
    let secs = d.as_secs_f64();
    if secs < 1.0 {
        format!("{}ms", fmt_number(secs * 1000.0))
    } else {
        format!("{}s", fmt_number(secs))
    }
}
