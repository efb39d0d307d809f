//! `tracing-subscriber` set up from configuration.
//!
//! [`init`] installs a global subscriber from a
//! [`LoggingConfig`]:
//!
//! - **format**: `pretty`, `compact` or `json` ([`LogFormat`]). JSON is one
//!   object per line with the fields of the spans an event is in written
//!   next to the event's own, so a `tx_hash`, `token` or `batch_id` recorded
//!   once on a span is on every line logged inside it and can be searched
//!   (`jq 'select(.tx_hash == "0x123")'`):
//!
//!   ```json
//!   {"timestamp":"2025-11-04T12:00:00.000000Z","level":"INFO","target":"bsc_monitor::ws",
//!    "message":"fast path: API data complete","tx_hash":"0x123","token":"0xabc",
//!    "span":"handle_swap","spans":["handle_swap"],"file":"src/ws.rs","line":1587}
//!   ```
//!
//!   A field named like one of the keys above (`level`, `span`…) is
//!   written as `field.<name>`.
//! - **filter**: `level` for every target, `targets` for particular ones;
//!   `RUST_LOG`, when set and not empty, replaces both (the usual
//!   `tracing` habit: the operator's filter wins over the file's). A
//!   directive is `level` or `target=level` (tracing-subscriber's
//!   `Targets`); span and field filters need the `env-filter` feature
//!   (its `EnvFilter`), and without it are an
//!   [`InvalidFilter`](LoggingError::InvalidFilter) error naming it.
//! - **destination**: stdout, or, with the `log-files` feature, files
//!   rotated by time ([`LogFileConfig`](crate::config::LogFileConfig)).
//!   Lines are written by a background thread named `alerting-log`, so a
//!   slow disk or terminal never blocks a task; when its buffer
//!   (128,000 lines) is full, lines are dropped rather than blocking. With
//!   `log-files` that thread is tracing-appender's non-blocking writer
//!   (which also writes the files); without it, a small one of ours on
//!   `std` alone, which behaves the same.
//!
//! The returned [`LogGuard`] flushes the writer when dropped: keep it in
//! `main`, or hand it to [`Shutdown::add_log_guard`], which flushes it after
//! the shutdown report has been logged.
//!
//! ```
//! use alerting_core::config::{LogFormat, LoggingConfig};
//! use alerting_core::logging::{self, LoggingError};
//!
//! let mut config = LoggingConfig::default();
//! config.format = LogFormat::Json;
//!
//! let guard = logging::init(&config)?;
//! tracing::info!(batch_id = 7, "started");
//!
//! // A second call is an error, not a panic.
//! assert!(matches!(logging::init(&config), Err(LoggingError::AlreadyInitialized)));
//! drop(guard); // flushes
//! # Ok::<(), LoggingError>(())
//! ```
//!
//! [`Shutdown::add_log_guard`]: crate::shutdown::Shutdown::add_log_guard

mod json;
#[cfg(feature = "otlp")]
mod otlp;
mod redact;
#[cfg(not(feature = "log-files"))]
mod writer;

pub use redact::redact_url;

use std::fmt;
use std::io::{self, IsTerminal};
use std::path::PathBuf;

use tracing::Dispatch;
#[cfg(feature = "log-files")]
use tracing_appender::non_blocking::{NonBlockingBuilder, WorkerGuard};
#[cfg(feature = "log-files")]
use tracing_appender::rolling::{RollingFileAppender, Rotation};
use tracing_subscriber::Layer;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

#[cfg(feature = "log-files")]
use crate::config::LogRotation;
use crate::config::{LogFormat, LoggingConfig};
#[cfg(not(feature = "log-files"))]
use writer::WorkerGuard;

