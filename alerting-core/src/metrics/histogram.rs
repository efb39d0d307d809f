//! A lock-free histogram.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use prometheus_client::encoding::{EncodeMetric, MetricEncoder};
use prometheus_client::metrics::{MetricType, TypedMetric};

use super::Buckets;
use super::exemplar::{self, ExemplarError, Exemplars, Marked};

/// A histogram whose `observe` is a binary search over the bounds and two
/// atomic operations: no lock, no allocation.
///
/// prometheus-client's own `Histogram` takes a lock on every observation;
/// this one does not, so it can sit on a hot path shared by many tasks.
/// Cloning is cheap and the clones share the same series.
///
/// # Infinities and NaN
///
/// - `+Inf` is counted in the `+Inf` bucket and `-Inf` in the first bucket
///   (`-Inf <= le` holds for every bound), both in `_count`, as the
///   Prometheus clients place them; neither is added to `_sum`. Adding them
///   would make `_sum` infinite for the rest of the process, and NaN as
///   soon as both signs were seen (`+Inf + -Inf`); `_sum` stays the sum of
///   the finite observations instead.
/// - NaN is ignored (no bucket, no `_count`, no `_sum`): it is not `<=`
///   any bound, not even `+Inf`, so counting it would break `_count ==
///   bucket{le="+Inf"}`.
/// - `_sum` itself can only become infinite by overflowing `f64` (finite
///   observations adding up past about 1.8e308); it is never NaN.
///
/// Durations ([`observe_duration`](Histogram::observe_duration), timers, and
/// `#[instrumented]`, which counts integer nanoseconds) are always finite.
///
/// ```
/// use alerting_core::metrics::{Buckets, Histogram};
///
/// let h = Histogram::new(Buckets::new([0.1, 1.0])?);
/// h.observe(0.05);
/// h.observe(0.5);
/// h.observe(7.0);
/// assert_eq!(h.count(), 3);
/// assert_eq!(h.bucket_counts(), vec![1, 2, 3]); // cumulative, last is +Inf
/// assert!((h.sum() - 7.55).abs() < 1e-9);
/// # Ok::<(), alerting_core::metrics::MetricsError>(())
/// ```
#[derive(Clone)]
pub struct Histogram {
    inner: Arc<Inner>,
}

struct Inner {
    bounds: Buckets,
    /// Per-bucket (not cumulative) counts; the last is the `+Inf` bucket.
    counts: Box<[AtomicU64]>,
    /// Sum of observations, as `f64` bits.
    sum: AtomicU64,
    /// One per bucket, allocated at the first exemplar.
    exemplars: Exemplars,
}

impl Histogram {
    /// A histogram with the given buckets.
    pub fn new(buckets: Buckets) -> Self {
        let counts = (0..=buckets.bounds().len())
            .map(|_| AtomicU64::new(0))
            .collect();
        let exemplars = Exemplars::new(buckets.bounds().len() + 1);
        Self {
            inner: Arc::new(Inner {
                bounds: buckets,
                counts,
                sum: AtomicU64::new(0f64.to_bits()),
                exemplars,
            }),
        }
    }

    /// Records one value. `±Inf` is counted but not added to the sum; NaN
    /// is ignored (see [the type's documentation](Histogram#infinities-and-nan)).
    #[inline]
    pub fn observe(&self, value: f64) {
        let _ = self.record(value);
    }

