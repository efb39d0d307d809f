//! One batch's connection: connect, subscribe every account of the batch,
//! read notifications, and on any failure reconnect after a backoff,
//! counting why.

use std::time::Duration;

use alerting_core::health::HealthHandle;
use alerting_core::instrumented;
use alerting_core::logging::redact_url;
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::tls::Tls;
use tokio_util::sync::CancellationToken;

use crate::batch::{Backoff, Batch};
use crate::config::SubscriptionKind;
use crate::evaluate::Evaluator;
use crate::metrics::{BatchMetrics, Reason};

/// A client WebSocket.
pub type WsStream = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// A connection attempt that failed.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{reason:?}: {message}")]
pub struct Failure {
    /// The `reason` label it is counted under.
    pub reason: Reason,
    /// What happened.
    pub message: String,
}

/// A notification that could not be read.
#[derive(Debug, Clone, thiserror::Error)]
#[error("malformed notification: {0}")]
pub struct DecodeError(&'static str);

/// A notification, read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Update {
    /// Whether it carried data.
    pub has_data: bool,
    /// Its subscription id.
    pub subscription: Option<u64>,
    /// The account's lamports (account notifications with data).
    pub lamports: Option<u64>,
}

/// Reads one message: `Ok(Some(update))` for an account or logs
/// notification, `Ok(None)` for anything else that is valid JSON-RPC (an
/// answer), [`DecodeError`] otherwise. Never panics, whatever the input.
///
/// # Errors
///
/// [`DecodeError`] if the message is not JSON, or a notification without
/// its `value`.
#[instrumented]
pub fn process_account_update(text: &str) -> Result<Option<Update>, DecodeError> {
    let v: Value = serde_json::from_str(text).map_err(|_| DecodeError("not JSON"))?;
    let value = match v["method"].as_str() {
        Some("accountNotification" | "logsNotification") => &v["params"]["result"]["value"],
        Some(_) => return Ok(None),
        None if v.get("id").is_some() => return Ok(None),
        None => return Err(DecodeError("neither a notification nor an answer")),
    };
    let subscription = v["params"]["subscription"].as_u64();
    let update = |has_data, lamports| {
        Ok(Some(Update {
            has_data,
            subscription,
            lamports,
        }))
    };
    if v["method"] == "accountNotification" {
        // A deleted or emptied account: `value` null, or data "".
        if value.is_null() {
            return update(false, None);
        }
        let data = value["data"][0]
            .as_str()
            .ok_or(DecodeError("account data missing"))?;
        if data.is_empty() {
            return update(false, None);
        }
        update(true, value["lamports"].as_u64())
    } else {
        let logs = value["logs"]
            .as_array()
            .ok_or(DecodeError("logs missing"))?;
        update(!logs.is_empty(), None)
    }
}

/// Each account subscription's id → its account.
pub type Subscriptions = std::collections::HashMap<u64, String>;

fn subscribe_request(id: u64, kind: SubscriptionKind, account: &str) -> String {
    let (method, params) = match kind {
        SubscriptionKind::Logs => (
            "logsSubscribe",
            json!([{ "mentions": [account] }, { "commitment": "confirmed" }]),
        ),
        _ => (
            "accountSubscribe",
            json!([account, { "encoding": "base64", "commitment": "confirmed" }]),
        ),
    };
    json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}).to_string()
}

