//! The limits of the configuration: durations at most `MAX_DURATION`,
//! sizes that cannot abort the process, non-empty constant labels, and
//! errors that keep their cause and name the key, the value and where it
//! was set.

mod common;

use std::error::Error as _;
use std::time::{Duration, Instant};

use alerting_core::MainError;
use alerting_core::config::{
    ConfigError, ConfigLoader, LogFileConfig, LoggingConfig, MAX_DURATION, MonitoringConfig,
    Origin, ServiceConfig,
};
use alerting_core::logging::LoggingBuilder;
use common::{TempDir, invalid};
use serde::Deserialize;

/// Every duration key of the library's sections.
const DURATION_KEYS: [(&str, &str); 5] = [
    ("health", "interval_secs"),
    ("health", "timeout_secs"),
    ("shutdown", "deadline_secs"),
    ("shutdown", "closer_timeout_secs"),
    ("shutdown", "readiness_delay_secs"),
];

fn load(toml: &str, env: &[(&str, &str)]) -> Result<MonitoringConfig, ConfigError> {
    ConfigLoader::new()
        .toml(toml)
        .env_vars(env.iter().copied())
        .load()
}

#[test]
fn the_maximum_duration_fits_an_instant() {
    assert_eq!(MAX_DURATION, Duration::from_secs(100 * 365 * 86_400));
    assert!(Instant::now().checked_add(MAX_DURATION).is_some());
}

#[test]
fn a_huge_library_duration_in_the_file_names_key_value_and_origin() {
    for (section, key) in DURATION_KEYS {
        for value in ["1e300", "3153600001", "3153600000.5", "inf"] {
            let err = load(&format!("[{section}]\n{key} = {value}\n"), &[]).unwrap_err();
            let text = err.to_string();
            let (k, v, expected, origin) = invalid(err);
            assert_eq!(k, format!("{section}.{key}"), "{text}");
            assert!(!v.is_empty(), "{text}");
            assert!(expected.contains("number of seconds"), "{text}");
            assert_eq!(origin, Origin::Inline, "{text}");
        }
    }
    let err = load("[shutdown]\ndeadline_secs = 1e300\n", &[]).unwrap_err();
    assert_eq!(
        err.to_string(),
        "invalid value for `shutdown.deadline_secs` in inline TOML: got 1e300, expected \
         a number of seconds of at most 3153600000 (100 years)"
    );
}

#[test]
fn a_huge_library_duration_from_a_variable_names_it() {
    for (section, key) in DURATION_KEYS {
        let var = format!(
            "ALERTING_{}__{}",
            section.to_uppercase(),
            key.to_uppercase()
        );
        let err = load("", &[(var.as_str(), "1e300")]).unwrap_err();
        let text = err.to_string();
        let (k, _, expected, origin) = invalid(err);
        assert_eq!(k, format!("{section}.{key}"), "{text}");
        assert!(expected.contains("100 years"), "{text}");
        assert_eq!(origin, Origin::Env(var), "{text}");
    }
}

#[test]
fn the_maximum_itself_is_accepted() {
    let config = load(
        "[shutdown]\ndeadline_secs = 3153600000\n[health]\ninterval_secs = 3153600000.0\n",
        &[],
    )
    .unwrap();
    assert_eq!(config.shutdown.deadline, MAX_DURATION);
    assert_eq!(config.health.interval, MAX_DURATION);
}

#[test]
fn an_empty_const_label_value_is_refused_naming_the_key() {
    let err = load("[metrics.const_labels]\nservice = \"\"\n", &[]).unwrap_err();
    let text = err.to_string();
    let (key, value, expected, origin) = invalid(err);
    assert_eq!(key, "metrics.const_labels.service", "{text}");
    assert_eq!(value, "\"\"");
    assert!(expected.contains("non-empty"), "{text}");
    assert_eq!(origin, Origin::Inline);

    let var = "ALERTING_METRICS__CONST_LABELS__SERVICE";
    let (key, _, _, origin) = invalid(load("", &[(var, "")]).unwrap_err());
    assert_eq!(key, "metrics.const_labels.service");
    assert_eq!(origin, Origin::Env(var.to_owned()));

    // Over a service's default too.
    let err = ConfigLoader::new()
        .defaults("[metrics.const_labels]\nservice = \"svc\"\n")
        .env_prefix("SVC")
        .env_vars([("SVC_METRICS__CONST_LABELS__SERVICE", "")])
        .load_service::<toml::Table>()
        .unwrap_err();
    assert_eq!(err.key(), Some("metrics.const_labels.service"), "{err}");
}

