//! Logging set-up: JSON lines with span fields, filters with `RUST_LOG`
//! first, text formats, rotated files. Output is captured and parsed.

use std::io::Write;
use std::sync::{Arc, Mutex};

#[cfg(feature = "log-files")]
use alerting_core::config::{LogFileConfig, LogRotation};
use alerting_core::config::{LogFormat, LogLevel, LoggingConfig};
use alerting_core::logging::{LoggingBuilder, LoggingError};
use serde_json::Value;

#[derive(Clone, Default)]
struct Buffer(Arc<Mutex<Vec<u8>>>);

impl Write for Buffer {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn json_config() -> LoggingConfig {
    let mut config = LoggingConfig::default();
    config.format = LogFormat::Json;
    config
}

/// Runs `f` with the subscriber `config` describes and returns the output.
fn capture(config: &LoggingConfig, rust_log: Option<&str>, f: impl FnOnce()) -> String {
    let buffer = Buffer::default();
    let (dispatch, guard) = LoggingBuilder::new(config)
        .writer(buffer.clone())
        .rust_log(rust_log)
        .build()
        .unwrap();
    tracing::dispatcher::with_default(&dispatch, f);
    guard.flush();
    let bytes = buffer.0.lock().unwrap().clone();
    String::from_utf8(bytes).unwrap()
}

fn lines(text: &str) -> Vec<Value> {
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

#[test]
fn json_lines_carry_span_fields_so_they_are_searchable() {
    let text = capture(&json_config(), None, || {
        let batch = tracing::info_span!("batch", batch_id = 7);
        let _batch = batch.enter();
        let swap = tracing::info_span!(
            "handle_swap",
            tx_hash = "0x123",
            token = tracing::field::Empty
        );
        let _swap = swap.enter();
        // Recorded after the span was created, as tokens often are.
        swap.record("token", "0xabc");
        tracing::info!(amount_usd = 1200.5, "fast path: API data complete");
        tracing::warn!(tx_hash = "0x456", "the event's own field wins");
    });
    let lines = lines(&text);
    assert_eq!(lines.len(), 2, "{text}");

    let first = &lines[0];
    assert_eq!(first["message"], "fast path: API data complete");
    assert_eq!(first["level"], "INFO");
    assert_eq!(first["target"], "logging_json");
    assert_eq!(first["tx_hash"], "0x123");
    assert_eq!(first["token"], "0xabc");
    assert_eq!(first["batch_id"], 7);
    assert_eq!(first["amount_usd"], 1200.5);
    assert_eq!(first["span"], "handle_swap");
    assert_eq!(first["spans"], serde_json::json!(["batch", "handle_swap"]));
    assert!(first["timestamp"].as_str().unwrap().ends_with('Z'));
    assert!(first["file"].as_str().unwrap().ends_with("logging_json.rs"));
    assert!(first["line"].as_u64().is_some());

    // Searchable the way the seed does it: select lines by a span field.
    let by_token: Vec<&Value> = lines.iter().filter(|l| l["token"] == "0xabc").collect();
    assert_eq!(by_token.len(), 2);
    assert_eq!(lines[1]["tx_hash"], "0x456");
    assert_eq!(lines[1]["level"], "WARN");
}

#[test]
fn fields_named_like_reserved_keys_are_kept_aside() {
    let text = capture(&json_config(), None, || {
        let span = tracing::info_span!("job", level = "premium", target = "0xdead");
        let _e = span.enter();
        tracing::info!("with odd field names");
    });
    let line = &lines(&text)[0];
    assert_eq!(line["level"], "INFO");
    assert_eq!(line["field.level"], "premium");
    assert_eq!(line["target"], "logging_json");
    assert_eq!(line["field.target"], "0xdead");
}

#[test]
fn level_and_per_target_filters_apply() {
    let mut config = json_config();
    config.level = LogLevel::Warn;
    config.targets.insert("chatty".to_owned(), LogLevel::Debug);
    config.targets.insert("noisy".to_owned(), LogLevel::Off);
    let text = capture(&config, None, || {
        tracing::info!("dropped: below warn");
        tracing::warn!("kept");
        tracing::debug!(target: "chatty", "kept: chatty is at debug");
        tracing::trace!(target: "chatty", "dropped: below debug");
        tracing::error!(target: "noisy", "dropped: noisy is off");
    });
    let messages: Vec<String> = lines(&text)
        .iter()
        .map(|l| l["message"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(messages, ["kept", "kept: chatty is at debug"]);
}

#[test]
fn rust_log_takes_precedence_over_the_configuration() {
    let mut config = json_config();
    config.level = LogLevel::Error;
    config.targets.insert("noisy".to_owned(), LogLevel::Off);
    let text = capture(&config, Some("debug,noisy=info"), || {
        tracing::debug!("kept: RUST_LOG says debug");
        tracing::info!(target: "noisy", "kept: RUST_LOG says info for noisy");
        tracing::trace!("dropped");
    });
    assert_eq!(lines(&text).len(), 2, "{text}");

    // An empty RUST_LOG is no RUST_LOG.
    let text = capture(&config, Some(""), || {
        tracing::warn!("dropped: the file says error")
    });
    assert_eq!(text, "");
}

#[test]
fn an_invalid_rust_log_is_an_error_naming_it() {
    let err = LoggingBuilder::new(&json_config())
        .rust_log(Some("info,my_crate=loud"))
        .build()
        .unwrap_err();
    match &err {
        LoggingError::InvalidFilter { origin, value, .. } => {
            assert_eq!(*origin, "RUST_LOG");
            assert_eq!(value, "info,my_crate=loud");
        }
        other => panic!("expected an invalid filter, got {other:?}"),
    }
    assert!(
        err.to_string()
            .starts_with("invalid log filter in RUST_LOG: `info,my_crate=loud`"),
        "{err}"
    );
}

#[test]
fn empty_directives_are_ignored_as_env_filter_does() {
    let text = capture(&json_config(), Some("debug,,noisy=warn,"), || {
        tracing::debug!("kept");
        tracing::info!(target: "noisy::inner", "dropped: noisy is at warn");
        tracing::warn!(target: "noisy::inner", "kept: warn");
    });
    let messages: Vec<String> = lines(&text)
        .iter()
        .map(|l| l["message"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(messages, ["kept", "kept: warn"]);
}

/// Without the `env-filter` feature a span or field filter would be read
/// as a target that matches nothing: it is an error naming the feature.
#[cfg(not(feature = "env-filter"))]
#[test]
fn a_span_filter_without_the_env_filter_feature_is_an_error_naming_it() {
    for value in ["info,my_crate[handle_swap]=debug", "[{token}]=trace"] {
        let err = LoggingBuilder::new(&json_config())
            .rust_log(Some(value))
            .build()
            .unwrap_err();
        let LoggingError::InvalidFilter {
            origin,
            value: got,
            reason,
        } = &err
        else {
            panic!("expected an invalid filter, got {err:?}");
        };
        assert_eq!(*origin, "RUST_LOG");
        assert_eq!(got, value);
        assert!(reason.contains("`env-filter` feature"), "{reason}");
    }
}

/// With it, `RUST_LOG` has `EnvFilter`'s whole syntax.
#[cfg(feature = "env-filter")]
#[test]
fn with_the_env_filter_feature_rust_log_filters_on_spans() {
    let text = capture(&json_config(), Some("warn,[handle_swap]=debug"), || {
        tracing::debug!("dropped: outside the span");
        let span = tracing::info_span!("handle_swap", tx_hash = "0x123");
        let _e = span.enter();
        tracing::debug!("kept: inside handle_swap");
    });
    let messages: Vec<String> = lines(&text)
        .iter()
        .map(|l| l["message"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(messages, ["kept: inside handle_swap"]);
}

#[test]
fn compact_and_pretty_write_text_with_span_fields() {
    let mut config = LoggingConfig::default();
    for format in [LogFormat::Compact, LogFormat::Pretty] {
        config.format = format;
        let text = capture(&config, None, || {
            let span = tracing::info_span!("handle_swap", tx_hash = "0x123");
            let _e = span.enter();
            tracing::info!(token = "0xabc", "fast path");
        });
        assert!(text.contains("fast path"), "{format:?}: {text}");
        assert!(text.contains("0x123"), "{format:?}: {text}");
        assert!(text.contains("0xabc"), "{format:?}: {text}");
        assert!(!text.contains('\u{1b}'), "no colours when not a terminal");
        assert!(serde_json::from_str::<Value>(text.lines().next().unwrap()).is_err());
    }
}

#[cfg(feature = "log-files")]
#[test]
fn logs_go_to_a_file_in_the_configured_directory() {
    let dir = std::env::temp_dir().join(format!("alerting-logs-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let mut config = json_config();
    let mut file = LogFileConfig::default();
    file.directory = dir.join("nested"); // created on demand
    file.prefix = "monitor.log".to_owned();
    file.rotation = LogRotation::Never;
    config.file = Some(file.clone());

    let (dispatch, guard) = LoggingBuilder::new(&config).rust_log(None).build().unwrap();
    tracing::dispatcher::with_default(&dispatch, || {
        tracing::info!(batch_id = 3, "to the file");
    });
    guard.flush();
    let text = std::fs::read_to_string(dir.join("nested").join("monitor.log")).unwrap();
    let line = &lines(&text)[0];
    assert_eq!(line["message"], "to the file");
    assert_eq!(line["batch_id"], 3);

    // Daily rotation dates the file name.
    file.rotation = LogRotation::Daily;
    config.file = Some(file);
    let (dispatch, guard) = LoggingBuilder::new(&config).rust_log(None).build().unwrap();
    tracing::dispatcher::with_default(&dispatch, || tracing::info!("dated"));
    guard.flush();
    let dated = std::fs::read_dir(dir.join("nested"))
        .unwrap()
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("monitor.log."))
        .count();
    assert_eq!(dated, 1);
    let _ = std::fs::remove_dir_all(&dir);
}
