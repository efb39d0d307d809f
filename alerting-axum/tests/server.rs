//! `Server`, the HTTP half of the bootstrap: the endpoints bound from the
//! `[metrics]` configuration (address, path, token), the service's router
//! beside them with its HTTP metrics, all stopped by the shutdown.

mod common;

use std::net::{SocketAddr, TcpListener};
use std::time::Duration;

use alerting_axum::{Server, ServerError};
use alerting_core::Observability;
use alerting_core::config::{ConfigLoader, MonitoringConfig};
use axum::Router;
use axum::http::StatusCode;
use axum::routing::get;
use common::{Captured, Http, sample};

fn config(toml: &str) -> MonitoringConfig {
    ConfigLoader::new().toml(toml).no_env().load().unwrap()
}

fn start(config: &MonitoringConfig) -> Observability {
    Observability::builder("orders")
        .config(config)
        .logging(false)
        .install_global(false)
        .process_collector(false)
        .signals(false)
        .start()
        .unwrap()
}

fn api() -> Router {
    Router::new()
        .route("/orders", get(|| async { "[]" }))
        .route("/orders/{id}", get(|| async { "{}" }))
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

async fn refused(addr: SocketAddr) -> bool {
    tokio::net::TcpStream::connect(addr).await.is_err()
}

#[tokio::test]
async fn endpoints_from_the_config_and_the_api_beside_them() {
    let obs = start(&config(
        "[metrics]\nlisten_addr = \"127.0.0.1:0\"\npath = \"/internal/metrics\"\n\
         bearer_token = \"s3cret\"\n",
    ));
    let server = Server::new(&obs)
        .api("127.0.0.1:0".parse().unwrap(), api())
        .bind()
        .await
        .unwrap();
    let (admin, api) = (server.metrics_addr(), server.api_addr().unwrap());
    assert_ne!(admin, api);
    let http = Http::new();

    assert_eq!(http.get(api, "/orders/7").await.status, StatusCode::OK);
    assert_eq!(http.get(api, "/orders/8").await.status, StatusCode::OK);
    // The endpoints are on the admin port only, at the configured path,
    // behind the configured token.
    assert_eq!(
        http.get(api, "/internal/metrics").await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        http.get(admin, "/internal/metrics").await.status,
        StatusCode::UNAUTHORIZED
    );
    let reply = http
        .get_with(
            admin,
            "/internal/metrics",
            &[("authorization", b"Bearer s3cret")],
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    let text = reply.text();
    assert_eq!(
        sample(
            text,
            r#"http_requests_total{service="orders",method="GET",route="/orders/{id}",status="2xx"}"#
        ),
        Some(2.0),
        "{text}"
    );
    assert_eq!(http.get(admin, "/ready").await.status, StatusCode::OK);

    obs.shutdown().trigger("test");
    let report = tokio::time::timeout(Duration::from_secs(10), server.run())
        .await
        .expect("the server stops with the shutdown")
        .unwrap();
    assert!(report.is_clean(), "{report}");
    assert!(refused(api).await && refused(admin).await);
}

#[tokio::test]
async fn one_port_when_the_api_and_the_metrics_share_an_address() {
    let port = free_port();
    let obs = start(&config(&format!(
        "[metrics]\nlisten_addr = \"127.0.0.1:{port}\"\n"
    )));
    let addr: SocketAddr = ([127, 0, 0, 1], port).into();
    let server = Server::new(&obs).api(addr, api()).bind().await.unwrap();
    assert_eq!(server.metrics_addr(), addr);
    assert_eq!(server.api_addr(), Some(addr));

    let http = Http::new();
    assert_eq!(http.get(addr, "/orders").await.status, StatusCode::OK);
    let reply = http.get(addr, "/metrics").await;
    assert_eq!(reply.status, StatusCode::OK);
    assert!(
        reply.text().contains(r#"route="/orders",status="2xx"} 1"#),
        "{}",
        reply.text()
    );
    assert_eq!(http.get(addr, "/health").await.status, StatusCode::OK);

    obs.shutdown().trigger("test");
    let report = server.run().await.unwrap();
    assert!(report.is_clean(), "{report}");
}

#[tokio::test]
async fn an_address_in_use_is_an_error_naming_it() {
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap();
    let obs = start(&config(&format!("[metrics]\nlisten_addr = \"{addr}\"\n")));
    let err = Server::new(&obs).bind().await.unwrap_err();
    assert!(
        matches!(&err, ServerError::Bind { what: "metrics", addr: a, .. } if *a == addr),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        format!("cannot listen on {addr} (metrics)")
    );
}

/// Binds `config`'s metrics address and returns what was logged.
async fn bind_and_capture(config: &MonitoringConfig) -> String {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    let obs = start(config);
    let server = Server::new(&obs).bind().await.unwrap();
    obs.shutdown().trigger("test");
    server.run().await.unwrap();
    captured.text()
}

#[tokio::test]
async fn a_non_loopback_address_without_a_token_warns_unless_public() {
    let exposed = bind_and_capture(&config("[metrics]\nlisten_addr = \"0.0.0.0:0\"\n")).await;
    assert!(
        exposed.contains("WARN") && exposed.contains("without a bearer token"),
        "{exposed}"
    );
    let public = bind_and_capture(&config(
        "[metrics]\nlisten_addr = \"0.0.0.0:0\"\npublic = true\n",
    ))
    .await;
    assert!(!public.contains("without a bearer token"), "{public}");
    let token = bind_and_capture(&config(
        "[metrics]\nlisten_addr = \"0.0.0.0:0\"\nbearer_token = \"t\"\n",
    ))
    .await;
    assert!(!token.contains("without a bearer token"), "{token}");
    let loopback = bind_and_capture(&config("[metrics]\nlisten_addr = \"127.0.0.1:0\"\n")).await;
    assert!(!loopback.contains("without a bearer token"), "{loopback}");
}

#[tokio::test]
async fn a_path_taken_by_the_api_on_a_shared_port_is_a_typed_error() {
    let port = free_port();
    let obs = start(&config(&format!(
        "[metrics]\nlisten_addr = \"127.0.0.1:{port}\"\n"
    )));
    let addr: SocketAddr = ([127, 0, 0, 1], port).into();
    let api = api().route("/health", get(|| async { "mine" }));
    let err = Server::new(&obs).api(addr, api).bind().await.unwrap_err();
    assert!(
        matches!(err, ServerError::RouteConflict { addr: a } if a == addr),
        "{err:?}"
    );
    // Nothing was bound: the port is still free.
    assert!(TcpListener::bind(addr).is_ok());
}
