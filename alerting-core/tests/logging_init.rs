//! `logging::init` installs the global subscriber once; a second call is a
//! typed error, not a panic. (One test: the global subscriber is per
//! process.)

use alerting_core::config::LoggingConfig;
use alerting_core::logging::{self, LoggingBuilder, LoggingError};

#[test]
fn init_twice_is_an_error_not_a_panic() {
    let config = LoggingConfig::default();
    let guard = LoggingBuilder::new(&config)
        .rust_log(None)
        .init()
        .expect("the first init installs the subscriber");
    tracing::info!("installed");

    let err = logging::init(&config).unwrap_err();
    assert!(matches!(err, LoggingError::AlreadyInitialized), "{err:?}");
    assert_eq!(
        err.to_string(),
        "a global tracing subscriber is already set"
    );
    guard.flush();
}
