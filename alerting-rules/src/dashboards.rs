//! Grafana dashboards generated from the same metric references as the
//! alert rules.
//!
//! A [`Dashboard`] is rows of [`Panel`]s whose queries are
//! [`Expr`]s, so a panel names a metric by value like a
//! rule does, and the same export-time checks apply: every label a query or
//! a legend (`{{route}}`) uses is on the series. Ready-made rows:
//!
//! - [`Dashboard::http_overview`] / [`Dashboard::instrumented_overview`]:
//!   request (or call) rate, error ratio, p50/p95/p99 latency, in-flight;
//! - [`Dashboard::instrumented_functions`]: a row per `#[instrumented]`
//!   function (calls by outcome, error ratio, latency, in-flight);
//! - [`Dashboard::health`]: `health_check_status` as up/degraded/down, and
//!   check durations;
//! - [`Dashboard::process`]: resident memory, CPU, file descriptors,
//!   threads;
//! - [`Dashboard::common_rows`]: the three above, the rows a service's
//!   dashboard ends with;
//! - [`Dashboard::slo`]: an SLO's error ratio and remaining error budget;
//! - [`Dashboard::row`]: rows of your own panels.
//!
//! The JSON uses `schemaVersion` [`SCHEMA_VERSION`] (39, the model of
//! Grafana 11.0, which Grafana 11.x and 12.x load and migrate on import)
//! and a `datasource` template variable of type `prometheus`, so the
//! dashboard imports into any Grafana with any Prometheus data source.
//!
//! ```
//! use alerting_rules::dashboards::Dashboard;
//! use alerting_core::metrics::Registry;
//! use alerting_rules::builtin;
//!
//! #[alerting_core::instrumented]
//! async fn process_swap_event() {}
//!
//! let registry = Registry::builder().const_label("service", "bsc-monitor").build()?;
//! let fns = builtin::Instrumented::new(&registry).within(module_path!());
//! let dashboard = Dashboard::new("BSC monitor", "bsc-monitor")
//!     .for_registry(&registry)
//!     .filter("service", "bsc-monitor")
//!     .instrumented_overview(&fns)
//!     .instrumented_functions(&fns, &["process_swap_event"])
//!     .health(&builtin::health_check_status(&registry), &builtin::health_check_duration(&registry))
//!     .process();
//! let json = dashboard.to_json()?;
//! let value: serde_json::Value = serde_json::from_str(&json)?;
//! assert_eq!(value["schemaVersion"], 39);
//! assert!(dashboard.queries()?.iter().all(|e| e.text().contains(r#"service="bsc-monitor""#)));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::{Value, json};

use crate::builtin::{
    self, ERROR_OUTCOMES, InstrumentError, Instrumented, InstrumentedExt, InstrumentedFn,
};
use crate::expr::target_set;
use crate::metric::Select;
use crate::{
    Expr, MetricRef, RulesError, Scope, Selector, Slo, TARGET_LABELS, error_ratio,
    histogram_quantile, rate,
};
use alerting_core::metrics::Registry;

/// The dashboard JSON model version written: Grafana 11.0's.
pub const SCHEMA_VERSION: u32 = 39;

/// The grid is 24 units wide.
const GRID_WIDTH: u32 = 24;

const FIVE_MINUTES: Duration = Duration::from_secs(300);

/// Why a dashboard could not be exported.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DashboardError {
    /// A row names an `#[instrumented]` function that is no linked call
    /// site (a misspelt name): the message names the closest one.
    #[error(transparent)]
    Instrumented(#[from] InstrumentError),
    /// A panel's query is invalid (an unknown label, a wrong metric kind…).
    #[error("panel `{panel}`: {source}")]
    Query {
        /// The panel.
        panel: String,
        /// What is wrong.
        #[source]
        source: RulesError,
    },
    /// A legend uses a label its query's series do not have.
    #[error("panel `{panel}`: legend `{legend}` uses `{label}`, which its series do not have")]
    UnknownLegendLabel {
        /// The panel.
        panel: String,
        /// The legend format.
        legend: String,
        /// The label.
        label: String,
    },
    /// Two rows with one title (Grafana shows both; links and people
    /// cannot tell them apart).
    #[error("two rows are titled `{title}`")]
    DuplicateRow {
        /// The title.
        title: String,
    },
    /// The dashboard's scope is invalid (a label set to two values).
    #[error("dashboard scope: {0}")]
    Scope(#[source] RulesError),
    /// A panel without a query.
    #[error("panel `{panel}` has no query")]
    NoQuery {
        /// The panel.
        panel: String,
    },
    /// An empty title or uid, or a uid longer than Grafana's 40 characters.
    #[error("dashboard {what} `{value}` is not valid (non-empty; a uid has at most 40 characters)")]
    Invalid {
        /// `title` or `uid`.
        what: &'static str,
        /// The value.
        value: String,
    },
    /// Serialising JSON failed.
    #[error("writing JSON failed")]
    Json(#[from] serde_json::Error),
    /// Writing the file failed.
    #[error("cannot write `{}`", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
}

/// The unit of a panel's values.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Unit {
    /// Requests per second (`reqps`).
    RequestsPerSecond,
    /// Operations per second (`ops`).
    OpsPerSecond,
    /// A ratio shown as a percentage (`percentunit`: 0.05 is 5%).
    Ratio,
    /// Seconds (`s`).
    Seconds,
    /// Bytes, binary multiples (`bytes`).
    Bytes,
    /// A plain number (`short`).
    Short,
}

impl Unit {
    fn grafana(self) -> &'static str {
        match self {
            Unit::RequestsPerSecond => "reqps",
            Unit::OpsPerSecond => "ops",
            Unit::Ratio => "percentunit",
            Unit::Seconds => "s",
            Unit::Bytes => "bytes",
            Unit::Short => "short",
        }
    }
}

