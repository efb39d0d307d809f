//! Families: one metric per label set.

use std::collections::HashMap;
use std::fmt;
use std::marker::PhantomData;
use std::sync::{Arc, PoisonError, RwLock};

use prometheus_client::encoding::{EncodeLabelSet, EncodeMetric, LabelSetEncoder, MetricEncoder};
use prometheus_client::metrics::MetricType;

use super::labels::encode_label;
use super::{
    BuildContext, Counter, FixedLabelSet, LabelSet, Metric, MetricKind, MetricsError, Series,
};

/// A family keyed by a [`FixedLabelSet`] (enums, `bool`): a dense table of
/// series built at registration, one per possible label set.
///
/// [`Family::get`] is an array index: no hashing, no lock, no allocation.
/// Every series exists from the start, so a query sees explicit zeros
/// rather than missing series (as Prometheus' instrumentation guide asks).
/// Cloning is cheap; clones share the series.
///
/// ```
/// use alerting_core::metrics::{Counter, Family, LabelSet, LabelValue, Registry};
///
/// #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, LabelValue)]
/// enum Method { Get, Post }
///
/// #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, LabelSet)]
/// struct Labels { method: Method, ok: bool }
///
/// let registry = Registry::new();
/// let requests: Family<Labels, Counter> =
///     registry.register("requests_total", "Requests handled")?;
///
/// requests.get(Labels { method: Method::Get, ok: true }).inc();
///
/// // Or resolve a handle once and keep it: the increment is one atomic add.
/// let get_ok = requests.get(Labels { method: Method::Get, ok: true }).clone();
/// get_ok.inc();
/// assert_eq!(get_ok.get(), 2);
/// # Ok::<(), alerting_core::metrics::MetricsError>(())
/// ```
pub struct Family<L: FixedLabelSet, M: Series> {
    series: Arc<[M]>,
    _labels: PhantomData<fn(L) -> L>,
}

impl<L: FixedLabelSet, M: Series> Family<L, M> {
    /// The series for `labels`.
    #[inline]
    pub fn get(&self, labels: L) -> &M {
        // `index() < CARDINALITY == series.len()` for derived label sets.
        &self.series[labels.index()]
    }

    /// Every label set with its series, in index order.
    pub fn iter(&self) -> impl Iterator<Item = (L, &M)> + '_ {
        self.series
            .iter()
            .enumerate()
            .map(|(i, m)| (L::from_index(i), m))
    }
}

impl<L: FixedLabelSet, M: Series> Clone for Family<L, M> {
    fn clone(&self) -> Self {
        Self {
            series: Arc::clone(&self.series),
            _labels: PhantomData,
        }
    }
}

impl<L: FixedLabelSet, M: Series> fmt::Debug for Family<L, M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Family")
            .field("labels", &L::NAMES)
            .field("series", &self.series.len())
            .finish()
    }
}

impl<L: FixedLabelSet, M: Series> EncodeMetric for Family<L, M> {
    fn encode(&self, mut encoder: MetricEncoder<'_>) -> Result<(), fmt::Error> {
        for (i, series) in self.series.iter().enumerate() {
            let labels = L::from_index(i);
            series.encode(encoder.encode_family(&labels)?)?;
        }
        Ok(())
    }

    fn metric_type(&self) -> MetricType {
        M::KIND.metric_type()
    }
}

impl<L: FixedLabelSet, M: Series> Metric for Family<L, M> {
    const KIND: MetricKind = M::KIND;
    const LABEL_NAMES: &'static [&'static str] = L::NAMES;

    fn build(ctx: &mut BuildContext<'_>) -> Result<Self, MetricsError> {
        let series = (0..L::CARDINALITY)
            .map(|_| M::build(ctx))
            .collect::<Result<Vec<M>, _>>()?;
        Ok(Self {
            series: series.into(),
            _labels: PhantomData,
        })
    }
}

/// The label value written on the overflow series of a [`DynamicFamily`].
pub const OVERFLOW_LABEL_VALUE: &str = "__overflow__";

/// Default series limit of a [`DynamicFamily`].
pub const DEFAULT_MAX_SERIES: usize = 1000;

