//! `MonitoringConfig`: defaults, TOML, environment overrides, and errors
//! that name the key, the value and what was expected.

mod common;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use alerting_core::config::{
    ConfigError, ConfigLoader, LogFormat, LogLevel, LogRotation, MonitoringConfig, Origin,
};
use alerting_core::metrics::{Counter, Format};
use common::{TempDir, invalid};

fn load(toml: &str, env: &[(&str, &str)]) -> Result<MonitoringConfig, ConfigError> {
    ConfigLoader::new()
        .toml(toml)
        .env_vars(env.iter().copied())
        .load()
}

/// `text` in a file `name` of a fresh temporary directory (removed when
/// the returned guard drops).
fn temp_file(name: &str, text: &str) -> (TempDir, PathBuf) {
    let dir = TempDir::new("config-load");
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    (dir, path)
}

#[test]
fn defaults_work_out_of_the_box() {
    let config = load("", &[]).unwrap();
    assert_eq!(config, MonitoringConfig::default());
    assert_eq!(config.metrics.listen_addr.to_string(), "127.0.0.1:9000");
    assert_eq!(config.metrics.path, "/metrics");
    assert_eq!(config.metrics.namespace, None);
    assert_eq!(config.health.interval, Duration::from_secs(10));
    assert_eq!(config.health.timeout, Duration::from_secs(2));
    assert_eq!(config.shutdown.deadline, Duration::from_secs(30));
    assert_eq!(config.shutdown.closer_timeout, Duration::from_secs(5));
    assert_eq!(config.shutdown.readiness_delay, Duration::ZERO);
    assert_eq!(config.logging.format, LogFormat::Compact);
    assert_eq!(config.logging.level, LogLevel::Info);
    assert_eq!(config.logging.file, None);
}

#[test]
fn a_full_file_is_read() {
    let (_dir, path) = temp_file(
        "full.toml",
        r#"
[metrics]
listen_addr = "127.0.0.1:9464"
path = "/internal/metrics"
namespace = "bsc"
const_labels = { service = "bsc-monitor", env = "prod" }

[health]
interval_secs = 30
timeout_secs = 0.5

[shutdown]
deadline_secs = 20
closer_timeout_secs = 3
readiness_delay_secs = 1.5

[logging]
format = "json"
level = "debug"
targets = { hyper = "warn" }

[logging.file]
directory = "/var/log/bsc"
prefix = "bsc.log"
rotation = "hourly"
max_files = 24
"#,
    );
    let config = ConfigLoader::new().file(&path).no_env().load().unwrap();
    assert_eq!(config.metrics.listen_addr.to_string(), "127.0.0.1:9464");
    assert_eq!(config.metrics.path, "/internal/metrics");
    assert_eq!(config.metrics.namespace.as_deref(), Some("bsc"));
    assert_eq!(config.metrics.const_labels["env"], "prod");
    assert_eq!(config.health.interval, Duration::from_secs(30));
    assert_eq!(config.health.timeout, Duration::from_millis(500));
    assert_eq!(config.shutdown.deadline, Duration::from_secs(20));
    assert_eq!(config.shutdown.closer_timeout, Duration::from_secs(3));
    assert_eq!(config.shutdown.readiness_delay, Duration::from_millis(1500));
    assert_eq!(config.logging.format, LogFormat::Json);
    assert_eq!(config.logging.level, LogLevel::Debug);
    assert_eq!(config.logging.targets["hyper"], LogLevel::Warn);
    let file = config.logging.file.as_ref().unwrap();
    assert_eq!(file.directory, PathBuf::from("/var/log/bsc"));
    assert_eq!(file.rotation, LogRotation::Hourly);
    assert_eq!(file.max_files, 24);

    // `load` reads the same file (and the process environment, which has no
    // `ALERTING_` variables in this test run).
    if std::env::vars().all(|(k, _)| !k.starts_with("ALERTING_")) {
        assert_eq!(MonitoringConfig::load(&path).unwrap(), config);
    }

    // What serializes reads back the same.
    let text = toml::to_string(&config).unwrap();
    assert_eq!(MonitoringConfig::from_toml_str(&text).unwrap(), config);
}

