//! Cool-downs that several instances share: one alert per event, not one
//! per instance.
//!
//! A [`CooldownStore`] answers one question atomically: "may I act on
//! `key` now?" The first caller [claims](CooldownStore::claim) the key for
//! a time to live; every other caller, in this process or (with a shared
//! store) in another one, hears [`Claim::Held`] until it expires.
//!
//! - [`MemoryStore`]: in this process; nothing to start. The default.
//! - `RedisStore` (feature `redis`): `SET key owner NX PX ttl` on a Redis
//!   that the instances share. When Redis cannot be reached it falls back
//!   to a [`MemoryStore`] of its own, so the instance keeps working (each
//!   instance then dedups alone), counts the fallback in
//!   `cooldown_store_fallbacks_total`, shows `cooldown_store_shared 0`, and
//!   goes back to Redis by itself once it answers. Pair it with
//!   `RedisCheck` (non-critical), so health says *degraded* meanwhile.
//!
//! ```
//! use std::time::Duration;
//! use alerting_core::cooldown::{Claim, CooldownStore, MemoryStore};
//!
//! # #[tokio::main(flavor = "current_thread")] async fn main() {
//! let store = MemoryStore::new();
//! let ttl = Duration::from_secs(180);
//! assert_eq!(store.claim("token:0xabc", ttl).await, Claim::Claimed);
//! assert_eq!(store.claim("token:0xabc", ttl).await, Claim::Held);
//! // The alert could not be sent: give the slot back for the next event.
//! store.release("token:0xabc").await;
//! assert_eq!(store.claim("token:0xabc", ttl).await, Claim::Claimed);
//! # }
//! ```

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

#[cfg(feature = "redis")]
mod redis_store;
#[cfg(feature = "redis")]
pub use redis_store::{RedisCheck, RedisStore, RedisStoreBuilder, RedisStoreError};

/// What [`CooldownStore::claim`] answers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Claim {
    /// This caller has the key until its time to live ends: act.
    Claimed,
    /// Someone has it (this instance earlier, or another one): do not act.
    Held,
}

impl Claim {
    /// Whether the key was claimed.
    pub fn is_claimed(self) -> bool {
        self == Claim::Claimed
    }
}

/// Claims keys for a time, atomically; see the [module documentation](self).
pub trait CooldownStore: Send + Sync + 'static {
    /// Claims `key` for `ttl` if no one holds it. Never fails: a store that
    /// cannot reach its backend decides locally (and says so in its
    /// metrics).
    fn claim(&self, key: &str, ttl: Duration) -> impl Future<Output = Claim> + Send;

    /// Gives back a key this caller claimed (the action failed and the next
    /// event should be allowed to retry it).
    fn release(&self, key: &str) -> impl Future<Output = ()> + Send;
}

/// Keys held in this process, at most [`MemoryStore::DEFAULT_MAX_KEYS`]
/// (expired keys are dropped when the map is full; past the bound, the
/// oldest claims go first).
#[derive(Debug)]
pub struct MemoryStore {
    until: Mutex<HashMap<String, Instant>>,
    max_keys: usize,
}

impl Default for MemoryStore {
    fn default() -> Self {
        Self::new()
    }
}

impl MemoryStore {
    /// The most keys a store holds by default.
    pub const DEFAULT_MAX_KEYS: usize = 100_000;

    /// An empty store.
    pub fn new() -> Self {
        Self::with_max_keys(Self::DEFAULT_MAX_KEYS)
    }

    /// An empty store holding at most `max_keys` keys (at least 1).
    pub fn with_max_keys(max_keys: usize) -> Self {
        Self {
            until: Mutex::new(HashMap::new()),
            max_keys: max_keys.max(1),
        }
    }

    /// [`claim`](CooldownStore::claim) at the instant `now`, without a
    /// runtime.
    pub fn claim_at(&self, key: &str, ttl: Duration, now: Instant) -> Claim {
        let mut until = self.until.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(t) = until.get(key)
            && now < *t
        {
            return Claim::Held;
        }
        if until.len() >= self.max_keys && !until.contains_key(key) {
            until.retain(|_, t| now < *t);
            if until.len() >= self.max_keys {
                // Still full of live claims: the one ending first goes.
                if let Some(first) = until
                    .iter()
                    .min_by_key(|(_, t)| **t)
                    .map(|(k, _)| k.clone())
                {
                    until.remove(&first);
                }
            }
        }
        // A ttl too large for an `Instant` holds the key "for ever".
        let end = now
            .checked_add(ttl)
            .unwrap_or_else(|| now + Duration::from_secs(100 * 365 * 86_400));
        until.insert(key.to_owned(), end);
        Claim::Claimed
    }

    /// [`release`](CooldownStore::release), without a runtime.
    pub fn release_now(&self, key: &str) {
        self.until
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(key);
    }

    /// Keys held, expired ones included until the next clean-up.
    pub fn len(&self) -> usize {
        self.until
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }

    /// Whether no key is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl CooldownStore for MemoryStore {
    fn claim(&self, key: &str, ttl: Duration) -> impl Future<Output = Claim> + Send {
        std::future::ready(self.claim_at(key, ttl, Instant::now()))
    }

    fn release(&self, key: &str) -> impl Future<Output = ()> + Send {
        self.release_now(key);
        std::future::ready(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_is_held_for_its_ttl() {
        let store = MemoryStore::new();
        let t0 = Instant::now();
        let ttl = Duration::from_secs(60);
        assert_eq!(store.claim_at("a", ttl, t0), Claim::Claimed);
        assert_eq!(
            store.claim_at("a", ttl, t0 + Duration::from_secs(59)),
            Claim::Held
        );
        assert_eq!(
            store.claim_at("b", ttl, t0),
            Claim::Claimed,
            "keys are independent"
        );
        assert_eq!(store.claim_at("a", ttl, t0 + ttl), Claim::Claimed);
        store.release_now("a");
        assert_eq!(store.claim_at("a", ttl, t0), Claim::Claimed);
        // Huge ttls do not overflow.
        assert_eq!(store.claim_at("c", Duration::MAX, t0), Claim::Claimed);
        assert_eq!(
            store.claim_at("c", ttl, t0 + Duration::from_secs(3600)),
            Claim::Held
        );
    }

    #[test]
    fn the_map_stays_bounded() {
        let store = MemoryStore::with_max_keys(3);
        let t0 = Instant::now();
        let long = Duration::from_secs(600);
        for (i, key) in ["a", "b", "c"].into_iter().enumerate() {
            let ttl = long + Duration::from_secs(i as u64);
            assert!(store.claim_at(key, ttl, t0).is_claimed());
        }
        // Full of live claims: the one ending first ("a") makes room.
        assert!(store.claim_at("d", long, t0).is_claimed());
        assert_eq!(store.len(), 3);
        assert!(store.claim_at("a", long, t0).is_claimed(), "a was evicted");
        assert_eq!(store.claim_at("c", long, t0), Claim::Held);
    }
}
