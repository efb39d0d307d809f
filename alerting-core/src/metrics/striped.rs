//! Striped counters and histograms: hot series whose updates on different
//! cores touch different cache lines.
//!
//! One atomic shared by every core makes each update move a cache line
//! between cores: on this project's 2-core benchmark machine, a shared
//! counter + histogram costs several times more per call on two threads
//! than on one. A striped metric keeps [`stripes()`] copies of its cells,
//! each copy on its own 128-byte-aligned cache lines; a thread always writes
//! the copy chosen by its stripe index (assigned round-robin the first time
//! the thread records anything), and a scrape adds the copies up.
//!
//! - Counts are exact: every update is an atomic add on one copy, the sum is
//!   taken at encode time. Nothing is sampled or lost.
//! - The number of copies is fixed for the process: the number of CPUs
//!   (`std::thread::available_parallelism`, which honours cgroup quotas)
//!   rounded up to a power of two, between 2 and 16. Threads beyond that
//!   many share copies: still exact, no longer contention-free.
//! - Memory is fixed per series and does not grow with the number of
//!   threads: a [`StripedCounter`] is `stripes() × 128` bytes (256 B on 2
//!   CPUs, 2 KiB at most); a [`StripedHistogram`] with `n` buckets is
//!   `stripes() × 128 × ⌈(n + 2) / 16⌉` bytes (the same, up to 14 buckets),
//!   plus a few words, and the exemplar slots once one is offered (see
//!   [`exemplar`](super::exemplar)).
//! - A scrape reads every copy: encoding 10,000 striped series costs more
//!   than 10,000 compact ones (see `docs/benchmarks.md`).
//! - They encode exactly as [`Counter`](super::Counter) and
//!   [`Histogram`](super::Histogram) do, so they register, lint and scrape
//!   the same. Use them for series written from many tasks at once (handler
//!   counters, `#[instrumented]` uses them); keep the compact types for cold
//!   metrics.
//!
//! ```
//! use alerting_core::metrics::{Family, LabelSet, LabelValue, Registry, StripedCounter};
//!
//! #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, LabelValue)]
//! enum Stage { Intake, Alert }
//!
//! #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, LabelSet)]
//! struct Labels { stage: Stage }
//!
//! let registry = Registry::new();
//! let items: Family<Labels, StripedCounter> =
//!     registry.register("pipeline_items_total", "Items through each stage")?;
//! std::thread::scope(|s| {
//!     for _ in 0..4 {
//!         s.spawn(|| for _ in 0..1000 { items.get(Labels { stage: Stage::Intake }).inc() });
//!     }
//! });
//! assert_eq!(items.get(Labels { stage: Stage::Intake }).get(), 4000);
//! # Ok::<(), alerting_core::metrics::MetricsError>(())
//! ```

use std::cell::Cell;
use std::fmt;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};

use prometheus_client::encoding::{EncodeMetric, MetricEncoder, NoLabelSet};
use prometheus_client::metrics::MetricType;

use prometheus_client::encoding::EncodeLabelSet;

use super::exemplar::{self, ExemplarError, Exemplars, Marked};
use super::{Buckets, BuildContext, Metric, MetricKind, MetricsError, Series};

/// Number of copies of a striped metric's cells, fixed at first use: the
/// number of CPUs rounded up to a power of two, between 2 and 16. Threads
/// beyond this many share copies (still exact, just not contention-free).
pub fn stripes() -> usize {
    static STRIPES: OnceLock<usize> = OnceLock::new();
    *STRIPES.get_or_init(|| {
        std::thread::available_parallelism()
            .map_or(8, std::num::NonZeroUsize::get)
            .next_power_of_two()
            .clamp(2, 16)
    })
}

const CELLS_PER_LINE: usize = 16;

/// 128 bytes: two 64-byte lines, as adjacent-line prefetchers pull pairs.
#[repr(align(128))]
struct Line([AtomicU64; CELLS_PER_LINE]);

impl Line {
    fn new() -> Self {
        Line(std::array::from_fn(|_| AtomicU64::new(0)))
    }
}

static NEXT_STRIPE: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    static STRIPE: Cell<usize> = const { Cell::new(usize::MAX) };
}

/// This thread's stripe, assigned round-robin on first use.
#[inline]
pub(crate) fn stripe() -> usize {
    STRIPE.with(|s| {
        let v = s.get();
        if v != usize::MAX {
            v
        } else {
            let v = NEXT_STRIPE.fetch_add(1, Ordering::Relaxed) % stripes();
            s.set(v);
            v
        }
    })
}

/// `cells` atomics per stripe, each stripe on its own lines.
pub(crate) struct Stripes {
    lines: Box<[Line]>,
    lines_per_stripe: usize,
    stripes: usize,
}

