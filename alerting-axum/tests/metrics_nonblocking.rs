//! A `/metrics` request does not block the async worker that serves it:
//! the encode (families, collectors reading /proc) runs on tokio's blocking
//! pool. On a current-thread runtime, a ticker task keeps ticking every
//! 10 ms while a scrape of a large registry is answered.
//!
//! The bound on the ticker's longest gap (300 ms, 30 ticks) is a generous
//! correctness bound, not a benchmark; the test checks that the scrape
//! itself took longer than the bound, so that an encode on the worker
//! would have shown as a gap at least that long (it did, before every
//! encode went to the blocking pool: the first scrape ran on the worker).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use alerting_axum::Endpoints;
use alerting_core::metrics::{
    Buckets, DynamicFamily, Histogram, LabelSet, MetricOptions, Registry,
};
use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use tower::ServiceExt;

#[derive(Clone, Debug, PartialEq, Eq, Hash, LabelSet)]
struct Token {
    token: String,
}

/// Enough histogram series (five lines each) that one encode takes well
/// over `BOUND` in a debug build.
const SERIES: usize = 60_000;
const TICK: Duration = Duration::from_millis(10);
const BOUND: Duration = Duration::from_millis(300);

#[tokio::test(flavor = "current_thread")]
async fn a_scrape_does_not_block_the_runtime() {
    let registry = Registry::new();
    let family: DynamicFamily<Token, Histogram> = registry
        .register_with(
            "swap_seconds",
            "Swap time, by token",
            MetricOptions::new()
                .max_series(SERIES)
                .buckets(Buckets::new([0.1, 1.0, 10.0]).unwrap()),
        )
        .unwrap();
    for i in 0..SERIES {
        family
            .get_or_create(&Token {
                token: format!("0x{i:040x}"),
            })
            .observe(0.5);
    }
    let router = Endpoints::new().metrics(registry).router().unwrap();

    // The longest time between two ticks, in nanoseconds.
    let max_gap = Arc::new(AtomicU64::new(0));
    let ticker = tokio::spawn({
        let max_gap = Arc::clone(&max_gap);
        async move {
            let mut last = Instant::now();
            loop {
                tokio::time::sleep(TICK).await;
                let now = Instant::now();
                let gap = u64::try_from((now - last).as_nanos()).unwrap_or(u64::MAX);
                max_gap.fetch_max(gap, Ordering::Relaxed);
                last = now;
            }
        }
    });
    tokio::time::sleep(5 * TICK).await;

    let started = Instant::now();
    let response = router
        .oneshot(Request::get("/metrics").body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = response.status();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    let took = started.elapsed();
    // Let the ticker record the gap that ends after the scrape, if any.
    tokio::time::sleep(5 * TICK).await;
    ticker.abort();
    let max_gap = Duration::from_nanos(max_gap.load(Ordering::Relaxed));
    eprintln!("scrape: {took:?}, longest gap between ticks: {max_gap:?}");

    assert_eq!(status, StatusCode::OK);
    let text = std::str::from_utf8(&body).unwrap();
    assert_eq!(
        text.lines()
            .filter(|l| l.starts_with("swap_seconds_count{"))
            .count(),
        SERIES
    );
    assert!(
        took > BOUND,
        "the scrape took {took:?}: too fast for this test to show anything; add series"
    );
    assert!(
        max_gap < BOUND,
        "the runtime's only worker was blocked for {max_gap:?} during a {took:?} scrape"
    );
}
