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