/// How a panel draws.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum PanelKind {
    /// Lines over time.
    TimeSeries,
    /// The last value, large.
    Stat,
    /// The last value of `health_check_status`, as UP / DEGRADED / DOWN
    /// on green / orange / red.
    HealthStatus,
}

/// A query of a panel, with its legend (`{{route}}`).
#[derive(Clone, Debug)]
pub struct Target {
    expr: Expr,
    legend: Option<String>,
    exemplars: bool,
}

impl Target {
    /// A query.
    pub fn new(expr: impl Into<Expr>) -> Self {
        Self {
            expr: expr.into(),
            legend: None,
            exemplars: false,
        }
    }

    /// Shows the exemplars of the histogram buckets the query reads (a
    /// time-series panel's `"exemplar": true`), as dots on the graph that
    /// lead to their trace or transaction. The latency panels of the
    /// ready-made rows turn it on for their p99 query (once per panel: each
    /// query of a panel would show the same exemplars). Grafana needs a
    /// Prometheus data source that reads exemplars, and Prometheus
    /// `--enable-feature=exemplar-storage`.
    #[must_use]
    pub fn exemplars(mut self) -> Self {
        self.exemplars = true;
        self
    }

    /// Whether the panel shows the query's exemplars.
    pub fn shows_exemplars(&self) -> bool {
        self.exemplars
    }

    /// The legend format (`{{route}} {{status}}`, or plain text).
    #[must_use]
    pub fn legend(mut self, legend: impl Into<String>) -> Self {
        self.legend = Some(legend.into());
        self
    }

    /// The query.
    pub fn expr(&self) -> &Expr {
        &self.expr
    }
}

/// A panel: a title, queries, a unit, a width.
#[derive(Clone, Debug)]
pub struct Panel {
    title: String,
    description: Option<String>,
    kind: PanelKind,
    unit: Unit,
    targets: Vec<Target>,
    width: u32,
    height: u32,
    min: Option<f64>,
}

impl Panel {
    /// A time-series panel.
    pub fn timeseries(title: impl Into<String>, unit: Unit) -> Self {
        Self {
            title: title.into(),
            description: None,
            kind: PanelKind::TimeSeries,
            unit,
            targets: Vec::new(),
            width: 8,
            height: 8,
            min: None,
        }
    }

    /// A stat panel (last value).
    pub fn stat(title: impl Into<String>, unit: Unit) -> Self {
        Self {
            kind: PanelKind::Stat,
            height: 4,
            ..Self::timeseries(title, unit)
        }
    }

    /// A panel of any kind.
    pub fn new(title: impl Into<String>, kind: PanelKind, unit: Unit) -> Self {
        Self {
            kind,
            ..Self::timeseries(title, unit)
        }
    }

    /// Adds a query.
    #[must_use]
    pub fn target(mut self, target: Target) -> Self {
        self.targets.push(target);
        self
    }

    /// Adds a query with a legend.
    #[must_use]
    pub fn query(self, expr: impl Into<Expr>, legend: &str) -> Self {
        self.target(Target::new(expr).legend(legend))
    }

    /// A description (the ⓘ next to the title).
    #[must_use]
    pub fn description(mut self, text: impl Into<String>) -> Self {
        self.description = Some(text.into());
        self
    }

    /// The width in grid units (of 24; 8 by default), clamped to 1..=24.
    #[must_use]
    pub fn width(mut self, width: u32) -> Self {
        self.width = width.clamp(1, GRID_WIDTH);
        self
    }

    /// The height in grid units (8 by default, 4 for a stat), at least 1.
    #[must_use]
    pub fn height(mut self, height: u32) -> Self {
        self.height = height.max(1);
        self
    }

    /// The axis minimum (0 for rates and ratios).
    #[must_use]
    pub fn min(mut self, min: f64) -> Self {
        self.min = Some(min);
        self
    }

