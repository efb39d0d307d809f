//! `[logging]`, `[logging.file]` and `[logging.otlp]`.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// `[logging]`: format, filter and destination of logs.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct LoggingConfig {
    /// Key `format`: `pretty`, `compact` (default) or `json`.
    pub format: LogFormat,
    /// Key `level`: the level of every target not in `targets`. Default
    /// `info`.
    pub level: LogLevel,
    /// Key `targets`: levels of particular targets (module paths), such as
    /// `{ hyper = "warn" }`. Default empty.
    pub targets: BTreeMap<String, LogLevel>,
    /// Key `file`: write to rotated files instead of stdout. Default none.
    /// Needs alerting-core's `log-files` feature: without it, setting this
    /// is a configuration error naming the key.
    pub file: Option<LogFileConfig>,
    /// Key `otlp`: also export spans to an OpenTelemetry collector.
    /// Default none. Needs alerting-core's `otlp` feature: without it,
    /// setting this is a configuration error naming the key.
    pub otlp: Option<OtlpConfig>,
}

/// `[logging.otlp]`: spans exported over OTLP/HTTP (protobuf) to a
/// collector (alerting-core's `otlp` feature), each carrying the span's
/// fields as attributes; JSON log lines then carry `trace_id` and
/// `span_id`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct OtlpConfig {
    /// Key `endpoint`: the collector's traces URL, `http://` only. Default
    /// `http://127.0.0.1:4318/v1/traces` (a collector on the same host).
    pub endpoint: String,
    /// Key `timeout_secs`: how long one export may take. Default 10 s.
    #[serde(rename = "timeout_secs", with = "super::secs::positive")]
    pub timeout: Duration,
}

impl Default for OtlpConfig {
    fn default() -> Self {
        Self {
            endpoint: "http://127.0.0.1:4318/v1/traces".to_owned(),
            timeout: Duration::from_secs(10),
        }
    }
}

/// How log lines are written.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum LogFormat {
    /// Multi-line, human-readable (development).
    Pretty,
    /// One human-readable line per event.
    #[default]
    Compact,
    /// One JSON object per line, span fields included (production).
    Json,
}

/// A log level; `off` turns a target off.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum LogLevel {
    /// Nothing.
    Off,
    /// Errors only.
    Error,
    /// Warnings and errors.
    Warn,
    /// Informational and above.
    #[default]
    Info,
    /// Debugging and above.
    Debug,
    /// Everything.
    Trace,
}

impl LogLevel {
    /// The level as written in a filter directive (`info`).
    pub fn as_str(self) -> &'static str {
        match self {
            LogLevel::Off => "off",
            LogLevel::Error => "error",
            LogLevel::Warn => "warn",
            LogLevel::Info => "info",
            LogLevel::Debug => "debug",
            LogLevel::Trace => "trace",
        }
    }
}

/// `[logging.file]`: rotated log files (alerting-core's `log-files`
/// feature).
///
/// Files are named `<prefix>.<date>` in `directory` (`app.log.2025-11-04`
/// for daily rotation); rotation is by time, not size.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct LogFileConfig {
    /// Key `directory`, default `logs`; created if missing.
    pub directory: PathBuf,
    /// Key `prefix`: the file name before the date, default `app.log`.
    pub prefix: String,
    /// Key `rotation`: `minutely`, `hourly`, `daily` (default) or `never`.
    pub rotation: LogRotation,
    /// Key `max_files`: how many files to keep; older ones are deleted.
    /// Default 10; 0 keeps every file.
    pub max_files: usize,
}

impl Default for LogFileConfig {
    fn default() -> Self {
        Self {
            directory: PathBuf::from("logs"),
            prefix: "app.log".to_owned(),
            rotation: LogRotation::Daily,
            max_files: 10,
        }
    }
}

/// When a log file is rotated.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum LogRotation {
    /// A new file every minute.
    Minutely,
    /// A new file every hour.
    Hourly,
    /// A new file every day (UTC).
    #[default]
    Daily,
    /// One file, never rotated.
    Never,
}
