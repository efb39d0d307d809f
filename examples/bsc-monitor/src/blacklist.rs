//! The token blacklist (the seed's four.meme blacklist): tokens rejected
//! before any API call, from `filters.blacklist.tokens` and, optionally, a
//! file, cached in memory for `filters.blacklist.ttl_secs` (the seed's
//! `TTLCache(ttl=60)`).
//!
//! A lookup never waits for the source: within the TTL it is a hit; after
//! it, it is a miss, answered from the list in hand while one refresh runs
//! on tokio's blocking pool. A refresh that fails (the file is gone or has
//! a bad line) keeps the last good list, logs a warning, counts
//! `bsc_blacklist_refreshes_total{result="error"}` and puts the
//! non-critical `blacklist` health component down until a refresh works.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use alerting_core::health::HealthHandle;

use crate::config::{BlacklistConfig, MAX_BLACKLIST_TOKENS};
use crate::metrics::{BscMetrics, CacheLookup, CacheResult, CallResult, Refresh};

/// The largest blacklist file read, bytes (a million addresses with
/// comments).
pub const MAX_FILE_BYTES: u64 = 64 << 20;

/// A blacklist file that cannot be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BlacklistError {
    /// It cannot be read.
    #[error("cannot read `{}`: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// It is larger than [`MAX_FILE_BYTES`] or holds more than
    /// [`MAX_BLACKLIST_TOKENS`] tokens.
    #[error("`{}` is too large: {what}", path.display())]
    TooLarge {
        /// The file.
        path: PathBuf,
        /// Which limit.
        what: String,
    },
    /// A line is not a token address.
    #[error("`{}` line {line}: {text:?} is not a token address (0x and 40 hex digits)", path.display())]
    Line {
        /// The file.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// The line, trimmed, at most 80 characters.
        text: String,
    },
}

/// `text` as a lower-case token address, if it is `0x` and 40 hex digits.
pub fn parse_address(text: &str) -> Option<String> {
    let hex = text
        .strip_prefix("0x")
        .or_else(|| text.strip_prefix("0X"))?;
    (hex.len() == 40 && hex.bytes().all(|b| b.is_ascii_hexdigit()))
        .then(|| format!("0x{}", hex.to_ascii_lowercase()))
}

/// Reads a blacklist file: one address a line; blank lines and text after
/// `#` are ignored.
///
/// # Errors
///
/// [`BlacklistError`] naming the file (and the line).
pub fn read_file(path: &Path) -> Result<Vec<String>, BlacklistError> {
    let read = |source| BlacklistError::Read {
        path: path.to_owned(),
        source,
    };
    let len = std::fs::metadata(path).map_err(read)?.len();
    if len > MAX_FILE_BYTES {
        return Err(BlacklistError::TooLarge {
            path: path.to_owned(),
            what: format!("{len} bytes, at most {MAX_FILE_BYTES}"),
        });
    }
    let text = std::fs::read_to_string(path).map_err(read)?;
    let mut tokens = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.split('#').next().unwrap_or_default().trim();
        if line.is_empty() {
            continue;
        }
        let Some(token) = parse_address(line) else {
            return Err(BlacklistError::Line {
                path: path.to_owned(),
                line: i + 1,
                text: line.chars().take(80).collect(),
            });
        };
        if tokens.len() >= MAX_BLACKLIST_TOKENS {
            return Err(BlacklistError::TooLarge {
                path: path.to_owned(),
                what: format!("more than {MAX_BLACKLIST_TOKENS} tokens"),
            });
        }
        tokens.push(token);
    }
    Ok(tokens)
}

#[derive(Debug)]
struct Cached {
    tokens: Arc<HashSet<String>>,
    /// When the list was last loaded (or a load last failed).
    loaded: Instant,
}

#[derive(Debug)]
struct Inner {
    /// `filters.blacklist.tokens`, always part of the list.
    listed: Vec<String>,
    file: Option<PathBuf>,
    ttl: Duration,
    cached: RwLock<Cached>,
    refreshing: AtomicBool,
    metrics: BscMetrics,
    health: Option<HealthHandle>,
}