    /// The title.
    pub fn title(&self) -> &str {
        &self.title
    }

    /// The queries.
    pub fn targets(&self) -> &[Target] {
        &self.targets
    }

    fn validate(&self, target_labels: &BTreeSet<String>) -> Result<(), DashboardError> {
        if self.targets.is_empty() {
            return Err(DashboardError::NoQuery {
                panel: self.title.clone(),
            });
        }
        for t in &self.targets {
            let extra: Vec<&str> = target_labels
                .iter()
                .map(String::as_str)
                .filter(|l| !TARGET_LABELS.contains(l))
                .collect();
            t.expr
                .check(&extra)
                .map_err(|source| DashboardError::Query {
                    panel: self.title.clone(),
                    source,
                })?;
            if let Some(legend) = &t.legend {
                for label in legend_labels(legend) {
                    if !t.expr.has_label(&label, &extra) {
                        return Err(DashboardError::UnknownLegendLabel {
                            panel: self.title.clone(),
                            legend: legend.clone(),
                            label,
                        });
                    }
                }
            }
        }
        Ok(())
    }

    fn to_json(&self, id: u32, x: u32, y: u32) -> Value {
        let datasource = datasource();
        let targets: Vec<Value> = self
            .targets
            .iter()
            .enumerate()
            .map(|(i, t)| {
                let mut v = json!({
                    "datasource": datasource,
                    "editorMode": "code",
                    "expr": t.expr.text(),
                    "range": true,
                    "refId": ref_id(i),
                });
                if let Some(l) = &t.legend {
                    v["legendFormat"] = json!(l);
                }
                if t.exemplars && self.kind == PanelKind::TimeSeries {
                    v["exemplar"] = json!(true);
                }
                if self.kind != PanelKind::TimeSeries {
                    v["instant"] = json!(true);
                    v["range"] = json!(false);
                }
                v
            })
            .collect();
        let mut defaults = json!({
            "unit": self.unit.grafana(),
            "color": { "mode": "palette-classic" },
        });
        if let Some(min) = self.min {
            defaults["min"] = json!(min);
        }
        let (kind, options) = match self.kind {
            PanelKind::TimeSeries => {
                defaults["custom"] = json!({
                    "drawStyle": "line",
                    "fillOpacity": 10,
                    "lineWidth": 1,
                    "showPoints": "never",
                    "spanNulls": false,
                });
                (
                    "timeseries",
                    json!({
                        "legend": { "displayMode": "list", "placement": "bottom", "showLegend": true },
                        "tooltip": { "mode": "multi", "sort": "desc" },
                    }),
                )
            }
            PanelKind::Stat | PanelKind::HealthStatus => {
                if self.kind == PanelKind::HealthStatus {
                    defaults["color"] = json!({ "mode": "thresholds" });
                    defaults["mappings"] = json!([{
                        "type": "value",
                        "options": {
                            "0": { "index": 2, "text": "DOWN", "color": "red" },
                            "0.5": { "index": 1, "text": "DEGRADED", "color": "orange" },
                            "1": { "index": 0, "text": "UP", "color": "green" },
                        },
                    }]);
                    defaults["thresholds"] = json!({
                        "mode": "absolute",
                        "steps": [
                            { "color": "red", "value": null },
                            { "color": "orange", "value": 0.5 },
                            { "color": "green", "value": 1 },
                        ],
                    });
                }
                (
                    "stat",
                    json!({
                        "colorMode": if self.kind == PanelKind::HealthStatus { "background" } else { "value" },
                        "graphMode": "none",
                        "justifyMode": "auto",
                        "orientation": "auto",
                        "reduceOptions": { "calcs": ["lastNotNull"], "fields": "", "values": false },
                        "textMode": "value_and_name",
                    }),
                )
            }
        };
        let mut panel = json!({
            "id": id,
            "type": kind,
            "title": self.title,
            "datasource": datasource,
            "gridPos": { "h": self.height, "w": self.width, "x": x, "y": y },
            "fieldConfig": { "defaults": defaults, "overrides": [] },
            "options": options,
            "targets": targets,
        });
        if let Some(d) = &self.description {
            panel["description"] = json!(d);
        }
        panel
    }
}

/// A row of panels under a title.
#[derive(Clone, Debug)]
pub struct Row {
    title: String,
    panels: Vec<Panel>,
    collapsed: bool,
}

impl Row {
    /// An empty row.
    pub fn new(title: impl Into<String>) -> Self {
        Self {
            title: title.into(),
            panels: Vec::new(),
            collapsed: false,
        }
    }

    /// Adds a panel.
    #[must_use]
    pub fn panel(mut self, panel: Panel) -> Self {
        self.panels.push(panel);
        self
    }

