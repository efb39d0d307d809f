//! The registry: registration with checks, and encoding.

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock, PoisonError, RwLock};

use once_cell::sync::OnceCell;
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::MetricType;

use super::naming::{
    check_help, check_labels, check_metric_name, sample_names, split_for_prometheus_client,
};
use crate::instrument::{AnySiteFamily, SiteFamilyKind, SiteHandles};

use super::{
    BuildContext, Counter, Metric, MetricGroup, MetricKind, MetricOptions, MetricsError,
    ProcessCollector,
};

static GLOBAL: OnceCell<Registry> = OnceCell::new();

/// Whether [`GLOBAL`] was chosen with [`Registry::set_global`] (rather than
/// created on first use).
static GLOBAL_CHOSEN: AtomicBool = AtomicBool::new(false);

/// Name of the counter of look-ups folded into overflow series.
const OVERFLOW_METRIC: &str = "alerting_series_overflow_total";
/// Name of the counter of series dropped for idleness.
const EXPIRED_METRIC: &str = "alerting_series_expired_total";

/// Where metrics are registered and from which they are encoded.
///
/// A `Registry` is a cheap handle (an `Arc`): clone it and pass it around.
/// It wraps a [`prometheus_client::registry::Registry`] and adds what
/// Prometheus' naming guide asks for, checked when a metric is registered:
/// `snake_case` names, base units as suffix, `_total` on counters and only on
/// counters, non-empty help, no name or sample name twice, no reserved or
/// repeated label names. A violation is a [`MetricsError`] naming the metric
/// and the rule, returned at start-up rather than discovered in a scrape.
///
/// ```
/// use alerting_core::metrics::{Counter, Format, Registry};
///
/// let registry = Registry::builder()
///     .namespace("bsc")
///     .const_label("service", "bsc-monitor")
///     .build()?;
/// let messages: Counter = registry.register("ws_messages_total", "Messages read")?;
/// messages.inc();
///
/// let text = registry.encode_to_string(Format::Prometheus)?;
/// assert!(text.contains(r#"bsc_ws_messages_total{service="bsc-monitor"} 1"#));
///
/// // Conventions are enforced:
/// let err = registry.register::<Counter>("ws_messages", "Messages read").unwrap_err();
/// assert_eq!(err.to_string(), "counter `bsc_ws_messages`: counter names must end in `_total`");
/// # Ok::<(), alerting_core::metrics::MetricsError>(())
/// ```
#[derive(Clone)]
pub struct Registry {
    inner: Arc<Inner>,
}

struct Inner {
    namespace: Option<String>,
    const_labels: Vec<(String, String)>,
    state: RwLock<State>,
    /// An endpoint serves it ([`Registry::mark_served`]).
    served: AtomicBool,
    /// Call sites that recorded into this registry as a scoped one
    /// ([`Registry::in_scope`]), by the address of their `static`.
    scoped_sites: Mutex<HashMap<usize, &'static OnceLock<SiteHandles>>>,
}

struct State {
    registry: prometheus_client::registry::Registry,
    /// Sample name → the metric that writes it.
    samples: HashMap<String, String>,
    overflow: Option<Arc<OverflowCollector>>,
    /// Families of `#[instrumented]` call sites, by full name.
    sites: HashMap<String, AnySiteFamily>,
    /// Why some call sites' metrics are not exported.
    instrumentation_errors: Vec<String>,
}

/// Builds a [`Registry`] with a namespace and constant labels.
#[derive(Debug, Default, Clone)]
#[must_use]
pub struct RegistryBuilder {
    namespace: Option<String>,
    const_labels: Vec<(String, String)>,
}

impl RegistryBuilder {
    /// Prefixes every metric registered through the registry with
    /// `namespace_` (not the process metrics, whose names are standard).
    pub fn namespace(mut self, namespace: impl Into<String>) -> Self {
        self.namespace = Some(namespace.into());
        self
    }

    /// Adds a label written on every series (`service`, `version`,
    /// `region`…). Leave `instance` (and `job`) to Prometheus: it sets them
    /// on every scraped series and renames a scraped `instance` label to
    /// `exported_instance` unless the job sets `honor_labels: true`.
    pub fn const_label(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.const_labels.push((name.into(), value.into()));
        self
    }

