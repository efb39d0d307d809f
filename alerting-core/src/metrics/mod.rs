//! Typed Prometheus metrics on [`prometheus_client`].
//!
//! - [`Registry`]: where metrics are registered, with an optional namespace,
//!   constant labels, and the naming rules checked at registration.
//! - [`Counter`], [`Gauge`], [`FloatGauge`], [`Histogram`]: single series.
//! - [`StripedCounter`], [`StripedHistogram`]: the same for hot series
//!   written from many cores, without cache-line contention.
//! - [`ExemplarCounter`]: a compact counter, one atomic and as fast to
//!   increment as [`Counter`], that can also carry an [exemplar] (a trace
//!   id, a transaction hash). Pick it over `Counter`, which has no room for
//!   one, when a counter should link to where its increments came from; it
//!   costs an empty slot pointer (32 bytes) more per series until the
//!   first exemplar. [`Histogram`], [`StripedHistogram`] and
//!   [`StripedCounter`] take exemplars too.
//! - [`Family`]: one series per value of a [`FixedLabelSet`] (enums,
//!   `bool`), a dense table resolved by index.
//! - [`DynamicFamily`]: one series per label set from the outside world,
//!   bounded by a series limit with an overflow series.
//! - [`MetricGroup`]: a struct of metrics registered in one call (derive it).
//! - [`Buckets`]: histogram bounds, presets and builders.
//! - [`Outcome`]: the standard outcome label value.
//! - [`ProcessCollector`]: `process_*` metrics from `/proc`.
//! - [`runtime::RuntimeCollector`]: the tokio runtime's own metrics
//!   (feature `runtime`).
//! - [`BuildInfo`]: `build_info{version, revision, rustc, features} 1`,
//!   exported by [`build_info!`](crate::build_info).
//!
//! # The hot path
//!
//! A labelled increment must not hash, lock or allocate. With enum labels,
//! [`Family::get`] is an array index; keep the returned handle (`clone` it,
//! it is an `Arc`) and an increment is one atomic add:
//!
//! ```
//! use alerting_core::metrics::{Counter, Family, LabelSet, LabelValue, Registry};
//!
//! #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, LabelValue)]
//! enum Stage { Intake, Filter, Alert }
//!
//! #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, LabelSet)]
//! struct StageLabels { stage: Stage }
//!
//! struct Pipeline { intake: Counter }
//!
//! let registry = Registry::new();
//! let processed: Family<StageLabels, Counter> =
//!     registry.register("pipeline_items_total", "Items through each stage")?;
//! // Resolve once, at start-up…
//! let pipeline = Pipeline { intake: processed.get(StageLabels { stage: Stage::Intake }).clone() };
//! // …and the hot loop is an atomic add.
//! for _ in 0..3 { pipeline.intake.inc(); }
//! assert_eq!(processed.get(StageLabels { stage: Stage::Intake }).get(), 3);
//! # Ok::<(), alerting_core::metrics::MetricsError>(())
//! ```

mod buckets;
mod build_info;
pub mod exemplar;
mod exemplar_counter;
mod family;
mod histogram;
pub mod http;
mod labels;
mod naming;
pub mod outbound;
mod outcome;
mod process;
mod reference;
mod registry;
#[cfg(feature = "runtime")]
pub mod runtime;
mod scope;
#[cfg(feature = "sqlx")]
pub mod sql_pool;
mod striped;

use std::fmt;

pub use buckets::{BucketError, Buckets, IntoBuckets, MAX_BUCKETS};
pub use build_info::{BuildInfo, UNKNOWN_REVISION};
pub use exemplar::{ExemplarError, MAX_EXEMPLAR_CHARS};
pub use exemplar_counter::ExemplarCounter;
pub use family::{DEFAULT_MAX_SERIES, DynamicFamily, Family, OVERFLOW_LABEL_VALUE};
pub use histogram::{Histogram, HistogramTimer};
pub use labels::{EnumLabel, FixedLabelSet, LabelSet};
pub use outcome::Outcome;
pub use process::{ProcessCollector, ProcessMetricRefs};
pub use reference::{MetricOrigin, MetricRef, Named};
pub use registry::{Format, Registry, RegistryBuilder, quality_list};
pub use scope::ScopeGuard;
pub(crate) use scope::{any_scope_active, scoped_registry};
pub use striped::{StripedCounter, StripedHistogram, stripes};
pub(crate) use striped::{Stripes, encode_histogram, stripe};