    /// Starts the row collapsed.
    #[must_use]
    pub fn collapsed(mut self, collapsed: bool) -> Self {
        self.collapsed = collapsed;
        self
    }

    /// The title.
    pub fn title(&self) -> &str {
        &self.title
    }

    /// The panels.
    pub fn panels(&self) -> &[Panel] {
        &self.panels
    }
}

/// A Grafana dashboard (see the [module documentation](self)).
#[derive(Clone, Debug)]
pub struct Dashboard {
    title: String,
    uid: String,
    description: Option<String>,
    tags: Vec<String>,
    refresh: String,
    from: String,
    scope: Scope,
    target_labels: Vec<String>,
    rows: Vec<Row>,
    /// Function names that are no linked call site, reported by
    /// [`validate`](Dashboard::validate).
    unknown_functions: Vec<InstrumentError>,
}

impl Dashboard {
    /// An empty dashboard. The `uid` (at most 40 characters) keeps its URL
    /// stable across imports.
    pub fn new(title: impl Into<String>, uid: impl Into<String>) -> Self {
        Self {
            title: title.into(),
            uid: uid.into(),
            description: None,
            tags: Vec::new(),
            refresh: "30s".to_owned(),
            from: "now-6h".to_owned(),
            scope: Scope::new(),
            target_labels: Vec::new(),
            rows: Vec::new(),
            unknown_functions: Vec::new(),
        }
    }

    /// A description.
    #[must_use]
    pub fn description(mut self, text: impl Into<String>) -> Self {
        self.description = Some(text.into());
        self
    }

    /// Adds a tag.
    #[must_use]
    pub fn tag(mut self, tag: impl Into<String>) -> Self {
        self.tags.push(tag.into());
        self
    }

    /// The auto-refresh interval (`30s`).
    #[must_use]
    pub fn refresh(mut self, refresh: impl Into<String>) -> Self {
        self.refresh = refresh.into();
        self
    }

    /// `label="value"` on every query of every row, ready-made and your
    /// own (`service="bsc-monitor"`), where the series carry the label:
    /// the same as adding the label to the dashboard's
    /// [`scope`](Self::scope). A label filtered to two values, or to
    /// another value than a query's own matcher, is an error at export.
    #[must_use]
    pub fn filter(mut self, label: &str, value: &str) -> Self {
        self.scope = std::mem::take(&mut self.scope).label(label, value);
        self
    }

    /// The series the dashboard shows, set once: every query of every
    /// row, ready-made and your own, is narrowed to the scope's labels
    /// where its series carry them (`job="<service>"` on `up`), at export
    /// (see [`Scope`]). Adds to earlier [`filter`](Self::filter)s.
    ///
    /// ```
    /// use alerting_core::metrics::{Counter, Named, Registry};
    /// use alerting_rules::dashboards::{Dashboard, Panel, Row, Unit};
    /// use alerting_rules::{rate, Scope};
    ///
    /// let registry = Registry::builder().const_label("service", "shop").build()?;
    /// let orders: Named<Counter> = registry.register("orders_total", "Orders placed")?;
    /// let d = Dashboard::new("shop", "shop")
    ///     .for_registry(&registry)
    ///     .scope(Scope::service("shop"))
    ///     .row(Row::new("Orders").panel(
    ///         Panel::timeseries("Orders per second", Unit::OpsPerSecond)
    ///             .query(rate(&orders, std::time::Duration::from_secs(300)).sum(), "orders"),
    ///     ));
    /// let queries = d.queries()?;
    /// assert_eq!(queries[0].text(), r#"sum(rate(orders_total{service="shop"}[5m]))"#);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[must_use]
    pub fn scope(mut self, scope: Scope) -> Self {
        self.scope.extend(&scope);
        self
    }

    /// Labels every scraped series has besides `job` and `instance`.
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

    /// `selector` with the dashboard's scope already applied. Not needed
    /// any more for queries of custom rows (the scope reaches every query
    /// at export); kept for code written before it did.
    pub fn filtered(&self, selector: impl Into<Selector>) -> Selector {
        let selector = selector.into();
        self.scope
            .apply(&selector, &self.target())
            .unwrap_or(selector)
    }

    fn target(&self) -> BTreeSet<String> {
        let extra: Vec<&str> = self.target_labels.iter().map(String::as_str).collect();
        target_set(&extra)
    }

    /// Adds a row.
    #[must_use]
    pub fn row(mut self, row: Row) -> Self {
        self.rows.push(row);
        self
    }

