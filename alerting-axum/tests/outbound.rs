//! Outbound call metrics against a local server that answers 200, 429 and
//! 500, hangs, or is not there (a closed port): through `reqwest`
//! (`Endpoint::send`), through the tower layer around hyper-util's
//! client, and by hand.

mod common;

use std::net::SocketAddr;
use std::time::Duration;

use alerting_axum::outbound::{CallOutcome, OutboundMetrics, OutboundRoute};
use alerting_core::metrics::{Format, Registry};
use axum::Router;
use axum::body::Bytes;
use axum::http::{Request, StatusCode};
use axum::routing::get;
use common::{TIMEOUT, sample, start};
use http_body_util::Full;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use tower::{Service, ServiceBuilder, ServiceExt};

/// The client's timeout for the hanging route: short, as the test waits
/// for it; not an assertion on time.
const CLIENT_TIMEOUT: Duration = Duration::from_millis(200);

async fn upstream() -> SocketAddr {
    start(
        Router::new()
            .route("/ok", get(|| async { "fine" }))
            .route(
                "/limited",
                get(|| async { (StatusCode::TOO_MANY_REQUESTS, "slow down") }),
            )
            .route(
                "/fail",
                get(|| async { (StatusCode::INTERNAL_SERVER_ERROR, "no") }),
            )
            .route(
                "/hang",
                // Longer than any client waits; the server ends with the
                // test's runtime.
                get(|| async {
                    tokio::time::sleep(TIMEOUT).await;
                    "late"
                }),
            ),
    )
    .await
}

/// An address where nothing listens: a port that was bound, then closed.
async fn closed_port() -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    listener.local_addr().unwrap()
}

fn text(registry: &Registry) -> String {
    registry.encode_to_string(Format::Prometheus).unwrap()
}

fn calls(text: &str, name: &str, target: &str, route: &str, outcome: &str) -> Option<f64> {
    sample(
        text,
        &format!(r#"{name}{{target="{target}",route="{route}",outcome="{outcome}"}}"#),
    )
}

#[cfg(feature = "reqwest")]
#[tokio::test]
async fn reqwest_calls_are_counted_by_outcome() {
    let registry = Registry::new();
    let metrics = OutboundMetrics::builder()
        .names("api_requests_total", "api_request_duration_seconds")
        .build(&registry)
        .unwrap();
    let addr = upstream().await;
    let client = reqwest::Client::builder()
        .timeout(CLIENT_TIMEOUT)
        .build()
        .unwrap();
    let price = |route| metrics.endpoint("price_api", route);

    for path in ["/ok", "/ok", "/limited", "/fail"] {
        let endpoint = price(path);
        let answer = endpoint
            .send(client.get(format!("http://{addr}{path}")))
            .await
            .unwrap();
        assert!(!answer.text().await.unwrap().is_empty());
    }
    let hung = price("/hang")
        .send(client.get(format!("http://{addr}/hang")))
        .await
        .unwrap_err();
    assert!(hung.is_timeout(), "{hung}");
    let closed = closed_port().await;
    let refused = metrics
        .endpoint("other_api", "/ok")
        .send(client.get(format!("http://{closed}/ok")))
        .await
        .unwrap_err();
    assert!(refused.is_connect(), "{refused}");

    let text = text(&registry);
    let n = |target, route, outcome| calls(&text, "api_requests_total", target, route, outcome);
    assert_eq!(n("price_api", "/ok", "2xx"), Some(2.0), "{text}");
    assert_eq!(n("price_api", "/limited", "429"), Some(1.0), "{text}");
    assert_eq!(n("price_api", "/fail", "5xx"), Some(1.0), "{text}");
    assert_eq!(n("price_api", "/hang", "timeout"), Some(1.0), "{text}");
    assert_eq!(n("other_api", "/ok", "connect_error"), Some(1.0), "{text}");
    assert_eq!(
        sample(
            &text,
            r#"api_request_duration_seconds_count{target="price_api",route="/ok"}"#
        ),
        Some(2.0),
        "{text}"
    );
}

#[tokio::test]
async fn the_tower_layer_records_a_hyper_clients_calls() {
    let registry = Registry::new();
    let metrics = OutboundMetrics::new(&registry).unwrap();
    let addr = upstream().await;
    let closed = closed_port().await;
    let client = Client::builder(TokioExecutor::new()).build_http::<Full<Bytes>>();
    let mut service = ServiceBuilder::new()
        .layer(metrics.layer("node"))
        .service(client);

    let mut call = async |address: SocketAddr, path: &str, route: Option<&'static str>| {
        let mut request = Request::get(format!("http://{address}{path}"))
            .body(Full::new(Bytes::new()))
            .unwrap();
        if let Some(route) = route {
            request.extensions_mut().insert(OutboundRoute(route));
        }
        let ready = service.ready().await.unwrap();
        tokio::time::timeout(TIMEOUT, ready.call(request))
            .await
            .expect("bounded")
    };
    assert_eq!(
        call(addr, "/ok", Some("/ok")).await.unwrap().status(),
        StatusCode::OK
    );
    assert_eq!(
        call(addr, "/limited", Some("/limited"))
            .await
            .unwrap()
            .status(),
        StatusCode::TOO_MANY_REQUESTS
    );
    assert_eq!(
        call(addr, "/fail", None).await.unwrap().status(),
        StatusCode::INTERNAL_SERVER_ERROR
    );
    assert!(call(closed, "/ok", Some("/ok")).await.is_err());
    // A timeout around the call drops its future: cancelled.
    let hang = tokio::time::timeout(CLIENT_TIMEOUT, call(addr, "/hang", Some("/hang"))).await;
    assert!(hang.is_err(), "the hanging call timed out");

    let text = text(&registry);
    let n = |route, outcome| calls(&text, "outbound_requests_total", "node", route, outcome);
    assert_eq!(n("/ok", "2xx"), Some(1.0), "{text}");
    assert_eq!(n("/limited", "429"), Some(1.0), "{text}");
    assert_eq!(n("other", "5xx"), Some(1.0), "{text}");
    assert_eq!(n("/ok", "connect_error"), Some(1.0), "{text}");
    assert_eq!(n("/hang", "cancelled"), Some(1.0), "{text}");
}

