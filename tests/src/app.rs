//! Running a workspace binary (an example monitor) as a child process for
//! an end-to-end test: built with cargo first, started with environment
//! overrides, its metrics address read from what it prints, and killed
//! when dropped (also when a test panics).

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use crate::{HarnessError, Prometheus};

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
    let status = Command::new(&cargo)
        .args(["build", "-p", package])
        .current_dir(workspace())
        .status()
        .map_err(|e| failed(e.to_string()))?;
    if !status.success() {
        return Err(failed(format!("exited with {status}")));
    }
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map_or_else(|| workspace().join("target"), PathBuf::from);
    let path = target.join("debug").join(package);
    if !path.exists() {
        return Err(failed(format!("no binary at {}", path.display())));
    }
    Ok(path)
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
    /// `  metrics   http://127.0.0.1:PORT/metrics`. Its other output is read
    /// and dropped, so the child never blocks on a full pipe; its stderr
    /// is discarded.
    ///
    /// # Errors
    ///
    /// [`HarnessError::Spawn`] if it cannot start, [`HarnessError::Timeout`]
    /// if it prints no metrics URL in time.
    pub fn start(binary: &Path, env: &[(&str, &str)]) -> Result<Self, HarnessError> {
        let mut child = Command::new(binary)
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
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
            Err(_) => {
                let _ = child.kill();
                let _ = child.wait();
                Err(HarnessError::Timeout {
                    waited,
                    log: format!(": {} printed no metrics address", binary.display()),
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
