//! The store end to end, in-process against the simulated node, each test
//! on its own SQLite file in a temporary directory:
//!
//! - every alert sent has its alert-log row, and no template alerts twice
//!   on a pair within its cool-down;
//! - a batch added to the store while running starts receiving; a
//!   deactivated and a deleted one stop and leave no `batch_id` series in
//!   `/metrics` nor a health component; malformed rows are counted and
//!   skipped;
//! - a store file that goes away flips readiness, which comes back with
//!   the file; a file that is no database at start-up is an error naming
//!   it; alert-log rows the store refuses wait, bounded, and are counted
//!   when dropped. (Not a file overwritten in place: in WAL mode SQLite still
//!   reads the recent pages, page 1 included, from the `-wal` file, so it
//!   may look valid; `alerting-core`'s `tests/health_sql_pool.rs` shows a
//!   fresh connection refusing a file that is no database.)
//!
//! Every wait is bounded; everything listens on 127.0.0.1.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use alerting_core::Observability;
use sol_monitor::alert_log::{AlertLog, WriterSettings};
use sol_monitor::app::{self, Running};
use sol_monitor::config::{self, Config};
use sol_monitor::metrics::{AlertSent, CallResult, Chain, ChainLabel, Channel, SolMetrics};
use sol_monitor::store::{AlertRow, Store, StoreError};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A fresh directory, removed with its files when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("sol-monitor-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }

    fn join(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn config(db: &Path, extra: &str) -> Config {
    let toml = format!(
        r#"
[metrics]
listen_addr = "127.0.0.1:0"
[health]
interval_secs = 0.1
timeout_secs = 2
[shutdown]
deadline_secs = 5
[logging]
level = "warn"
[node]
connect_timeout_secs = 2
[batches]
size = 10
[backoff]
initial_secs = 0.05
max_secs = 0.2
[simulator]
pairs = 20
rate_per_sec = 20.0
[store]
path = {db:?}
poll_interval_secs = 0.1
alert_log_batch = 7
alert_log_flush_secs = 0.1
{extra}
"#
    );
    config::load_with(None, Some(&toml), std::iter::empty()).unwrap()
}

async fn start(config: &Config) -> (Running, Observability) {
    let obs = Observability::builder("sol-monitor")
        .config(&config.monitoring)
        .logging(false)
        .signals(false)
        .install_global(false)
        .start()
        .unwrap();
    let running = app::start(config, &obs).await.unwrap();
    (running, obs)
}

async fn get(addr: std::net::SocketAddr, path: &str) -> String {
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    let req = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    s.write_all(req.as_bytes()).await.unwrap();
    let mut out = String::new();
    tokio::time::timeout(Duration::from_secs(5), s.read_to_string(&mut out))
        .await
        .unwrap()
        .unwrap();
    out
}

/// Polls `f` every 50 ms until it is true; panics with `what` after 20 s.
async fn wait_for(what: &str, mut f: impl AsyncFnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while !f().await {
        assert!(tokio::time::Instant::now() < deadline, "timed out: {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The rows of the alert log, read with a connection of the test's own.
async fn log_rows(db: &Path) -> Vec<(i64, String, i64)> {
    use sqlx::Connection as _;
    let mut conn = sqlx::SqliteConnection::connect(&format!("sqlite://{}", db.display()))
        .await
        .unwrap();
    let rows: Vec<(i64, String, i64)> =
        sqlx::query_as("SELECT template_id, ca, alert_time FROM sol_ws_alert_log ORDER BY id")
            .fetch_all(&mut conn)
            .await
            .unwrap();
    conn.close().await.unwrap();
    rows
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_alert_sent_has_its_log_row_and_respects_its_cooldown() {
    let dir = TempDir::new("alerts");
    let db = dir.join("store.db");
    let cooldown = Duration::from_millis(500);
    let config = config(&db, "[cooldown]\nsecs = 0.5\njitter_secs = 0.2\n");
    let (running, obs) = start(&config).await;
    assert_eq!(
        running.batches.len(),
        2,
        "the seed: 20 pairs in batches of 10"
    );
    // Thresholds the random walk crosses within a second or two (the
    // seed's are 5 % and 12 % over a minute); read at the next poll.
    running
        .store
        .execute("UPDATE sol_ws_alert_template SET threshold = 0.01")
        .await
        .unwrap();
    let sent = running.metrics.alerts_sent_total.get(AlertSent {
        chain: Chain::Sol,
        channel: Channel::Log,
        result: CallResult::Ok,
    });
    let hits = running
        .metrics
        .cooldown_hits_total
        .get(ChainLabel { chain: Chain::Sol });
    // 40 template-pair keys: 120 alerts repeat keys past their cool-down.
    wait_for("120 alerts and some cool-down hits", async || {
        sent.get() >= 120 && hits.get() > 0
    })
    .await;
    let text = get(running.admin_addr, "/metrics").await;
    for (name, parts) in [
        (
            "alerts_sent_total{",
            &[r#"chain="sol""#, r#"channel="log""#, r#"result="ok""#][..],
        ),
        ("cooldown_hits_total{", &[r#"chain="sol""#]),
        ("sql_pool_connections_max{", &[r#"pool="sol_store""#, "} 4"]),
        (
            "sql_pool_connections{",
            &[r#"pool="sol_store""#, r#"state="idle""#],
        ),
        (
            "sol_store_query_duration_seconds_bucket{",
            &[r#"query="load_batches""#],
        ),
        ("health_check_status{", &[r#"check="sol_store""#, "} 1"]),
    ] {
        assert!(
            text.lines()
                .any(|l| l.starts_with(name) && parts.iter().all(|p| l.contains(p))),
            "no {name} with {parts:?} in\n{text}"
        );
    }

    obs.shutdown().trigger("test");
    let summary = app::finish(&running, obs.shutdown()).await;
    assert!(summary.report.is_clean(), "{}", summary.report);

    // Written at shutdown at the latest (the writer is drained).
    let rows = log_rows(&db).await;
    assert_eq!(rows.len() as u64, sent.get(), "one log row per alert sent");
    assert_eq!(
        running.metrics.sol_store_alert_log_written_total.get(),
        sent.get()
    );
    assert_eq!(running.metrics.sol_store_alert_log_dropped_total.get(), 0);
    assert_eq!(running.metrics.sol_store_alert_log_pending.get(), 0);
    let mut by_key: BTreeMap<(i64, String), Vec<i64>> = BTreeMap::new();
    for (template, ca, at) in rows {
        by_key.entry((template, ca)).or_default().push(at);
    }
    let mut repeated = 0;
    for ((template, ca), mut times) in by_key {
        times.sort_unstable();
        for pair in times.windows(2) {
            repeated += 1;
            // Wall-clock milliseconds against the monotonic cool-down:
            // a few ms of slack for the clocks' rounding.
            assert!(
                pair[1] - pair[0] >= cooldown.as_millis() as i64 - 20,
                "template {template} on {ca} alerted twice within its cool-down: {pair:?}"
            );
        }
    }
    assert!(
        repeated > 0,
        "no pair alerted twice: the cool-down was not exercised"
    );
}

fn batch_ids(text: &str) -> std::collections::BTreeSet<String> {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.split("batch_id=\"").nth(1))
        .filter_map(|rest| rest.split('"').next())
        .map(str::to_owned)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batches_follow_the_store_and_bad_rows_are_skipped() {
    let dir = TempDir::new("batches");
    let db = dir.join("store.db");
    let config = config(&db, "");
    let (running, obs) = start(&config).await;
    assert_eq!(running.batches.ids(), [0, 1]);

    // A new batch of two pairs the simulator also serves (any key does),
    // a row whose pair is no key, and a template of an unknown kind.
    running
        .store
        .execute(
            "INSERT INTO sol_ws_batch_pool (batch_id, pair_address, is_active, time_interval) VALUES \
             (7, '7xKXtg2CW87d97TXJSDpbD5jBkheTqA83TZRuJosgAsU', 1, 30), \
             (7, '9WzDXwBbmkg8ZTbNMqUxvQRAyrZzDsGYdLVL9zYtAWWM', 1, 30), \
             (8, 'not a key', 1, 30), \
             (9, 'So11111111111111111111111111111111111111112', 1, 'soon'); \
             INSERT INTO sol_ws_alert_template (id, name, kind, threshold) VALUES \
             (50, 'volume', 'volume_spike', 2.0), (51, 'bad threshold', 'price_change', 'high');",
        )
        .await
        .unwrap();
    wait_for("batch 7 receiving", async || {
        running.batches.ids() == [0, 1, 7]
            && running
                .batches
                .snapshot()
                .iter()
                .any(|(id, _, m)| id == "7" && m.with_data.get() > 0)
    })
    .await;
    let text = get(running.admin_addr, "/metrics").await;
    for table in ["sol_ws_batch_pool", "sol_ws_alert_template"] {
        let series =
            format!(r#"sol_store_rows_rejected_total{{service="sol-monitor",table="{table}"}}"#);
        assert!(text.contains(&series), "missing {series} in\n{text}");
    }
    assert!(!batch_ids(&text).contains("8") && !batch_ids(&text).contains("9"));

    // Batch 0 deactivated, batch 1 deleted.
    running
        .store
        .execute(
            "UPDATE sol_ws_batch_pool SET is_active = 0 WHERE batch_id = 0; \
             DELETE FROM sol_ws_batch_pool WHERE batch_id = 1;",
        )
        .await
        .unwrap();
    wait_for("batches 0 and 1 stopped", async || {
        running.batches.ids() == [7]
    })
    .await;
    let text = get(running.admin_addr, "/metrics").await;
    assert_eq!(
        batch_ids(&text),
        ["7".to_owned()].into_iter().collect(),
        "{text}"
    );
    for gone in ["sol_ws_batch_0", "sol_ws_batch_1"] {
        assert!(!text.contains(gone), "{gone} still exported:\n{text}");
        assert!(!running.health.has_check(gone));
    }
    let healthz = get(running.admin_addr, "/healthz").await;
    assert!(
        healthz.contains("sol_ws_batch_7") && !healthz.contains("sol_ws_batch_0"),
        "{healthz}"
    );

    // Back again: batch 0 reactivated starts again from fresh series.
    running
        .store
        .execute("UPDATE sol_ws_batch_pool SET is_active = 1 WHERE batch_id = 0")
        .await
        .unwrap();
    wait_for("batch 0 back", async || running.batches.ids() == [0, 7]).await;

    obs.shutdown().trigger("test");
    let summary = app::finish(&running, obs.shutdown()).await;
    assert_eq!(summary.active(), 0, "{summary}");
    assert!(summary.report.is_clean(), "{}", summary.report);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_file_that_goes_away_flips_readiness_until_it_returns() {
    let dir = TempDir::new("fault");
    let db = dir.join("store.db");
    let config = config(&db, "");
    let (running, obs) = start(&config).await;
    let ready = async || get(running.admin_addr, "/ready").await;
    wait_for("ready", async || ready().await.starts_with("HTTP/1.1 200")).await;

    let moved = dir.join("moved.db");
    std::fs::rename(&db, &moved).unwrap();
    wait_for("not ready without the file", async || {
        ready().await.starts_with("HTTP/1.1 503")
    })
    .await;
    let healthz = get(running.admin_addr, "/healthz").await;
    assert!(healthz.contains("sol_store"), "{healthz}");
    assert!(!db.exists(), "the check must not create an empty store");
    // The running batches keep running meanwhile.
    assert_eq!(running.batches.len(), 2);

    std::fs::rename(&moved, &db).unwrap();
    wait_for("ready again with the file back", async || {
        ready().await.starts_with("HTTP/1.1 200")
    })
    .await;

    obs.shutdown().trigger("test");
    let summary = app::finish(&running, obs.shutdown()).await;
    assert_eq!(summary.active(), 0, "{summary}");
}

fn row(i: i64) -> AlertRow {
    AlertRow {
        template_id: 1,
        batch_id: 0,
        ca: format!("pair{i}"),
        value: 0.1,
        alert_time: i,
    }
}

async fn open(dir: &TempDir) -> (Store, SolMetrics) {
    let registry = alerting_core::metrics::Registry::new();
    let metrics: SolMetrics = registry.register_group().unwrap();
    let config = config(&dir.join("store.db"), "");
    let store = Store::open(&config.app.store, &[], 10, &metrics)
        .await
        .unwrap();
    (store, metrics)
}

#[tokio::test]
async fn the_alert_log_writes_in_batches_and_drains_at_the_end() {
    let dir = TempDir::new("writer");
    let (store, metrics) = open(&dir).await;
    let settings = WriterSettings {
        batch: 3,
        flush: Duration::from_secs(3600),
        queue: 100,
    };
    let (log, writer) = AlertLog::start(store.clone(), settings, &metrics);
    for i in 0..8 {
        log.record(row(i));
    }
    // Two full batches go at once; the last two rows wait for the flush
    // interval (an hour) or the end.
    writer.finish().await;
    assert_eq!(
        store.alert_log().await.unwrap(),
        (0..8).map(row).collect::<Vec<_>>()
    );
    assert_eq!(metrics.sol_store_alert_log_written_total.get(), 8);
    assert_eq!(metrics.sol_store_alert_log_pending.get(), 0);
    assert_eq!(metrics.sol_store_alert_log_dropped_total.get(), 0);
}

#[tokio::test]
async fn rows_the_store_refuses_wait_bounded_and_are_counted_when_dropped() {
    let dir = TempDir::new("refused");
    let (store, metrics) = open(&dir).await;
    let settings = WriterSettings {
        batch: 2,
        flush: Duration::from_millis(10),
        queue: 5,
    };
    let (log, writer) = AlertLog::start(store.clone(), settings, &metrics);
    store.close().await; // every write fails from now on
    for i in 0..8 {
        log.record(row(i));
    }
    writer.finish().await;
    // Never written, never lost silently: 3 dropped past the queue's 5
    // while waiting, the 5 left at the end.
    assert_eq!(metrics.sol_store_alert_log_written_total.get(), 0);
    assert_eq!(metrics.sol_store_alert_log_dropped_total.get(), 8);
    assert_eq!(metrics.sol_store_alert_log_pending.get(), 0);
}

#[tokio::test]
async fn a_file_that_is_no_database_is_an_error_naming_it() {
    let dir = TempDir::new("garbage");
    let path = dir.join("store.db");
    std::fs::write(&path, vec![b'x'; 4096]).unwrap();
    let registry = alerting_core::metrics::Registry::new();
    let metrics: SolMetrics = registry.register_group().unwrap();
    let config = config(&path, "");
    let err = Store::open(&config.app.store, &[], 10, &metrics)
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Open { .. }), "{err:?}");
    assert_eq!(
        err.to_string(),
        format!("cannot open the store `{}`", path.display())
    );
    let source = std::error::Error::source(&err).map(ToString::to_string);
    assert!(
        source
            .as_deref()
            .unwrap_or("")
            .contains("file is not a database"),
        "{source:?}"
    );
}

/// A webhook receiver on 127.0.0.1 answering `status` to every POST;
/// returns its address and the bodies it got.
async fn receiver(
    status: u16,
) -> (
    std::net::SocketAddr,
    std::sync::Arc<std::sync::Mutex<Vec<String>>>,
) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let bodies = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let got = std::sync::Arc::clone(&bodies);
    tokio::spawn(async move {
        while let Ok((mut s, _)) = listener.accept().await {
            let got = std::sync::Arc::clone(&got);
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                // Headers, then Content-Length bytes of body.
                let body = loop {
                    let Ok(n) = s.read(&mut chunk).await else {
                        return;
                    };
                    if n == 0 {
                        return;
                    }
                    buf.extend_from_slice(&chunk[..n]);
                    let text = String::from_utf8_lossy(&buf).into_owned();
                    if let Some((head, body)) = text.split_once("\r\n\r\n") {
                        let len: usize = head
                            .lines()
                            .find_map(|l| l.strip_prefix("Content-Length: "))
                            .and_then(|v| v.trim().parse().ok())
                            .unwrap_or(0);
                        if body.len() >= len {
                            break body.to_owned();
                        }
                    }
                };
                got.lock().unwrap().push(body);
                let reply = format!(
                    "HTTP/1.1 {status} X\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                );
                let _ = s.write_all(reply.as_bytes()).await;
            });
        }
    });
    (addr, bodies)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhook_alerts_are_posted_counted_and_logged_only_when_delivered() {
    let dir = TempDir::new("webhook");
    for (status, delivered) in [(200, true), (500, false)] {
        let db = dir.join(&format!("store-{status}.db"));
        let (addr, bodies) = receiver(status).await;
        let config = config(
            &db,
            &format!(
                "[cooldown]\nsecs = 0.5\njitter_secs = 0\n[sinks.log]\nenabled = false\n\
                 [sinks.webhook]\nurl = \"http://{addr}/bot/sendMessage\"\nchat_id = \"-42\"\n"
            ),
        );
        let (running, obs) = start(&config).await;
        running
            .store
            .execute("UPDATE sol_ws_alert_template SET threshold = 0.01")
            .await
            .unwrap();
        let result = if delivered {
            CallResult::Ok
        } else {
            CallResult::Error
        };
        let counted = running.metrics.alerts_sent_total.get(AlertSent {
            chain: Chain::Sol,
            channel: Channel::Webhook,
            result,
        });
        wait_for("10 webhook posts", async || counted.get() >= 10).await;
        obs.shutdown().trigger("test");
        let summary = app::finish(&running, obs.shutdown()).await;
        assert!(summary.report.is_clean(), "{}", summary.report);

        let bodies = bodies.lock().unwrap().clone();
        assert_eq!(
            bodies.len() as u64,
            counted.get(),
            "one POST per counted alert"
        );
        let first: serde_json::Value = serde_json::from_str(&bodies[0]).unwrap();
        assert_eq!(first["chat_id"], "-42");
        assert!(
            first["text"].as_str().unwrap().contains("pair <code>"),
            "{first}"
        );
        let rows = log_rows(&db).await.len() as u64;
        if delivered {
            assert_eq!(rows, counted.get(), "a log row per delivered alert");
        } else {
            assert_eq!(rows, 0, "an alert no sink took is not logged");
        }
    }
}