impl Stripes {
    pub(crate) fn new(cells: usize) -> Self {
        let lines_per_stripe = cells.div_ceil(CELLS_PER_LINE).max(1);
        let stripes = stripes();
        Self {
            stripes,
            lines: (0..stripes * lines_per_stripe)
                .map(|_| Line::new())
                .collect(),
            lines_per_stripe,
        }
    }

    /// Cell `i` of this thread's stripe.
    #[inline]
    pub(crate) fn local(&self, stripe: usize, i: usize) -> &AtomicU64 {
        &self.lines[stripe * self.lines_per_stripe + i / CELLS_PER_LINE].0[i % CELLS_PER_LINE]
    }

    /// Cell `i` summed over the stripes (wrapping, as the cells do).
    pub(crate) fn sum(&self, i: usize) -> u64 {
        (0..self.stripes).fold(0u64, |acc, s| {
            acc.wrapping_add(self.local(s, i).load(Ordering::Relaxed))
        })
    }

    /// Cell `i` read as `f64` bits in each stripe, summed.
    pub(crate) fn sum_f64(&self, i: usize) -> f64 {
        (0..self.stripes)
            .map(|s| f64::from_bits(self.local(s, i).load(Ordering::Relaxed)))
            .sum()
    }
}

/// A counter striped over [`stripes()`] cache-line-padded cells. Cloning is
/// cheap; clones share the series.
#[derive(Clone)]
pub struct StripedCounter {
    inner: Arc<StripedCounterInner>,
}

struct StripedCounterInner {
    stripes: Stripes,
    /// One slot, allocated at the first exemplar.
    exemplars: Exemplars,
}

impl Default for StripedCounter {
    fn default() -> Self {
        Self {
            inner: Arc::new(StripedCounterInner {
                stripes: Stripes::new(1),
                exemplars: Exemplars::new(1),
            }),
        }
    }
}

impl StripedCounter {
    /// Adds one.
    #[inline]
    pub fn inc(&self) {
        self.inc_by(1);
    }

    /// Adds `v`.
    #[inline]
    pub fn inc_by(&self, v: u64) {
        self.inner
            .stripes
            .local(stripe(), 0)
            .fetch_add(v, Ordering::Relaxed);
    }

    /// Adds one, and offers an exemplar: labels such as a trace id,
    /// written beside the counter in the OpenMetrics exposition.
    ///
    /// The counter keeps one exemplar, replaced at most once between two
    /// scrapes (see [sampling](super::exemplar)).
    ///
    /// # Errors
    ///
    /// [`ExemplarError`] when a label name is invalid or the labels are
    /// too long: the counter is incremented, the exemplar is not kept.
    ///
    /// ```
    /// use alerting_core::metrics::{Format, Registry, StripedCounter};
    ///
    /// let registry = Registry::new();
    /// let alerts: StripedCounter = registry.register("alerts_sent_total", "Alerts sent")?;
    /// alerts.inc_with_exemplar(&[("tx_hash", "0x5c50e1d2")])?;
    /// let text = registry.encode_to_string(Format::OpenMetrics)?;
    /// assert!(text.contains(r#"alerts_sent_total 1 # {tx_hash="0x5c50e1d2"} 1.0 "#), "{text}");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn inc_with_exemplar(&self, exemplar: &[(&str, &str)]) -> Result<(), ExemplarError> {
        self.inc_by_with_exemplar(1, exemplar)
    }

    /// Adds `v`, and offers an exemplar whose value is `v`, as
    /// [`inc_with_exemplar`](Self::inc_with_exemplar) does.
    ///
    /// # Errors
    ///
    /// As [`inc_with_exemplar`](Self::inc_with_exemplar).
    pub fn inc_by_with_exemplar(
        &self,
        v: u64,
        exemplar: &[(&str, &str)],
    ) -> Result<(), ExemplarError> {
        self.inc_by(v);
        exemplar::check(exemplar)?;
        self.inner.exemplars.offer_labels(0, v as f64, exemplar);
        Ok(())
    }

    /// The total over all stripes.
    pub fn get(&self) -> u64 {
        self.inner.stripes.sum(0)
    }

    fn encode_labelled<S: EncodeLabelSet>(
        &self,
        encoder: &mut MetricEncoder<'_>,
        labels: &S,
    ) -> Result<(), fmt::Error> {
        exemplar::encode_counter(encoder, &self.inner.exemplars, Some(labels), self.get())
    }
}

impl fmt::Debug for StripedCounter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StripedCounter")
            .field("value", &self.get())
            .finish()
    }
}

