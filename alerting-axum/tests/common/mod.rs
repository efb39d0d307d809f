//! What the integration tests share: a server on 127.0.0.1:0 and a real
//! HTTP/1.1 client (hyper-util's), every request bounded in time.

#![allow(dead_code, unreachable_pub)]

use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::http::{HeaderMap, Method, Request, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// No request in these tests may take longer than this.
pub const TIMEOUT: Duration = Duration::from_secs(10);

/// Serves `router` on 127.0.0.1 with an ephemeral port, in the background.
pub async fn start(router: Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await });
    addr
}

/// An answer, read to the end.
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Reply {
    pub fn text(&self) -> &str {
        std::str::from_utf8(&self.body).expect("utf-8 body")
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {:?}", self.body))
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(|v| v.to_str().unwrap())
    }
}

/// A keep-alive HTTP/1.1 client.
#[derive(Clone)]
pub struct Http {
    client: Client<HttpConnector, Full<Bytes>>,
}

impl Http {
    pub fn new() -> Self {
        Self {
            client: Client::builder(TokioExecutor::new()).build_http(),
        }
    }

    pub async fn get(&self, addr: SocketAddr, path: &str) -> Reply {
        self.send(Method::GET, addr, path, &[]).await
    }

    pub async fn get_with(&self, addr: SocketAddr, path: &str, headers: &[(&str, &[u8])]) -> Reply {
        self.send(Method::GET, addr, path, headers).await
    }

    pub async fn send(
        &self,
        method: Method,
        addr: SocketAddr,
        path: &str,
        headers: &[(&str, &[u8])],
    ) -> Reply {
        let mut request = Request::builder()
            .method(method)
            .uri(format!("http://{addr}{path}"));
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let request = request.body(Full::new(Bytes::new())).unwrap();
        let response = tokio::time::timeout(TIMEOUT, self.client.request(request))
            .await
            .expect("request timed out")
            .expect("request failed");
        let (parts, body) = response.into_parts();
        let body = tokio::time::timeout(TIMEOUT, body.collect())
            .await
            .expect("body timed out")
            .expect("body failed")
            .to_bytes();
        Reply {
            status: parts.status,
            headers: parts.headers,
            body,
        }
    }
}

/// Sends `raw` bytes as they are (for requests a client would refuse to
/// build) and returns the status line of the answer.
pub async fn raw(addr: SocketAddr, raw: &[u8]) -> String {
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    stream.write_all(raw).await.unwrap();
    let mut answer = Vec::new();
    tokio::time::timeout(TIMEOUT, stream.read_to_end(&mut answer))
        .await
        .expect("raw request timed out")
        .unwrap();
    let text = String::from_utf8_lossy(&answer);
    text.lines().next().unwrap_or_default().to_owned()
}

/// The value of the sample `name{labels}` (labels exactly as written) in a
/// Prometheus text exposition.
pub fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines().find_map(|line| {
        let rest = line.strip_prefix(series)?;
        rest.strip_prefix(' ')?.split(' ').next()?.parse().ok()
    })
}

/// A writer that keeps what a `tracing_subscriber::fmt` subscriber wrote,
/// for tests that check a log line.
#[derive(Clone, Default)]
pub struct Captured(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl Captured {
    /// Everything written so far.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// A health registry wired to `shutdown`, with one check (`database`, up)
/// already evaluated, so readiness starts out ready.
pub async fn health(
    shutdown: &alerting_core::shutdown::Shutdown,
) -> alerting_core::health::HealthRegistry {
    use alerting_core::health::{CheckOptions, CheckOutcome, HealthRegistry, check_fn};
    let health = HealthRegistry::builder()
        .shutdown(shutdown)
        .build()
        .unwrap();
    health
        .add_check(
            "database",
            CheckOptions::new(),
            check_fn(|| async { CheckOutcome::up() }),
        )
        .unwrap();
    health.refresh().await;
    health
}

/// A response body that sends nothing until its gate is opened, then
/// `"end"` and its end: a stream whose end the test decides.
pub struct Gated(Option<tokio::sync::oneshot::Receiver<()>>);

/// A gate and the body it holds.
pub fn gated() -> (tokio::sync::oneshot::Sender<()>, Gated) {
    let (open, gate) = tokio::sync::oneshot::channel();
    (open, Gated(Some(gate)))
}

impl http_body::Body for Gated {
    type Data = Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<Bytes>, Self::Error>>> {
        use std::future::Future as _;
        let Some(gate) = self.0.as_mut() else {
            return std::task::Poll::Ready(None);
        };
        match std::pin::Pin::new(gate).poll(cx) {
            std::task::Poll::Pending => std::task::Poll::Pending,
            std::task::Poll::Ready(_) => {
                self.0 = None;
                std::task::Poll::Ready(Some(Ok(http_body::Frame::data(Bytes::from_static(b"end")))))
            }
        }
    }
}

/// GETs `path` and returns the answer's head as soon as it comes, with
/// its body still to read.
pub async fn head(addr: SocketAddr, path: &str) -> axum::http::Response<hyper::body::Incoming> {
    let client = Client::builder(TokioExecutor::new()).build_http::<Full<Bytes>>();
    let request = Request::get(format!("http://{addr}{path}"))
        .body(Full::new(Bytes::new()))
        .unwrap();
    tokio::time::timeout(TIMEOUT, client.request(request))
        .await
        .expect("request timed out")
        .expect("request failed")
}

/// Reads a body to its end (bounded).
pub async fn read_to_end(body: hyper::body::Incoming) -> Bytes {
    tokio::time::timeout(TIMEOUT, body.collect())
        .await
        .expect("body timed out")
        .expect("body failed")
        .to_bytes()
}
