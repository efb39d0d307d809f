//! One shared JSON-RPC client over a WebSocket, multiplexed by request id,
//! with a timeout and retries per call; and the log subscription.
//!
//! The same code talks to the embedded simulator (`ws://127.0.0.1:…`) and
//! to a real node (`ws://…`; `wss://` needs a TLS feature of
//! tokio-tungstenite, not enabled here: see the README).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use alerting_core::logging::redact_url;
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, oneshot};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::tls::Tls;
use tokio_util::sync::CancellationToken;

use alerting_axum::outbound::CallOutcome;

use crate::metrics::{BscMetrics, RpcMethod};
use crate::sim::SWAP_TOPIC;

/// A WebSocket to the node.
pub type WsStream = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// The `outcome` of a JSON-RPC call in `rpc_calls_total`: `2xx` for an
/// answer, `timeout`, `connect_error` when the WebSocket could not be
/// opened or closed before the answer, `error` for the node's errors and
/// answers that were not what was asked for.
fn outcome<T>(result: &Result<T, RpcError>) -> CallOutcome {
    match result {
        Ok(_) => CallOutcome::Success,
        Err(RpcError::Timeout { .. }) => CallOutcome::Timeout,
        Err(RpcError::Connect { .. } | RpcError::Closed(_)) => CallOutcome::ConnectError,
        Err(_) => CallOutcome::Error,
    }
}

/// A failed JSON-RPC call or connection.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum RpcError {
    /// The WebSocket could not be opened.
    #[error("cannot connect to `{url}`: {message}")]
    Connect {
        /// The node.
        url: String,
        /// Why.
        message: String,
    },
    /// No answer within the timeout.
    #[error("no answer to {method} within {timeout:?}")]
    Timeout {
        /// The method.
        method: &'static str,
        /// The timeout.
        timeout: Duration,
    },
    /// The connection closed before the answer.
    #[error("the connection closed before the answer to {0}")]
    Closed(&'static str),
    /// The node answered with an error.
    #[error("{method} failed: {message} (code {code})")]
    Node {
        /// The method.
        method: &'static str,
        /// The JSON-RPC error code.
        code: i64,
        /// The message.
        message: String,
    },
    /// The answer was not what was asked for.
    #[error("unexpected answer to {method}: {message}")]
    Decode {
        /// The method.
        method: &'static str,
        /// What was wrong.
        message: String,
    },
}

impl RpcMethod {
    /// The JSON-RPC method name.
    pub fn as_method(self) -> &'static str {
        match self {
            RpcMethod::EthSubscribe => "eth_subscribe",
            RpcMethod::EthCall => "eth_call",
            RpcMethod::EthGetTransactionReceipt => "eth_getTransactionReceipt",
            RpcMethod::EthBlockNumber => "eth_blockNumber",
        }
    }
}

type Pending = Arc<Mutex<HashMap<u64, oneshot::Sender<Result<Value, (i64, String)>>>>>;

#[derive(Debug)]
struct Conn {
    tx: mpsc::Sender<Message>,
    pending: Pending,
    closed: CancellationToken,
}

/// The shared JSON-RPC client. Cheap to share behind an `Arc`; it
/// (re)connects on first use after a disconnect.
#[derive(Debug)]
pub struct RpcClient {
    url: String,
    tls: Tls,
    timeout: Duration,
    retries: u32,
    metrics: BscMetrics,
    conn: tokio::sync::Mutex<Option<Arc<Conn>>>,
    next_id: AtomicU64,
}

impl RpcClient {
    /// A client of the node at `url` (`ws://`, or `wss://` with `tls`).
    pub fn new(
        url: impl Into<String>,
        tls: Tls,
        timeout: Duration,
        retries: u32,
        metrics: BscMetrics,
    ) -> Self {
        Self {
            url: url.into(),
            tls,
            timeout,
            retries,
            metrics,
            conn: tokio::sync::Mutex::new(None),
            next_id: AtomicU64::new(1),
        }
    }

