//! The embedded simulated Solana node, on 127.0.0.1.
//!
//! It speaks Solana's JSON-RPC over WebSocket: `accountSubscribe` (params
//! `[pubkey, {encoding, commitment}]`) answers a numeric subscription id
//! and then streams `accountNotification`s; `logsSubscribe` (params
//! `[{"mentions": [pubkey]}, {commitment}]`) streams `logsNotification`s;
//! `accountUnsubscribe`/`logsUnsubscribe`, `getSlot` and `getHealth`
//! answer too. Each subscription is notified `rate_per_sec` times a
//! second; a fraction `empty_rate` of notifications carry no data (empty
//! account data, no log lines). Accounts, notifications and faults are the
//! same for the same seed.
//!
//! Faults ([`FaultsConfig`](crate::config::FaultsConfig)) are drawn per
//! connection: a connection may be closed after `disconnect_after`
//! notifications, have silent subscriptions (confirmed, never notified),
//! never answer its subscribe requests, or refuse them with an error.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;
use tokio_util::sync::CancellationToken;

use crate::config::SimulatorConfig;
use crate::rng::{Rng, hash};

const BASE58: &[u8] = b"123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";
const BASE64: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
/// The owner program of the simulated pairs (Raydium AMM v4).
pub const OWNER: &str = "675kPX9MHTjS2zt1qfr1NYHuzeLXfQM9H24wFSUt1Mp8";

fn text_from(rng: &mut Rng, alphabet: &[u8], len: usize) -> String {
    (0..len)
        .map(|_| char::from(alphabet[rng.below(alphabet.len() as u64) as usize]))
        .collect()
}

/// The simulated pair accounts of `seed`: `n` base58 public keys.
pub fn accounts(seed: u64, n: u32) -> Vec<String> {
    (0..u64::from(n))
        .map(|i| {
            text_from(
                &mut Rng::new(seed ^ hash("account") ^ (i << 20)),
                BASE58,
                44,
            )
        })
        .collect()
}

/// What a connection suffers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Fault {
    None,
    Silent,
    Unresponsive,
    SubscribeError,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Account,
    Logs,
}

#[derive(Debug)]
struct Sub {
    id: u64,
    kind: Kind,
    /// The account's balance: a random walk (steps of up to ±1 %, now and
    /// then a jump of up to ±15 %), the price the monitor's templates
    /// watch.
    lamports: f64,
}

/// Where an account's balance starts: 1 to 2 SOL, from its key.
fn start_lamports(account: &str) -> f64 {
    1e9 * (1.0 + Rng::new(hash(account)).unit())
}

#[derive(Debug)]
struct Node {
    config: SimulatorConfig,
    connections: AtomicU64,
    subscriptions: AtomicU64,
    slot: AtomicU64,
}

impl Node {
    fn fault(&self, connection: u64) -> Fault {
        let f = &self.config.faults;
        let u = Rng::new(self.config.seed ^ hash("fault") ^ connection.wrapping_mul(0x2545_F491))
            .unit();
        if u < f.silent_rate {
            Fault::Silent
        } else if u < f.silent_rate + f.unresponsive_rate {
            Fault::Unresponsive
        } else if u < f.silent_rate + f.unresponsive_rate + f.subscribe_error_rate {
            Fault::SubscribeError
        } else {
            Fault::None
        }
    }

    fn notification(&self, sub: &mut Sub, rng: &mut Rng) -> String {
        let slot = self.slot.fetch_add(1, Ordering::Relaxed);
        let empty = rng.unit() < self.config.empty_rate;
        let step = if rng.unit() < 0.01 { 0.3 } else { 0.02 };
        sub.lamports = (sub.lamports * (1.0 + (rng.unit() - 0.5) * step)).max(1.0);
        match sub.kind {
            Kind::Account => {
                let data = if empty {
                    String::new()
                } else {
                    text_from(rng, BASE64, 100)
                };
                json!({
                    "jsonrpc": "2.0",
                    "method": "accountNotification",
                    "params": {
                        "result": {
                            "context": { "slot": slot },
                            "value": {
                                "data": [data, "base64"],
                                "executable": false,
                                "lamports": sub.lamports.round() as u64,
                                "owner": OWNER,
                                "rentEpoch": u64::MAX,
                                "space": if empty { 0 } else { 75 },
                            }
                        },
                        "subscription": sub.id,
                    }
                })
            }
            Kind::Logs => {
                let logs: Vec<String> = if empty {
                    Vec::new()
                } else {
                    vec![
                        format!("Program {OWNER} invoke [1]"),
                        "Program log: ray_log: swap".to_owned(),
                        format!("Program {OWNER} success"),
                    ]
                };
                json!({
                    "jsonrpc": "2.0",
                    "method": "logsNotification",
                    "params": {
                        "result": {
                            "context": { "slot": slot },
                            "value": {
                                "signature": text_from(rng, BASE58, 88),
                                "err": null,
                                "logs": logs,
                            }
                        },
                        "subscription": sub.id,
                    }
                })
            }
        }
        .to_string()
    }
}