impl EncodeMetric for StripedCounter {
    fn encode(&self, mut encoder: MetricEncoder<'_>) -> Result<(), fmt::Error> {
        exemplar::encode_counter::<NoLabelSet>(
            &mut encoder,
            &self.inner.exemplars,
            None,
            self.get(),
        )
    }

    fn metric_type(&self) -> MetricType {
        MetricType::Counter
    }
}

impl Metric for StripedCounter {
    const KIND: MetricKind = MetricKind::Counter;
    const LABEL_NAMES: &'static [&'static str] = &[];
    fn build(_: &mut BuildContext<'_>) -> Result<Self, MetricsError> {
        Ok(Self::default())
    }
}

impl Series for StripedCounter {
    fn prototype(
        _: &mut BuildContext<'_>,
    ) -> Result<Box<dyn Fn() -> Self + Send + Sync>, MetricsError> {
        Ok(Box::new(Self::default))
    }

    fn encode_in_family<S: EncodeLabelSet>(
        &self,
        encoder: &mut MetricEncoder<'_>,
        labels: &S,
    ) -> Result<(), fmt::Error> {
        self.encode_labelled(encoder, labels)
    }
}

/// A histogram striped over [`stripes()`] cache-line-padded rows of cells
/// (the sum and a count per bucket). Cloning is cheap; clones share the
/// series.
///
/// Infinities and NaN are handled as by [`Histogram`](super::Histogram#infinities-and-nan):
/// `+Inf` is counted in the `+Inf` bucket and `-Inf` in the first, neither
/// is added to `_sum`; NaN is ignored. `_sum` is never NaN, unless finite
/// observations overflow `f64` in both directions (past ±1.8e308) on
/// different stripes.
#[derive(Clone)]
pub struct StripedHistogram {
    inner: Arc<StripedHistogramInner>,
}

struct StripedHistogramInner {
    bounds: Buckets,
    /// Cell 0: the sum (f64 bits); cells 1..: per-bucket counts, `+Inf` last.
    stripes: Stripes,
    /// One per bucket, allocated at the first exemplar.
    exemplars: Exemplars,
}

impl StripedHistogram {
    /// A striped histogram with the given buckets.
    pub fn new(buckets: Buckets) -> Self {
        let cells = buckets.bounds().len() + 2;
        Self {
            inner: Arc::new(StripedHistogramInner {
                bounds: buckets,
                stripes: Stripes::new(cells),
                exemplars: Exemplars::new(cells - 1),
            }),
        }
    }

    /// Records one value. `±Inf` is counted but not added to the sum; NaN
    /// is ignored.
    #[inline]
    pub fn observe(&self, value: f64) {
        let _ = self.record(value);
    }

    /// Counts and sums `value`; the bucket it was counted in when it is
    /// finite (no exemplar is kept for the others).
    ///
    /// One straight path with no call: the infinities' special case is a
    /// predictable branch around the sum, not a cold function (a call in
    /// this function cost about 2 ns per observation in
    /// `counter_plus_histogram`; docs/benchmarks.md, session 6).
    #[inline]
    fn record(&self, value: f64) -> Option<usize> {
        if value.is_nan() {
            return None;
        }
        let inner = &*self.inner;
        let stripe = stripe();
        // First bound >= value: `-Inf` lands in the first bucket, `+Inf`
        // in the last (`+Inf`).
        let bucket = inner.bounds.bounds().partition_point(|&b| b < value);
        inner
            .stripes
            .local(stripe, 1 + bucket)
            .fetch_add(1, Ordering::Relaxed);
        if !value.is_finite() {
            // Counted, not summed: `_sum` would stay infinite for good.
            return None;
        }
        // Only this thread's stripe: the CAS loop does not spin under
        // contention from other cores.
        let sum = inner.stripes.local(stripe, 0);
        let _ = sum.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |bits| {
            Some((f64::from_bits(bits) + value).to_bits())
        });
        Some(bucket)
    }

    /// Records one value, as [`observe`](Self::observe) does, and offers
    /// an exemplar for its bucket, as
    /// [`Histogram::observe_with_exemplar`](super::Histogram::observe_with_exemplar)
    /// does.
    ///
    /// # Errors
    ///
    /// [`ExemplarError`] when a label name is invalid or the labels are
    /// too long: the value is recorded, the exemplar is not.
    ///
    /// ```
    /// use alerting_core::metrics::{Buckets, StripedHistogram};
    ///
    /// let h = StripedHistogram::new(Buckets::new([0.1, 1.0])?);
    /// h.observe_with_exemplar(0.3, &[("trace_id", "4bf92f3577b34da6a3ce929d0e0e4736")])?;
    /// assert_eq!(h.count(), 1);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn observe_with_exemplar(
        &self,
        value: f64,
        exemplar: &[(&str, &str)],
    ) -> Result<(), ExemplarError> {
        let bucket = self.record(value);
        exemplar::check(exemplar)?;
        if let Some(bucket) = bucket {
            self.inner.exemplars.offer_labels(bucket, value, exemplar);
        }
        Ok(())
    }

    /// Records a duration in seconds.
    #[inline]
    pub fn observe_duration(&self, duration: std::time::Duration) {
        self.observe(duration.as_secs_f64());
    }

    /// The bucket upper bounds (without `+Inf`).
    pub fn bounds(&self) -> &[f64] {
        self.inner.bounds.bounds()
    }

    /// Number of observations.
    pub fn count(&self) -> u64 {
        (1..=self.bounds().len() + 1)
            .map(|i| self.inner.stripes.sum(i))
            .sum()
    }

    /// Sum of the finite observations.
    pub fn sum(&self) -> f64 {
        self.inner.stripes.sum_f64(0)
    }

    /// Cumulative counts, one per bound plus the final `+Inf` bucket.
    pub fn bucket_counts(&self) -> Vec<u64> {
        let mut total = 0;
        (1..=self.bounds().len() + 1)
            .map(|i| {
                total += self.inner.stripes.sum(i);
                total
            })
            .collect()
    }
}

