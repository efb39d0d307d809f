//! `#[instrumented]` counts ok, error, panic and cancelled calls, and times
//! every one, for async and sync functions.

use std::sync::OnceLock;
use std::time::Duration;

use alerting_core::instrument::ErrorKind;
use alerting_core::instrumented;
use alerting_core::metrics::{Format, Registry};

fn registry() -> &'static Registry {
    static R: OnceLock<Registry> = OnceLock::new();
    R.get_or_init(Registry::new)
}

/// The value of the sample whose line starts with `prefix` (labels included).
fn sample(prefix: &str) -> Option<f64> {
    let text = registry().encode_to_string(Format::Prometheus).unwrap();
    text.lines()
        .find(|l| l.starts_with(prefix))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}

fn calls(function: &str, outcome: &str) -> f64 {
    sample(&format!(
        r#"function_calls_total{{function="{function}",module="instrumented_outcomes",outcome="{outcome}"}}"#
    ))
    .unwrap_or_else(|| panic!("no series for {function}/{outcome}"))
}

fn duration_count(function: &str) -> f64 {
    sample(&format!(
        r#"function_call_duration_seconds_count{{function="{function}",module="instrumented_outcomes"}}"#
    ))
    .unwrap_or(0.0)
}

#[derive(Debug)]
struct ParseError;

#[instrumented(registry = registry)]
fn parse(input: &str) -> Result<u32, ParseError> {
    if input.is_empty() {
        return Err(ParseError); // early return
    }
    let n: u32 = input.parse().map_err(|_| ParseError)?;
    Ok(n)
}

#[test]
fn sync_ok_and_error() {
    assert_eq!(parse("42").unwrap(), 42);
    assert!(parse("").is_err());
    assert!(parse("x").is_err());
    assert_eq!(calls("parse", "ok"), 1.0);
    assert_eq!(calls("parse", "error"), 2.0);
    assert_eq!(calls("parse", "panic"), 0.0);
    assert_eq!(duration_count("parse"), 3.0);
}

#[instrumented(registry = registry)]
fn explode(really: bool) -> u8 {
    if really {
        panic!("boom");
    }
    1
}

#[test]
fn a_panic_is_counted_and_goes_on() {
    assert_eq!(explode(false), 1);
    let caught = std::panic::catch_unwind(|| explode(true));
    let payload = caught.expect_err("the panic propagates");
    assert_eq!(payload.downcast_ref::<&str>(), Some(&"boom"));
    assert_eq!(calls("explode", "ok"), 1.0);
    assert_eq!(calls("explode", "panic"), 1.0);
    assert_eq!(duration_count("explode"), 2.0);
}

#[instrumented(registry = registry, in_flight)]
async fn slow(ms: u64) -> Result<(), ParseError> {
    tokio::time::sleep(Duration::from_millis(ms)).await;
    Ok(())
}

#[tokio::test]
async fn a_dropped_future_is_cancelled() {
    slow(1).await.unwrap();
    let timed_out = tokio::time::timeout(Duration::from_millis(20), slow(10_000)).await;
    assert!(timed_out.is_err());
    // A select! loser is dropped too.
    tokio::select! {
        _ = slow(10_000) => unreachable!(),
        _ = tokio::time::sleep(Duration::from_millis(5)) => {}
    }
    assert_eq!(calls("slow", "ok"), 1.0);
    assert_eq!(calls("slow", "cancelled"), 2.0);
    assert_eq!(duration_count("slow"), 3.0);
    assert_eq!(
        sample(r#"function_calls_in_flight{function="slow",module="instrumented_outcomes"}"#),
        Some(0.0)
    );
}

#[instrumented(registry = registry)]
async fn async_panics() -> u8 {
    tokio::task::yield_now().await;
    panic!("async boom")
}

#[tokio::test]
async fn an_async_panic_is_a_panic_not_a_cancellation() {
    let joined = tokio::spawn(async_panics()).await;
    assert!(joined.unwrap_err().is_panic());
    assert_eq!(calls("async_panics", "panic"), 1.0);
    assert_eq!(calls("async_panics", "cancelled"), 0.0);
}

#[derive(Debug)]
enum RpcError {
    Timeout,
    RateLimited,
}

impl ErrorKind for RpcError {
    fn error_kind(&self) -> &'static str {
        match self {
            RpcError::Timeout => "timeout",
            RpcError::RateLimited => "rate_limited",
        }
    }
}

#[instrumented(registry = registry)]
fn rpc(n: u8) -> Result<(), RpcError> {
    match n {
        0 => Ok(()),
        1 => Err(RpcError::Timeout),
        _ => Err(RpcError::RateLimited),
    }
}

