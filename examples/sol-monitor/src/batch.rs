//! Spreading accounts over batches of connections, and the reconnect
//! backoff: the pure parts, unit-tested.

use std::time::Duration;

use crate::config::BackoffConfig;
use crate::rng::Rng;

/// One batch: the accounts one connection subscribes to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Batch {
    /// The `batch_id` label: its index, `0`, `1`, ….
    pub id: String,
    /// Its accounts, in configuration order.
    pub accounts: Vec<String>,
}

/// Splits `accounts` into batches of at most `size` (a `size` of 0 is read
/// as 1), in order; the last batch may be smaller. Duplicate accounts are
/// kept once (the first time they appear), so no account is subscribed
/// twice.
pub fn batches(accounts: &[String], size: usize) -> Vec<Batch> {
    let mut seen = std::collections::HashSet::new();
    let unique: Vec<String> = accounts
        .iter()
        .filter(|a| seen.insert(a.as_str()))
        .cloned()
        .collect();
    unique
        .chunks(size.max(1))
        .enumerate()
        .map(|(i, chunk)| Batch {
            id: i.to_string(),
            accounts: chunk.to_vec(),
        })
        .collect()
}

/// Exponential backoff with jitter: attempt `n` (0 after a connection
/// that worked) waits `min(initial * multiplier^n, max)`, less a random
/// fraction of up to `jitter` of it, so batches dropped together do not
/// reconnect together.
#[derive(Clone, Debug)]
pub struct Backoff {
    initial: f64,
    max: f64,
    multiplier: f64,
    jitter: f64,
    attempt: u32,
    rng: Rng,
}

impl Backoff {
    /// A backoff from `config` (validated), its jitter drawn from `seed`.
    pub fn new(config: &BackoffConfig, seed: u64) -> Self {
        Self {
            initial: config.initial_secs,
            max: config.max_secs,
            multiplier: config.multiplier,
            jitter: config.jitter.clamp(0.0, 1.0),
            attempt: 0,
            rng: Rng::new(seed),
        }
    }

    /// The ceiling of attempt `n`'s delay, without jitter.
    pub fn ceiling(&self, attempt: u32) -> Duration {
        // powi of a huge attempt is inf; min caps it. Never NaN: the
        // multiplier is validated finite and at least 1.
        let secs = (self.initial * self.multiplier.powi(attempt.min(1024) as i32)).min(self.max);
        Duration::try_from_secs_f64(secs.max(0.0)).unwrap_or(Duration::ZERO)
    }

    /// The delay before the next attempt; each call is one more attempt.
    pub fn next_delay(&mut self) -> Duration {
        let ceiling = self.ceiling(self.attempt);
        self.attempt = self.attempt.saturating_add(1);
        ceiling.mul_f64(1.0 - self.jitter * self.rng.unit())
    }

    /// Starts over from the initial delay (after a connection that worked).
    pub fn reset(&mut self) {
        self.attempt = 0;
    }

    /// Attempts since the last reset.
    pub fn attempt(&self) -> u32 {
        self.attempt
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn accounts(n: usize) -> Vec<String> {
        (0..n).map(|i| format!("acct{i}")).collect()
    }

    #[test]
    fn batches_cover_every_account_once_in_order() {
        let a = accounts(103);
        let b = batches(&a, 25);
        assert_eq!(b.len(), 5);
        assert_eq!(
            b.iter().map(|b| b.accounts.len()).collect::<Vec<_>>(),
            [25, 25, 25, 25, 3]
        );
        assert_eq!(
            b.iter().map(|b| b.id.as_str()).collect::<Vec<_>>(),
            ["0", "1", "2", "3", "4"]
        );
        let flat: Vec<String> = b.into_iter().flat_map(|b| b.accounts).collect();
        assert_eq!(flat, a);
    }

    #[test]
    fn batches_edge_cases() {
        assert!(batches(&[], 10).is_empty());
        assert_eq!(batches(&accounts(3), 10).len(), 1);
        assert_eq!(batches(&accounts(3), 1).len(), 3);
        assert_eq!(batches(&accounts(3), 0).len(), 3, "size 0 is read as 1");
        let mut dup = accounts(4);
        dup.extend(accounts(4));
        let b = batches(&dup, 3);
        assert_eq!(b.iter().map(|b| b.accounts.len()).sum::<usize>(), 4);
    }

    fn config(jitter: f64) -> BackoffConfig {
        BackoffConfig {
            initial_secs: 0.5,
            max_secs: 8.0,
            multiplier: 2.0,
            jitter,
        }
    }

    #[test]
    fn backoff_doubles_up_to_the_cap_without_jitter() {
        let mut b = Backoff::new(&config(0.0), 1);
        let delays: Vec<f64> = (0..8).map(|_| b.next_delay().as_secs_f64()).collect();
        assert_eq!(delays, [0.5, 1.0, 2.0, 4.0, 8.0, 8.0, 8.0, 8.0]);
        b.reset();
        assert_eq!(b.attempt(), 0);
        assert_eq!(b.next_delay(), Duration::from_millis(500));
    }

    #[test]
    fn backoff_jitter_stays_within_bounds_and_repeats_per_seed() {
        let mut a = Backoff::new(&config(0.5), 42);
        let mut b = Backoff::new(&config(0.5), 42);
        let mut c = Backoff::new(&config(0.5), 43);
        let mut differs = false;
        for n in 0..20 {
            let ceiling = a.ceiling(n);
            let d = a.next_delay();
            assert!(d <= ceiling && d >= ceiling / 2, "{d:?} vs {ceiling:?}");
            assert_eq!(d, b.next_delay());
            differs |= d != c.next_delay();
        }
        assert!(differs, "another seed, other jitter");
    }

    #[test]
    fn backoff_survives_huge_attempt_counts() {
        let mut b = Backoff::new(&config(1.0), 3);
        for _ in 0..5000 {
            assert!(b.next_delay() <= Duration::from_secs(8));
        }
        assert_eq!(b.ceiling(u32::MAX), Duration::from_secs(8));
    }
}