    /// Overview of an HTTP service from the HTTP layer's families
    /// (`http_requests_total{method, route, status}`,
    /// `http_request_duration_seconds{method, route}`), and an optional
    /// in-flight gauge: request rate and 5xx ratio per route, p50/p95/p99.
    #[must_use]
    pub fn http_overview(
        self,
        requests: &MetricRef,
        duration: &MetricRef,
        in_flight: Option<&MetricRef>,
    ) -> Self {
        let all = self.filtered(requests);
        let failed = all.clone().re("status", "5..");
        let mut row = Row::new("HTTP overview")
            .panel(
                Panel::timeseries("Request rate", Unit::RequestsPerSecond)
                    .min(0.0)
                    .query(
                        rate(all.clone(), FIVE_MINUTES).sum_by(&["route"]),
                        "{{route}}",
                    ),
            )
            .panel(
                Panel::timeseries("Error ratio (5xx)", Unit::Ratio)
                    .min(0.0)
                    .query(
                        error_ratio(failed, all, FIVE_MINUTES, &["route"]),
                        "{{route}}",
                    ),
            )
            .panel(self.percentiles("Latency", self.filtered(duration), &[]));
        if let Some(g) = in_flight {
            row = row.panel(
                Panel::timeseries("In flight", Unit::Short)
                    .min(0.0)
                    .query(Expr::from(self.filtered(g)).sum(), "in flight"),
            );
        }
        self.row(row)
    }

    /// Overview of `#[instrumented]` functions: calls per second and error
    /// ratio per function, p50/p95/p99 of all calls, calls in flight.
    #[must_use]
    pub fn instrumented_overview(self, functions: &Instrumented) -> Self {
        let finished = self.filtered(functions.finished());
        let errors = self.filtered(functions.errors());
        let mut row = Row::new("Functions overview")
            .panel(
                Panel::timeseries("Calls per second", Unit::OpsPerSecond)
                    .min(0.0)
                    .query(
                        rate(finished.clone(), FIVE_MINUTES).sum_by(&["function"]),
                        "{{function}}",
                    ),
            )
            .panel(
                Panel::timeseries("Error ratio", Unit::Ratio)
                    .min(0.0)
                    .description("error and panic outcomes out of finished calls")
                    .query(
                        error_ratio(errors, finished, FIVE_MINUTES, &["function"]),
                        "{{function}}",
                    ),
            )
            .panel(self.percentiles("Latency", self.filtered(functions.duration()), &[]));
        if functions.any_in_flight() {
            row = row.panel(
                Panel::timeseries("In flight", Unit::Short)
                    .min(0.0)
                    .description("functions instrumented with `in_flight`")
                    .query(
                        Expr::from(self.filtered(functions.in_flight())).sum_by(&["function"]),
                        "{{function}}",
                    ),
            );
        }
        self.row(row)
    }

    /// A row per `#[instrumented]` function: calls per second by outcome,
    /// error ratio, p50/p95/p99, and in flight for the functions whose
    /// attribute has `in_flight`. Each name must be a linked call site
    /// ([`Instrumented::function`]); otherwise [`validate`](Self::validate)
    /// (and so [`to_json`](Self::to_json)) is a
    /// [`DashboardError::Instrumented`] naming the closest one.
    #[must_use]
    pub fn instrumented_functions(mut self, functions: &Instrumented, names: &[&str]) -> Self {
        for name in names {
            match functions.function(name) {
                Ok(function) => {
                    let row = self.instrumented_function_row(&function);
                    self.rows.push(row);
                }
                Err(e) => self.unknown_functions.push(e),
            }
        }
        self
    }

    /// The row of one function (see
    /// [`instrumented_functions`](Self::instrumented_functions)).
    fn instrumented_function_row(&self, function: &InstrumentedFn) -> Row {
        let name = function.name();
        let only = |s: Selector| self.filtered(s).eq("function", name);
        let outcome = function.outcome_label();
        let in_flight = function.in_flight();
        // Four panels of 6 columns, or three of 8 without in-flight.
        let width = if in_flight.is_some() { 6 } else { 8 };
        let mut row = Row::new(format!("fn {name}"))
            .panel(
                Panel::timeseries("Calls per second by outcome", Unit::OpsPerSecond)
                    .width(width)
                    .min(0.0)
                    .query(
                        rate(only(function.calls().select()), FIVE_MINUTES).sum_by(&[outcome]),
                        &format!("{{{{{outcome}}}}}"),
                    ),
            )
            .panel(
                Panel::timeseries("Error ratio", Unit::Ratio)
                    .width(width)
                    .min(0.0)
                    .query(
                        error_ratio(
                            only(function.calls().select().re(outcome, ERROR_OUTCOMES)),
                            only(function.calls().select().ne(outcome, "cancelled")),
                            FIVE_MINUTES,
                            &[],
                        ),
                        "errors",
                    ),
            )
            .panel(
                self.percentiles("Latency", only(function.duration().select()), &[])
                    .width(width),
            );
        if let Some(gauge) = in_flight {
            row = row.panel(
                Panel::timeseries("In flight", Unit::Short)
                    .width(width)
                    .min(0.0)
                    .query(Expr::from(only(gauge.select())).sum(), "in flight"),
            );
        }
        row
    }

