//! [`ExemplarCounter`]: a compact counter that can carry an exemplar.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use prometheus_client::encoding::{EncodeLabelSet, EncodeMetric, MetricEncoder, NoLabelSet};
use prometheus_client::metrics::MetricType;

use super::exemplar::{self, ExemplarError, Exemplars};
use super::{BuildContext, Metric, MetricKind, MetricsError, Series};

/// A compact counter (one atomic, as [`Counter`](super::Counter)) that can
/// also carry an exemplar: pick it over `Counter` when some increments
/// should name where they came from (a trace id, a transaction hash).
///
/// `inc` and `inc_by` cost what [`Counter`](super::Counter)'s do, one
/// atomic add: they never look at exemplars.
/// [`inc_with_exemplar`](Self::inc_with_exemplar) also offers one,
/// written beside the `_total` line in the OpenMetrics exposition only,
/// and kept as [exemplars](super::exemplar) are: one per counter, replaced
/// at most once between two scrapes. The exemplar slot is allocated at the
/// first exemplar; until then a series takes 32 bytes more than a
/// `Counter`'s (the empty slot, on 64-bit targets), and nothing else. For
/// a counter written from many cores at once, use
/// [`StripedCounter`](super::StripedCounter), which takes exemplars too.
///
/// It registers, encodes and lints as `Counter` does: on its own, in a
/// [`Family`](super::Family) or [`DynamicFamily`](super::DynamicFamily),
/// as a field of a [`MetricGroup`](super::MetricGroup), in a
/// [`Named`](super::Named). Cloning is cheap; clones share the series.
///
/// ```
/// use alerting_core::metrics::{DynamicFamily, ExemplarCounter, Format, LabelSet, Registry};
///
/// #[derive(Clone, Debug, PartialEq, Eq, Hash, LabelSet)]
/// struct Chain { chain: String }
///
/// let registry = Registry::new();
/// let alerts: DynamicFamily<Chain, ExemplarCounter> =
///     registry.register("alerts_sent_total", "Alerts sent")?;
/// let bsc = alerts.get_or_create(&Chain { chain: "bsc".into() });
/// bsc.inc();
/// bsc.inc_with_exemplar(&[("tx_hash", "0x5c50e1d2")])?;
/// assert_eq!(bsc.get(), 2);
///
/// let open_metrics = registry.encode_to_string(Format::OpenMetrics)?;
/// assert!(open_metrics.contains(
///     r#"alerts_sent_total{chain="bsc"} 2 # {tx_hash="0x5c50e1d2"} 1.0 "#
/// ), "{open_metrics}");
/// // The Prometheus text format has no exemplars.
/// let text = registry.encode_to_string(Format::Prometheus)?;
/// assert!(text.contains("alerts_sent_total{chain=\"bsc\"} 2\n") && !text.contains("tx_hash"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Default)]
pub struct ExemplarCounter {
    inner: Arc<Inner>,
}

struct Inner {
    value: AtomicU64,
    /// One slot, allocated at the first exemplar.
    exemplars: Exemplars,
}

impl Default for Inner {
    fn default() -> Self {
        Self {
            value: AtomicU64::new(0),
            exemplars: Exemplars::new(1),
        }
    }
}

impl ExemplarCounter {
    /// Adds one and returns the value before, as
    /// [`Counter::inc`](prometheus_client::metrics::counter::Counter::inc)
    /// does.
    #[inline]
    pub fn inc(&self) -> u64 {
        self.inc_by(1)
    }

    /// Adds `v` and returns the value before.
    #[inline]
    pub fn inc_by(&self, v: u64) -> u64 {
        self.inner.value.fetch_add(v, Ordering::Relaxed)
    }

    /// Adds one, and offers an exemplar: labels such as a trace id,
    /// written beside the counter in the OpenMetrics exposition with the
    /// value 1.
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
    /// use alerting_core::metrics::{ExemplarCounter, Format, Registry};
    ///
    /// let registry = Registry::new();
    /// let alerts: ExemplarCounter = registry.register("alerts_sent_total", "Alerts sent")?;
    /// alerts.inc_with_exemplar(&[("trace_id", "4bf92f3577b34da6a3ce929d0e0e4736")])?;
    /// assert!(alerts.inc_with_exemplar(&[("trace id", "x")]).is_err());
    /// assert_eq!(alerts.get(), 2);
    /// let text = registry.encode_to_string(Format::OpenMetrics)?;
    /// assert!(text.contains(
    ///     r#"alerts_sent_total 2 # {trace_id="4bf92f3577b34da6a3ce929d0e0e4736"} 1.0 "#
    /// ), "{text}");
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

    /// The current value.
    #[inline]
    pub fn get(&self) -> u64 {
        self.inner.value.load(Ordering::Relaxed)
    }
}

impl fmt::Debug for ExemplarCounter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ExemplarCounter")
            .field("value", &self.get())
            .finish()
    }
}

impl EncodeMetric for ExemplarCounter {
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

impl Metric for ExemplarCounter {
    const KIND: MetricKind = MetricKind::Counter;
    const LABEL_NAMES: &'static [&'static str] = &[];
    fn build(_: &mut BuildContext<'_>) -> Result<Self, MetricsError> {
        Ok(Self::default())
    }
}

impl Series for ExemplarCounter {
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
        exemplar::encode_counter(encoder, &self.inner.exemplars, Some(labels), self.get())
    }
}
