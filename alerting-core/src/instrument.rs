//! What `#[instrumented]` records, and the runtime its expansion calls.
//!
//! `#[instrumented]` on a function (async or not) records, per call:
//!
//! | metric (default name) | type | labels |
//! |---|---|---|
//! | [`DEFAULT_CALLS`] `function_calls_total` | counter | `function`, `module`, static labels, `outcome` (and `error_kind` on errors whose type says) |
//! | [`DEFAULT_DURATION`] `function_call_duration_seconds` | histogram | `function`, `module`, static labels |
//! | [`DEFAULT_IN_FLIGHT`] `function_calls_in_flight` (when asked) | gauge | `function`, `module`, static labels |
//!
//! `outcome` is one of `ok`, `error` (an `Err`, or what a predicate says),
//! `panic` (the panic goes on unchanged) and `cancelled` (an async call
//! whose future was dropped before it finished). The duration is recorded
//! for every outcome.
//!
//! ```
//! use alerting_core::instrumented;
//! use alerting_core::metrics::{Format, Registry};
//!
//! #[instrumented(labels(chain = "bsc"))]
//! fn parse_amount(raw: &str) -> Result<u64, std::num::ParseIntError> {
//!     raw.parse()
//! }
//!
//! parse_amount("42")?;
//! assert!(parse_amount("4x2").is_err());
//!
//! let text = Registry::global().encode_to_string(Format::Prometheus)?;
//! assert!(text.contains(r#"function="parse_amount""#));
//! assert!(text.contains(r#"chain="bsc",outcome="ok"} 1"#));
//! assert!(text.contains(r#"chain="bsc",outcome="error"} 1"#));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Every call site is collected at link time ([`call_sites`] lists them,
//! with their options). [`Registry::set_global`] (and so the bootstrap)
//! registers the sites of the default registry at once: their families and
//! zero series (calls at 0 per outcome, the duration histogram at count 0,
//! in-flight at 0) are exported before any call, so `rate()` and
//! `absent()` over them mean something from start-up. Sites with
//! `registry = path` are registered by
//! [`Registry::register_call_sites`], or on their first call. Rules and
//! dashboards name a function through [`Instrumented::function`], which
//! knows its names and options and turns a misspelt name into an error.
//!
//! A call site's series are resolved once and kept in a `static`: a call
//! costs two clock reads and a few relaxed atomic adds. No lock, hash,
//! allocation or formatting per call.
//!
//! Metrics go to [`Registry::global`] unless the attribute names another
//! registry (`registry = path::to::fn`, a `fn() -> &'static Registry`).
//! A test can run instrumented code against a registry of its own with
//! [`Registry::in_scope`] or [`Registry::enter_scope`]: every call site,
//! with or without `registry = …`, then records the calls that start on the
//! test's thread there, and nowhere else.
//! If a family cannot be registered (its name is taken by another metric,
//! or breaks a rule the macro could not check), the call site still runs
//! and counts, its series are not exported, and the error is logged with
//! `tracing` once and kept in [`Registry::instrumentation_errors`].
//!
//! # Exemplars
//!
//! The duration histogram can carry an exemplar per bucket (see
//! [`metrics::exemplar`](crate::metrics::exemplar)), written in the
//! OpenMetrics exposition, so that a slow bucket leads to one of its calls:
//!
//! - `#[instrumented(exemplar = tx_hash)]` attaches the argument `tx_hash`
//!   (its `Display` text, under the label `tx_hash`);
//!   `#[instrumented(exemplar(tx_hash = swap.tx))]` a field of an argument,
//!   under the label given. The argument is borrowed before the body runs
//!   and formatted only when the call's bucket takes a new exemplar, at
//!   most once per bucket between two scrapes: take it by reference (or as
//!   a `Copy` value). A value longer than
//!   [`MAX_EXEMPLAR_CHARS`](crate::metrics::MAX_EXEMPLAR_CHARS) is not
//!   attached.
//! - Otherwise, with the `otlp` feature, the exemplar is the current span's
//!   OpenTelemetry trace id (`trace_id`), when that span belongs to a
//!   sampled trace. A call without one leaves the bucket alone; the span is
//!   then looked at again after the next scrape, not on every call.
//!
//! A call whose bucket already holds an exemplar that no scrape has read
//! pays one relaxed load for it; without the option and without the
//! feature, nothing changes.
//!
//! ```
//! use alerting_core::instrumented;
//! use alerting_core::metrics::{Format, Registry};
//!
//! #[instrumented(exemplar = tx_hash)]
//! fn check_swap(tx_hash: &str) -> bool {
//!     tx_hash.starts_with("0x")
//! }
//!
//! let registry = Registry::new();
//! registry.in_scope(|| check_swap("0x5c50e1d2"));
//! let text = registry.encode_to_string(Format::OpenMetrics)?;
//! assert!(text.contains(r#"# {tx_hash="0x5c50e1d2"}"#), "{text}");
//! # Ok::<(), alerting_core::metrics::MetricsError>(())
//! ```
//!
//! # Error kinds
//!
//! An error type may implement [`ErrorKind`] to add a bounded
//! `error_kind` label to error outcomes. The value is a `&'static str` the
//! type chooses (never the error's `Display` text). A call site keeps at
//! most [`MAX_ERROR_KINDS`] kinds; further kinds count as `other`.
//!
//! ```
//! use alerting_core::instrument::ErrorKind;
//!
//! #[derive(Debug)]
//! enum RpcError { Timeout, RateLimited, Decode(String) }
//!
//! impl ErrorKind for RpcError {
//!     fn error_kind(&self) -> &'static str {
//!         match self {
//!             RpcError::Timeout => "timeout",
//!             RpcError::RateLimited => "rate_limited",
//!             RpcError::Decode(_) => "decode",
//!         }
//!     }
//! }
//! # let _ = RpcError::Decode(String::new());
//! # let _ = (RpcError::Timeout.error_kind(), RpcError::RateLimited.error_kind());
//! ```

use std::fmt;
use std::sync::{Arc, OnceLock, PoisonError, RwLock};

use std::sync::atomic::Ordering;

use prometheus_client::encoding::{
    EncodeLabelSet, EncodeMetric, LabelSetEncoder, MetricEncoder, NoLabelSet,
};
use prometheus_client::metrics::MetricType;

use crate::clock;
use crate::metrics::exemplar::{Exemplars, Marked};
use crate::metrics::{
    Buckets, Counter, EnumLabel, MetricKind, MetricOrigin, MetricRef, MetricsError, Outcome,
    Registry, Stripes, any_scope_active, encode_histogram, encode_label, scoped_registry, stripe,
};

