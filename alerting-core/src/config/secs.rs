//! Durations written as a number of seconds (`deadline_secs = 30`,
//! `timeout_secs = 0.5`).

use std::fmt;
use std::time::Duration;

use serde::de::{self, Unexpected, Visitor};
use serde::{Deserializer, Serializer};

/// Serializes a whole number of seconds as an integer, anything else as a
/// float, so a config written back reads as it was written.
pub(crate) fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    if d.subsec_nanos() == 0 {
        s.serialize_u64(d.as_secs())
    } else {
        s.serialize_f64(d.as_secs_f64())
    }
}

/// Zero or more seconds.
pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    d.deserialize_any(SecsVisitor { positive: false })
}

/// More than zero seconds (intervals and timeouts).
pub(crate) mod positive {
    use super::*;

    pub(crate) use super::serialize;

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        d.deserialize_any(SecsVisitor { positive: true })
    }
}

struct SecsVisitor {
    positive: bool,
}

impl SecsVisitor {
    fn check<E: de::Error>(&self, secs: f64, unexpected: Unexpected<'_>) -> Result<Duration, E> {
        let ok = secs.is_finite() && secs >= 0.0 && !(self.positive && secs == 0.0);
        match Duration::try_from_secs_f64(secs) {
            Ok(d) if ok => Ok(d),
            _ => Err(E::invalid_value(unexpected, self)),
        }
    }
}

impl<'de> Visitor<'de> for SecsVisitor {
    type Value = Duration;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.positive {
            f.write_str("a positive number of seconds (such as 2 or 0.5)")
        } else {
            f.write_str("a number of seconds, zero or more (such as 30 or 0.5)")
        }
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Duration, E> {
        if self.positive && v == 0 {
            return Err(E::invalid_value(Unexpected::Unsigned(v), &self));
        }
        Ok(Duration::from_secs(v))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Duration, E> {
        match u64::try_from(v) {
            Ok(v) => self.visit_u64(v),
            Err(_) => Err(E::invalid_value(Unexpected::Signed(v), &self)),
        }
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Duration, E> {
        self.check(v, Unexpected::Float(v))
    }
}
