//! The two filter layers, with thresholds per market (the seed's
//! `filters.layer1.internal` / `external`, and one layer-2 rule per
//! market). Both are plain, synchronous and cheap; the pipeline counts
//! their verdicts. The blacklist, checked before layer 1's amounts, is in
//! [`crate::blacklist`].

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::config::{Condition, Layer1Config, Layer2Config, Layer2Rule, PriceWindow, Trigger};
use crate::metrics::{MarketType, Reason};

/// Why layer 1 let a swap through.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Layer1Pass {
    /// The swap alone is large enough.
    Single,
    /// The token's swaps in the window add up to enough (internal market).
    Cumulative,
}

/// Layer 1: on the internal market, a single swap of at least
/// `internal.min_amount`, or swaps of one token adding up to
/// `internal.cumulative_min_amount` within the window; on the external
/// market, a single swap of at least `external.min_amount`.
///
/// The cumulative sum of a token restarts after it passes, so one burst
/// gives one pass, not one per later swap.
#[derive(Debug)]
pub struct Layer1 {
    config: Layer1Config,
    window: Duration,
    sums: Mutex<HashMap<String, Vec<(Instant, f64)>>>,
}

impl Layer1 {
    /// A layer 1 with these thresholds.
    pub fn new(config: Layer1Config) -> Self {
        let window = crate::config::secs(config.internal.cumulative_window_secs);
        Self {
            config,
            window,
            sums: Mutex::new(HashMap::new()),
        }
    }

    /// The verdict on a swap of `amount_usd` of `token` on `market` at `now`.
    pub fn check(
        &self,
        token: &str,
        market: MarketType,
        amount_usd: f64,
        now: Instant,
    ) -> Result<Layer1Pass, Reason> {
        let internal = &self.config.internal;
        match market {
            MarketType::External if amount_usd >= self.config.external.min_amount => {
                return Ok(Layer1Pass::Single);
            }
            MarketType::External => return Err(Reason::AmountTooSmall),
            MarketType::Internal if amount_usd >= internal.min_amount => {
                return Ok(Layer1Pass::Single);
            }
            MarketType::Internal => {}
        }
        let mut sums = self.sums.lock().unwrap_or_else(|e| e.into_inner());
        // Bound the memory: forget tokens whose swaps have all expired.
        if sums.len() > 10_000 {
            let window = self.window;
            sums.retain(|_, v| {
                v.last()
                    .is_some_and(|(t, _)| now.duration_since(*t) < window)
            });
        }
        let entries = sums.entry(token.to_owned()).or_default();
        entries.retain(|(t, _)| now.duration_since(*t) < self.window);
        entries.push((now, amount_usd));
        let total: f64 = entries.iter().map(|(_, a)| a).sum();
        if total >= internal.cumulative_min_amount {
            entries.clear();
            Ok(Layer1Pass::Cumulative)
        } else {
            Err(Reason::AmountTooSmall)
        }
    }
}

/// Market data for one token, as the price API reports it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MarketData {
    /// Price in USD.
    pub price_usd: f64,
    /// Relative price change over 1 minute, 5 minutes and 1 hour (0.05 = 5 %).
    pub price_change: [f64; 3],
    /// Volume in USD over 1 minute, 5 minutes and 1 hour.
    pub volume_usd: [f64; 3],
    /// Market cap in USD, if the API reports it.
    pub market_cap_usd: Option<f64>,
}

impl MarketData {
    fn index(window: PriceWindow) -> usize {
        match window {
            PriceWindow::OneMinute => 0,
            PriceWindow::FiveMinutes => 1,
            PriceWindow::OneHour => 2,
        }
    }

    /// The price change over `window`.
    pub fn change(&self, window: PriceWindow) -> f64 {
        self.price_change[Self::index(window)]
    }

    /// The volume over `window`.
    pub fn volume(&self, window: PriceWindow) -> f64 {
        self.volume_usd[Self::index(window)]
    }
}

/// Layer 2: the rule of the token's market, its conditions combined with
/// `any` or `all`.
///
/// A rejected token is counted under the reason of the first condition
/// (in the rule's `conditions` order) that does not hold: with `all`, the
/// one that failed first; with `any`, where every condition failed, the
/// first listed.
#[derive(Clone, Debug)]
pub struct Layer2 {
    config: Layer2Config,
}

impl Layer2 {
    /// A layer 2 with these rules.
    pub fn new(config: Layer2Config) -> Self {
        Self { config }
    }

