//! Per-token cool-down: after an alert, the token stays quiet for the
//! configured minutes plus a deterministic jitter.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::config::CooldownConfig;
use crate::rng::{Rng, hash};

/// Per-token cool-down.
#[derive(Debug)]
pub struct Cooldown {
    period: Duration,
    jitter: Duration,
    seed: u64,
    until: Mutex<HashMap<String, Instant>>,
}

impl Cooldown {
    /// A cool-down with this period and jitter; `seed` makes the jitter
    /// repeatable.
    pub fn new(config: &CooldownConfig, seed: u64) -> Self {
        Self {
            period: crate::config::secs(config.minutes * 60.0),
            jitter: crate::config::secs(config.jitter_secs),
            seed,
            until: Mutex::new(HashMap::new()),
        }
    }

    /// Takes the token's slot if it is not cooling down (returns true: send
    /// the alert), or returns false (a cool-down hit). Taking the slot and
    /// checking it is one step, so two concurrent swaps of a token cannot
    /// both alert.
    pub fn try_acquire(&self, token: &str, now: Instant) -> bool {
        let mut until = self.until.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(t) = until.get(token)
            && now < *t
        {
            return false;
        }
        if until.len() > 100_000 {
            until.retain(|_, t| now < *t);
        }
        let jitter = self
            .jitter
            .mul_f64(Rng::new(self.seed ^ hash(token)).unit());
        until.insert(token.to_owned(), now + self.period + jitter);
        true
    }

    /// Gives the slot back (the alert could not be sent anywhere).
    pub fn release(&self, token: &str) {
        self.until
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(token);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_is_quiet_for_the_period_plus_jitter() {
        let c = Cooldown::new(
            &CooldownConfig {
                minutes: 1.0,
                jitter_secs: 10.0,
            },
            1,
        );
        let t0 = Instant::now();
        assert!(c.try_acquire("a", t0));
        assert!(!c.try_acquire("a", t0 + Duration::from_secs(59)));
        assert!(c.try_acquire("b", t0), "tokens are independent");
        assert!(c.try_acquire("a", t0 + Duration::from_secs(71)));
    }

    #[test]
    fn jitter_is_within_bounds_and_repeatable() {
        let config = CooldownConfig {
            minutes: 0.0,
            jitter_secs: 10.0,
        };
        let t0 = Instant::now();
        let quiet_for = |seed| {
            let c = Cooldown::new(&config, seed);
            assert!(c.try_acquire("a", t0));
            (0..=100).find(|s| c.try_acquire("a", t0 + Duration::from_millis(s * 100)))
        };
        let a = quiet_for(5).unwrap();
        assert!(a <= 100);
        assert_eq!(quiet_for(5), Some(a), "same seed, same jitter");
    }

    #[test]
    fn release_frees_the_slot() {
        let c = Cooldown::new(&CooldownConfig::default(), 1);
        let t0 = Instant::now();
        assert!(c.try_acquire("a", t0));
        c.release("a");
        assert!(c.try_acquire("a", t0));
    }
}
