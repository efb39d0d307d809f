//! Health reports: what `/health` and `/ready` return.

use std::collections::BTreeMap;
use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use super::{Probe, Status};

/// How much a report says.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Detail {
    /// The overall status and each check's status: for endpoints anyone can
    /// reach.
    #[default]
    Brief,
    /// Also each check's reason, duration, last success, probe and
    /// criticality, and the service version. Raw errors only where the
    /// check marked them safe to show.
    Full,
}

/// A health report (serde): the overall status, and each check's.
///
/// ```json
/// {"status":"degraded","live":true,"ready":true,"version":"1.4.0",
///  "checks":{
///    "database":{"status":"up","probe":"readiness","critical":true,
///                "duration_secs":0.003,"last_success":"2025-11-04T12:00:00.000Z",
///                "checked_at":"2025-11-04T12:00:00.000Z"},
///    "redis":{"status":"down","reason":"timed out after 2 s","probe":"readiness",
///             "critical":false,"duration_secs":2.0,"checked_at":"2025-11-04T12:00:00.000Z"}}}
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct HealthReport {
    /// The overall status: for a whole report the worse of liveness and
    /// readiness, for a [liveness](super::HealthRegistry::liveness) or
    /// [readiness](super::HealthRegistry::readiness) report that probe's.
    pub status: Status,
    /// Whether the liveness probe passes (its status is not down).
    pub live: bool,
    /// Whether the readiness probe passes (its status is not down, and
    /// shutdown has not begun).
    pub ready: bool,
    /// Shutdown has begun: readiness is down whatever the checks say.
    #[serde(default, skip_serializing_if = "is_false")]
    pub shutting_down: bool,
    /// The service version ([`Detail::Full`] only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// Each check, by name.
    pub checks: BTreeMap<String, CheckReport>,
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// One check in a [`HealthReport`]. Everything but `status` is present in
/// [`Detail::Full`] reports only.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct CheckReport {
    /// The check's own status (a non-critical check that is down is `down`
    /// here, and makes its probe `degraded`).
    pub status: Status,
    /// Why it is not up: the check's reason, its raw error only if marked
    /// safe to show, "timed out after N s", "check panicked", "no data for
    /// N s", "not checked yet".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Which probes it counts for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub probe: Option<Probe>,
    /// Whether it being down fails its probe.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub critical: Option<bool>,
    /// How long the last run took (pulled checks).
    #[serde(
        default,
        rename = "duration_secs",
        skip_serializing_if = "Option::is_none",
        with = "opt_secs"
    )]
    pub duration: Option<Duration>,
    /// When it last succeeded (RFC 3339, UTC).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_success: Option<String>,
    /// When the status was last determined: the last run of a pulled check,
    /// the last report of a pushed one (RFC 3339, UTC).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checked_at: Option<String>,
}

impl HealthReport {
    /// Whether the report's probe passes: the status is not down. This is
    /// what an endpoint answers 200 for.
    pub fn is_ok(&self) -> bool {
        self.status != Status::Down
    }

    /// 200 when [`HealthReport::is_ok`], else 503.
    pub fn http_status(&self) -> u16 {
        if self.is_ok() { 200 } else { 503 }
    }
}

impl fmt::Display for HealthReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} ({}, {})",
            self.status,
            if self.live { "live" } else { "not live" },
            if self.ready { "ready" } else { "not ready" }
        )?;
        if self.shutting_down {
            f.write_str(", shutting down")?;
        }
        if let Some(v) = &self.version {
            write!(f, ", version {v}")?;
        }
        let width = self.checks.keys().map(String::len).max().unwrap_or(0);
        for (name, c) in &self.checks {
            write!(f, "\n  {name:<width$}  {:<8}", c.status.as_str())?;
            match c.duration {
                Some(d) => write!(f, "  {:>7.3} s", d.as_secs_f64())?,
                None => f.write_str("           ")?,
            }
            if let Some(r) = &c.reason {
                write!(f, "  {r}")?;
            }
            if c.critical == Some(false) {
                f.write_str(" (non-critical)")?;
            }
            if let Some(t) = &c.last_success {
                write!(f, "; last success {t}")?;
            }
        }
        Ok(())
    }
}

mod opt_secs {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
        match d {
            Some(d) => s.serialize_f64(d.as_secs_f64()),
            None => s.serialize_none(),
        }
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<Duration>, D::Error> {
        let secs = Option::<f64>::deserialize(d)?;
        Ok(secs.and_then(|s| Duration::try_from_secs_f64(s).ok()))
    }
}

/// `2025-11-04T12:00:00.123Z`.
pub(crate) fn rfc3339(t: SystemTime) -> String {
    let d = t.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = d.as_secs();
    let days = i64::try_from(secs / 86_400).unwrap_or(0);
    let rem = secs % 86_400;
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        rem / 3_600,
        rem % 3_600 / 60,
        rem % 60,
        d.subsec_millis()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_formats_known_instants() {
        assert_eq!(rfc3339(UNIX_EPOCH), "1970-01-01T00:00:00.000Z");
        let t = UNIX_EPOCH + Duration::from_millis(1_762_257_600_123);
        assert_eq!(rfc3339(t), "2025-11-04T12:00:00.123Z");
        let leap = UNIX_EPOCH + Duration::from_secs(951_782_400); // 2000-02-29
        assert_eq!(rfc3339(leap), "2000-02-29T00:00:00.000Z");
    }
}
