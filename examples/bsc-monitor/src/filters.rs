//! The two filter layers. Both are plain, synchronous and cheap; the
//! pipeline counts their verdicts.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::config::{Layer1Config, Layer2Config, PriceWindow};
use crate::metrics::Reason;

/// Why layer 1 let a swap through.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Layer1Pass {
    /// The swap alone is large enough.
    Single,
    /// The token's swaps in the window add up to enough.
    Cumulative,
}

/// Layer 1: a single swap of at least `min_amount_usd`, or swaps of one
/// token adding up to `cumulative_min_amount_usd` within the window.
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
        let window = crate::config::secs(config.cumulative_window_secs);
        Self {
            config,
            window,
            sums: Mutex::new(HashMap::new()),
        }
    }

    /// The verdict on a swap of `amount_usd` of `token` at `now`.
    pub fn check(&self, token: &str, amount_usd: f64, now: Instant) -> Result<Layer1Pass, Reason> {
        if amount_usd >= self.config.min_amount_usd {
            return Ok(Layer1Pass::Single);
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
        if total >= self.config.cumulative_min_amount_usd {
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

/// Layer 2: the absolute price change over the window and the volume.
#[derive(Clone, Debug)]
pub struct Layer2 {
    config: Layer2Config,
}

impl Layer2 {
    /// A layer 2 with these thresholds.
    pub fn new(config: Layer2Config) -> Self {
        Self { config }
    }

    /// The verdict on a token's market data.
    pub fn check(&self, data: &MarketData) -> Result<(), Reason> {
        let window = self.config.price_window;
        if data.change(window).abs() < self.config.min_price_change {
            return Err(Reason::PriceChangeTooSmall);
        }
        if data.volume(window) < self.config.min_volume_usd {
            return Err(Reason::VolumeTooSmall);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layer1() -> Layer1 {
        Layer1::new(Layer1Config {
            min_amount_usd: 400.0,
            cumulative_min_amount_usd: 1000.0,
            cumulative_window_secs: 60.0,
        })
    }

    #[test]
    fn a_large_swap_passes_alone() {
        let l = layer1();
        assert_eq!(l.check("t", 400.0, Instant::now()), Ok(Layer1Pass::Single));
    }

    #[test]
    fn small_swaps_pass_once_they_add_up_in_the_window() {
        let l = layer1();
        let t0 = Instant::now();
        for i in 0..3 {
            assert_eq!(
                l.check("t", 300.0, t0 + Duration::from_secs(i)),
                Err(Reason::AmountTooSmall)
            );
        }
        // Another token does not count towards this one.
        assert_eq!(l.check("u", 300.0, t0), Err(Reason::AmountTooSmall));
        assert_eq!(
            l.check("t", 300.0, t0 + Duration::from_secs(3)),
            Ok(Layer1Pass::Cumulative)
        );
        // The sum restarted.
        assert_eq!(
            l.check("t", 300.0, t0 + Duration::from_secs(4)),
            Err(Reason::AmountTooSmall)
        );
    }

    #[test]
    fn swaps_outside_the_window_do_not_count() {
        let l = layer1();
        let t0 = Instant::now();
        for i in 0..3 {
            let _ = l.check("t", 300.0, t0 + Duration::from_secs(i * 61));
        }
        assert_eq!(
            l.check("t", 300.0, t0 + Duration::from_secs(200)),
            Err(Reason::AmountTooSmall)
        );
    }

    #[test]
    fn layer2_checks_change_then_volume_over_the_window() {
        let l = Layer2::new(Layer2Config {
            min_price_change: 0.05,
            price_window: PriceWindow::FiveMinutes,
            min_volume_usd: 1000.0,
        });
        let data = |change: f64, volume: f64| MarketData {
            price_usd: 1.0,
            price_change: [0.0, change, 0.0],
            volume_usd: [0.0, volume, 0.0],
        };
        assert_eq!(l.check(&data(0.06, 2000.0)), Ok(()));
        assert_eq!(l.check(&data(-0.06, 2000.0)), Ok(()), "a drop counts too");
        assert_eq!(
            l.check(&data(0.01, 2000.0)),
            Err(Reason::PriceChangeTooSmall)
        );
        assert_eq!(l.check(&data(0.06, 10.0)), Err(Reason::VolumeTooSmall));
    }
}