    /// Checks the namespace and constant labels and builds the registry.
    pub fn build(self) -> Result<Registry, MetricsError> {
        if let Some(ns) = &self.namespace {
            // A namespace must itself be a valid name piece.
            check_metric_name(ns, MetricKind::Gauge)?;
        }
        let names: Vec<&str> = self.const_labels.iter().map(|(n, _)| n.as_str()).collect();
        check_labels("const labels", &names, std::iter::empty())?;
        let registry = prometheus_client::registry::Registry::with_labels(
            self.const_labels
                .iter()
                .map(|(n, v)| (Cow::Owned(n.clone()), Cow::Owned(v.clone()))),
        );
        Ok(Registry::from_parts(
            self.namespace,
            self.const_labels,
            registry,
        ))
    }
}

impl Default for Registry {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for Registry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self
            .inner
            .state
            .read()
            .unwrap_or_else(PoisonError::into_inner);
        f.debug_struct("Registry")
            .field("namespace", &self.inner.namespace)
            .field("const_labels", &self.inner.const_labels)
            .field("samples", &state.samples.len())
            .finish()
    }
}

impl Registry {
    /// An empty registry without namespace or constant labels.
    pub fn new() -> Self {
        Self::from_parts(None, Vec::new(), Default::default())
    }

    fn from_parts(
        namespace: Option<String>,
        const_labels: Vec<(String, String)>,
        registry: prometheus_client::registry::Registry,
    ) -> Self {
        Registry {
            inner: Arc::new(Inner {
                namespace,
                const_labels,
                state: RwLock::new(State {
                    registry,
                    samples: HashMap::new(),
                    overflow: None,
                    sites: HashMap::new(),
                    instrumentation_errors: Vec::new(),
                }),
                served: AtomicBool::new(false),
                scoped_sites: Mutex::default(),
            }),
        }
    }

    /// Starts a registry with a namespace and constant labels.
    pub fn builder() -> RegistryBuilder {
        RegistryBuilder::default()
    }

