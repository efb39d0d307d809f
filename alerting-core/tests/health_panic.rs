//! A health check that panics on every run prints its panic message (which
//! may hold secrets) once, the first time, and is still reported down,
//! "check panicked", on every run; panics elsewhere still reach the panic
//! hook, whether it is the default one or the application's own.
//!
//! What goes to stderr is only observable from outside the process: each
//! test re-runs this test binary as a child with one hidden (ignored) test
//! selected, and counts the lines of its stderr.

use std::fs::File;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use alerting_core::health::{CheckOptions, CheckOutcome, Detail, HealthRegistry, Status, check_fn};
use alerting_core::metrics::{Format, Registry};

/// Selects the child's panic hook: `default` or `user`.
const CHILD_ENV: &str = "ALERTING_TEST_HEALTH_PANIC_CHILD";
/// The check's panic message: a secret that must not be printed each run.
const SECRET: &str = "cannot connect to postgres://bsc:hunter2@db";
/// The message of panics outside any check.
const ELSEWHERE: &str = "a panic outside the health checks";
/// What the application's own hook prints.
const USER_HOOK: &str = "application hook:";
/// The child's run: 10 intervals.
const INTERVAL: Duration = Duration::from_millis(50);
const RUN_FOR: Duration = Duration::from_millis(500);
/// No child may take longer than this.
const CHILD_TIMEOUT: Duration = Duration::from_secs(60);

struct Child {
    stdout: String,
    stderr: String,
}

impl Child {
    fn lines_with(&self, needle: &str) -> usize {
        self.stderr.lines().filter(|l| l.contains(needle)).count()
    }
}

/// Runs the hidden test `name` in a child process with `CHILD_ENV=mode`.
fn run_child(name: &str, mode: &str) -> Child {
    let dir = std::env::temp_dir();
    let unique = format!("alerting-health-panic-{}-{mode}", std::process::id());
    let out_path: PathBuf = dir.join(format!("{unique}.out"));
    let err_path: PathBuf = dir.join(format!("{unique}.err"));
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            name,
            "--exact",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_ENV, mode)
        .env_remove("RUST_BACKTRACE")
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .stdout(File::create(&out_path).unwrap())
        .stderr(File::create(&err_path).unwrap())
        .spawn()
        .unwrap();
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if start.elapsed() > CHILD_TIMEOUT {
            let _ = child.kill();
            let _ = child.wait();
            panic!("the child process took more than {CHILD_TIMEOUT:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let result = Child {
        stdout: std::fs::read_to_string(&out_path).unwrap(),
        stderr: std::fs::read_to_string(&err_path).unwrap(),
    };
    let _ = std::fs::remove_file(&out_path);
    let _ = std::fs::remove_file(&err_path);
    assert!(
        status.success(),
        "child failed ({status})\n--- stdout\n{}\n--- stderr\n{}",
        result.stdout,
        result.stderr
    );
    assert!(
        result.stdout.contains("test result: ok. 1 passed"),
        "the child did not run {name}:\n{}",
        result.stdout
    );
    result
}

#[test]
fn with_the_default_hook_a_check_panic_is_printed_once() {
    let child = run_child("child_check_panics_every_run", "default");
    assert_eq!(child.lines_with(SECRET), 1, "{}", child.stderr);
    // The default hook still prints panics elsewhere, every time.
    assert_eq!(child.lines_with(ELSEWHERE), 3, "{}", child.stderr);
    assert_eq!(child.lines_with(USER_HOOK), 0, "{}", child.stderr);
}

#[test]
fn the_applications_own_hook_is_kept_and_sees_a_check_panic_once() {
    let child = run_child("child_check_panics_every_run", "user");
    let user_lines: Vec<&str> = child
        .stderr
        .lines()
        .filter(|l| l.starts_with(USER_HOOK))
        .collect();
    assert_eq!(
        user_lines,
        [
            format!("{USER_HOOK} {SECRET}"),
            format!("{USER_HOOK} {ELSEWHERE}"),
            format!("{USER_HOOK} {ELSEWHERE}"),
            format!("{USER_HOOK} {ELSEWHERE}"),
        ],
        "{}",
        child.stderr
    );
    assert_eq!(child.lines_with(SECRET), 1, "{}", child.stderr);
}