/// Connects to `url` and subscribes every account of `batch`; returns once
/// every subscription is confirmed, with the account of each account
/// subscription. Notifications that arrive meanwhile are counted into
/// `metrics`.
///
/// # Errors
///
/// [`Failure`] with reason `error` (cannot connect, refused, socket
/// error) or `closed` (the node closed the socket first).
#[instrumented(function = "resubscribe_batch")]
pub async fn subscribe_batch(
    url: &str,
    tls: &Tls,
    batch: &Batch,
    kind: SubscriptionKind,
    metrics: &BatchMetrics,
) -> Result<(WsStream, Subscriptions), Failure> {
    let fail = |reason, message: String| Failure { reason, message };
    let (mut ws, _) =
        tokio_tungstenite::connect_async_tls_with_config(url, None, true, Some(tls.ws_connector()))
            .await
            .map_err(|e| {
                fail(
                    Reason::Error,
                    format!("cannot connect to {}: {e}", redact_url(url)),
                )
            })?;
    let kinds: &[SubscriptionKind] = match kind {
        SubscriptionKind::Both => &[SubscriptionKind::Account, SubscriptionKind::Logs],
        SubscriptionKind::Logs => &[SubscriptionKind::Logs],
        _ => &[SubscriptionKind::Account],
    };
    let mut expected = 0u64;
    // Request id → account, for account subscriptions.
    let mut requests = std::collections::HashMap::new();
    for kind in kinds {
        for account in &batch.accounts {
            expected += 1;
            if *kind == SubscriptionKind::Account {
                requests.insert(expected, account.clone());
            }
            let request = subscribe_request(expected, *kind, account);
            ws.feed(Message::text(request))
                .await
                .map_err(|e| fail(Reason::Error, format!("cannot subscribe: {e}")))?;
        }
    }
    ws.flush()
        .await
        .map_err(|e| fail(Reason::Error, format!("cannot subscribe: {e}")))?;
    let mut confirmed = 0u64;
    let mut subscriptions = Subscriptions::new();
    while confirmed < expected {
        let text = match ws.next().await {
            Some(Ok(Message::Text(text))) => text,
            Some(Ok(Message::Close(_))) | None => {
                return Err(fail(Reason::Closed, "closed while subscribing".into()));
            }
            Some(Err(e)) => return Err(fail(Reason::Error, e.to_string())),
            Some(Ok(_)) => continue,
        };
        let Ok(v) = serde_json::from_str::<Value>(&text) else {
            continue;
        };
        if let Some(e) = v.get("error") {
            return Err(fail(
                Reason::Error,
                format!("subscription refused: {}", e["message"]),
            ));
        }
        if v.get("id").is_some() && v.get("result").is_some() {
            confirmed += 1;
            if let (Some(id), Some(sub)) = (v["id"].as_u64(), v["result"].as_u64())
                && let Some(account) = requests.remove(&id)
            {
                subscriptions.insert(sub, account);
            }
        } else {
            count(metrics, None, None, &text);
        }
    }
    Ok((ws, subscriptions))
}

/// Counts one message; an account's new price goes to `evaluate`.
fn count(
    metrics: &BatchMetrics,
    health: Option<&HealthHandle>,
    evaluate: Option<(&mut Evaluator, &Subscriptions)>,
    text: &str,
) -> bool {
    match process_account_update(text) {
        Ok(Some(u)) if u.has_data => {
            metrics.with_data.inc();
            if let Some(h) = health {
                h.saw_data();
            }
            if let (Some((evaluator, subs)), Some(sub), Some(lamports)) =
                (evaluate, u.subscription, u.lamports)
                && let Some(account) = subs.get(&sub)
            {
                evaluator.observe(account, lamports as f64);
            }
            true
        }
        Ok(Some(_)) => {
            metrics.without_data.inc();
            false
        }
        Ok(None) => false,
        Err(e) => {
            tracing::debug!(error = %e, "skipped a message");
            false
        }
    }
}

/// A batch's connection task.
#[derive(Debug)]
pub struct BatchConnection {
    /// The batch.
    pub batch: Batch,
    /// The node.
    pub url: String,
    /// Verifies `wss://` nodes.
    pub tls: Tls,
    /// Which subscriptions.
    pub kind: SubscriptionKind,
    /// Time to connect and confirm every subscription.
    pub connect_timeout: Duration,
    /// Longest wait for a notification with data.
    pub no_data_timeout: Duration,
    /// Reconnect delays.
    pub backoff: Backoff,
    /// Its series.
    pub metrics: BatchMetrics,
    /// Its health component.
    pub health: HealthHandle,
    /// Cancelled at shutdown, or when the batch leaves the store.
    pub stop: CancellationToken,
    /// Evaluates its pairs' prices against the templates.
    pub evaluator: Evaluator,
}