    /// The process-wide default registry, created empty on first use unless
    /// [`Registry::set_global`] was called before.
    pub fn global() -> &'static Registry {
        GLOBAL.get_or_init(Registry::new)
    }

    /// Makes `registry` the process-wide default. Call it once, at start-up,
    /// before anything uses [`Registry::global`].
    ///
    /// Every linked `#[instrumented]` function without a `registry = …`
    /// option then has its families and zero series in it (calls at 0 for
    /// each outcome, the duration histogram at count 0, in-flight at 0),
    /// before its first call: see
    /// [`register_call_sites`](Registry::register_call_sites).
    pub fn set_global(registry: Registry) -> Result<(), MetricsError> {
        GLOBAL
            .set(registry)
            .map_err(|_| MetricsError::GlobalAlreadySet)?;
        GLOBAL_CHOSEN.store(true, Ordering::Relaxed);
        crate::instrument::register_global_sites();
        Ok(())
    }

    /// The default registry if it exists already (never creates it).
    pub(crate) fn global_if_set() -> Option<&'static Registry> {
        GLOBAL.get()
    }

    /// Records that an endpoint serves this registry's exposition, for
    /// [`Registry::misses_instrumentation`]. alerting-axum's `Endpoints`
    /// call it; a server of your own should too.
    pub fn mark_served(&self) {
        self.inner.served.store(true, Ordering::Relaxed);
    }

    /// Whether `#[instrumented]` functions (those without a `registry = …`
    /// option) have recorded into the process-wide default registry while
    /// nobody serves it: [`Registry::set_global`] was not called before
    /// their first call, no endpoint serves [`Registry::global`]
    /// ([`Registry::mark_served`]), and it is not this registry. Their
    /// series are then missing from every exposition. alerting-axum's
    /// `/metrics` checks it and logs a warning once.
    ///
    /// ```
    /// use alerting_core::instrumented;
    /// use alerting_core::metrics::Registry;
    ///
    /// #[instrumented]
    /// fn work() {}
    ///
    /// let served = Registry::new(); // Registry::set_global(served.clone()) was forgotten
    /// served.mark_served();
    /// work();
    /// assert!(served.misses_instrumentation());
    ///
    /// // Serving the default registry too is another way to fix it.
    /// Registry::global().mark_served();
    /// assert!(!served.misses_instrumentation());
    /// ```
    pub fn misses_instrumentation(&self) -> bool {
        !GLOBAL_CHOSEN.load(Ordering::Relaxed)
            && GLOBAL.get().is_some_and(|global| {
                !Arc::ptr_eq(&global.inner, &self.inner)
                    && !global.inner.served.load(Ordering::Relaxed)
                    && global.has_instrumentation()
            })
    }

    /// Whether `self` and `other` are handles to the same registry.
    pub(crate) fn same_as(&self, other: &Registry) -> bool {
        Arc::ptr_eq(&self.inner, &other.inner)
    }

    /// The handles of call sites in this registry as a scoped one.
    pub(crate) fn scoped_sites(&self) -> &Mutex<HashMap<usize, &'static OnceLock<SiteHandles>>> {
        &self.inner.scoped_sites
    }

    /// Whether a `#[instrumented]` call site recorded into this registry.
    fn has_instrumentation(&self) -> bool {
        !self
            .inner
            .state
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .sites
            .is_empty()
    }

    /// The namespace given to the builder.
    pub fn namespace(&self) -> Option<&str> {
        self.inner.namespace.as_deref()
    }

    /// The constant labels given to the builder.
    pub fn const_labels(&self) -> &[(String, String)] {
        &self.inner.const_labels
    }

    /// The full name a metric registered as `name` gets (with the namespace).
    pub fn full_name(&self, name: &str) -> String {
        match &self.inner.namespace {
            Some(ns) => format!("{ns}_{name}"),
            None => name.to_owned(),
        }
    }

    /// Registers a metric with default options and returns a handle to it.
    ///
    /// `M` is a series type ([`Counter`](super::Counter),
    /// [`Gauge`](super::Gauge), [`Histogram`](super::Histogram)…) or a family
    /// of them ([`Family`](super::Family),
    /// [`DynamicFamily`](super::DynamicFamily)).
    pub fn register<M: Metric>(&self, name: &str, help: &str) -> Result<M, MetricsError> {
        self.register_with(name, help, MetricOptions::default())
    }

    /// Registers a metric with options (buckets, series limit).
    pub fn register_with<M: Metric>(
        &self,
        name: &str,
        help: &str,
        options: MetricOptions,
    ) -> Result<M, MetricsError> {
        // Only the build and the boxing depend on `M`: the checks and the
        // bookkeeping around them are compiled once, not once per metric
        // type a program registers.
        let mut pending = self.begin_registration(name, help, M::KIND, M::LABEL_NAMES)?;
        let metric = {
            let Pending {
                full,
                folded,
                expired,
                ..
            } = &mut pending;
            let mut make_overflow = || {
                let counter = Counter::default();
                *folded = Some(counter.clone());
                counter
            };
            let mut make_expired = || {
                let counter = Counter::default();
                *expired = Some(counter.clone());
                counter
            };
            let mut ctx = BuildContext {
                name: full,
                options: &options,
                overflow: &mut make_overflow,
                expired: &mut make_expired,
            };
            M::build(&mut ctx)?
        };
        self.finish_registration(pending, help, Erased(Box::new(metric.clone())))?;
        Ok(metric)
    }

    /// The checks of [`register_with`](Self::register_with) before the
    /// metric is built, holding the registry's lock from there on.
    fn begin_registration(
        &self,
        name: &str,
        help: &str,
        kind: MetricKind,
        label_names: &[&str],
    ) -> Result<Pending<'_>, MetricsError> {
        let full = self.full_name(name);
        check_metric_name(&full, kind)?;
        check_help(&full, help)?;
        check_labels(
            &full,
            label_names,
            self.inner.const_labels.iter().map(|(n, _)| n.as_str()),
        )?;
        let state = self
            .inner
            .state
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        let samples = sample_names(&full, kind);
        check_free(&state, &full, &samples)?;
        Ok(Pending {
            state,
            full,
            samples,
            folded: None,
            expired: None,
        })
    }

    /// The rest of [`register_with`](Self::register_with) once the metric
    /// is built: its overflow and expiry counters, its sample names, and
    /// the metric itself into prometheus-client's registry.
    fn finish_registration(
        &self,
        pending: Pending<'_>,
        help: &str,
        metric: Erased,
    ) -> Result<(), MetricsError> {
        let Pending {
            mut state,
            full,
            samples,
            folded,
            expired,
        } = pending;
        if expired.is_some() && !state.samples.contains_key(EXPIRED_METRIC) {
            check_free(&state, EXPIRED_METRIC, &[EXPIRED_METRIC.to_owned()])?;
        }
        if let Some(counter) = folded {
            let collector = match &state.overflow {
                Some(c) => Arc::clone(c),
                None => {
                    let samples = vec![OVERFLOW_METRIC.to_owned()];
                    check_free(&state, OVERFLOW_METRIC, &samples)?;
                    let c = Arc::new(OverflowCollector::default());
                    state
                        .samples
                        .insert(OVERFLOW_METRIC.to_owned(), OVERFLOW_METRIC.to_owned());
                    state.registry.register_collector(Box::new(Arc::clone(&c)));
                    state.overflow = Some(Arc::clone(&c));
                    c
                }
            };
            collector
                .families
                .write()
                .unwrap_or_else(PoisonError::into_inner)
                .push((full.clone(), counter));
            if let Some(counter) = expired {
                state
                    .samples
                    .insert(EXPIRED_METRIC.to_owned(), EXPIRED_METRIC.to_owned());
                collector
                    .expired
                    .write()
                    .unwrap_or_else(PoisonError::into_inner)
                    .push((full.clone(), counter));
            }
        }

        for sample in samples {
            state.samples.insert(sample, full.clone());
        }
        // prometheus-client appends the unit, `_total` and a full stop itself.
        let (base, unit) = split_for_prometheus_client(&full);
        let help = help.trim().trim_end_matches('.');
        match unit {
            Some(unit) => state.registry.register_with_unit(base, help, unit, metric),
            None => state.registry.register(base, help, metric),
        }
        Ok(())
    }

    /// Registers a group of metrics (a struct deriving
    /// [`MetricGroup`](macro@super::MetricGroup)).
    pub fn register_group<G: MetricGroup>(&self) -> Result<G, MetricsError> {
        G::register(self)
    }

    /// Adds the [`ProcessCollector`]: `process_cpu_seconds_total`,
    /// `process_resident_memory_bytes` and the other standard process
    /// metrics, read from `/proc` at each scrape (absent on other systems).
    /// They are not prefixed with the namespace, so standard alert rules and
    /// dashboards find them.
    pub fn register_process_collector(&self) -> Result<(), MetricsError> {
        let mut state = self
            .inner
            .state
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        let samples: Vec<String> = super::process::NAMES
            .iter()
            .map(|s| (*s).to_owned())
            .collect();
        check_free(&state, "process_*", &samples)?;
        for sample in samples {
            state.samples.insert(sample, "process collector".to_owned());
        }
        state
            .registry
            .register_collector(Box::new(ProcessCollector::new()));
        Ok(())
    }

    /// Adds the [`RuntimeCollector`](super::runtime::RuntimeCollector) of
    /// the runtime `handle` belongs to: its workers, alive tasks, global
    /// queue depth, and each worker's busy time and park count, read at
    /// each scrape under standard `tokio_runtime_*` names (not prefixed
    /// with the namespace). Fails with [`MetricsError::Duplicate`] when a
    /// runtime collector is already registered.
    #[cfg(feature = "runtime")]
    pub fn register_runtime_metrics(
        &self,
        handle: tokio::runtime::Handle,
    ) -> Result<(), MetricsError> {
        self.register_named_collector(
            "tokio_runtime_*",
            "runtime collector",
            &super::runtime::NAMES,
            Box::new(super::runtime::RuntimeCollector::new(handle)),
        )
    }

    /// Adds one of our collectors after reserving the sample names it
    /// writes, so a second one (or a metric of the same name) is
    /// [`MetricsError::Duplicate`] instead of a family written twice.
    #[allow(dead_code)] // unused when neither `runtime` nor `sqlx` is on
    pub(crate) fn register_named_collector(
        &self,
        pattern: &str,
        owner: &str,
        names: &[&str],
        collector: Box<dyn Collector>,
    ) -> Result<(), MetricsError> {
        let mut state = self
            .inner
            .state
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        let samples: Vec<String> = names.iter().map(|s| (*s).to_owned()).collect();
        check_free(&state, pattern, &samples)?;
        for sample in samples {
            state.samples.insert(sample, owner.to_owned());
        }
        state.registry.register_collector(collector);
        Ok(())
    }

    /// Adds a prometheus-client [`Collector`] as it is: an escape hatch for
    /// metrics made elsewhere. Its names are not checked.
    pub fn register_collector(&self, collector: Box<dyn Collector>) {
        self.inner
            .state
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .registry
            .register_collector(collector);
    }

    /// Why some `#[instrumented]` call sites' metrics are not exported
    /// (for example, a family name already taken by another metric). The
    /// same messages are logged with `tracing` when it happens.
    pub fn instrumentation_errors(&self) -> Vec<String> {
        self.inner
            .state
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .instrumentation_errors
            .clone()
    }

    pub(crate) fn record_instrumentation_error(&self, message: String) {
        let mut state = self
            .inner
            .state
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        // Bounded: call sites are finite, but keep the list small anyway.
        if state.instrumentation_errors.len() < 100 {
            state.instrumentation_errors.push(message);
        }
    }

    /// The family `name` of `#[instrumented]` call sites, registered on
    /// first use; checks this site's label names.
    pub(crate) fn site_family<F: SiteFamilyKind>(
        &self,
        name: &str,
        help: &str,
        kind: MetricKind,
        label_names: &[&str],
    ) -> Result<Arc<F>, MetricsError> {
        let full = self.full_name(name);
        check_labels(
            &full,
            label_names,
            self.inner.const_labels.iter().map(|(n, _)| n.as_str()),
        )?;
        let mut state = self
            .inner
            .state
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(existing) = state.sites.get(&full) {
            return F::unwrap(existing).ok_or_else(|| MetricsError::Duplicate {
                name: full.clone(),
                sample: full.clone(),
                existing: full.clone(),
            });
        }
        check_metric_name(&full, kind)?;
        check_help(&full, help)?;
        let samples = sample_names(&full, kind);
        check_free(&state, &full, &samples)?;
        let family = Arc::new(F::create(kind));
        for sample in samples {
            state.samples.insert(sample, full.clone());
        }
        state
            .sites
            .insert(full.clone(), F::wrap(Arc::clone(&family)));
        let (base, unit) = split_for_prometheus_client(&full);
        let help = help.trim().trim_end_matches('.');
        let shared = Shared(Arc::clone(&family));
        match unit {
            Some(unit) => state.registry.register_with_unit(base, help, unit, shared),
            None => state.registry.register(base, help, shared),
        }
        Ok(family)
    }

    /// Writes the exposition in `format` into `buf`, which is cleared first.
    /// Reuse the buffer across scrapes to avoid reallocating it.
    pub fn encode(&self, format: Format, buf: &mut String) -> Result<(), MetricsError> {
        buf.clear();
        let state = self
            .inner
            .state
            .read()
            .unwrap_or_else(PoisonError::into_inner);
        match format {
            Format::Prometheus => {
                prometheus_client::encoding::prometheus_text::encode(buf, &state.registry)?
            }
            Format::OpenMetrics => super::exemplar::with_exemplars(buf, |buf| {
                prometheus_client::encoding::text::encode(buf, &state.registry)
            })?,
        }
        Ok(())
    }

    /// The exposition in `format` as a new string.
    pub fn encode_to_string(&self, format: Format) -> Result<String, MetricsError> {
        let mut buf = String::new();
        self.encode(format, &mut buf)?;
        Ok(buf)
    }
}

