//! From a metric reference to a selector.

use alerting_core::metrics::{MetricRef, Named};

use crate::expr::Selector;

/// `.select()` on anything that names a metric family: a [`MetricRef`] or
/// a [`Named`] metric. The reference types live in `alerting-core`, with
/// the metrics; this trait is what turns them into PromQL.
///
/// ```
/// use std::time::Duration;
/// use alerting_core::metrics::{Counter, Named, Registry};
/// use alerting_rules::{Select, rate};
///
/// let registry = Registry::builder().namespace("bsc").build()?;
/// let sent: Named<Counter> = registry.register("alerts_sent_total", "Alerts sent")?;
/// let expr = rate(sent.select(), Duration::from_secs(300));
/// assert_eq!(expr.to_string(), "rate(bsc_alerts_sent_total[5m])");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub trait Select {
    /// A selector of all the family's series, to narrow with label matchers.
    fn select(&self) -> Selector;
}

impl Select for MetricRef {
    fn select(&self) -> Selector {
        Selector::new(self.clone())
    }
}

impl<M> Select for Named<M> {
    fn select(&self) -> Selector {
        Selector::new(self.metric_ref().clone())
    }
}
