//! With the `otlp` feature, `#[instrumented]` attaches the current span's
//! OpenTelemetry trace id to its duration histogram as an exemplar, when
//! the span has a sampled trace; a call outside any traced span gets none.

use alerting_core::instrumented;
use alerting_core::metrics::{Format, Registry};
use opentelemetry::trace::{TraceContextExt as _, TracerProvider as _};
use opentelemetry_sdk::trace::{Sampler, SdkTracerProvider};
use tracing_opentelemetry::OpenTelemetrySpanExt as _;
use tracing_subscriber::layer::SubscriberExt as _;

#[instrumented(buckets = [1.0])]
fn traced_call() {}

#[instrumented(buckets = [1.0])]
fn untraced_call() {}

#[instrumented(buckets = [1.0], exemplar = tx_hash)]
fn named_call(tx_hash: &str) -> usize {
    tx_hash.len()
}

/// The exemplars of `function`'s duration buckets: (labels, value) text.
fn exemplars(registry: &Registry, function: &str) -> Vec<String> {
    let text = registry.encode_to_string(Format::OpenMetrics).unwrap();
    let needle = format!(r#"function="{function}""#);
    text.lines()
        .filter(|l| l.starts_with("function_call_duration_seconds_bucket") && l.contains(&needle))
        .filter_map(|l| l.split_once(" # ").map(|(_, e)| e.to_owned()))
        .collect()
}

fn subscriber(sampler: Sampler) -> (SdkTracerProvider, impl tracing::Subscriber + Send + Sync) {
    let provider = SdkTracerProvider::builder().with_sampler(sampler).build();
    let layer = tracing_opentelemetry::layer().with_tracer(provider.tracer("exemplars-test"));
    (provider, tracing_subscriber::registry().with(layer))
}

#[test]
fn the_trace_id_of_the_current_span_is_the_exemplar() {
    let (_provider, subscriber) = subscriber(Sampler::AlwaysOn);
    let registry = Registry::new();
    let trace_id = tracing::subscriber::with_default(subscriber, || {
        registry.in_scope(|| {
            // Outside any span: nothing to attach.
            untraced_call();
            let span = tracing::info_span!("request");
            let _entered = span.enter();
            traced_call();
            // A named argument wins over the trace id.
            named_call("0xfeed");
            span.context().span().span_context().trace_id().to_string()
        })
    });
    assert_eq!(trace_id.len(), 32);
    let traced = exemplars(&registry, "traced_call");
    assert_eq!(traced.len(), 1, "{traced:?}");
    assert!(
        traced[0].starts_with(&format!(r#"{{trace_id="{trace_id}"}} "#)),
        "{traced:?}"
    );
    assert_eq!(exemplars(&registry, "untraced_call"), Vec::<String>::new());
    let named = exemplars(&registry, "named_call");
    assert!(named[0].starts_with(r#"{tx_hash="0xfeed"} "#), "{named:?}");
}

#[test]
fn an_unsampled_trace_is_not_attached() {
    // Its spans are not exported: a link to it would lead nowhere.
    let (_provider, subscriber) = subscriber(Sampler::AlwaysOff);
    let registry = Registry::new();
    tracing::subscriber::with_default(subscriber, || {
        registry.in_scope(|| {
            let span = tracing::info_span!("request");
            let _entered = span.enter();
            traced_call();
        })
    });
    assert_eq!(exemplars(&registry, "traced_call"), Vec::<String>::new());
}
