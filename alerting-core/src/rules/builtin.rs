//! References to the families this crate (and Prometheus) write
//! themselves, which a user never registers by hand.
//!
//! `#[instrumented]` registers its families on a function's first call,
//! the health registry and the process collector register theirs when they
//! are set up, the HTTP layer of `alerting-axum` when it is built, and
//! Prometheus writes `up` for every scrape. These functions give rules and
//! dashboards a [`MetricRef`] for each, with the same names and labels the
//! code writes (under the registry's namespace where the code uses it), so
//! a rule pack never spells them out.

use crate::instrument::{
    DEFAULT_CALLS, DEFAULT_DURATION, DEFAULT_IN_FLIGHT, DEFAULT_OUTCOME_LABEL,
};
use crate::metrics::{Buckets, MetricKind, Registry};

use super::expr::Selector;
use super::metric::{MetricRef, Origin};

/// The outcomes of `#[instrumented]` that count as errors in ratios and
/// SLOs: `error`, `panic` and `timeout`. A `cancelled` call (its caller
/// dropped the future) is neither an error nor a success, and is left out
/// of both sides of a ratio.
pub const ERROR_OUTCOMES: &str = "error|panic|timeout";

/// The families `#[instrumented]` writes into a registry.
///
/// ```
/// use alerting_core::metrics::Registry;
/// use alerting_core::rules::builtin::Instrumented;
///
/// let registry = Registry::builder().namespace("bsc").build()?;
/// // `#[instrumented(labels(chain = "bsc"))]` adds a `chain` label.
/// let fns = Instrumented::new(&registry).with_labels(&["chain"]);
/// assert_eq!(fns.calls().name(), "bsc_function_calls_total");
/// assert_eq!(
///     fns.errors().eq("function", "process_swap").to_string(),
///     r#"bsc_function_calls_total{outcome=~"error|panic|timeout", function="process_swap"}"#,
/// );
/// # Ok::<(), alerting_core::metrics::MetricsError>(())
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
    in_flight_functions: Option<Vec<String>>,
}

impl Instrumented {
    /// The default families (`function_calls_total`,
    /// `function_call_duration_seconds`, `function_calls_in_flight`) in
    /// `registry`, with its namespace.
    pub fn new(registry: &Registry) -> Self {
        let namespace = registry.namespace().map(str::to_owned);
        let names = [
            DEFAULT_CALLS.to_owned(),
            DEFAULT_DURATION.to_owned(),
            DEFAULT_IN_FLIGHT.to_owned(),
        ];
        let outcome_label = DEFAULT_OUTCOME_LABEL.to_owned();
        let buckets = Buckets::latency().bounds().to_vec();
        let [calls, duration, in_flight] =
            refs(namespace.as_deref(), &names, &[], &outcome_label, &buckets);
        Self {
            namespace,
            names,
            labels: Vec::new(),
            outcome_label,
            buckets,
            calls,
            duration,
            in_flight,
            in_flight_functions: None,
        }
    }

    /// Declares which functions have the attribute's `in_flight` option
    /// (the others write no in-flight gauge), so that dashboards show an
    /// in-flight panel only for them. Without it, every function is
    /// assumed to have one.
    #[must_use]
    pub fn with_in_flight(mut self, functions: &[&str]) -> Self {
        self.in_flight_functions = Some(functions.iter().map(|f| (*f).to_owned()).collect());
        self
    }

    /// Whether `function` writes the in-flight gauge, as far as declared
    /// with [`with_in_flight`](Self::with_in_flight) (`true` when nothing
    /// was declared).
    pub fn has_in_flight(&self, function: &str) -> bool {
        self.in_flight_functions
            .as_ref()
            .is_none_or(|names| names.iter().any(|n| n == function))
    }

    /// Whether any function writes the in-flight gauge, as far as declared.
    pub fn any_in_flight(&self) -> bool {
        self.in_flight_functions
            .as_ref()
            .is_none_or(|names| !names.is_empty())
    }

    /// The static labels the attribute adds (`labels(chain = "bsc")`).
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
    /// `duration` and `in_flight` options), without the namespace.
    #[must_use]
    pub fn with_names(mut self, calls: &str, duration: &str, in_flight: &str) -> Self {
        self.names = [calls.to_owned(), duration.to_owned(), in_flight.to_owned()];
        self.rebuild();
        self
    }

    /// The outcome label's name (the attribute's `outcome_label`).
    #[must_use]
    pub fn with_outcome_label(mut self, label: &str) -> Self {
        self.outcome_label = label.to_owned();
        self.rebuild();
        self
    }

    /// The duration buckets (the attribute's `buckets`), for latency SLOs.
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

    /// Calls that failed: `outcome=~"error|panic|timeout"`.
    pub fn errors(&self) -> Selector {
        self.calls.select().re(&self.outcome_label, ERROR_OUTCOMES)
    }