/// The blacklist with its TTL cache. Cheap to clone (shared).
#[derive(Clone, Debug)]
pub struct Blacklist {
    inner: Arc<Inner>,
}

impl Blacklist {
    /// A blacklist of `config`'s tokens and file (read now), counted in
    /// `metrics`. `health`, if given, is set down while the file cannot be
    /// refreshed.
    ///
    /// # Errors
    ///
    /// The file cannot be read now ([`BlacklistError`]).
    pub fn new(
        config: &BlacklistConfig,
        metrics: BscMetrics,
        health: Option<HealthHandle>,
    ) -> Result<Self, BlacklistError> {
        let listed: Vec<String> = config
            .tokens
            .iter()
            .filter_map(|t| parse_address(t))
            .collect();
        let inner = Inner {
            listed,
            file: config.file.clone(),
            ttl: crate::config::secs(config.ttl_secs),
            cached: RwLock::new(Cached {
                tokens: Arc::default(),
                loaded: Instant::now(),
            }),
            refreshing: AtomicBool::new(false),
            metrics,
            health,
        };
        let tokens = inner.load()?;
        inner.replace(tokens, Instant::now());
        if let Some(h) = &inner.health {
            h.up();
        }
        Ok(Self {
            inner: Arc::new(inner),
        })
    }

    /// Whether `token` (lower case) is on the list at `now`. Never waits
    /// for the source: past the TTL it starts a refresh in the background
    /// (on tokio's blocking pool, or here when called outside a runtime)
    /// and answers from the list in hand.
    pub fn contains(&self, token: &str, now: Instant) -> bool {
        let inner = &self.inner;
        let (listed, expired) = {
            let cached = inner.cached.read().unwrap_or_else(|e| e.into_inner());
            (
                cached.tokens.contains(token),
                // Only a file can change: a list from the config alone
                // never expires.
                inner.file.is_some() && now.saturating_duration_since(cached.loaded) >= inner.ttl,
            )
        };
        let result = if expired {
            self.refresh_in_background();
            CacheResult::Miss
        } else {
            CacheResult::Hit
        };
        inner
            .metrics
            .bsc_blacklist_lookups_total
            .get(CacheLookup { result })
            .inc();
        listed
    }

    /// The number of tokens on the list in use.
    pub fn len(&self) -> usize {
        self.inner
            .cached
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .tokens
            .len()
    }

    /// Whether the list in use is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Reloads the list from its sources now, at `now`; on failure the
    /// list in use stays, and the failure is counted, logged and returned.
    ///
    /// # Errors
    ///
    /// [`BlacklistError`] when the file cannot be used.
    pub fn refresh(&self, now: Instant) -> Result<(), BlacklistError> {
        self.inner.refresh(now)
    }

    fn refresh_in_background(&self) {
        if self
            .inner
            .refreshing
            .compare_exchange(false, true, Ordering::AcqRel, Ordering::Relaxed)
            .is_err()
        {
            return; // one refresh at a time
        }
        let inner = Arc::clone(&self.inner);
        let run = move || {
            // The error is counted and logged by `refresh`.
            let _ = inner.refresh(Instant::now());
            inner.refreshing.store(false, Ordering::Release);
        };
        match tokio::runtime::Handle::try_current() {
            Ok(handle) => {
                handle.spawn_blocking(run);
            }
            Err(_) => run(),
        }
    }
}

impl Inner {
    /// The configured tokens and the file's.
    fn load(&self) -> Result<HashSet<String>, BlacklistError> {
        let mut tokens: HashSet<String> = self.listed.iter().cloned().collect();
        if let Some(path) = &self.file {
            tokens.extend(read_file(path)?);
        }
        Ok(tokens)
    }

    fn replace(&self, tokens: HashSet<String>, now: Instant) {
        self.metrics.bsc_blacklist_tokens.set(tokens.len() as i64);
        let mut cached = self.cached.write().unwrap_or_else(|e| e.into_inner());
        cached.tokens = Arc::new(tokens);
        cached.loaded = now;
    }

