//! The HTTP metrics layer around a real tonic server (tonic-health's
//! service), called by a real tonic client over 127.0.0.1: methods as
//! routes, gRPC statuses as classes (in the head or in the trailers),
//! unknown methods folded, a server stream counted at its end.

mod common;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use alerting_axum::HttpMetricsLayer;
use alerting_core::metrics::{Format, Registry};
use common::{TIMEOUT, sample};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tonic::transport::{Channel, Server};
use tonic_health::pb::health_client::HealthClient;
use tonic_health::pb::health_server::HealthServer;
use tonic_health::pb::{HealthCheckRequest, HealthCheckResponse};
use tonic_health::server::HealthService;

const CHECK: &str = "/grpc.health.v1.Health/Check";
const WATCH: &str = "/grpc.health.v1.Health/Watch";

fn text(registry: &Registry) -> String {
    registry.encode_to_string(Format::Prometheus).unwrap()
}

fn requests(registry: &Registry, route: &str, status: &str) -> Option<f64> {
    sample(
        &text(registry),
        &format!(r#"http_requests_total{{method="POST",route="{route}",status="{status}"}}"#),
    )
}

/// Waits (bounded) until `f` is true.
async fn until(what: &str, mut f: impl FnMut() -> bool) {
    let start = Instant::now();
    while !f() {
        assert!(start.elapsed() < TIMEOUT, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// A tonic server with the health service behind the layer; a request
/// with `x-fail` metadata is refused by an interceptor with `INTERNAL`.
/// Stops when the sender is dropped.
async fn start(layer: HttpMetricsLayer) -> (SocketAddr, oneshot::Sender<()>) {
    let (reporter, _) = tonic_health::server::health_reporter();
    let health = HealthServer::with_interceptor(
        HealthService::from_health_reporter(reporter),
        |request: tonic::Request<()>| {
            if request.metadata().contains_key("x-fail") {
                Err(tonic::Status::internal("asked to fail"))
            } else {
                Ok(request)
            }
        },
    );
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = oneshot::channel::<()>();
    tokio::spawn(
        Server::builder()
            .layer(layer)
            .add_service(health)
            .serve_with_incoming_shutdown(
                tonic::transport::server::TcpIncoming::from(listener),
                async {
                    let _ = stopped.await;
                },
            ),
    );
    (addr, stop)
}

async fn channel(addr: SocketAddr) -> Channel {
    tokio::time::timeout(
        TIMEOUT,
        Channel::from_shared(format!("http://{addr}"))
            .unwrap()
            .timeout(TIMEOUT)
            .connect(),
    )
    .await
    .expect("connect timed out")
    .expect("connect")
}

fn check(service: &str) -> HealthCheckRequest {
    HealthCheckRequest {
        service: service.to_owned(),
    }
}

/// Calls `path` with a health check request, whatever the method is.
async fn raw_call(channel: &Channel, path: &'static str) -> tonic::Status {
    let mut grpc = tonic::client::Grpc::new(channel.clone());
    grpc.ready().await.unwrap();
    let codec = tonic_prost::ProstCodec::<HealthCheckRequest, HealthCheckResponse>::default();
    grpc.unary(
        tonic::Request::new(check("")),
        tonic::codegen::http::uri::PathAndQuery::from_static(path),
        codec,
    )
    .await
    .expect_err("the method does not exist")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn methods_are_routes_and_grpc_statuses_are_classes() {
    let registry = Registry::new();
    let (addr, _stop) = start(HttpMetricsLayer::new(&registry).unwrap()).await;
    let channel = channel(addr).await;
    let mut client = HealthClient::new(channel.clone());

    // OK: the status comes in the trailers.
    for _ in 0..3 {
        client.check(check("")).await.unwrap();
    }
    // NOT_FOUND, trailers-only, HTTP 200: the caller's error.
    let missing = client.check(check("no.such.Service")).await.unwrap_err();
    assert_eq!(missing.code(), tonic::Code::NotFound);
    // INTERNAL, trailers-only, HTTP 200: the server's error.
    let mut failing = tonic::Request::new(check(""));
    failing
        .metadata_mut()
        .insert("x-fail", "1".parse().unwrap());
    let failed = client.check(failing).await.unwrap_err();
    assert_eq!(failed.code(), tonic::Code::Internal);

    // Methods the server does not have: UNIMPLEMENTED, folded like a 404.
    for path in [
        "/grpc.health.v1.Health/Nope",
        "/no.such.Service/Method",
        "/scan/1",
    ] {
        assert_eq!(
            raw_call(&channel, path).await.code(),
            tonic::Code::Unimplemented
        );
    }

    let text = text(&registry);
    assert_eq!(requests(&registry, CHECK, "2xx"), Some(3.0), "{text}");
    assert_eq!(requests(&registry, CHECK, "4xx"), Some(1.0), "{text}");
    assert_eq!(requests(&registry, CHECK, "5xx"), Some(1.0), "{text}");
    assert_eq!(requests(&registry, "unmatched", "4xx"), Some(3.0), "{text}");
    assert!(!text.contains("Nope"), "{text}");
    assert!(!text.contains("no.such"), "{text}");
    assert_eq!(
        sample(
            &text,
            &format!(r#"http_request_duration_seconds_count{{method="POST",route="{CHECK}"}}"#)
        ),
        Some(5.0)
    );
    assert_eq!(sample(&text, "http_requests_in_flight"), Some(0.0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_stream_is_recorded_when_it_ends() {
    let registry = Registry::new();
    let (addr, _stop) = start(HttpMetricsLayer::new(&registry).unwrap()).await;
    let mut client = HealthClient::new(channel(addr).await);

    let mut stream = client.watch(check("")).await.unwrap().into_inner();
    let first = stream.message().await.unwrap().expect("a first status");
    assert_eq!(first.status, 1, "SERVING");

    // The head and a message are out, the stream goes on: in flight, not
    // counted yet.
    let streaming = text(&registry);
    assert_eq!(
        sample(&streaming, "http_requests_in_flight"),
        Some(1.0),
        "{streaming}"
    );
    assert!(!streaming.contains(WATCH), "{streaming}");

    // The client goes away: the call ends CANCELLED, the caller's doing.
    drop(stream);
    until("the watch to be recorded", || {
        requests(&registry, WATCH, "4xx") == Some(1.0)
    })
    .await;
    assert_eq!(
        sample(&text(&registry), "http_requests_in_flight"),
        Some(0.0)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ignored_methods_are_not_recorded() {
    let registry = Registry::new();
    let layer = HttpMetricsLayer::builder()
        .ignore_route(CHECK)
        .build(&registry)
        .unwrap();
    let (addr, _stop) = start(layer).await;
    let mut client = HealthClient::new(channel(addr).await);
    client.check(check("")).await.unwrap();
    let text = text(&registry);
    assert!(!text.contains(CHECK), "{text}");
    assert_eq!(sample(&text, "http_requests_in_flight"), Some(0.0));
}
