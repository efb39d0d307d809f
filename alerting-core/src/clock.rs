//! The clock durations are measured with.
//!
//! `#[instrumented]` reads the clock twice per call, which is most of its
//! cost: on this project's benchmark machine two `std::time::Instant` reads
//! take about twice as long as two reads of the CPU's time-stamp counter
//! (TSC). So durations are measured with the TSC when it is safe:
//!
//! - Only on x86_64 CPUs that report an invariant TSC (one that ticks at a
//!   constant rate in every power state, in step across cores: CPUID leaf
//!   `0x8000_0007`). Elsewhere, and on other architectures, the clock is
//!   `std::time::Instant` (the OS monotonic clock).
//! - The TSC is calibrated against `Instant` once, at first use: two paired
//!   readings of both clocks 2 ms apart give the nanoseconds per tick, kept
//!   as a 32.32 fixed-point multiplier (a multiplication and a shift per
//!   duration). The first measured call pays those 2 ms.
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
use std::time::{Duration, Instant};

/// Where durations come from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ClockSource {
    /// The CPU's time-stamp counter, calibrated against the OS monotonic
    /// clock, where the CPU has an invariant one (x86_64); elsewhere the
    /// clock falls back to [`Std`](ClockSource::Std), and [`source`] says
    /// so. The default.
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
    Tsc(Tsc),
    Std(Instant),
}

static CLOCK: OnceLock<Clock> = OnceLock::new();

fn make(source: ClockSource) -> Clock {
    match source {
        ClockSource::Tsc => match Tsc::calibrate() {
            Some(tsc) => Clock::Tsc(tsc),
            None => Clock::Std(Instant::now()),
        },
        ClockSource::Std => Clock::Std(Instant::now()),
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
///
/// [`ClockSource::Tsc`] on a CPU without an invariant TSC chooses `Std`.
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

/// The clock in use (choosing it, if nothing has yet): `Tsc` only where
/// the TSC is actually read.
pub fn source() -> ClockSource {
    source_of(clock())
}

/// A raw reading, only meaningful to [`nanos_since`].
#[inline]
pub fn now() -> u64 {
    match clock() {
        Clock::Tsc(_) => counter::read(),
        Clock::Std(base) => u64::try_from(base.elapsed().as_nanos()).unwrap_or(u64::MAX),
    }
}

/// Nanoseconds since a reading from [`now`]; 0 if the clock appears to have
/// gone backwards.
#[inline]
pub fn nanos_since(start: u64) -> u64 {
    let end = now();
    match clock() {
        Clock::Tsc(tsc) => tsc.nanos(end.saturating_sub(start)),
        Clock::Std(_) => end.saturating_sub(start),
    }
}

/// How long calibration waits between its two paired readings. Each
/// reading is exact to within a few tens of nanoseconds, so 2 ms gives the
/// rate to about 0.005 %.
const CALIBRATION: Duration = Duration::from_millis(2);

/// A calibrated TSC: nanoseconds = ticks × `nanos_per_tick` / 2³².
struct Tsc {
    nanos_per_tick: u64,
}

impl Tsc {
    /// Measures the TSC's rate against `Instant`; `None` without an
    /// invariant TSC or if the rate is not believable.
    fn calibrate() -> Option<Tsc> {
        if !counter::invariant() {
            return None;
        }
        let (ticks0, instant0) = paired_reading();
        std::thread::sleep(CALIBRATION);
        let (ticks1, instant1) = paired_reading();
        let ticks = u128::from(ticks1.checked_sub(ticks0)?);
        let nanos = instant1.duration_since(instant0).as_nanos();
        if ticks == 0 || nanos == 0 {
            return None;
        }
        let nanos_per_tick = u64::try_from((nanos << 32) / ticks).ok()?;
        // A TSC between 10 MHz and 100 GHz; anything else is a broken
        // counter (or a broken hypervisor), not a CPU.
        let believable = (1u64 << 32) / 100..=(100u64 << 32);
        believable
            .contains(&nanos_per_tick)
            .then_some(Tsc { nanos_per_tick })
    }

    #[inline]
    fn nanos(&self, ticks: u64) -> u64 {
        let nanos = (u128::from(ticks) * u128::from(self.nanos_per_tick)) >> 32;
        u64::try_from(nanos).unwrap_or(u64::MAX)
    }
}

/// A TSC reading and an `Instant` taken at the same moment, to within the
/// time one `Instant::now()` takes: of a few tries, the one whose two TSC
/// reads around `Instant::now()` are closest (a try the thread was
/// preempted in is discarded), with the TSC at their midpoint.
fn paired_reading() -> (u64, Instant) {
    let mut best: Option<(u64, u64, Instant)> = None;
    for _ in 0..8 {
        let before = counter::read();
        let instant = Instant::now();
        let after = counter::read();
        let window = after.saturating_sub(before);
        if best.is_none_or(|(w, _, _)| window < w) {
            best = Some((window, before + window / 2, instant));
        }
    }
    let (_, ticks, instant) = best.unwrap_or((0, counter::read(), Instant::now()));
    (ticks, instant)
}

#[cfg(target_arch = "x86_64")]
mod counter {
    /// Whether the CPU reports an invariant TSC (CPUID leaf `0x8000_0007`,
    /// EDX bit 8), the condition for reading it as a clock.
    // `__cpuid` is a safe function in recent Rust and an unsafe one in the
    // oldest release this crate supports.
    #[allow(unsafe_code, unused_unsafe)]
    pub(super) fn invariant() -> bool {
        use core::arch::x86_64::__cpuid;
        // SAFETY: CPUID exists on every x86_64 CPU; leaf 0x8000_0000 gives
        // the highest extended leaf, and 0x8000_0007 is only read below it.
        let highest = unsafe { __cpuid(0x8000_0000) }.eax;
        highest >= 0x8000_0007 && unsafe { __cpuid(0x8000_0007) }.edx & (1 << 8) != 0
    }

    /// The TSC.
    #[inline]
    #[allow(unsafe_code)]
    pub(super) fn read() -> u64 {
        // SAFETY: RDTSC exists on every x86_64 CPU and only reads a
        // counter; it touches no memory.
        unsafe { core::arch::x86_64::_rdtsc() }
    }
}

#[cfg(not(target_arch = "x86_64"))]
mod counter {
    /// No TSC is read on this architecture: the clock is `Instant`.
    pub(super) fn invariant() -> bool {
        false
    }

    /// Never called: without [`invariant`] no `Tsc` exists.
    #[inline]
    pub(super) fn read() -> u64 {
        0
    }
}
