//! The shared HTTP client (hyper-util's pooled client, `http://` and
//! `https://` through rustls): the price API and the webhook sink use one,
//! as the seed's item 2 learned.

use std::time::Duration;

use axum::http::{Method, Request, StatusCode};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

use alerting_core::logging::redact_url;

use crate::tls::Tls;

/// The pooled client.
pub type HttpClient = Client<HttpsConnector<HttpConnector>, Full<Bytes>>;

/// A new pooled client: `https://` verified with `tls`, `http://` plain.
pub fn client(tls: &Tls) -> HttpClient {
    let connector = hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config(tls.client_config().clone())
        .https_or_http()
        .enable_http1()
        .build();
    Client::builder(TokioExecutor::new())
        .pool_idle_timeout(Duration::from_secs(90))
        .build(connector)
}

/// A failed HTTP exchange. Its URL is [`redact_url`]ed.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum HttpError {
    /// The URL or request was invalid.
    #[error("invalid request to `{url}`: {message}")]
    Request {
        /// The URL.
        url: String,
        /// Why.
        message: String,
    },
    /// No connection, or the connection broke.
    #[error("request to `{url}` failed: {message}")]
    Transport {
        /// The URL.
        url: String,
        /// Why.
        message: String,
    },
    /// No full answer within the timeout.
    #[error("no answer from `{url}` within {timeout:?}")]
    Timeout {
        /// The URL.
        url: String,
        /// The timeout.
        timeout: Duration,
    },
}

/// Sends one request and reads the whole answer within `timeout`.
///
/// # Errors
///
/// [`HttpError`].
pub async fn send(
    client: &HttpClient,
    method: Method,
    url: &str,
    body: Option<Vec<u8>>,
    timeout: Duration,
) -> Result<(StatusCode, Bytes), HttpError> {
    let mut builder = Request::builder().method(method).uri(url);
    if body.is_some() {
        builder = builder.header("content-type", "application/json");
    }
    let request = builder
        .body(Full::new(Bytes::from(body.unwrap_or_default())))
        .map_err(|e| HttpError::Request {
            url: redact_url(url),
            message: e.to_string(),
        })?;
    let exchange = async {
        let response = client
            .request(request)
            .await
            .map_err(|e| HttpError::Transport {
                url: redact_url(url),
                message: e.to_string(),
            })?;
        let status = response.status();
        let body = response
            .into_body()
            .collect()
            .await
            .map_err(|e| HttpError::Transport {
                url: redact_url(url),
                message: e.to_string(),
            })?
            .to_bytes();
        Ok((status, body))
    };
    tokio::time::timeout(timeout, exchange)
        .await
        .map_err(|_| HttpError::Timeout {
            url: redact_url(url),
            timeout,
        })?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn errors_do_not_carry_secrets_of_the_url() {
        let client = client(&Tls::new(None).unwrap());
        let url = "http://127.0.0.1:1/bot123456:SECRET-TOKEN/sendMessage?apikey=KEY";
        let err = send(&client, Method::POST, url, None, Duration::from_secs(5))
            .await
            .unwrap_err();
        let text = err.to_string();
        assert!(!text.contains("SECRET") && !text.contains("KEY"), "{text}");
        assert!(text.contains("127.0.0.1:1/…/sendMessage?…"), "{text}");
    }
}
