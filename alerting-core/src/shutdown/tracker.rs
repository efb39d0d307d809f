//! Counts the units of work in flight and wakes the drain when the last
//! one ends after [`Tracker::close`].
//!
//! (tokio-util's `TaskTracker` does this too, behind its `rt` feature,
//! which also builds futures-util's macros; this is the part we use.)

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::sync::Notify;

/// Bit 0: closed. The count of live tokens is the rest, shifted by one.
const CLOSED: usize = 1;
const ONE: usize = 2;

#[derive(Clone, Default)]
pub(crate) struct Tracker {
    inner: Arc<Inner>,
}

#[derive(Default)]
struct Inner {
    state: AtomicUsize,
    idle: Notify,
}

impl Tracker {
    /// A token that counts as one unit of work until it is dropped.
    pub(crate) fn token(&self) -> Token {
        self.inner.state.fetch_add(ONE, Ordering::Relaxed);
        Token {
            inner: Arc::clone(&self.inner),
        }
    }

    /// Live tokens.
    pub(crate) fn len(&self) -> usize {
        self.inner.state.load(Ordering::Acquire) >> 1
    }

    /// From now on, [`wait`](Self::wait) returns once no token is live.
    /// Tokens can still be taken.
    pub(crate) fn close(&self) {
        if self.inner.state.fetch_or(CLOSED, Ordering::AcqRel) == 0 {
            self.inner.idle.notify_waiters();
        }
    }

    /// Waits until the tracker is closed and no token is live.
    pub(crate) async fn wait(&self) {
        loop {
            let idle = self.inner.idle.notified();
            tokio::pin!(idle);
            // Registered before the check, so a wake-up in between is kept.
            idle.as_mut().enable();
            if self.inner.state.load(Ordering::Acquire) == CLOSED {
                return;
            }
            idle.await;
        }
    }
}

/// One unit of work; see [`Tracker::token`].
pub(crate) struct Token {
    inner: Arc<Inner>,
}

impl Drop for Token {
    fn drop(&mut self) {
        if self.inner.state.fetch_sub(ONE, Ordering::AcqRel) == ONE | CLOSED {
            self.inner.idle.notify_waiters();
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[tokio::test]
    async fn wait_returns_when_closed_and_the_last_token_drops() {
        let tracker = Tracker::default();
        let a = tracker.token();
        let b = tracker.token();
        assert_eq!(tracker.len(), 2);
        tracker.close();
        let waiter = tokio::spawn({
            let tracker = tracker.clone();
            async move { tracker.wait().await }
        });
        drop(a);
        tokio::task::yield_now().await;
        assert!(!waiter.is_finished());
        // Taken after close: waited for too.
        let c = tracker.token();
        drop(b);
        tokio::task::yield_now().await;
        assert!(!waiter.is_finished());
        drop(c);
        tokio::time::timeout(Duration::from_secs(10), waiter)
            .await
            .expect("woken")
            .unwrap();
        assert_eq!(tracker.len(), 0);
    }

    #[tokio::test]
    async fn an_idle_tracker_is_done_when_closed() {
        let tracker = Tracker::default();
        let waiter = tokio::spawn({
            let tracker = tracker.clone();
            async move { tracker.wait().await }
        });
        tokio::task::yield_now().await;
        assert!(!waiter.is_finished(), "not closed yet");
        tracker.close();
        tokio::time::timeout(Duration::from_secs(10), waiter)
            .await
            .expect("woken")
            .unwrap();
        // Already closed and idle: at once.
        tracker.wait().await;
    }

    #[test]
    fn tokens_move_across_threads() {
        let tracker = Tracker::default();
        let threads: Vec<_> = (0..4)
            .map(|_| {
                let token = tracker.token();
                std::thread::spawn(move || drop(token))
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        assert_eq!(tracker.len(), 0);
    }
}
