//! The price API client: market data for a token, with a timeout and
//! retries (429s and errors back off), every attempt counted and timed.

use std::time::Duration;

use alerting_core::instrumented;
use axum::http::{Method, StatusCode};
use serde_json::Value;

use crate::filters::MarketData;
use crate::http::{self, HttpClient, HttpError};
use alerting_axum::outbound::{CallOutcome, Endpoint};

use crate::metrics::{BscMetrics, PRICE_API, TOKEN_INFO};

/// No market data for a token.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum PriceError {
    /// The API answered without the market data, or does not know the token.
    #[error("no market data for {0}")]
    NoData(String),
    /// The API kept answering 429.
    #[error("rate limited by the price API")]
    RateLimited,
    /// The API failed (error status, transport error or timeout).
    #[error(transparent)]
    Http(#[from] HttpError),
    /// The API answered with an error status.
    #[error("the price API answered {0}")]
    Status(StatusCode),
}

/// The price API client.
#[derive(Clone, Debug)]
pub struct PriceClient {
    base: String,
    client: HttpClient,
    timeout: Duration,
    retries: u32,
    /// `api_requests_total{target="dbotx",route="token_info"}`.
    token_info: Endpoint,
}

impl PriceClient {
    /// A client of the API at `base` (`http://host:port`).
    pub fn new(
        base: impl Into<String>,
        client: HttpClient,
        timeout: Duration,
        retries: u32,
        metrics: BscMetrics,
    ) -> Self {
        Self {
            base: base.into().trim_end_matches('/').to_owned(),
            client,
            timeout,
            retries,
            token_info: metrics.api.endpoint(PRICE_API, TOKEN_INFO),
        }
    }

    /// Market data of `token`.
    ///
    /// # Errors
    ///
    /// [`PriceError`] after the retries.
    #[instrumented]
    pub async fn fetch_token_info(&self, token: &str) -> Result<MarketData, PriceError> {
        let url = format!("{}/token/{token}", self.base);
        let mut attempt = 0;
        loop {
            let call = self.token_info.start();
            let answer = http::send(&self.client, Method::GET, &url, None, self.timeout).await;
            call.finish(match &answer {
                Ok((status, _)) => CallOutcome::from_status(status.as_u16()),
                Err(HttpError::Timeout { .. }) => CallOutcome::Timeout,
                Err(HttpError::Transport { .. }) => CallOutcome::ConnectError,
                Err(_) => CallOutcome::Error,
            });
            let (result, retry) = match answer {
                Ok((StatusCode::OK, body)) => match parse(&body) {
                    Some(data) => (Ok(data), false),
                    None => (Err(PriceError::NoData(token.to_owned())), false),
                },
                Ok((StatusCode::NOT_FOUND, _)) => {
                    (Err(PriceError::NoData(token.to_owned())), false)
                }
                Ok((StatusCode::TOO_MANY_REQUESTS, _)) => (Err(PriceError::RateLimited), true),
                Ok((s, _)) => (Err(PriceError::Status(s)), s.is_server_error()),
                Err(e) => (Err(e.into()), true),
            };
            if result.is_ok() || !retry || attempt >= self.retries {
                return result;
            }
            attempt += 1;
            tokio::time::sleep(Duration::from_millis(25 << attempt.min(6))).await;
        }
    }

    /// Whether the API answers `GET /health` with a 2xx (the health check).
    ///
    /// # Errors
    ///
    /// A description of the failure.
    pub async fn ping(&self) -> Result<(), String> {
        let url = format!("{}/health", self.base);
        match http::send(&self.client, Method::GET, &url, None, self.timeout).await {
            Ok((s, _)) if s.is_success() => Ok(()),
            Ok((s, _)) => Err(format!("GET /health answered {s}")),
            Err(e) => Err(e.to_string()),
        }
    }
}

fn parse(body: &[u8]) -> Option<MarketData> {
    let v: Value = serde_json::from_slice(body).ok()?;
    let price_usd = v["price_usd"].as_f64()?;
    let window = |field: &str| -> Option<[f64; 3]> {
        Some([
            v[field]["1m"].as_f64()?,
            v[field]["5m"].as_f64()?,
            v[field]["1h"].as_f64()?,
        ])
    };
    Some(MarketData {
        price_usd,
        price_change: window("price_change")?,
        volume_usd: window("volume_usd")?,
        market_cap_usd: v["market_cap_usd"].as_f64(),
    })
}
