//! Running a workspace binary (an example monitor) as a child process for
//! an end-to-end test: built with cargo first, started with environment
//! overrides, its metrics address read from what it prints, and killed
//! when dropped (also when a test panics).

use std::io::{BufRead, BufReader, Read};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::{HarnessError, Prometheus};

/// How much of an app's stderr is kept for an error message.
const STDERR_TAIL: usize = 8 * 1024;

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Builds the binary of workspace package `package` (debug profile; a
/// no-op when up to date) and returns its path. Call it before a test's
/// clock starts: on a loaded machine the build can take longer than a
/// fault schedule.
///
/// # Errors
///
/// [`HarnessError::Io`] if cargo cannot run, fails, or leaves no binary.
pub fn build(package: &str) -> Result<PathBuf, HarnessError> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let failed = |message: String| HarnessError::Io {
        what: format!("cargo build -p {package}"),
        source: std::io::Error::other(message),
    };
    // Cargo says where it put the binary, wherever the target directory
    // is configured (CARGO_TARGET_DIR, .cargo/config.toml, --target).
    let output = Command::new(&cargo)
        .args([
            "build",
            "-p",
            package,
            "--message-format=json-render-diagnostics",
        ])
        .current_dir(workspace())
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| failed(e.to_string()))?;
    if !output.status.success() {
        return Err(failed(format!("exited with {}", output.status)));
    }
    let executable = String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter(|m| m["reason"] == "compiler-artifact" && m["target"]["name"] == package)
        .filter_map(|m| m["executable"].as_str().map(PathBuf::from))
        .next_back();
    match executable {
        Some(path) if path.exists() => Ok(path),
        Some(path) => Err(failed(format!("no binary at {}", path.display()))),
        None => Err(failed(format!("cargo reported no binary named {package}"))),
    }
}

/// A running app; killed when dropped.
#[derive(Debug)]
pub struct App {
    child: Child,
    metrics: SocketAddr,
}

impl App {
    /// Starts `binary` with `env` added to the environment and waits
    /// (at most 30 s) for the line it prints with its metrics URL:
    /// `  metrics   http://127.0.0.1:PORT/metrics`. Its output is read to
    /// the end, so the child never blocks on a full pipe; the end of its
    /// stderr is kept for the errors.
    ///
    /// # Errors
    ///
    /// [`HarnessError::Spawn`] if it cannot start,
    /// [`HarnessError::AppExited`] if it exits first (a bad configuration,
    /// a port in use), [`HarnessError::Timeout`] if it prints no metrics
    /// URL in time; both with the end of its stderr.
    pub fn start(binary: &Path, env: &[(&str, &str)]) -> Result<Self, HarnessError> {
        let mut child = Command::new(binary)
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|source| HarnessError::Spawn {
                binary: binary.to_owned(),
                source,
            })?;
        let Some(stdout) = child.stdout.take() else {
            let _ = child.kill();
            return Err(HarnessError::Io {
                what: "read the app's output".into(),
                source: std::io::Error::other("no stdout"),
            });
        };
        let stderr_tail = Arc::new(Mutex::new(String::new()));
        if let Some(mut stderr) = child.stderr.take() {
            let tail = Arc::clone(&stderr_tail);
            std::thread::spawn(move || {
                let mut buf = [0u8; 4096];
                while let Ok(n) = stderr.read(&mut buf) {
                    if n == 0 {
                        break;
                    }
                    let mut tail = tail.lock().unwrap_or_else(|e| e.into_inner());
                    tail.push_str(&String::from_utf8_lossy(&buf[..n]));
                    if tail.len() > STDERR_TAIL {
                        let mut cut = tail.len() - STDERR_TAIL;
                        while !tail.is_char_boundary(cut) {
                            cut += 1;
                        }
                        tail.drain(..cut);
                    }
                }
            });
        }
        let stderr = move || {
            stderr_tail
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .clone()
        };
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(url) = line.trim().strip_prefix("metrics") {
                    let addr = url
                        .trim()
                        .strip_prefix("http://")
                        .and_then(|rest| rest.split('/').next())
                        .and_then(|a| a.parse::<SocketAddr>().ok());
                    if let Some(addr) = addr {
                        let _ = tx.send(addr);
                    }
                }
            }
        });
        let waited = Duration::from_secs(30);
        match rx.recv_timeout(waited) {
            Ok(metrics) => Ok(Self { child, metrics }),
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                // Its stdout closed: it is exiting. Give it a moment.
                let deadline = Instant::now() + Duration::from_secs(5);
                let status = loop {
                    match child.try_wait() {
                        Ok(Some(status)) => break Some(status),
                        Ok(None) if Instant::now() < deadline => {
                            std::thread::sleep(Duration::from_millis(20));
                        }
                        _ => break None,
                    }
                };
                let _ = child.kill();
                let status = status.or_else(|| child.wait().ok());
                // Let the stderr reader catch up with the last lines.
                std::thread::sleep(Duration::from_millis(50));
                Err(HarnessError::AppExited {
                    binary: binary.to_owned(),
                    status: status.map_or_else(|| "unknown".to_owned(), |s| s.to_string()),
                    stderr: stderr(),
                })
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {
                let _ = child.kill();
                let _ = child.wait();
                Err(HarnessError::Timeout {
                    waited,
                    log: format!(
                        ": {} printed no metrics address; its stderr:\n{}",
                        binary.display(),
                        stderr()
                    ),
                })
            }
        }
    }

    /// Where it serves `/metrics`.
    pub fn metrics_addr(&self) -> SocketAddr {
        self.metrics
    }
}

impl Drop for App {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The names of the alerts of `service` (their `service` label) in
/// `state` (`pending`, `firing`), one entry per alert instance.
///
/// # Errors
///
/// As [`Prometheus::alerts`].
pub fn alerts_in(
    prometheus: &Prometheus,
    service: &str,
    state: &str,
) -> Result<Vec<String>, HarnessError> {
    Ok(prometheus
        .alerts()?
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .filter(|a| a["state"] == state && a["labels"]["service"] == service)
        .filter_map(|a| a["labels"]["alertname"].as_str().map(str::to_owned))
        .collect())
}
