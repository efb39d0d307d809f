//! Alerts: a template fired on a pair. Each goes through the cool-down
//! (per template and pair, the library's `MemoryStore`, with a jitter
//! repeatable per seed), then to the sinks (the log, a webhook), counted
//! in `alerts_sent_total{chain="sol",channel,result}` and
//! `cooldown_hits_total{chain="sol"}` (bsc-monitor's names and labels, so
//! one rule covers both), and, once a sink took it, into the alert log.

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use alerting_core::cooldown::MemoryStore;
use alerting_core::logging::redact_url;
use alerting_core::shutdown::WorkKind;
use serde_json::json;

use crate::alert_log::AlertLog;
use crate::config::{CooldownConfig, SinksConfig, secs};
use crate::http::{self, HttpClient, HttpError, is_http_url};
use crate::metrics::{AlertSent, CallResult, Chain, ChainLabel, Channel, SolMetrics};
use crate::rng::{Rng, hash};
use crate::store::AlertRow;
use crate::tls::Tls;

/// One alert.
#[derive(Clone, Debug, PartialEq)]
pub struct Alert {
    /// The template that fired.
    pub template_id: i64,
    /// Its name.
    pub template: String,
    /// The batch of the pair.
    pub batch_id: i64,
    /// The pair.
    pub pair: String,
    /// The price change that crossed the threshold (a fraction).
    pub change: f64,
    /// The window it was measured over.
    pub interval: Duration,
}

impl Alert {
    /// The message text (Telegram HTML).
    pub fn text(&self) -> String {
        format!(
            "{} <b>{:+.1}%</b> in {} s\npair <code>{}</code>\n{}",
            if self.change >= 0.0 { "🟢" } else { "🔴" },
            self.change * 100.0,
            self.interval.as_secs(),
            self.pair,
            self.template
        )
    }
}

/// The webhook sink: a POST of a Telegram-style `sendMessage` payload to
/// an `http://` or `https://` URL, through the pooled client.
#[derive(Clone)]
struct Webhook {
    url: String,
    chat_id: String,
    timeout: Duration,
    client: HttpClient,
}

impl std::fmt::Debug for Webhook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Webhook")
            .field("url", &redact_url(&self.url))
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl Webhook {
    /// `None` unless `url` is an `http://` or `https://` URL.
    fn new(url: &str, chat_id: &str, timeout: Duration, tls: &Tls) -> Option<Self> {
        is_http_url(url).then(|| Self {
            url: url.to_owned(),
            chat_id: chat_id.to_owned(),
            timeout,
            client: http::client(tls),
        })
    }

    /// POSTs `alert` within the timeout (connecting included); `Err`
    /// unless it was accepted (2xx).
    async fn post(&self, alert: &Alert) -> Result<(), HttpError> {
        let body = json!({
            "chat_id": self.chat_id,
            "text": alert.text(),
            "parse_mode": "HTML",
            "disable_web_page_preview": true,
        })
        .to_string();
        http::post_json(&self.client, &self.url, body.into_bytes(), self.timeout)
            .await
            .map(drop)
    }
}

struct Inner {
    log: bool,
    webhook: Option<Webhook>,
    cooldown: MemoryStore,
    period: Duration,
    jitter: Duration,
    seed: u64,
    alert_log: AlertLog,
    metrics: SolMetrics,
    work: WorkKind,
}

/// Sends alerts: cool-down, sinks, counts, alert log. Clones share it.
#[derive(Clone)]
pub struct Alerter {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Alerter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Alerter")
            .field("log", &self.inner.log)
            .field("webhook", &self.inner.webhook)
            .finish_non_exhaustive()
    }
}

