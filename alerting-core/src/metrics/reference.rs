//! Typed references to metric families: what a rule or a panel names.
//!
//! They live with the metrics, not with the rules: every part of the
//! library that writes a family (the registry for [`Named`] metrics,
//! `#[instrumented]`, health, the process collector, the HTTP layer)
//! hands out its own [`MetricRef`], so no metric name is written twice.
//! `alerting-rules` turns them into PromQL at build time.

use std::fmt;
use std::ops::Deref;
use std::sync::Arc;

use prometheus_client::encoding::{EncodeMetric, MetricEncoder};
use prometheus_client::metrics::MetricType;

use super::{BuildContext, Metric, MetricKind, MetricsError};

/// Where the series of a [`MetricRef`] come from.
///
/// Tests use it to decide which metrics must appear in a registry's
/// exposition ([`MetricOrigin::is_exported`]): the series of a recording rule or
/// of Prometheus' own `up` never do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum MetricOrigin {
    /// Registered as a [`Named`] metric.
    Registered,
    /// A family of `#[instrumented]` call sites (registered when the global
    /// registry is installed, or on a function's first call).
    Instrumented,
    /// Written by a [`HealthRegistry`](crate::health::HealthRegistry).
    Health,
    /// Written by the [`ProcessCollector`](crate::metrics::ProcessCollector).
    Process,
    /// Written by the HTTP metrics layer of `alerting-axum`.
    Http,
    /// Written by the tokio runtime collector
    /// (`metrics::runtime::RuntimeCollector`, feature `runtime`).
    Runtime,
    /// Written by the outbound-call metrics of `alerting-axum`.
    Outbound,
    /// Written by the SQL pool collector
    /// (`metrics::sql_pool::SqlPoolCollector`, feature `sqlx`).
    SqlPool,
    /// Written by Prometheus itself at each scrape (`up`).
    Scrape,
    /// The output of a recording rule (`alerting_rules::RecordingRule`).
    Recorded,
    /// Declared with [`MetricRef::external`]: another exporter's metric.
    External,
}

impl MetricOrigin {
    /// Whether the service's own `/metrics` exposes the series.
    pub fn is_exported(self) -> bool {
        !matches!(
            self,
            MetricOrigin::Scrape | MetricOrigin::Recorded | MetricOrigin::External
        )
    }
}

#[derive(Debug, PartialEq)]
struct Info {
    name: String,
    kind: MetricKind,
    labels: Vec<String>,
    origin: MetricOrigin,
    buckets: Option<Vec<f64>>,
    /// Whether the series also carry the target's labels (`job`,
    /// `instance`, the registry's constant labels). A recording rule that
    /// aggregated them away does not.
    target_labels: bool,
}

/// A metric family that rules and dashboards can name: its full name (with
/// the registry's namespace), kind and label names.
///
/// A `MetricRef` is obtained from something that exists, never typed in:
/// [`Named::metric_ref`] for a metric you registered, the `metric_refs`
/// functions of the parts that register families themselves
/// ([`instrument::Instrumented`](crate::instrument::Instrumented),
/// [`ProcessCollector::metric_refs`](crate::metrics::ProcessCollector::metric_refs),
/// [`http::metric_refs`](crate::metrics::http::metric_refs) and, with the
/// `runtime` feature, `health::metric_refs`), or `alerting_rules`'
/// `RecordingRule::metric` for a recorded series. Renaming a metric in the code renames it in every rule and panel
/// built from it. [`MetricRef::external`] is the escape hatch for another
/// exporter's metrics.
///
/// Cloning is cheap (an `Arc`).
#[derive(Clone, PartialEq)]
pub struct MetricRef {
    info: Arc<Info>,
}

impl fmt::Debug for MetricRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MetricRef")
            .field("name", &self.info.name)
            .field("kind", &self.info.kind)
            .field("labels", &self.info.labels)
            .field("origin", &self.info.origin)
            .finish()
    }
}