    /// Calls `method`, retrying failures (with a short doubling backoff)
    /// up to the configured number of times; each attempt is counted in
    /// `rpc_calls_total`. Cancel-safe.
    ///
    /// # Errors
    ///
    /// The last attempt's [`RpcError`].
    pub async fn call(&self, method: RpcMethod, params: Value) -> Result<Value, RpcError> {
        self.call_with(method, params, self.retries).await
    }

    /// As [`call`](Self::call), with `retries` instead of the configured
    /// number.
    ///
    /// # Errors
    ///
    /// The last attempt's [`RpcError`].
    pub async fn call_with(
        &self,
        method: RpcMethod,
        params: Value,
        retries: u32,
    ) -> Result<Value, RpcError> {
        let mut attempt = 0;
        loop {
            let call = self.metrics.rpc_method(method).start();
            let result = self.call_once(method.as_method(), &params).await;
            call.finish(outcome(&result));
            match result {
                Ok(v) => return Ok(v),
                Err(e) if attempt >= retries => return Err(e),
                Err(e) => {
                    tracing::debug!(error = %e, attempt, "rpc call failed, retrying");
                    tokio::time::sleep(Duration::from_millis(20 << attempt.min(6))).await;
                    attempt += 1;
                }
            }
        }
    }

    async fn call_once(&self, method: &'static str, params: &Value) -> Result<Value, RpcError> {
        let conn = self.connection().await?;
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = oneshot::channel();
        lock(&conn.pending).insert(id, tx);
        let request = json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params});
        if conn
            .tx
            .send(Message::text(request.to_string()))
            .await
            .is_err()
        {
            lock(&conn.pending).remove(&id);
            return Err(RpcError::Closed(method));
        }
        match tokio::time::timeout(self.timeout, rx).await {
            Ok(Ok(Ok(v))) => Ok(v),
            Ok(Ok(Err((code, message)))) => Err(RpcError::Node {
                method,
                code,
                message,
            }),
            Ok(Err(_)) => Err(RpcError::Closed(method)),
            Err(_) => {
                lock(&conn.pending).remove(&id);
                Err(RpcError::Timeout {
                    method,
                    timeout: self.timeout,
                })
            }
        }
    }

    async fn connection(&self) -> Result<Arc<Conn>, RpcError> {
        let mut slot = self.conn.lock().await;
        if let Some(conn) = slot.as_ref()
            && !conn.closed.is_cancelled()
        {
            return Ok(Arc::clone(conn));
        }
        let ws = connect(&self.url, &self.tls, self.timeout).await?;
        let conn = Arc::new(spawn_conn(ws));
        *slot = Some(Arc::clone(&conn));
        Ok(conn)
    }

    /// Closes the connection; calls after this reconnect.
    pub async fn close(&self) {
        if let Some(conn) = self.conn.lock().await.take() {
            let _ = conn.tx.send(Message::Close(None)).await;
            conn.closed.cancel();
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn spawn_conn(ws: WsStream) -> Conn {
    let (mut sink, mut source) = ws.split();
    let (tx, mut rx) = mpsc::channel::<Message>(1024);
    let pending: Pending = Arc::default();
    let closed = CancellationToken::new();
    let writer_closed = closed.clone();
    tokio::spawn(async move {
        loop {
            let msg = tokio::select! {
                _ = writer_closed.cancelled() => break,
                msg = rx.recv() => msg,
            };
            let Some(msg) = msg else { break };
            if sink.send(msg).await.is_err() {
                break;
            }
        }
        writer_closed.cancel();
        let _ = sink.close().await;
    });
    let reader_pending = Arc::clone(&pending);
    let reader_closed = closed.clone();
    tokio::spawn(async move {
        loop {
            let msg = tokio::select! {
                _ = reader_closed.cancelled() => break,
                msg = source.next() => msg,
            };
            let text = match msg {
                Some(Ok(Message::Text(text))) => text,
                Some(Ok(Message::Close(_)) | Err(_)) | None => break,
                Some(Ok(_)) => continue,
            };
            let Ok(answer) = serde_json::from_str::<Value>(&text) else {
                continue;
            };
            let Some(id) = answer["id"].as_u64() else {
                continue;
            };
            let Some(waiter) = lock(&reader_pending).remove(&id) else {
                continue;
            };
            let result = match answer.get("error") {
                Some(err) => Err((
                    err["code"].as_i64().unwrap_or(0),
                    err["message"]
                        .as_str()
                        .unwrap_or("unknown error")
                        .to_owned(),
                )),
                None => Ok(answer.get("result").cloned().unwrap_or(Value::Null)),
            };
            let _ = waiter.send(result);
        }
        reader_closed.cancel();
        // Waiters see `Closed` at once instead of their timeout.
        lock(&reader_pending).clear();
    });
    Conn {
        tx,
        pending,
        closed,
    }
}

/// Opens a WebSocket to `url` (`ws://`, or `wss://` verified with `tls`)
/// within `timeout`.
///
/// # Errors
///
/// [`RpcError::Connect`].
pub async fn connect(url: &str, tls: &Tls, timeout: Duration) -> Result<WsStream, RpcError> {
    let err = |message: String| RpcError::Connect {
        url: redact_url(url),
        message,
    };
    let connecting =
        tokio_tungstenite::connect_async_tls_with_config(url, None, true, Some(tls.ws_connector()));
    match tokio::time::timeout(timeout, connecting).await {
        Ok(Ok((ws, _))) => Ok(ws),
        Ok(Err(e)) => Err(err(e.to_string())),
        Err(_) => Err(err(format!("no connection within {timeout:?}"))),
    }
}

/// Opens a WebSocket and subscribes to `Swap` logs; returns the stream and
/// the subscription id. Counted in `rpc_calls_total{method="eth_subscribe"}`.
///
/// # Errors
///
/// [`RpcError`] if the connection or the subscription fails.
pub async fn subscribe_swaps(
    url: &str,
    tls: &Tls,
    timeout: Duration,
    metrics: &BscMetrics,
) -> Result<(WsStream, String), RpcError> {
    let call = metrics.rpc_method(RpcMethod::EthSubscribe).start();
    let result = subscribe_once(url, tls, timeout).await;
    call.finish(outcome(&result));
    result
}

async fn subscribe_once(
    url: &str,
    tls: &Tls,
    timeout: Duration,
) -> Result<(WsStream, String), RpcError> {
    const METHOD: &str = "eth_subscribe";
    let mut ws = connect(url, tls, timeout).await?;
    let request = json!({
        "jsonrpc": "2.0", "id": 1, "method": METHOD,
        "params": ["logs", {"topics": [SWAP_TOPIC]}],
    });
    ws.send(Message::text(request.to_string()))
        .await
        .map_err(|_| RpcError::Closed(METHOD))?;
    let answer = tokio::time::timeout(timeout, async {
        while let Some(msg) = ws.next().await {
            match msg {
                Ok(Message::Text(text)) => {
                    let v: Value = serde_json::from_str(&text).map_err(|e| RpcError::Decode {
                        method: METHOD,
                        message: e.to_string(),
                    })?;
                    if v["id"] == 1 {
                        return Ok(v);
                    }
                }
                Ok(Message::Close(_)) | Err(_) => break,
                Ok(_) => {}
            }
        }
        Err(RpcError::Closed(METHOD))
    })
    .await
    .map_err(|_| RpcError::Timeout {
        method: METHOD,
        timeout,
    })??;
    if let Some(err) = answer.get("error") {
        return Err(RpcError::Node {
            method: METHOD,
            code: err["code"].as_i64().unwrap_or(0),
            message: err["message"]
                .as_str()
                .unwrap_or("unknown error")
                .to_owned(),
        });
    }
    let id = answer["result"].as_str().ok_or_else(|| RpcError::Decode {
        method: METHOD,
        message: "no subscription id".to_owned(),
    })?;
    Ok((ws, id.to_owned()))
}