/// Why logging could not be set up.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LoggingError {
    /// A global subscriber (or `log` logger) was already installed: by an
    /// earlier [`init`], or by something else.
    #[error("a global tracing subscriber is already set")]
    AlreadyInitialized,
    /// A filter that does not parse.
    #[error("invalid log filter in {origin}: `{value}`: {reason}")]
    InvalidFilter {
        /// `RUST_LOG` or `logging configuration`.
        origin: &'static str,
        /// The filter text.
        value: String,
        /// What the parser said.
        reason: String,
    },
    /// The log directory does not exist and could not be created.
    #[error(
        "cannot create the log directory `{}` (set by `logging.file.directory`)",
        directory.display()
    )]
    Directory {
        /// The directory.
        directory: PathBuf,
        /// Why.
        #[source]
        source: io::Error,
    },
    /// The log directory or file could not be created. The message names
    /// the configuration key, `logging.file.directory`. Only with the
    /// `log-files` feature.
    #[cfg(feature = "log-files")]
    #[cfg_attr(docsrs, doc(cfg(feature = "log-files")))]
    #[error(
        "cannot open a log file in `{}` (set by `logging.file.directory`)",
        directory.display()
    )]
    File {
        /// The directory.
        directory: PathBuf,
        /// Why.
        #[source]
        source: tracing_appender::rolling::InitError,
    },
    /// The configuration asks for log files ([`LoggingConfig::file`]) but
    /// alerting-core was built without its `log-files` feature. (A
    /// configuration loaded by [`ConfigLoader`](crate::config::ConfigLoader)
    /// is refused earlier, with a [`ConfigError`](crate::config::ConfigError).)
    #[error(
        "cannot log to files in `{}` (set by `logging.file.directory`): alerting-core \
         was built without its `log-files` feature",
        directory.display()
    )]
    FilesNotEnabled {
        /// The directory.
        directory: PathBuf,
    },
    /// The configuration asks for span export ([`LoggingConfig::otlp`])
    /// but alerting-core was built without its `otlp` feature.
    #[error(
        "cannot export spans to `{endpoint}` (set by `logging.otlp.endpoint`): alerting-core \
         was built without its `otlp` feature"
    )]
    OtlpNotEnabled {
        /// The endpoint.
        endpoint: String,
    },
    /// The OTLP exporter could not be built. Only with the `otlp` feature.
    #[cfg(feature = "otlp")]
    #[cfg_attr(docsrs, doc(cfg(feature = "otlp")))]
    #[error("cannot export spans to `{endpoint}` (set by `logging.otlp.endpoint`)")]
    Otlp {
        /// The endpoint.
        endpoint: String,
        /// Why.
        #[source]
        source: opentelemetry_otlp::ExporterBuildError,
    },
}

/// Flushes and stops the background log writer when dropped.
///
/// Dropping it blocks (up to about a second) while buffered lines are
/// written: drop it at the end of `main`, or hand it to
/// [`Shutdown::add_log_guard`](crate::shutdown::Shutdown::add_log_guard),
/// which drops it off the runtime's threads. Lines logged after it is
/// dropped are lost.
#[must_use = "dropping the guard stops the log writer; keep it until the end of main"]
pub struct LogGuard {
    /// Spans still batched are exported when the guard drops.
    #[cfg(feature = "otlp")]
    _spans: Option<otlp::Spans>,
    worker: Option<WorkerGuard>,
}

impl LogGuard {
    /// Flushes the buffered lines and stops the writer (the same as
    /// dropping the guard).
    pub fn flush(self) {
        drop(self);
    }
}

impl fmt::Debug for LogGuard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LogGuard")
            .field("active", &self.worker.is_some())
            .finish()
    }
}

/// Installs the global subscriber described by `config` (see the [module
/// documentation](self)).
///
/// # Errors
///
/// [`LoggingError::AlreadyInitialized`] on a second call (or if another
/// global subscriber is set), [`LoggingError::InvalidFilter`] if `RUST_LOG`
/// does not parse, [`LoggingError::Directory`] or `LoggingError::File` if the
/// log directory or file cannot be created, [`LoggingError::FilesNotEnabled`]
/// if the configuration has log files and the `log-files` feature is off.
pub fn init(config: &LoggingConfig) -> Result<LogGuard, LoggingError> {
    LoggingBuilder::new(config).init()
}

/// Where lines go when not to stdout or a file.
type Sink = Box<dyn io::Write + Send>;

/// Sets logging up with more control than [`init`]: another writer, a
/// `RUST_LOG` value given instead of read, or a [`Dispatch`] to install
/// yourself (in tests, with [`tracing::dispatcher::with_default`]).
///
/// ```
/// use std::io::Write;
/// use std::sync::{Arc, Mutex};
/// use alerting_core::config::{LogFormat, LoggingConfig};
/// use alerting_core::logging::LoggingBuilder;
///
/// #[derive(Clone, Default)]
/// struct Buffer(Arc<Mutex<Vec<u8>>>);
/// impl Write for Buffer {
///     fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
///         self.0.lock().unwrap().extend_from_slice(b);
///         Ok(b.len())
///     }
///     fn flush(&mut self) -> std::io::Result<()> { Ok(()) }
/// }
///
/// let mut config = LoggingConfig::default();
/// config.format = LogFormat::Json;
/// let buffer = Buffer::default();
/// let (dispatch, guard) = LoggingBuilder::new(&config)
///     .writer(buffer.clone())
///     .rust_log(None) // ignore the environment
///     .build()?;
///
/// tracing::dispatcher::with_default(&dispatch, || {
///     let span = tracing::info_span!("handle_swap", tx_hash = "0x123");
///     let _entered = span.enter();
///     tracing::info!("fast path");
/// });
/// guard.flush();
///
/// let text = String::from_utf8(buffer.0.lock().unwrap().clone()).unwrap();
/// assert!(text.contains(r#""tx_hash":"0x123""#));
/// # Ok::<(), alerting_core::logging::LoggingError>(())
/// ```
#[must_use]
pub struct LoggingBuilder {
    config: LoggingConfig,
    sink: Option<Sink>,
    rust_log: Option<Option<String>>,
    service: String,
}