/// Default name of the call counter.
pub const DEFAULT_CALLS: &str = "function_calls_total";
/// Default name of the duration histogram.
pub const DEFAULT_DURATION: &str = "function_call_duration_seconds";
/// Default name of the in-flight gauge.
pub const DEFAULT_IN_FLIGHT: &str = "function_calls_in_flight";
/// Default name of the outcome label.
pub const DEFAULT_OUTCOME_LABEL: &str = "outcome";
/// Name of the error-kind label.
pub const ERROR_KIND_LABEL: &str = "error_kind";
/// Error kinds a call site keeps before counting new ones as `other`.
pub const MAX_ERROR_KINDS: usize = 8;
/// The error kind recorded past [`MAX_ERROR_KINDS`].
pub const OTHER_ERROR_KIND: &str = "other";

/// The outcomes of `#[instrumented]` that count as errors in ratios and
/// SLOs: `error` and `panic` (it records no `timeout`: a deadline the
/// function gives up on is an `error`). A `cancelled` call (its caller
/// dropped the future) is neither an error nor a success, and is left out
/// of both sides of a ratio.
pub const ERROR_OUTCOMES: &str = "error|panic";

/// References to the families `#[instrumented]` writes into a registry,
/// for rules and dashboards (`alerting-rules` adds the `errors()` and
/// `finished()` selectors), and to each linked `#[instrumented]` function
/// ([`function`](Self::function)).
///
/// What the attributes declare (static labels, which functions have an
/// in-flight gauge, names, buckets) comes from the linked call sites
/// ([`call_sites`]): nothing is restated.
///
/// ```
/// use alerting_core::instrumented;
/// use alerting_core::metrics::Registry;
/// use alerting_core::instrument::Instrumented;
///
/// #[instrumented(in_flight, labels(chain = "bsc"))]
/// fn create_order() {}
///
/// let registry = Registry::builder().namespace("bsc").build()?;
/// // This module's functions (a generator names its service's crate).
/// let fns = Instrumented::new(&registry).within(module_path!());
/// assert_eq!(fns.calls().name(), "bsc_function_calls_total");
/// assert_eq!(fns.calls().label_names(), ["function", "module", "chain", "outcome", "error_kind"]);
/// assert!(fns.has_in_flight("create_order"));
///
/// let create_order = fns.function("create_order")?;
/// assert_eq!(create_order.in_flight().map(|m| m.name()), Some("bsc_function_calls_in_flight"));
///
/// let typo = fns.function("create_ordr").unwrap_err();
/// assert!(typo.to_string().ends_with("did you mean `create_order`?"), "{typo}");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug)]
pub struct Instrumented {
    namespace: Option<String>,
    names: [String; 3],
    labels: Vec<String>,
    outcome_label: String,
    buckets: Vec<f64>,
    calls: MetricRef,
    duration: MetricRef,
    in_flight: MetricRef,
    sites: Vec<&'static CallSite>,
    in_flight_functions: Option<Vec<String>>,
}

impl Instrumented {
    /// The default families (`function_calls_total`,
    /// `function_call_duration_seconds`, `function_calls_in_flight`) in
    /// `registry`, with its namespace, and every linked call site
    /// ([`call_sites`]): their static labels are on the families.
    pub fn new(registry: &Registry) -> Self {
        Self::for_sites(registry, call_sites())
    }

    /// Like [`new`](Self::new), with only the call sites given (those of
    /// one registry, say: `call_sites().filter(…)`).
    pub fn for_sites(
        registry: &Registry,
        sites: impl IntoIterator<Item = &'static CallSite>,
    ) -> Self {
        let mut fns = Self {
            namespace: registry.namespace().map(str::to_owned),
            names: [
                DEFAULT_CALLS.to_owned(),
                DEFAULT_DURATION.to_owned(),
                DEFAULT_IN_FLIGHT.to_owned(),
            ],
            labels: Vec::new(),
            outcome_label: DEFAULT_OUTCOME_LABEL.to_owned(),
            buckets: Buckets::latency().bounds().to_vec(),
            calls: MetricRef::up(),
            duration: MetricRef::up(),
            in_flight: MetricRef::up(),
            sites: sites.into_iter().collect(),
            in_flight_functions: None,
        };
        fns.labels_from_sites();
        fns.rebuild();
        fns
    }

    /// Keeps only the call sites in `module` or its submodules (a crate's
    /// name keeps that crate's functions): a generator that links several
    /// services' crates describes one of them.
    ///
    /// ```
    /// use alerting_core::instrumented;
    /// use alerting_core::metrics::Registry;
    /// use alerting_core::instrument::Instrumented;
    ///
    /// mod orders {
    ///     #[alerting_core::instrumented]
    ///     pub fn create_order() {}
    /// }
    /// #[instrumented]
    /// fn elsewhere() {}
    ///
    /// let fns = Instrumented::new(&Registry::new()).within(module_path!());
    /// assert!(fns.function("create_order").is_ok());
    /// let orders = fns.within(&format!("{}::orders", module_path!()));
    /// assert!(orders.function("elsewhere").is_err());
    /// ```
    #[must_use]
    pub fn within(mut self, module: &str) -> Self {
        self.sites.retain(|s| {
            s.module()
                .strip_prefix(module)
                .is_some_and(|rest| rest.is_empty() || rest.starts_with("::"))
        });
        self.labels_from_sites();
        self.rebuild();
        self
    }

    /// The static label names of the sites, in order of first appearance.
    fn labels_from_sites(&mut self) {
        self.labels.clear();
        for (name, _) in self.sites.iter().flat_map(|s| s.labels()) {
            if !self.labels.iter().any(|l| l == name) {
                self.labels.push((*name).to_owned());
            }
        }
    }

    /// The call sites these references know.
    pub fn sites(&self) -> &[&'static CallSite] {
        &self.sites
    }

    /// The linked `#[instrumented]` function whose `function` label is
    /// `name`, with its own metric names, labels and buckets.
    ///
    /// # Errors
    ///
    /// [`InstrumentError::UnknownFunction`] when no call site has that
    /// name, naming the closest one; [`InstrumentError::Ambiguous`] when
    /// call sites in more than one module have it (their series share the
    /// `function` label, so rules would count them together).
    pub fn function(&self, name: &str) -> Result<InstrumentedFn, InstrumentError> {
        let mut matching = self.sites.iter().filter(|s| s.function() == name);
        let Some(site) = matching.next() else {
            return Err(InstrumentError::UnknownFunction {
                name: name.to_owned(),
                suggestion: closest(name, self.sites.iter().map(|s| s.function()))
                    .map(str::to_owned),
            });
        };
        let mut modules = vec![site.module()];
        for other in matching {
            if !modules.contains(&other.module()) {
                modules.push(other.module());
            }
        }
        if modules.len() > 1 {
            return Err(InstrumentError::Ambiguous {
                name: name.to_owned(),
                modules: modules.into_iter().map(str::to_owned).collect(),
            });
        }
        Ok(InstrumentedFn::new(self.namespace.as_deref(), site))
    }

