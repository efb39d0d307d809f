//! The embedded simulated BSC node and price API, both on 127.0.0.1.
//!
//! The node speaks JSON-RPC over WebSocket: `eth_subscribe` with `logs`
//! streams Uniswap-V2-style `Swap` log notifications (the USD side as
//! 18-decimal USDT) at the configured rate, the same stream for the same
//! seed. About 40 % of the pairs (chosen by the seed) are on the internal
//! market, a four.meme bonding curve (`factory()` is the four.meme token
//! manager): small caps (5k to 30k USD) and smaller swaps; the others are
//! PancakeSwap pairs on the external market, caps from 30k to 500M USD; `eth_call` answers `token0()`,
//! `token1()` and `factory()` on the pairs; `eth_getTransactionReceipt`
//! and `eth_blockNumber` answer too. The price API is a small axum app:
//! `GET /token/{address}` and `GET /health`. Faults (disconnects, slow or
//! failing RPC, malformed messages, 429s, missing data) are set in
//! [`FaultsConfig`](crate::config::FaultsConfig).

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;
use tokio_util::sync::CancellationToken;

use crate::config::SimulatorConfig;
use crate::metrics::MarketType;
use crate::rng::{Rng, hash};

/// `keccak256("Swap(address,uint256,uint256,uint256,uint256,address)")`.
pub const SWAP_TOPIC: &str = "0xd78ad95fa46c994b6551d0da85fc275fe613ce37657fb8d5e3d130840159d822";
/// The PancakeSwap V2 factory.
pub const PANCAKE_FACTORY: &str = "0xca143ce32fe78f1f7019d7d551a6402fc5350c73";
/// The four.meme token manager (the simulated pairs' other factory).
pub const FOURMEME_FACTORY: &str = "0x5c952063c7fc8610ffdb798152d69f0b9550762b";
/// BSC-USD (USDT), 18 decimals.
pub const USDT: &str = "0x55d398326f99059ff775485246999027b3197955";
/// `token0()`.
pub const TOKEN0_SELECTOR: &str = "0x0dfe1681";
/// `token1()`.
pub const TOKEN1_SELECTOR: &str = "0xd21220a7";
/// `factory()`.
pub const FACTORY_SELECTOR: &str = "0xc45a0155";

/// A 32-byte ABI word of `v`, 64 hex digits.
pub fn word(v: u128) -> String {
    format!("{v:064x}")
}

fn address(seed: u64, kind: &str, i: u64) -> String {
    let a = Rng::new(seed ^ hash(kind) ^ i.wrapping_mul(0x9E37)).next_u64();
    let b = Rng::new(a).next_u64();
    let c = Rng::new(b).next_u64();
    format!("0x{a:016x}{b:016x}{:08x}", c as u32)
}

/// One simulated pair.
#[derive(Clone, Debug)]
struct Pair {
    address: String,
    token: String,
    factory: &'static str,
    price_usd: f64,
    market_cap_usd: f64,
}

/// Every token's total supply: four.meme's fixed one billion.
const SUPPLY: f64 = 1e9;

/// The fraction of the pairs on the internal market (bonding curves).
const INTERNAL_SHARE: f64 = 0.4;

/// The token address and market of every pair the simulator with `config`
/// trades, in pair order.
pub fn tokens(config: &SimulatorConfig) -> Vec<(String, MarketType)> {
    Chain::new(config.clone())
        .pairs
        .iter()
        .map(|p| {
            let market = if p.factory == FOURMEME_FACTORY {
                MarketType::Internal
            } else {
                MarketType::External
            };
            (p.token.clone(), market)
        })
        .collect()
}

#[derive(Debug)]
struct Chain {
    config: SimulatorConfig,
    pairs: Vec<Pair>,
    block: AtomicU64,
    requests: AtomicU64,
}

