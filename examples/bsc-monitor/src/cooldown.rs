//! Per-token cool-down: after an alert, the token stays quiet for the
//! configured minutes plus a deterministic jitter. Kept in this process, or
//! in a Redis shared by every instance (`cooldown.redis_url`), so that
//! several instances on one feed send each alert once.

use std::time::Duration;

use alerting_core::cooldown::{CooldownStore, MemoryStore, RedisStore, RedisStoreError};
use alerting_core::metrics::Registry;

use crate::config::CooldownConfig;
use crate::rng::{Rng, hash};

/// Where the claims live.
#[derive(Debug)]
enum Store {
    Memory(MemoryStore),
    Redis(RedisStore),
}

/// Per-token cool-down.
#[derive(Debug)]
pub struct Cooldown {
    period: Duration,
    jitter: Duration,
    seed: u64,
    store: Store,
}

impl Cooldown {
    /// A cool-down in this process with this period and jitter; `seed`
    /// makes the jitter repeatable.
    pub fn new(config: &CooldownConfig, seed: u64) -> Self {
        Self {
            period: crate::config::secs(config.minutes * 60.0),
            jitter: crate::config::secs(config.jitter_secs),
            seed,
            store: Store::Memory(MemoryStore::new()),
        }
    }

    /// As [`Cooldown::new`], in the configured Redis if `redis_url` is set
    /// (its metrics registered in `registry`).
    ///
    /// # Errors
    ///
    /// The URL is not a Redis URL, or the metrics' names are taken.
    pub fn from_config(
        config: &CooldownConfig,
        seed: u64,
        registry: &Registry,
    ) -> Result<Self, RedisStoreError> {
        let mut cooldown = Self::new(config, seed);
        if !config.redis_url.is_empty() {
            cooldown.store = Store::Redis(
                RedisStore::builder(config.redis_url.as_str())
                    .prefix(config.redis_prefix.as_str())
                    .metrics(registry)
                    .build()?,
            );
        }
        Ok(cooldown)
    }

    /// The Redis store, when the cool-down is shared.
    pub fn redis(&self) -> Option<&RedisStore> {
        match &self.store {
            Store::Redis(r) => Some(r),
            Store::Memory(_) => None,
        }
    }

    /// How long `token` stays quiet after an alert: the period plus its
    /// jitter (the same on every instance with the same seed).
    pub fn quiet_for(&self, token: &str) -> Duration {
        self.period
            + self
                .jitter
                .mul_f64(Rng::new(self.seed ^ hash(token)).unit())
    }

    /// Takes the token's slot if it is not cooling down (returns true: send
    /// the alert), or returns false (a cool-down hit). Taking the slot and
    /// checking it is one step, here and across instances sharing a Redis,
    /// so two swaps of a token cannot both alert.
    pub async fn try_acquire(&self, token: &str) -> bool {
        let ttl = self.quiet_for(token);
        match &self.store {
            Store::Memory(m) => m.claim(token, ttl).await.is_claimed(),
            Store::Redis(r) => r.claim(token, ttl).await.is_claimed(),
        }
    }

    /// Gives the slot back (the alert could not be sent anywhere).
    pub async fn release(&self, token: &str) {
        match &self.store {
            Store::Memory(m) => m.release(token).await,
            Store::Redis(r) => r.release(token).await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_token_is_quiet_until_released() {
        let c = Cooldown::new(&CooldownConfig::default(), 1);
        assert!(c.try_acquire("a").await);
        assert!(!c.try_acquire("a").await);
        assert!(c.try_acquire("b").await, "tokens are independent");
        c.release("a").await;
        assert!(c.try_acquire("a").await);
    }

    #[test]
    fn jitter_is_within_bounds_and_repeatable() {
        let config = CooldownConfig {
            minutes: 1.0,
            jitter_secs: 10.0,
            ..CooldownConfig::default()
        };
        let quiet = |seed| Cooldown::new(&config, seed).quiet_for("a");
        let a = quiet(5);
        assert!(
            a >= Duration::from_secs(60) && a <= Duration::from_secs(70),
            "{a:?}"
        );
        assert_eq!(quiet(5), a, "same seed, same jitter");
        let spread: std::collections::BTreeSet<_> = (0..20).map(quiet).collect();
        assert!(spread.len() > 10, "the seed moves the jitter: {spread:?}");
    }
}
