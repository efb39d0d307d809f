//! Shutdown keeps its deadline with requests that outlive it, over real
//! sockets on 127.0.0.1: six requests that take 4 s, a 1 s deadline and a
//! 500 ms closer timeout. `run` returns within `Shutdown::max_duration`
//! (1.5 s), the report names the requests as abandoned, and the HTTP
//! server's closer does not wait for them.

mod common;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use alerting_axum::serve;
use alerting_axum::serve::HTTP_REQUEST_WORK;
use alerting_core::shutdown::{CloserOutcome, DrainOutcome, Shutdown};
use axum::Router;
use axum::routing::get;
use common::{Http, TIMEOUT};
use tokio::net::TcpListener;

const REQUESTS: u64 = 6;
const HANDLER: Duration = Duration::from_secs(4);
const DEADLINE: Duration = Duration::from_secs(1);
const CLOSER_TIMEOUT: Duration = Duration::from_millis(500);
/// A correctness bound, not a benchmark: the machine may be loaded.
const SLACK: Duration = Duration::from_secs(1);

fn sleepy_app() -> Router {
    Router::new().route(
        "/sleep",
        get(|| async {
            tokio::time::sleep(HANDLER).await;
            "slept"
        }),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_past_the_deadline_are_abandoned_and_run_keeps_its_bound() {
    let shutdown = Shutdown::builder()
        .signals(false)
        .deadline(DEADLINE)
        .closer_timeout(CLOSER_TIMEOUT)
        .build();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr: SocketAddr = listener.local_addr().unwrap();
    let server = tokio::spawn(serve(listener, sleepy_app(), &shutdown));
    let bound = shutdown.max_duration();
    assert_eq!(bound, DEADLINE + CLOSER_TIMEOUT);

    let http = Http::new();
    let clients: Vec<_> = (0..REQUESTS)
        .map(|_| {
            let http = http.clone();
            tokio::spawn(async move { http.get(addr, "/sleep").await })
        })
        .collect();
    let requests = shutdown.work_kind(HTTP_REQUEST_WORK);
    let waiting = Instant::now();
    while requests.in_flight() < REQUESTS {
        assert!(
            waiting.elapsed() < TIMEOUT,
            "timed out waiting for the requests"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }

    let start = Instant::now();
    shutdown.trigger("test");
    let report = tokio::time::timeout(TIMEOUT, shutdown.run())
        .await
        .expect("shutdown did not finish");
    let took = start.elapsed();
    eprintln!("bound {bound:?}, took {took:?}\n{report}");

    assert!(
        took < bound + SLACK,
        "run took {took:?}, more than its bound {bound:?} (+ {SLACK:?} slack)"
    );
    assert_eq!(report.drain, DrainOutcome::DeadlineReached);
    let work = report
        .work
        .iter()
        .find(|w| w.name == HTTP_REQUEST_WORK)
        .expect("http_request in the report");
    assert_eq!(work.in_flight_at_trigger, REQUESTS);
    assert_eq!(work.still_running, REQUESTS);
    // The handlers sleep 4 s: none can have finished by the report.
    assert_eq!(
        (work.finished_late, work.abandoned),
        (0, REQUESTS),
        "{report}"
    );
    assert_eq!(
        report.abandoned_by_name().collect::<Vec<_>>(),
        [(HTTP_REQUEST_WORK, REQUESTS)]
    );
    assert!(
        report
            .to_string()
            .contains("abandoned (still running, left to the process exit):\n    http_request ×6"),
        "{report}"
    );
    // The closer ended because only abandoned requests were left, not at
    // its timeout.
    let closer = &report.closers[0];
    assert_eq!(closer.name, format!("http server {addr}"));
    assert_eq!(closer.outcome, CloserOutcome::Ok, "{report}");
    assert!(closer.duration < CLOSER_TIMEOUT, "{report}");

    // The server future returns with its closer, leaving the requests to
    // the process exit (here, the end of the test).
    tokio::time::timeout(TIMEOUT, server)
        .await
        .expect("serve returned after its closer")
        .unwrap()
        .unwrap();
    assert_eq!(requests.in_flight(), REQUESTS, "abandoned, not cancelled");
    for client in clients {
        client.abort();
    }
}