impl fmt::Debug for LoggingBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LoggingBuilder")
            .field("config", &self.config)
            .field("custom_writer", &self.sink.is_some())
            .field("rust_log", &self.rust_log)
            .finish()
    }
}

impl LoggingBuilder {
    /// Starts from `config`.
    pub fn new(config: &LoggingConfig) -> Self {
        Self {
            config: config.clone(),
            sink: None,
            rust_log: None,
            service: "unknown_service".to_owned(),
        }
    }

    /// The service name exported spans carry (`service.name`; the
    /// bootstrap passes its own). Default `unknown_service`, as
    /// OpenTelemetry names a service that did not say.
    pub fn service_name(mut self, name: impl Into<String>) -> Self {
        self.service = name.into();
        self
    }

    /// Writes lines to `writer` (through the same background thread)
    /// instead of stdout or the configured file. No colours.
    pub fn writer(mut self, writer: impl io::Write + Send + 'static) -> Self {
        self.sink = Some(Box::new(writer));
        self
    }

    /// Uses `value` as if it were `RUST_LOG` instead of reading the
    /// environment; `None` ignores `RUST_LOG`.
    pub fn rust_log(mut self, value: Option<&str>) -> Self {
        self.rust_log = Some(value.map(str::to_owned));
        self
    }

    /// The subscriber, as a [`Dispatch`], and the guard of its writer.
    ///
    /// # Errors
    ///
    /// [`LoggingError::InvalidFilter`], [`LoggingError::Directory`],
    /// `LoggingError::File` (with the `log-files` feature) or
    /// [`LoggingError::FilesNotEnabled`] (without it).
    pub fn build(self) -> Result<(Dispatch, LogGuard), LoggingError> {
        let rust_log = match self.rust_log {
            Some(value) => value,
            None => std::env::var("RUST_LOG").ok(),
        };
        let filter = filter(&self.config, rust_log.clone())?;
        #[cfg(not(feature = "otlp"))]
        if let Some(otlp) = &self.config.otlp {
            return Err(LoggingError::OtlpNotEnabled {
                endpoint: otlp.endpoint.clone(),
            });
        }
        // The span exporter gets the same levels (an `EnvFilter` cannot be
        // cloned).
        #[cfg(feature = "otlp")]
        let filter_again = self::filter(&self.config, rust_log.clone())?;
        #[cfg(feature = "otlp")]
        let spans = match &self.config.otlp {
            Some(config) => Some(otlp::Spans::start(config, &self.service)?),
            None => None,
        };

        let (writer, worker, ansi) = match (self.sink, &self.config.file) {
            (Some(sink), _) => {
                let (w, g) = non_blocking(sink);
                (w, g, false)
            }
            #[cfg(not(feature = "log-files"))]
            (None, Some(file)) => {
                return Err(LoggingError::FilesNotEnabled {
                    directory: file.directory.clone(),
                });
            }
            #[cfg(feature = "log-files")]
            (None, Some(file)) => {
                let mut rolling = RollingFileAppender::builder()
                    .rotation(match file.rotation {
                        LogRotation::Minutely => Rotation::MINUTELY,
                        LogRotation::Hourly => Rotation::HOURLY,
                        LogRotation::Daily => Rotation::DAILY,
                        LogRotation::Never => Rotation::NEVER,
                    })
                    .filename_prefix(file.prefix.clone());
                if file.max_files > 0 {
                    rolling = rolling.max_log_files(file.max_files);
                }
                // Created here first, so that a directory that cannot be
                // created is one clear error (the appender would also
                // print its own line to stderr while pruning old files).
                std::fs::create_dir_all(&file.directory).map_err(|source| {
                    LoggingError::Directory {
                        directory: file.directory.clone(),
                        source,
                    }
                })?;
                let appender =
                    rolling
                        .build(&file.directory)
                        .map_err(|source| LoggingError::File {
                            directory: file.directory.clone(),
                            source,
                        })?;
                let (w, g) = non_blocking(appender);
                (w, g, false)
            }
            (None, None) => {
                let ansi = io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none();
                let (w, g) = non_blocking(io::stdout());
                (w, g, ansi)
            }
        };

        let layer = tracing_subscriber::fmt::layer()
            .with_writer(writer)
            .with_ansi(ansi);
        let layer = match self.config.format {
            LogFormat::Pretty => layer.pretty().with_filter(filter).boxed(),
            LogFormat::Compact => layer.compact().with_filter(filter).boxed(),
            LogFormat::Json => layer
                .fmt_fields(json::SpanFields)
                .event_format(json::JsonLines)
                .with_filter(filter)
                .boxed(),
        };
        #[cfg(feature = "otlp")]
        let layer = match &spans {
            Some(spans) => vec![layer, spans.layer(filter_again)],
            None => vec![layer],
        };
        let subscriber = tracing_subscriber::registry().with(layer);
        Ok((
            Dispatch::new(subscriber),
            LogGuard {
                #[cfg(feature = "otlp")]
                _spans: spans,
                worker: Some(worker),
            },
        ))
    }