fn check_free(state: &State, name: &str, samples: &[String]) -> Result<(), MetricsError> {
    for sample in samples {
        if let Some(existing) = state.samples.get(sample) {
            return Err(MetricsError::Duplicate {
                name: name.to_owned(),
                sample: sample.clone(),
                existing: existing.clone(),
            });
        }
    }
    Ok(())
}

/// A family shared between the registry and the call sites.
#[derive(Debug)]
struct Shared<F>(Arc<F>);

/// A registration under way: the registry's lock, and what
/// [`Registry::register_with`] found out before building the metric.
struct Pending<'r> {
    state: std::sync::RwLockWriteGuard<'r, State>,
    full: String,
    samples: Vec<String>,
    /// The overflow counter the metric asked for, if any.
    folded: Option<Counter>,
    /// The expiry counter the metric asked for, if any.
    expired: Option<Counter>,
}

/// A metric of any type, so that prometheus-client's `register` is
/// compiled once rather than once per metric type.
#[derive(Debug)]
struct Erased(Box<dyn prometheus_client::registry::Metric>);

impl EncodeMetric for Erased {
    fn encode(
        &self,
        encoder: prometheus_client::encoding::MetricEncoder<'_>,
    ) -> Result<(), fmt::Error> {
        self.0.encode(encoder)
    }
    fn metric_type(&self) -> MetricType {
        self.0.metric_type()
    }
    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl<F: EncodeMetric> EncodeMetric for Shared<F> {
    fn encode(
        &self,
        encoder: prometheus_client::encoding::MetricEncoder<'_>,
    ) -> Result<(), fmt::Error> {
        self.0.encode(encoder)
    }
    fn metric_type(&self) -> MetricType {
        self.0.metric_type()
    }
}

/// Writes `alerting_series_overflow_total{metric="…"}` and, once a family
/// has an idle timeout, `alerting_series_expired_total{metric="…"}`.
#[derive(Debug, Default)]
struct OverflowCollector {
    families: RwLock<Vec<(String, Counter)>>,
    expired: RwLock<Vec<(String, Counter)>>,
}

impl Collector for OverflowCollector {
    fn encode(&self, mut encoder: DescriptorEncoder<'_>) -> Result<(), fmt::Error> {
        let families = self.families.read().unwrap_or_else(PoisonError::into_inner);
        let mut metric = encoder.encode_descriptor(
            "alerting_series_overflow",
            "Look-ups folded into a dynamic family's overflow series because it reached its series limit.",
            None,
            MetricType::Counter,
        )?;
        for (name, counter) in families.iter() {
            counter.encode(metric.encode_family(&[("metric", name.as_str())])?)?;
        }
        drop(families);
        let expired = self.expired.read().unwrap_or_else(PoisonError::into_inner);
        if !expired.is_empty() {
            let mut metric = encoder.encode_descriptor(
                "alerting_series_expired",
                "Series a dynamic family dropped because no look-up used them for its idle timeout.",
                None,
                MetricType::Counter,
            )?;
            for (name, counter) in expired.iter() {
                counter.encode(metric.encode_family(&[("metric", name.as_str())])?)?;
            }
        }
        Ok(())
    }
}

/// An exposition format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum Format {
    /// The Prometheus text format, version 0.0.4.
    #[default]
    Prometheus,
    /// OpenMetrics 1.0 text.
    OpenMetrics,
}

