//! The HTTP metrics layer over a real socket: route templates, unmatched
//! requests, unusual methods, status classes, in-flight, body sizes, and
//! scrapes left out.

mod common;

use std::time::Duration;

use alerting_axum::{Endpoints, HttpMetricsLayer};
use alerting_core::metrics::{Format, Registry};
use axum::Router;
use axum::body::Body;
use axum::http::{Method, StatusCode};
use axum::routing::{get, post};
use common::{Http, sample, start};

fn app(registry: &Registry, layer: HttpMetricsLayer) -> Router {
    Endpoints::new()
        .metrics(registry.clone())
        .mount(
            Router::new()
                .route(
                    "/wallets/{id}",
                    get(|| async { "wallet" }).post(|| async { "made" }),
                )
                .route(
                    "/fail",
                    get(|| async { (StatusCode::SERVICE_UNAVAILABLE, "no") }),
                )
                .route(
                    "/slow",
                    get(|| async {
                        tokio::time::sleep(Duration::from_secs(1)).await;
                        "slow"
                    }),
                )
                .route("/stream", get(|| async { Body::new(Chunks(3)) }))
                .route("/echo", post(|body: String| async move { body })),
        )
        .unwrap()
        .layer(layer)
}

/// A body of unknown length (no size hint): 3 chunks of 5 bytes.
struct Chunks(u8);

impl http_body::Body for Chunks {
    type Data = axum::body::Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        if self.0 == 0 {
            return std::task::Poll::Ready(None);
        }
        self.0 -= 1;
        std::task::Poll::Ready(Some(Ok(http_body::Frame::data(
            axum::body::Bytes::from_static(b"chunk"),
        ))))
    }
}

fn text(registry: &Registry) -> String {
    registry.encode_to_string(Format::Prometheus).unwrap()
}