impl fmt::Display for MetricRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.info.name)
    }
}

impl MetricRef {
    pub(crate) fn new(
        name: String,
        kind: MetricKind,
        labels: Vec<String>,
        origin: MetricOrigin,
        buckets: Option<Vec<f64>>,
    ) -> Self {
        Self {
            info: Arc::new(Info {
                name,
                kind,
                labels,
                origin,
                buckets,
                target_labels: true,
            }),
        }
    }

    /// The series a recording rule writes: a gauge named `name` with these
    /// labels, and with the target's labels unless the rule aggregated
    /// them away. `alerting_rules::RecordingRule::metric` calls it.
    pub fn recorded(name: String, labels: Vec<String>, target_labels: bool) -> Self {
        Self {
            info: Arc::new(Info {
                name,
                kind: MetricKind::Gauge,
                labels,
                origin: MetricOrigin::Recorded,
                buckets: None,
                target_labels,
            }),
        }
    }

    /// Another exporter's metric (node_exporter, redis_exporter…), declared
    /// by name. Nothing checks that it exists: prefer a [`Named`] metric or
    /// a family's own `metric_refs`. The name and label names are
    /// checked for syntax when a rule or dashboard using it is exported.
    pub fn external(name: impl Into<String>, kind: MetricKind, labels: &[&str]) -> Self {
        Self::new(
            name.into(),
            kind,
            labels.iter().map(|l| (*l).to_owned()).collect(),
            MetricOrigin::External,
            None,
        )
    }

    /// `up{job, instance}`: 1 when Prometheus' last scrape of a target
    /// succeeded, 0 when it failed. Written by Prometheus, not the service.
    pub fn up() -> Self {
        Self::new(
            "up".to_owned(),
            MetricKind::Gauge,
            Vec::new(),
            MetricOrigin::Scrape,
            None,
        )
    }

    /// The full name, as exposed (a counter's ends in `_total`).
    pub fn name(&self) -> &str {
        &self.info.name
    }

    /// The kind: counter, gauge or histogram (a recorded series is a gauge).
    pub fn kind(&self) -> MetricKind {
        self.info.kind
    }

    /// The family's own label names (not the target's `job`/`instance` nor
    /// the registry's constant labels, which every series also has).
    pub fn label_names(&self) -> &[String] {
        &self.info.labels
    }

    /// Where the series come from.
    pub fn origin(&self) -> MetricOrigin {
        self.info.origin
    }

    /// A histogram's bucket bounds, when known.
    pub fn bucket_bounds(&self) -> Option<&[f64]> {
        self.info.buckets.as_deref()
    }

    /// Whether the series carry the target's labels (`job`, `instance`,
    /// constant labels) besides [`label_names`](Self::label_names).
    pub fn has_target_labels(&self) -> bool {
        self.info.target_labels
    }

    /// The sample names this metric writes (`_bucket`, `_sum` and `_count`
    /// for a histogram).
    pub fn sample_names(&self) -> Vec<String> {
        match self.info.kind {
            MetricKind::Histogram => ["_bucket", "_sum", "_count"]
                .iter()
                .map(|s| format!("{}{s}", self.info.name))
                .collect(),
            _ => vec![self.info.name.clone()],
        }
    }

    /// The same family with more label names: the static `labels(…)` of
    /// `#[instrumented]`, or labels an HTTP layer was configured to add.
    #[must_use]
    pub fn with_labels(&self, labels: &[&str]) -> Self {
        let mut info = Info {
            name: self.info.name.clone(),
            kind: self.info.kind,
            labels: self.info.labels.clone(),
            origin: self.info.origin,
            buckets: self.info.buckets.clone(),
            target_labels: self.info.target_labels,
        };
        for l in labels {
            if !info.labels.iter().any(|x| x == l) {
                info.labels.push((*l).to_owned());
            }
        }
        Self {
            info: Arc::new(info),
        }
    }

