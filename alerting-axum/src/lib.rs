//! `alerting-axum`: serve an [`alerting_core::metrics::Registry`] from an axum
//! [`Router`].
//!
//! This crate is thin for now: [`metrics_router`] mounts `GET /metrics` with
//! content negotiation between the Prometheus text format and OpenMetrics.
//! Health endpoints, the HTTP metrics layer and serving with graceful
//! shutdown come next.
//!
//! ```
//! use alerting_core::metrics::{Counter, Registry};
//!
//! let registry = Registry::new();
//! let _hits: Counter = registry.register("hits_total", "Hits")?;
//! let app: axum::Router = alerting_axum::metrics_router(registry);
//! # let _ = app;
//! # Ok::<(), alerting_core::metrics::MetricsError>(())
//! ```
#![deny(missing_docs)]

use alerting_core::metrics::{Format, Registry};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Router, extract::State};

/// A router serving `GET /metrics` (and `HEAD`) from `registry`.
///
/// The format follows the request's `Accept` header
/// ([`Format::from_accept`]); the response carries the matching
/// `Content-Type`.
pub fn metrics_router<S>(registry: Registry) -> Router<S>
where
    S: Clone + Send + Sync + 'static,
{
    Router::new()
        .route("/metrics", get(serve_metrics))
        .with_state(registry)
}

async fn serve_metrics(State(registry): State<Registry>, headers: HeaderMap) -> Response {
    let format = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .map(Format::from_accept)
        .unwrap_or_default();
    let mut body = String::new();
    match registry.encode(format, &mut body) {
        Ok(()) => (
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static(format.content_type()),
            )],
            body,
        )
            .into_response(),
        Err(err) => (StatusCode::INTERNAL_SERVER_ERROR, err.to_string()).into_response(),
    }
}
