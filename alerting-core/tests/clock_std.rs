//! The clock switched to `std::time::Instant` before anything is measured
//! (its own test binary: the choice is made once per process).

use std::time::{Duration, Instant};

use alerting_core::clock::{self, ClockError, ClockSource};

#[test]
fn std_source_is_chosen_once_and_measures_like_instant() {
    clock::set_source(ClockSource::Std).unwrap();
    assert_eq!(clock::source(), ClockSource::Std);
    assert!(matches!(
        clock::set_source(ClockSource::Tsc),
        Err(ClockError::AlreadyChosen(ClockSource::Std))
    ));

    let mut last = clock::now();
    for _ in 0..100_000 {
        let now = clock::now();
        assert!(now >= last, "clock went back: {last} -> {now}");
        last = now;
    }

    let (ours, theirs) = (clock::now(), Instant::now());
    std::thread::sleep(Duration::from_millis(30));
    let ours = clock::nanos_since(ours) as f64;
    let theirs = theirs.elapsed().as_nanos() as f64;
    let ratio = ours / theirs;
    assert!(
        (0.98..=1.02).contains(&ratio),
        "ours {ours} ns vs std {theirs} ns"
    );
    assert_eq!(clock::nanos_since(clock::now() + 1_000_000_000_000), 0);
}
