//! An app that serves its own registry but forgot
//! `Registry::set_global(registry.clone())`: its `#[instrumented]`
//! functions record into a default global registry that `/metrics` does
//! not serve. The first scrape logs a warning saying so, once. (A file of
//! its own: the global registry is per process.)

mod common;

use alerting_axum::Endpoints;
use alerting_core::instrumented;
use alerting_core::metrics::Registry;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use common::Captured;
use tower::ServiceExt;

#[instrumented]
fn handle() {}

async fn scrape(router: &axum::Router) {
    let response = router
        .clone()
        .oneshot(Request::get("/metrics").body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn the_first_scrape_warns_once_about_a_forgotten_set_global() {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let served = Registry::new();
    let router: axum::Router = Endpoints::new().metrics(served.clone()).router().unwrap();
    // Nothing instrumented has run: nothing to say.
    scrape(&router).await;
    assert!(!served.misses_instrumentation());

    handle();
    assert!(served.misses_instrumentation());
    assert!(!Registry::global().misses_instrumentation());
    scrape(&router).await;
    scrape(&router).await;

    let log = captured.text();
    assert_eq!(log.matches("Registry::set_global").count(), 1, "{log}");
    assert!(log.contains("WARN"), "{log}");

    // An endpoint that serves the default registry as well: nothing is
    // missing any more.
    let _global_router: axum::Router = Endpoints::new()
        .metrics(Registry::global().clone())
        .router()
        .unwrap();
    assert!(!served.misses_instrumentation());
}