#[test]
fn environment_overrides_the_file() {
    let config = load(
        "[shutdown]\ndeadline_secs = 30\n[metrics]\nconst_labels = { service = \"a\" }\n",
        &[
            ("ALERTING_SHUTDOWN__DEADLINE_SECS", "10"),
            ("ALERTING_HEALTH__TIMEOUT_SECS", "0.25"),
            ("ALERTING_LOGGING__FORMAT", "json"),
            ("ALERTING_LOGGING__TARGETS__HYPER", "warn"),
            ("ALERTING_METRICS__NAMESPACE", "sol"),
            ("ALERTING_METRICS__CONST_LABELS__VERSION", "1.0"),
            ("ALERTING_METRICS__LISTEN_ADDR", "127.0.0.1:9100"),
            ("ALERTING_LOGGING__FILE__DIRECTORY", "/tmp/logs"),
            // Not ours: no such section.
            ("ALERTING_TELEGRAM_TOKEN", "123:abc"),
            // Not the prefix.
            ("OTHER_SHUTDOWN__DEADLINE_SECS", "x"),
        ],
    )
    .unwrap();
    assert_eq!(config.shutdown.deadline, Duration::from_secs(10));
    assert_eq!(config.health.timeout, Duration::from_millis(250));
    assert_eq!(config.logging.format, LogFormat::Json);
    assert_eq!(config.logging.targets["hyper"], LogLevel::Warn);
    assert_eq!(config.metrics.namespace.as_deref(), Some("sol"));
    // A number-looking value is a string where the key takes strings.
    assert_eq!(
        config.metrics.const_labels,
        BTreeMap::from([
            ("service".to_owned(), "a".to_owned()),
            ("version".to_owned(), "1.0".to_owned()),
        ])
    );
    assert_eq!(config.metrics.listen_addr.to_string(), "127.0.0.1:9100");
    let file = config.logging.file.unwrap();
    assert_eq!(file.directory, PathBuf::from("/tmp/logs"));
    assert_eq!(file.prefix, "app.log"); // the rest of the table defaults
}

#[test]
fn a_custom_prefix_is_honoured() {
    let config = ConfigLoader::new()
        .env_prefix("BSC")
        .env_vars([
            ("BSC_SHUTDOWN__DEADLINE_SECS", "7"),
            ("ALERTING_SHUTDOWN__DEADLINE_SECS", "9"),
        ])
        .load()
        .unwrap();
    assert_eq!(config.shutdown.deadline, Duration::from_secs(7));
}

#[test]
fn a_bad_value_from_the_environment_names_key_value_and_variable() {
    let err = load("", &[("ALERTING_SHUTDOWN__DEADLINE_SECS", "abc")]).unwrap_err();
    assert_eq!(
        err.to_string(),
        "invalid value for `shutdown.deadline_secs` from environment variable \
         `ALERTING_SHUTDOWN__DEADLINE_SECS`: got \"abc\", expected a number of seconds, \
         zero or more (such as 30 or 0.5)"
    );
    assert_eq!(err.key(), Some("shutdown.deadline_secs"));
}

#[test]
fn a_negative_duration_in_the_file_is_refused() {
    let (key, value, expected, origin) =
        invalid(load("[shutdown]\ndeadline_secs = -5\n", &[]).unwrap_err());
    assert_eq!(key, "shutdown.deadline_secs");
    assert_eq!(value, "-5");
    assert!(expected.contains("number of seconds"), "{expected}");
    assert_eq!(origin, Origin::Inline);
}

#[test]
fn a_zero_interval_is_refused() {
    let (key, value, expected, _) =
        invalid(load("[health]\ninterval_secs = 0\n", &[]).unwrap_err());
    assert_eq!(key, "health.interval_secs");
    assert_eq!(value, "0");
    assert!(
        expected.starts_with("a positive number of seconds"),
        "{expected}"
    );
}

#[test]
fn an_unknown_format_lists_the_choices() {
    let (key, value, expected, origin) =
        invalid(load("", &[("ALERTING_LOGGING__FORMAT", "xml")]).unwrap_err());
    assert_eq!(key, "logging.format");
    assert_eq!(value, "\"xml\"");
    assert_eq!(expected, "one of `pretty`, `compact`, `json`");
    assert_eq!(origin, Origin::Env("ALERTING_LOGGING__FORMAT".to_owned()));
}

#[test]
fn a_bad_level_in_a_nested_table_is_named_precisely() {
    let (key, value, expected, _) =
        invalid(load("[logging.targets]\nhyper = \"loud\"\n", &[]).unwrap_err());
    assert_eq!(key, "logging.targets.hyper");
    assert_eq!(value, "\"loud\"");
    assert!(expected.contains("`warn`"), "{expected}");
}

#[test]
fn a_bad_socket_address_is_refused() {
    let (key, value, expected, _) =
        invalid(load("[metrics]\nlisten_addr = \"localhost\"\n", &[]).unwrap_err());
    assert_eq!(key, "metrics.listen_addr");
    assert_eq!(value, "\"localhost\"");
    assert!(!expected.is_empty());
}

#[test]
fn a_wrong_type_is_refused() {
    let (key, value, expected, _) =
        invalid(load("[logging.file]\nmax_files = \"ten\"\n", &[]).unwrap_err());
    assert_eq!(key, "logging.file.max_files");
    assert_eq!(value, "\"ten\"");
    assert_eq!(expected, "usize");
}

