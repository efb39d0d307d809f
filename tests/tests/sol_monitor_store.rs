//! sol-monitor's store fault end to end: the real binary on an SQLite
//! file in a temporary directory, a real Prometheus scraping it every
//! second with sol-monitor's generated rules (at a test time scale), and
//! the store file moved away: the `sol_store` check goes down, `/ready`
//! answers 503, and the generated `StoreDown` alert fires; with the file
//! back, all of it recovers. Every wait is bounded; everything listens on
//! 127.0.0.1.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use alerting_tests::app::{self, App};
use alerting_tests::{Prometheus, Target};

const JOB: &str = "sol-monitor";
const BOUND: Duration = Duration::from_secs(90);

/// A fresh directory, removed with its files when dropped.
struct TempDir(PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Whether `StoreDown` is in `states`.
fn store_down(prometheus: &Prometheus, states: &[&str]) -> bool {
    prometheus
        .alerts()
        .expect("alerts")
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .any(|a| {
            a["labels"]["alertname"] == "StoreDown"
                && a["labels"]["service"] == JOB
                && states.iter().any(|s| a["state"] == *s)
        })
}

/// The status code of `GET path`.
fn status(addr: std::net::SocketAddr, path: &str) -> u16 {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut out = String::new();
    let _ = s.read_to_string(&mut out);
    out.split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0)
}

#[test]
fn a_store_that_goes_away_fires_store_down_and_recovers() {
    let timing = sol_monitor::generate::Timing {
        interval: Duration::from_secs(1),
        pending: Duration::from_secs(2),
        no_data_window: Duration::from_secs(5),
    };
    let generated = sol_monitor::generate::with(&timing).expect("generate the rules");
    assert!(generated.rules.alerts().any(|a| a.name() == "StoreDown"));
    let rules = generated.rules.to_yaml().expect("yaml");

    let dir = TempDir(std::env::temp_dir().join(format!("sol-store-e2e-{}", std::process::id())));
    let _ = std::fs::remove_dir_all(&dir.0);
    std::fs::create_dir_all(&dir.0).unwrap();
    let db = dir.0.join("store.db");
    let binary = app::build("sol-monitor").expect("build sol-monitor");
    let monitor = App::start(
        &binary,
        &[
            ("SOL_MONITOR_METRICS__LISTEN_ADDR", "127.0.0.1:0"),
            ("SOL_MONITOR_STORE__PATH", db.to_str().expect("utf-8 path")),
            ("SOL_MONITOR_SIMULATOR__PAIRS", "20"),
            ("SOL_MONITOR_BATCHES__SIZE", "10"),
            ("SOL_MONITOR_HEALTH__INTERVAL_SECS", "0.5"),
            ("RUST_LOG", "warn"),
        ],
    )
    .expect("start sol-monitor");
    let started = Instant::now();
    let addr = monitor.metrics_addr();
    let prometheus = Prometheus::builder()
        .target(Target::new(JOB, addr))
        .rules_yaml(rules)
        .scrape_interval(Duration::from_secs(1))
        .evaluation_interval(Duration::from_secs(1))
        .start()
        .expect("start prometheus");
    prometheus
        .wait_for_target_up(JOB, Duration::from_secs(10))
        .expect("sol-monitor scraped");
    prometheus
        .wait_until(
            || {
                let up = prometheus
                    .query_value(r#"health_check_status{check="sol_store"}"#)
                    .ok()??;
                (up == 1.0).then_some(())
            },
            Duration::from_secs(10),
        )
        .expect("the store check up");
    assert_eq!(status(addr, "/ready"), 200);
    assert!(!store_down(&prometheus, &["pending", "firing"]));

    // The fault: the file moves away.
    let moved = dir.0.join("moved.db");
    std::fs::rename(&db, &moved).unwrap();
    prometheus
        .wait_until(
            || store_down(&prometheus, &["firing"]).then_some(()),
            Duration::from_secs(30),
        )
        .expect("StoreDown firing");
    assert_eq!(status(addr, "/ready"), 503);
    assert!(!db.exists(), "the monitor must not create an empty store");

    // The file is back: the check, readiness and the alert recover.
    std::fs::rename(&moved, &db).unwrap();
    prometheus
        .wait_until(
            || (!store_down(&prometheus, &["pending", "firing"])).then_some(()),
            BOUND.saturating_sub(started.elapsed()),
        )
        .expect("StoreDown resolved");
    assert_eq!(status(addr, "/ready"), 200);
    drop(prometheus);
    drop(monitor);
}