#[cfg(feature = "macros")]
pub use alerting_macros::{LabelSet, LabelValue, MetricGroup};

#[doc(hidden)]
pub use labels::{encode_label, encode_label_str};

/// A monotonically increasing integer counter (prometheus-client's).
pub type Counter = prometheus_client::metrics::counter::Counter<u64>;
/// A monotonically increasing floating-point counter (prometheus-client's).
pub type FloatCounter =
    prometheus_client::metrics::counter::Counter<f64, std::sync::atomic::AtomicU64>;
/// An integer gauge (prometheus-client's).
pub type Gauge = prometheus_client::metrics::gauge::Gauge<i64>;
/// A floating-point gauge (prometheus-client's).
pub type FloatGauge = prometheus_client::metrics::gauge::Gauge<f64, std::sync::atomic::AtomicU64>;

/// The kind of a metric, which decides the naming rules that apply.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum MetricKind {
    /// Goes up; named `…_total`.
    Counter,
    /// Goes up and down.
    Gauge,
    /// Counts observations into buckets.
    Histogram,
}

impl MetricKind {
    fn metric_type(self) -> prometheus_client::metrics::MetricType {
        use prometheus_client::metrics::MetricType;
        match self {
            MetricKind::Counter => MetricType::Counter,
            MetricKind::Gauge => MetricType::Gauge,
            MetricKind::Histogram => MetricType::Histogram,
        }
    }
}

impl fmt::Display for MetricKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            MetricKind::Counter => "counter",
            MetricKind::Gauge => "gauge",
            MetricKind::Histogram => "histogram",
        })
    }
}

/// Options for [`Registry::register_with`].
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct MetricOptions {
    /// Histogram buckets. Default: [`Buckets::latency`] for names ending in
    /// `_seconds`, [`Buckets::sizes`] for `_bytes`; other histograms must
    /// say.
    pub buckets: Option<Buckets>,
    /// Series limit of a [`DynamicFamily`]; default [`DEFAULT_MAX_SERIES`].
    pub max_series: Option<usize>,
    /// Idle expiry of a [`DynamicFamily`]'s series; default none (series
    /// stay until removed).
    pub idle_timeout: Option<std::time::Duration>,
}

impl MetricOptions {
    /// Default options.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the histogram buckets.
    #[must_use]
    pub fn buckets(mut self, buckets: Buckets) -> Self {
        self.buckets = Some(buckets);
        self
    }

    /// Sets the series limit of a dynamic family.
    #[must_use]
    pub fn max_series(mut self, max_series: usize) -> Self {
        self.max_series = Some(max_series);
        self
    }

    /// Makes a dynamic family drop, at a scrape, each series that no
    /// [`DynamicFamily::get_or_create`] or [`DynamicFamily::with`] looked up
    /// for at least `timeout`,
    /// counting it in `alerting_series_expired_total{metric="…"}` (see
    /// [Series that go away](DynamicFamily#series-that-go-away)). Other
    /// metrics ignore it. Registration fails with
    /// [`MetricsError::ZeroIdleTimeout`] for a zero timeout.
    #[must_use]
    pub fn idle_timeout(mut self, timeout: std::time::Duration) -> Self {
        self.idle_timeout = Some(timeout);
        self
    }
}

/// Something [`Registry::register_with`] can create: a series type or a
/// family of them. Implemented by this module's types; not meant to be
/// implemented elsewhere (its methods are hidden and may change).
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a metric type",
    note = "register a Counter, Gauge, Histogram, their Striped or Float forms, an ExemplarCounter, or a Family/DynamicFamily of them"
)]
pub trait Metric:
    prometheus_client::encoding::EncodeMetric + Clone + fmt::Debug + Send + Sync + 'static
{
    /// The kind, for naming rules.
    const KIND: MetricKind;
    /// The label names of a family (empty for a single series).
    const LABEL_NAMES: &'static [&'static str];
    #[doc(hidden)]
    fn build(ctx: &mut BuildContext<'_>) -> Result<Self, MetricsError>;
}

/// A single-series metric that can be a family member.
pub trait Series: Metric {
    #[doc(hidden)]
    fn prototype(
        ctx: &mut BuildContext<'_>,
    ) -> Result<Box<dyn Fn() -> Self + Send + Sync>, MetricsError>;

    /// Encodes the series as a family member with `labels` (types with
    /// exemplars add their marker to the labels).
    #[doc(hidden)]
    fn encode_in_family<S: prometheus_client::encoding::EncodeLabelSet>(
        &self,
        encoder: &mut prometheus_client::encoding::MetricEncoder<'_>,
        labels: &S,
    ) -> Result<(), fmt::Error> {
        self.encode(encoder.encode_family(labels)?)
    }
}