    /// Declares which functions have the attribute's `in_flight` option.
    #[deprecated(
        since = "0.1.0",
        note = "known from the linked call sites: `Instrumented::new(&registry)` alone"
    )]
    #[must_use]
    pub fn with_in_flight(mut self, functions: &[&str]) -> Self {
        self.in_flight_functions = Some(functions.iter().map(|f| (*f).to_owned()).collect());
        self
    }

    /// Whether `function` writes the in-flight gauge: a linked call site
    /// of that name has the `in_flight` option.
    pub fn has_in_flight(&self, function: &str) -> bool {
        match &self.in_flight_functions {
            Some(names) => names.iter().any(|n| n == function),
            None => self
                .sites
                .iter()
                .any(|s| s.function() == function && s.has_in_flight()),
        }
    }

    /// Whether any function writes the in-flight gauge.
    pub fn any_in_flight(&self) -> bool {
        match &self.in_flight_functions {
            Some(names) => !names.is_empty(),
            None => self.sites.iter().any(|s| s.has_in_flight()),
        }
    }

    /// Adds static label names to the families.
    #[deprecated(
        since = "0.1.0",
        note = "known from the linked call sites: `Instrumented::new(&registry)` alone"
    )]
    #[must_use]
    pub fn with_labels(mut self, labels: &[&str]) -> Self {
        for l in labels {
            if !self.labels.iter().any(|x| x == l) {
                self.labels.push((*l).to_owned());
            }
        }
        self.rebuild();
        self
    }

    /// Family names other than the defaults (the attribute's `calls`,
    /// `duration` and `in_flight` options), without the namespace, for
    /// the family-wide references ([`calls`](Self::calls)…). A function's
    /// own reference ([`function`](Self::function)) knows its names.
    #[must_use]
    pub fn with_names(mut self, calls: &str, duration: &str, in_flight: &str) -> Self {
        self.names = [calls.to_owned(), duration.to_owned(), in_flight.to_owned()];
        self.rebuild();
        self
    }

    /// The outcome label's name (the attribute's `outcome_label`) of the
    /// family-wide references.
    #[must_use]
    pub fn with_outcome_label(mut self, label: &str) -> Self {
        self.outcome_label = label.to_owned();
        self.rebuild();
        self
    }

    /// The duration buckets (the attribute's `buckets`) of the family-wide
    /// duration reference.
    #[must_use]
    pub fn with_buckets(mut self, buckets: &Buckets) -> Self {
        self.buckets = buckets.bounds().to_vec();
        self.rebuild();
        self
    }

    fn rebuild(&mut self) {
        [self.calls, self.duration, self.in_flight] = refs(
            self.namespace.as_deref(),
            &self.names,
            &self.labels,
            &self.outcome_label,
            &self.buckets,
        );
    }

    /// The calls counter: `function`, `module`, static labels, `outcome`
    /// (and `error_kind` on some errors).
    pub fn calls(&self) -> &MetricRef {
        &self.calls
    }

    /// The duration histogram: `function`, `module`, static labels.
    pub fn duration(&self) -> &MetricRef {
        &self.duration
    }

    /// The in-flight gauge (only written for functions with `in_flight`).
    pub fn in_flight(&self) -> &MetricRef {
        &self.in_flight
    }

    /// The name of the outcome label.
    pub fn outcome_label(&self) -> &str {
        &self.outcome_label
    }
}

/// One linked `#[instrumented]` function, for rules and dashboards: its
/// families with the names, labels and buckets its attribute gave, in a
/// registry's namespace. Made by [`Instrumented::function`].
#[derive(Clone, Debug)]
pub struct InstrumentedFn {
    site: &'static CallSite,
    calls: MetricRef,
    duration: MetricRef,
    in_flight: Option<MetricRef>,
}

impl InstrumentedFn {
    fn new(namespace: Option<&str>, site: &'static CallSite) -> Self {
        let names = [
            site.calls_metric().to_owned(),
            site.duration_metric().to_owned(),
            site.in_flight_metric()
                .unwrap_or(DEFAULT_IN_FLIGHT)
                .to_owned(),
        ];
        let labels: Vec<String> = site.labels().iter().map(|(n, _)| (*n).to_owned()).collect();
        let [calls, duration, in_flight] = refs(
            namespace,
            &names,
            &labels,
            site.outcome_label(),
            site.buckets().bounds(),
        );
        Self {
            site,
            calls,
            duration,
            in_flight: site.has_in_flight().then_some(in_flight),
        }
    }

    /// The `function` label's value.
    pub fn name(&self) -> &'static str {
        self.site.function()
    }

    /// The call site.
    pub fn site(&self) -> &'static CallSite {
        self.site
    }

    /// Its calls counter (every function's series: select on `function`).
    pub fn calls(&self) -> &MetricRef {
        &self.calls
    }

    /// Its duration histogram, with its buckets.
    pub fn duration(&self) -> &MetricRef {
        &self.duration
    }

    /// Its in-flight gauge, if the attribute has `in_flight`.
    pub fn in_flight(&self) -> Option<&MetricRef> {
        self.in_flight.as_ref()
    }

    /// The name of its outcome label.
    pub fn outcome_label(&self) -> &'static str {
        self.site.outcome_label()
    }
}

/// Why a reference to an `#[instrumented]` function could not be made.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum InstrumentError {
    /// No linked call site has this `function` label.
    #[error("no `#[instrumented]` function `{name}` is linked into this program{}", did_you_mean(.suggestion.as_deref()))]
    UnknownFunction {
        /// The name asked for.
        name: String,
        /// The closest linked function name (edit distance), if any.
        suggestion: Option<String>,
    },
    /// Call sites in several modules have this `function` label: their
    /// series are one and the same to a rule that selects by it.
    #[error(
        "`#[instrumented]` functions named `{name}` are linked from several modules ({}): \
         their series share `function=\"{name}\"`; give each its own name with \
         `#[instrumented(function = \"…\")]`, or describe one crate with `Instrumented::within`",
        .modules.join(", ")
    )]
    Ambiguous {
        /// The name asked for.
        name: String,
        /// The modules of the call sites that have it, in link order.
        modules: Vec<String>,
    },
}