    /// The verdict on the market data of a token on `market`.
    pub fn check(&self, market: MarketType, data: &MarketData) -> Result<(), Reason> {
        let rule = match market {
            MarketType::Internal => &self.config.internal,
            MarketType::External => &self.config.external,
        };
        let mut first_failed = None;
        for &condition in &rule.conditions {
            match (holds(rule, condition, data), rule.trigger) {
                (Ok(()), Trigger::Any) => return Ok(()),
                (Ok(()), _) => {}
                (Err(reason), Trigger::All) => return Err(reason),
                (Err(reason), _) => {
                    first_failed.get_or_insert(reason);
                }
            }
        }
        first_failed.map_or(Ok(()), Err)
    }
}

fn holds(rule: &Layer2Rule, condition: Condition, data: &MarketData) -> Result<(), Reason> {
    match condition {
        Condition::PriceChange => {
            let c = &rule.price_change;
            // A NaN change fails too.
            (data.change(c.time_window).abs() >= c.threshold)
                .then_some(())
                .ok_or(Reason::PriceChangeTooSmall)
        }
        Condition::Volume => {
            let c = &rule.volume;
            (data.volume(c.time_window) >= c.min_volume)
                .then_some(())
                .ok_or(Reason::VolumeTooSmall)
        }
        Condition::MarketCap => {
            let c = &rule.market_cap;
            data.market_cap_usd
                .filter(|cap| *cap >= c.min && c.max.is_none_or(|max| *cap <= max))
                .map(|_| ())
                .ok_or(Reason::MarketCapOutOfRange)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{
        ExternalLayer1Config, InternalLayer1Config, MarketCapCondition, PriceChangeCondition,
        VolumeCondition,
    };

    use MarketType::{External, Internal};

    fn layer1() -> Layer1 {
        Layer1::new(Layer1Config {
            internal: InternalLayer1Config {
                min_amount: 400.0,
                cumulative_min_amount: 1000.0,
                cumulative_window_secs: 60.0,
            },
            external: ExternalLayer1Config { min_amount: 700.0 },
            ..Layer1Config::default()
        })
    }

    #[test]
    fn each_market_has_its_own_single_swap_minimum() {
        let l = layer1();
        let now = Instant::now();
        assert_eq!(l.check("t", Internal, 400.0, now), Ok(Layer1Pass::Single));
        assert_eq!(
            l.check("u", External, 400.0, now),
            Err(Reason::AmountTooSmall),
            "400 is below the external minimum"
        );
        assert_eq!(l.check("u", External, 700.0, now), Ok(Layer1Pass::Single));
    }

    #[test]
    fn small_internal_swaps_pass_once_they_add_up_in_the_window() {
        let l = layer1();
        let t0 = Instant::now();
        for i in 0..3 {
            assert_eq!(
                l.check("t", Internal, 300.0, t0 + Duration::from_secs(i)),
                Err(Reason::AmountTooSmall)
            );
        }
        // Another token does not count towards this one.
        assert_eq!(
            l.check("u", Internal, 300.0, t0),
            Err(Reason::AmountTooSmall)
        );
        assert_eq!(
            l.check("t", Internal, 300.0, t0 + Duration::from_secs(3)),
            Ok(Layer1Pass::Cumulative)
        );
        // The sum restarted.
        assert_eq!(
            l.check("t", Internal, 300.0, t0 + Duration::from_secs(4)),
            Err(Reason::AmountTooSmall)
        );
    }

    #[test]
    fn external_swaps_have_no_cumulative_amount() {
        let l = layer1();
        let t0 = Instant::now();
        for i in 0..10 {
            assert_eq!(
                l.check("u", External, 600.0, t0 + Duration::from_secs(i)),
                Err(Reason::AmountTooSmall),
                "swap {i}"
            );
        }
    }

    #[test]
    fn swaps_outside_the_window_do_not_count() {
        let l = layer1();
        let t0 = Instant::now();
        for i in 0..3 {
            let _ = l.check("t", Internal, 300.0, t0 + Duration::from_secs(i * 61));
        }
        assert_eq!(
            l.check("t", Internal, 300.0, t0 + Duration::from_secs(200)),
            Err(Reason::AmountTooSmall)
        );
    }

    fn data(change: f64, volume: f64, cap: Option<f64>) -> MarketData {
        MarketData {
            price_usd: 1.0,
            price_change: [0.0, change, 0.0],
            volume_usd: [0.0, volume, 0.0],
            market_cap_usd: cap,
        }
    }

    fn rule(trigger: Trigger, conditions: &[Condition]) -> Layer2Rule {
        Layer2Rule {
            trigger,
            conditions: conditions.to_vec(),
            price_change: PriceChangeCondition {
                threshold: 0.05,
                time_window: PriceWindow::FiveMinutes,
            },
            volume: VolumeCondition {
                min_volume: 1000.0,
                time_window: PriceWindow::FiveMinutes,
            },
            market_cap: MarketCapCondition {
                min: 10_000.0,
                max: Some(100_000.0),
            },
        }
    }

    fn layer2(internal: Layer2Rule, external: Layer2Rule) -> Layer2 {
        Layer2::new(Layer2Config {
            internal,
            external,
            ..Layer2Config::default()
        })
    }

    const ALL3: &[Condition] = &[
        Condition::PriceChange,
        Condition::Volume,
        Condition::MarketCap,
    ];

    #[test]
    fn all_needs_every_condition_and_names_the_first_that_fails() {
        let l = layer2(rule(Trigger::All, ALL3), rule(Trigger::All, ALL3));
        let cap = Some(50_000.0);
        assert_eq!(l.check(Internal, &data(0.06, 2000.0, cap)), Ok(()));
        assert_eq!(
            l.check(Internal, &data(-0.06, 2000.0, cap)),
            Ok(()),
            "a drop counts too"
        );
        assert_eq!(
            l.check(Internal, &data(0.01, 2000.0, cap)),
            Err(Reason::PriceChangeTooSmall)
        );
        assert_eq!(
            l.check(Internal, &data(0.06, 10.0, cap)),
            Err(Reason::VolumeTooSmall)
        );
        assert_eq!(
            l.check(Internal, &data(0.01, 10.0, cap)),
            Err(Reason::PriceChangeTooSmall),
            "the first failing condition"
        );
    }

    #[test]
    fn any_needs_one_condition() {
        let l = layer2(rule(Trigger::Any, ALL3), rule(Trigger::Any, ALL3));
        let (small, big) = (Some(1.0), Some(50_000.0));
        assert_eq!(l.check(External, &data(0.06, 0.0, small)), Ok(()));
        assert_eq!(l.check(External, &data(0.0, 2000.0, small)), Ok(()));
        assert_eq!(l.check(External, &data(0.0, 0.0, big)), Ok(()));
        assert_eq!(
            l.check(External, &data(0.0, 0.0, small)),
            Err(Reason::PriceChangeTooSmall),
            "none holds: the first listed"
        );
        let l = layer2(
            rule(Trigger::Any, &[Condition::MarketCap, Condition::Volume]),
            rule(Trigger::Any, ALL3),
        );
        assert_eq!(
            l.check(Internal, &data(0.0, 0.0, small)),
            Err(Reason::MarketCapOutOfRange)
        );
    }

    #[test]
    fn market_cap_is_a_range_and_a_missing_cap_fails_it() {
        let only_cap = rule(Trigger::All, &[Condition::MarketCap]);
        let l = layer2(only_cap.clone(), only_cap);
        for (cap, expected) in [
            (Some(10_000.0), Ok(())),
            (Some(100_000.0), Ok(())),
            (Some(9_999.0), Err(Reason::MarketCapOutOfRange)),
            (Some(100_001.0), Err(Reason::MarketCapOutOfRange)),
            (None, Err(Reason::MarketCapOutOfRange)),
        ] {
            assert_eq!(l.check(Internal, &data(0.0, 0.0, cap)), expected, "{cap:?}");
        }
        // No maximum.
        let mut open = rule(Trigger::All, &[Condition::MarketCap]);
        open.market_cap.max = None;
        let l = layer2(open.clone(), open);
        assert_eq!(l.check(External, &data(0.0, 0.0, Some(1e12))), Ok(()));
    }

    #[test]
    fn each_market_has_its_own_rule() {
        let l = layer2(
            rule(Trigger::All, &[Condition::PriceChange]),
            rule(Trigger::All, &[Condition::Volume]),
        );
        let d = data(0.06, 10.0, None);
        assert_eq!(l.check(Internal, &d), Ok(()));
        assert_eq!(l.check(External, &d), Err(Reason::VolumeTooSmall));
    }

    #[test]
    fn windows_pick_the_matching_figure() {
        let mut r = rule(Trigger::All, &[Condition::PriceChange, Condition::Volume]);
        r.price_change.time_window = PriceWindow::OneHour;
        r.volume.time_window = PriceWindow::OneMinute;
        let l = layer2(r.clone(), r);
        let d = MarketData {
            price_usd: 1.0,
            price_change: [0.0, 0.0, 0.2],
            volume_usd: [5000.0, 0.0, 0.0],
            market_cap_usd: None,
        };
        assert_eq!(l.check(Internal, &d), Ok(()));
    }
}
