//! An app that serves its own registry but forgot
//! `Registry::set_global(registry.clone())`: its `#[instrumented]`
//! functions record into a default global registry that `/metrics` does
//! not serve. The first scrape logs a warning saying so, once. (A file of
//! its own: the global registry is per process.)

use std::io::Write;
use std::sync::{Arc, Mutex};

use alerting_axum::Endpoints;
use alerting_core::instrumented;
use alerting_core::metrics::Registry;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use tower::ServiceExt;

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

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

    let log = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
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