fn did_you_mean(suggestion: Option<&str>) -> String {
    match suggestion {
        Some(s) => format!("; did you mean `{s}`?"),
        None => "; none is: does this program use the crate that defines them?".to_owned(),
    }
}

/// The candidate closest to `name` by edit distance (ties: the first).
fn closest<'a>(name: &str, candidates: impl Iterator<Item = &'a str>) -> Option<&'a str> {
    candidates.min_by_key(|c| edit_distance(name, c))
}

/// Levenshtein distance, on chars.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let above = row[j + 1];
            row[j + 1] = (above + 1)
                .min(row[j] + 1)
                .min(diagonal + usize::from(ca != *cb));
            diagonal = above;
        }
    }
    row[b.len()]
}

fn refs(
    namespace: Option<&str>,
    names: &[String; 3],
    labels: &[String],
    outcome_label: &str,
    buckets: &[f64],
) -> [MetricRef; 3] {
    let full = |name: &str| match namespace {
        Some(ns) => format!("{ns}_{name}"),
        None => name.to_owned(),
    };
    let mut base = vec!["function".to_owned(), "module".to_owned()];
    base.extend(labels.iter().cloned());
    let mut calls_labels = base.clone();
    calls_labels.push(outcome_label.to_owned());
    calls_labels.push(ERROR_KIND_LABEL.to_owned());
    [
        MetricRef::new(
            full(&names[0]),
            MetricKind::Counter,
            calls_labels,
            MetricOrigin::Instrumented,
            None,
        ),
        MetricRef::new(
            full(&names[1]),
            MetricKind::Histogram,
            base.clone(),
            MetricOrigin::Instrumented,
            Some(buckets.to_vec()),
        ),
        MetricRef::new(
            full(&names[2]),
            MetricKind::Gauge,
            base,
            MetricOrigin::Instrumented,
            None,
        ),
    ]
}

/// A bounded classification of an error, for the `error_kind` label.
pub trait ErrorKind {
    /// A short `snake_case` name of this kind of error. Must come from a
    /// small fixed set: it becomes a label value.
    fn error_kind(&self) -> &'static str;
}

/// How a call ended, as the expansion classifies it.
#[doc(hidden)]
#[derive(Clone, Copy, Debug)]
pub struct Classified {
    is_error: bool,
    kind: Option<&'static str>,
}

impl Classified {
    /// An outcome: error or not, with the error's kind if it has one.
    #[inline]
    pub fn new(is_error: bool, kind: Option<&'static str>) -> Self {
        Self { is_error, kind }
    }
}

/// Histogram buckets of a call site, as the attribute gave them.
#[doc(hidden)]
#[derive(Clone, Copy, Debug)]
pub enum SiteBuckets {
    /// [`Buckets::latency`].
    Default,
    /// A preset function.
    Preset(fn() -> Buckets),
    /// A list, checked by the macro.
    List(&'static [f64]),
}

/// Everything the macro knows about a call site.
#[doc(hidden)]
#[derive(Debug)]
pub struct SiteMeta {
    pub function: &'static str,
    pub module: &'static str,
    pub calls: &'static str,
    pub duration: &'static str,
    pub in_flight: Option<&'static str>,
    pub outcome_label: &'static str,
    pub labels: &'static [(&'static str, &'static str)],
    pub buckets: SiteBuckets,
    pub help: Option<&'static str>,
    pub registry: SiteRegistry,
}

/// Which registry a call site records into: the attribute's `registry`
/// option.
#[derive(Clone, Copy, Debug)]
pub enum SiteRegistry {
    /// [`Registry::global`] (no `registry = …` option).
    Global,
    /// `registry = path`: a `fn() -> &'static Registry`.
    Custom {
        /// The path as written in the attribute (`crate::metrics::registry`).
        path: &'static str,
        /// The function.
        get: fn() -> &'static Registry,
    },
}

impl SiteRegistry {
    /// Whether the site records into the process-wide default registry.
    pub fn is_global(&self) -> bool {
        matches!(self, SiteRegistry::Global)
    }
}

/// One `#[instrumented]` function, as the attribute declared it: the
/// `static` each expansion declares, registered at link time in the list
/// [`call_sites`] returns.
///
/// ```
/// use alerting_core::instrumented;
/// use alerting_core::instrument::call_sites;
///
/// #[instrumented(in_flight, labels(chain = "bsc"))]
/// fn process_swap() {}
///
/// let site = call_sites().find(|s| s.function() == "process_swap").unwrap();
/// assert_eq!(site.labels(), [("chain", "bsc")]);
/// assert_eq!(site.calls_metric(), "function_calls_total");
/// assert_eq!(site.in_flight_metric(), Some("function_calls_in_flight"));
/// assert!(site.registry().is_global());
/// ```
#[derive(Debug)]
pub struct CallSite {
    meta: SiteMeta,
    handles: OnceLock<SiteHandles>,
}

/// Cells of a call site's stats row, per stripe.
const OUTCOMES: usize = 0; // 5 cells, by `Outcome::index()`
const IN_FLIGHT: usize = 5;
const SUM_NANOS: usize = 6;
const BUCKETS: usize = 7; // one per bound, then `+Inf`

/// Everything a call writes, striped so that calls on different cores do
/// not share cache lines: per stripe, the outcome counts, the in-flight
/// count, the duration sum (ns) and the bucket counts.
pub(crate) struct SiteStats {
    bounds: Buckets,
    /// The bounds in nanoseconds: a value is in bucket `i` when
    /// `nanos <= bounds_ns[i]` (exactly the `le` test on seconds).
    bounds_ns: Box<[u64]>,
    cells: Stripes,
    /// The duration histogram's exemplars, one per bucket.
    exemplars: Exemplars,
}

impl SiteStats {
    fn new(bounds: Buckets) -> Self {
        let bounds_ns = bounds
            .bounds()
            .iter()
            .map(|b| {
                let ns = (b * 1e9).floor();
                if ns <= 0.0 {
                    0
                } else if ns >= u64::MAX as f64 {
                    u64::MAX
                } else {
                    ns as u64
                }
            })
            .collect();
        let cells = Stripes::new(BUCKETS + bounds.bounds().len() + 1);
        let exemplars = Exemplars::new(bounds.bounds().len() + 1);
        Self {
            bounds,
            bounds_ns,
            cells,
            exemplars,
        }
    }

