//! `/health`, `/ready`, `/healthz` and the per-check paths over a real
//! socket: status codes, what each body may say, `?verbose`, `?exclude`,
//! HEAD, the bearer token, and malformed queries.

mod common;

use std::net::SocketAddr;

use alerting_axum::Endpoints;
use alerting_core::health::{CheckOptions, CheckOutcome, HealthRegistry, Probe, check_fn};
use axum::http::{Method, StatusCode};
use common::{Http, raw, start};

const SECRET: &str = "password=hunter2 host=10.0.0.5";

/// database up, redis down (critical, with a secret in its error),
/// price_api down (not critical), event_loop up (liveness).
async fn health() -> HealthRegistry {
    let health = HealthRegistry::builder().version("1.2.3").build().unwrap();
    health
        .add_check(
            "database",
            CheckOptions::new(),
            check_fn(|| async { CheckOutcome::up() }),
        )
        .unwrap();
    health
        .add_check(
            "redis",
            CheckOptions::new(),
            check_fn(|| async { CheckOutcome::down("cannot reach redis").with_error(SECRET) }),
        )
        .unwrap();
    health
        .add_check(
            "price_api",
            CheckOptions::new().critical(false),
            check_fn(|| async { Err::<(), _>(SECRET) }),
        )
        .unwrap();
    health
        .add_check(
            "event_loop",
            CheckOptions::new().probe(Probe::Liveness),
            check_fn(|| async { CheckOutcome::up() }),
        )
        .unwrap();
    health.refresh().await;
    health
}

async fn server(token: Option<&str>) -> SocketAddr {
    let mut endpoints = Endpoints::new().health(health().await);
    if let Some(t) = token {
        endpoints = endpoints.bearer_token(t);
    }
    start(endpoints.router().unwrap()).await
}

#[tokio::test]
async fn probes_answer_status_codes_and_short_json() {
    let addr = server(None).await;
    let http = Http::new();

    let live = http.get(addr, "/health").await;
    assert_eq!(live.status, StatusCode::OK);
    assert_eq!(live.header("content-type"), Some("application/json"));
    assert_eq!(
        live.json(),
        serde_json::json!({"status":"up","live":true,"ready":false,"checks":{"event_loop":{"status":"up"}}})
    );

    let ready = http.get(addr, "/ready").await;
    assert_eq!(ready.status, StatusCode::SERVICE_UNAVAILABLE);
    let body = ready.json();
    assert_eq!(body["status"], "down");
    assert_eq!(
        body["checks"]["redis"],
        serde_json::json!({"status":"down"})
    );
    assert_eq!(
        body["checks"]["price_api"],
        serde_json::json!({"status":"down"})
    );
    assert!(body.get("version").is_none());
    for probe in [&live, &ready] {
        assert!(!probe.text().contains("hunter2"));
        assert!(!probe.text().contains("cannot reach"), "brief: no reasons");
    }
}

#[tokio::test]
async fn the_detailed_report_says_why_without_secrets() {
    let addr = server(None).await;
    let http = Http::new();

    let report = http.get(addr, "/healthz").await;
    assert_eq!(report.status, StatusCode::SERVICE_UNAVAILABLE);
    let body = report.json();
    assert_eq!(body["version"], "1.2.3");
    assert_eq!(body["checks"]["redis"]["reason"], "cannot reach redis");
    assert_eq!(body["checks"]["price_api"]["critical"], false);
    assert!(body["checks"]["database"]["duration_secs"].is_number());
    assert!(!report.text().contains("hunter2"), "{}", report.text());

    let one = http.get(addr, "/healthz/redis").await;
    assert_eq!(one.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(one.json()["reason"], "cannot reach redis");
    assert!(!one.text().contains("hunter2"));
    let one = http.get(addr, "/healthz/database").await;
    assert_eq!(one.status, StatusCode::OK);
    assert_eq!(one.json()["status"], "up");
    // Not critical, and down: its own path says so.
    assert_eq!(
        http.get(addr, "/healthz/price_api").await.status,
        StatusCode::SERVICE_UNAVAILABLE
    );
}

#[tokio::test]
async fn per_check_paths() {
    let addr = server(None).await;
    let http = Http::new();
    let ready_db = http.get(addr, "/ready/database").await;
    assert_eq!(ready_db.status, StatusCode::OK);
    assert_eq!(ready_db.json(), serde_json::json!({"status":"up"}));
    let ready_redis = http.get(addr, "/ready/redis").await;
    assert_eq!(ready_redis.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(ready_redis.json(), serde_json::json!({"status":"down"}));
    // A readiness check is not on the liveness path; unknown is 404.
    assert_eq!(
        http.get(addr, "/health/redis").await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        http.get(addr, "/health/event_loop").await.status,
        StatusCode::OK
    );
    let unknown = http.get(addr, "/ready/nope").await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    assert_eq!(unknown.json(), serde_json::json!({"error":"no such check"}));
    let verbose = http.get(addr, "/ready/redis?verbose").await;
    assert_eq!(
        verbose.text(),
        "[-]redis failed: reason withheld\nreadiness check failed\n"
    );
}

#[tokio::test]
async fn exclude_leaves_checks_out_of_the_status() {
    let addr = server(None).await;
    let http = Http::new();

    let r = http.get(addr, "/ready?exclude=redis").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    // price_api is down but not critical: degraded, still ready.
    assert_eq!(r.json()["status"], "degraded");
    assert!(r.json()["checks"].get("redis").is_none());

    let r = http
        .get(addr, "/ready?exclude=redis&exclude=price_api")
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.json()["status"], "up");
    assert_eq!(
        r.json()["checks"],
        serde_json::json!({"database":{"status":"up"}})
    );

    // Comma-separated works too; the report path keeps its detail.
    let r = http.get(addr, "/healthz?exclude=redis,price_api").await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.json()["version"], "1.2.3");
    assert!(r.json()["checks"]["database"]["duration_secs"].is_number());

    // A name that matches nothing changes nothing.
    let r = http.get(addr, "/ready?exclude=nope").await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE);

    // Excluding the liveness check from /health leaves no check: up.
    let r = http.get(addr, "/health?exclude=event_loop").await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.json()["checks"], serde_json::json!({}));
}

