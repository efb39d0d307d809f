//! Families: one metric per label set.

use std::collections::HashMap;
use std::fmt;
use std::marker::PhantomData;
use std::sync::{Arc, Mutex, PoisonError, RwLock};

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
/// A scrape does not hold the family's lock while it encodes: it encodes
/// from a snapshot of the (labels, series) pairs, so a new series never
/// waits for an encode. The snapshot is kept between scrapes and copied
/// again, under a read lock, only when series were added since the last
/// one: a [`get_or_create`](DynamicFamily::get_or_create) that adds a series
/// waits at most for one such copy (a few milliseconds for 100,000
/// series). The cost is memory: the snapshot holds a second copy of every
/// label set.
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
    series: RwLock<SeriesMap<L, M>>,
    /// What the last encode saw; scrapes take turns to bring it up to date.
    snapshot: Mutex<Snapshot<L, M>>,
    max_series: usize,
    overflow: M,
    folded: Counter,
    prototype: Box<dyn Fn() -> M + Send + Sync>,
}

/// The series by label set.
struct SeriesMap<L, M> {
    map: HashMap<L, M>,
    /// Changed whenever the set of label sets changes (every insertion,
    /// and every removal, should one be added): a [`Snapshot`] of another
    /// version is out of date.
    version: u64,
}

/// The (labels, series) pairs of one [`SeriesMap::version`], encoded
/// without holding the map's lock. Series handles share their cells, so
/// the values read are current; only the set of series is as of `version`.
struct Snapshot<L, M> {
    version: u64,
    entries: Arc<Vec<(L, M)>>,
}

impl<L: LabelSet, M: Series> DynamicInner<L, M> {
    /// The current (labels, series) pairs. The map's read lock is held only
    /// to compare versions or, when series were added since the last call,
    /// to copy the pairs.
    fn snapshot(&self) -> Arc<Vec<(L, M)>> {
        let mut snapshot = self.snapshot.lock().unwrap_or_else(PoisonError::into_inner);
        let stale = {
            let series = self.series.read().unwrap_or_else(PoisonError::into_inner);
            if series.version == snapshot.version {
                None
            } else {
                let entries: Vec<(L, M)> = series
                    .map
                    .iter()
                    .map(|(labels, m)| (labels.clone(), m.clone()))
                    .collect();
                snapshot.version = series.version;
                Some(std::mem::replace(&mut snapshot.entries, Arc::new(entries)))
            }
        };
        let current = Arc::clone(&snapshot.entries);
        drop(snapshot);
        // The old copy (unless an encode still uses it) is freed here, with
        // no lock held.
        drop(stale);
        current
    }
}

impl<L: LabelSet, M: Series> DynamicFamily<L, M> {
    /// The series for `labels`, created if the limit allows, else the
    /// overflow series. The returned handle shares the series.
    ///
    /// For an existing series this is a hash and a read lock, never held
    /// behind an encode; adding a series takes the write lock, which a
    /// scrape holds at most while it copies the list of series.
    pub fn get_or_create(&self, labels: &L) -> M {
        let inner = &*self.inner;
        if let Some(m) = inner
            .series
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .map
            .get(labels)
        {
            return m.clone();
        }
        let mut series = inner.series.write().unwrap_or_else(PoisonError::into_inner);
        if let Some(m) = series.map.get(labels) {
            return m.clone();
        }
        if series.map.len() < inner.max_series {
            let m = (inner.prototype)();
            series.map.insert(labels.clone(), m.clone());
            series.version = series.version.wrapping_add(1);
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
            .series
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .map
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
        // No lock is held while encoding: a slow encode (or a slow writer
        // behind it) holds up no `get_or_create`.
        for (labels, series) in inner.snapshot().iter() {
            series.encode(encoder.encode_family(labels)?)?;
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
                series: RwLock::new(SeriesMap {
                    map: HashMap::new(),
                    version: 0,
                }),
                snapshot: Mutex::new(Snapshot {
                    version: 0,
                    entries: Arc::new(Vec::new()),
                }),
                max_series,
                overflow,
                folded,
                prototype,
            }),
        })
    }
}