/// What a metric needs to know while it is built. Internal.
#[doc(hidden)]
pub struct BuildContext<'a> {
    name: &'a str,
    options: &'a MetricOptions,
    overflow: &'a mut dyn FnMut() -> Counter,
    expired: &'a mut dyn FnMut() -> Counter,
}

impl fmt::Debug for BuildContext<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BuildContext")
            .field("name", &self.name)
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

impl BuildContext<'_> {
    pub(crate) fn name(&self) -> &str {
        self.name
    }
    pub(crate) fn options(&self) -> &MetricOptions {
        self.options
    }
    pub(crate) fn overflow_counter(&mut self) -> Counter {
        (self.overflow)()
    }
    pub(crate) fn expired_counter(&mut self) -> Counter {
        (self.expired)()
    }
    pub(crate) fn buckets(&self) -> Result<Buckets, MetricsError> {
        if let Some(b) = &self.options.buckets {
            return Ok(b.clone());
        }
        if self.name.ends_with("_seconds") {
            Ok(Buckets::latency())
        } else if self.name.ends_with("_bytes") {
            Ok(Buckets::sizes())
        } else {
            Err(MetricsError::MissingBuckets {
                name: self.name.to_owned(),
            })
        }
    }
}

macro_rules! simple_series {
    ($ty:ty, $kind:expr) => {
        impl Metric for $ty {
            const KIND: MetricKind = $kind;
            const LABEL_NAMES: &'static [&'static str] = &[];
            fn build(_: &mut BuildContext<'_>) -> Result<Self, MetricsError> {
                Ok(<$ty>::default())
            }
        }
        impl Series for $ty {
            fn prototype(
                _: &mut BuildContext<'_>,
            ) -> Result<Box<dyn Fn() -> Self + Send + Sync>, MetricsError> {
                Ok(Box::new(<$ty>::default))
            }
        }
    };
}

simple_series!(Counter, MetricKind::Counter);
simple_series!(FloatCounter, MetricKind::Counter);
simple_series!(Gauge, MetricKind::Gauge);
simple_series!(FloatGauge, MetricKind::Gauge);

impl Metric for Histogram {
    const KIND: MetricKind = MetricKind::Histogram;
    const LABEL_NAMES: &'static [&'static str] = &[];
    fn build(ctx: &mut BuildContext<'_>) -> Result<Self, MetricsError> {
        Ok(Histogram::new(ctx.buckets()?))
    }
}

impl Series for Histogram {
    fn prototype(
        ctx: &mut BuildContext<'_>,
    ) -> Result<Box<dyn Fn() -> Self + Send + Sync>, MetricsError> {
        let buckets = ctx.buckets()?;
        Ok(Box::new(move || Histogram::new(buckets.clone())))
    }

    fn encode_in_family<S: prometheus_client::encoding::EncodeLabelSet>(
        &self,
        encoder: &mut prometheus_client::encoding::MetricEncoder<'_>,
        labels: &S,
    ) -> Result<(), fmt::Error> {
        self.encode_labelled(encoder, labels)
    }
}

/// A struct of metrics registered in one call. Derive it:
///
/// ```
/// use alerting_core::metrics::{Counter, Histogram, MetricGroup, Registry};
///
/// #[derive(Clone, Debug, MetricGroup)]
/// struct Metrics {
///     /// Messages read from the WebSocket.
///     ws_messages_total: Counter,
///     /// Time to process one message.
///     #[metric(buckets = [0.001, 0.01, 0.1, 1.0])]
///     processing_seconds: Histogram,
/// }
///
/// let registry = Registry::new();
/// let metrics: Metrics = registry.register_group()?;
/// metrics.ws_messages_total.inc();
/// # Ok::<(), alerting_core::metrics::MetricsError>(())
/// ```
pub trait MetricGroup: Sized {
    /// Registers every metric of the group in `registry`.
    fn register(registry: &Registry) -> Result<Self, MetricsError>;
}

