//! The webhook's HTTP client: hyper-util's pooled client, `http://` and
//! `https://` (rustls, with the app's [`Tls`]: Mozilla's roots and
//! `tls.ca_file`). Every error carries the URL [`redact_url`]ed.

use std::time::Duration;

use bytes::Bytes;
use http::{Method, Request, StatusCode, Uri};
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

/// Whether `url` is an `http://` or `https://` URL with a host: what the
/// client can send to.
pub fn is_http_url(url: &str) -> bool {
    url.parse::<Uri>().is_ok_and(|uri| {
        matches!(uri.scheme_str(), Some("http" | "https"))
            && uri.host().is_some_and(|h| !h.is_empty())
    })
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
    /// No connection (refused, TLS not verified), or it broke.
    #[error("request to `{url}` failed: {message}")]
    Transport {
        /// The URL.
        url: String,
        /// Why.
        message: String,
    },
    /// No full answer within the timeout (connecting included).
    #[error("no answer from `{url}` within {timeout:?}")]
    Timeout {
        /// The URL.
        url: String,
        /// The timeout.
        timeout: Duration,
    },
    /// An answer, but not 2xx.
    #[error("`{url}` answered {status}")]
    Status {
        /// The URL.
        url: String,
        /// The status it answered.
        status: StatusCode,
    },
}

/// POSTs `body` (JSON) to `url` and reads the whole answer within
/// `timeout`; the answer's body if its status is 2xx.
///
/// # Errors
///
/// [`HttpError`]; a status other than 2xx is [`HttpError::Status`].
pub async fn post_json(
    client: &HttpClient,
    url: &str,
    body: Vec<u8>,
    timeout: Duration,
) -> Result<Bytes, HttpError> {
    let request = Request::builder()
        .method(Method::POST)
        .uri(url)
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(body)))
        .map_err(|e| HttpError::Request {
            url: redact_url(url),
            message: e.to_string(),
        })?;
    let transport = |e: &dyn std::fmt::Display| HttpError::Transport {
        url: redact_url(url),
        message: e.to_string(),
    };
    let exchange = async {
        let response = client.request(request).await.map_err(|e| transport(&e))?;
        let status = response.status();
        let body = response
            .into_body()
            .collect()
            .await
            .map_err(|e| transport(&e))?
            .to_bytes();
        if status.is_success() {
            Ok(body)
        } else {
            Err(HttpError::Status {
                url: redact_url(url),
                status,
            })
        }
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

    #[test]
    fn http_urls() {
        assert!(is_http_url("http://127.0.0.1:8080/bot/send"));
        assert!(is_http_url("https://api.telegram.org/bot1:x/sendMessage"));
        assert!(is_http_url("http://relay"));
        for bad in [
            "",
            "relay",
            "ftp://relay/",
            "ws://relay",
            "http://",
            "https:///x",
        ] {
            assert!(!is_http_url(bad), "{bad}");
        }
    }

    #[tokio::test]
    async fn errors_do_not_carry_secrets_of_the_url() {
        let client = client(&Tls::new(None).unwrap());
        let url = "http://127.0.0.1:1/bot123456:SECRET-TOKEN/sendMessage?apikey=KEY";
        let err = post_json(&client, url, Vec::new(), Duration::from_secs(5))
            .await
            .unwrap_err();
        let text = err.to_string();
        assert!(matches!(err, HttpError::Transport { .. }), "{text}");
        assert!(!text.contains("SECRET") && !text.contains("KEY"), "{text}");
        assert!(text.contains("127.0.0.1:1/…/sendMessage?…"), "{text}");
    }
}