    /// Health checks: the status of each (`health_check_status`) and the
    /// p95 duration of pulled checks.
    #[must_use]
    pub fn health(self, status: &MetricRef, duration: &MetricRef) -> Self {
        let row = Row::new("Health")
            .panel(
                Panel::new("Health checks", PanelKind::HealthStatus, Unit::Short)
                    .width(12)
                    .query(
                        Expr::from(self.filtered(status)).min_by(&["check"]),
                        "{{check}}",
                    ),
            )
            .panel(
                Panel::timeseries("Check duration (p95)", Unit::Seconds)
                    .width(12)
                    .min(0.0)
                    .query(
                        histogram_quantile(0.95, self.filtered(duration), FIVE_MINUTES, &["check"]),
                        "{{check}}",
                    ),
            );
        self.row(row)
    }

    /// Process resources from the process collector: resident memory, CPU,
    /// open file descriptors against the limit, threads.
    #[must_use]
    pub fn process(self) -> Self {
        let sel = |m: MetricRef| self.filtered(m);
        let row = Row::new("Process")
            .panel(
                Panel::timeseries("Resident memory", Unit::Bytes)
                    .width(6)
                    .min(0.0)
                    .query(
                        Expr::from(sel(builtin::process_resident_memory_bytes())),
                        "{{instance}}",
                    ),
            )
            .panel(
                Panel::timeseries("CPU (cores)", Unit::Short)
                    .width(6)
                    .min(0.0)
                    .query(
                        rate(sel(builtin::process_cpu_seconds_total()), FIVE_MINUTES),
                        "{{instance}}",
                    ),
            )
            .panel(
                Panel::timeseries("Open file descriptors", Unit::Short)
                    .width(6)
                    .min(0.0)
                    .query(
                        Expr::from(sel(builtin::process_open_fds())),
                        "open {{instance}}",
                    )
                    .query(
                        Expr::from(sel(builtin::process_max_fds())),
                        "max {{instance}}",
                    ),
            )
            .panel(
                Panel::timeseries("Threads", Unit::Short)
                    .width(6)
                    .min(0.0)
                    .query(Expr::from(sel(builtin::process_threads())), "{{instance}}"),
            );
        self.row(row)
    }

    /// The tokio runtime, from the runtime collector
    /// ([`Registry::register_runtime_metrics`]): the share of time its
    /// workers are busy (1 is saturated: see
    /// [`packs::runtime_saturated`](crate::packs::runtime_saturated)),
    /// alive tasks, the global queue depth, and how often workers park.
    #[must_use]
    pub fn runtime(self) -> Self {
        let refs = alerting_core::metrics::runtime::RuntimeCollector::metric_refs();
        let sel = |m: MetricRef| self.filtered(m);
        let by = ["instance"];
        let row = Row::new("Runtime")
            .panel(
                Panel::timeseries("Workers busy", Unit::Ratio)
                    .width(6)
                    .min(0.0)
                    .description(
                        "Share of time the tokio workers were busy, averaged over the workers; \
                         near 100% tasks wait for a worker.",
                    )
                    .query(
                        rate(sel(refs.worker_busy_seconds.clone()), FIVE_MINUTES).sum_by(&by)
                            / Expr::from(sel(refs.workers.clone())).sum_by(&by),
                        "{{instance}}",
                    ),
            )
            .panel(
                Panel::timeseries("Alive tasks", Unit::Short)
                    .width(6)
                    .min(0.0)
                    .query(Expr::from(sel(refs.alive_tasks.clone())), "{{instance}}"),
            )
            .panel(
                Panel::timeseries("Global queue depth", Unit::Short)
                    .width(6)
                    .min(0.0)
                    .query(
                        Expr::from(sel(refs.global_queue_depth.clone())),
                        "{{instance}}",
                    ),
            )
            .panel(
                Panel::timeseries("Worker parks", Unit::OpsPerSecond)
                    .width(6)
                    .min(0.0)
                    .query(
                        rate(sel(refs.worker_parks.clone()), FIVE_MINUTES).sum_by(&by),
                        "{{instance}}",
                    ),
            );
        self.row(row)
    }