    /// Records a call; returns its duration's bucket.
    #[inline]
    fn record(&self, outcome: Option<Outcome>, nanos: u64) -> usize {
        let stripe = stripe();
        let bucket = self.bounds_ns.partition_point(|&b| b < nanos);
        let cells = &self.cells;
        cells
            .local(stripe, BUCKETS + bucket)
            .fetch_add(1, Ordering::Relaxed);
        cells
            .local(stripe, SUM_NANOS)
            .fetch_add(nanos, Ordering::Relaxed);
        if let Some(outcome) = outcome {
            cells
                .local(stripe, OUTCOMES + outcome.index())
                .fetch_add(1, Ordering::Relaxed);
        }
        bucket
    }

    #[inline]
    fn in_flight_add(&self, delta: i64) {
        // Two's complement: an inc on one stripe and the dec on another
        // (a task that moved threads) still sum to zero.
        self.cells
            .local(stripe(), IN_FLIGHT)
            .fetch_add(delta as u64, Ordering::Relaxed);
    }

    fn outcome(&self, outcome: Outcome) -> u64 {
        self.cells.sum(OUTCOMES + outcome.index())
    }

    fn in_flight(&self) -> i64 {
        self.cells.sum(IN_FLIGHT) as i64
    }

    fn encode_duration(&self, encoder: &mut MetricEncoder<'_>) -> Result<(), fmt::Error> {
        let n = self.bounds.bounds().len() + 1;
        let sum = self.cells.sum(SUM_NANOS) as f64 / 1e9;
        encode_histogram(
            encoder,
            self.bounds.bounds(),
            (0..n).map(|i| self.cells.sum(BUCKETS + i)),
            sum,
        )
    }
}

pub(crate) struct SiteHandles {
    stats: Arc<SiteStats>,
    in_flight: bool,
    kinds: [OnceLock<(&'static str, Counter)>; MAX_ERROR_KINDS],
    other_kind: OnceLock<Counter>,
    /// Where new error-kind series are registered (None: detached).
    series: Option<Arc<SiteSeries>>,
}

impl fmt::Debug for SiteHandles {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SiteHandles").finish_non_exhaustive()
    }
}

impl CallSite {
    /// A call site; `const` so that it can be a `static`.
    #[doc(hidden)]
    pub const fn new(meta: SiteMeta) -> Self {
        Self {
            meta,
            handles: OnceLock::new(),
        }
    }

    /// The `function` label: the function's name, or the attribute's
    /// `function = "…"`.
    pub fn function(&self) -> &'static str {
        self.meta.function
    }

    /// The `module` label: the module path of the function.
    pub fn module(&self) -> &'static str {
        self.meta.module
    }

    /// The static labels of the attribute's `labels(…)`, in order.
    pub fn labels(&self) -> &'static [(&'static str, &'static str)] {
        self.meta.labels
    }

    /// Whether the site writes the in-flight gauge (the `in_flight` option).
    pub fn has_in_flight(&self) -> bool {
        self.meta.in_flight.is_some()
    }

    /// The calls counter's name, without the registry's namespace.
    pub fn calls_metric(&self) -> &'static str {
        self.meta.calls
    }

    /// The duration histogram's name, without the registry's namespace.
    pub fn duration_metric(&self) -> &'static str {
        self.meta.duration
    }

    /// The in-flight gauge's name, without the registry's namespace
    /// (`None` without the `in_flight` option).
    pub fn in_flight_metric(&self) -> Option<&'static str> {
        self.meta.in_flight
    }

    /// The name of the outcome label.
    pub fn outcome_label(&self) -> &'static str {
        self.meta.outcome_label
    }

    /// The duration buckets.
    pub fn buckets(&self) -> Buckets {
        site_buckets(&self.meta)
    }

    /// The help text of the calls counter, if the attribute gave one.
    pub fn help(&self) -> Option<&'static str> {
        self.meta.help
    }

    /// Which registry the site records into.
    pub fn registry(&self) -> SiteRegistry {
        self.meta.registry
    }

    /// The registry the site records into, outside scopes. For a site of
    /// the default registry this is [`Registry::global`] (created if it
    /// was not set yet); for `registry = path` it calls `path`.
    pub fn target_registry(&self) -> &'static Registry {
        match self.meta.registry {
            SiteRegistry::Global => Registry::global(),
            SiteRegistry::Custom { get, .. } => get(),
        }
    }

    /// The handles in the site's own registry, resolved on first use.
    #[inline]
    fn handles(&'static self) -> &'static SiteHandles {
        self.handles
            .get_or_init(|| self.target_registry().resolve_call_site(&self.meta))
    }

    /// Starts a call: resolves the site on its first call, counts it in
    /// flight and reads the clock.
    #[doc(hidden)]
    // `always`: with the scope check, LLVM sometimes stops inlining it into
    // the expansion (as in the `instrumented` benchmark), and a call then
    // costs a function call more.
    #[inline(always)]
    pub fn start(&'static self, is_async: bool) -> CallGuard {
        // While no scope is open anywhere (always, outside tests), this
        // relaxed load and its branch are all that scopes cost a call.
        if any_scope_active() {
            return self.start_scoped(is_async);
        }
        Self::start_with(self.handles(), is_async)
    }

    /// [`start`](Self::start) while a scope is open somewhere: into this
    /// thread's scoped registry if it has one. Out of line, so that the
    /// usual path stays what it was without scopes.
    #[cold]
    #[inline(never)]
    fn start_scoped(&'static self, is_async: bool) -> CallGuard {
        let handles = match scoped_registry() {
            Some(registry) => registry.scoped_site_handles(self),
            None => self.handles(),
        };
        Self::start_with(handles, is_async)
    }

    /// Counts the call in flight (if the site does) and reads the clock.
    #[inline(always)]
    fn start_with(handles: &'static SiteHandles, is_async: bool) -> CallGuard {
        if handles.in_flight {
            handles.stats.in_flight_add(1);
        }
        CallGuard {
            handles,
            start: clock::now(),
            is_async,
            done: false,
        }
    }
}

/// Records a call when it finishes, or, if dropped unfinished, as `panic`
/// (while unwinding, or for a sync call) or `cancelled` (an async call whose
/// future was dropped).
#[doc(hidden)]
#[derive(Debug)]
#[must_use]
pub struct CallGuard {
    handles: &'static SiteHandles,
    start: u64,
    is_async: bool,
    done: bool,
}

impl CallGuard {
    /// Records the call's outcome and duration, with the current trace id
    /// as the duration's exemplar (with the `otlp` feature).
    #[inline]
    pub fn finish(mut self, classified: Classified) {
        let (bucket, nanos) = self.record(classified);
        #[cfg(feature = "otlp")]
        if self.handles.stats.exemplars.due(bucket) {
            offer_trace_id(&self.handles.stats.exemplars, bucket, nanos);
        }
        #[cfg(not(feature = "otlp"))]
        let _ = (bucket, nanos);
    }

