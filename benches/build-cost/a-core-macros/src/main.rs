//! Build cost, project (a): a `MetricGroup` of a counter family and a
//! histogram, one `#[instrumented]` async fn (polled by hand, no executor),
//! and the registry encoded once.

use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use alerting_core::instrumented;
use alerting_core::metrics::{
    Counter, Family, Format, Histogram, LabelSet, LabelValue, MetricGroup, Registry,
};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, LabelValue)]
enum Method {
    Get,
    Post,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, LabelSet)]
struct Request {
    method: Method,
}

/// The program's metrics.
#[derive(Clone, Debug, MetricGroup)]
struct Metrics {
    /// Requests handled.
    requests_total: Family<Request, Counter>,
    /// Time to handle one request.
    request_duration_seconds: Histogram,
}

#[instrumented]
async fn handle(raw: &str) -> Result<u64, std::num::ParseIntError> {
    raw.parse()
}

/// Polls a future that never waits (no executor needed).
fn block_on<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(out) = future.as_mut().poll(&mut cx) {
            return out;
        }
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let registry = Registry::builder()
        .const_label("service", "build-cost")
        .build()?;
    let metrics: Metrics = registry.register_group()?;
    metrics
        .requests_total
        .get(Request {
            method: Method::Get,
        })
        .inc();
    metrics
        .requests_total
        .get(Request {
            method: Method::Post,
        })
        .inc();
    metrics.request_duration_seconds.observe(0.004);
    Registry::set_global(registry.clone())?;
    let value = block_on(handle("42"))?;
    print!("{}", registry.encode_to_string(Format::Prometheus)?);
    println!("# handled {value}");
    Ok(())
}
