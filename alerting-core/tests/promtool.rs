//! The exposition example's output passes a real `promtool check metrics`.
//!
//! promtool (Debian's `prometheus` package, 2.42) parses the Prometheus text
//! format; `.ci/run` installs it. Without it this test fails rather than
//! skips: a lint that silently does not run proves nothing.

mod common;

use std::path::PathBuf;
use std::process::Command;

use common::promtool_check_metrics;

/// The example binary, built (or found up to date) by cargo first, so a
/// filtered run (`cargo test --test promtool`) never runs a stale one.
fn example_binary(name: &str) -> PathBuf {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let status = Command::new(cargo)
        .args(["build", "-q", "-p", "alerting-core", "--example", name])
        .status()
        .expect("run cargo build");
    assert!(status.success(), "building example {name} failed");
    let exe = std::env::current_exe().expect("test binary path");
    // target/<profile>/deps/<test> → target/<profile>/examples/<name>
    exe.parent()
        .and_then(|p| p.parent())
        .expect("target dir")
        .join("examples")
        .join(name)
}

pub fn run_example(name: &str, args: &[&str]) -> String {
    let out = Command::new(example_binary(name))
        .args(args)
        .output()
        .expect("run example");
    assert!(
        out.status.success(),
        "example {name} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8 output")
}

#[test]
fn exposition_example_passes_promtool() {
    let text = run_example("exposition", &[]);
    // It really contains what the example promises.
    for needle in [
        "# TYPE ws_messages_total counter",
        "# TYPE ws_messages_processing_seconds histogram",
        "# TYPE ws_connections_active gauge",
        r#"token="say \"hi\"""#,
        r#"token="back\\slash\nnew line""#,
        "代币-🚀",
        r#"token="__overflow__""#,
        r#"alerting_series_overflow_total{service="exposition-example","#,
        "process_resident_memory_bytes",
        r#"decoded_messages_total{service="exposition-example",version="0.1.0",event_type="swap"} 150"#,
        r#"decode_seconds_count{service="exposition-example",version="0.1.0"} 200"#,
    ] {
        assert!(text.contains(needle), "missing {needle:?} in:\n{text}");
    }
    let (ok, report) = promtool_check_metrics(&text);
    assert!(ok && report.is_empty(), "promtool: {report}\n---\n{text}");
}

#[test]
fn promtool_is_not_a_rubber_stamp() {
    // The same check fails on output that breaks the conventions, so the
    // test above would notice a regression.
    let bad = "# HELP requests Requests.\n# TYPE requests counter\nrequests 1\n";
    let (ok, report) = promtool_check_metrics(bad);
    assert!(!ok || !report.is_empty(), "promtool accepted {bad:?}");
}

#[test]
fn instrumented_example_counts_what_it_did_and_passes_promtool() {
    let text = run_example("instrumented", &["--exposition-only"]);
    for (needle, value) in [
        (
            r#"function_calls_total{function="fetch_price",module="instrumented",api="dbotx",outcome="ok"}"#,
            "2",
        ),
        (
            r#"function_calls_total{function="fetch_price",module="instrumented",api="dbotx",outcome="cancelled"}"#,
            "1",
        ),
        (
            r#"function_calls_total{function="fetch_price",module="instrumented",api="dbotx",outcome="error",error_kind="not_found"}"#,
            "1",
        ),
        (
            r#"function_calls_total{function="fetch_price",module="instrumented",api="dbotx",outcome="error",error_kind="rate_limited"}"#,
            "1",
        ),
        (
            r#"function_calls_in_flight{function="fetch_price",module="instrumented",api="dbotx"}"#,
            "0",
        ),
        (
            r#"function_calls_total{function="parse_amount",module="instrumented",outcome="ok"}"#,
            "2",
        ),
        (
            r#"function_calls_total{function="parse_amount",module="instrumented",outcome="error"}"#,
            "1",
        ),
        (
            r#"function_calls_total{function="parse_amount",module="instrumented",outcome="panic"}"#,
            "1",
        ),
        (
            r#"bsc_filter_checks_total{function="Filter::check",module="instrumented",layer="layer1",result="ok"}"#,
            "1",
        ),
        (
            r#"bsc_filter_checks_total{function="Filter::check",module="instrumented",layer="layer1",result="error"}"#,
            "2",
        ),
        (
            r#"bsc_filter_check_seconds_count{function="Filter::check",module="instrumented",layer="layer1"}"#,
            "3",
        ),
        (
            r#"function_calls_total{function="handler",module="instrumented",outcome="ok"}"#,
            "1",
        ),
        (
            r#"function_calls_total{function="handler",module="instrumented",outcome="error"}"#,
            "1",
        ),
        (
            r#"function_call_duration_seconds_count{function="fetch_price",module="instrumented",api="dbotx"}"#,
            "5",
        ),
        (
            r#"function_call_duration_seconds_count{function="parse_amount",module="instrumented"}"#,
            "4",
        ),
    ] {
        let line = format!("{needle} {value}\n");
        assert!(text.contains(&line), "missing {line:?} in:\n{text}");
    }
    let (ok, report) = promtool_check_metrics(&text);
    assert!(ok && report.is_empty(), "promtool: {report}\n---\n{text}");
}
