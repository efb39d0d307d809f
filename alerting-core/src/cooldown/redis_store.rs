//! [`RedisStore`]: claims in a Redis the instances share, with a local
//! fallback; [`RedisCheck`]: the matching health check.

use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use redis::aio::{ConnectionManager, ConnectionManagerConfig};

use super::{Claim, CooldownStore, MemoryStore};
use crate::health::{CheckOutcome, HealthCheck};
use crate::metrics::{Counter, Gauge, MetricsError, Registry};

/// Default of [`RedisStoreBuilder::timeout`].
const DEFAULT_TIMEOUT: Duration = Duration::from_millis(250);
/// Default of [`RedisStoreBuilder::retry_after`].
const DEFAULT_RETRY_AFTER: Duration = Duration::from_secs(1);
/// The longest `PX` Redis takes (its limit is a signed 64-bit
/// millisecond count; a century is plenty).
const MAX_TTL: Duration = Duration::from_secs(100 * 365 * 86_400);

/// Deletes the key only if this owner still holds it.
const RELEASE: &str = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end";

/// Why a [`RedisStore`] or [`RedisCheck`] could not be made.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RedisStoreError {
    /// The URL is not a Redis URL (`redis://[user:password@]host[:port][/db]`,
    /// `redis+unix:///path`).
    #[error("invalid Redis URL `{url}`")]
    InvalidUrl {
        /// The URL, its password hidden.
        url: String,
        /// What the client said.
        #[source]
        source: redis::RedisError,
    },
    /// The store's metrics could not be registered.
    #[error("cannot register the cool-down store's metrics")]
    Metrics(#[from] MetricsError),
    /// A timeout or retry interval of zero, or beyond a century.
    #[error("{what} must be between 1 ms and 100 years, not {value:?}")]
    InvalidDuration {
        /// Which setting.
        what: &'static str,
        /// The value given.
        value: Duration,
    },
}

/// `redis://user:secret@host` → `redis://user:***@host`.
fn hide_password(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    match rest.split_once('@') {
        Some((userinfo, host)) => match userinfo.split_once(':') {
            Some((user, _)) => format!("{scheme}://{user}:***@{host}"),
            None => format!("{scheme}://***@{host}"),
        },
        None => url.to_owned(),
    }
}

/// The connection shared by a store and its check, with a short circuit
/// while Redis is unreachable.
struct Link {
    client: redis::Client,
    url: String,
    manager: tokio::sync::Mutex<Option<ConnectionManager>>,
    /// While set and in the future, Redis is not tried.
    paused_until: Mutex<Option<Instant>>,
    timeout: Duration,
    retry_after: Duration,
}

impl Link {
    fn new(url: &str, timeout: Duration, retry_after: Duration) -> Result<Self, RedisStoreError> {
        let client = redis::Client::open(url).map_err(|source| RedisStoreError::InvalidUrl {
            url: hide_password(url),
            source,
        })?;
        Ok(Self {
            client,
            url: hide_password(url),
            manager: tokio::sync::Mutex::new(None),
            paused_until: Mutex::new(None),
            timeout,
            retry_after,
        })
    }

    fn paused(&self) -> bool {
        let paused = self
            .paused_until
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        paused.is_some_and(|t| Instant::now() < t)
    }

    fn pause(&self) {
        *self
            .paused_until
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(Instant::now() + self.retry_after);
    }

    /// Runs `cmd` within the timeout; `Err` with why not.
    async fn query<T: redis::FromRedisValue>(
        &self,
        cmd: &redis::Cmd,
        force: bool,
    ) -> Result<T, String> {
        if !force && self.paused() {
            return Err("paused after a failure".to_owned());
        }
        let attempt = async {
            let mut manager = {
                let mut slot = self.manager.lock().await;
                match &*slot {
                    Some(m) => m.clone(),
                    None => {
                        let config = ConnectionManagerConfig::new()
                            .set_connection_timeout(Some(self.timeout))
                            .set_response_timeout(Some(self.timeout))
                            .set_number_of_retries(1);
                        let m = ConnectionManager::new_with_config(self.client.clone(), config)
                            .await
                            .map_err(|e| e.to_string())?;
                        *slot = Some(m.clone());
                        m
                    }
                }
            };
            cmd.query_async::<T>(&mut manager)
                .await
                .map_err(|e| e.to_string())
        };
        let result = match tokio::time::timeout(self.timeout, attempt).await {
            Ok(result) => result,
            Err(_) => Err(format!("no answer within {:?}", self.timeout)),
        };
        if result.is_err() {
            self.pause();
        }
        result
    }
}