#[tokio::test]
async fn verbose_is_the_kubernetes_text() {
    let addr = server(None).await;
    let http = Http::new();

    let r = http.get(addr, "/ready?verbose").await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(r.header("content-type"), Some("text/plain; charset=utf-8"));
    assert_eq!(
        r.text(),
        "[+]database ok\n\
         [-]price_api failed: reason withheld\n\
         [-]redis failed: reason withheld\n\
         readiness check failed\n"
    );

    let r = http
        .get(addr, "/ready?verbose=true&exclude=redis&exclude=ghost")
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(
        r.text(),
        "[+]database ok\n\
         [-]price_api failed: reason withheld\n\
         [+]redis excluded: ok\n\
         warn: some health checks cannot be excluded: no matches for \"ghost\"\n\
         readiness check passed\n"
    );

    let r = http.get(addr, "/healthz?verbose").await;
    assert!(
        r.text().contains("[-]redis failed: cannot reach redis\n"),
        "{}",
        r.text()
    );
    assert!(
        r.text()
            .contains("[-]price_api failed (non-critical): check failed\n")
    );
    assert!(r.text().ends_with("health check failed\n"));
    assert!(!r.text().contains("hunter2"));

    let r = http.get(addr, "/health?verbose").await;
    assert_eq!(r.text(), "[+]event_loop ok\nliveness check passed\n");
}

#[tokio::test]
async fn head_works_everywhere() {
    let addr = server(None).await;
    let http = Http::new();
    for (path, status) in [
        ("/health", StatusCode::OK),
        ("/ready", StatusCode::SERVICE_UNAVAILABLE),
        ("/healthz", StatusCode::SERVICE_UNAVAILABLE),
        ("/ready/database", StatusCode::OK),
        ("/healthz/redis", StatusCode::SERVICE_UNAVAILABLE),
        ("/ready?verbose", StatusCode::SERVICE_UNAVAILABLE),
    ] {
        let r = http.send(Method::HEAD, addr, path, &[]).await;
        assert_eq!(r.status, status, "{path}");
        assert!(r.body.is_empty(), "{path}");
        assert!(r.header("content-type").is_some(), "{path}");
    }
}

#[tokio::test]
async fn the_token_guards_the_report_not_the_probes() {
    let addr = server(Some("let-me-in")).await;
    let http = Http::new();
    for path in [
        "/healthz",
        "/healthz/redis",
        "/healthz/nope",
        "/healthz?verbose",
    ] {
        let r = http.get(addr, path).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{path}");
        assert!(!r.text().contains("redis"));
        let r = http
            .get_with(addr, path, &[("authorization", b"Bearer let-me-out")])
            .await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{path}");
    }
    let r = http
        .get_with(addr, "/healthz", &[("authorization", b"Bearer let-me-in")])
        .await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(r.json()["version"], "1.2.3");
    // Probes stay open: kubelets send no token.
    assert_eq!(http.get(addr, "/health").await.status, StatusCode::OK);
    assert_eq!(
        http.get(addr, "/ready").await.status,
        StatusCode::SERVICE_UNAVAILABLE
    );
}

#[tokio::test]
async fn malformed_queries_and_paths_are_answered() {
    let addr = server(None).await;
    let http = Http::new();
    for path in [
        "/ready?exclude=%ZZ&verbose=%",
        "/ready?&&&==&exclude=",
        "/ready?exclude=%E2%82",
        "/ready?verbose=maybe&exclude=,,,",
        "/healthz?exclude=%00%0A",
        "/ready/%E2%82",
        "/ready/a%20b",
    ] {
        let r = http.get(addr, path).await;
        assert!(
            !r.status.is_server_error() || r.status == StatusCode::SERVICE_UNAVAILABLE,
            "{path}: {}",
            r.status
        );
    }
    // An exclude name with a newline cannot forge lines of the verbose text.
    let r = http
        .get(addr, "/ready?verbose&exclude=x%0A%5B%2B%5Dfake%20ok")
        .await;
    assert!(!r.text().contains("\n[+]fake ok"), "{}", r.text());

    let long = format!("/ready?{}", "exclude=a&".repeat(2000));
    assert_eq!(
        http.get(addr, &long).await.status,
        StatusCode::SERVICE_UNAVAILABLE
    );

    let status = raw(
        addr,
        b"GET /ready/\xff\xfe?verbose=\xff HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert!(status.starts_with("HTTP/1.1 4"), "{status}");
}
