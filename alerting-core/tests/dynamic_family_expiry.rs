//! Series that go away: `DynamicFamily::remove`, `clear` and the idle
//! timeout free slots under `max_series`, and the scrape shows it.
//!
//! The expiry tests sleep longer than the idle timeout between two scrapes
//! (never asserting how long anything took): a series is idle once a
//! scrape at least the timeout after the last scrape that saw it used.

mod common;

use std::thread::sleep;
use std::time::Duration;

use alerting_core::metrics::{
    Counter, DynamicFamily, Format, LabelSet, MetricOptions, MetricsError, Registry,
};
use common::assert_promtool_accepts;

#[derive(Clone, Debug, PartialEq, Eq, Hash, LabelSet)]
struct Token {
    token: String,
}

fn token(t: &str) -> Token {
    Token { token: t.into() }
}

fn family(registry: &Registry, options: MetricOptions) -> DynamicFamily<Token, Counter> {
    registry
        .register_with("token_swaps_total", "Swaps seen, by token", options)
        .unwrap()
}

fn scrape(registry: &Registry) -> String {
    registry.encode_to_string(Format::Prometheus).unwrap()
}

#[test]
fn remove_frees_a_slot_and_drops_the_series_from_the_scrape() {
    let registry = Registry::new();
    let swaps = family(&registry, MetricOptions::new().max_series(2));
    swaps.get_or_create(&token("0xaa")).inc();
    swaps.get_or_create(&token("0xbb")).inc();
    // Scraped once, so the next scrape must notice the change.
    assert!(scrape(&registry).contains(r#"token_swaps_total{token="0xaa"} 1"#));

    assert!(swaps.remove(&token("0xaa")));
    assert!(!swaps.remove(&token("0xaa")), "already removed");
    assert_eq!(swaps.len(), 1);
    // The freed slot goes to a new label set, not to the overflow series.
    swaps.get_or_create(&token("0xcc")).inc_by(5);
    assert_eq!(swaps.overflow().get(), 0);

    let text = scrape(&registry);
    assert!(!text.contains("0xaa"), "{text}");
    assert!(
        text.contains(r#"token_swaps_total{token="0xbb"} 1"#),
        "{text}"
    );
    assert!(
        text.contains(r#"token_swaps_total{token="0xcc"} 5"#),
        "{text}"
    );

    // A removed series that comes back starts again from zero.
    swaps.get_or_create(&token("0xbb")).inc();
    assert!(swaps.remove(&token("0xbb")));
    assert_eq!(swaps.get_or_create(&token("0xbb")).get(), 0);
}

#[test]
fn clear_drops_every_series_and_keeps_the_overflow() {
    let registry = Registry::new();
    let swaps = family(&registry, MetricOptions::new().max_series(1));
    swaps.get_or_create(&token("0xaa")).inc();
    swaps.get_or_create(&token("0xbb")).inc(); // folded
    assert_eq!(swaps.overflow().get(), 1);
    scrape(&registry);

    swaps.clear();
    assert!(swaps.is_empty());
    let text = scrape(&registry);
    assert!(!text.contains("0xaa"), "{text}");
    assert!(
        text.contains(r#"token_swaps_total{token="__overflow__"} 1"#),
        "{text}"
    );

    swaps.get_or_create(&token("0xbb")).inc();
    assert_eq!(swaps.len(), 1);
    assert_eq!(swaps.overflow().get(), 1, "0xbb got the freed slot");
}

#[test]
fn idle_series_expire_at_scrape_and_are_counted() {
    let registry = Registry::new();
    let timeout = Duration::from_millis(50);
    let swaps = family(
        &registry,
        MetricOptions::new().max_series(2).idle_timeout(timeout),
    );
    assert_eq!(swaps.idle_timeout(), Some(timeout));
    swaps.get_or_create(&token("0xaa")).inc();
    swaps.get_or_create(&token("0xbb")).inc();
    let text = scrape(&registry);
    assert!(text.contains(r#"alerting_series_expired_total{metric="token_swaps_total"} 0"#));

    sleep(timeout * 2);
    // 0xaa is looked up again between the two scrapes; 0xbb is not.
    swaps.get_or_create(&token("0xaa")).inc();
    let text = scrape(&registry);
    assert!(
        text.contains(r#"token_swaps_total{token="0xaa"} 2"#),
        "{text}"
    );
    assert!(!text.contains("0xbb"), "0xbb should have expired:\n{text}");
    assert!(
        text.contains(r#"alerting_series_expired_total{metric="token_swaps_total"} 1"#),
        "{text}"
    );
    assert_eq!(swaps.expired().map(Counter::get), Some(1));
    assert_eq!(swaps.len(), 1);

    // Its slot is free: a new token gets a series of its own.
    swaps.get_or_create(&token("0xcc")).inc();
    assert_eq!(swaps.overflow().get(), 0);
    assert_promtool_accepts(&scrape(&registry));

    // Nothing looked up any more: both go at the first scrape past the
    // timeout.
    sleep(timeout * 2);
    let text = scrape(&registry);
    assert!(!text.contains("0xaa") && !text.contains("0xcc"), "{text}");
    assert_eq!(swaps.expired().map(Counter::get), Some(3));
    assert!(swaps.is_empty());
}

#[test]
fn series_do_not_expire_without_a_scrape_or_before_the_timeout() {
    let registry = Registry::new();
    let swaps = family(
        &registry,
        MetricOptions::new().idle_timeout(Duration::from_secs(3600)),
    );
    swaps.get_or_create(&token("0xaa")).inc();
    for _ in 0..3 {
        scrape(&registry);
    }
    assert_eq!(swaps.len(), 1);
    assert_eq!(swaps.expired().map(Counter::get), Some(0));

    // Without an idle timeout there is no expiry counter at all.
    let other = Registry::new();
    let plain = family(&other, MetricOptions::new());
    assert!(plain.expired().is_none());
    plain.get_or_create(&token("0xaa")).inc();
    assert!(!scrape(&other).contains("alerting_series_expired_total"));
}

#[test]
fn zero_idle_timeout_is_a_typed_error_naming_the_metric() {
    let registry = Registry::new();
    let err = registry
        .register_with::<DynamicFamily<Token, Counter>>(
            "token_swaps_total",
            "Swaps seen, by token",
            MetricOptions::new().idle_timeout(Duration::ZERO),
        )
        .unwrap_err();
    assert!(matches!(&err, MetricsError::ZeroIdleTimeout { name } if name == "token_swaps_total"));
    assert_eq!(
        err.to_string(),
        "metric `token_swaps_total`: idle_timeout must be longer than 0"
    );
}

#[test]
fn concurrent_churn_keeps_the_limit_and_the_count() {
    const MAX: usize = 64;
    let registry = Registry::new();
    let swaps = family(&registry, MetricOptions::new().max_series(MAX));
    std::thread::scope(|s| {
        for t in 0..2 {
            let swaps = &swaps;
            s.spawn(move || {
                for i in 0..5_000 {
                    let labels = token(&format!("{t}-{}", i % 200));
                    swaps.get_or_create(&labels).inc();
                    if i % 3 == 0 {
                        swaps.remove(&labels);
                    }
                }
            });
        }
        s.spawn(|| {
            for _ in 0..50 {
                scrape(&registry);
            }
        });
    });
    assert!(swaps.len() <= MAX);
    let text = scrape(&registry);
    let exported = text
        .lines()
        .filter(|l| l.starts_with("token_swaps_total{") && !l.contains("__overflow__"))
        .count();
    assert_eq!(exported, swaps.len(), "{text}");
}
