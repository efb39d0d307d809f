//! `[health]` and `[shutdown]`.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::secs;

/// `[health]`: how health checks run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct HealthConfig {
    /// How often each pulled check runs in the background; reports read the
    /// latest results. Key `interval_secs`, default 10 (the readiness probe
    /// period of the seeds' Kubernetes set-up, so each probe sees a fresh
    /// result).
    #[serde(rename = "interval_secs", with = "secs::positive")]
    pub interval: Duration,
    /// How long a check may run before it counts as down, unless the check
    /// sets its own. Key `timeout_secs`, default 2.
    #[serde(rename = "timeout_secs", with = "secs::positive")]
    pub timeout: Duration,
}

impl Default for HealthConfig {
    fn default() -> Self {
        Self {
            interval: Duration::from_secs(10),
            timeout: Duration::from_secs(2),
        }
    }
}

/// `[shutdown]`: deadlines of graceful shutdown.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct ShutdownConfig {
    /// How long in-flight work may take to finish once intake has stopped.
    /// Key `deadline_secs`, default 30.
    #[serde(rename = "deadline_secs", with = "secs")]
    pub deadline: Duration,
    /// How long one closer may take, unless it sets its own. Key
    /// `closer_timeout_secs`, default 5.
    #[serde(rename = "closer_timeout_secs", with = "secs::positive")]
    pub closer_timeout: Duration,
    /// Time between readiness going down and intake being told to stop, for
    /// load balancers to notice. Key `readiness_delay_secs`, default 0.
    #[serde(rename = "readiness_delay_secs", with = "secs")]
    pub readiness_delay: Duration,
}

impl Default for ShutdownConfig {
    fn default() -> Self {
        Self {
            deadline: Duration::from_secs(30),
            closer_timeout: Duration::from_secs(5),
            readiness_delay: Duration::ZERO,
        }
    }
}