impl Chain {
    fn new(config: SimulatorConfig) -> Self {
        let seed = config.seed;
        let pairs = (0..u64::from(config.pairs))
            .map(|i| {
                let mut rng = Rng::new(seed ^ hash("pair") ^ i);
                let internal = rng.unit() < INTERNAL_SHARE;
                // Market caps, log-uniform: 5k to 30k USD on a bonding
                // curve (it graduates at about 30k), 30k to 500M on a DEX.
                let (low, high): (f64, f64) = if internal { (5e3, 3e4) } else { (3e4, 5e8) };
                let cap = low * (high / low).powf(rng.unit());
                Pair {
                    address: address(seed, "pair", i),
                    token: address(seed, "token", i),
                    factory: if internal {
                        FOURMEME_FACTORY
                    } else {
                        PANCAKE_FACTORY
                    },
                    price_usd: cap / SUPPLY,
                    market_cap_usd: cap,
                }
            })
            .collect();
        Self {
            config,
            pairs,
            block: AtomicU64::new(48_000_000),
            requests: AtomicU64::new(0),
        }
    }

    /// A fresh generator for one decision (fault rolls).
    fn roll(&self) -> f64 {
        let n = self.requests.fetch_add(1, Ordering::Relaxed);
        Rng::new(self.config.seed ^ 0xFA17 ^ n.wrapping_mul(0x2545_F491)).unit()
    }

    fn swap_notification(&self, subscription: &str, rng: &mut Rng, seq: u64) -> String {
        let pair = &self.pairs[rng.below(self.pairs.len() as u64) as usize];
        // Log-uniform amounts: 2 to 1,600 USD on a bonding curve, 3 to
        // 5,000 USD on a DEX.
        let usd = if pair.factory == FOURMEME_FACTORY {
            10f64.powf(0.3 + rng.unit() * 2.9)
        } else {
            10f64.powf(0.5 + rng.unit() * 3.2)
        };
        let tokens = usd / pair.price_usd;
        let usd_wei = (usd * 1e18) as u128;
        let token_wei = (tokens * 1e18).min(1e38) as u128;
        let buy = rng.unit() < 0.5;
        let (a0_in, a1_in, a0_out, a1_out) = if buy {
            (0, usd_wei, token_wei, 0)
        } else {
            (token_wei, 0, 0, usd_wei)
        };
        let block = self.block.load(Ordering::Relaxed) + seq / 20;
        let tx = format!(
            "0x{:016x}{:016x}{:016x}{:016x}",
            rng.next_u64(),
            rng.next_u64(),
            rng.next_u64(),
            seq
        );
        let trader = address(self.config.seed, "trader", rng.below(1000));
        json!({
            "jsonrpc": "2.0",
            "method": "eth_subscription",
            "params": {
                "subscription": subscription,
                "result": {
                    "address": pair.address,
                    "topics": [
                        SWAP_TOPIC,
                        format!("0x{:0>64}", &"10ed43c718714eb63d5aa57b78b54704e256024e"),
                        format!("0x{:0>64}", &trader[2..]),
                    ],
                    "data": format!("0x{}{}{}{}", word(a0_in), word(a1_in), word(a0_out), word(a1_out)),
                    "blockNumber": format!("0x{block:x}"),
                    "blockHash": format!("0x{:064x}", block),
                    "transactionHash": tx,
                    "transactionIndex": format!("0x{:x}", seq % 200),
                    "logIndex": format!("0x{:x}", seq % 500),
                    "removed": false,
                }
            }
        })
        .to_string()
    }

    fn answer(&self, method: &str, params: &Value) -> Result<Value, String> {
        match method {
            "eth_blockNumber" => Ok(json!(format!("0x{:x}", self.block.load(Ordering::Relaxed)))),
            "eth_call" => {
                let to = params[0]["to"]
                    .as_str()
                    .unwrap_or_default()
                    .to_ascii_lowercase();
                let data = params[0]["data"]
                    .as_str()
                    .or(params[0]["input"].as_str())
                    .unwrap_or_default();
                let pair = self
                    .pairs
                    .iter()
                    .find(|p| p.address == to)
                    .ok_or_else(|| "execution reverted".to_owned())?;
                let addr = match data {
                    TOKEN0_SELECTOR => pair.token.as_str(),
                    TOKEN1_SELECTOR => USDT,
                    FACTORY_SELECTOR => pair.factory,
                    _ => return Err("execution reverted".to_owned()),
                };
                Ok(json!(format!("0x{:0>64}", &addr[2..])))
            }
            "eth_getTransactionReceipt" => {
                let tx = params[0].as_str().ok_or("invalid params")?;
                // About 2 % of transactions failed on chain.
                let failed = hash(tx).is_multiple_of(50);
                Ok(json!({
                    "transactionHash": tx,
                    "status": if failed { "0x0" } else { "0x1" },
                    "blockNumber": format!("0x{:x}", self.block.load(Ordering::Relaxed)),
                    "gasUsed": "0x2dc6c",
                    "from": address(self.config.seed, "trader", hash(tx) % 1000),
                }))
            }
            other => Err(format!(
                "the method {other} does not exist/is not available"
            )),
        }
    }

