//! One message's way through: parse → pair enrichment (RPC, cached) →
//! layer 1 (blacklist, amounts) → market data (price API, with the
//! no-data cache) → layer 2 → cool-down → receipt (RPC) → sinks.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use alerting_core::instrumented;
use serde_json::{Value, json};

use crate::blacklist::Blacklist;
use crate::cooldown::Cooldown;
use crate::degraded::NoDataCache;
use crate::filters::{Layer1, Layer2};
use crate::metrics::{
    BscMetrics, FilterPassed, FilterRejected, Handled, Layer, MarketType, Reason, RpcMethod,
};
use crate::price::{PriceClient, PriceError};
use crate::rpc::{RpcClient, RpcError};
use crate::sim::{
    FACTORY_SELECTOR, FOURMEME_FACTORY, SWAP_TOPIC, TOKEN0_SELECTOR, TOKEN1_SELECTOR, USDT,
};
use crate::sinks::{Alert, SendError, Sinks};

/// A message that is not a `Swap` log notification.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ParseError {
    /// Not JSON.
    #[error("not JSON: {0}")]
    Json(String),
    /// JSON, but not a log notification with the fields of a `Swap`.
    #[error("not a swap log notification: {0}")]
    Shape(&'static str),
}

/// A decoded `Swap` log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Swap {
    /// The pair (the log's address), lower case.
    pub pair: String,
    /// The transaction hash.
    pub tx: String,
    /// `amount0In, amount1In, amount0Out, amount1Out`, raw integers.
    pub amounts: [u128; 4],
}

impl Swap {
    /// Decodes an `eth_subscription` notification.
    ///
    /// # Errors
    ///
    /// [`ParseError`]; never panics, whatever the input.
    pub fn parse(text: &str) -> Result<Self, ParseError> {
        let v: Value = serde_json::from_str(text).map_err(|e| ParseError::Json(e.to_string()))?;
        let log = &v["params"]["result"];
        if v["method"] != "eth_subscription" || !log.is_object() {
            return Err(ParseError::Shape("not an eth_subscription notification"));
        }
        if log["topics"][0]
            .as_str()
            .map(str::to_ascii_lowercase)
            .as_deref()
            != Some(SWAP_TOPIC)
        {
            return Err(ParseError::Shape("topic 0 is not Swap"));
        }
        let pair = log["address"]
            .as_str()
            .ok_or(ParseError::Shape("no address"))?;
        let tx = log["transactionHash"]
            .as_str()
            .ok_or(ParseError::Shape("no transactionHash"))?;
        let data = log["data"].as_str().ok_or(ParseError::Shape("no data"))?;
        let data = data
            .strip_prefix("0x")
            .ok_or(ParseError::Shape("data is not 0x-hex"))?;
        if data.len() != 4 * 64 || !data.is_ascii() {
            return Err(ParseError::Shape("data is not four 32-byte words"));
        }
        let mut amounts = [0u128; 4];
        for (i, amount) in amounts.iter_mut().enumerate() {
            let word = &data[i * 64..(i + 1) * 64];
            let (high, low) = word.split_at(32);
            if high.bytes().any(|b| b != b'0') {
                return Err(ParseError::Shape("amount above 2^128"));
            }
            *amount =
                u128::from_str_radix(low, 16).map_err(|_| ParseError::Shape("data is not hex"))?;
        }
        Ok(Self {
            pair: pair.to_ascii_lowercase(),
            tx: tx.to_owned(),
            amounts,
        })
    }
}

/// What the chain says about a pair.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PairInfo {
    /// The traded token (the side that is not USDT).
    pub token: String,
    /// Which side is USDT: 0, 1, or none (the amount is then unknown).
    pub usd_side: Option<usize>,
    /// The market.
    pub market: MarketType,
}

