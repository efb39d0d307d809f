//! Derives for [`alerting-core`](https://docs.rs/alerting-core)'s metrics:
//! [`LabelValue`](macro@LabelValue), [`LabelSet`](macro@LabelSet) and
//! [`MetricGroup`](macro@MetricGroup).
//!
//! Use them through `alerting_core::metrics`, which re-exports them (feature
//! `macros`, on by default); runnable examples are in its documentation at
//! <https://docs.rs/alerting-core/latest/alerting_core/metrics/>. The
//! generated code refers to `::alerting_core::…`; a crate that re-exports
//! alerting-core under another path says so with `crate = "…"` (see each
//! derive).
//!
//! Mistakes are compile errors on the token at fault, never panics: an
//! unknown attribute key, a reserved label name, a metric without help text.
//!
//! The crate is laid out as `attr` (parses the attributes), `ast` (checks the
//! input and builds a model of it), `case` (name rules) and `expand` (writes
//! the code).
#![deny(missing_docs)]

mod ast;
mod attr;
mod case;
mod expand;
mod instrumented;

use proc_macro::TokenStream;
use syn::{DeriveInput, parse_macro_input};

/// Derives `EnumLabel` and prometheus-client's `EncodeLabelValue` for a
/// fieldless enum, so that it can be a field of a
/// [`LabelSet`](macro@LabelSet).
///
/// # Generated
///
/// - `impl alerting_core::metrics::EnumLabel`: `VALUES` (every variant, in
///   declaration order), `index` (the position in `VALUES`) and `as_str`
///   (the label value text).
/// - `impl prometheus_client::encoding::EncodeLabelValue`, writing `as_str`.
///
/// # Attributes
///
/// - On a variant, `#[label(rename = "text")]`: the label value. Default:
///   the variant name in snake_case (`PairCreated` → `pair_created`,
///   `HTTPError` → `http_error`, `r#Type` → `type`).
/// - On the enum, `#[label(crate = "path")]`: the path to `alerting_core`
///   for the generated code, for a crate that re-exports it (default
///   `::alerting_core`).
///
/// # Errors
///
/// At compile time, on the token at fault: not an enum, an enum without
/// variants, a variant with fields, generic parameters, an empty or
/// non-string `rename`, two variants with the same text, an unknown or
/// repeated key, a `crate` that is not a path.
///
/// # Example
///
/// ```text
/// use alerting_core::metrics::{EnumLabel, LabelValue};
///
/// #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, LabelValue)]
/// enum Status {
///     Ok,
///     RateLimited,
///     #[label(rename = "5xx")]
///     ServerError,
/// }
///
/// assert_eq!(Status::RateLimited.as_str(), "rate_limited");
/// assert_eq!(Status::ServerError.as_str(), "5xx");
/// assert_eq!(Status::VALUES.len(), 3);
/// ```
///
/// The enum must be `Clone + Copy + Debug + Eq + Hash` (derive them):
/// `EnumLabel` requires it.
#[proc_macro_derive(LabelValue, attributes(label))]
pub fn derive_label_value(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    ast::LabelValueEnum::from_input(&input)
        .map_or_else(syn::Error::into_compile_error, |e| expand::label_value(&e))
        .into()
}

