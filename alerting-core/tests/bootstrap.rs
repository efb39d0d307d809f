//! `Observability::builder(…).start()`: every part set up from one
//! configuration, in one call; and `MainError` printing an error's chain.
//!
//! The global subscriber and the global registry are process-wide, so the
//! test that installs them is the only one here that does; the others
//! turn both off, as a test with its own registry does.

use std::time::Duration;

use alerting_core::bootstrap::BootstrapError;
use alerting_core::config::{ConfigError, ConfigLoader, MonitoringConfig};
use alerting_core::health::{CheckOptions, CheckOutcome, check_fn};
use alerting_core::metrics::{Format, Registry};
use alerting_core::{MainError, Observability, instrumented};

#[instrumented]
fn place_order(quantity: u32) -> Result<u32, std::num::TryFromIntError> {
    u8::try_from(quantity).map(u32::from)
}

fn config(toml: &str) -> MonitoringConfig {
    ConfigLoader::new().toml(toml).no_env().load().unwrap()
}

#[tokio::test]
async fn one_call_sets_up_logging_registry_global_health_and_shutdown() {
    let config = config(
        "[metrics]\nnamespace = \"shop\"\nconst_labels = { env = \"prod\" }\n\
         [shutdown]\ndeadline_secs = 1\n",
    );
    let obs = Observability::builder("orders")
        .version("1.2.3")
        .config(&config)
        .signals(false)
        .start()
        .unwrap();
    assert_eq!(obs.name(), "orders");
    assert_eq!(obs.version(), Some("1.2.3"));

    // The registry is the global one: `#[instrumented]` records into it
    // without any further call.
    place_order(3).unwrap();
    place_order(300).unwrap_err();
    let text = obs.registry().encode_to_string(Format::Prometheus).unwrap();
    let global = Registry::global()
        .encode_to_string(Format::Prometheus)
        .unwrap();
    for line in [
        r#"shop_function_calls_total{env="prod",service="orders",function="place_order",module="bootstrap",outcome="ok"} 1"#,
        r#"shop_function_calls_total{env="prod",service="orders",function="place_order",module="bootstrap",outcome="error"} 1"#,
    ] {
        assert!(text.lines().any(|l| l == line), "{line} missing:\n{text}");
        assert!(global.lines().any(|l| l == line), "not global:\n{global}");
    }
    // The process collector (not namespaced) and the health families.
    #[cfg(target_os = "linux")]
    assert!(text.contains("\nprocess_open_fds{"), "{text}");
    // The runtime's metrics (not namespaced either): this test's runtime
    // has one worker.
    assert!(
        text.contains(r#"tokio_runtime_workers{env="prod",service="orders"} 1"#),
        "{text}"
    );

    // Health runs already: a check added now is evaluated in the background.
    obs.health()
        .add_check(
            "database",
            CheckOptions::new(),
            check_fn(|| async { CheckOutcome::up() }),
        )
        .unwrap();
    let ready = tokio::time::timeout(Duration::from_secs(5), async {
        while !obs.health().is_ready() {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await;
    assert!(ready.is_ok(), "the health registry did not run the check");
    let text = obs.registry().encode_to_string(Format::Prometheus).unwrap();
    assert!(
        text.contains(
            r#"shop_health_check_status{env="prod",service="orders",check="database"} 1"#
        ),
        "{text}"
    );

    // A second service in the same process cannot take the global
    // registry or the global subscriber: a typed error, nothing half-done.
    let err = Observability::builder("other")
        .logging(false)
        .signals(false)
        .start()
        .unwrap_err();
    assert!(matches!(err, BootstrapError::Metrics(_)), "{err:?}");
    let err = Observability::builder("other")
        .install_global(false)
        .signals(false)
        .start()
        .unwrap_err();
    assert!(matches!(err, BootstrapError::Logging(_)), "{err:?}");

    // Shutdown is wired to readiness: it goes down first.
    assert!(obs.shutdown().trigger("test"));
    let report = obs.run().await;
    assert!(report.is_clean(), "{report}");
    assert!(!obs.health().is_ready());
}

#[tokio::test]
async fn a_service_label_from_the_config_wins() {
    let config = config("[metrics]\nconst_labels = { service = \"orders-eu\" }\n");
    let obs = Observability::builder("orders")
        .config(&config)
        .logging(false)
        .install_global(false)
        .process_collector(false)
        .runtime_metrics(false)
        .signals(false)
        .start()
        .unwrap();
    obs.health()
        .add_component("feed", CheckOptions::new())
        .unwrap()
        .up();
    let text = obs.registry().encode_to_string(Format::Prometheus).unwrap();
    assert!(
        text.contains(r#"health_check_status{service="orders-eu",check="feed"}"#),
        "{text}"
    );
    assert!(!text.contains("process_"), "{text}");
    assert!(!text.contains("tokio_runtime_"), "{text}");
    // Config untouched: the label was added to the registry only.
    assert!(!obs.config().metrics.const_labels.contains_key("env"));
}

#[tokio::test]
async fn an_empty_name_is_refused() {
    let err = Observability::builder("  ")
        .logging(false)
        .install_global(false)
        .signals(false)
        .start()
        .unwrap_err();
    assert!(matches!(err, BootstrapError::EmptyName), "{err:?}");
    assert_eq!(err.to_string(), "the service name must not be empty");
}

#[test]
fn outside_a_runtime_is_a_typed_error() {
    let err = Observability::builder("orders")
        .logging(false)
        .install_global(false)
        .start()
        .unwrap_err();
    assert!(matches!(err, BootstrapError::NoRuntime), "{err:?}");
}

#[test]
fn main_error_prints_the_message_and_its_causes_not_debug() {
    let err: ConfigError = ConfigLoader::new()
        .file("/nonexistent/orders.toml")
        .no_env()
        .load()
        .unwrap_err();
    let display = err.to_string();
    let cause = std::error::Error::source(&err)
        .map(ToString::to_string)
        .expect("the OS error is kept as the cause");
    let main = MainError::from(err);
    // `main` returning `Err` prints `Error: {:?}`.
    assert_eq!(format!("{main:?}"), format!("{display}: {cause}"));
    assert_eq!(format!("{main}"), format!("{main:?}"));
    assert!(!format!("{main:?}").contains("Io {"), "{main:?}");
    assert!(main.into_inner().to_string().contains("orders.toml"));
}