    fn market(&self, token: &str) -> Option<Value> {
        let i = self.pairs.iter().position(|p| p.token == token)?;
        let pair = &self.pairs[i];
        let mut rng = Rng::new(
            self.config.seed ^ hash(token) ^ self.requests.fetch_add(1, Ordering::Relaxed),
        );
        let mut change = || rng.unit() * 0.2 - 0.1;
        let changes = [change(), change(), change()];
        let mut vol = |scale: f64| rng.unit() * 5000.0 * scale;
        Some(json!({
            "token": token,
            "pair": pair.address,
            "price_usd": pair.price_usd,
            "price_change": { "1m": changes[0], "5m": changes[1], "1h": changes[2] },
            "volume_usd": { "1m": vol(1.0), "5m": vol(5.0), "1h": vol(60.0) },
            "market_cap_usd": pair.market_cap_usd,
        }))
    }
}

/// The simulated node, running until [`SimNode::stop`] (or drop of the
/// last handle does nothing: stop it explicitly).
#[derive(Debug)]
pub struct SimNode {
    addr: SocketAddr,
    stop: CancellationToken,
    /// The current run (listener and connections): a child of `stop`,
    /// replaced when the node comes back after an [`outage`](Self::outage).
    run: std::sync::Mutex<CancellationToken>,
    chain: Arc<Chain>,
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
        let run = stop.child_token();
        let chain = Arc::new(Chain::new(config));
        tokio::spawn(accept_loop(listener, Arc::clone(&chain), run.clone()));
        Ok(Self {
            addr,
            stop,
            run: std::sync::Mutex::new(run),
            chain,
        })
    }

    /// A node outage (the `simulator.faults.outage_*` fault): stops
    /// listening and closes every connection, waits `duration`, then
    /// listens again on the same address and resumes the same stream.
    /// Returns early, with the node down, if [`stop`](Self::stop) is called
    /// meanwhile.
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
        tokio::spawn(accept_loop(listener, Arc::clone(&self.chain), run));
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

    /// The token address of every simulated pair.
    pub fn tokens(&self) -> Vec<String> {
        self.chain.pairs.iter().map(|p| p.token.clone()).collect()
    }

    /// Stops listening and closes every connection.
    pub fn stop(&self) {
        self.stop.cancel();
    }
}

async fn accept_loop(listener: TcpListener, chain: Arc<Chain>, stop: CancellationToken) {
    loop {
        let accepted = tokio::select! {
            _ = stop.cancelled() => return,
            accepted = listener.accept() => accepted,
        };
        match accepted {
            Ok((stream, _)) => {
                tokio::spawn(connection(stream, Arc::clone(&chain), stop.child_token()));
            }
            Err(e) => {
                tracing::debug!(error = %e, "simulated node: accept failed");
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
    }
}

async fn connection(stream: TcpStream, chain: Arc<Chain>, stop: CancellationToken) {
    let Ok(ws) = tokio_tungstenite::accept_async(stream).await else {
        return;
    };
    let (mut sink, mut source) = ws.split();
    let (tx, mut rx) = mpsc::channel::<Message>(1024);
    let closed = stop.child_token();
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
    let mut subscriptions = 0u64;
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
                .send(Message::text(json!({"jsonrpc":"2.0","id":null,"error":{"code":-32700,"message":"parse error"}}).to_string()))
                .await;
            continue;
        };
        let id = request["id"].clone();
        let method = request["method"].as_str().unwrap_or_default().to_owned();
        if method == "eth_subscribe" {
            if request["params"][0] != "logs" {
                let _ = tx
                    .send(Message::text(json!({"jsonrpc":"2.0","id":id,"error":{"code":-32602,"message":"only logs subscriptions are simulated"}}).to_string()))
                    .await;
                continue;
            }
            subscriptions += 1;
            let subscription = format!("0x{:032x}", hash("sub") ^ subscriptions);
            let _ = tx
                .send(Message::text(
                    json!({"jsonrpc":"2.0","id":id,"result":subscription}).to_string(),
                ))
                .await;
            tokio::spawn(stream_swaps(
                Arc::clone(&chain),
                tx.clone(),
                subscription,
                closed.clone(),
            ));
            continue;
        }
        // Answer in a task of its own: a slow answer does not hold up others.
        let chain = Arc::clone(&chain);
        let tx = tx.clone();
        tokio::spawn(async move {
            let faults = &chain.config.faults;
            let delay = chain.config.latency_ms + faults.rpc_delay_ms;
            if delay > 0 {
                tokio::time::sleep(Duration::from_millis(delay)).await;
            }
            let answer = if chain.roll() < faults.rpc_error_rate {
                Err("internal error (simulated)".to_owned())
            } else {
                chain.answer(&method, &request["params"])
            };
            let body = match answer {
                Ok(result) => json!({"jsonrpc":"2.0","id":id,"result":result}),
                Err(message) => {
                    json!({"jsonrpc":"2.0","id":id,"error":{"code":-32603,"message":message}})
                }
            };
            let _ = tx.send(Message::text(body.to_string())).await;
        });
    }
    closed.cancel();
    let _ = writer.await;
}

