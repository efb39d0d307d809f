//! A real `SIGTERM` to a child process (the `shutdown` example) that is
//! working: it drains, logs its report and exits 0; a second `SIGTERM`
//! forces it.
#![cfg(unix)]

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::time::{Duration, Instant};

/// Generous: the child is a debug build on a busy 2-core machine.
const PATIENCE: Duration = Duration::from_secs(30);

/// Builds the example if needed (a `cargo test --test` run does not) and
/// returns its path.
fn example() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    // target/<profile>/deps/<this test> → target/<profile>
    let profile_dir = exe.parent().unwrap().parent().unwrap().to_path_buf();
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let mut build = Command::new(cargo);
    build.args([
        "build",
        "-q",
        "-p",
        "alerting-core",
        "--example",
        "shutdown",
    ]);
    if profile_dir.file_name().is_some_and(|n| n == "release") {
        build.arg("--release");
    }
    let status = build.status().expect("run cargo build");
    assert!(status.success(), "building the shutdown example failed");
    profile_dir
        .join("examples")
        .join(format!("shutdown{}", std::env::consts::EXE_SUFFIX))
}

struct Running {
    child: Child,
    lines: Receiver<String>,
    seen: Vec<String>,
}

impl Running {
    fn start(args: &[&str], env: &[(&str, &str)]) -> Self {
        let mut cmd = Command::new(example());
        cmd.args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .env_remove("RUST_LOG");
        for (k, _) in std::env::vars().filter(|(k, _)| k.starts_with("ALERTING_")) {
            cmd.env_remove(k);
        }
        cmd.envs(env.iter().copied());
        let mut child = cmd.spawn().expect("start the shutdown example");
        let stdout = child.stdout.take().unwrap();
        let (tx, lines) = channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Self {
            child,
            lines,
            seen: Vec::new(),
        }
    }

    /// Reads lines until one contains `needle`.
    fn wait_for(&mut self, needle: &str) {
        let deadline = Instant::now() + PATIENCE;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    let found = line.contains(needle);
                    self.seen.push(line);
                    if found {
                        return;
                    }
                }
                Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => {
                    let _ = self.child.kill();
                    panic!(
                        "no line with {needle:?}; output so far:\n{}",
                        self.seen.join("\n")
                    );
                }
            }
        }
    }

    fn sigterm(&self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("run kill");
        assert!(status.success());
    }

    /// Waits for the exit and the rest of the output.
    fn finish(mut self) -> (ExitStatus, Duration, Vec<String>) {
        let start = Instant::now();
        let status = loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                break status;
            }
            if start.elapsed() > PATIENCE {
                let _ = self.child.kill();
                panic!("the child did not exit; output:\n{}", self.seen.join("\n"));
            }
            std::thread::sleep(Duration::from_millis(10));
        };
        let took = start.elapsed();
        self.seen.extend(self.lines.iter());
        (status, took, self.seen)
    }
}

fn json_report(lines: &[String]) -> serde_json::Value {
    let line = lines
        .iter()
        .rev()
        .find(|l| l.starts_with('{'))
        .unwrap_or_else(|| panic!("no JSON report in:\n{}", lines.join("\n")));
    serde_json::from_str(line).unwrap()
}

#[test]
fn a_child_that_receives_sigterm_while_working_exits_0_and_logs_its_report() {
    let mut child = Running::start(&["--wait-for-signal"], &[]);
    child.wait_for("ready pid=");
    std::thread::sleep(Duration::from_millis(200)); // let it accept some work
    child.sigterm();
    let (status, _, lines) = child.finish();
    let text = lines.join("\n");

    assert!(status.success(), "exit status {status:?}; output:\n{text}");
    // Logged by the coordinator, through the log writer it flushed…
    assert!(text.contains("shutdown began: readiness down"), "{text}");
    assert!(text.contains("shutdown finished"), "{text}");
    assert!(text.contains("trigger=SIGTERM"), "{text}");
    // …and printed by the program.
    assert!(text.contains("shutdown (SIGTERM) finished"), "{text}");
    assert!(text.contains("ready after shutdown: false"), "{text}");

    let report = json_report(&lines);
    assert_eq!(report["trigger"]["kind"], "sigterm");
    assert_eq!(report["drain"], "drained");
    let work = &report["work"][0];
    assert_eq!(work["name"], "swap_event");
    assert_eq!(work["still_running"], 0);
    assert!(work["in_flight_at_trigger"].as_u64().unwrap() > 0, "{text}");
    // Events accepted between the signal and the intake stop drain too.
    assert!(
        work["drained"].as_u64().unwrap() >= work["in_flight_at_trigger"].as_u64().unwrap(),
        "{text}"
    );
    let closers: Vec<&str> = report["closers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(closers, ["alert_sink", "db_pool", "ws_pool"]);
}

#[test]
fn a_second_sigterm_forces_the_shutdown() {
    let mut child = Running::start(
        &["--wait-for-signal", "--stuck"],
        &[("ALERTING_SHUTDOWN__DEADLINE_SECS", "600")],
    );
    child.wait_for("ready pid=");
    child.sigterm();
    child.wait_for("shutdown began");
    child.sigterm();
    let (status, took, lines) = child.finish();
    let text = lines.join("\n");

    assert!(status.success(), "exit status {status:?}; output:\n{text}");
    assert!(
        took < Duration::from_secs(600),
        "the second signal did not end the wait"
    );
    assert!(text.contains("second signal"), "{text}");
    let report = json_report(&lines);
    assert_eq!(report["forced"], true);
    assert_eq!(report["drain"], "forced");
    let stuck = report["work"]
        .as_array()
        .unwrap()
        .iter()
        .find(|w| w["name"] == "stuck_rpc")
        .unwrap_or_else(|| panic!("{text}"));
    assert_eq!(stuck["still_running"], 1);
    assert!(text.contains("stuck_rpc ×1"), "{text}");
}
