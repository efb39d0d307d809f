//! Signal handlers: the first signal begins shutdown, later ones force it.

use std::sync::{Arc, Weak};

use super::{Inner, Trigger, begin};

/// The installed handlers, waiting to be forwarded.
pub(super) struct Signals {
    #[cfg(unix)]
    terminate: tokio::signal::unix::Signal,
    #[cfg(unix)]
    interrupt: tokio::signal::unix::Signal,
}

impl Signals {
    /// Installs the handlers; needs a runtime context.
    #[cfg(unix)]
    pub(super) fn new() -> std::io::Result<Self> {
        use tokio::signal::unix::{SignalKind, signal};
        Ok(Self {
            terminate: signal(SignalKind::terminate())?,
            interrupt: signal(SignalKind::interrupt())?,
        })
    }

    /// Nothing to install up front where there are no Unix signals.
    #[cfg(not(unix))]
    pub(super) fn new() -> std::io::Result<Self> {
        Ok(Self {})
    }

    #[cfg(unix)]
    async fn next(&mut self) -> Option<Trigger> {
        tokio::select! {
            s = self.terminate.recv() => s.map(|()| Trigger::Sigterm),
            s = self.interrupt.recv() => s.map(|()| Trigger::Sigint),
        }
    }

    #[cfg(not(unix))]
    async fn next(&mut self) -> Option<Trigger> {
        tokio::signal::ctrl_c().await.ok().map(|()| Trigger::CtrlC)
    }

    /// Begins shutdown on the first signal and forces it on every later
    /// one, until the coordinator is gone.
    pub(super) async fn forward(mut self, inner: Weak<Inner>) {
        while let Some(trigger) = self.next().await {
            let Some(inner) = inner.upgrade() else { return };
            signalled(&inner, trigger);
        }
    }
}

fn signalled(inner: &Arc<Inner>, trigger: Trigger) {
    if !begin(inner, trigger.clone()) {
        tracing::warn!(
            target: "alerting_core::shutdown",
            %trigger,
            "second signal: ending the wait for in-flight work now",
        );
        inner.force.cancel();
    }
}