/// A family keyed by labels from the outside world (token addresses, paths,
/// batch ids), with a limit on how many series it keeps.
///
/// The first `max_series` distinct label sets each get a series. Past the
/// limit, a new label set is folded into one overflow series whose every
/// label is [`OVERFLOW_LABEL_VALUE`], and the registry's
/// `alerting_series_overflow_total{metric="…"}` counter counts the folded
/// look-ups. Memory stays bounded whatever the input.
///
/// A look-up hashes the labels and takes a read lock; resolve a handle with
/// [`DynamicFamily::get_or_create`] once (per batch, per connection, per call
/// site for `&'static str` labels) and keep it: the handle is the series.
///
/// ```
/// use alerting_core::metrics::{Counter, DynamicFamily, LabelSet, MetricOptions, Registry};
///
/// #[derive(Clone, Debug, PartialEq, Eq, Hash, LabelSet)]
/// struct Token { token: String }
///
/// let registry = Registry::new();
/// let swaps: DynamicFamily<Token, Counter> = registry.register_with(
///     "token_swaps_total",
///     "Swaps seen, by token",
///     MetricOptions::new().max_series(2),
/// )?;
/// for t in ["0xaa", "0xbb", "0xcc", "0xdd"] {
///     swaps.get_or_create(&Token { token: t.into() }).inc();
/// }
/// assert_eq!(swaps.len(), 2);
/// assert_eq!(swaps.overflow().get(), 2); // 0xcc and 0xdd were folded
/// # Ok::<(), alerting_core::metrics::MetricsError>(())
/// ```
pub struct DynamicFamily<L: LabelSet, M: Series> {
    inner: Arc<DynamicInner<L, M>>,
}

struct DynamicInner<L, M> {
    map: RwLock<HashMap<L, M>>,
    max_series: usize,
    overflow: M,
    folded: Counter,
    prototype: Box<dyn Fn() -> M + Send + Sync>,
}

impl<L: LabelSet, M: Series> DynamicFamily<L, M> {
    /// The series for `labels`, created if the limit allows, else the
    /// overflow series. The returned handle shares the series.
    pub fn get_or_create(&self, labels: &L) -> M {
        let inner = &*self.inner;
        if let Some(m) = inner
            .map
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(labels)
        {
            return m.clone();
        }
        let mut map = inner.map.write().unwrap_or_else(PoisonError::into_inner);
        if let Some(m) = map.get(labels) {
            return m.clone();
        }
        if map.len() < inner.max_series {
            let m = (inner.prototype)();
            map.insert(labels.clone(), m.clone());
            m
        } else {
            inner.folded.inc();
            inner.overflow.clone()
        }
    }

    /// Number of label sets with their own series (the overflow series not
    /// counted).
    pub fn len(&self) -> usize {
        self.inner
            .map
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }

    /// Whether no label set has a series yet.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The series limit.
    pub fn max_series(&self) -> usize {
        self.inner.max_series
    }

    /// The counter of look-ups folded into the overflow series.
    pub fn overflow(&self) -> &Counter {
        &self.inner.folded
    }
}

impl<L: LabelSet, M: Series> Clone for DynamicFamily<L, M> {
    fn clone(&self) -> Self {
        Self {
            inner: Arc::clone(&self.inner),
        }
    }
}

impl<L: LabelSet, M: Series> fmt::Debug for DynamicFamily<L, M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DynamicFamily")
            .field("labels", &L::NAMES)
            .field("series", &self.len())
            .field("max_series", &self.inner.max_series)
            .field("folded", &self.inner.folded.get())
            .finish()
    }
}

/// Label set of the overflow series: every label name, each with
/// [`OVERFLOW_LABEL_VALUE`].
struct OverflowLabels(&'static [&'static str]);

impl EncodeLabelSet for OverflowLabels {
    fn encode(&self, encoder: &mut LabelSetEncoder<'_>) -> Result<(), fmt::Error> {
        for name in self.0 {
            encode_label(encoder, name, &OVERFLOW_LABEL_VALUE)?;
        }
        Ok(())
    }
}

impl<L: LabelSet, M: Series> EncodeMetric for DynamicFamily<L, M> {
    fn encode(&self, mut encoder: MetricEncoder<'_>) -> Result<(), fmt::Error> {
        let inner = &*self.inner;
        {
            let map = inner.map.read().unwrap_or_else(PoisonError::into_inner);
            for (labels, series) in map.iter() {
                series.encode(encoder.encode_family(labels)?)?;
            }
        }
        if inner.folded.get() > 0 {
            inner
                .overflow
                .encode(encoder.encode_family(&OverflowLabels(L::NAMES))?)?;
        }
        Ok(())
    }

    fn metric_type(&self) -> MetricType {
        M::KIND.metric_type()
    }
}

impl<L: LabelSet, M: Series> Metric for DynamicFamily<L, M> {
    const KIND: MetricKind = M::KIND;
    const LABEL_NAMES: &'static [&'static str] = L::NAMES;

    fn build(ctx: &mut BuildContext<'_>) -> Result<Self, MetricsError> {
        let max_series = ctx.options().max_series.unwrap_or(DEFAULT_MAX_SERIES);
        if max_series == 0 {
            return Err(MetricsError::ZeroMaxSeries {
                name: ctx.name().to_owned(),
            });
        }
        // Build one series now to surface option errors at registration;
        // later series are made by a prototype that cannot fail.
        let overflow = M::build(ctx)?;
        let prototype = M::prototype(ctx)?;
        let folded = ctx.overflow_counter();
        Ok(Self {
            inner: Arc::new(DynamicInner {
                map: RwLock::new(HashMap::new()),
                max_series,
                overflow,
                folded,
                prototype,
            }),
        })
    }
}