fn message(info: &std::panic::PanicHookInfo<'_>) -> String {
    let payload = info.payload();
    payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_default()
}

/// Keeps the compiler from typing a check that only panics as `!`.
fn always() -> bool {
    true
}

/// The child: a check panicking every 50 ms for 500 ms, then on demand,
/// then panics outside any check.
#[test]
#[ignore = "run in a child process by the tests above"]
fn child_check_panics_every_run() {
    let Ok(mode) = std::env::var(CHILD_ENV) else {
        return;
    };
    if mode == "user" {
        // The application's hook, installed before the registry runs.
        std::panic::set_hook(Box::new(|info| {
            eprintln!("{USER_HOOK} {}", message(info));
        }));
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let metrics = Registry::new();
        let health = HealthRegistry::builder()
            .metrics(&metrics)
            .interval(INTERVAL)
            .timeout(Duration::from_secs(5))
            .build()
            .unwrap();
        let runs = Arc::new(AtomicU64::new(0));
        let counted = Arc::clone(&runs);
        health
            .add_check(
                "database",
                CheckOptions::new(),
                check_fn(move || {
                    let runs = Arc::clone(&counted);
                    async move {
                        runs.fetch_add(1, Ordering::SeqCst);
                        if always() {
                            panic!("{SECRET}");
                        }
                        CheckOutcome::up()
                    }
                }),
            )
            .unwrap();
        health.start().unwrap();

        // Every report in between shows the check down, "check panicked".
        let start = Instant::now();
        while start.elapsed() < RUN_FOR {
            tokio::time::sleep(INTERVAL).await;
            if runs.load(Ordering::SeqCst) == 0 {
                continue;
            }
            let report = health.report(Detail::Full);
            let check = &report.checks["database"];
            assert_eq!(check.status, Status::Down);
            assert_eq!(check.reason.as_deref(), Some("check panicked"));
        }
        // On demand too, each run.
        for _ in 0..3 {
            let check = health.check_now("database").await.unwrap();
            assert_eq!(check.status, Status::Down);
            assert_eq!(check.reason.as_deref(), Some("check panicked"));
        }
        // A panic in a task that is not a check is not silenced.
        let other = tokio::spawn(async {
            if always() {
                panic!("{ELSEWHERE}");
            }
        });
        assert!(other.await.unwrap_err().is_panic());
        drop(health);
        // Let the background loop see that it must stop.
        tokio::time::sleep(2 * INTERVAL).await;

        let runs = runs.load(Ordering::SeqCst);
        assert!(runs >= 3 + 3, "the check ran only {runs} times");
        // Every run is in the metrics, as before.
        let text = metrics.encode_to_string(Format::Prometheus).unwrap();
        let count: u64 = text
            .lines()
            .find_map(|l| {
                l.strip_prefix(r#"health_check_duration_seconds_count{check="database"} "#)
            })
            .unwrap_or_else(|| panic!("no duration count:\n{text}"))
            .parse()
            .unwrap();
        // (A run in progress when the registry was dropped is not recorded.)
        assert!(
            count + 1 >= runs && count <= runs,
            "{count} recorded, {runs} runs"
        );
        assert!(
            text.contains(r#"health_check_status{check="database"} 0"#),
            "{text}"
        );
        println!("the check panicked {runs} times");
    });
    drop(runtime);
    // Panics on other threads still reach the hook, each time.
    for _ in 0..2 {
        let panicked = std::thread::spawn(|| {
            if always() {
                panic!("{ELSEWHERE}");
            }
        })
        .join();
        assert!(panicked.is_err());
    }
}
