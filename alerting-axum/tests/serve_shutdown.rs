//! Serving under the shutdown coordinator, over real sockets: readiness
//! flips to 503 while a slow request still completes with 200, the
//! listener stops accepting, the report counts the drained requests, the
//! admin listener keeps answering until the closers, and a stuck request
//! is reported rather than waited for forever.

mod common;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use alerting_axum::serve::HTTP_REQUEST_WORK;
use alerting_axum::{Endpoints, HttpMetricsLayer, serve, serve_admin};
use alerting_core::metrics::Registry;
use alerting_core::shutdown::{CloserOutcome, DrainOutcome, Shutdown, ShutdownReport};
use axum::Router;
use axum::http::StatusCode;
use axum::routing::get;
use common::{Http, TIMEOUT, health};
use tokio::net::TcpListener;

fn slow_app(registry: &Registry, sleep: Duration) -> Router {
    Router::new()
        .route("/", get(|| async { "hello" }))
        .route(
            "/slow",
            get(move || async move {
                tokio::time::sleep(sleep).await;
                "finally"
            }),
        )
        .layer(HttpMetricsLayer::new(registry).unwrap())
}

async fn listener() -> (TcpListener, SocketAddr) {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    (l, addr)
}

/// Waits (bounded) until `f` is true.
async fn until(what: &str, mut f: impl FnMut() -> bool) {
    let start = Instant::now();
    while !f() {
        assert!(start.elapsed() < TIMEOUT, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

async fn refused(addr: SocketAddr) -> bool {
    tokio::net::TcpStream::connect(addr).await.is_err()
}

async fn report(shutdown: &Shutdown) -> ShutdownReport {
    tokio::time::timeout(TIMEOUT, shutdown.run())
        .await
        .expect("shutdown did not finish")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readiness_flips_while_a_slow_request_completes() {
    let shutdown = Shutdown::builder()
        .signals(false)
        .deadline(Duration::from_secs(5))
        .build();
    let registry = Registry::new();
    let health = health(&shutdown).await;
    let (api_listener, api) = listener().await;
    let (admin_listener, admin) = listener().await;
    let api_server = tokio::spawn(serve(
        api_listener,
        // Long enough that a loaded machine still sees it running below.
        slow_app(&registry, Duration::from_secs(2)),
        &shutdown,
    ));
    let admin_router = Endpoints::new()
        .metrics(registry.clone())
        .health(health)
        .router()
        .unwrap();
    let admin_server = tokio::spawn(serve_admin(admin_listener, admin_router, &shutdown));

    let http = Http::new();
    assert_eq!(http.get(admin, "/ready").await.status, StatusCode::OK);
    assert_eq!(http.get(api, "/").await.text(), "hello");

    let slow = {
        let http = http.clone();
        tokio::spawn(async move { http.get(api, "/slow").await })
    };
    let requests = shutdown.work_kind(HTTP_REQUEST_WORK);
    until("the slow request to be in flight", || {
        requests.in_flight() == 1
    })
    .await;

    assert!(shutdown.trigger("test"));
    // Readiness is down at once, on the admin listener that still answers.
    let ready = http.get(admin, "/ready").await;
    assert_eq!(ready.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(ready.json()["shutting_down"], true);
    assert!(!slow.is_finished(), "the slow request is still running");

    // The API listener stops accepting (bounded wait for the accept loop).
    let start = Instant::now();
    while !refused(api).await {
        assert!(start.elapsed() < TIMEOUT, "API still accepting");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // The metrics are still served during the drain.
    assert!(
        http.get(admin, "/metrics")
            .await
            .text()
            .contains("http_requests_in_flight 1")
    );

    let slow = slow.await.unwrap();
    assert_eq!(slow.status, StatusCode::OK);
    assert_eq!(slow.text(), "finally");

    let report = report(&shutdown).await;
    assert_eq!(report.drain, DrainOutcome::Drained);
    let work = report
        .work
        .iter()
        .find(|w| w.name == HTTP_REQUEST_WORK)
        .expect("http_request in the report");
    assert_eq!(
        (work.in_flight_at_trigger, work.drained, work.still_running),
        (1, 1, 0)
    );
    let closers: Vec<(&str, &CloserOutcome)> = report
        .closers
        .iter()
        .map(|c| (c.name.as_str(), &c.outcome))
        .collect();
    assert_eq!(
        closers,
        [
            (
                format!("admin http server {admin}").as_str(),
                &CloserOutcome::Ok
            ),
            (format!("http server {api}").as_str(), &CloserOutcome::Ok),
        ]
    );
    tokio::time::timeout(TIMEOUT, api_server)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    tokio::time::timeout(TIMEOUT, admin_server)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert!(refused(admin).await, "admin stopped after the closers");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_listener_answers_503_during_the_readiness_delay() {
    let shutdown = Shutdown::builder()
        .signals(false)
        .readiness_delay(Duration::from_secs(2))
        .build();
    let registry = Registry::new();
    let app = Endpoints::new()
        .health(health(&shutdown).await)
        .mount(slow_app(&registry, Duration::from_millis(200)))
        .unwrap();
    let (l, addr) = listener().await;
    let server = tokio::spawn(serve(l, app, &shutdown));
    let http = Http::new();
    assert_eq!(http.get(addr, "/ready").await.status, StatusCode::OK);

    shutdown.trigger("test");
    // During the delay the listener still accepts: a load balancer sees 503.
    let ready = http.get(addr, "/ready").await;
    assert_eq!(ready.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(http.get(addr, "/slow").await.status, StatusCode::OK);

    let report = report(&shutdown).await;
    assert!(report.is_clean(), "{report}");
    tokio::time::timeout(TIMEOUT, server)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert!(refused(addr).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stuck_request_is_reported_not_waited_for() {
    let shutdown = Shutdown::builder()
        .signals(false)
        .deadline(Duration::from_millis(300))
        .closer_timeout(Duration::from_millis(300))
        .build();
    let registry = Registry::new();
    let (l, addr) = listener().await;
    let server = tokio::spawn(serve(
        l,
        slow_app(&registry, Duration::from_secs(60)),
        &shutdown,
    ));
    let http = Http::new();
    let stuck = {
        let http = http.clone();
        tokio::spawn(async move { http.get(addr, "/slow").await })
    };
    let requests = shutdown.work_kind(HTTP_REQUEST_WORK);
    until("the stuck request to be in flight", || {
        requests.in_flight() == 1
    })
    .await;

    let started = Instant::now();
    shutdown.trigger("test");
    let report = report(&shutdown).await;
    assert_eq!(report.drain, DrainOutcome::DeadlineReached);
    assert_eq!(
        report.still_running_by_name().collect::<Vec<_>>(),
        [(HTTP_REQUEST_WORK, 1)]
    );
    assert_eq!(
        report.abandoned_by_name().collect::<Vec<_>>(),
        [(HTTP_REQUEST_WORK, 1)]
    );
    // The closer does not wait for the abandoned request: it ends at once,
    // without reaching its timeout.
    assert_eq!(report.closers[0].outcome, CloserOutcome::Ok);
    // The server future gives up with the closer.
    tokio::time::timeout(Duration::from_secs(5), server)
        .await
        .expect("serve returned after the closer")
        .unwrap()
        .unwrap();
    assert!(started.elapsed() < Duration::from_secs(10));
    stuck.abort();
}

#[tokio::test]
async fn with_nothing_in_flight_serving_stops_at_once() {
    let shutdown = Shutdown::builder().signals(false).build();
    let (listener, _) = listener().await;
    let server = tokio::spawn(serve(listener, Router::new(), &shutdown));
    shutdown.trigger("test");
    let report = report(&shutdown).await;
    assert!(report.is_clean(), "{report}");
    tokio::time::timeout(TIMEOUT, server)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_drains_a_streamed_body_to_its_end() {
    let shutdown = Shutdown::builder()
        .signals(false)
        .deadline(Duration::from_secs(5))
        .build();
    let gates = std::sync::Arc::new(std::sync::Mutex::new(None));
    let slot = std::sync::Arc::clone(&gates);
    let app = Router::new().route(
        "/stream",
        get(move || {
            let slot = std::sync::Arc::clone(&slot);
            async move {
                let (open, body) = common::gated();
                *slot.lock().unwrap() = Some(open);
                axum::body::Body::new(body)
            }
        }),
    );
    let (l, addr) = listener().await;
    let server = tokio::spawn(serve(l, app, &shutdown));

    // The head is out; the body is still streaming when shutdown begins.
    let response = common::head(addr, "/stream").await;
    assert_eq!(response.status(), StatusCode::OK);
    let requests = shutdown.work_kind(HTTP_REQUEST_WORK);
    assert_eq!(requests.in_flight(), 1, "a streaming body is in flight");
    shutdown.trigger("test");
    let running = {
        let shutdown = shutdown.clone();
        tokio::spawn(async move { report(&shutdown).await })
    };
    // The drain waits for the body, which the client still reads in full.
    let open = gates.lock().unwrap().take().expect("the handler ran");
    open.send(()).unwrap();
    assert_eq!(&common::read_to_end(response.into_body()).await[..], b"end");

    let report = tokio::time::timeout(TIMEOUT, running)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(report.drain, DrainOutcome::Drained);
    let work = report
        .work
        .iter()
        .find(|w| w.name == HTTP_REQUEST_WORK)
        .expect("http_request in the report");
    assert_eq!(
        (work.in_flight_at_trigger, work.drained, work.still_running),
        (1, 1, 0)
    );
    tokio::time::timeout(TIMEOUT, server)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
}
