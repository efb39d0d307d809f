//! `#[instrumented]` on an async fn, a sync fn, a method and a handler,
//! through ok, error, panic (caught) and cancelled (timed out) calls; then
//! prints the call counts and the exposition.
//!
//! ```text
//! cargo run -q -p alerting-core --example instrumented
//! cargo run -q -p alerting-core --example instrumented -- --exposition-only | promtool check metrics
//! ```

use std::time::Duration;

use alerting_core::instrument::ErrorKind;
use alerting_core::instrumented;
use alerting_core::metrics::{Format, Registry};

#[derive(Debug)]
enum FetchError {
    NotFound,
    RateLimited,
}

impl ErrorKind for FetchError {
    fn error_kind(&self) -> &'static str {
        match self {
            FetchError::NotFound => "not_found",
            FetchError::RateLimited => "rate_limited",
        }
    }
}

/// An async call to a price API.
#[instrumented(labels(api = "dbotx"), in_flight)]
async fn fetch_price(token: &str, delay: Duration) -> Result<f64, FetchError> {
    tokio::time::sleep(delay).await;
    match token {
        "" => Err(FetchError::NotFound),
        "busy" => Err(FetchError::RateLimited),
        _ => Ok(612.5),
    }
}

/// A sync parser.
#[instrumented(buckets = fast_latency)]
fn parse_amount(raw: &str) -> Result<u64, std::num::ParseIntError> {
    if raw == "boom" {
        panic!("malformed message");
    }
    raw.parse()
}

struct Filter {
    min_usd: f64,
}

impl Filter {
    /// A method, with the seed's metric names and labels.
    #[instrumented(
        function = "Filter::check",
        calls = "bsc_filter_checks_total",
        duration = "bsc_filter_check_seconds",
        outcome_label = "result",
        labels(layer = "layer1"),
        error_if = Option::is_none
    )]
    fn check(&self, usd: f64) -> Option<f64> {
        (usd >= self.min_usd).then_some(usd)
    }
}

struct Response {
    status: u16,
}

fn below_500(r: &Result<Response, FetchError>) -> bool {
    matches!(r, Ok(resp) if resp.status < 500)
}

/// A handler whose `Ok` may carry a 5xx: `ok_if` decides.
#[instrumented(ok_if = below_500)]
async fn handler(status: u16) -> Result<Response, FetchError> {
    Ok(Response { status })
}

#[tokio::main]
async fn main() {
    let exposition_only = std::env::args().any(|a| a == "--exposition-only");
    // The panic below is expected; keep its message off stderr.
    std::panic::set_hook(Box::new(|_| {}));

    // async fn: 2 ok, 1 error (not_found), 1 error (rate_limited), 1 cancelled
    let fast = Duration::from_millis(1);
    let _ = fetch_price("0xabc", fast).await;
    let _ = fetch_price("0xdef", fast).await;
    let _ = fetch_price("", fast).await;
    let _ = fetch_price("busy", fast).await;
    let timed_out = tokio::time::timeout(
        Duration::from_millis(10),
        fetch_price("slow", Duration::from_secs(60)),
    )
    .await;
    assert!(timed_out.is_err());

    // sync fn: 2 ok, 1 error, 1 panic (caught)
    let _ = parse_amount("400");
    let _ = parse_amount("1000");
    let _ = parse_amount("x");
    let caught = std::panic::catch_unwind(|| parse_amount("boom"));
    assert!(caught.is_err());

    // method: 1 ok, 2 errors (None)
    let filter = Filter { min_usd: 400.0 };
    for usd in [1_000.0, 10.0, 399.0] {
        let _ = filter.check(usd);
    }

    // handler: 1 ok, 1 error (503 in an Ok)
    let _ = handler(200).await;
    let _ = handler(503).await;

    let text = Registry::global()
        .encode_to_string(Format::Prometheus)
        .expect("encode");
    if exposition_only {
        print!("{text}");
        return;
    }
    println!("calls made: fetch_price 2 ok, 2 error (not_found, rate_limited), 1 cancelled;");
    println!("            parse_amount 2 ok, 1 error, 1 panic; Filter::check 1 ok, 2 error;");
    println!("            handler 1 ok, 1 error\n");
    println!("counted:");
    for line in text.lines() {
        let counted = (line.starts_with("function_calls_total")
            || line.starts_with("bsc_filter_checks_total"))
            && !line.ends_with(" 0");
        if counted {
            println!("  {line}");
        }
    }
    println!("\nfull exposition:\n\n{text}");
}