/// Why a metric could not be registered or encoded.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MetricsError {
    /// The name is not `snake_case`.
    #[error(
        "metric `{name}`: names must be snake_case (lowercase ASCII letters, digits and single underscores, starting with a letter)"
    )]
    NotSnakeCase {
        /// The name given.
        name: String,
    },
    /// A counter name without the `_total` suffix.
    #[error("counter `{name}`: counter names must end in `_total`")]
    CounterWithoutTotal {
        /// The name given.
        name: String,
    },
    /// `_total` on a gauge or histogram.
    #[error("{kind} `{name}`: only counters end in `_total`")]
    TotalOnNonCounter {
        /// The name given.
        name: String,
        /// Its kind.
        kind: MetricKind,
    },
    /// A histogram name ending in a suffix its samples use.
    #[error(
        "histogram `{name}`: `{suffix}` is added to a histogram's samples, do not end its name with it"
    )]
    ReservedSuffix {
        /// The name given.
        name: String,
        /// The suffix.
        suffix: &'static str,
    },
    /// A unit that is not a base unit (`ms`, `kb`, `percent`…).
    #[error("metric `{name}`: `{unit}` is not a base unit, use `{base}`")]
    NonBaseUnit {
        /// The name given.
        name: String,
        /// The unit found.
        unit: String,
        /// The base unit to use.
        base: &'static str,
    },
    /// The metric type as a word of the name (`requests_counter`): the
    /// type is in the `# TYPE` line already.
    #[error("metric `{name}`: the name must not contain the metric type (`{word}`)")]
    TypeInName {
        /// The name given.
        name: String,
        /// The word found.
        word: String,
    },
    /// A base unit that is not the last word of the name.
    #[error("metric `{name}`: the unit `{unit}` must end the name (before `_total` on a counter)")]
    UnitNotSuffix {
        /// The name given.
        name: String,
        /// The unit found.
        unit: String,
    },
    /// Empty or blank help text.
    #[error("metric `{name}`: help text must not be empty")]
    EmptyHelp {
        /// The name given.
        name: String,
    },
    /// The name, or a sample name it writes, is already taken.
    #[error("metric `{name}`: `{sample}` is already written by `{existing}`")]
    Duplicate {
        /// The name given.
        name: String,
        /// The sample name that collides.
        sample: String,
        /// The metric already writing it.
        existing: String,
    },
    /// A label name that is not `[a-zA-Z_][a-zA-Z0-9_]*`.
    #[error("metric `{metric}`: `{label}` is not a valid label name")]
    InvalidLabelName {
        /// The metric (or `const label` for constant labels).
        metric: String,
        /// The label name.
        label: String,
    },
    /// A label name Prometheus reserves (`__…`, `le`, `quantile`).
    #[error("metric `{metric}`: label name `{label}` is reserved")]
    ReservedLabel {
        /// The metric.
        metric: String,
        /// The label name.
        label: String,
    },
    /// A label name used twice, or also a constant label.
    #[error(
        "metric `{metric}`: label `{label}` appears twice (in the label set or among the constant labels)"
    )]
    DuplicateLabel {
        /// The metric.
        metric: String,
        /// The label name.
        label: String,
    },
    /// Invalid histogram buckets.
    #[error("invalid histogram buckets: {0}")]
    InvalidBuckets(#[source] BucketError),
    /// Invalid histogram buckets for a named metric.
    #[error("histogram `{name}`: invalid buckets: {source}")]
    InvalidMetricBuckets {
        /// The metric.
        name: String,
        /// What is wrong with them.
        #[source]
        source: BucketError,
    },
    /// A histogram whose name has no unit to choose default buckets by.
    #[error(
        "histogram `{name}`: no buckets given, and no default for a name not ending in `_seconds` or `_bytes`"
    )]
    MissingBuckets {
        /// The metric.
        name: String,
    },
    /// A dynamic family with a series limit of 0.
    #[error("metric `{name}`: max_series must be at least 1")]
    ZeroMaxSeries {
        /// The metric.
        name: String,
    },
    /// A dynamic family with an idle timeout of 0.
    #[error("metric `{name}`: idle_timeout must be longer than 0")]
    ZeroIdleTimeout {
        /// The metric.
        name: String,
    },
    /// [`Registry::set_global`] after the global registry was set or used.
    #[error("the global registry is already set (or was used before set_global)")]
    GlobalAlreadySet,
    /// Writing the exposition failed.
    #[error("encoding the exposition failed")]
    Encode(#[from] fmt::Error),
}

impl MetricsError {
    /// Attaches a metric name to a bucket error; used by the group derive.
    #[doc(hidden)]
    pub fn for_metric(self, name: &str) -> Self {
        match self {
            MetricsError::InvalidBuckets(source) => MetricsError::InvalidMetricBuckets {
                name: name.to_owned(),
                source,
            },
            other => other,
        }
    }
}
