//! The HTTP metrics layer outside axum's router and over a streamed body:
//! a plain hyper server (routes named by the application's function),
//! and durations that end with the body, or at the head by option.

mod common;

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use alerting_axum::HttpMetricsLayer;
use alerting_core::metrics::{Format, Registry};
use axum::Router;
use axum::body::{Body, Bytes};
use axum::http::{Request, Response, StatusCode};
use axum::routing::get;
use common::{Gated, Http, TIMEOUT, gated, head, read_to_end, sample, start};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tower::ServiceBuilder;

fn text(registry: &Registry) -> String {
    registry.encode_to_string(Format::Prometheus).unwrap()
}

/// Waits (bounded) until `f` is true.
async fn until(what: &str, mut f: impl FnMut() -> bool) {
    let start = Instant::now();
    while !f() {
        assert!(start.elapsed() < TIMEOUT, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

async fn hello(request: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    let status = if request.uri().path() == "/broken" {
        StatusCode::INTERNAL_SERVER_ERROR
    } else {
        StatusCode::OK
    };
    let mut response = Response::new(Full::new(Bytes::from_static(b"hello")));
    *response.status_mut() = status;
    Ok(response)
}

/// A plain hyper HTTP/1 server: no axum, the layer around a `service_fn`.
async fn start_hyper(layer: HttpMetricsLayer) -> SocketAddr {
    let service = ServiceBuilder::new()
        .layer(layer)
        .service(tower::service_fn(hello));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        // Bounded: the test makes a handful of connections.
        for _ in 0..16 {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            let service = TowerToHyperService::new(service.clone());
            tokio::spawn(
                hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service),
            );
        }
    });
    addr
}

#[tokio::test]
async fn a_plain_hyper_server_is_recorded_by_the_applications_routes() {
    let registry = Registry::new();
    let layer = HttpMetricsLayer::builder()
        .route_fn(|uri| match uri.path() {
            "/broken" => Some("/broken"),
            path if path.starts_with("/wallets/") => Some("/wallets/{id}"),
            _ => None,
        })
        .build(&registry)
        .unwrap();
    let addr = start_hyper(layer).await;
    let http = Http::new();
    for id in 0..5 {
        assert_eq!(
            http.get(addr, &format!("/wallets/{id}")).await.text(),
            "hello"
        );
    }
    assert_eq!(
        http.get(addr, "/broken").await.status,
        StatusCode::INTERNAL_SERVER_ERROR
    );
    http.get(addr, "/elsewhere/1").await;
    http.get(addr, "/elsewhere/2").await;

    let text = text(&registry);
    let count = |series: &str| sample(&text, series);
    assert_eq!(
        count(r#"http_requests_total{method="GET",route="/wallets/{id}",status="2xx"}"#),
        Some(5.0),
        "{text}"
    );
    assert_eq!(
        count(r#"http_requests_total{method="GET",route="/broken",status="5xx"}"#),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        count(r#"http_requests_total{method="GET",route="unmatched",status="2xx"}"#),
        Some(2.0),
        "{text}"
    );
    assert!(!text.contains("elsewhere"), "{text}");
}

#[tokio::test]
async fn without_a_route_function_a_plain_server_is_unmatched() {
    let registry = Registry::new();
    let addr = start_hyper(HttpMetricsLayer::new(&registry).unwrap()).await;
    let http = Http::new();
    http.get(addr, "/wallets/1").await;
    let text = text(&registry);
    assert_eq!(
        sample(
            &text,
            r#"http_requests_total{method="GET",route="unmatched",status="2xx"}"#
        ),
        Some(1.0),
        "{text}"
    );
}

/// An axum app whose `/stream` answers with a gated body; the gate of each
/// request is handed out through the returned slot.
fn streaming_app(layer: HttpMetricsLayer) -> (Router, Arc<Mutex<Option<oneshot::Sender<()>>>>) {
    let gates = Arc::new(Mutex::new(None));
    let slot = Arc::clone(&gates);
    let app = Router::new()
        .route(
            "/stream",
            get(move || {
                let slot = Arc::clone(&slot);
                async move {
                    let (open, body): (_, Gated) = gated();
                    *slot.lock().unwrap() = Some(open);
                    Body::new(body)
                }
            }),
        )
        .layer(layer);
    (app, gates)
}

const STREAM_COUNT: &str = r#"http_requests_total{method="GET",route="/stream",status="2xx"}"#;
const STREAM_DURATIONS: &str =
    r#"http_request_duration_seconds_count{method="GET",route="/stream"}"#;

#[tokio::test]
async fn a_streamed_body_is_timed_to_its_end() {
    let registry = Registry::new();
    let (app, gates) = streaming_app(HttpMetricsLayer::new(&registry).unwrap());
    let addr = start(app).await;

    let response = head(addr, "/stream").await;
    assert_eq!(response.status(), StatusCode::OK);
    // The head is out, the body is not: in flight, not recorded yet.
    let streaming = text(&registry);
    assert_eq!(sample(&streaming, STREAM_COUNT), None, "{streaming}");
    assert_eq!(sample(&streaming, STREAM_DURATIONS), None, "{streaming}");
    assert_eq!(
        sample(&streaming, "http_requests_in_flight"),
        Some(1.0),
        "{streaming}"
    );

    let open = gates.lock().unwrap().take().expect("the handler ran");
    open.send(()).unwrap();
    assert_eq!(&read_to_end(response.into_body()).await[..], b"end");
    until("the stream to be recorded", || {
        sample(&text(&registry), STREAM_DURATIONS) == Some(1.0)
    })
    .await;
    let ended = text(&registry);
    assert_eq!(sample(&ended, STREAM_COUNT), Some(1.0), "{ended}");
    assert_eq!(sample(&ended, "http_requests_in_flight"), Some(0.0));
}

#[tokio::test]
async fn by_option_a_duration_ends_at_the_head() {
    let registry = Registry::new();
    let layer = HttpMetricsLayer::builder()
        .duration_to_body_end(false)
        .body_sizes(true)
        .build(&registry)
        .unwrap();
    let (app, gates) = streaming_app(layer);
    let addr = start(app).await;

    let response = head(addr, "/stream").await;
    // Recorded before the head was sent, the body still to come.
    let at_head = text(&registry);
    assert_eq!(sample(&at_head, STREAM_COUNT), Some(1.0), "{at_head}");
    assert_eq!(sample(&at_head, STREAM_DURATIONS), Some(1.0), "{at_head}");
    assert_eq!(sample(&at_head, "http_requests_in_flight"), Some(0.0));
    let sizes = r#"http_response_size_bytes_count{method="GET",route="/stream"}"#;
    let size = r#"http_response_size_bytes_sum{method="GET",route="/stream"}"#;
    assert_eq!(sample(&at_head, sizes), Some(0.0), "{at_head}");

    gates.lock().unwrap().take().unwrap().send(()).unwrap();
    read_to_end(response.into_body()).await;
    // The body's size is still recorded at its end.
    until("the size to be recorded", || {
        sample(&text(&registry), size) == Some(3.0)
    })
    .await;
    assert_eq!(sample(&text(&registry), STREAM_COUNT), Some(1.0));
}