/// Options of a [`RedisStore`]; [`RedisStore::builder`].
#[derive(Debug)]
#[must_use]
pub struct RedisStoreBuilder {
    url: String,
    prefix: String,
    timeout: Duration,
    retry_after: Duration,
    registry: Option<Registry>,
}

impl RedisStoreBuilder {
    /// Prepended to every key (default `cooldown:`): give each service its
    /// own, such as `bsc-monitor:cooldown:`.
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// How long one Redis command may take, connecting included (default
    /// 250 ms); past it, the claim is decided locally.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// After a failure, how long claims go straight to the local fallback
    /// before Redis is tried again (default 1 s), so an outage does not
    /// cost a timeout per claim.
    pub fn retry_after(mut self, retry_after: Duration) -> Self {
        self.retry_after = retry_after;
        self
    }

    /// Registers `cooldown_store_shared` (gauge: 1 while claims go to
    /// Redis, 0 while they fall back to this process) and
    /// `cooldown_store_fallbacks_total` (claims and releases decided
    /// locally because Redis failed) in `registry`.
    pub fn metrics(mut self, registry: &Registry) -> Self {
        self.registry = Some(registry.clone());
        self
    }

    /// The store. It does not connect yet: the first claim does, so a
    /// service starts while Redis is down.
    ///
    /// # Errors
    ///
    /// [`RedisStoreError::InvalidUrl`], [`RedisStoreError::InvalidDuration`],
    /// [`RedisStoreError::Metrics`] (the names are taken).
    pub fn build(self) -> Result<RedisStore, RedisStoreError> {
        for (what, value) in [("timeout", self.timeout), ("retry_after", self.retry_after)] {
            if value < Duration::from_millis(1) || value > MAX_TTL {
                return Err(RedisStoreError::InvalidDuration { what, value });
            }
        }
        let link = Link::new(&self.url, self.timeout, self.retry_after)?;
        let metrics = match &self.registry {
            Some(registry) => {
                let shared: Gauge = registry.register(
                    "cooldown_store_shared",
                    "1 while cool-down claims go to the shared Redis, 0 while this instance decides alone",
                )?;
                let fallbacks: Counter = registry.register(
                    "cooldown_store_fallbacks_total",
                    "Cool-down claims and releases decided locally because Redis failed",
                )?;
                Some((shared, fallbacks))
            }
            None => None,
        };
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default();
        let owner = format!(
            "{}-{nanos:x}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        let store = RedisStore {
            inner: Arc::new(Inner {
                link,
                prefix: self.prefix,
                owner,
                local: MemoryStore::new(),
                shared: AtomicBool::new(true),
                metrics,
            }),
        };
        store.set_shared(true);
        Ok(store)
    }
}

struct Inner {
    link: Link,
    prefix: String,
    /// This store's value in the keys it sets: a release deletes only
    /// keys it still holds.
    owner: String,
    local: MemoryStore,
    shared: AtomicBool,
    metrics: Option<(Gauge, Counter)>,
}

/// Claims in a shared Redis (`SET key owner NX PX ttl`), falling back to
/// this process while Redis is unreachable; see the [module
/// documentation](super).
///
/// ```no_run
/// use std::time::Duration;
/// use alerting_core::cooldown::{CooldownStore, RedisStore};
/// use alerting_core::health::{CheckOptions, HealthRegistry};
/// use alerting_core::metrics::Registry;
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let metrics = Registry::new();
/// let store = RedisStore::builder("redis://127.0.0.1:6379/")
///     .prefix("bsc-monitor:cooldown:")
///     .metrics(&metrics)
///     .build()?;
/// // Down is "degraded": alerts still go out, deduplicated per instance.
/// let health = HealthRegistry::new();
/// health.add_check("redis", CheckOptions::new().critical(false), store.check())?;
///
/// if store.claim("0xabc", Duration::from_secs(180)).await.is_claimed() {
///     // send the alert
/// }
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct RedisStore {
    inner: Arc<Inner>,
}

impl fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisStore")
            .field("url", &self.inner.link.url)
            .field("prefix", &self.inner.prefix)
            .field("shared", &self.is_shared())
            .finish_non_exhaustive()
    }
}

impl RedisStore {
    /// Options for a store on `url` (`redis://[user:password@]host[:port][/db]`).
    pub fn builder(url: impl Into<String>) -> RedisStoreBuilder {
        RedisStoreBuilder {
            url: url.into(),
            prefix: "cooldown:".to_owned(),
            timeout: DEFAULT_TIMEOUT,
            retry_after: DEFAULT_RETRY_AFTER,
            registry: None,
        }
    }

