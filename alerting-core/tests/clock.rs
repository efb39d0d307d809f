//! The clock used for durations: monotonic per thread, and calibrated: it
//! agrees with `std::time::Instant` on the length of an interval.

use std::time::{Duration, Instant};

use alerting_core::clock;

#[test]
fn readings_never_go_backwards_on_a_thread() {
    let mut last = clock::now();
    for _ in 0..1_000_000 {
        let now = clock::now();
        assert!(now >= last, "clock went back: {last} -> {now}");
        last = now;
    }
}

#[test]
fn measures_intervals_like_std() {
    for _ in 0..3 {
        let (ours, theirs) = (clock::now(), Instant::now());
        std::thread::sleep(Duration::from_millis(30));
        let ours = clock::nanos_since(ours) as f64;
        let theirs = theirs.elapsed().as_nanos() as f64;
        // Both read across the same sleep, a few hundred ns apart: a wrong
        // calibration would be off by far more than 2%.
        let ratio = ours / theirs;
        assert!(
            (0.98..=1.02).contains(&ratio),
            "ours {ours} ns vs std {theirs} ns"
        );
        assert!(ours >= 30e6 * 0.98);
    }
}

#[test]
fn a_stop_before_its_start_measures_zero() {
    let later = clock::now() + 1_000_000_000_000;
    assert_eq!(clock::nanos_since(later), 0);
}

/// Linux lists `constant_tsc` and `nonstop_tsc` exactly when CPUID reports
/// an invariant TSC, the condition the clock reads the TSC under.
#[test]
#[cfg(all(target_arch = "x86_64", target_os = "linux"))]
fn the_tsc_is_read_where_the_cpu_has_an_invariant_one() {
    if std::env::var_os("ALERTING_CLOCK").is_some() {
        return; // chosen by the environment, not by the CPU
    }
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap();
    let flags = cpuinfo
        .lines()
        .find(|l| l.starts_with("flags"))
        .expect("a flags line in /proc/cpuinfo");
    let invariant = flags.split_whitespace().any(|f| f == "nonstop_tsc")
        && flags.split_whitespace().any(|f| f == "constant_tsc");
    let expected = if invariant {
        clock::ClockSource::Tsc
    } else {
        clock::ClockSource::Std
    };
    assert_eq!(clock::source(), expected, "flags: {flags}");
}
