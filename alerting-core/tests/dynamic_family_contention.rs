//! A scrape never makes a new series wait for its encode: while one thread
//! scrapes a 100,000-series `DynamicFamily` back to back, another adds
//! series, and none of its `get_or_create` calls waits long.
//!
//! The bound asserted (1 s for the slowest call) is a correctness bound,
//! not a benchmark: a call that adds a series waits at most for one copy
//! of the series list (milliseconds, in a debug build too), far below it
//! even on a loaded 2-core machine. The series are histograms (five lines
//! each) so that one encode takes longer than the bound in a debug build
//! (about 1.5 s): when the family's lock was held for the whole encode, the
//! writer waited at least the rest of one, and usually several, since the
//! scraping thread re-took the lock before the woken writer ran (the
//! slowest call here waited 16.5 s in a debug build).

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use alerting_core::metrics::{
    Buckets, Counter, DynamicFamily, Format, Histogram, LabelSet, MetricOptions, Registry,
};

#[derive(Clone, Debug, PartialEq, Eq, Hash, LabelSet)]
struct Token {
    token: String,
}

fn token(i: usize) -> Token {
    Token {
        token: format!("0x{i:040x}"),
    }
}

const SERIES: usize = 100_000;
const NEW_SERIES: usize = 20;
/// The slowest `get_or_create` allowed.
const BOUND: Duration = Duration::from_secs(1);

#[test]
fn new_series_do_not_wait_for_back_to_back_scrapes() {
    let registry = Registry::new();
    let family: DynamicFamily<Token, Histogram> = registry
        .register_with(
            "swap_seconds",
            "Swap time, by token",
            MetricOptions::new()
                .max_series(SERIES + NEW_SERIES)
                .buckets(Buckets::new([0.1, 1.0, 10.0]).unwrap()),
        )
        .unwrap();
    for i in 0..SERIES {
        family.get_or_create(&token(i)).observe(1.0);
    }

    let stop = AtomicBool::new(false);
    let scrapes = AtomicUsize::new(0);
    let (worst, last_text) = std::thread::scope(|s| {
        let scraper = s.spawn(|| {
            let mut buf = String::new();
            // Bounded, so that a regression fails instead of hanging.
            let deadline = Instant::now() + Duration::from_secs(60);
            while !stop.load(Ordering::Relaxed) && Instant::now() < deadline {
                buf.clear();
                registry.encode(Format::Prometheus, &mut buf).unwrap();
                scrapes.fetch_add(1, Ordering::Relaxed);
            }
            buf
        });
        // Let the scraper get into its loop.
        while scrapes.load(Ordering::Relaxed) == 0 {
            std::thread::sleep(Duration::from_millis(1));
        }
        let mut worst = Duration::ZERO;
        for i in SERIES..SERIES + NEW_SERIES {
            let started = Instant::now();
            family.get_or_create(&token(i)).observe(1.0);
            worst = worst.max(started.elapsed());
            // Spread the calls over the scrape in progress.
            std::thread::sleep(Duration::from_millis(10));
        }
        // One more full scrape after the last new series.
        let seen = scrapes.load(Ordering::Relaxed);
        while scrapes.load(Ordering::Relaxed) < seen + 2 && !scraper.is_finished() {
            std::thread::sleep(Duration::from_millis(1));
        }
        stop.store(true, Ordering::Relaxed);
        (worst, scraper.join().unwrap())
    });

    eprintln!(
        "slowest get_or_create adding a series: {worst:?}, over {} scrapes",
        scrapes.load(Ordering::Relaxed)
    );
    assert!(
        worst < BOUND,
        "a get_or_create adding a series waited {worst:?} behind scrapes"
    );
    assert!(scrapes.load(Ordering::Relaxed) >= 2);
    assert_eq!(family.len(), SERIES + NEW_SERIES);
    // The last scrape saw every series, the new ones included.
    let lines = last_text
        .lines()
        .filter(|l| l.starts_with("swap_seconds_count{"))
        .count();
    assert_eq!(lines, SERIES + NEW_SERIES);
    let newest = format!(
        "swap_seconds_count{{token=\"{}\"}} 1",
        token(SERIES + NEW_SERIES - 1).token
    );
    assert!(last_text.contains(&newest));
}

#[test]
fn existing_series_are_current_in_every_scrape() {
    // The snapshot is of the set of series; the values are read live.
    let registry = Registry::new();
    let family: DynamicFamily<Token, Counter> = registry
        .register_with("hits_total", "Hits", MetricOptions::new().max_series(4))
        .unwrap();
    let a = family.get_or_create(&token(1));
    a.inc();
    let first = registry.encode_to_string(Format::Prometheus).unwrap();
    assert!(first.contains(&format!("hits_total{{token=\"{}\"}} 1\n", token(1).token)));
    a.inc_by(2);
    let second = registry.encode_to_string(Format::Prometheus).unwrap();
    assert!(second.contains(&format!("hits_total{{token=\"{}\"}} 3\n", token(1).token)));
    family.get_or_create(&token(2)).inc();
    let third = registry.encode_to_string(Format::Prometheus).unwrap();
    assert!(third.contains(&format!("hits_total{{token=\"{}\"}} 1\n", token(2).token)));
    assert!(third.contains(&format!("hits_total{{token=\"{}\"}} 3\n", token(1).token)));
    // Past the limit: the overflow series follows the snapshot's series.
    for i in 3..10 {
        family.get_or_create(&token(i)).inc();
    }
    let fourth = registry.encode_to_string(Format::Prometheus).unwrap();
    assert_eq!(
        fourth
            .lines()
            .filter(|l| l.starts_with("hits_total{"))
            .count(),
        5
    );
    assert!(
        fourth.contains("hits_total{token=\"__overflow__\"} 5\n"),
        "{fourth}"
    );
}