    /// The rows every service's dashboard ends with, after its own: a row
    /// per `#[instrumented]` function of `names`
    /// ([`instrumented_functions`](Self::instrumented_functions)), the
    /// health checks of `registry` ([`health`](Self::health)) and the
    /// process ([`process`](Self::process)).
    ///
    /// ```
    /// use alerting_core::metrics::Registry;
    /// use alerting_rules::builtin;
    /// use alerting_rules::dashboards::Dashboard;
    ///
    /// #[alerting_core::instrumented(in_flight)]
    /// async fn checkout() {}
    /// #[alerting_core::instrumented]
    /// async fn refund() {}
    ///
    /// let registry = Registry::builder().const_label("service", "checkout").build()?;
    /// let fns = builtin::Instrumented::new(&registry).within(module_path!());
    /// let dashboard = Dashboard::new("checkout", "checkout")
    ///     .for_registry(&registry)
    ///     .filter("service", "checkout")
    ///     .instrumented_overview(&fns)
    ///     .common_rows(&fns, &["checkout", "refund"], &registry);
    /// let rows: Vec<&str> = dashboard.rows().iter().map(|r| r.title()).collect();
    /// assert_eq!(rows, ["Functions overview", "fn checkout", "fn refund", "Health", "Process"]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[must_use]
    pub fn common_rows(
        self,
        functions: &Instrumented,
        names: &[&str],
        registry: &Registry,
    ) -> Self {
        self.instrumented_functions(functions, names)
            .health(
                &builtin::health_check_status(registry),
                &builtin::health_check_duration(registry),
            )
            .process()
    }

    /// An SLO: its error ratio over the short and long alert windows, and
    /// the error budget left over the SLO window (from the recording rules
    /// [`Slo::rule_groups`] generates).
    #[must_use]
    pub fn slo(self, slo: &Slo) -> Self {
        let mut windows: Vec<Duration> = slo
            .burn_window_list()
            .first()
            .map(|w| vec![w.short(), w.long()])
            .unwrap_or_default();
        windows.push(slo.slo_window());
        let mut ratio = Panel::timeseries("Error ratio", Unit::Ratio)
            .width(16)
            .min(0.0)
            .description(format!(
                "{}; objective {}, error budget {}",
                slo.sli().describe(),
                slo.objective(),
                slo.error_budget()
            ));
        for w in windows {
            let label = crate::fmt_duration(w).unwrap_or_default();
            ratio = ratio.query(Expr::from(slo.error_ratio(w)), &label);
        }
        let row = Row::new(format!("SLO {}", slo.name())).panel(ratio).panel(
            Panel::stat("Error budget remaining", Unit::Ratio)
                .width(8)
                .height(8)
                .query(Expr::from(slo.error_budget_remaining()), "remaining"),
        );
        self.row(row)
    }

    fn percentiles(&self, title: &str, histogram: Selector, by: &[&str]) -> Panel {
        let mut panel =
            Panel::timeseries(format!("{title} p50 / p95 / p99"), Unit::Seconds).min(0.0);
        for q in [0.5, 0.95, 0.99] {
            let target = Target::new(histogram_quantile(q, histogram.clone(), FIVE_MINUTES, by))
                .legend(format!("p{}", crate::fmt_number(q * 100.0)));
            // The slow end is where a user looks for the request behind it.
            panel = panel.target(if q == 0.99 {
                target.exemplars()
            } else {
                target
            });
        }
        panel
    }

    /// The rows.
    pub fn rows(&self) -> &[Row] {
        &self.rows
    }

    /// Every query of every panel as exported: the dashboard's scope
    /// applied.
    pub fn queries(&self) -> Result<Vec<Expr>, DashboardError> {
        Ok(self
            .resolved_rows()?
            .into_iter()
            .flat_map(|r| r.panels)
            .flat_map(|p| p.targets)
            .map(|t| t.expr)
            .collect())
    }

    /// The rows with the scope applied to every query.
    fn resolved_rows(&self) -> Result<Vec<Row>, DashboardError> {
        self.scope
            .check("dashboard")
            .map_err(DashboardError::Scope)?;
        let target = self.target();
        let mut titles = BTreeSet::new();
        let mut rows = Vec::with_capacity(self.rows.len());
        for row in &self.rows {
            if !titles.insert(row.title.as_str()) {
                return Err(DashboardError::DuplicateRow {
                    title: row.title.clone(),
                });
            }
            let mut row = row.clone();
            for p in &mut row.panels {
                for t in &mut p.targets {
                    t.expr = t
                        .expr
                        .map_selectors(|s| self.scope.apply(s, &target))
                        .map_err(|source| DashboardError::Query {
                            panel: p.title.clone(),
                            source,
                        })?;
                }
            }
            rows.push(row);
        }
        Ok(rows)
    }

    /// Every query of every panel, as built (before the dashboard's scope
    /// is applied: see [`queries`](Self::queries)).
    pub fn exprs(&self) -> impl Iterator<Item = &Expr> {
        self.rows
            .iter()
            .flat_map(|r| r.panels.iter())
            .flat_map(|p| p.targets.iter())
            .map(|t| &t.expr)
    }

    /// Every metric a panel names, once each, in order of appearance.
    pub fn metrics(&self) -> Vec<MetricRef> {
        let mut out: Vec<MetricRef> = Vec::new();
        for m in self.exprs().flat_map(|e| e.metrics()) {
            if !out.contains(m) {
                out.push(m.clone());
            }
        }
        out
    }

