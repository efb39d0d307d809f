//! `ConfigLoader::load_service`: one file and one environment prefix for
//! the library's sections and a service's own, with errors that name the
//! key and where it was set in either kind.

mod common;

use std::path::PathBuf;
use std::time::Duration;

use alerting_core::config::{ConfigError, ConfigLoader, Origin, ServiceConfig};
use common::invalid;
use serde::Deserialize;

#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct App {
    node: Node,
    accounts: Vec<String>,
}

impl Default for App {
    fn default() -> Self {
        Self {
            node: Node::default(),
            accounts: vec!["a".into()],
        }
    }
}

#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct Node {
    url: String,
    name: String,
    timeout_secs: f64,
    retries: u32,
    tls: Tls,
}

impl Default for Node {
    fn default() -> Self {
        Self {
            url: "simulated".into(),
            name: "node".into(),
            timeout_secs: 5.0,
            retries: 1,
            tls: Tls::default(),
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct Tls {
    ca_file: Option<PathBuf>,
}

const DEFAULTS: &str = "[metrics]\nlisten_addr = \"127.0.0.1:9464\"\n\
                        [metrics.const_labels]\nservice = \"bsc-monitor\"\n";

fn load(toml: &str, env: &[(&str, &str)]) -> Result<ServiceConfig<App>, ConfigError> {
    ConfigLoader::new()
        .defaults(DEFAULTS)
        .toml(toml)
        .env_prefix("BSC_MONITOR")
        .env_vars(env.iter().copied())
        .load_service::<App>()
}

#[test]
fn no_file_gives_both_kinds_of_default() {
    let c = load("", &[]).unwrap();
    assert_eq!(c.app, App::default());
    assert_eq!(
        c.monitoring.metrics.listen_addr.to_string(),
        "127.0.0.1:9464"
    );
    assert_eq!(
        c.monitoring
            .metrics
            .const_labels
            .get("service")
            .map(String::as_str),
        Some("bsc-monitor")
    );
    assert_eq!(c.origin("metrics.listen_addr"), Origin::Defaults);
    assert_eq!(c.origin("node.url"), Origin::Defaults);
}

#[test]
fn the_file_overrides_the_defaults_and_keeps_the_rest_of_a_table() {
    let c = load(
        "[metrics]\nlisten_addr = \"127.0.0.1:0\"\n[metrics.const_labels]\nenv = \"prod\"\n\
         [node]\nurl = \"wss://example\"\n",
        &[],
    )
    .unwrap();
    assert_eq!(c.monitoring.metrics.listen_addr.port(), 0);
    let labels = &c.monitoring.metrics.const_labels;
    assert_eq!(
        labels.get("service").map(String::as_str),
        Some("bsc-monitor")
    );
    assert_eq!(labels.get("env").map(String::as_str), Some("prod"));
    assert_eq!(c.app.node.url, "wss://example");
    assert_eq!(c.app.node.retries, 1);
    assert_eq!(c.origin("node.url"), Origin::Inline);
    assert_eq!(c.origin("node.retries"), Origin::Defaults);
}

#[test]
fn variables_set_keys_of_both_kinds_with_their_types() {
    let c = load(
        "[node]\nretries = 4\n",
        &[
            ("BSC_MONITOR_NODE__RETRIES", "9"),
            // A number where the service wants a string stays a string.
            ("BSC_MONITOR_NODE__NAME", "42"),
            ("BSC_MONITOR_NODE__TIMEOUT_SECS", "0.5"),
            ("BSC_MONITOR_NODE__TLS__CA_FILE", "/etc/ca.pem"),
            ("BSC_MONITOR_ACCOUNTS", "[\"x\", \"y\"]"),
            ("BSC_MONITOR_SHUTDOWN__DEADLINE_SECS", "3"),
            ("OTHER_NODE__RETRIES", "1"),
        ],
    )
    .unwrap();
    assert_eq!(c.app.node.retries, 9);
    assert_eq!(c.app.node.name, "42");
    assert_eq!(c.app.node.timeout_secs, 0.5);
    assert_eq!(c.app.node.tls.ca_file, Some(PathBuf::from("/etc/ca.pem")));
    assert_eq!(c.app.accounts, ["x", "y"]);
    assert_eq!(c.monitoring.shutdown.deadline, Duration::from_secs(3));
    assert_eq!(
        c.origin("node.retries"),
        Origin::Env("BSC_MONITOR_NODE__RETRIES".into())
    );
    assert_eq!(
        c.origin("node.tls"),
        Origin::Env("BSC_MONITOR_NODE__TLS__CA_FILE".into())
    );
}

#[test]
fn a_bad_value_in_the_file_names_key_value_and_origin() {
    let (key, value, expected, origin) =
        invalid(load("[node]\nretries = \"many\"\n", &[]).unwrap_err());
    assert_eq!(key, "node.retries");
    assert_eq!(value, "\"many\"");
    assert_eq!(expected, "u32");
    assert_eq!(origin, Origin::Inline);
}

#[test]
fn a_bad_value_from_a_variable_names_the_variable() {
    let err = load("", &[("BSC_MONITOR_NODE__RETRIES", "-1")]).unwrap_err();
    assert_eq!(err.key(), Some("node.retries"));
    assert!(
        err.to_string()
            .contains("from environment variable `BSC_MONITOR_NODE__RETRIES`"),
        "{err}"
    );
    // The library's sections keep their own checks.
    let err = load("", &[("BSC_MONITOR_SHUTDOWN__DEADLINE_SECS", "soon")]).unwrap_err();
    assert_eq!(err.key(), Some("shutdown.deadline_secs"));
}

#[test]
fn unknown_keys_and_sections_are_named() {
    let err = load("[node]\nretry = 3\n", &[]).unwrap_err();
    assert!(matches!(err, ConfigError::UnknownKey { .. }), "{err:?}");
    assert_eq!(err.key(), Some("node.retry"));
    let err = load("[nodes]\nurl = \"x\"\n", &[]).unwrap_err();
    assert_eq!(err.key(), Some("nodes"), "{err}");
    // A misspelt section is told every section there is, the library's too.
    let text = err.to_string();
    for section in [
        "node", "accounts", "health", "logging", "metrics", "shutdown",
    ] {
        assert!(text.contains(&format!("`{section}`")), "{section}: {text}");
    }
    let err = load("", &[("BSC_MONITOR_NODE__URLL", "x")]).unwrap_err();
    assert_eq!(err.key(), Some("node.urll"), "{err}");
    assert!(err.to_string().contains("BSC_MONITOR_NODE__URLL"), "{err}");
    let err = load("", &[("BSC_MONITOR_NODE____URL", "x")]).unwrap_err();
    assert!(matches!(err, ConfigError::UnknownKey { .. }), "{err:?}");
    // Unknown keys of the library's sections too.
    let err = load("[metrics]\nport = 1\n", &[]).unwrap_err();
    assert_eq!(err.key(), Some("metrics.port"));
}

#[test]
fn a_bad_default_is_reported_as_one() {
    let err = ConfigLoader::new()
        .defaults("[metrics]\nlisten_addr = \"nowhere\"\n")
        .no_env()
        .load_service::<App>()
        .unwrap_err();
    let (key, _, _, origin) = invalid(err);
    assert_eq!(key, "metrics.listen_addr");
    assert_eq!(origin, Origin::Defaults);
}

#[test]
fn the_services_own_checks_report_like_the_loader() {
    let c = load("", &[("BSC_MONITOR_NODE__TIMEOUT_SECS", "0")]).unwrap();
    let err = c.invalid(
        "node.timeout_secs",
        c.app.node.timeout_secs,
        "a number above 0",
    );
    assert_eq!(
        err.to_string(),
        "invalid value for `node.timeout_secs` from environment variable \
         `BSC_MONITOR_NODE__TIMEOUT_SECS`: got 0, expected a number above 0"
    );
    let err = c.invalid("node.url", format!("{:?}", c.app.node.url), "a ws:// URL");
    assert_eq!(err.key(), Some("node.url"));
    assert!(err.to_string().contains("in the defaults"), "{err}");
}

#[test]
fn a_file_layer_is_named_in_errors() {
    let dir = std::env::temp_dir().join(format!("alerting-service-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("app.toml");
    std::fs::write(&path, "[node]\ntimeout_secs = \"x\"\n").unwrap();
    let err = ConfigLoader::new()
        .file(&path)
        .no_env()
        .load_service::<App>()
        .unwrap_err();
    let (key, _, _, origin) = invalid(err);
    assert_eq!(key, "node.timeout_secs");
    assert_eq!(origin, Origin::File(path));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn range_checks_name_key_value_and_origin() {
    let c = load(
        "[node]\ntimeout_secs = 0\n",
        &[("BSC_MONITOR_NODE__RETRIES", "7")],
    )
    .unwrap();
    let (key, value, expected, origin) = invalid(
        c.positive("node.timeout_secs", c.app.node.timeout_secs)
            .unwrap_err(),
    );
    assert_eq!(
        (key.as_str(), value.as_str(), expected.as_str(), origin),
        ("node.timeout_secs", "0", "a number above 0", Origin::Inline)
    );
    c.non_negative("node.timeout_secs", 0.0).unwrap();
    assert!(c.non_negative("node.timeout_secs", -0.5).is_err());
    assert!(c.non_negative("node.timeout_secs", f64::INFINITY).is_err());
    c.fraction("x", 1.0).unwrap();
    assert!(c.fraction("x", f64::NAN).is_err());
    let (key, value, expected, origin) = invalid(
        c.within("node.retries", c.app.node.retries, 0..=5)
            .unwrap_err(),
    );
    assert_eq!(
        (key.as_str(), value.as_str(), expected.as_str()),
        ("node.retries", "7", "0 to 5")
    );
    assert_eq!(origin, Origin::Env("BSC_MONITOR_NODE__RETRIES".into()));
    c.within("node.retries", 5, 0..=5).unwrap();
    assert!(c.within("x", f64::NAN, 0.0..=1.0).is_err());
}

/// A service type without defaults: every key is required.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Strict {
    db: Db,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Db {
    url: String,
    pool: u32,
}

#[test]
fn required_keys_may_all_come_from_variables_in_any_order() {
    let c = ConfigLoader::new()
        .env_prefix("X")
        // Sorted, `POOL` is applied while `url` is still missing.
        .env_vars([("X_DB__URL", "postgres://db"), ("X_DB__POOL", "5")])
        .load_service::<Strict>()
        .unwrap();
    assert_eq!((c.app.db.url.as_str(), c.app.db.pool), ("postgres://db", 5));
}

#[test]
fn a_missing_required_key_is_named() {
    let err = ConfigLoader::new()
        .env_prefix("X")
        .env_vars([("X_DB__POOL", "5")])
        .load_service::<Strict>()
        .unwrap_err();
    assert_eq!(err.key(), Some("db.url"), "{err}");
    let err = ConfigLoader::new()
        .no_env()
        .load_service::<Strict>()
        .unwrap_err();
    assert_eq!(err.key(), Some("db"), "{err}");
    assert!(err.to_string().contains("in the defaults"), "{err}");
}

#[test]
fn defaults_lie_under_the_file_whatever_the_call_order() {
    let c = ConfigLoader::new()
        .toml("[metrics]\nlisten_addr = \"127.0.0.1:1234\"\n")
        .defaults(DEFAULTS)
        .no_env()
        .load_service::<App>()
        .unwrap();
    assert_eq!(c.monitoring.metrics.listen_addr.port(), 1234);
    assert_eq!(
        c.monitoring
            .metrics
            .const_labels
            .get("service")
            .map(String::as_str),
        Some("bsc-monitor")
    );
}

#[test]
fn a_table_is_attributed_to_the_layer_that_overrides_it() {
    let c = load(
        "[node]\nurl = \"ws://x\"\n",
        &[("BSC_MONITOR_NODE__RETRIES", "3")],
    )
    .unwrap();
    assert_eq!(
        c.origin("node"),
        Origin::Env("BSC_MONITOR_NODE__RETRIES".into())
    );
    assert_eq!(c.origin(""), Origin::Defaults);
}