/// The items of an HTTP list header with quality values (`Accept`,
/// `Accept-Encoding`): each item's first part, trimmed, with its `q`
/// (1 when absent; 0 when it does not parse or is outside 0 to 1, so a
/// malformed weight never selects anything). Other parameters are
/// skipped.
///
/// ```
/// use alerting_core::metrics::quality_list;
///
/// let items: Vec<_> = quality_list("gzip;q=0.5, br , *;q=x").collect();
/// assert_eq!(items, [("gzip", 0.5), ("br", 1.0), ("*", 0.0)]);
/// ```
pub fn quality_list(header: &str) -> impl Iterator<Item = (&str, f32)> {
    header.split(',').map(|item| {
        let mut parts = item.split(';');
        let token = parts.next().unwrap_or("").trim();
        let mut q = 1.0f32;
        for param in parts {
            if let Some((k, v)) = param.split_once('=')
                && k.trim().eq_ignore_ascii_case("q")
            {
                q = v
                    .trim()
                    .parse()
                    .ok()
                    .filter(|q: &f32| (0.0..=1.0).contains(q))
                    .unwrap_or(0.0);
            }
        }
        (token, q)
    })
}

impl Format {
    /// The `Content-Type` to serve this format with.
    pub fn content_type(self) -> &'static str {
        match self {
            Format::Prometheus => "text/plain; version=0.0.4; charset=utf-8",
            Format::OpenMetrics => "application/openmetrics-text; version=1.0.0; charset=utf-8",
        }
    }

    /// Chooses a format from an HTTP `Accept` header: OpenMetrics when the
    /// client prefers it (by `q`), the Prometheus text format otherwise,
    /// including for a header that does not parse.
    ///
    /// ```
    /// use alerting_core::metrics::Format;
    ///
    /// let prometheus = "application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";
    /// assert_eq!(Format::from_accept(prometheus), Format::OpenMetrics);
    /// assert_eq!(Format::from_accept("text/plain"), Format::Prometheus);
    /// assert_eq!(Format::from_accept(";;;=q,,"), Format::Prometheus);
    /// ```
    pub fn from_accept(accept: &str) -> Format {
        let mut best_openmetrics = 0.0f32;
        let mut best_text = 0.0f32;
        for (media, q) in quality_list(accept) {
            match media.to_ascii_lowercase().as_str() {
                "application/openmetrics-text" => best_openmetrics = best_openmetrics.max(q),
                "text/plain" | "text/*" | "*/*" => best_text = best_text.max(q),
                _ => {}
            }
        }
        if best_openmetrics > 0.0 && best_openmetrics >= best_text {
            Format::OpenMetrics
        } else {
            Format::Prometheus
        }
    }
}