    /// Whether the last claim or release went to Redis (`false` while it
    /// falls back to this process).
    pub fn is_shared(&self) -> bool {
        self.inner.shared.load(Ordering::Relaxed)
    }

    /// A health check on this store's connection: up when Redis answers
    /// `PING`, down (with the reason) otherwise. Register it as
    /// non-critical: without Redis the store still works, alone.
    pub fn check(&self) -> RedisCheck {
        RedisCheck {
            inner: Arc::clone(&self.inner),
        }
    }

    fn set_shared(&self, shared: bool) {
        let was = self.inner.shared.swap(shared, Ordering::Relaxed);
        if shared && !was {
            tracing::info!(
                target: "alerting_core::cooldown",
                url = %self.inner.link.url,
                "Redis answers again: cool-downs are shared",
            );
        }
        if let Some((gauge, fallbacks)) = &self.inner.metrics {
            gauge.set(i64::from(shared));
            if !shared {
                fallbacks.inc();
            }
        }
    }
}

impl CooldownStore for RedisStore {
    async fn claim(&self, key: &str, ttl: Duration) -> Claim {
        let inner = &*self.inner;
        let full = format!("{}{key}", inner.prefix);
        let ms = u64::try_from(ttl.min(MAX_TTL).as_millis())
            .unwrap_or(u64::MAX)
            .max(1);
        let mut cmd = redis::cmd("SET");
        cmd.arg(&full).arg(&inner.owner).arg("NX").arg("PX").arg(ms);
        match inner.link.query::<Option<String>>(&cmd, false).await {
            Ok(reply) => {
                self.set_shared(true);
                if reply.is_some() {
                    Claim::Claimed
                } else {
                    Claim::Held
                }
            }
            Err(error) => {
                if self.is_shared() {
                    tracing::warn!(
                        target: "alerting_core::cooldown",
                        url = %inner.link.url,
                        %error,
                        "Redis unreachable: cool-downs are decided by this instance alone until it answers",
                    );
                }
                self.set_shared(false);
                inner.local.claim_at(&full, ttl, Instant::now())
            }
        }
    }

    async fn release(&self, key: &str) {
        let inner = &*self.inner;
        let full = format!("{}{key}", inner.prefix);
        // Released locally too: the claim may have been made there.
        inner.local.release_now(&full);
        let mut cmd = redis::cmd("EVAL");
        cmd.arg(RELEASE).arg(1).arg(&full).arg(&inner.owner);
        match inner.link.query::<i64>(&cmd, false).await {
            Ok(_) => self.set_shared(true),
            Err(_) => self.set_shared(false),
        }
    }
}

/// A Redis health check: up when Redis answers `PING` within the
/// registry's timeout. Made from a URL ([`RedisCheck::new`]) or from a
/// [`RedisStore`] ([`RedisStore::check`], sharing its connection).
#[derive(Clone)]
pub struct RedisCheck {
    inner: Arc<Inner>,
}

impl fmt::Debug for RedisCheck {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisCheck")
            .field("url", &self.inner.link.url)
            .finish_non_exhaustive()
    }
}

impl RedisCheck {
    /// A check of the Redis at `url`.
    ///
    /// # Errors
    ///
    /// [`RedisStoreError::InvalidUrl`].
    pub fn new(url: &str) -> Result<Self, RedisStoreError> {
        Ok(RedisStore::builder(url).build()?.check())
    }
}

impl HealthCheck for RedisCheck {
    async fn check(&self) -> CheckOutcome {
        // Not short-circuited: the check is how recovery is noticed even
        // when nothing is being claimed.
        match self
            .inner
            .link
            .query::<String>(&redis::cmd("PING"), true)
            .await
        {
            Ok(_) => CheckOutcome::up(),
            Err(error) => CheckOutcome::down(format!("no answer from {}", self.inner.link.url))
                .with_error(error),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_hidden() {
        assert_eq!(
            hide_password("redis://u:secret@h:1/0"),
            "redis://u:***@h:1/0"
        );
        assert_eq!(hide_password("redis://secret@h"), "redis://***@h");
        assert_eq!(hide_password("redis://h:6379"), "redis://h:6379");
        let err = RedisStore::builder("http://u:secret@h")
            .build()
            .unwrap_err();
        assert!(!format!("{err} {err:?}").contains("secret"), "{err:?}");
    }

    #[test]
    fn durations_are_checked() {
        let err = RedisStore::builder("redis://127.0.0.1/")
            .timeout(Duration::ZERO)
            .build()
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "timeout must be between 1 ms and 100 years, not 0ns"
        );
    }
}
