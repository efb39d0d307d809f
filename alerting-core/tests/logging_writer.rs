//! The background log writer: every line reaches the sink, in order, on
//! the `alerting-log` thread, and the guard flushes when dropped. Without
//! the `log-files` feature it is alerting-core's own std writer, with it
//! tracing-appender's; both must behave the same. Without the feature,
//! `[logging.file]` is refused with a message that says what to turn on.

use std::io::Write;
use std::sync::{Arc, Mutex};

use alerting_core::config::{LogFormat, LoggingConfig};
use alerting_core::logging::LoggingBuilder;

/// Records what it is given and which threads wrote it.
#[derive(Clone, Default)]
struct Sink {
    bytes: Arc<Mutex<Vec<u8>>>,
    threads: Arc<Mutex<Vec<Option<String>>>>,
}

impl Write for Sink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let name = std::thread::current().name().map(str::to_owned);
        let mut threads = self.threads.lock().unwrap();
        if !threads.contains(&name) {
            threads.push(name);
        }
        self.bytes.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn every_line_reaches_the_sink_in_order_and_dropping_the_guard_flushes() {
    let mut config = LoggingConfig::default();
    config.format = LogFormat::Compact;
    let sink = Sink::default();
    let (dispatch, guard) = LoggingBuilder::new(&config)
        .writer(sink.clone())
        .rust_log(None)
        .build()
        .unwrap();
    // Well under the 128,000 lines buffered, so none may be dropped.
    const LINES: usize = 20_000;
    tracing::dispatcher::with_default(&dispatch, || {
        for i in 0..LINES {
            tracing::info!("line {i} end");
        }
    });
    // Dropped, not `flush`ed: the drop must write what is queued.
    drop(guard);

    let text = String::from_utf8(sink.bytes.lock().unwrap().clone()).unwrap();
    let numbers: Vec<usize> = text
        .lines()
        .map(|line| {
            let (_, rest) = line.split_once("line ").expect(line);
            rest.strip_suffix(" end").expect(line).parse().unwrap()
        })
        .collect();
    assert_eq!(numbers.len(), LINES);
    assert!(
        numbers.iter().enumerate().all(|(i, n)| i == *n),
        "out of order"
    );
    assert_eq!(
        *sink.threads.lock().unwrap(),
        vec![Some("alerting-log".to_owned())]
    );

    // After the guard: lost, without a panic or an error.
    tracing::dispatcher::with_default(&dispatch, || tracing::info!("late"));
    assert!(!String::from_utf8_lossy(&sink.bytes.lock().unwrap()).contains("late"));
}

#[test]
fn flush_writes_what_is_queued_and_the_guard_says_what_it_is() {
    let sink = Sink::default();
    let (dispatch, guard) = LoggingBuilder::new(&LoggingConfig::default())
        .writer(sink.clone())
        .rust_log(None)
        .build()
        .unwrap();
    assert_eq!(format!("{guard:?}"), "LogGuard { active: true }");
    tracing::dispatcher::with_default(&dispatch, || tracing::warn!("one line"));
    guard.flush();
    assert!(String::from_utf8_lossy(&sink.bytes.lock().unwrap()).contains("one line"));
}

#[cfg(not(feature = "log-files"))]
mod without_log_files {
    use alerting_core::config::{ConfigError, ConfigLoader, LogFileConfig, LoggingConfig};
    use alerting_core::logging::{LoggingBuilder, LoggingError};

    #[test]
    fn a_logging_file_table_is_a_config_error_naming_the_feature() {
        let err = ConfigLoader::new()
            .toml("[logging.file]\ndirectory = \"/var/log/app\"\n")
            .no_env()
            .load()
            .unwrap_err();
        let printed = err.to_string();
        let ConfigError::Invalid { key, expected, .. } = err else {
            panic!("not Invalid: {printed}");
        };
        assert_eq!(key, "logging.file");
        assert!(expected.contains("`log-files` feature"), "{printed}");

        // From the environment too.
        let err = ConfigLoader::new()
            .env_vars([("ALERTING_LOGGING__FILE__DIRECTORY", "/tmp/logs")])
            .load()
            .unwrap_err();
        assert!(
            matches!(&err, ConfigError::Invalid { key, .. } if key == "logging.file"),
            "{err}"
        );
        assert!(err.to_string().contains("log-files"), "{err}");
    }

    #[test]
    fn a_file_in_code_is_refused_by_the_builder() {
        let mut config = LoggingConfig::default();
        let mut file = LogFileConfig::default();
        file.directory = "/var/log/app".into();
        config.file = Some(file);
        let Err(err) = LoggingBuilder::new(&config).rust_log(None).build() else {
            panic!("files without the log-files feature");
        };
        assert!(matches!(err, LoggingError::FilesNotEnabled { .. }), "{err}");
        let printed = err.to_string();
        assert!(printed.contains("`logging.file.directory`"), "{printed}");
        assert!(printed.contains("`log-files` feature"), "{printed}");
    }
}