#[tokio::test]
async fn routes_are_templates_and_unmatched_requests_share_one_series() {
    let registry = Registry::new();
    let addr = start(app(&registry, HttpMetricsLayer::new(&registry).unwrap())).await;
    let http = Http::new();

    for id in 0..20 {
        http.get(addr, &format!("/wallets/{id}")).await;
    }
    http.send(Method::POST, addr, "/wallets/7", &[]).await;
    // A 404 scan: one series whatever the paths.
    for i in 0..50 {
        let reply = http.get(addr, &format!("/wp-admin/{i}.php")).await;
        assert_eq!(reply.status, StatusCode::NOT_FOUND);
    }
    // Method not allowed on a known route: the route is still the template.
    http.send(Method::DELETE, addr, "/wallets/1", &[]).await;
    // Unusual methods fold into `other`.
    for m in ["PROPFIND", "BREW", "X-CUSTOM"] {
        http.send(
            Method::from_bytes(m.as_bytes()).unwrap(),
            addr,
            "/wallets/1",
            &[],
        )
        .await;
    }
    http.get(addr, "/fail").await;

    let t = text(&registry);
    let count = |series: &str| sample(&t, series);
    assert_eq!(
        count(r#"http_requests_total{method="GET",route="/wallets/{id}",status="2xx"}"#),
        Some(20.0)
    );
    assert_eq!(
        count(r#"http_requests_total{method="POST",route="/wallets/{id}",status="2xx"}"#),
        Some(1.0)
    );
    assert_eq!(
        count(r#"http_requests_total{method="GET",route="unmatched",status="4xx"}"#),
        Some(50.0)
    );
    assert_eq!(
        count(r#"http_requests_total{method="DELETE",route="/wallets/{id}",status="4xx"}"#),
        Some(1.0)
    );
    assert_eq!(
        count(r#"http_requests_total{method="other",route="/wallets/{id}",status="4xx"}"#),
        Some(3.0)
    );
    assert_eq!(
        count(r#"http_requests_total{method="GET",route="/fail",status="5xx"}"#),
        Some(1.0)
    );
    assert_eq!(
        count(r#"http_request_duration_seconds_count{method="GET",route="/wallets/{id}"}"#),
        Some(20.0)
    );
    assert!(!t.contains("wp-admin"), "raw paths must never be labels");
    assert!(!t.contains("PROPFIND"));
    let series = t
        .lines()
        .filter(|l| l.starts_with("http_requests_total{"))
        .count();
    assert_eq!(series, 6, "{t}");
}

#[tokio::test]
async fn scrapes_are_not_counted_unless_asked() {
    let registry = Registry::new();
    let addr = start(app(&registry, HttpMetricsLayer::new(&registry).unwrap())).await;
    let http = Http::new();
    for _ in 0..3 {
        assert_eq!(http.get(addr, "/metrics").await.status, StatusCode::OK);
    }
    http.get(addr, "/wallets/1").await;
    let scraped = http.get(addr, "/metrics").await;
    assert!(
        !scraped.text().contains(r#"route="/metrics""#),
        "{}",
        scraped.text()
    );
    assert_eq!(sample(scraped.text(), "http_requests_in_flight"), Some(0.0));

    let registry = Registry::new();
    let layer = HttpMetricsLayer::builder()
        .count_scrapes(true)
        .build(&registry)
        .unwrap();
    let addr = start(app(&registry, layer)).await;
    for _ in 0..3 {
        http.get(addr, "/metrics").await;
    }
    assert_eq!(
        sample(
            &text(&registry),
            r#"http_requests_total{method="GET",route="/metrics",status="2xx"}"#
        ),
        Some(3.0)
    );
}

#[tokio::test]
async fn ignored_routes_are_not_recorded() {
    let registry = Registry::new();
    let layer = HttpMetricsLayer::builder()
        .ignore_route("/wallets/{id}")
        .build(&registry)
        .unwrap();
    let addr = start(app(&registry, layer)).await;
    let http = Http::new();
    http.get(addr, "/wallets/1").await;
    http.get(addr, "/fail").await;
    let t = text(&registry);
    assert!(!t.contains("/wallets/{id}"), "{t}");
    assert!(t.contains(r#"route="/fail""#));
}

#[tokio::test]
async fn in_flight_counts_requests_being_handled() {
    let registry = Registry::new();
    let addr = start(app(&registry, HttpMetricsLayer::new(&registry).unwrap())).await;
    let http = Http::new();
    let slow = {
        let http = http.clone();
        tokio::spawn(async move { http.get(addr, "/slow").await })
    };
    // Bounded wait until the slow request (1 s) is in flight.
    let mut seen = None;
    for _ in 0..200 {
        seen = sample(&text(&registry), "http_requests_in_flight");
        if seen == Some(1.0) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(seen, Some(1.0));
    assert_eq!(slow.await.unwrap().status, StatusCode::OK);
    assert_eq!(
        sample(&text(&registry), "http_requests_in_flight"),
        Some(0.0)
    );
}

#[tokio::test]
async fn body_sizes_when_asked() {
    let registry = Registry::new();
    let layer = HttpMetricsLayer::builder()
        .body_sizes(true)
        .build(&registry)
        .unwrap();
    let addr = start(app(&registry, layer)).await;
    let http = Http::new();
    assert_eq!(http.get(addr, "/stream").await.text(), "chunkchunkchunk");
    http.get(addr, "/wallets/1").await;

    let t = text(&registry);
    // Streamed (length unknown in advance): counted as it went out.
    assert_eq!(
        sample(
            &t,
            r#"http_response_size_bytes_sum{method="GET",route="/stream"}"#
        ),
        Some(15.0)
    );
    assert_eq!(
        sample(
            &t,
            r#"http_response_size_bytes_sum{method="GET",route="/wallets/{id}"}"#
        ),
        Some(6.0)
    );
    assert_eq!(
        sample(
            &t,
            r#"http_request_size_bytes_count{method="GET",route="/wallets/{id}"}"#
        ),
        Some(1.0)
    );

    // Without the option the families do not exist.
    let registry = Registry::new();
    let _layer = HttpMetricsLayer::new(&registry).unwrap();
    assert!(!text(&registry).contains("size_bytes"));
}

#[tokio::test]
async fn request_bodies_are_measured() {
    let registry = Registry::new();
    let layer = HttpMetricsLayer::builder()
        .body_sizes(true)
        .build(&registry)
        .unwrap();
    let addr = start(app(&registry, layer)).await;
    // Content-Length known.
    let reply = common::raw(
        addr,
        b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 11\r\nConnection: close\r\n\r\nhello world",
    )
    .await;
    assert!(reply.contains("200"), "{reply}");
    // Chunked: counted as it is read.
    let reply = common::raw(
        addr,
        b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n4\r\nabcd\r\n3\r\nefg\r\n0\r\n\r\n",
    )
    .await;
    assert!(reply.contains("200"), "{reply}");
    let t = text(&registry);
    assert_eq!(
        sample(
            &t,
            r#"http_request_size_bytes_sum{method="POST",route="/echo"}"#
        ),
        Some(18.0)
    );
    assert_eq!(
        sample(
            &t,
            r#"http_request_size_bytes_count{method="POST",route="/echo"}"#
        ),
        Some(2.0)
    );
}

#[tokio::test]
async fn route_limit_folds_into_overflow() {
    let registry = Registry::new();
    let layer = HttpMetricsLayer::builder()
        .max_routes(2)
        .build(&registry)
        .unwrap();
    let addr = start(app(&registry, layer)).await;
    let http = Http::new();
    for path in ["/wallets/1", "/fail", "/slow", "/nope"] {
        http.get(addr, path).await;
    }
    let t = text(&registry);
    let routes: Vec<&str> = t
        .lines()
        .filter(|l| l.starts_with("http_requests_total{"))
        .collect();
    // Two templates, the overflow (`/slow`), and `unmatched`, which does
    // not count against the limit.
    assert_eq!(routes.len(), 4, "{t}");
    assert_eq!(
        sample(
            &t,
            r#"http_requests_total{method="GET",route="__overflow__",status="2xx"}"#
        ),
        Some(1.0)
    );
    assert_eq!(
        sample(
            &t,
            r#"http_requests_total{method="GET",route="unmatched",status="4xx"}"#
        ),
        Some(1.0)
    );
}

#[test]
fn a_second_layer_in_one_registry_is_an_error() {
    let registry = Registry::new();
    let _first = HttpMetricsLayer::new(&registry).unwrap();
    let err = HttpMetricsLayer::new(&registry).unwrap_err();
    assert_eq!(err.to_string(), "cannot register the HTTP metrics");
    let err = HttpMetricsLayer::builder()
        .max_routes(0)
        .build(&Registry::new())
        .unwrap_err();
    assert_eq!(err.to_string(), "max_routes must be at least 1");
}
