//! The generator binary sees the app's `#[instrumented]` call sites: a
//! linker keeps only what a program references, and the generator names
//! the app's functions through the sites linked into it. If they were
//! dropped, `bsc-monitor-generate` would fail with "no `#[instrumented]`
//! function … is linked". (Needs the `generate` feature, which the
//! workspace's `alerting-generate` turns on.)
#![cfg(feature = "generate")]

use std::process::Command;

#[test]
fn the_generator_binary_sees_the_apps_call_sites() {
    let out = std::env::temp_dir().join(format!("bsc-monitor-generate-{}", std::process::id()));
    let run = Command::new(env!("CARGO_BIN_EXE_bsc-monitor-generate"))
        .arg("--out")
        .arg(&out)
        .output()
        .expect("run bsc-monitor-generate");
    assert!(
        run.status.success(),
        "bsc-monitor-generate failed: {}",
        String::from_utf8_lossy(&run.stderr)
    );
    let dashboard = std::fs::read_to_string(out.join("dashboard.json")).expect("dashboard.json");
    let rules = std::fs::read_to_string(out.join("rules.yml")).expect("rules.yml");
    std::fs::remove_dir_all(&out).expect("clean up");
    // A row per function, and the in-flight panel only where the
    // attribute has `in_flight` (nothing restated in generate.rs).
    for function in bsc_monitor::metrics::INSTRUMENTED_FUNCTIONS {
        assert!(
            dashboard.contains(&format!("fn {function}")),
            "no row for {function}"
        );
    }
    assert!(
        dashboard.contains(
            r#"function_calls_in_flight{service=\"bsc-monitor\", function=\"process_swap_event\"}"#
        ),
        "no in-flight panel for process_swap_event"
    );
    assert!(
        !dashboard.contains(
            r#"function_calls_in_flight{service=\"bsc-monitor\", function=\"send_alert\"}"#
        )
    );
    // The SLO's module label comes from the call site.
    assert!(rules.contains("process_swap_event"), "{rules}");
}