    /// Counts and sums `value`; the bucket it was counted in when it is
    /// finite (no exemplar is kept for the others).
    ///
    /// One straight path with no call, as in `StripedHistogram`: the
    /// infinities are a predictable branch around the sum.
    #[inline]
    fn record(&self, value: f64) -> Option<usize> {
        if value.is_nan() {
            return None;
        }
        let inner = &*self.inner;
        // First bound >= value: Prometheus buckets are `le` (less or equal).
        // `-Inf` lands in the first bucket, `+Inf` in the last (`+Inf`).
        let index = inner.bounds.bounds().partition_point(|&b| b < value);
        if let Some(cell) = inner.counts.get(index) {
            cell.fetch_add(1, Ordering::Relaxed);
        }
        if !value.is_finite() {
            // Counted, not summed: `_sum` would stay infinite for good.
            return None;
        }
        let _ = inner
            .sum
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |bits| {
                Some((f64::from_bits(bits) + value).to_bits())
            });
        Some(index)
    }

    /// Records one value, as [`observe`](Self::observe) does, and offers
    /// an exemplar for its bucket: labels such as a trace id, written
    /// beside the bucket in the OpenMetrics exposition.
    ///
    /// The bucket keeps one exemplar, replaced at most once between two
    /// scrapes (see [sampling](super::exemplar)); an exemplar
    /// offered to a bucket whose exemplar no scrape has read yet costs a
    /// relaxed load and is dropped. No exemplar is kept for `±Inf` or NaN.
    ///
    /// # Errors
    ///
    /// [`ExemplarError`] when a label name is invalid or the labels are
    /// longer than [`MAX_EXEMPLAR_CHARS`](super::exemplar::MAX_EXEMPLAR_CHARS)
    /// characters: the value is recorded, the exemplar is not.
    ///
    /// ```
    /// use alerting_core::metrics::{Buckets, Histogram};
    ///
    /// let h = Histogram::new(Buckets::new([0.1, 1.0])?);
    /// h.observe_with_exemplar(0.3, &[("tx_hash", "0x5c50…e1d2")])?;
    /// assert!(h.observe_with_exemplar(0.3, &[("tx hash", "0x5c50…e1d2")]).is_err());
    /// assert_eq!(h.count(), 2);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn observe_with_exemplar(
        &self,
        value: f64,
        exemplar: &[(&str, &str)],
    ) -> Result<(), ExemplarError> {
        let index = self.record(value);
        exemplar::check(exemplar)?;
        if let Some(index) = index {
            self.inner.exemplars.offer_labels(index, value, exemplar);
        }
        Ok(())
    }

    /// Records a duration in seconds.
    #[inline]
    pub fn observe_duration(&self, duration: Duration) {
        self.observe(duration.as_secs_f64());
    }

    /// Starts a timer that records the elapsed seconds when dropped (or
    /// when [`HistogramTimer::stop`] is called).
    pub fn start_timer(&self) -> HistogramTimer<'_> {
        HistogramTimer {
            histogram: self,
            start: Instant::now(),
            done: false,
        }
    }

    /// The bucket upper bounds (without `+Inf`).
    pub fn bounds(&self) -> &[f64] {
        self.inner.bounds.bounds()
    }

    /// Number of observations.
    pub fn count(&self) -> u64 {
        self.inner
            .counts
            .iter()
            .map(|c| c.load(Ordering::Relaxed))
            .sum()
    }

    /// Sum of the finite observations.
    pub fn sum(&self) -> f64 {
        f64::from_bits(self.inner.sum.load(Ordering::Relaxed))
    }

    /// Cumulative counts, one per bound plus the final `+Inf` bucket.
    pub fn bucket_counts(&self) -> Vec<u64> {
        let mut total = 0;
        self.inner
            .counts
            .iter()
            .map(|c| {
                total += c.load(Ordering::Relaxed);
                total
            })
            .collect()
    }
}

impl fmt::Debug for Histogram {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Histogram")
            .field("bounds", &self.bounds())
            .field("count", &self.count())
            .field("sum", &self.sum())
            .finish()
    }
}

/// Records the time since it was started into a [`Histogram`] when dropped.
#[must_use = "the timer records when dropped; dropping it at once records ~0 s"]
#[derive(Debug)]
pub struct HistogramTimer<'a> {
    histogram: &'a Histogram,
    start: Instant,
    done: bool,
}

impl HistogramTimer<'_> {
    /// Records now and returns the elapsed time.
    pub fn stop(mut self) -> Duration {
        let elapsed = self.start.elapsed();
        self.histogram.observe_duration(elapsed);
        self.done = true;
        elapsed
    }
}

impl Drop for HistogramTimer<'_> {
    fn drop(&mut self) {
        if !self.done {
            self.histogram.observe_duration(self.start.elapsed());
        }
    }
}

impl TypedMetric for Histogram {
    const TYPE: MetricType = MetricType::Histogram;
}

impl Histogram {
    fn encode_values(&self, encoder: &mut MetricEncoder<'_>) -> Result<(), fmt::Error> {
        // The count is the buckets' total (see `encode_histogram`), so
        // `_count` always equals the `+Inf` bucket even while observations
        // race with the scrape.
        super::encode_histogram(
            encoder,
            self.bounds(),
            self.inner.counts.iter().map(|c| c.load(Ordering::Relaxed)),
            self.sum(),
        )
    }

    /// Encodes the series with `labels`, marked for its exemplars if it
    /// has any and the exposition takes them.
    pub(crate) fn encode_labelled<S: prometheus_client::encoding::EncodeLabelSet>(
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

impl EncodeMetric for Histogram {
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