/// The simulated node, running until [`SimNode::stop`].
#[derive(Debug)]
pub struct SimNode {
    addr: SocketAddr,
    stop: CancellationToken,
    /// The current run (listener and connections): a child of `stop`,
    /// replaced when the node comes back after an [`outage`](Self::outage).
    run: std::sync::Mutex<CancellationToken>,
    node: Arc<Node>,
}

impl SimNode {
    /// Starts a node on 127.0.0.1 on a free port.
    ///
    /// # Errors
    ///
    /// If the port cannot be bound.
    pub async fn start(config: SimulatorConfig) -> std::io::Result<Self> {
        Self::start_on(SocketAddr::from(([127, 0, 0, 1], 0)), config).await
    }

    /// Starts a node on `addr` (to restart a stopped one on its port).
    ///
    /// # Errors
    ///
    /// If the port cannot be bound.
    pub async fn start_on(addr: SocketAddr, config: SimulatorConfig) -> std::io::Result<Self> {
        let listener = TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let stop = CancellationToken::new();
        let node = Arc::new(Node {
            config,
            connections: AtomicU64::new(0),
            subscriptions: AtomicU64::new(0),
            slot: AtomicU64::new(280_000_000),
        });
        let run = stop.child_token();
        tokio::spawn(accept_loop(listener, Arc::clone(&node), run.clone()));
        Ok(Self {
            addr,
            stop,
            run: std::sync::Mutex::new(run),
            node,
        })
    }

    /// A node outage (the `simulator.faults.outage_*` fault): stops
    /// listening and closes every connection, waits `duration`, then
    /// listens again on the same address. Returns early, with the node
    /// down, if [`stop`](Self::stop) is called meanwhile.
    ///
    /// # Errors
    ///
    /// If the address cannot be bound again (retried for 5 s).
    pub async fn outage(&self, duration: Duration) -> std::io::Result<()> {
        self.run
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .cancel();
        tracing::warn!(addr = %self.addr, ?duration, "simulated node: outage");
        tokio::select! {
            _ = self.stop.cancelled() => return Ok(()),
            _ = tokio::time::sleep(duration) => {}
        }
        let mut attempts = 0;
        let listener = loop {
            match TcpListener::bind(self.addr).await {
                Ok(l) => break l,
                Err(e) if attempts < 50 => {
                    attempts += 1;
                    tracing::debug!(error = %e, "simulated node: rebinding");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Err(e) => return Err(e),
            }
        };
        let run = self.stop.child_token();
        *self
            .run
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = run.clone();
        tokio::spawn(accept_loop(listener, Arc::clone(&self.node), run));
        tracing::warn!(addr = %self.addr, "simulated node: back after the outage");
        Ok(())
    }

    /// Where it listens.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Its URL, `ws://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("ws://{}", self.addr)
    }

    /// Its pair accounts.
    pub fn accounts(&self) -> Vec<String> {
        accounts(self.node.config.seed, self.node.config.pairs)
    }

    /// Connections accepted so far.
    pub fn connections(&self) -> u64 {
        self.node.connections.load(Ordering::Relaxed)
    }

    /// Stops listening and closes every connection.
    pub fn stop(&self) {
        self.stop.cancel();
    }
}

