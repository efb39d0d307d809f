//! The clock durations are measured with.
//!
//! `#[instrumented]` reads the clock twice per call, which is most of its
//! cost: on this project's benchmark machine two `std::time::Instant` reads
//! take about twice as long as two reads of the CPU's time-stamp counter
//! (TSC). So durations are measured with the TSC, through
//! [`quanta`](https://docs.rs/quanta) (what metrics-rs uses), when it is
//! safe:
//!
//! - quanta uses the TSC only on CPUs that report an invariant TSC and
//!   `rdtscp` (x86_64), or the system counter (aarch64); elsewhere it reads
//!   the OS monotonic clock, the same as `std`.
//! - It calibrates the TSC against the OS monotonic clock once, at first use
//!   (a few milliseconds, paid by the first measured call).
//! - A stop before its start (TSCs of two cores slightly out of step, for a
//!   call that moved between cores) measures as 0, never as a huge value.
//!
//! To use `std::time::Instant` instead, set `ALERTING_CLOCK=std` in the
//! environment, or call [`set_source`] before anything is measured.
//!
//! ```
//! use alerting_core::clock::{self, ClockSource};
//!
//! let start = clock::now();
//! let nanos = clock::nanos_since(start);
//! assert!(nanos < 1_000_000_000);
//! // The source is chosen once, at first use.
//! assert!(clock::set_source(ClockSource::Std).is_err());
//! ```

use std::sync::OnceLock;

/// Where durations come from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ClockSource {
    /// The CPU's time-stamp counter through quanta, calibrated against the
    /// OS monotonic clock (which quanta reads instead on CPUs without an
    /// invariant TSC). The default.
    Tsc,
    /// `std::time::Instant`.
    Std,
}

/// [`set_source`] after the clock was chosen.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ClockError {
    /// The clock was already chosen (by an earlier call, or by a first
    /// measurement).
    #[error("the clock source is already chosen ({0:?}): set it before anything is measured")]
    AlreadyChosen(ClockSource),
}

enum Clock {
    Tsc(quanta::Clock),
    Std(std::time::Instant),
}

static CLOCK: OnceLock<Clock> = OnceLock::new();

fn make(source: ClockSource) -> Clock {
    match source {
        ClockSource::Tsc => Clock::Tsc(quanta::Clock::new()),
        ClockSource::Std => Clock::Std(std::time::Instant::now()),
    }
}

fn from_env() -> ClockSource {
    match std::env::var("ALERTING_CLOCK").as_deref() {
        Ok("std") => ClockSource::Std,
        _ => ClockSource::Tsc,
    }
}

#[inline]
fn clock() -> &'static Clock {
    CLOCK.get_or_init(|| make(from_env()))
}

/// Chooses the clock. Fails if it was already chosen.
pub fn set_source(source: ClockSource) -> Result<(), ClockError> {
    let mut chosen = false;
    let clock = CLOCK.get_or_init(|| {
        chosen = true;
        make(source)
    });
    if chosen {
        Ok(())
    } else {
        Err(ClockError::AlreadyChosen(source_of(clock)))
    }
}

fn source_of(clock: &Clock) -> ClockSource {
    match clock {
        Clock::Tsc(_) => ClockSource::Tsc,
        Clock::Std(_) => ClockSource::Std,
    }
}

/// The clock in use (choosing it, if nothing has yet).
pub fn source() -> ClockSource {
    source_of(clock())
}

/// A raw reading, only meaningful to [`nanos_since`].
#[inline]
pub fn now() -> u64 {
    match clock() {
        Clock::Tsc(c) => c.raw(),
        Clock::Std(base) => u64::try_from(base.elapsed().as_nanos()).unwrap_or(u64::MAX),
    }
}

/// Nanoseconds since a reading from [`now`]; 0 if the clock appears to have
/// gone backwards.
#[inline]
pub fn nanos_since(start: u64) -> u64 {
    let end = now();
    match clock() {
        Clock::Tsc(c) => c.delta_as_nanos(start, end),
        Clock::Std(_) => end.saturating_sub(start),
    }
}