async fn stream_swaps(
    chain: Arc<Chain>,
    tx: mpsc::Sender<Message>,
    subscription: String,
    closed: CancellationToken,
) {
    let config = &chain.config;
    let mut rng = Rng::new(config.seed);
    let start = tokio::time::Instant::now();
    let mut sent = 0u64;
    let mut tick = tokio::time::interval(Duration::from_millis(5));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = closed.cancelled() => return,
            _ = tick.tick() => {}
        }
        let due = (start.elapsed().as_secs_f64() * config.rate_per_sec) as u64;
        while sent < due {
            if config.faults.disconnect_after > 0 && sent >= config.faults.disconnect_after {
                let _ = tx.send(Message::Close(None)).await;
                closed.cancel();
                return;
            }
            let text = if rng.unit() < config.faults.malformed_rate {
                format!(
                    "{{\"jsonrpc\":\"2.0\",\"method\":\"eth_subscription\",\"params\":{{\"subscription\":\"{subscription}\",\"result\":"
                )
            } else {
                chain.swap_notification(&subscription, &mut rng, sent)
            };
            if tx.send(Message::text(text)).await.is_err() {
                return;
            }
            sent += 1;
        }
    }
}

/// The simulated price API.
#[derive(Debug)]
pub struct SimPriceApi {
    addr: SocketAddr,
    stop: CancellationToken,
}

impl SimPriceApi {
    /// Starts the API on 127.0.0.1 on a free port; its tokens are those of
    /// a node with the same configuration.
    ///
    /// # Errors
    ///
    /// If the port cannot be bound.
    pub async fn start(config: SimulatorConfig) -> std::io::Result<Self> {
        let listener = TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0))).await?;
        let addr = listener.local_addr()?;
        let stop = CancellationToken::new();
        let chain = Arc::new(Chain::new(config));
        let app = Router::new()
            .route("/token/{address}", get(token_info))
            .route("/health", get(|| async { "ok" }))
            .with_state(chain);
        let token = stop.clone();
        tokio::spawn(async move {
            let served = axum::serve(listener, app)
                .with_graceful_shutdown(async move { token.cancelled().await })
                .await;
            if let Err(e) = served {
                tracing::warn!(error = %e, "simulated price API stopped");
            }
        });
        Ok(Self { addr, stop })
    }

    /// Its base URL, `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stops it.
    pub fn stop(&self) {
        self.stop.cancel();
    }
}

async fn token_info(State(chain): State<Arc<Chain>>, Path(address): Path<String>) -> Response {
    if chain.config.latency_ms > 0 {
        tokio::time::sleep(Duration::from_millis(chain.config.latency_ms)).await;
    }
    let faults = &chain.config.faults;
    if chain.roll() < faults.price_429_rate {
        return (StatusCode::TOO_MANY_REQUESTS, "rate limited").into_response();
    }
    let Some(mut body) = chain.market(&address.to_ascii_lowercase()) else {
        return (StatusCode::NOT_FOUND, "unknown token").into_response();
    };
    if chain.roll() < faults.price_missing_rate
        && let Some(map) = body.as_object_mut()
    {
        map.remove("price_change");
        map.remove("volume_usd");
    }
    axum::Json(body).into_response()
}