impl fmt::Debug for StripedHistogram {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StripedHistogram")
            .field("bounds", &self.bounds())
            .field("count", &self.count())
            .field("sum", &self.sum())
            .finish()
    }
}

/// Encodes a histogram from per-bucket counts (not cumulative, `+Inf`
/// last) and a sum. `_count` is written as the total of the buckets, so it
/// always equals the `+Inf` bucket.
pub(crate) fn encode_histogram(
    encoder: &mut MetricEncoder<'_>,
    bounds: &[f64],
    per_bucket: impl Iterator<Item = u64>,
    sum: f64,
) -> Result<(), fmt::Error> {
    // Up to this many buckets (`Buckets::latency()` has 15 with `+Inf`)
    // the (bound, count) pairs are gathered on the stack: a scrape of many
    // histograms allocates nothing per histogram.
    const ON_STACK: usize = 32;
    let mut count = 0u64;
    let pairs = bounds
        .iter()
        .copied()
        .chain(std::iter::once(f64::INFINITY))
        .zip(per_bucket)
        .map(|(bound, n)| {
            count += n;
            (bound, n)
        });
    if bounds.len() < ON_STACK {
        let mut buckets = [(0.0, 0u64); ON_STACK];
        let mut len = 0;
        for (slot, pair) in buckets.iter_mut().zip(pairs) {
            *slot = pair;
            len += 1;
        }
        encoder.encode_histogram::<NoLabelSet>(sum, count, &buckets[..len], None)
    } else {
        let buckets: Vec<(f64, u64)> = pairs.collect();
        encoder.encode_histogram::<NoLabelSet>(sum, count, &buckets, None)
    }
}

impl StripedHistogram {
    fn encode_values(&self, encoder: &mut MetricEncoder<'_>) -> Result<(), fmt::Error> {
        let n = self.bounds().len() + 1;
        encode_histogram(
            encoder,
            self.bounds(),
            (1..=n).map(|i| self.inner.stripes.sum(i)),
            self.sum(),
        )
    }
}

impl EncodeMetric for StripedHistogram {
    fn encode(&self, mut encoder: MetricEncoder<'_>) -> Result<(), fmt::Error> {
        match self.inner.exemplars.marker(false) {
            Some(marker) => self.encode_values(&mut encoder.encode_family(&marker)?),
            None => self.encode_values(&mut encoder),
        }
    }

    fn metric_type(&self) -> MetricType {
        MetricType::Histogram
    }
}

impl Metric for StripedHistogram {
    const KIND: MetricKind = MetricKind::Histogram;
    const LABEL_NAMES: &'static [&'static str] = &[];
    fn build(ctx: &mut BuildContext<'_>) -> Result<Self, MetricsError> {
        Ok(Self::new(ctx.buckets()?))
    }
}

impl Series for StripedHistogram {
    fn prototype(
        ctx: &mut BuildContext<'_>,
    ) -> Result<Box<dyn Fn() -> Self + Send + Sync>, MetricsError> {
        let buckets = ctx.buckets()?;
        Ok(Box::new(move || Self::new(buckets.clone())))
    }

    fn encode_in_family<S: EncodeLabelSet>(
        &self,
        encoder: &mut MetricEncoder<'_>,
        labels: &S,
    ) -> Result<(), fmt::Error> {
        match self.inner.exemplars.marker(false) {
            Some(marker) => {
                self.encode_values(&mut encoder.encode_family(&Marked(labels, marker))?)
            }
            None => self.encode_values(&mut encoder.encode_family(labels)?),
        }
    }
}