/// Derives `LabelSet` (and, when it applies, `FixedLabelSet`) for a struct
/// whose named fields are the labels of a metric family.
///
/// # Generated
///
/// - `impl prometheus_client::encoding::EncodeLabelSet`: each field as
///   `name="value"`, in declaration order. A field's type needs
///   prometheus-client's `EncodeLabelValue`: an enum deriving
///   [`LabelValue`](macro@LabelValue), `bool`, `String`, `&'static str`,
///   `Cow<'static, str>`, an integer.
/// - `impl alerting_core::metrics::LabelSet`: `NAMES`, the label names in
///   field order.
/// - `impl alerting_core::metrics::FixedLabelSet`, which holds only when
///   every field's type is an `EnumLabel` (a `LabelValue` enum or `bool`) and
///   the struct is `Copy`; otherwise it silently does not apply, and the
///   label set is for a `DynamicFamily`. `CARDINALITY` is the product of the
///   fields' cardinalities, `index` is row-major (the first field most
///   significant) and `from_index` is its inverse, wrapping out-of-range
///   indices (it never panics).
///
/// # Attributes
///
/// - On a field, `#[label(rename = "name")]`: the label name. Default: the
///   field name (`r#type` → `type`).
/// - On the struct, `#[label(crate = "path")]`: the path to `alerting_core`
///   (default `::alerting_core`).
///
/// # Errors
///
/// At compile time, on the token at fault: not a struct with named fields,
/// generic parameters (lifetimes too), a label name that is not
/// `[a-zA-Z_][a-zA-Z0-9_]*`, starts with `__` or is `le` or `quantile`, two
/// fields with the same label name, an unknown or repeated key.
///
/// # Example
///
/// ```text
/// use alerting_core::metrics::{FixedLabelSet, LabelSet, LabelValue};
///
/// #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, LabelValue)]
/// enum Chain { Bsc, Sol }
///
/// // Enums and bool, and Copy: a FixedLabelSet, for a `Family`.
/// #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, LabelSet)]
/// struct Rpc { chain: Chain, ok: bool }
/// assert_eq!(<Rpc as FixedLabelSet>::CARDINALITY, 4);
///
/// // A string field: a LabelSet for a `DynamicFamily`.
/// #[derive(Clone, Debug, PartialEq, Eq, Hash, LabelSet)]
/// struct Api {
///     chain: Chain,
///     #[label(rename = "api")]
///     api_name: &'static str,
/// }
/// assert_eq!(<Api as LabelSet>::NAMES, &["chain", "api"]);
/// ```
///
/// The struct must be `Clone + Debug + Eq + Hash` (derive them): `LabelSet`
/// requires it.
#[proc_macro_derive(LabelSet, attributes(label))]
pub fn derive_label_set(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    ast::LabelSetStruct::from_input(&input)
        .map_or_else(syn::Error::into_compile_error, |s| expand::label_set(&s))
        .into()
}

/// Derives `MetricGroup` for a struct of metrics, so that
/// `registry.register_group::<T>()` registers them all in one call.
///
/// # Generated
///
/// `impl alerting_core::metrics::MetricGroup`, whose `register` registers
/// each field, in declaration order, with
/// `registry.register_with::<FieldType>(name, help, options)` and returns
/// the struct, or the first error (the metrics registered before it stay
/// in the registry). A field's type is anything `Registry`
/// registers: `Counter`, `Gauge`, `Histogram`, `Family<…>`,
/// `DynamicFamily<…>`…
///
/// # Attributes
///
/// On a field, in `#[metric(…)]`:
///
/// - `name = "…"`: the metric name (before the registry's namespace).
///   Default: the field name (`r#type` → `type`).
/// - `help = "…"`: the help text. Default: the field's doc comment, each
///   line trimmed and joined with one space. A field with neither is a
///   compile error.
/// - `buckets = <expr>`: histogram buckets; the expression is anything that
///   implements `IntoBuckets`: a `Buckets`, the `Result` of
///   `Buckets::linear(…)`/`exponential(…)`, an array, slice or `Vec` of
///   `f64`. Invalid buckets make `register` return
///   `MetricsError::InvalidMetricBuckets` naming the metric.
/// - `max_series = <expr>`: the series limit of a `DynamicFamily` (`usize`).
/// - `skip`: not a metric; the field is `Default::default()`. Takes no
///   other key.
///
/// On the struct, `#[metric(crate = "path")]`: the path to `alerting_core`
/// (default `::alerting_core`).
///
/// # Errors
///
/// At compile time, on the token at fault: not a struct with named fields,
/// generic parameters, an unknown or repeated key, a non-string `name` or
/// `help`, `skip` with another key, a name that is not snake_case, an empty
/// `help`, two fields with the same metric name, a field without help text.
/// Naming rules that depend on the metric's kind and the registry's
/// namespace (`_total` on counters, base units) are checked by `register`,
/// which returns a `MetricsError` naming the metric.
///
/// # Example
///
/// ```text
/// use alerting_core::metrics::{
///     Counter, DynamicFamily, Histogram, LabelSet, MetricGroup, Registry,
/// };
///
/// #[derive(Clone, Debug, PartialEq, Eq, Hash, LabelSet)]
/// struct Endpoint { endpoint: String }
///
/// #[derive(Clone, Debug, MetricGroup)]
/// struct Metrics {
///     /// Messages read from the WebSocket.
///     ws_messages_total: Counter,
///     /// Time to process one message.
///     #[metric(buckets = [0.001, 0.01, 0.1, 1.0])]
///     processing_seconds: Histogram,
///     /// Calls to external APIs, by endpoint.
///     #[metric(name = "api_requests_total", max_series = 200)]
///     api: DynamicFamily<Endpoint, Counter>,
///     #[metric(skip)]
///     started: Option<std::time::Instant>,
/// }
///
/// let registry = Registry::new();
/// let metrics: Metrics = registry.register_group()?;
/// metrics.ws_messages_total.inc();
/// ```
#[proc_macro_derive(MetricGroup, attributes(metric))]
pub fn derive_metric_group(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    ast::Group::from_input(&input)
        .map_or_else(syn::Error::into_compile_error, |g| expand::metric_group(&g))
        .into()
}