    /// Checks every query and legend, and that row titles are unique.
    pub fn validate(&self) -> Result<(), DashboardError> {
        self.validated().map(|_| ())
    }

    fn validated(&self) -> Result<Vec<Row>, DashboardError> {
        if let Some(unknown) = self.unknown_functions.first() {
            return Err(DashboardError::Instrumented(unknown.clone()));
        }
        if self.title.trim().is_empty() {
            return Err(DashboardError::Invalid {
                what: "title",
                value: self.title.clone(),
            });
        }
        if self.uid.trim().is_empty() || self.uid.chars().count() > 40 {
            return Err(DashboardError::Invalid {
                what: "uid",
                value: self.uid.clone(),
            });
        }
        let target: BTreeSet<String> = TARGET_LABELS
            .iter()
            .map(|l| (*l).to_owned())
            .chain(self.target_labels.iter().cloned())
            .collect();
        let rows = self.resolved_rows()?;
        for p in rows.iter().flat_map(|r| r.panels.iter()) {
            p.validate(&target)?;
        }
        Ok(rows)
    }

    /// The dashboard as Grafana JSON (pretty-printed), after
    /// [`validate`](Self::validate).
    pub fn to_json(&self) -> Result<String, DashboardError> {
        let rows = self.validated()?;
        let mut panels = Vec::new();
        let mut id = 0u32;
        let mut y = 0u32;
        for row in &rows {
            id += 1;
            let row_id = id;
            let row_y = y;
            y += 1;
            let (mut x, mut line_height) = (0u32, 0u32);
            let mut children = Vec::new();
            for p in &row.panels {
                if x + p.width > GRID_WIDTH {
                    y += line_height;
                    x = 0;
                    line_height = 0;
                }
                id += 1;
                children.push(p.to_json(id, x, y));
                x += p.width;
                line_height = line_height.max(p.height);
            }
            y += line_height;
            let mut row_json = json!({
                "id": row_id,
                "type": "row",
                "title": row.title,
                "collapsed": row.collapsed,
                "gridPos": { "h": 1, "w": GRID_WIDTH, "x": 0, "y": row_y },
                "panels": [],
            });
            if row.collapsed {
                row_json["panels"] = Value::Array(children);
                panels.push(row_json);
            } else {
                panels.push(row_json);
                panels.extend(children);
            }
        }
        let mut dashboard = json!({
            "annotations": { "list": [{
                "builtIn": 1,
                "datasource": { "type": "grafana", "uid": "-- Grafana --" },
                "enable": true,
                "hide": true,
                "iconColor": "rgba(0, 211, 255, 1)",
                "name": "Annotations & Alerts",
                "type": "dashboard",
            }]},
            "editable": true,
            "fiscalYearStartMonth": 0,
            "graphTooltip": 1,
            "id": null,
            "links": [],
            "panels": panels,
            "refresh": self.refresh,
            "schemaVersion": SCHEMA_VERSION,
            "tags": self.tags,
            "templating": { "list": [{
                "current": {},
                "hide": 0,
                "includeAll": false,
                "label": "Data source",
                "multi": false,
                "name": "datasource",
                "options": [],
                "query": "prometheus",
                "refresh": 1,
                "regex": "",
                "skipUrlSync": false,
                "type": "datasource",
            }]},
            "time": { "from": self.from, "to": "now" },
            "timepicker": {},
            "timezone": "browser",
            "title": self.title,
            "uid": self.uid,
            "version": 1,
            "weekStart": "",
        });
        if let Some(d) = &self.description {
            dashboard["description"] = json!(d);
        }
        let mut out = serde_json::to_string_pretty(&dashboard)?;
        out.push('\n');
        Ok(out)
    }

    /// Writes [`to_json`](Self::to_json) to `path`.
    pub fn write(&self, path: impl AsRef<Path>) -> Result<(), DashboardError> {
        let path = path.as_ref();
        std::fs::write(path, self.to_json()?).map_err(|source| DashboardError::Io {
            path: path.to_path_buf(),
            source,
        })
    }
}

fn datasource() -> Value {
    json!({ "type": "prometheus", "uid": "${datasource}" })
}

fn ref_id(i: usize) -> String {
    let letters = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ";
    let mut s = String::new();
    let mut n = i;
    loop {
        s.insert(0, char::from(letters[n % 26]));
        if n < 26 {
            break;
        }
        n = n / 26 - 1;
    }
    s
}

/// The label names a legend format reads (`{{route}}`, `{{ route }}`).
fn legend_labels(legend: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = legend;
    while let Some(start) = rest.find("{{") {
        rest = &rest[start + 2..];
        let Some(end) = rest.find("}}") else { break };
        let name = rest[..end].trim();
        if !name.is_empty() {
            out.push(name.to_owned());
        }
        rest = &rest[end + 2..];
    }
    out
}