    /// Builds and installs the subscriber as the global default (and as the
    /// `log` crate's logger).
    ///
    /// # Errors
    ///
    /// As [`init`].
    pub fn init(self) -> Result<LogGuard, LoggingError> {
        let (dispatch, guard) = self.build()?;
        dispatch
            .try_init()
            .map_err(|_| LoggingError::AlreadyInitialized)?;
        Ok(guard)
    }
}

/// tracing-appender's non-blocking writer on an `alerting-log` thread.
#[cfg(feature = "log-files")]
fn non_blocking(
    sink: impl io::Write + Send + 'static,
) -> (tracing_appender::non_blocking::NonBlocking, WorkerGuard) {
    NonBlockingBuilder::default()
        .thread_name("alerting-log")
        .finish(sink)
}

#[cfg(not(feature = "log-files"))]
use writer::non_blocking;

/// The filter every layer gets: tracing-subscriber's `EnvFilter` with the
/// `env-filter` feature; its `Targets`, which needs no regex crates,
/// without it.
#[cfg(feature = "env-filter")]
type Filter = tracing_subscriber::EnvFilter;
#[cfg(not(feature = "env-filter"))]
type Filter = tracing_subscriber::filter::Targets;

fn filter(config: &LoggingConfig, rust_log: Option<String>) -> Result<Filter, LoggingError> {
    if let Some(value) = rust_log.filter(|v| !v.trim().is_empty()) {
        return parse_filter(&value).map_err(|reason| LoggingError::InvalidFilter {
            origin: "RUST_LOG",
            reason,
            value,
        });
    }
    let mut directives = config.level.as_str().to_owned();
    for (target, level) in &config.targets {
        directives.push(',');
        directives.push_str(target);
        directives.push('=');
        directives.push_str(level.as_str());
    }
    parse_filter(&directives).map_err(|reason| LoggingError::InvalidFilter {
        origin: "logging configuration",
        reason,
        value: directives,
    })
}

#[cfg(feature = "env-filter")]
fn parse_filter(directives: &str) -> Result<Filter, String> {
    tracing_subscriber::EnvFilter::builder()
        .parse(directives)
        .map_err(|e| e.to_string())
}

/// `level` and `target=level` directives, separated by commas. Empty ones
/// are ignored, and no directive at all means `error`, as `EnvFilter`
/// reads them.
#[cfg(not(feature = "env-filter"))]
fn parse_filter(directives: &str) -> Result<Filter, String> {
    let parts: Vec<&str> = directives.split(',').filter(|d| !d.is_empty()).collect();
    // `Targets` would take `a[span]` as a target name matching nothing.
    if let Some(part) = parts.iter().find(|d| d.contains(['[', '{', ']', '}'])) {
        return Err(format!(
            "`{part}` filters on a span or field, which needs alerting-core's \
             `env-filter` feature; without it a directive is `level` or `target=level`"
        ));
    }
    if parts.is_empty() {
        return Ok(Filter::new().with_default(tracing::level_filters::LevelFilter::ERROR));
    }
    parts.join(",").parse::<Filter>().map_err(|e| e.to_string())
}