    /// Records the call's outcome and duration, with `label="value"` as
    /// the duration's exemplar (the attribute's `exemplar` option).
    #[inline]
    pub fn finish_with_exemplar<V: fmt::Display + ?Sized>(
        mut self,
        classified: Classified,
        label: &'static str,
        value: &V,
    ) {
        let (bucket, nanos) = self.record(classified);
        let exemplars = &self.handles.stats.exemplars;
        if exemplars.due(bucket) {
            exemplars.offer(bucket, nanos as f64 / 1e9, |w| w.label(label, value));
        }
    }

    #[inline]
    fn record(&mut self, classified: Classified) -> (usize, u64) {
        self.done = true;
        let h = self.handles;
        let nanos = clock::nanos_since(self.start);
        let bucket = if !classified.is_error {
            h.stats.record(Some(Outcome::Ok), nanos)
        } else if let Some(kind) = classified.kind {
            let bucket = h.stats.record(None, nanos);
            h.error_kind_counter(kind).inc();
            bucket
        } else {
            h.stats.record(Some(Outcome::Error), nanos)
        };
        (bucket, nanos)
    }
}

/// Stores the current span's trace id (when it has a sampled OpenTelemetry
/// context) as the exemplar of `bucket`; without one, the bucket is left
/// alone until the next scrape, so a call without a trace pays this once
/// per bucket and scrape, not on every call.
#[cfg(feature = "otlp")]
#[cold]
#[inline(never)]
fn offer_trace_id(exemplars: &Exemplars, bucket: usize, nanos: u64) {
    use opentelemetry::trace::TraceContextExt as _;
    use tracing_opentelemetry::OpenTelemetrySpanExt as _;

    let span = tracing::Span::current();
    let trace_id = if span.is_none() {
        None
    } else {
        let context = span.context();
        let span_ref = context.span();
        let span_context = span_ref.span_context();
        (span_context.is_valid() && span_context.is_sampled()).then(|| span_context.trace_id())
    };
    exemplars.offer(bucket, nanos as f64 / 1e9, |w| match trace_id {
        Some(id) => w.label("trace_id", id),
        None => false,
    });
}

impl Drop for CallGuard {
    #[inline]
    fn drop(&mut self) {
        let h = self.handles;
        if !self.done {
            let outcome = if std::thread::panicking() || !self.is_async {
                Outcome::Panic
            } else {
                Outcome::Cancelled
            };
            h.stats
                .record(Some(outcome), clock::nanos_since(self.start));
        }
        if h.in_flight {
            h.stats.in_flight_add(-1);
        }
    }
}

impl SiteHandles {
    fn detached(buckets: Buckets, in_flight: bool) -> Self {
        Self {
            stats: Arc::new(SiteStats::new(buckets)),
            in_flight,
            kinds: Default::default(),
            other_kind: OnceLock::new(),
            series: None,
        }
    }

    /// The counter of `kind`: a scan of at most [`MAX_ERROR_KINDS`] slots,
    /// comparing pointers first; a new kind registers its series once.
    fn error_kind_counter(&self, kind: &'static str) -> &Counter {
        for slot in &self.kinds {
            let (k, counter) = slot.get_or_init(|| (kind, self.new_kind_series(kind)));
            if std::ptr::eq(*k, kind) || *k == kind {
                return counter;
            }
        }
        self.other_kind
            .get_or_init(|| self.new_kind_series(OTHER_ERROR_KIND))
    }

    fn new_kind_series(&self, kind: &'static str) -> Counter {
        let counter = Counter::default();
        if let Some(series) = &self.series {
            series
                .kinds
                .write()
                .unwrap_or_else(PoisonError::into_inner)
                .push((kind, counter.clone()));
        }
        counter
    }
}

/// What one call site contributes to its families: a view of its stats.
pub(crate) struct SiteSeries {
    meta: &'static SiteMeta,
    stats: Arc<SiteStats>,
    kinds: RwLock<Vec<(&'static str, Counter)>>,
}

/// Labels of one series of a call site.
struct SiteLabels<'a> {
    meta: &'a SiteMeta,
    outcome: Option<(&'static str, &'static str)>,
    kind: Option<&'a str>,
}

impl EncodeLabelSet for SiteLabels<'_> {
    fn encode(&self, encoder: &mut LabelSetEncoder<'_>) -> Result<(), fmt::Error> {
        encode_label(encoder, "function", &self.meta.function)?;
        encode_label(encoder, "module", &self.meta.module)?;
        for (name, value) in self.meta.labels {
            encode_label(encoder, name, value)?;
        }
        if let Some((name, value)) = self.outcome {
            encode_label(encoder, name, &value)?;
        }
        if let Some(kind) = self.kind {
            encode_label(encoder, ERROR_KIND_LABEL, &kind)?;
        }
        Ok(())
    }
}

/// A family of per-call-site series, shared by every call site that names it.
pub(crate) struct SiteFamily<W> {
    kind: MetricKind,
    sites: RwLock<Vec<Arc<SiteSeries>>>,
    _writes: std::marker::PhantomData<W>,
}

impl<W> SiteFamily<W> {
    pub(crate) fn new(kind: MetricKind) -> Self {
        Self {
            kind,
            sites: RwLock::new(Vec::new()),
            _writes: std::marker::PhantomData,
        }
    }

    fn push(&self, site: Arc<SiteSeries>) {
        self.sites
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .push(site);
    }
}

impl<W> fmt::Debug for SiteFamily<W> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SiteFamily")
            .field("kind", &self.kind)
            .finish_non_exhaustive()
    }
}

/// Marks what a site family writes from each site's stats.
#[derive(Debug)]
pub(crate) enum Calls {}
/// The duration histogram.
#[derive(Debug)]
pub(crate) enum Duration {}
/// The in-flight gauge.
#[derive(Debug)]
pub(crate) enum InFlight {}

/// Calls families write every outcome of every site.
pub(crate) type CallsFamily = SiteFamily<Calls>;
/// Duration families write a histogram per site.
pub(crate) type DurationFamily = SiteFamily<Duration>;
/// In-flight families write a gauge per site.
pub(crate) type InFlightFamily = SiteFamily<InFlight>;