    /// The same family with known bucket bounds.
    #[must_use]
    pub fn with_buckets(&self, bounds: &[f64]) -> Self {
        Self {
            info: Arc::new(Info {
                name: self.info.name.clone(),
                kind: self.info.kind,
                labels: self.info.labels.clone(),
                origin: self.info.origin,
                buckets: Some(bounds.to_vec()),
                target_labels: self.info.target_labels,
            }),
        }
    }
}

impl AsRef<MetricRef> for MetricRef {
    fn as_ref(&self) -> &MetricRef {
        self
    }
}

/// A registered metric that remembers its name, so that rules and panels
/// can refer to it by value.
///
/// Register it like any metric: `registry.register::<Named<M>>(…)` or as a
/// field of a [`MetricGroup`](macro@crate::metrics::MetricGroup). It
/// dereferences to `M`, so the hot path does not change (`get`,
/// `get_or_create`, `inc`…), and [`Named::metric_ref`] is the
/// [`MetricRef`] a rule takes. Registering a plain `M` keeps working; wrap
/// it in `Named` where a rule or a panel needs it.
///
/// ```
/// use alerting_core::metrics::{Counter, Family, LabelSet, LabelValue, Registry};
/// use alerting_core::metrics::Named;
///
/// #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, LabelValue)]
/// enum Result_ { Ok, Error }
/// #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, LabelSet)]
/// struct Labels { result: Result_ }
///
/// let registry = Registry::builder().namespace("bsc").build()?;
/// let messages: Named<Family<Labels, Counter>> =
///     registry.register("ws_messages_total", "WebSocket messages")?;
/// messages.get(Labels { result: Result_::Ok }).inc(); // as a Family
///
/// let m = messages.metric_ref();
/// assert_eq!(m.name(), "bsc_ws_messages_total");
/// assert_eq!(m.label_names(), ["result"]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Named<M> {
    metric: M,
    reference: MetricRef,
}

impl<M> Named<M> {
    /// The reference rules and dashboards take.
    pub fn metric_ref(&self) -> &MetricRef {
        &self.reference
    }

    /// The metric itself.
    pub fn get_ref(&self) -> &M {
        &self.metric
    }

    /// The metric itself, without its name.
    pub fn into_inner(self) -> M {
        self.metric
    }
}

impl<M> Deref for Named<M> {
    type Target = M;
    fn deref(&self) -> &M {
        &self.metric
    }
}

impl<M> AsRef<MetricRef> for Named<M> {
    fn as_ref(&self) -> &MetricRef {
        &self.reference
    }
}

impl<M: Clone> Clone for Named<M> {
    fn clone(&self) -> Self {
        Self {
            metric: self.metric.clone(),
            reference: self.reference.clone(),
        }
    }
}

impl<M: fmt::Debug> fmt::Debug for Named<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Named")
            .field("name", &self.reference.name())
            .field("metric", &self.metric)
            .finish()
    }
}

impl<M: EncodeMetric> EncodeMetric for Named<M> {
    fn encode(&self, encoder: MetricEncoder<'_>) -> Result<(), fmt::Error> {
        self.metric.encode(encoder)
    }
    fn metric_type(&self) -> MetricType {
        self.metric.metric_type()
    }
}

impl<M: Metric> Metric for Named<M> {
    const KIND: MetricKind = M::KIND;
    const LABEL_NAMES: &'static [&'static str] = M::LABEL_NAMES;

    fn build(ctx: &mut BuildContext<'_>) -> Result<Self, MetricsError> {
        let metric = M::build(ctx)?;
        let buckets = match M::KIND {
            MetricKind::Histogram => ctx.buckets().ok().map(|b| b.bounds().to_vec()),
            _ => None,
        };
        let reference = MetricRef::new(
            ctx.name().to_owned(),
            M::KIND,
            M::LABEL_NAMES.iter().map(|l| (*l).to_owned()).collect(),
            MetricOrigin::Registered,
            buckets,
        );
        Ok(Self { metric, reference })
    }
}
