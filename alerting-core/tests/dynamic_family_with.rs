//! `DynamicFamily::with`: the look-up that lends the series to a closure
//! instead of returning a handle. It finds, creates, folds and marks series
//! as used exactly as `get_or_create` does.

use std::thread::sleep;
use std::time::Duration;

use alerting_core::metrics::{
    Counter, DynamicFamily, Format, Histogram, LabelSet, MetricOptions, Registry,
};

#[derive(Clone, Debug, PartialEq, Eq, Hash, LabelSet)]
struct Token {
    token: String,
}

fn token(t: &str) -> Token {
    Token { token: t.into() }
}

fn scrape(registry: &Registry) -> String {
    registry.encode_to_string(Format::Prometheus).unwrap()
}

#[test]
fn with_writes_the_series_get_or_create_returns() {
    let registry = Registry::new();
    let swaps: DynamicFamily<Token, Counter> = registry
        .register("token_swaps_total", "Swaps seen, by token")
        .unwrap();
    // Created by `with`, read through a handle, and the other way round.
    swaps.with(&token("0xaa"), |s| s.inc_by(3));
    assert_eq!(swaps.get_or_create(&token("0xaa")).get(), 3);
    swaps.get_or_create(&token("0xbb")).inc();
    assert_eq!(swaps.with(&token("0xbb"), |s| s.inc()), 1);
    assert_eq!(swaps.len(), 2);

    let text = scrape(&registry);
    assert!(
        text.contains(r#"token_swaps_total{token="0xaa"} 3"#),
        "{text}"
    );
    assert!(
        text.contains(r#"token_swaps_total{token="0xbb"} 2"#),
        "{text}"
    );
}

#[test]
fn with_folds_past_the_limit_into_the_overflow_series() {
    let registry = Registry::new();
    let swaps: DynamicFamily<Token, Counter> = registry
        .register_with(
            "token_swaps_total",
            "Swaps seen, by token",
            MetricOptions::new().max_series(1),
        )
        .unwrap();
    swaps.with(&token("0xaa"), |s| s.inc());
    swaps.with(&token("0xbb"), |s| s.inc());
    swaps.with(&token("0xcc"), |s| s.inc());
    // An existing series is still found after the limit is reached.
    swaps.with(&token("0xaa"), |s| s.inc());
    assert_eq!(swaps.len(), 1);
    assert_eq!(swaps.overflow().get(), 2);

    let text = scrape(&registry);
    assert!(
        text.contains(r#"token_swaps_total{token="0xaa"} 2"#),
        "{text}"
    );
    assert!(
        text.contains(r#"token_swaps_total{token="__overflow__"} 2"#),
        "{text}"
    );
}

#[test]
fn with_keeps_a_series_from_expiring() {
    let registry = Registry::new();
    let timeout = Duration::from_millis(50);
    let swaps: DynamicFamily<Token, Counter> = registry
        .register_with(
            "token_swaps_total",
            "Swaps seen, by token",
            MetricOptions::new().idle_timeout(timeout),
        )
        .unwrap();
    swaps.with(&token("0xaa"), |s| s.inc());
    swaps.with(&token("0xbb"), |s| s.inc());
    scrape(&registry);

    sleep(timeout * 2);
    // Only 0xaa is looked up between the two scrapes.
    swaps.with(&token("0xaa"), |s| s.inc());
    let text = scrape(&registry);
    assert!(
        text.contains(r#"token_swaps_total{token="0xaa"} 2"#),
        "{text}"
    );
    assert!(!text.contains("0xbb"), "0xbb should have expired:\n{text}");
    assert_eq!(swaps.expired().map(Counter::get), Some(1));
}

#[test]
fn with_on_two_threads_keeps_every_write() {
    let registry = Registry::new();
    let swaps: DynamicFamily<Token, Histogram> = registry
        .register("swap_seconds", "Swap time, by token")
        .unwrap();
    let tokens = ["0xaa", "0xbb", "0xcc"].map(token);
    std::thread::scope(|s| {
        for _ in 0..2 {
            s.spawn(|| {
                for i in 0..10_000 {
                    swaps.with(&tokens[i % 3], |h| h.observe(0.001));
                }
            });
        }
    });
    let text = scrape(&registry);
    let count = |t: &str| {
        let prefix = format!(r#"swap_seconds_count{{token="{t}"}} "#);
        text.lines()
            .find_map(|l| l.strip_prefix(prefix.as_str()))
            .unwrap_or_else(|| panic!("no count for {t}:\n{text}"))
            .parse::<u64>()
            .unwrap()
    };
    // Each thread: 3,334 calls for 0xaa, 3,333 for each of the others.
    assert_eq!(count("0xaa"), 6_668);
    assert_eq!(count("0xbb"), 6_666);
    assert_eq!(count("0xcc"), 6_666);
    assert_eq!(swaps.len(), 3);
}