async fn accept_loop(listener: TcpListener, node: Arc<Node>, stop: CancellationToken) {
    loop {
        let accepted = tokio::select! {
            _ = stop.cancelled() => return,
            accepted = listener.accept() => accepted,
        };
        match accepted {
            Ok((stream, _)) => {
                tokio::spawn(connection(stream, Arc::clone(&node), stop.child_token()));
            }
            Err(e) => {
                tracing::debug!(error = %e, "simulated node: accept failed");
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
    }
}

fn reply(id: &Value, result: Result<Value, (i64, String)>) -> Message {
    let body = match result {
        Ok(result) => json!({"jsonrpc": "2.0", "id": id, "result": result}),
        Err((code, message)) => {
            json!({"jsonrpc": "2.0", "id": id, "error": {"code": code, "message": message}})
        }
    };
    Message::text(body.to_string())
}

async fn connection(stream: TcpStream, node: Arc<Node>, closed: CancellationToken) {
    let Ok(ws) = tokio_tungstenite::accept_async(stream).await else {
        return;
    };
    let n = node.connections.fetch_add(1, Ordering::Relaxed);
    let fault = node.fault(n);
    let (mut sink, mut source) = ws.split();
    let (tx, mut rx) = mpsc::channel::<Message>(1024);
    let writer_closed = closed.clone();
    let writer = tokio::spawn(async move {
        loop {
            let msg = tokio::select! {
                _ = writer_closed.cancelled() => break,
                msg = rx.recv() => msg,
            };
            let Some(msg) = msg else { break };
            let close = matches!(msg, Message::Close(_));
            if sink.send(msg).await.is_err() || close {
                break;
            }
        }
        let _ = sink.close().await;
    });
    let subs: Arc<Mutex<Vec<Sub>>> = Arc::default();
    if fault != Fault::Silent {
        tokio::spawn(notify(
            Arc::clone(&node),
            Arc::clone(&subs),
            tx.clone(),
            closed.clone(),
            node.config.seed ^ hash("stream") ^ n,
        ));
    }
    loop {
        let msg = tokio::select! {
            _ = closed.cancelled() => break,
            msg = source.next() => msg,
        };
        let text = match msg {
            Some(Ok(Message::Text(text))) => text,
            Some(Ok(Message::Close(_)) | Err(_)) | None => break,
            Some(Ok(_)) => continue,
        };
        let Ok(request) = serde_json::from_str::<Value>(&text) else {
            let _ = tx
                .send(reply(&Value::Null, Err((-32700, "Parse error".into()))))
                .await;
            continue;
        };
        let id = request["id"].clone();
        let params = &request["params"];
        let answer = match request["method"].as_str().unwrap_or_default() {
            method @ ("accountSubscribe" | "logsSubscribe") => {
                let (kind, key) = if method == "accountSubscribe" {
                    (Kind::Account, &params[0])
                } else {
                    (Kind::Logs, &params[0]["mentions"][0])
                };
                match fault {
                    Fault::Unresponsive => continue,
                    Fault::SubscribeError => Err((-32603, "Internal error (simulated)".into())),
                    _ if !key.is_string() => Err((-32602, "Invalid params".into())),
                    _ => {
                        let sub = node.subscriptions.fetch_add(1, Ordering::Relaxed);
                        let lamports = start_lamports(key.as_str().unwrap_or_default());
                        subs.lock()
                            .unwrap_or_else(PoisonError::into_inner)
                            .push(Sub {
                                id: sub,
                                kind,
                                lamports,
                            });
                        Ok(json!(sub))
                    }
                }
            }
            "accountUnsubscribe" | "logsUnsubscribe" => {
                let sub = params[0].as_u64();
                let mut subs = subs.lock().unwrap_or_else(PoisonError::into_inner);
                let before = subs.len();
                subs.retain(|s| Some(s.id) != sub);
                Ok(json!(subs.len() < before))
            }
            "getSlot" => Ok(json!(node.slot.load(Ordering::Relaxed))),
            "getHealth" => Ok(json!("ok")),
            _ => Err((-32601, "Method not found".into())),
        };
        if tx.send(reply(&id, answer)).await.is_err() {
            break;
        }
    }
    closed.cancel();
    let _ = writer.await;
}

async fn notify(
    node: Arc<Node>,
    subs: Arc<Mutex<Vec<Sub>>>,
    tx: mpsc::Sender<Message>,
    closed: CancellationToken,
    seed: u64,
) {
    let config = &node.config;
    let mut rng = Rng::new(seed);
    let mut sent = 0u64;
    let mut credit = 0.0f64;
    let mut tick = tokio::time::interval(Duration::from_millis(10));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut last = tokio::time::Instant::now();
    loop {
        tokio::select! {
            _ = closed.cancelled() => return,
            _ = tick.tick() => {}
        }
        let now = tokio::time::Instant::now();
        let dt = now.duration_since(last).as_secs_f64();
        last = now;
        let batch: Vec<String> = {
            let mut subs = subs.lock().unwrap_or_else(PoisonError::into_inner);
            credit = (credit + dt * config.rate_per_sec * subs.len() as f64).min(10_000.0);
            let mut out = Vec::new();
            while credit >= 1.0 && !subs.is_empty() {
                credit -= 1.0;
                let n = subs.len() as u64;
                let sub = &mut subs[rng.below(n) as usize];
                out.push(node.notification(sub, &mut rng));
            }
            out
        };
        for text in batch {
            if config.faults.disconnect_after > 0 && sent >= config.faults.disconnect_after {
                let _ = tx.send(Message::Close(None)).await;
                closed.cancel();
                return;
            }
            if tx.send(Message::text(text)).await.is_err() {
                return;
            }
            sent += 1;
        }
    }
}