#[test]
fn names_the_registry_would_refuse_are_refused_at_load() {
    let (key, value, expected, _) =
        invalid(load("[metrics]\nnamespace = \"Bsc-Monitor\"\n", &[]).unwrap_err());
    assert_eq!(key, "metrics.namespace");
    assert_eq!(value, "\"Bsc-Monitor\"");
    assert!(expected.contains("snake_case"), "{expected}");

    // `____` leaves an empty part: not a key at all.
    let err = load("", &[("ALERTING_METRICS__CONST_LABELS____NAME__", "x")]).unwrap_err();
    assert!(matches!(err, ConfigError::UnknownKey { .. }), "{err:?}");

    let (key, value, _, _) =
        invalid(load("[metrics.const_labels]\n\"__name__\" = \"x\"\n", &[]).unwrap_err());
    assert_eq!(key, "metrics.const_labels.__name__");
    assert_eq!(value, "\"__name__\"");

    let (key, value, _, _) = invalid(load("[metrics]\npath = \"metrics\"\n", &[]).unwrap_err());
    assert_eq!(key, "metrics.path");
    assert_eq!(value, "\"metrics\"");
}

#[test]
fn an_unknown_key_is_an_error_naming_it() {
    let err = load("[shutdown]\ndeadline = 10\n", &[]).unwrap_err();
    match &err {
        ConfigError::UnknownKey {
            key,
            origin,
            expected,
        } => {
            assert_eq!(key, "shutdown.deadline");
            assert_eq!(*origin, Origin::Inline);
            assert!(expected.contains("`deadline_secs`"), "{expected}");
        }
        other => panic!("expected an unknown key, got {other:?}"),
    }

    let err = load("", &[("ALERTING_SHUTDOWN__DEADLINE", "10")]).unwrap_err();
    assert!(matches!(err, ConfigError::UnknownKey { .. }), "{err:?}");
    assert!(
        err.to_string()
            .contains("environment variable `ALERTING_SHUTDOWN__DEADLINE`"),
        "{err}"
    );
}

#[test]
fn a_syntax_error_names_the_file_line_and_column() {
    let (_dir, path) = temp_file("broken.toml", "[shutdown]\ndeadline_secs = = 3\n");
    let err = ConfigLoader::new().file(&path).no_env().load().unwrap_err();
    match &err {
        ConfigError::Parse {
            origin,
            line,
            column,
            ..
        } => {
            assert_eq!(*origin, Origin::File(path.clone()));
            assert_eq!(*line, 2);
            assert!(*column > 1);
        }
        other => panic!("expected a parse error, got {other:?}"),
    }
    assert!(err.to_string().starts_with("invalid TOML in file"), "{err}");
}

#[test]
fn a_missing_file_is_an_error_naming_it() {
    let err = MonitoringConfig::load("/nonexistent/alerting.toml").unwrap_err();
    assert_eq!(
        err.to_string(),
        "cannot read config file `/nonexistent/alerting.toml`"
    );
}

#[test]
fn the_registry_is_built_from_the_config() {
    let config = load(
        "[metrics]\nnamespace = \"bsc\"\nconst_labels = { service = \"bsc-monitor\" }\n",
        &[],
    )
    .unwrap();
    let registry = config.metrics.registry().unwrap();
    let c: Counter = registry.register("ws_messages_total", "Messages").unwrap();
    c.inc();
    let text = registry.encode_to_string(Format::Prometheus).unwrap();
    assert!(
        text.contains(r#"bsc_ws_messages_total{service="bsc-monitor"} 1"#),
        "{text}"
    );
}

#[test]
fn a_bearer_token_is_read_checked_and_never_printed() {
    let config = load(
        "",
        &[
            ("ALERTING_METRICS__BEARER_TOKEN", "s3cret-T0ken"),
            ("ALERTING_METRICS__PUBLIC", "true"),
        ],
    )
    .unwrap();
    assert_eq!(config.metrics.bearer_token.as_deref(), Some("s3cret-T0ken"));
    assert!(config.metrics.public);
    let debug = format!("{config:?}");
    assert!(!debug.contains("s3cret"), "{debug}");
    assert!(
        debug.contains("bearer_token: Some(\"(hidden)\")"),
        "{debug}"
    );

    for bad in ["", "two words", "tab\there"] {
        let err = load("", &[("ALERTING_METRICS__BEARER_TOKEN", bad)]).unwrap_err();
        assert_eq!(err.key(), Some("metrics.bearer_token"), "{err}");
        let text = err.to_string();
        assert!(
            text.contains("(hidden)") && (bad.is_empty() || !text.contains(bad)),
            "{text}"
        );
    }
}