#[test]
fn an_unreadable_file_keeps_the_os_cause() {
    let tmp = TempDir::new("missing");
    let missing = tmp.join("nope.toml");
    let err = MonitoringConfig::load(&missing).unwrap_err();
    let cause = err
        .source()
        .and_then(|s| s.downcast_ref::<std::io::Error>())
        .expect("the I/O error is the source");
    assert_eq!(cause.kind(), std::io::ErrorKind::NotFound);
    // `main` prints it.
    let printed = MainError::from(err).to_string();
    assert!(
        printed.starts_with("cannot read config file `"),
        "{printed}"
    );
    assert!(printed.contains("os error"), "{printed}");

    // A directory is not a file, with or without `file_if_exists`.
    let tmp = TempDir::new("a-directory");
    let dir = tmp.path();
    for loader in [
        ConfigLoader::new().file(dir),
        ConfigLoader::new().file_if_exists(dir),
    ] {
        let err = loader.no_env().load().unwrap_err();
        assert!(matches!(err, ConfigError::Read { .. }), "{err:?}");
        assert!(err.source().is_some(), "{err:?}");
    }
}

#[test]
fn no_file_is_a_valid_configuration_with_file_if_exists() {
    let tmp = TempDir::new("optional");
    let missing = tmp.join("absent.toml");
    let config = ConfigLoader::new()
        .file_if_exists(&missing)
        .env_vars([("ALERTING_SHUTDOWN__DEADLINE_SECS", "3")])
        .load()
        .unwrap();
    assert_eq!(config.shutdown.deadline, Duration::from_secs(3));
    assert_eq!(config.health, MonitoringConfig::default().health);

    let present = tmp.join("present.toml");
    std::fs::write(&present, "[health]\ninterval_secs = 0\n").unwrap();
    let err = ConfigLoader::new()
        .file_if_exists(&present)
        .no_env()
        .load()
        .unwrap_err();
    let (key, _, _, origin) = invalid(err);
    assert_eq!(key, "health.interval_secs");
    assert_eq!(origin, Origin::File(present));
}

