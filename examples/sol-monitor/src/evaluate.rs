//! Evaluating a pair's updates against the templates: the price (the
//! account's lamports, in the simulator a random walk) is kept over the
//! pair's `time_interval`; a template fires when the change from the
//! oldest price in the window reaches its threshold.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::watch;

use crate::alerts::{Alert, Alerter};
use crate::store::{Template, TemplateKind};

/// The most prices kept per pair (a bound on memory whatever the rate).
const MAX_POINTS: usize = 4096;

/// A pair's prices over its window.
#[derive(Debug, Default)]
pub struct Window {
    points: VecDeque<(Instant, f64)>,
}

impl Window {
    /// Adds `price` at `now`, forgets prices older than `interval`, and
    /// returns the change from the oldest one left (a fraction; 0 for the
    /// first price).
    pub fn push(&mut self, now: Instant, price: f64, interval: Duration) -> f64 {
        while let Some((t, _)) = self.points.front() {
            if now.saturating_duration_since(*t) > interval || self.points.len() >= MAX_POINTS {
                self.points.pop_front();
            } else {
                break;
            }
        }
        self.points.push_back((now, price));
        match self.points.front() {
            Some((_, first)) if *first > 0.0 => (price - first) / first,
            _ => 0.0,
        }
    }
}

/// One batch's evaluator (owned by its connection task).
#[derive(Debug)]
pub struct Evaluator {
    batch_id: i64,
    /// Each pair's window length.
    intervals: HashMap<String, Duration>,
    windows: HashMap<String, Window>,
    templates: watch::Receiver<Arc<Vec<Template>>>,
    alerter: Alerter,
}

impl Evaluator {
    /// An evaluator of the pairs (with their windows) of `batch_id`.
    pub fn new(
        batch_id: i64,
        pairs: impl IntoIterator<Item = (String, Duration)>,
        templates: watch::Receiver<Arc<Vec<Template>>>,
        alerter: Alerter,
    ) -> Self {
        Self {
            batch_id,
            intervals: pairs.into_iter().collect(),
            windows: HashMap::new(),
            templates,
            alerter,
        }
    }

    /// A new price of `pair`: fires every template it crosses.
    pub fn observe(&mut self, pair: &str, price: f64) {
        let Some(interval) = self.intervals.get(pair).copied() else {
            return;
        };
        let change =
            self.windows
                .entry(pair.to_owned())
                .or_default()
                .push(Instant::now(), price, interval);
        let templates = Arc::clone(&self.templates.borrow());
        for t in templates.iter() {
            let crossed = match t.kind {
                TemplateKind::PriceChange => change.abs() >= t.threshold,
            };
            if crossed {
                self.alerter.fire(Alert {
                    template_id: t.id,
                    template: t.name.clone(),
                    batch_id: self.batch_id,
                    pair: pair.to_owned(),
                    change,
                    interval,
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_change_is_measured_from_the_oldest_price_in_the_window() {
        let mut w = Window::default();
        let t0 = Instant::now();
        let s = Duration::from_secs;
        assert_eq!(w.push(t0, 100.0, s(60)), 0.0);
        assert!((w.push(t0 + s(10), 110.0, s(60)) - 0.10).abs() < 1e-9);
        assert!((w.push(t0 + s(30), 90.0, s(60)) + 0.10).abs() < 1e-9);
        // 100 is now older than 60 s: the change is from 110.
        assert!((w.push(t0 + s(65), 99.0, s(60)) + 0.10).abs() < 1e-9);
    }

    #[test]
    fn the_window_is_bounded() {
        let mut w = Window::default();
        let t0 = Instant::now();
        for i in 0..(MAX_POINTS * 2) {
            w.push(t0, i as f64, Duration::from_secs(3600));
        }
        assert!(w.points.len() <= MAX_POINTS);
    }
}
