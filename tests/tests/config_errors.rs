//! The monitors refuse a hostile configuration at start-up, the way `main`
//! reports errors (`Error: …` naming the key, exit status 1), instead of
//! starting and then panicking in the hot path (`Instant + Duration` with a
//! duration of 1e300 s), aborting on an allocation, or silently exporting
//! series that no generated rule matches (an empty `service` label).

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use alerting_tests::app;

/// Refusing a configuration takes milliseconds; a monitor still running
/// after this accepted it.
const EXIT_WITHIN: Duration = Duration::from_secs(20);

struct Exit {
    status: ExitStatus,
    stderr: String,
    took: Duration,
}

/// Runs `binary` with `env` (and endpoints on a free port, so a monitor
/// that wrongly starts does not clash with anything) until it exits; kills
/// it and fails the test if it is still running after [`EXIT_WITHIN`].
fn run(binary: &Path, prefix: &str, env: &[(&str, &str)]) -> Exit {
    let listen = format!("{prefix}_METRICS__LISTEN_ADDR");
    let mut child = Command::new(binary)
        .env(&listen, "127.0.0.1:0")
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", binary.display()));
    let mut pipe = child.stderr.take().expect("stderr is piped");
    let reader = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = pipe.read_to_string(&mut text);
        text
    });
    let started = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if started.elapsed() < EXIT_WITHIN => {
                std::thread::sleep(Duration::from_millis(20));
            }
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                let stderr = reader.join().unwrap_or_default();
                panic!(
                    "{} with {env:?} was still running after {EXIT_WITHIN:?}: it accepted the \
                     configuration; stderr:\n{stderr}",
                    binary.display()
                );
            }
        }
    };
    let took = started.elapsed();
    let stderr = reader.join().unwrap_or_default();
    Exit {
        status,
        stderr,
        took,
    }
}

/// Runs `binary` with one hostile `var=value` and checks that it refuses
/// it as `main` reports errors, naming `key` (and the variable), with
/// `also` in the message.
fn refuses(binary: &Path, prefix: &str, var: &str, value: &str, key: &str, also: &str) {
    let exit = run(binary, prefix, &[(var, value)]);
    let stderr = &exit.stderr;
    let what = format!("{var}={value:?}: status {}, stderr:\n{stderr}", exit.status);
    assert_eq!(exit.status.code(), Some(1), "{what}");
    assert!(stderr.starts_with("Error: "), "{what}");
    assert!(stderr.contains(&format!("`{key}`")), "{what}");
    assert!(stderr.contains(also), "{what}");
    assert!(!stderr.contains("panicked"), "{what}");
    assert!(!stderr.contains("memory allocation"), "{what}");
    assert!(exit.took < EXIT_WITHIN, "{what}");
}

fn binary(package: &str) -> PathBuf {
    app::build(package).unwrap_or_else(|e| panic!("cannot build {package}: {e}"))
}

/// A temporary directory holding one regular file, removed when dropped.
struct Scratch(PathBuf);

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A path below a regular file: no directory can be created there, even
/// by root. The file lives as long as the returned guard.
fn uncreatable_directory(name: &str) -> (Scratch, PathBuf) {
    let dir = std::env::temp_dir().join(format!("config-errors-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join(name);
    std::fs::write(&file, "").unwrap();
    (Scratch(dir), file.join("logs"))
}

#[test]
fn bsc_monitor_refuses_hostile_values_at_start_up() {
    let bsc = binary("bsc-monitor");
    let p = "BSC_MONITOR";
    // Used to become Duration::MAX and panic at the first alert.
    refuses(
        &bsc,
        p,
        "BSC_MONITOR_COOLDOWN__MINUTES",
        "1e300",
        "cooldown.minutes",
        "1e300",
    );
    // Used to panic at the first "no data" answer.
    refuses(
        &bsc,
        p,
        "BSC_MONITOR_DEGRADED__TTLS_SECS",
        "[300, 1e300]",
        "degraded.ttls_secs",
        "1e300",
    );
    // Used to abort on a failed allocation, naming nothing.
    refuses(
        &bsc,
        p,
        "BSC_MONITOR_SIMULATOR__PAIRS",
        "4000000000",
        "simulator.pairs",
        "4000000000",
    );
    // Used to start with series no generated rule matches.
    refuses(
        &bsc,
        p,
        "BSC_MONITOR_METRICS__CONST_LABELS__SERVICE",
        "",
        "metrics.const_labels.service",
        "non-empty",
    );
    // Used to say "expected invalid socket address syntax".
    refuses(
        &bsc,
        p,
        "BSC_MONITOR_METRICS__LISTEN_ADDR",
        "127.0.0.1:70000",
        "metrics.listen_addr",
        "at most 65535",
    );
    // Used to name the directory but not the key that set it.
    let (_scratch, dir) = uncreatable_directory("bsc-file");
    refuses(
        &bsc,
        p,
        "BSC_MONITOR_LOGGING__FILE__DIRECTORY",
        dir.to_str().unwrap(),
        "logging.file.directory",
        "bsc-file",
    );
}

#[test]
fn sol_monitor_refuses_hostile_values_at_start_up() {
    let sol = binary("sol-monitor");
    let p = "SOL_MONITOR";
    // Used to become Duration::MAX and panic on each connection.
    refuses(
        &sol,
        p,
        "SOL_MONITOR_NODE__NO_DATA_TIMEOUT_SECS",
        "1e300",
        "node.no_data_timeout_secs",
        "1e300",
    );
    refuses(
        &sol,
        p,
        "SOL_MONITOR_NODE__CONNECT_TIMEOUT_SECS",
        "1e300",
        "node.connect_timeout_secs",
        "1e300",
    );
    refuses(
        &sol,
        p,
        "SOL_MONITOR_BACKOFF__MAX_SECS",
        "1e300",
        "backoff.max_secs",
        "1e300",
    );
    refuses(
        &sol,
        p,
        "SOL_MONITOR_METRICS__CONST_LABELS__SERVICE",
        "",
        "metrics.const_labels.service",
        "non-empty",
    );
    let (_scratch, dir) = uncreatable_directory("sol-file");
    refuses(
        &sol,
        p,
        "SOL_MONITOR_LOGGING__FILE__DIRECTORY",
        dir.to_str().unwrap(),
        "logging.file.directory",
        "sol-file",
    );
}