#[test]
fn a_port_out_of_range_says_what_an_address_is() {
    let var = "ALERTING_METRICS__LISTEN_ADDR";
    let err = load("", &[(var, "127.0.0.1:70000")]).unwrap_err();
    let text = err.to_string();
    let (key, value, expected, origin) = invalid(err);
    assert_eq!(key, "metrics.listen_addr");
    assert_eq!(value, "\"127.0.0.1:70000\"");
    assert!(
        expected.starts_with("an address such as 127.0.0.1:9000"),
        "{text}"
    );
    assert!(expected.contains("at most 65535"), "{text}");
    assert!(
        !expected.contains("invalid socket address syntax"),
        "{text}"
    );
    assert_eq!(origin, Origin::Env(var.to_owned()));

    let (key, ..) =
        invalid(load("[metrics]\nlisten_addr = \"localhost:9000\"\n", &[]).unwrap_err());
    assert_eq!(key, "metrics.listen_addr");
    // Good ones still load.
    let config = load("", &[(var, "[::1]:0")]).unwrap();
    assert_eq!(config.metrics.listen_addr.port(), 0);
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct App {
    node: Node,
    cooldown: Cooldown,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct Node {
    timeout_secs: f64,
    pairs: u64,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct Cooldown {
    minutes: f64,
}

fn service(toml: &str, env: &[(&str, &str)]) -> Result<ServiceConfig<App>, ConfigError> {
    ConfigLoader::new()
        .toml(toml)
        .env_prefix("SVC")
        .env_vars(env.iter().copied())
        .load_service::<App>()
}

#[test]
fn a_misspelt_section_lists_the_librarys_sections_too() {
    for err in [
        service("[metrcs]\nlisten_addr = \"127.0.0.1:1\"\n", &[]).unwrap_err(),
        service("", &[("SVC_METRCS__LISTEN_ADDR", "127.0.0.1:1")]).unwrap_err(),
    ] {
        let text = err.to_string();
        assert!(matches!(err, ConfigError::UnknownKey { .. }), "{err:?}");
        assert!(err.key().unwrap().starts_with("metrcs"), "{text}");
        for section in [
            "`node`",
            "`cooldown`",
            "`metrics`",
            "`health`",
            "`shutdown`",
            "`logging`",
        ] {
            assert!(text.contains(section), "{section} missing: {text}");
        }
    }
    // A misspelt key inside a section lists that section's keys only.
    let text = service("[node]\ntimeout = 1\n", &[])
        .unwrap_err()
        .to_string();
    assert!(!text.contains("`metrics`"), "{text}");
}

#[test]
fn service_durations_are_checked_like_the_librarys() {
    let c = service("[node]\ntimeout_secs = 1e300\n", &[]).unwrap();
    let err = c
        .positive_duration_secs("node.timeout_secs", c.app.node.timeout_secs)
        .unwrap_err();
    let text = err.to_string();
    let (key, value, expected, origin) = invalid(err);
    assert_eq!(key, "node.timeout_secs");
    assert_eq!(value, "1e300");
    assert!(expected.contains("100 years"), "{text}");
    assert_eq!(origin, Origin::Inline);

    for bad in [-1.0, f64::NAN, f64::INFINITY, 1e300, 0.0] {
        assert!(c.positive_duration_secs("node.timeout_secs", bad).is_err());
    }
    for bad in [-1.0, f64::NAN, f64::INFINITY, 1e300] {
        assert!(c.duration_secs("node.timeout_secs", bad).is_err());
    }
    assert_eq!(c.duration_secs("x", 0.0).unwrap(), Duration::ZERO);
    assert_eq!(
        c.positive_duration_secs("x", 0.25).unwrap(),
        Duration::from_millis(250)
    );
    assert_eq!(
        c.duration_secs("x", MAX_DURATION.as_secs_f64()).unwrap(),
        MAX_DURATION
    );
}

#[test]
fn a_service_duration_within_its_own_range_names_its_unit() {
    let var = "SVC_COOLDOWN__MINUTES";
    let c = service("", &[(var, "1e300")]).unwrap();
    let week = Duration::from_secs(7 * 86_400);
    let minute = Duration::from_secs(60);
    let err = c
        .duration_within(
            "cooldown.minutes",
            c.app.cooldown.minutes,
            minute,
            Duration::ZERO..=week,
        )
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "invalid value for `cooldown.minutes` from environment variable \
         `SVC_COOLDOWN__MINUTES`: got 1e300, expected a number of minutes from 0 to 10080"
    );
    assert_eq!(
        c.duration_within("cooldown.minutes", 3.0, minute, Duration::ZERO..=week)
            .unwrap(),
        Duration::from_secs(180)
    );
    // Milliseconds, and a positive start.
    let ms = Duration::from_millis(1);
    let range = ms..=Duration::from_secs(60);
    let err = c
        .duration_within("sim.latency_ms", 0.0, ms, range.clone())
        .unwrap_err();
    assert!(
        err.to_string()
            .ends_with("expected a number of milliseconds from 1 to 60000"),
        "{err}"
    );
    assert!(c.duration_within("x", f64::NAN, ms, range.clone()).is_err());
    assert!(c.duration_within("x", -1.0, ms, range.clone()).is_err());
    // The end is capped at MAX_DURATION whatever the caller asks.
    assert!(
        c.duration_within(
            "x",
            1e300,
            Duration::from_secs(1),
            Duration::ZERO..=Duration::MAX
        )
        .is_err()
    );
}

#[test]
fn a_size_that_would_abort_names_key_value_and_origin() {
    let c = service("[node]\npairs = 4000000000\n", &[]).unwrap();
    let err = c.size("node.pairs", c.app.node.pairs, 100_000).unwrap_err();
    assert_eq!(
        err.to_string(),
        "invalid value for `node.pairs` in inline TOML: got 4000000000, expected a size \
         from 1 to 100000"
    );
    assert!(c.size("node.pairs", 0u64, 10).is_err());
    assert!(c.size("node.pairs", -3i64, 10).is_err());
    assert_eq!(c.size("node.pairs", 10u32, 10).unwrap(), 10);
}

#[test]
fn a_log_directory_that_cannot_be_created_names_its_key() {
    // A directory inside a regular file cannot be created, even by root.
    let tmp = TempDir::new("logs");
    let file = tmp.join("a-file");
    std::fs::write(&file, "").unwrap();
    let mut log_file = LogFileConfig::default();
    log_file.directory = file.join("logs");
    let mut config = LoggingConfig::default();
    config.file = Some(log_file);
    let Err(err) = LoggingBuilder::new(&config).rust_log(None).build() else {
        panic!("a log directory inside a file was created");
    };
    let printed = MainError::from(err).to_string();
    assert!(printed.contains("`logging.file.directory`"), "{printed}");
    assert!(printed.contains("a-file"), "{printed}");
}

#[test]
fn an_otlp_table_is_checked_and_names_its_key() {
    let good = "[logging.otlp]\nendpoint = \"http://127.0.0.1:4318/v1/traces\"\n";
    let loaded = load(good, &[]);
    if cfg!(feature = "otlp") {
        let config = loaded.expect("accepted with the `otlp` feature");
        assert_eq!(
            config.logging.otlp.unwrap().timeout,
            Duration::from_secs(10)
        );
    } else {
        let (key, _, expected, _) = invalid(loaded.expect_err("refused without the feature"));
        assert_eq!(key, "logging.otlp");
        assert!(expected.contains("`otlp` feature"), "{expected}");
    }
    for bad in [
        "https://collector:4318/v1/traces",
        "grpc://collector:4317",
        "http://",
        "http:// spaced/v1/traces",
    ] {
        let err = load(&format!("[logging.otlp]\nendpoint = \"{bad}\"\n"), &[]).unwrap_err();
        let (key, value, _, _) = invalid(err);
        if cfg!(feature = "otlp") {
            assert_eq!(key, "logging.otlp.endpoint");
            assert_eq!(value, format!("\"{bad}\""));
        } else {
            assert_eq!(key, "logging.otlp");
        }
    }
    let err = load("[logging.otlp]\ntimeout_secs = 0\n", &[]).unwrap_err();
    let (key, _, _, _) = invalid(err);
    assert_eq!(key, "logging.otlp.timeout_secs");
}
