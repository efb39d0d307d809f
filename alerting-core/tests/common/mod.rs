//! Helpers shared by the configuration tests.

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

#[allow(
    dead_code,
    reason = "not every test file that shares this module needs it"
)]
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