    /// Calls that finished (every outcome but `cancelled`): the
    /// denominator of an error ratio.
    pub fn finished(&self) -> Selector {
        self.calls.select().ne(&self.outcome_label, "cancelled")
    }
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
    calls_labels.push(crate::instrument::ERROR_KIND_LABEL.to_owned());
    [
        MetricRef::new(
            full(&names[0]),
            MetricKind::Counter,
            calls_labels,
            Origin::Instrumented,
            None,
        ),
        MetricRef::new(
            full(&names[1]),
            MetricKind::Histogram,
            base.clone(),
            Origin::Instrumented,
            Some(buckets.to_vec()),
        ),
        MetricRef::new(
            full(&names[2]),
            MetricKind::Gauge,
            base,
            Origin::Instrumented,
            None,
        ),
    ]
}

/// `health_check_status{check}`: 1 up, 0.5 degraded, 0 down.
pub fn health_check_status(registry: &Registry) -> MetricRef {
    MetricRef::new(
        registry.full_name("health_check_status"),
        MetricKind::Gauge,
        vec!["check".to_owned()],
        Origin::Health,
        None,
    )
}

/// `health_check_duration_seconds{check}`: the duration of each pulled check.
pub fn health_check_duration(registry: &Registry) -> MetricRef {
    MetricRef::new(
        registry.full_name("health_check_duration_seconds"),
        MetricKind::Histogram,
        vec!["check".to_owned()],
        Origin::Health,
        Some(Buckets::latency().bounds().to_vec()),
    )
}

/// `http_requests_total{method, route, status}` of the HTTP layer
/// (`status` is the class: `2xx`, `5xx`…, which `status=~"5.."` matches).
pub fn http_requests(registry: &Registry) -> MetricRef {
    MetricRef::new(
        registry.full_name("http_requests_total"),
        MetricKind::Counter,
        vec!["method".to_owned(), "route".to_owned(), "status".to_owned()],
        Origin::Http,
        None,
    )
}

/// `http_request_duration_seconds{method, route}` of the HTTP layer
/// (latency buckets unless it was configured otherwise: see
/// [`MetricRef::bucket_bounds`]).
pub fn http_request_duration(registry: &Registry) -> MetricRef {
    MetricRef::new(
        registry.full_name("http_request_duration_seconds"),
        MetricKind::Histogram,
        vec!["method".to_owned(), "route".to_owned()],
        Origin::Http,
        Some(Buckets::latency().bounds().to_vec()),
    )
}

/// `http_requests_in_flight` of the HTTP layer: requests being handled.
pub fn http_requests_in_flight(registry: &Registry) -> MetricRef {
    MetricRef::new(
        registry.full_name("http_requests_in_flight"),
        MetricKind::Gauge,
        Vec::new(),
        Origin::Http,
        None,
    )
}

/// The same HTTP duration family with other buckets.
pub fn http_request_duration_with(registry: &Registry, buckets: &Buckets) -> MetricRef {
    http_request_duration(registry).with_buckets(buckets.bounds())
}

fn process(name: &str, kind: MetricKind) -> MetricRef {
    MetricRef::new(name.to_owned(), kind, Vec::new(), Origin::Process, None)
}

/// `process_resident_memory_bytes` (never namespaced).
pub fn process_resident_memory_bytes() -> MetricRef {
    process("process_resident_memory_bytes", MetricKind::Gauge)
}

/// `process_virtual_memory_bytes`.
pub fn process_virtual_memory_bytes() -> MetricRef {
    process("process_virtual_memory_bytes", MetricKind::Gauge)
}

/// `process_cpu_seconds_total`.
pub fn process_cpu_seconds_total() -> MetricRef {
    process("process_cpu_seconds_total", MetricKind::Counter)
}

/// `process_open_fds`.
pub fn process_open_fds() -> MetricRef {
    process("process_open_fds", MetricKind::Gauge)
}

/// `process_max_fds`.
pub fn process_max_fds() -> MetricRef {
    process("process_max_fds", MetricKind::Gauge)
}

/// `process_threads`.
pub fn process_threads() -> MetricRef {
    process("process_threads", MetricKind::Gauge)
}

/// `process_start_time_seconds`.
pub fn process_start_time_seconds() -> MetricRef {
    process("process_start_time_seconds", MetricKind::Gauge)
}

/// `up{job, instance}`: 1 when Prometheus' last scrape of a target
/// succeeded, 0 when it failed. Written by Prometheus, not by the service.
pub fn up() -> MetricRef {
    MetricRef::new(
        "up".to_owned(),
        MetricKind::Gauge,
        Vec::new(),
        Origin::Scrape,
        None,
    )
}
