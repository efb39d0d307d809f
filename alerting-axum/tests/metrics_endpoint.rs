//! `GET /metrics` over a real socket: content negotiation, gzip, HEAD,
//! bearer tokens, malformed headers, and promtool on the output.

mod common;

use std::io::Write;
use std::process::{Command, Stdio};

use alerting_axum::{Endpoints, HttpMetricsLayer};
use alerting_core::metrics::{Counter, Registry};
use axum::Router;
use axum::http::{Method, StatusCode};
use axum::routing::get;
use common::{Http, raw, sample, start};

const OPENMETRICS_ACCEPT: &[u8] = b"application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";

fn registry() -> Registry {
    let registry = Registry::builder()
        .const_label("service", "test")
        .build()
        .unwrap();
    let hits: Counter = registry.register("hits_total", "Hits").unwrap();
    hits.inc_by(3);
    registry
}

#[tokio::test]
async fn format_follows_accept() {
    let addr = start(Endpoints::new().metrics(registry()).router().unwrap()).await;
    let http = Http::new();

    let text = http.get(addr, "/metrics").await;
    assert_eq!(text.status, StatusCode::OK);
    assert_eq!(
        text.header("content-type"),
        Some("text/plain; version=0.0.4; charset=utf-8")
    );
    assert_eq!(
        sample(text.text(), r#"hits_total{service="test"}"#),
        Some(3.0)
    );
    assert!(!text.text().contains("# EOF"));

    // What Prometheus sends: it prefers OpenMetrics.
    let om = http
        .get_with(addr, "/metrics", &[("accept", OPENMETRICS_ACCEPT)])
        .await;
    assert_eq!(om.status, StatusCode::OK);
    assert_eq!(
        om.header("content-type"),
        Some("application/openmetrics-text; version=1.0.0; charset=utf-8")
    );
    assert!(om.text().ends_with("# EOF\n"), "{}", om.text());
    assert!(om.header("vary").unwrap().contains("accept"));

    let prefers_text = http
        .get_with(
            addr,
            "/metrics",
            &[("accept", b"application/openmetrics-text;q=0.3, text/plain")],
        )
        .await;
    assert!(
        prefers_text
            .header("content-type")
            .unwrap()
            .starts_with("text/plain")
    );
}

#[tokio::test]
async fn malformed_accept_is_answered_with_the_text_format() {
    let addr = start(Endpoints::new().metrics(registry()).router().unwrap()).await;
    let http = Http::new();
    for accept in [
        &b""[..],
        b";;;=q,,",
        b"application/openmetrics-text;q=nan",
        b"application/openmetrics-text;q=-1",
        b"\xff\xfe\xfd",
        b"*/*;q=0",
        "application/openmetrics-text;q=0.5;q="
            .repeat(500)
            .as_bytes(),
    ] {
        let reply = http.get_with(addr, "/metrics", &[("accept", accept)]).await;
        assert_eq!(reply.status, StatusCode::OK, "{accept:?}");
        assert!(
            reply
                .header("content-type")
                .unwrap()
                .starts_with("text/plain"),
            "{accept:?}"
        );
    }
    // Garbage that no client library would send.
    let status = raw(
        addr,
        b"GET /metrics?%%%&&== HTTP/1.1\r\nHost: x\r\nAccept: \x01\r\nAccept-Encoding: gzip;q=\xff\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert!(status.starts_with("HTTP/1.1 "), "{status}");
    assert!(!status.contains(" 5"), "{status}");
}

#[cfg(feature = "gzip")]
#[tokio::test]
async fn gzip_when_accepted() {
    let addr = start(Endpoints::new().metrics(registry()).router().unwrap()).await;
    let http = Http::new();

    let plain = http.get(addr, "/metrics").await;
    assert_eq!(plain.header("content-encoding"), None);

    for _ in 0..3 {
        // Several times: the compressor and buffers are reused.
        let gz = http
            .get_with(
                addr,
                "/metrics",
                &[("accept-encoding", b"br;q=1.0, gzip;q=0.8")],
            )
            .await;
        assert_eq!(gz.status, StatusCode::OK);
        assert_eq!(gz.header("content-encoding"), Some("gzip"));
        assert!(gz.header("vary").unwrap().contains("accept-encoding"));
        let mut decoded = String::new();
        let mut gunzip = flate2::read::GzDecoder::new(&gz.body[..]);
        std::io::Read::read_to_string(&mut gunzip, &mut decoded).unwrap();
        assert_eq!(decoded, plain.text());
    }

    let refused = http
        .get_with(addr, "/metrics", &[("accept-encoding", b"gzip;q=0")])
        .await;
    assert_eq!(refused.header("content-encoding"), None);

    // Turned off: never compressed.
    let addr = start(
        Endpoints::new()
            .metrics(registry())
            .gzip(false)
            .router()
            .unwrap(),
    )
    .await;
    let reply = http
        .get_with(addr, "/metrics", &[("accept-encoding", b"gzip")])
        .await;
    assert_eq!(reply.header("content-encoding"), None);
    assert_eq!(reply.header("vary"), Some("accept"));
}

/// Without the `gzip` feature the body is never compressed, whatever the
/// client accepts, and the response does not vary by encoding.
#[cfg(not(feature = "gzip"))]
#[tokio::test]
async fn never_compressed_without_the_gzip_feature() {
    let addr = start(Endpoints::new().metrics(registry()).router().unwrap()).await;
    let http = Http::new();
    let plain = http.get(addr, "/metrics").await;
    let reply = http
        .get_with(addr, "/metrics", &[("accept-encoding", b"gzip, *;q=1")])
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.header("content-encoding"), None);
    assert_eq!(reply.header("vary"), Some("accept"));
    assert_eq!(reply.text(), plain.text());
}

#[tokio::test]
async fn head_has_the_headers_and_no_body() {
    let addr = start(Endpoints::new().metrics(registry()).router().unwrap()).await;
    let reply = Http::new()
        .send(
            Method::HEAD,
            addr,
            "/metrics",
            &[("accept", OPENMETRICS_ACCEPT)],
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    assert!(reply.body.is_empty());
    assert!(
        reply
            .header("content-type")
            .unwrap()
            .starts_with("application/openmetrics-text")
    );
}

#[tokio::test]
async fn bearer_token_protects_metrics() {
    let addr = start(
        Endpoints::new()
            .metrics(registry())
            .bearer_token("t0ken-xyz")
            .router()
            .unwrap(),
    )
    .await;
    let http = Http::new();

    for auth in [
        None,
        Some(&b"Bearer wrong"[..]),
        Some(b"Bearer t0ken-xy"),
        Some(b"Bearer t0ken-xyzz"),
        Some(b"Basic dDBrZW4teHl6"),
        Some(b"Bearer"),
        Some(b"\xff"),
    ] {
        let headers: Vec<(&str, &[u8])> = auth.map(|a| ("authorization", a)).into_iter().collect();
        let reply = http.get_with(addr, "/metrics", &headers).await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{auth:?}");
        assert_eq!(
            reply.header("www-authenticate"),
            Some(r#"Bearer realm="alerting""#)
        );
        assert!(!reply.text().contains("hits_total"));
    }
    let reply = http
        .get_with(addr, "/metrics", &[("authorization", b"Bearer t0ken-xyz")])
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    assert!(reply.text().contains("hits_total"));
}

#[tokio::test]
async fn custom_path_and_mounting_on_an_app() {
    let registry = registry();
    let app = Endpoints::new()
        .metrics(registry.clone())
        .metrics_path("/internal/metrics")
        .mount(Router::new().route("/", get(|| async { "app" })))
        .unwrap();
    let addr = start(app).await;
    let http = Http::new();
    assert_eq!(http.get(addr, "/").await.text(), "app");
    assert_eq!(
        http.get(addr, "/metrics").await.status,
        StatusCode::NOT_FOUND
    );
    let reply = http.get(addr, "/internal/metrics").await;
    assert_eq!(
        sample(reply.text(), r#"hits_total{service="test"}"#),
        Some(3.0)
    );
}

/// The exposition with the HTTP layer's families passes a real
/// `promtool check metrics` (installed by `.ci/run`; missing, this fails).
#[tokio::test]
async fn promtool_accepts_the_exposition() {
    let registry = registry();
    let app = Endpoints::new()
        .metrics(registry.clone())
        .mount(Router::new().route("/wallets/{id}", get(|| async { "w" })))
        .unwrap()
        .layer(
            HttpMetricsLayer::builder()
                .body_sizes(true)
                .build(&registry)
                .unwrap(),
        );
    let addr = start(app).await;
    let http = Http::new();
    for path in ["/wallets/1", "/wallets/2", "/nope"] {
        http.get(addr, path).await;
    }
    let text = http.get(addr, "/metrics").await;
    let mut child = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("promtool not found: install Debian's `prometheus` package (.ci/run does)");
    child.stdin.take().unwrap().write_all(&text.body).unwrap();
    let out = child.wait_with_output().unwrap();
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "promtool: {report}\n{}", text.text());
    assert!(report.trim().is_empty(), "promtool lint: {report}");
}