#[test]
fn calls_recorded_by_hand_and_names_checked() {
    let registry = Registry::new();
    let metrics = OutboundMetrics::builder()
        .names("rpc_calls_total", "rpc_call_duration_seconds")
        .build(&registry)
        .unwrap();
    let eth_call = metrics.endpoint("bsc_node", "eth_call");
    eth_call.start().finish(CallOutcome::Success);
    eth_call.start().finish(CallOutcome::Timeout);
    drop(eth_call.start());
    let text = text(&registry);
    let n = |outcome| calls(&text, "rpc_calls_total", "bsc_node", "eth_call", outcome);
    assert_eq!(n("2xx"), Some(1.0), "{text}");
    assert_eq!(n("timeout"), Some(1.0), "{text}");
    assert_eq!(n("cancelled"), Some(1.0), "{text}");
    assert_eq!(eth_call.calls(CallOutcome::Success), 1);
    assert_eq!(eth_call.total(), 3);

    // The references rules are written from name what was written.
    let refs = metrics.metric_refs();
    assert_eq!(refs.requests.name(), "rpc_calls_total");
    assert_eq!(refs.requests.label_names(), ["target", "route", "outcome"]);
    assert_eq!(refs.duration.name(), "rpc_call_duration_seconds");
    assert_eq!(refs.duration.label_names(), ["target", "route"]);
    assert!(
        text.contains("rpc_call_duration_seconds_count{target=\"bsc_node\",route=\"eth_call\"} 3"),
        "{text}"
    );

    // A second set under the same names, and a counter not named `_total`,
    // are errors, not panics.
    assert!(
        OutboundMetrics::builder()
            .names("rpc_calls_total", "rpc_call_duration_seconds")
            .build(&registry)
            .is_err()
    );
    let error = OutboundMetrics::builder()
        .names("rpc_calls", "rpc_call_duration_seconds")
        .build(&Registry::new())
        .unwrap_err();
    assert!(error.to_string().contains("rpc_calls"), "{error}");
}

#[test]
fn errors_are_classified_through_their_sources() {
    use std::io::{Error, ErrorKind};
    #[derive(Debug)]
    struct Wrapper(Error);
    impl std::fmt::Display for Wrapper {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("wrapped")
        }
    }
    impl std::error::Error for Wrapper {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            Some(&self.0)
        }
    }
    let of = |kind| CallOutcome::from_error(&Wrapper(Error::from(kind)));
    assert_eq!(of(ErrorKind::ConnectionRefused), CallOutcome::ConnectError);
    assert_eq!(of(ErrorKind::TimedOut), CallOutcome::Timeout);
    assert_eq!(of(ErrorKind::InvalidData), CallOutcome::TlsError);
    assert_eq!(of(ErrorKind::Other), CallOutcome::Error);
    assert_eq!(CallOutcome::from_status(700), CallOutcome::Error);
}

/// The outbound families pass a real
/// `promtool check metrics` (installed by `.ci/run`; missing, this fails).
#[test]
fn promtool_accepts_the_outbound_families() {
    use std::io::Write as _;
    use std::process::{Command, Stdio};

    let registry = Registry::new();
    let metrics = OutboundMetrics::builder()
        .names("api_requests_total", "api_request_duration_seconds")
        .build(&registry)
        .unwrap();
    let endpoint = metrics.endpoint("price_api", "/token/{address}");
    for outcome in [
        CallOutcome::Success,
        CallOutcome::RateLimited,
        CallOutcome::Timeout,
        CallOutcome::ConnectError,
    ] {
        endpoint.start().finish(outcome);
    }
    let text = text(&registry);
    let mut child = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("promtool not found: install Debian's `prometheus` package (.ci/run does)");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "promtool: {report}\n{text}");
    assert!(report.trim().is_empty(), "promtool lint: {report}");
}
