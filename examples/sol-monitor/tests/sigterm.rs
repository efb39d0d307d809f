//! SIGTERM to the running binary: it stops every connection, drains,
//! prints the report and the batches' counts, and exits 0.

use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;

#[tokio::test]
async fn sigterm_stops_every_connection_and_reports() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_sol-monitor"))
        .env("SOL_MONITOR_METRICS__LISTEN_ADDR", "127.0.0.1:0")
        .env("SOL_MONITOR_STORE__PATH", ":memory:")
        .env("SOL_MONITOR_LOGGING__LEVEL", "warn")
        .env("SOL_MONITOR_SHUTDOWN__DEADLINE_SECS", "10")
        .env("SOL_MONITOR_BATCHES__SIZE", "20")
        .env("SOL_MONITOR_SIMULATOR__RATE_PER_SEC", "10")
        .env("SOL_MONITOR_SIMULATOR__FAULTS__DISCONNECT_AFTER", "100")
        .env("SOL_MONITOR_BACKOFF__INITIAL_SECS", "0.05")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut out = String::new();
    let started = tokio::time::timeout(Duration::from_secs(30), async {
        while let Some(line) = lines.next_line().await.unwrap() {
            out.push_str(&line);
            out.push('\n');
            if line.contains("Ctrl-C") {
                return true;
            }
        }
        false
    })
    .await
    .unwrap();
    assert!(started, "{out}");
    assert!(out.contains("metrics   http://127.0.0.1:"), "{out}");
    assert!(out.contains("batches   5 connections"), "{out}");
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let pid = child.id().unwrap().to_string();
    let killed = Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .await
        .unwrap();
    assert!(killed.success());
    tokio::time::timeout(Duration::from_secs(30), async {
        while let Some(line) = lines.next_line().await.unwrap() {
            out.push_str(&line);
            out.push('\n');
        }
    })
    .await
    .unwrap();
    let status = tokio::time::timeout(Duration::from_secs(10), child.wait())
        .await
        .unwrap()
        .unwrap();
    assert!(status.success(), "exit {status:?}\n{out}");
    assert!(out.contains("shutdown (SIGTERM)"), "{out}");
    let summary = out
        .lines()
        .find(|l| l.starts_with("batches: 5 "))
        .unwrap_or_else(|| panic!("no summary in\n{out}"));
    assert!(summary.contains(" active=0 "), "{out}");
    // Connections were dropped (every 100 notifications) and came back.
    let closed: u64 = summary
        .split_whitespace()
        .find_map(|kv| kv.strip_prefix("(closed="))
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no closed= in {summary}"));
    assert!(closed > 0, "{out}");
    let work = out
        .lines()
        .find(|l| l.trim_start().starts_with("work:"))
        .unwrap_or_else(|| panic!("no work line in\n{out}"));
    assert!(work.contains("5 in flight at the trigger"), "{out}");
    assert!(work.contains(", 0 still running"), "{out}");
}