impl BatchConnection {
    /// Runs until `stop`: connects, reads, reconnects.
    pub async fn run(mut self) {
        let id = self.batch.id.clone();
        loop {
            let attempt = tokio::select! {
                _ = self.stop.cancelled() => break,
                r = tokio::time::timeout(
                    self.connect_timeout,
                    subscribe_batch(&self.url, &self.tls, &self.batch, self.kind, &self.metrics),
                ) => r,
            };
            let (reason, message) = match attempt {
                Ok(Ok((ws, subscriptions))) => {
                    tracing::info!(batch_id = %id, accounts = self.batch.accounts.len(), "subscribed");
                    self.backoff.reset();
                    self.metrics.active.set(1);
                    self.health.up();
                    let ended = self.read(ws, &subscriptions).await;
                    self.metrics.active.set(0);
                    match ended {
                        Some(ended) => ended,
                        None => break,
                    }
                }
                Ok(Err(failure)) => (failure.reason, failure.message),
                Err(_) => (
                    Reason::Timeout,
                    format!(
                        "not subscribed within {} s",
                        self.connect_timeout.as_secs_f64()
                    ),
                ),
            };
            self.metrics.reconnects(reason).inc();
            let delay = self.backoff.next_delay();
            tracing::warn!(batch_id = %id, ?reason, %message, retry_in = ?delay, "reconnecting");
            self.health
                .down(format!("reconnecting ({reason:?}): {message}"));
            tokio::select! {
                _ = self.stop.cancelled() => break,
                _ = tokio::time::sleep(delay) => {}
            }
        }
        self.metrics.active.set(0);
        tracing::info!(batch_id = %id, "connection stopped");
    }

    /// Reads until the connection ends (why) or `stop` (`None`).
    async fn read(&mut self, mut ws: WsStream, subs: &Subscriptions) -> Option<(Reason, String)> {
        let mut deadline = Instant::now() + self.no_data_timeout;
        loop {
            let msg = tokio::select! {
                _ = self.stop.cancelled() => {
                    // Closing the socket ends every subscription on it.
                    let _ = tokio::time::timeout(Duration::from_secs(1), ws.close(None)).await;
                    return None;
                }
                msg = tokio::time::timeout_at(deadline, ws.next()) => msg,
            };
            match msg {
                Err(_) => {
                    let _ = tokio::time::timeout(Duration::from_secs(1), ws.close(None)).await;
                    return Some((
                        Reason::NoData,
                        format!("no data for {} s", self.no_data_timeout.as_secs_f64()),
                    ));
                }
                Ok(Some(Ok(Message::Text(text)))) => {
                    let evaluate = Some((&mut self.evaluator, subs));
                    if count(&self.metrics, Some(&self.health), evaluate, &text) {
                        deadline = Instant::now() + self.no_data_timeout;
                    }
                }
                Ok(Some(Ok(Message::Close(_))) | None) => {
                    return Some((Reason::Closed, "closed by the node".into()));
                }
                Ok(Some(Err(e))) => return Some((Reason::Error, e.to_string())),
                Ok(Some(Ok(_))) => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notifications_are_read_without_panics() {
        let has_data = |t: &str| process_account_update(t).unwrap().map(|u| u.has_data);
        let account = r#"{"jsonrpc":"2.0","method":"accountNotification","params":{"result":{"context":{"slot":1},"value":{"data":["AAAA","base64"],"lamports":42}},"subscription":3}}"#;
        assert_eq!(
            process_account_update(account).unwrap(),
            Some(Update {
                has_data: true,
                subscription: Some(3),
                lamports: Some(42)
            })
        );
        let empty = account.replace("AAAA", "");
        assert_eq!(has_data(&empty), Some(false));
        let logs = r#"{"jsonrpc":"2.0","method":"logsNotification","params":{"result":{"value":{"signature":"x","err":null,"logs":[]}},"subscription":3}}"#;
        assert_eq!(has_data(logs), Some(false));
        assert_eq!(
            process_account_update(r#"{"jsonrpc":"2.0","id":1,"result":7}"#).unwrap(),
            None
        );
        for bad in [
            "",
            "{",
            "[]",
            "null",
            r#"{"method":"accountNotification"}"#,
            "\u{0}",
        ] {
            let _ = process_account_update(bad);
        }
        assert!(process_account_update("{").is_err());
        assert!(process_account_update(r#"{"method":"logsNotification"}"#).is_err());
    }
}