/// Why a message could not be processed.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum PipelineError {
    /// A JSON-RPC enrichment failed.
    #[error(transparent)]
    Rpc(#[from] RpcError),
    /// No sink delivered the alert.
    #[error(transparent)]
    Send(#[from] SendError),
}

/// The shared state of the pipeline.
#[derive(Debug)]
pub struct Pipeline {
    /// The metrics.
    pub metrics: BscMetrics,
    /// The shared RPC client.
    pub rpc: Arc<RpcClient>,
    /// The price API client.
    pub price: PriceClient,
    /// The blacklist, checked first in layer 1.
    pub blacklist: Blacklist,
    /// Layer 1.
    pub layer1: Layer1,
    /// Layer 2.
    pub layer2: Layer2,
    /// The cool-down.
    pub cooldown: Cooldown,
    /// The no-data cache.
    pub no_data: NoDataCache,
    /// Alert on the amount alone while a token has no data.
    pub alert_amount_only: bool,
    /// The sinks.
    pub sinks: Sinks,
    pairs: Mutex<HashMap<String, PairInfo>>,
}

impl Pipeline {
    /// A pipeline of these parts.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        metrics: BscMetrics,
        rpc: Arc<RpcClient>,
        price: PriceClient,
        blacklist: Blacklist,
        layer1: Layer1,
        layer2: Layer2,
        cooldown: Cooldown,
        no_data: NoDataCache,
        alert_amount_only: bool,
        sinks: Sinks,
    ) -> Self {
        Self {
            metrics,
            rpc,
            price,
            blacklist,
            layer1,
            layer2,
            cooldown,
            no_data,
            alert_amount_only,
            sinks,
            pairs: Mutex::new(HashMap::new()),
        }
    }

    fn passed(&self, layer: Layer, market_type: MarketType) {
        self.metrics
            .bsc_filter_passed_total
            .get(FilterPassed { layer, market_type })
            .inc();
    }

    fn rejected(&self, layer: Layer, reason: Reason) -> Handled {
        self.metrics
            .bsc_filter_rejected_total
            .get(FilterRejected { layer, reason })
            .inc();
        Handled::Filtered
    }

    async fn address_call(&self, pair: &str, selector: &str) -> Result<String, RpcError> {
        let v = self
            .rpc
            .call(
                RpcMethod::EthCall,
                json!([{"to": pair, "data": selector}, "latest"]),
            )
            .await?;
        let word = v.as_str().unwrap_or_default().trim_start_matches("0x");
        if word.len() != 64 || !word.is_ascii() {
            return Err(RpcError::Decode {
                method: "eth_call",
                message: format!("not an address word: {v}"),
            });
        }
        Ok(format!("0x{}", word[24..].to_ascii_lowercase()))
    }

    /// The pair's token and market, from `eth_call`s, cached per pair.
    ///
    /// # Errors
    ///
    /// [`RpcError`] after the client's retries.
    pub async fn pair_info(&self, pair: &str) -> Result<PairInfo, RpcError> {
        if let Some(info) = self
            .pairs
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(pair)
        {
            return Ok(info.clone());
        }
        let token0 = self.address_call(pair, TOKEN0_SELECTOR).await?;
        let token1 = self.address_call(pair, TOKEN1_SELECTOR).await?;
        let factory = self.address_call(pair, FACTORY_SELECTOR).await?;
        let (token, usd_side) = if token1 == USDT {
            (token0, Some(1))
        } else if token0 == USDT {
            (token1, Some(0))
        } else {
            (token0, None)
        };
        let market = if factory == FOURMEME_FACTORY {
            MarketType::Internal
        } else {
            MarketType::External
        };
        let info = PairInfo {
            token,
            usd_side,
            market,
        };
        let mut pairs = self.pairs.lock().unwrap_or_else(|e| e.into_inner());
        if pairs.len() < 100_000 {
            pairs.insert(pair.to_owned(), info.clone());
        }
        Ok(info)
    }

    /// Processes one swap to the end: `Ok(Handled::Ok)` when an alert was
    /// sent, `Ok(Handled::Filtered)` when a filter or the cool-down
    /// dropped it. Cancel-safe: dropping it half-way leaves no state
    /// behind except a cool-down slot, which only delays the next alert.
    ///
    /// # Errors
    ///
    /// [`PipelineError`] when enrichment or every sink failed.
    #[instrumented(in_flight, exemplar(tx_hash = swap.tx))]
    pub async fn process_swap_event(&self, swap: &Swap) -> Result<Handled, PipelineError> {
        let info = self.pair_info(&swap.pair).await?;
        let [a0_in, a1_in, a0_out, a1_out] = swap.amounts;
        let (usd_raw, buy) = match info.usd_side {
            Some(1) => (a1_in.max(a1_out), a1_in > 0),
            Some(_) => (a0_in.max(a0_out), a0_in > 0),
            None => (0, false),
        };
        let amount_usd = usd_raw as f64 / 1e18;

        let now = Instant::now();
        if self.blacklist.contains(&info.token, now) {
            return Ok(self.rejected(Layer::Layer1, Reason::Blacklisted));
        }
        if let Err(reason) = self.layer1.check(&info.token, info.market, amount_usd, now) {
            return Ok(self.rejected(Layer::Layer1, reason));
        }
        self.passed(Layer::Layer1, info.market);

        let data = if self.no_data.is_cached(&info.token, now) {
            None
        } else {
            match self.price.fetch_token_info(&info.token).await {
                Ok(data) => {
                    self.no_data.succeeded(&info.token);
                    Some(data)
                }
                Err(e) => {
                    let ttl = self.no_data.failed(&info.token, Instant::now());
                    tracing::debug!(token = %info.token, error = %e, ?ttl, "no market data");
                    if matches!(e, PriceError::Http(_)) {
                        tracing::debug!("price API unreachable");
                    }
                    None
                }
            }
        };
        match &data {
            Some(d) => {
                if let Err(reason) = self.layer2.check(info.market, d) {
                    return Ok(self.rejected(Layer::Layer2, reason));
                }
                self.passed(Layer::Layer2, info.market);
            }
            None if self.alert_amount_only => {}
            None => return Ok(self.rejected(Layer::Layer2, Reason::NoData)),
        }

        if !self.cooldown.try_acquire(&info.token).await {
            self.metrics
                .cooldown_hits_total
                .get(crate::metrics::ChainLabel {
                    chain: crate::metrics::Chain::Bsc,
                })
                .inc();
            return Ok(Handled::Filtered);
        }
        let receipt = match self
            .rpc
            .call(RpcMethod::EthGetTransactionReceipt, json!([swap.tx]))
            .await
        {
            Ok(r) => r,
            Err(e) => {
                self.cooldown.release(&info.token).await;
                return Err(e.into());
            }
        };
        if receipt["status"] == "0x0" {
            self.cooldown.release(&info.token).await;
            return Ok(self.rejected(Layer::Layer2, Reason::TxFailed));
        }
        let alert = Alert {
            token: info.token.clone(),
            pair: swap.pair.clone(),
            market: info.market,
            amount_usd,
            buy,
            tx: swap.tx.clone(),
            data,
        };
        if let Err(e) = self.sinks.send_alert(&alert).await {
            self.cooldown.release(&info.token).await;
            return Err(e.into());
        }
        Ok(Handled::Ok)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::word;

    fn notification(data: &str) -> String {
        json!({"jsonrpc":"2.0","method":"eth_subscription","params":{"subscription":"0x1","result":{
            "address":"0xABC","topics":[SWAP_TOPIC],"data":data,"transactionHash":"0xt"}}})
        .to_string()
    }

    #[test]
    fn parses_a_swap() {
        let data = format!("0x{}{}{}{}", word(0), word(5), word(7), word(0));
        let swap = Swap::parse(&notification(&data)).unwrap();
        assert_eq!(swap.pair, "0xabc");
        assert_eq!(swap.amounts, [0, 5, 7, 0]);
    }

    #[test]
    fn bad_input_is_an_error_not_a_panic() {
        for bad in [
            "",
            "{",
            "[]",
            "{\"method\":\"eth_subscription\",\"params\":{\"result\":{}}}",
            &notification("0x12"),
            &notification(&format!("0x{}", "zz".repeat(128))),
            &notification(&format!("0x{}", "é".repeat(128))),
            &notification(&format!("0x{}", "f".repeat(256))),
        ] {
            assert!(Swap::parse(bad).is_err(), "{bad}");
        }
    }
}
