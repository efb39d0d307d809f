//! `[logging.otlp]`: spans exported over OTLP/HTTP through
//! tracing-opentelemetry, batched on the SDK's own thread.

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::{Protocol, WithExportConfig};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing_subscriber::Layer;
use tracing_subscriber::registry::Registry;

use super::{Filter, LoggingError};
use crate::config::OtlpConfig;

/// The tracer provider; its batched spans are exported when dropped.
pub(super) struct Spans {
    provider: SdkTracerProvider,
}

impl Spans {
    pub(super) fn start(config: &OtlpConfig, service: &str) -> Result<Self, LoggingError> {
        let exporter = opentelemetry_otlp::SpanExporter::builder()
            .with_http()
            .with_protocol(Protocol::HttpBinary)
            .with_endpoint(config.endpoint.as_str())
            .with_timeout(config.timeout)
            .build()
            .map_err(|source| LoggingError::Otlp {
                endpoint: config.endpoint.clone(),
                source,
            })?;
        let provider = SdkTracerProvider::builder()
            .with_batch_exporter(exporter)
            .with_resource(
                Resource::builder()
                    .with_service_name(service.to_owned())
                    .build(),
            )
            .build();
        Ok(Self { provider })
    }

    /// The layer that turns spans into OpenTelemetry spans, at the levels
    /// `filter` lets through.
    pub(super) fn layer(&self, filter: Filter) -> Box<dyn Layer<Registry> + Send + Sync> {
        let tracer = self.provider.tracer("alerting");
        tracing_opentelemetry::layer()
            .with_tracer(tracer)
            .with_filter(filter)
            .boxed()
    }
}

impl Drop for Spans {
    fn drop(&mut self) {
        // Exports what is still batched (bounded by the exporter's timeout).
        if let Err(error) = self.provider.shutdown() {
            eprintln!("alerting: exporting the last spans failed: {error}");
        }
    }
}