#[test]
fn error_kinds_label_errors() {
    for n in [0, 1, 1, 2] {
        let _ = rpc(n);
    }
    let base =
        r#"function_calls_total{function="rpc",module="instrumented_outcomes",outcome="error""#;
    assert_eq!(
        sample(&format!(r#"{base},error_kind="timeout"}}"#)),
        Some(2.0)
    );
    assert_eq!(
        sample(&format!(r#"{base},error_kind="rate_limited"}}"#)),
        Some(1.0)
    );
    // Errors with a kind are not counted again without one.
    assert_eq!(calls("rpc", "error"), 0.0);
    assert_eq!(calls("rpc", "ok"), 1.0);
}

fn none_is_error(found: &Option<u32>) -> bool {
    found.is_none()
}

#[instrumented(registry = registry, error_if = none_is_error)]
fn lookup(key: u32) -> Option<u32> {
    (key < 10).then_some(key * 2)
}

struct Response {
    status: u16,
}

fn is_success(r: &Result<Response, ParseError>) -> bool {
    matches!(r, Ok(resp) if resp.status < 500)
}

#[instrumented(registry = registry, ok_if = is_success)]
fn handler(status: u16) -> Result<Response, ParseError> {
    Ok(Response { status })
}

#[test]
fn predicates_decide_success() {
    assert_eq!(lookup(3), Some(6));
    assert_eq!(lookup(30), None);
    assert_eq!(calls("lookup", "ok"), 1.0);
    assert_eq!(calls("lookup", "error"), 1.0);

    assert_eq!(handler(200).unwrap().status, 200);
    assert_eq!(handler(503).unwrap().status, 503);
    assert_eq!(calls("handler", "ok"), 1.0);
    assert_eq!(calls("handler", "error"), 1.0);
}

#[instrumented(registry = registry, labels(chain = "bsc", r#type = "quote\"d"))]
fn for_promtool(fail: bool) -> Result<(), RpcError> {
    if fail { Err(RpcError::Timeout) } else { Ok(()) }
}

#[test]
fn exposition_passes_promtool() {
    let _ = for_promtool(false);
    let _ = for_promtool(true);
    let text = registry().encode_to_string(Format::Prometheus).unwrap();
    let mut child = std::process::Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("promtool (Debian package prometheus) must be installed");
    use std::io::Write;
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
    assert!(
        out.status.success() && report.is_empty(),
        "{report}\n{text}"
    );
}

/// The seed's message handler: one annotation gives
/// `bsc_ws_messages_total{event_type, result}` and
/// `bsc_ws_messages_processing_seconds{event_type}`.
#[instrumented(
    registry = registry,
    calls = "bsc_ws_messages_total",
    duration = "bsc_ws_messages_processing_seconds",
    outcome_label = "result",
    labels(event_type = "swap"),
    buckets = [0.001, 0.01, 0.1, 1.0],
)]
async fn handle_swap(raw: &str) -> Result<u64, ParseError> {
    raw.parse().map_err(|_| ParseError)
}

#[tokio::test]
async fn the_seed_metrics_from_one_annotation() {
    handle_swap("12").await.unwrap();
    handle_swap("x").await.unwrap_err();
    let text = registry().encode_to_string(Format::Prometheus).unwrap();
    for line in [
        "# TYPE bsc_ws_messages_total counter",
        r#"bsc_ws_messages_total{function="handle_swap",module="instrumented_outcomes",event_type="swap",result="ok"} 1"#,
        r#"bsc_ws_messages_total{function="handle_swap",module="instrumented_outcomes",event_type="swap",result="error"} 1"#,
        "# TYPE bsc_ws_messages_processing_seconds histogram",
        r#"bsc_ws_messages_processing_seconds_bucket{function="handle_swap",module="instrumented_outcomes",event_type="swap",le="+Inf"} 2"#,
    ] {
        assert!(text.lines().any(|l| l == line), "missing {line}\n{text}");
    }
}

#[instrumented(registry = registry, calls = "clashing_total")]
fn clashing() {}

#[test]
fn a_family_name_taken_by_another_metric_is_reported_not_fatal() {
    let _: alerting_core::metrics::Counter =
        registry().register("clashing_total", "Taken").unwrap();
    clashing(); // still runs
    let errors = registry().instrumentation_errors();
    assert!(
        errors.iter().any(|e| e.contains("instrumented_outcomes::clashing") && e.contains("already written")),
        "{errors:?}"
    );
}

#[derive(Debug)]
struct Batch {
    id: String,
}

#[instrumented(registry = registry, span(fields(batch_id = %batch.id, size = batch.id.len())))]
async fn with_span(batch: Batch) -> usize {
    tracing::info!("inside");
    batch.id.len()
}

#[instrumented(registry = registry, span(fields(batch_id = %batch.id)))]
fn with_span_sync(batch: Batch) -> usize {
    batch.id.len()
}

#[tokio::test]
async fn span_fields_may_name_arguments_the_body_takes() {
    assert_eq!(with_span(Batch { id: "b-1".into() }).await, 3);
    assert_eq!(with_span_sync(Batch { id: "b-22".into() }), 4);
    assert_eq!(calls("with_span", "ok"), 1.0);
    assert_eq!(calls("with_span_sync", "ok"), 1.0);
}