impl Alerter {
    /// An alerter with these sinks and cool-down; an `https://` webhook
    /// is verified with `tls`; deliveries are tracked by `work` (so
    /// shutdown waits for them).
    pub fn new(
        sinks: &SinksConfig,
        tls: &Tls,
        cooldown: &CooldownConfig,
        seed: u64,
        alert_log: AlertLog,
        metrics: &SolMetrics,
        work: WorkKind,
    ) -> Self {
        let w = &sinks.webhook;
        Self {
            inner: Arc::new(Inner {
                log: sinks.log.enabled,
                webhook: Webhook::new(&w.url, &w.chat_id, secs(w.timeout_secs), tls),
                cooldown: MemoryStore::new(),
                period: secs(cooldown.secs),
                jitter: secs(cooldown.jitter_secs),
                seed,
                alert_log,
                metrics: metrics.clone(),
                work,
            }),
        }
    }

    /// How long `key` stays quiet after an alert: the period plus its
    /// jitter (repeatable per seed).
    pub fn quiet_for(&self, key: &str) -> Duration {
        let i = &self.inner;
        i.period + i.jitter.mul_f64(Rng::new(i.seed ^ hash(key)).unit())
    }

    /// Sends `alert` unless its template is cooling down on its pair (a
    /// cool-down hit, counted). Returns at once: delivery runs in a task
    /// that shutdown waits for.
    pub fn fire(&self, alert: Alert) {
        let key = format!("{}:{}", alert.template_id, alert.pair);
        let i = &self.inner;
        if !i
            .cooldown
            .claim_at(&key, self.quiet_for(&key), Instant::now())
            .is_claimed()
        {
            i.metrics
                .cooldown_hits_total
                .get(ChainLabel { chain: Chain::Sol })
                .inc();
            return;
        }
        let alert_time = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as i64);
        let this = self.clone();
        i.work.spawn(async move {
            if this.send(&alert).await {
                this.inner.alert_log.record(AlertRow {
                    template_id: alert.template_id,
                    batch_id: alert.batch_id,
                    ca: alert.pair.clone(),
                    value: alert.change,
                    alert_time,
                });
            } else {
                // Nobody got it: the next crossing may try again.
                this.inner.cooldown.release_now(&key);
            }
        });
    }

    fn count(&self, channel: Channel, ok: bool) {
        let result = if ok {
            CallResult::Ok
        } else {
            CallResult::Error
        };
        self.inner
            .metrics
            .alerts_sent_total
            .get(AlertSent {
                chain: Chain::Sol,
                channel,
                result,
            })
            .inc();
    }

    /// Delivers to every sink; true if one took it (or there is none).
    async fn send(&self, alert: &Alert) -> bool {
        let i = &self.inner;
        let mut delivered = !i.log && i.webhook.is_none();
        if i.log {
            tracing::info!(
                target: "sol_monitor::alert",
                template_id = alert.template_id,
                batch_id = alert.batch_id,
                pair = %alert.pair,
                change = alert.change,
                interval_secs = alert.interval.as_secs(),
                "alert"
            );
            self.count(Channel::Log, true);
            delivered = true;
        }
        if let Some(hook) = &i.webhook {
            match hook.post(alert).await {
                Ok(()) => {
                    self.count(Channel::Webhook, true);
                    delivered = true;
                }
                Err(error) => {
                    tracing::warn!(%error, "webhook: alert not delivered");
                    self.count(Channel::Webhook, false);
                }
            }
        }
        delivered
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn webhook_urls() {
        let tls = Tls::new(None).unwrap();
        let timeout = Duration::from_secs(1);
        for url in [
            "http://127.0.0.1:8080/bot/send",
            "http://relay",
            "https://api.telegram.org/bot1:secret/sendMessage",
        ] {
            let w = Webhook::new(url, "1", timeout, &tls).unwrap();
            assert_eq!(w.url, url);
            assert!(!format!("{w:?}").contains("secret"), "{w:?}");
        }
        for url in ["", "relay", "ftp://relay/", "ws://relay"] {
            assert!(Webhook::new(url, "1", timeout, &tls).is_none(), "{url}");
        }
    }
}
