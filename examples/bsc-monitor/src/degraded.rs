//! The degraded-data policy (the seed's item 8, plan B): when the price
//! API has no data for a token, remember it for a short, escalating time
//! (5 minutes, then 30, then an hour by default) instead of a one-hour
//! blackout; one success clears it.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The "no data" cache.
#[derive(Debug)]
pub struct NoDataCache {
    ttls: Vec<Duration>,
    entries: Mutex<HashMap<String, Entry>>,
}

#[derive(Clone, Copy, Debug)]
struct Entry {
    failures: usize,
    until: Instant,
}

impl NoDataCache {
    /// A cache whose n-th consecutive failure lasts `ttls[n-1]` (the last
    /// one for every later failure). `ttls` must not be empty (the
    /// configuration checks it); an empty list means "never cache".
    pub fn new(ttls: Vec<Duration>) -> Self {
        Self {
            ttls,
            entries: Mutex::new(HashMap::new()),
        }
    }

    /// Whether `token` is known to have no data at `now` (skip the API).
    pub fn is_cached(&self, token: &str, now: Instant) -> bool {
        let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        entries.get(token).is_some_and(|e| now < e.until)
    }

    /// Records a failure; returns how long the token is now cached for.
    pub fn failed(&self, token: &str, now: Instant) -> Duration {
        let Some(last) = self.ttls.last().copied() else {
            return Duration::ZERO;
        };
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if entries.len() > 100_000 {
            // Expired entries keep their failure count only while bounded.
            entries.retain(|_, e| now < e.until);
        }
        let entry = entries.entry(token.to_owned()).or_insert(Entry {
            failures: 0,
            until: now,
        });
        entry.failures += 1;
        let ttl = self.ttls.get(entry.failures - 1).copied().unwrap_or(last);
        entry.until = now + ttl;
        ttl
    }

    /// Records a success: forgets the token's failures.
    pub fn succeeded(&self, token: &str) {
        self.entries
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(token);
    }

    /// Tokens cached at `now`.
    pub fn len(&self, now: Instant) -> usize {
        let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        entries.values().filter(|e| now < e.until).count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: Duration = Duration::from_secs(60);

    fn cache() -> NoDataCache {
        NoDataCache::new(vec![5 * MIN, 30 * MIN, 60 * MIN])
    }

    #[test]
    fn failures_escalate_5_30_60_minutes() {
        let c = cache();
        let t0 = Instant::now();
        assert!(!c.is_cached("t", t0));
        assert_eq!(c.failed("t", t0), 5 * MIN);
        assert!(c.is_cached("t", t0 + 4 * MIN));
        assert!(!c.is_cached("t", t0 + 5 * MIN), "short-lived, not an hour");
        let t1 = t0 + 5 * MIN;
        assert_eq!(c.failed("t", t1), 30 * MIN);
        assert_eq!(c.failed("t", t1 + 30 * MIN), 60 * MIN);
        assert_eq!(c.failed("t", t1 + 90 * MIN), 60 * MIN, "capped at the last");
    }

    #[test]
    fn a_success_clears_the_token() {
        let c = cache();
        let t0 = Instant::now();
        c.failed("t", t0);
        c.failed("t", t0);
        c.succeeded("t");
        assert!(!c.is_cached("t", t0));
        assert_eq!(c.failed("t", t0), 5 * MIN, "the escalation restarts");
        assert_eq!(c.len(t0), 1);
    }

    #[test]
    fn tokens_are_independent() {
        let c = cache();
        let t0 = Instant::now();
        c.failed("a", t0);
        assert!(!c.is_cached("b", t0));
    }
}