/// Times a function and counts its outcomes: `ok`, `error`, `panic`,
/// `cancelled`.
///
/// Use it through `alerting_core::instrumented`. The metrics, their
/// default names and labels are described in `alerting_core::instrument`.
///
/// # Options
///
/// All optional, comma-separated:
///
/// - `calls = "name_total"`: the call counter (default
///   `function_calls_total`).
/// - `duration = "name_seconds"`: the duration histogram (default
///   `function_call_duration_seconds`).
/// - `in_flight` or `in_flight = "name"`: also keep a gauge of calls in
///   progress (default name `function_calls_in_flight`).
/// - `labels(key = "value", …)`: static labels on every series.
/// - `outcome_label = "result"`: the name of the outcome label (default
///   `outcome`).
/// - `function = "Type::method"`: the `function` label (default: the
///   function's name).
/// - `help = "…"`: help text of the call counter.
/// - `buckets = latency | fast_latency | sizes | [0.01, 0.1, 1.0]`.
/// - `span` or `span(fields(key = value, …))`: run the call in a `tracing`
///   info span named after the function; arguments are not recorded unless
///   listed in `fields`.
/// - `ok_if = path` / `error_if = path`: a `fn(&Return) -> bool` deciding
///   success (`ok_if`) or failure (`error_if`, on top of `Err`).
/// - `registry = path`: a `fn() -> &'static Registry` (default
///   `Registry::global`). The default registry's sites are exported at 0
///   once it is installed (`Registry::set_global`); another registry's by
///   `Registry::register_call_sites`.
/// - `exemplar = argument` or `exemplar(label = argument.field)`: attach
///   the argument's (or its field's) `Display` text to the duration
///   histogram as an exemplar labelled `argument` (or `label`), sampled
///   per bucket (see `alerting_core::instrument`'s "Exemplars"). The
///   argument is borrowed before the body runs: take it by reference, or
///   as a `Copy` value. A name that is not an argument is a compile error.
///   Without it, and with alerting-core's `otlp` feature, the exemplar is
///   the current span's trace id when it has one.
/// - `crate = path`: where `alerting_core` is, for crates that re-export it.
///
/// Mistakes in the options are compile errors on the offending token.
///
/// # Example
///
/// ```text
/// use alerting_core::instrumented;
///
/// #[instrumented(
///     calls = "bsc_ws_messages_total",
///     duration = "bsc_ws_messages_processing_seconds",
///     outcome_label = "result",
///     labels(event_type = "swap"),
/// )]
/// async fn handle_swap(msg: &str) -> Result<(), ParseError> { /* … */ }
/// ```
#[proc_macro_attribute]
pub fn instrumented(attr: TokenStream, item: TokenStream) -> TokenStream {
    instrumented::instrumented(attr.into(), item.into()).into()
}