impl EncodeMetric for CallsFamily {
    fn encode(&self, mut encoder: MetricEncoder<'_>) -> Result<(), fmt::Error> {
        let sites = self.sites.read().unwrap_or_else(PoisonError::into_inner);
        for site in sites.iter() {
            for outcome in Outcome::VALUES {
                let count = site.stats.outcome(*outcome);
                // `timeout` is not an outcome `#[instrumented]` records itself.
                if *outcome == Outcome::Timeout && count == 0 {
                    continue;
                }
                let labels = SiteLabels {
                    meta: site.meta,
                    outcome: Some((site.meta.outcome_label, outcome.as_str())),
                    kind: None,
                };
                encoder
                    .encode_family(&labels)?
                    .encode_counter::<NoLabelSet, _, u64>(&count, None)?;
            }
            let kinds = site.kinds.read().unwrap_or_else(PoisonError::into_inner);
            for (kind, counter) in kinds.iter() {
                let labels = SiteLabels {
                    meta: site.meta,
                    outcome: Some((site.meta.outcome_label, Outcome::Error.as_str())),
                    kind: Some(kind),
                };
                counter.encode(encoder.encode_family(&labels)?)?;
            }
        }
        Ok(())
    }

    fn metric_type(&self) -> MetricType {
        MetricType::Counter
    }
}

impl EncodeMetric for DurationFamily {
    fn encode(&self, mut encoder: MetricEncoder<'_>) -> Result<(), fmt::Error> {
        let sites = self.sites.read().unwrap_or_else(PoisonError::into_inner);
        for site in sites.iter() {
            let labels = SiteLabels {
                meta: site.meta,
                outcome: None,
                kind: None,
            };
            match site.stats.exemplars.marker(false) {
                Some(marker) => site
                    .stats
                    .encode_duration(&mut encoder.encode_family(&Marked(&labels, marker))?)?,
                None => site
                    .stats
                    .encode_duration(&mut encoder.encode_family(&labels)?)?,
            }
        }
        Ok(())
    }

    fn metric_type(&self) -> MetricType {
        MetricType::Histogram
    }
}

impl EncodeMetric for InFlightFamily {
    fn encode(&self, mut encoder: MetricEncoder<'_>) -> Result<(), fmt::Error> {
        let sites = self.sites.read().unwrap_or_else(PoisonError::into_inner);
        for site in sites.iter() {
            let labels = SiteLabels {
                meta: site.meta,
                outcome: None,
                kind: None,
            };
            encoder
                .encode_family(&labels)?
                .encode_gauge(&site.stats.in_flight())?;
        }
        Ok(())
    }

    fn metric_type(&self) -> MetricType {
        MetricType::Gauge
    }
}

/// The label names a call site writes, for the registry's checks.
fn site_label_names(meta: &SiteMeta, with_outcome: bool) -> Vec<&'static str> {
    let mut names = vec!["function", "module"];
    names.extend(meta.labels.iter().map(|(n, _)| *n));
    if with_outcome {
        names.push(meta.outcome_label);
    }
    names
}

impl Registry {
    /// The handles of `site` in this registry as a scoped one, resolved on
    /// the site's first call in a scope of this registry and kept (leaked:
    /// the guards of calls hold `&'static` handles) for the next ones.
    fn scoped_site_handles(&self, site: &'static CallSite) -> &'static SiteHandles {
        let key = std::ptr::from_ref(site).addr();
        let sites = || {
            self.scoped_sites()
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
        };
        let cached = sites().get(&key).copied();
        let cell = cached.unwrap_or_else(|| {
            // Called without the lock held: it is the user's function.
            let own = self.same_as(site.target_registry());
            *sites().entry(key).or_insert_with(|| {
                if own {
                    // A scope of the site's own registry: its usual
                    // series, not a second set of them.
                    &site.handles
                } else {
                    Box::leak(Box::default())
                }
            })
        });
        // Resolved without the lock held too, as the site's own handles
        // are: a call made while resolving (from a `tracing` subscriber,
        // say) does not wait for this one.
        cell.get_or_init(|| self.resolve_call_site(&site.meta))
    }

    /// Resolves a call site: registers its families on first use, adds the
    /// site's series, and returns the handles. Never fails: on an error the
    /// handles are detached (they count, nothing exports them).
    fn resolve_call_site(&self, meta: &'static SiteMeta) -> SiteHandles {
        let buckets = site_buckets(meta);
        let mut handles = SiteHandles::detached(buckets, meta.in_flight.is_some());
        let help = meta
            .help
            .unwrap_or("Calls of instrumented functions, by outcome");

        let result = (|| -> Result<(), MetricsError> {
            let calls: Arc<CallsFamily> = self.site_family(
                meta.calls,
                help,
                MetricKind::Counter,
                &site_label_names(meta, true),
            )?;
            let duration: Arc<DurationFamily> = self.site_family(
                meta.duration,
                "Duration of instrumented function calls, every outcome included",
                MetricKind::Histogram,
                &site_label_names(meta, false),
            )?;
            let in_flight: Option<Arc<InFlightFamily>> = match meta.in_flight {
                Some(name) => Some(self.site_family(
                    name,
                    "Calls of instrumented functions in progress",
                    MetricKind::Gauge,
                    &site_label_names(meta, false),
                )?),
                None => None,
            };
            let series = Arc::new(SiteSeries {
                meta,
                stats: Arc::clone(&handles.stats),
                kinds: RwLock::new(Vec::new()),
            });
            calls.push(Arc::clone(&series));
            duration.push(Arc::clone(&series));
            if let Some(family) = in_flight {
                family.push(Arc::clone(&series));
            }
            handles.series = Some(series);
            Ok(())
        })();
        if let Err(err) = result {
            tracing::error!(
                function = meta.function,
                module = meta.module,
                error = %err,
                "#[instrumented] metrics of this function cannot be exported"
            );
            self.record_instrumentation_error(format!("{}::{}: {err}", meta.module, meta.function));
        }
        handles
    }
}

fn site_buckets(meta: &SiteMeta) -> Buckets {
    match meta.buckets {
        SiteBuckets::Default => Buckets::latency(),
        SiteBuckets::Preset(f) => f(),
        // Checked by the macro; the fallback is never taken.
        SiteBuckets::List(list) => {
            Buckets::new(list.iter().copied()).unwrap_or_else(|_| Buckets::latency())
        }
    }
}

/// The call sites the linker collected: one `&CallSite` per expansion of
/// `#[instrumented]` in every crate linked into the program.
// linkme's declaration and its elements place statics in a link section
// (an unsafe attribute); nothing here is unsafe to use.
#[allow(unsafe_code)]
mod linked {
    use super::CallSite;

