//! Alert sinks: the log and a webhook (HTTP POST of a Telegram-style
//! `sendMessage` payload). Delivery is inline in the message's task, so
//! shutdown's drain is what flushes them: nothing is buffered.

use std::time::Duration;

use alerting_core::health::HealthHandle;
use alerting_core::instrumented;
use axum::http::Method;
use serde_json::json;

use crate::filters::MarketData;
use crate::http::{self, HttpClient};
use crate::metrics::{AlertSent, BscMetrics, CallResult, Chain, Channel, MarketType};

/// One alert.
#[derive(Clone, Debug)]
pub struct Alert {
    /// The token.
    pub token: String,
    /// The pair.
    pub pair: String,
    /// The market.
    pub market: MarketType,
    /// The swap's USD amount.
    pub amount_usd: f64,
    /// Whether it was a buy of the token.
    pub buy: bool,
    /// The transaction.
    pub tx: String,
    /// Market data, or none (degraded: amount only).
    pub data: Option<MarketData>,
}

impl Alert {
    /// The message text (Telegram HTML).
    pub fn text(&self) -> String {
        let side = if self.buy { "🟢 BUY" } else { "🔴 SELL" };
        let mut s = format!(
            "{side} <b>${:.0}</b> on the {} market\ntoken <code>{}</code>\npair <code>{}</code>\ntx <code>{}</code>",
            self.amount_usd,
            self.market.as_str(),
            self.token,
            self.pair,
            self.tx
        );
        match &self.data {
            Some(d) => {
                s.push_str(&format!(
                    "\nprice ${:.8} ({:+.1}% 1m, {:+.1}% 5m), volume 5m ${:.0}",
                    d.price_usd,
                    d.price_change[0] * 100.0,
                    d.price_change[1] * 100.0,
                    d.volume_usd[1]
                ));
                if let Some(cap) = d.market_cap_usd {
                    s.push_str(&format!(", market cap ${cap:.0}"));
                }
            }
            None => s.push_str("\n⚠️ market data missing: alert on amount only"),
        }
        s
    }
}

use alerting_core::metrics::EnumLabel as _;

/// The webhook sink.
#[derive(Clone, Debug)]
pub struct Webhook {
    /// `http://` URL.
    pub url: String,
    /// `chat_id` of the payload.
    pub chat_id: String,
    /// Timeout of one POST.
    pub timeout: Duration,
    /// The shared client.
    pub client: HttpClient,
    /// Its pushed health component.
    pub health: HealthHandle,
}

/// Every sink.
#[derive(Clone, Debug)]
pub struct Sinks {
    log: bool,
    webhook: Option<Webhook>,
    metrics: BscMetrics,
}

/// No sink took the alert.
#[derive(Debug, Clone, thiserror::Error)]
#[error("no sink delivered the alert: {0}")]
pub struct SendError(String);

impl Sinks {
    /// The sinks.
    pub fn new(log: bool, webhook: Option<Webhook>, metrics: BscMetrics) -> Self {
        Self {
            log,
            webhook,
            metrics,
        }
    }

    fn count(&self, channel: Channel, ok: bool) {
        let result = if ok {
            CallResult::Ok
        } else {
            CallResult::Error
        };
        self.metrics
            .alerts_sent_total
            .get(AlertSent {
                chain: Chain::Bsc,
                channel,
                result,
            })
            .inc();
    }

    /// Delivers `alert` to every sink; succeeds if one did (or there is
    /// no sink at all).
    ///
    /// # Errors
    ///
    /// [`SendError`] when every configured sink failed.
    #[instrumented]
    pub async fn send_alert(&self, alert: &Alert) -> Result<(), SendError> {
        let mut delivered = !self.log && self.webhook.is_none();
        if self.log {
            tracing::info!(
                target: "bsc_monitor::alert",
                token = %alert.token,
                tx = %alert.tx,
                amount_usd = alert.amount_usd,
                market = alert.market.as_str(),
                degraded = alert.data.is_none(),
                "alert"
            );
            self.count(Channel::Log, true);
            delivered = true;
        }
        let mut error = String::new();
        if let Some(hook) = &self.webhook {
            let payload = json!({
                "chat_id": hook.chat_id,
                "text": alert.text(),
                "parse_mode": "HTML",
                "disable_web_page_preview": true,
            });
            let sent = http::send(
                &hook.client,
                Method::POST,
                &hook.url,
                Some(payload.to_string().into_bytes()),
                hook.timeout,
            )
            .await;
            match sent {
                Ok((s, _)) if s.is_success() => {
                    hook.health.up();
                    self.count(Channel::Webhook, true);
                    delivered = true;
                }
                Ok((s, _)) => {
                    error = format!("webhook answered {s}");
                    hook.health.degraded(error.clone());
                    self.count(Channel::Webhook, false);
                }
                Err(e) => {
                    error = e.to_string();
                    hook.health.degraded(error.clone());
                    self.count(Channel::Webhook, false);
                }
            }
        }
        if delivered {
            Ok(())
        } else {
            Err(SendError(error))
        }
    }
}
