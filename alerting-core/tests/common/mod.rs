//! Helpers shared by the integration tests (each test file uses some).
#![allow(
    dead_code,
    reason = "each test file that shares this module uses part of it"
)]

use alerting_core::config::{ConfigError, Origin};

/// The parts of a [`ConfigError::Invalid`]: key, value, expected, origin.
pub(crate) fn invalid(err: ConfigError) -> (String, String, String, Origin) {
    match err {
        ConfigError::Invalid {
            key,
            value,
            expected,
            origin,
        } => (key, value, expected, origin),
        other => panic!("expected an invalid value, got {other:?}"),
    }
}

/// A fresh directory under the system's temporary directory, removed with
/// everything in it when dropped (also when the test fails).
pub(crate) struct TempDir(std::path::PathBuf);

impl TempDir {
    pub(crate) fn new(name: &str) -> Self {
        static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let dir =
            std::env::temp_dir().join(format!("alerting-test-{}-{n}-{name}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }

    /// `name` inside the directory.
    pub(crate) fn join(&self, name: &str) -> std::path::PathBuf {
        self.0.join(name)
    }

    pub(crate) fn path(&self) -> &std::path::Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// `promtool check metrics` on `text`: whether it passed, and what it
/// printed.
pub(crate) fn promtool_check_metrics(text: &str) -> (bool, String) {
    use std::io::Write;
    use std::process::{Command, Stdio};

    let mut child = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("promtool not found: install Debian's `prometheus` package (.ci/run does)");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(text.as_bytes())
        .expect("write to promtool");
    let out = child.wait_with_output().expect("promtool output");
    let mut report = String::from_utf8_lossy(&out.stdout).into_owned();
    report.push_str(&String::from_utf8_lossy(&out.stderr));
    (out.status.success(), report)
}

/// Asserts that `promtool check metrics` accepts `text`.
pub(crate) fn assert_promtool_accepts(text: &str) {
    let (ok, report) = promtool_check_metrics(text);
    assert!(ok, "promtool check metrics failed: {report}\non:\n{text}");
}