    fn refresh(&self, now: Instant) -> Result<(), BlacklistError> {
        match self.load() {
            Ok(tokens) => {
                self.replace(tokens, now);
                self.counted(CallResult::Ok);
                if let Some(h) = &self.health {
                    h.up();
                }
                Ok(())
            }
            Err(e) => {
                // Keep the last good list, and wait a TTL before trying
                // again rather than re-reading a bad file on every swap.
                let kept = {
                    let mut cached = self.cached.write().unwrap_or_else(|e| e.into_inner());
                    cached.loaded = now;
                    cached.tokens.len()
                };
                self.counted(CallResult::Error);
                tracing::warn!(error = %e, kept, retry_in = ?self.ttl,
                    "blacklist: cannot refresh; keeping the last good list");
                if let Some(h) = &self.health {
                    h.down(format!(
                        "cannot refresh ({e}); using the last good list of {kept} tokens"
                    ));
                }
                Err(e)
            }
        }
    }

    fn counted(&self, result: CallResult) {
        self.metrics
            .bsc_blacklist_refreshes_total
            .get(Refresh { result })
            .inc();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alerting_core::metrics::Registry;

    const A: &str = "0x00000000000000000000000000000000000000aa";
    const B: &str = "0x00000000000000000000000000000000000000bb";
    const C: &str = "0x00000000000000000000000000000000000000cc";

    /// A file in the temporary directory, removed on drop.
    struct TempFile(PathBuf);

    impl TempFile {
        fn new(name: &str, text: &str) -> Self {
            let path = std::env::temp_dir().join(format!(
                "bsc-monitor-blacklist-{}-{name}.txt",
                std::process::id()
            ));
            std::fs::write(&path, text).unwrap();
            Self(path)
        }

        fn write(&self, text: &str) {
            std::fs::write(&self.0, text).unwrap();
        }
    }

    impl Drop for TempFile {
        fn drop(&mut self) {
            let _ = std::fs::remove_file(&self.0);
        }
    }

    fn metrics() -> BscMetrics {
        Registry::new().register_group().unwrap()
    }

    fn config(tokens: &[&str], file: Option<&TempFile>) -> BlacklistConfig {
        BlacklistConfig {
            tokens: tokens.iter().map(|t| (*t).to_owned()).collect(),
            file: file.map(|f| f.0.clone()),
            ttl_secs: 60.0,
        }
    }

    fn lookups(m: &BscMetrics, result: CacheResult) -> u64 {
        m.bsc_blacklist_lookups_total
            .get(CacheLookup { result })
            .get()
    }

    fn refreshes(m: &BscMetrics, result: CallResult) -> u64 {
        m.bsc_blacklist_refreshes_total
            .get(Refresh { result })
            .get()
    }

    #[test]
    fn addresses_are_read_in_any_case_with_comments_and_bad_lines_named() {
        assert_eq!(
            parse_address(&A.to_ascii_uppercase().replace("0X", "0x")),
            Some(A.to_owned())
        );
        assert_eq!(parse_address("0x12"), None);
        assert_eq!(parse_address(&A[2..]), None, "no 0x");
        let f = TempFile::new(
            "parse",
            &format!(
                "# four.meme rugs\n{}\n\n  {B}  # reported\n",
                A.to_ascii_uppercase().replacen("0X", "0x", 1)
            ),
        );
        assert_eq!(read_file(&f.0).unwrap(), [A, B]);
        f.write(&format!("{A}\nnot-an-address\n"));
        let e = read_file(&f.0).unwrap_err();
        assert!(
            matches!(&e, BlacklistError::Line { line: 2, text, .. } if text == "not-an-address"),
            "{e}"
        );
    }

    #[test]
    fn the_configured_list_is_always_a_hit() {
        let m = metrics();
        let b = Blacklist::new(
            &config(&[&A.to_ascii_uppercase().replacen("0X", "0x", 1)], None),
            m.clone(),
            None,
        )
        .unwrap();
        let t0 = Instant::now();
        assert!(b.contains(A, t0));
        assert!(!b.contains(B, t0 + Duration::from_secs(86_400)));
        assert_eq!(lookups(&m, CacheResult::Hit), 2);
        assert_eq!(lookups(&m, CacheResult::Miss), 0);
        assert_eq!(m.bsc_blacklist_tokens.get(), 1);
    }

    #[test]
    fn the_file_is_read_again_once_the_ttl_expires() {
        let m = metrics();
        let f = TempFile::new("ttl", &format!("{B}\n"));
        let b = Blacklist::new(&config(&[A], Some(&f)), m.clone(), None).unwrap();
        let t0 = Instant::now();
        assert!(b.contains(A, t0) && b.contains(B, t0));
        assert!(!b.contains(C, t0));
        assert_eq!(m.bsc_blacklist_tokens.get(), 2);

        f.write(&format!("{C}\n"));
        // Within the TTL: the cached list, a hit.
        assert!(!b.contains(C, t0 + Duration::from_secs(30)));
        assert_eq!(lookups(&m, CacheResult::Hit), 4);
        assert_eq!(refreshes(&m, CallResult::Ok), 0);
        // Past it: a miss, answered from the list in hand, and a refresh
        // (here, outside a runtime, done before returning).
        assert!(b.contains(B, t0 + Duration::from_secs(61)));
        assert_eq!(lookups(&m, CacheResult::Miss), 1);
        assert_eq!(refreshes(&m, CallResult::Ok), 1);
        // The new file, and the configured tokens still.
        let later = Instant::now();
        assert!(b.contains(C, later) && b.contains(A, later));
        assert!(!b.contains(B, later));
        assert_eq!(m.bsc_blacklist_tokens.get(), 2);
    }

    #[tokio::test]
    async fn inside_a_runtime_the_refresh_runs_in_the_background() {
        let m = metrics();
        let f = TempFile::new("background", &format!("{B}\n"));
        let b = Blacklist::new(&config(&[], Some(&f)), m.clone(), None).unwrap();
        f.write(&format!("{C}\n"));
        let expired = Instant::now() + Duration::from_secs(61);
        assert!(b.contains(B, expired), "answered from the list in hand");
        // Bounded wait for the blocking pool; not a timing assertion.
        for _ in 0..500 {
            if refreshes(&m, CallResult::Ok) == 1 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert_eq!(refreshes(&m, CallResult::Ok), 1);
        assert!(b.contains(C, Instant::now()));
    }

    #[test]
    fn a_bad_file_keeps_the_last_good_list() {
        let m = metrics();
        let f = TempFile::new("bad", &format!("{B}\n"));
        let b = Blacklist::new(&config(&[A], Some(&f)), m.clone(), None).unwrap();
        let t0 = Instant::now();

        f.write(&format!("{C}\n0xnope\n"));
        assert!(matches!(
            b.refresh(t0),
            Err(BlacklistError::Line { line: 2, .. })
        ));
        assert!(b.contains(B, t0) && b.contains(A, t0));
        assert!(!b.contains(C, t0));
        assert_eq!(refreshes(&m, CallResult::Error), 1);
        assert_eq!(m.bsc_blacklist_tokens.get(), 2);

        std::fs::remove_file(&f.0).unwrap();
        assert!(matches!(b.refresh(t0), Err(BlacklistError::Read { .. })));
        assert!(b.contains(B, t0));
        assert_eq!(refreshes(&m, CallResult::Error), 2);

        // A failed refresh waits a TTL before the next try (no re-read on
        // every swap)...
        assert!(b.contains(B, t0 + Duration::from_secs(30)));
        assert_eq!(lookups(&m, CacheResult::Miss), 0);
        // ...and once the file is good again the list follows.
        f.write(&format!("{C}\n"));
        assert!(b.contains(B, t0 + Duration::from_secs(60)));
        assert_eq!(refreshes(&m, CallResult::Ok), 1);
        assert!(b.contains(C, Instant::now()) && !b.contains(B, Instant::now()));
    }
}
