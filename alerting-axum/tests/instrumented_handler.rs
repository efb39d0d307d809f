//! `#[instrumented]` on axum handlers: `impl IntoResponse` returns, and a
//! predicate that counts a 5xx carried in an `Ok` as an error.

use std::sync::OnceLock;

use alerting_core::instrumented;
use alerting_core::metrics::{Format, Registry};
use axum::Router;
use axum::body::Body;
use axum::extract::Path;
use axum::http::{Request, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use tower::ServiceExt;

fn registry() -> &'static Registry {
    static R: OnceLock<Registry> = OnceLock::new();
    R.get_or_init(Registry::new)
}

#[instrumented(registry = registry)]
async fn hello() -> impl IntoResponse {
    "hello"
}

#[derive(Debug)]
struct AppError;

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        StatusCode::BAD_REQUEST.into_response()
    }
}

fn not_5xx(result: &Result<Response, AppError>) -> bool {
    matches!(result, Ok(r) if !r.status().is_server_error())
}

#[instrumented(registry = registry, ok_if = not_5xx)]
async fn wallet(Path(id): Path<u32>) -> Result<Response, AppError> {
    match id {
        0 => Err(AppError),
        500 => Ok(StatusCode::INTERNAL_SERVER_ERROR.into_response()),
        _ => Ok(format!("wallet {id}").into_response()),
    }
}

fn count(function: &str, outcome: &str) -> String {
    let text = registry().encode_to_string(Format::Prometheus).unwrap();
    let prefix = format!(
        r#"function_calls_total{{function="{function}",module="instrumented_handler",outcome="{outcome}"}} "#
    );
    text.lines()
        .find_map(|l| l.strip_prefix(&prefix).map(str::to_owned))
        .unwrap_or_default()
}

#[tokio::test]
async fn handlers_are_counted_by_what_they_answer() {
    let app = Router::new()
        .route("/hello", get(hello))
        .route("/wallets/{id}", get(wallet));
    for (uri, status) in [
        ("/hello", StatusCode::OK),
        ("/wallets/7", StatusCode::OK),
        ("/wallets/0", StatusCode::BAD_REQUEST),
        ("/wallets/500", StatusCode::INTERNAL_SERVER_ERROR),
    ] {
        let response = app
            .clone()
            .oneshot(Request::get(uri).body(Body::empty()).unwrap())
            .await
            .unwrap();
        assert_eq!(response.status(), status, "{uri}");
    }
    assert_eq!(count("hello", "ok"), "1");
    assert_eq!(count("wallet", "ok"), "1");
    assert_eq!(count("wallet", "error"), "2");
}