    #[linkme::distributed_slice]
    #[doc(hidden)]
    pub static CALL_SITES: [&'static CallSite];
}

#[doc(hidden)]
pub use linked::CALL_SITES;

/// Every `#[instrumented]` function linked into this program, collected at
/// link time (a [`linkme`] distributed slice): no call is needed to
/// know them. The order is unspecified.
///
/// A linker only keeps what the program references: call sites of a
/// library crate are listed when the program uses something of theirs
/// (a rule generator that calls into the service's library does).
///
/// ```
/// use alerting_core::instrumented;
/// use alerting_core::instrument::call_sites;
///
/// #[instrumented]
/// fn create_order() {}
///
/// assert!(call_sites().any(|site| site.function() == "create_order"));
/// ```
pub fn call_sites() -> impl ExactSizeIterator<Item = &'static CallSite> + Clone {
    CALL_SITES.iter().copied()
}

impl Registry {
    /// Registers the families and zero series of every linked call site
    /// that records into this registry (see [`call_sites`]), so that they
    /// are exported before any call; returns how many sites that was.
    ///
    /// [`Registry::set_global`] does this for the sites of the default
    /// registry. Call it for a registry that `registry = path` sites
    /// name, once it is created (calling it again registers nothing new).
    /// A site of the default registry is registered here only when this
    /// registry is the installed global one: nothing creates the global
    /// registry by accident. It calls each `registry = path` function to
    /// compare registries.
    ///
    /// ```
    /// use std::sync::LazyLock;
    /// use alerting_core::instrumented;
    /// use alerting_core::metrics::{Format, Registry};
    ///
    /// static JOBS: LazyLock<Registry> = LazyLock::new(Registry::new);
    /// fn jobs() -> &'static Registry { &JOBS }
    ///
    /// #[instrumented(registry = jobs)]
    /// fn sweep() {}
    ///
    /// assert_eq!(jobs().register_call_sites(), 1);
    /// let text = jobs().encode_to_string(Format::Prometheus)?;
    /// assert!(text.contains(r#"function="sweep""#) && text.contains(r#"outcome="ok"} 0"#), "{text}");
    /// # Ok::<(), alerting_core::metrics::MetricsError>(())
    /// ```
    pub fn register_call_sites(&self) -> usize {
        let global = Registry::global_if_set();
        let mut registered = 0;
        for site in call_sites() {
            let target = match site.meta.registry {
                SiteRegistry::Global => global,
                SiteRegistry::Custom { get, .. } => Some(get()),
            };
            if target.is_some_and(|t| self.same_as(t)) {
                site.handles();
                registered += 1;
            }
        }
        registered
    }
}

/// Registers the sites of the default registry into it, once it is set.
pub(crate) fn register_global_sites() {
    for site in call_sites().filter(|s| s.meta.registry.is_global()) {
        site.handles();
    }
}

/// The three family kinds a site family can be, for the registry's map.
#[derive(Clone, Debug)]
pub(crate) enum AnySiteFamily {
    Calls(Arc<CallsFamily>),
    Duration(Arc<DurationFamily>),
    InFlight(Arc<InFlightFamily>),
}

/// Converts between a typed site family and the registry's map entry.
pub(crate) trait SiteFamilyKind:
    Sized + EncodeMetric + fmt::Debug + Send + Sync + 'static
{
    fn create(kind: MetricKind) -> Self;
    fn wrap(family: Arc<Self>) -> AnySiteFamily;
    fn unwrap(any: &AnySiteFamily) -> Option<Arc<Self>>;
}

macro_rules! site_family_kind {
    ($family:ty, $variant:ident) => {
        impl SiteFamilyKind for $family {
            fn create(kind: MetricKind) -> Self {
                SiteFamily::new(kind)
            }
            fn wrap(family: Arc<Self>) -> AnySiteFamily {
                AnySiteFamily::$variant(family)
            }
            fn unwrap(any: &AnySiteFamily) -> Option<Arc<Self>> {
                match any {
                    AnySiteFamily::$variant(f) => Some(Arc::clone(f)),
                    _ => None,
                }
            }
        }
    };
}

site_family_kind!(CallsFamily, Calls);
site_family_kind!(DurationFamily, Duration);
site_family_kind!(InFlightFamily, InFlight);

/// Runs the body of a sync instrumented function as an `FnOnce`.
#[doc(hidden)]
#[inline(always)]
pub fn call_once<R>(f: impl FnOnce() -> R) -> R {
    f()
}

/// Autoref-specialised classification, resolved where the return type is
/// concrete (in the expansion).
#[doc(hidden)]
pub mod classify {
    use super::ErrorKind;

    /// Wraps the returned value.
    #[derive(Debug)]
    pub struct Returned<'a, T: ?Sized>(pub &'a T);

    /// Never constructed: the error type of non-`Result` returns.
    #[derive(Debug)]
    pub enum NotAnError {}

    /// `Result`: `Err` is an error.
    pub trait SplitResult<'a> {
        /// The error type.
        type Error: ?Sized;
        /// `Err(&e)` for an error.
        fn __alerting_split(&self) -> Result<(), &'a Self::Error>;
    }

    impl<'a, T, E> SplitResult<'a> for &Returned<'a, Result<T, E>> {
        type Error = E;
        #[inline]
        fn __alerting_split(&self) -> Result<(), &'a E> {
            match self.0 {
                Ok(_) => Ok(()),
                Err(e) => Err(e),
            }
        }
    }

    /// Anything else: not an error.
    pub trait SplitOther<'a> {
        /// Never an error.
        fn __alerting_split(&self) -> Result<(), &'a NotAnError>;
    }

    impl<'a, T: ?Sized> SplitOther<'a> for Returned<'a, T> {
        #[inline]
        fn __alerting_split(&self) -> Result<(), &'a NotAnError> {
            Ok(())
        }
    }

    /// Wraps an error.
    #[derive(Debug)]
    pub struct Error<'a, E: ?Sized>(pub &'a E);

    /// An error type implementing [`ErrorKind`].
    pub trait KindFromTrait {
        /// Its kind.
        fn __alerting_kind(&self) -> Option<&'static str>;
    }

    impl<E: ErrorKind + ?Sized> KindFromTrait for &Error<'_, E> {
        #[inline]
        fn __alerting_kind(&self) -> Option<&'static str> {
            Some(self.0.error_kind())
        }
    }

    /// Any other error type: no kind.
    pub trait KindNone {
        /// No kind.
        fn __alerting_kind(&self) -> Option<&'static str>;
    }

    impl<E: ?Sized> KindNone for Error<'_, E> {
        #[inline]
        fn __alerting_kind(&self) -> Option<&'static str> {
            None
        }
    }
}

impl fmt::Debug for SiteSeries {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SiteSeries")
            .field("function", &self.meta.function)
            .finish_non_exhaustive()
    }
}

#[allow(dead_code)]
fn _assert_send_sync() {
    fn is<T: Send + Sync>() {}
    is::<CallSite>();
    is::<CallsFamily>();
}
