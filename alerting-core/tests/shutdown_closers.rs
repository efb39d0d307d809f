//! Closers run after the drain, in reverse order of registration, each with
//! its own timeout, whatever the others did.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use alerting_core::shutdown::{CloserOutcome, Shutdown};

/// Keeps the compiler from typing a closer that only panics as `!`.
fn ran_ok() -> bool {
    true
}

#[tokio::test]
async fn closers_run_in_reverse_order_even_when_one_fails_hangs_or_panics() {
    let timeout = Duration::from_millis(100);
    let shutdown = Shutdown::builder()
        .closer_timeout(Duration::from_secs(5))
        .signals(false)
        .build();
    let ran: Arc<Mutex<Vec<&'static str>>> = Arc::default();
    let log = |name: &'static str| {
        let ran = Arc::clone(&ran);
        move || ran.lock().unwrap().push(name)
    };

    let mark = log("logs");
    shutdown.add_closer("logs", async move { mark() });
    let mark = log("db_pool");
    shutdown.add_closer("db_pool", async move {
        mark();
        Err::<(), _>(std::io::Error::other("pool already closed"))
    });
    let mark = log("ws_pool");
    shutdown.add_closer_with_timeout("ws_pool", timeout, async move {
        mark();
        std::future::pending::<()>().await;
    });
    let mark = log("sink");
    shutdown.add_closer("sink", async move {
        mark();
        if ran_ok() {
            panic!("sink exploded");
        }
    });
    let mark = log("http_server");
    shutdown.add_closer("http_server", async move {
        mark();
        Ok::<(), String>(())
    });

    let start = Instant::now();
    shutdown.trigger("test");
    let report = shutdown.run().await;
    assert!(
        start.elapsed() < Duration::from_secs(5),
        "the hanging closer was cut off"
    );

    assert_eq!(
        *ran.lock().unwrap(),
        ["http_server", "sink", "ws_pool", "db_pool", "logs"]
    );
    let names: Vec<&str> = report.closers.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["http_server", "sink", "ws_pool", "db_pool", "logs"]);
    let outcomes: Vec<&CloserOutcome> = report.closers.iter().map(|c| &c.outcome).collect();
    assert_eq!(*outcomes[0], CloserOutcome::Ok);
    assert_eq!(
        *outcomes[1],
        CloserOutcome::Panicked {
            message: "sink exploded".into()
        }
    );
    assert_eq!(*outcomes[2], CloserOutcome::TimedOut);
    assert_eq!(report.closers[2].timeout, timeout);
    assert!(report.closers[2].duration >= timeout);
    assert_eq!(
        *outcomes[3],
        CloserOutcome::Failed {
            error: "pool already closed".into()
        }
    );
    assert_eq!(*outcomes[4], CloserOutcome::Ok);
    assert!(!report.is_clean());
    let text = report.to_string();
    assert!(text.contains("timed out"), "{text}");
    assert!(text.contains("failed"), "{text}");
}

#[tokio::test]
async fn closers_run_after_the_drain() {
    let shutdown = Shutdown::builder().signals(false).build();
    let work = shutdown.work_kind("job");
    work.spawn(tokio::time::sleep(Duration::from_millis(50)));
    let seen = Arc::new(Mutex::new(None));
    let (w, s) = (work.clone(), Arc::clone(&seen));
    shutdown.add_closer("pool", async move {
        *s.lock().unwrap() = Some(w.in_flight());
    });
    shutdown.trigger("test");
    let report = shutdown.run().await;
    assert_eq!(*seen.lock().unwrap(), Some(0));
    assert!(report.is_clean());
}

#[tokio::test]
async fn a_closer_registered_after_the_closers_ran_runs_at_once() {
    let shutdown = Shutdown::builder().signals(false).build();
    shutdown.trigger("test");
    let _ = shutdown.run().await;

    let (tx, rx) = tokio::sync::oneshot::channel();
    shutdown.add_closer("late", async move {
        let _ = tx.send(());
    });
    tokio::time::timeout(Duration::from_secs(5), rx)
        .await
        .expect("the late closer ran")
        .unwrap();
}
