//! Issue 13's dependency budget, kept: the crates a service builds with
//! the library's default features, read from `cargo tree` on this
//! workspace's lock file (what docs/benchmarks.md's build-cost projects
//! compile, without the project itself).
//!
//! - typed metrics and `#[instrumented]` alone
//!   (`alerting-core`, `default-features = false, features = ["macros"]`):
//!   at most 44 crates, so that a service of its own stays within 45;
//! - the bootstrap with alerting-axum's defaults: fewer crates than
//!   axum-prometheus + autometrics (104 with the service), and none of the
//!   crates that only an opt-in feature may bring (the regex crates of
//!   `env-filter`, tracing-appender of `log-files`, flate2 of `gzip`…).
//!
//! A failure names the crates, so the change that brought them can put
//! them behind a feature or say why in docs/decisions.md.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

/// `name version` of every crate `cargo tree` lists for `args` (normal and
/// build dependencies, the package itself included).
fn tree(args: &[&str]) -> BTreeSet<String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let output = Command::new(cargo)
        .current_dir(&workspace)
        .args(["tree", "--locked", "-e", "normal,build"])
        .args(["--prefix", "none", "--format", "{p}"])
        .args(args)
        .output()
        .expect("run cargo tree");
    assert!(
        output.status.success(),
        "cargo tree {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout)
        .expect("utf-8")
        .lines()
        .filter_map(|line| {
            // `tokio v1.48.0 (*)`, `alerting-core v0.1.0 (/path)`: keep the
            // name and the version.
            let mut words = line.split_whitespace();
            Some(format!("{} {}", words.next()?, words.next()?))
        })
        .collect()
}

fn names(crates: &BTreeSet<String>) -> BTreeSet<&str> {
    crates
        .iter()
        .filter_map(|c| c.split_whitespace().next())
        .collect()
}

#[test]
fn typed_metrics_alone_stay_within_45_crates() {
    let crates = tree(&[
        "-p",
        "alerting-core",
        "--no-default-features",
        "--features",
        "macros",
    ]);
    assert!(
        crates.len() <= 44,
        "{} crates (at most 44): {crates:?}",
        crates.len()
    );
    let names = names(&crates);
    for runtime_only in ["tokio", "tracing-subscriber", "toml", "serde_json"] {
        assert!(
            !names.contains(runtime_only),
            "{runtime_only} without the runtime features"
        );
    }
}

#[test]
fn the_bootstrap_builds_fewer_crates_than_the_peers_and_no_opt_in_ones() {
    let crates = tree(&["-p", "alerting-axum"]);
    // (d) axum-prometheus + autometrics: 104 crates with its service.
    assert!(
        crates.len() < 103,
        "{} crates (fewer than 103): {crates:?}",
        crates.len()
    );
    let names = names(&crates);
    let opt_in = [
        ("regex-automata", "alerting-core/env-filter"),
        ("regex-syntax", "alerting-core/env-filter"),
        ("matchers", "alerting-core/env-filter"),
        ("tracing-appender", "alerting-core/log-files"),
        ("opentelemetry", "alerting-core/otlp"),
        ("redis", "alerting-core/redis"),
        ("sqlx-core", "alerting-core/sqlx"),
        ("flate2", "alerting-axum/gzip"),
        ("reqwest", "alerting-axum/reqwest"),
    ];
    let found: Vec<String> = opt_in
        .iter()
        .filter(|(name, _)| names.contains(name))
        .map(|(name, feature)| format!("{name} (only with {feature})"))
        .collect();
    assert!(found.is_empty(), "the default features build {found:?}");
}
