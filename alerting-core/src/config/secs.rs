//! Durations written as a number of seconds (`deadline_secs = 30`,
//! `timeout_secs = 0.5`), at most [`MAX_DURATION`].

use std::fmt;
use std::time::Duration;

use serde::de::{self, Unexpected, Visitor};
use serde::{Deserializer, Serializer};

use super::MAX_DURATION;

/// Serializes a whole number of seconds as an integer, anything else as a
/// float, so a config written back reads as it was written.
pub(crate) fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    if d.subsec_nanos() == 0 {
        s.serialize_u64(d.as_secs())
    } else {
        s.serialize_f64(d.as_secs_f64())
    }
}

/// Zero or more seconds, at most [`MAX_DURATION`].
pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    d.deserialize_any(SecsVisitor { positive: false })
}

/// More than zero seconds, at most [`MAX_DURATION`] (intervals and
/// timeouts).
pub(crate) mod positive {
    use super::*;

    pub(crate) use super::serialize;

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        d.deserialize_any(SecsVisitor { positive: true })
    }
}

/// What a number of seconds above [`MAX_DURATION`] is told.
pub(crate) fn too_long() -> String {
    format!(
        "a number of seconds of at most {} ({})",
        MAX_DURATION.as_secs(),
        super::MAX_DURATION_TEXT
    )
}

/// `secs` as a [`Duration`] when it is finite, not negative (above zero
/// when `positive`) and at most [`MAX_DURATION`]; why not otherwise (the
/// expectation to report).
pub(crate) fn checked(secs: f64, positive: bool) -> Result<Duration, String> {
    let in_sign = secs.is_finite() && secs >= 0.0 && !(positive && secs == 0.0);
    if !in_sign {
        return Err(expecting(positive).to_owned());
    }
    match Duration::try_from_secs_f64(secs) {
        Ok(d) if d <= MAX_DURATION => Ok(d),
        _ => Err(too_long()),
    }
}

fn expecting(positive: bool) -> &'static str {
    if positive {
        "a positive number of seconds (such as 2 or 0.5)"
    } else {
        "a number of seconds, zero or more (such as 30 or 0.5)"
    }
}

struct SecsVisitor {
    positive: bool,
}

impl SecsVisitor {
    fn check<E: de::Error>(&self, secs: f64, unexpected: Unexpected<'_>) -> Result<Duration, E> {
        checked(secs, self.positive)
            .map_err(|expected| E::invalid_value(unexpected, &expected.as_str()))
    }
}

impl<'de> Visitor<'de> for SecsVisitor {
    type Value = Duration;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(expecting(self.positive))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Duration, E> {
        if self.positive && v == 0 {
            return Err(E::invalid_value(Unexpected::Unsigned(v), &self));
        }
        if v > MAX_DURATION.as_secs() {
            return Err(E::invalid_value(
                Unexpected::Unsigned(v),
                &too_long().as_str(),
            ));
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

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use super::*;

    #[test]
    fn the_maximum_fits_any_instant() {
        assert!(Instant::now().checked_add(MAX_DURATION).is_some());
        // A few of them added together too (a deadline plus a delay).
        assert!(Instant::now().checked_add(MAX_DURATION * 4).is_some());
    }

    #[test]
    fn checked_bounds() {
        assert_eq!(checked(0.5, true), Ok(Duration::from_millis(500)));
        assert_eq!(checked(0.0, false), Ok(Duration::ZERO));
        assert!(checked(0.0, true).is_err());
        assert!(checked(-1.0, false).is_err());
        assert!(checked(f64::NAN, false).is_err());
        assert!(checked(f64::INFINITY, false).is_err());
        assert!(checked(1e300, false).is_err());
        assert_eq!(checked(MAX_DURATION.as_secs_f64(), false), Ok(MAX_DURATION));
        assert!(checked(MAX_DURATION.as_secs_f64() + 1.0, false).is_err());
    }
}
