//! Metrics of the calls a service makes: to a price API, a chain node, a
//! webhook.
//!
//! [`OutboundMetrics`] registers two families (names configurable, so a
//! service can keep the names its rules already use, such as
//! `api_requests_total`):
//!
//! | metric (default name) | type | labels |
//! |---|---|---|
//! | `outbound_requests_total` | counter | `target`, `route`, `outcome` |
//! | `outbound_request_duration_seconds` | histogram | `target`, `route` |
//!
//! - `target` is the name the application gives the other side
//!   (`"price_api"`, `"bsc_node"`), never a host taken from a URL;
//! - `route` is a template the application gives (`"/token/{address}"`,
//!   `"eth_call"`), never a raw path;
//! - `outcome` is a [`CallOutcome`]: the status class of the answer
//!   (`2xx` … `5xx`, with `429` apart so rate limiting can be seen, and
//!   still matched by `outcome=~"4.."`), or why there was none
//!   (`timeout`, `connect_error`, `tls_error`, `error`, `cancelled`).
//!
//! Targets and routes are `&'static str`: the program's own text, so the
//! series stay few; the families also have a series limit.
//!
//! Three ways to record a call, all through an [`Endpoint`] (one target
//! and route, its series resolved once):
//!
//! - [`Endpoint::start`] returns a [`CallTimer`] to finish with an outcome:
//!   for any client (a JSON-RPC call over a WebSocket too);
//! - [`OutboundLayer`] (from [`OutboundMetrics::layer`]), a tower layer for
//!   a client that is a `tower::Service<http::Request<_>>` (hyper-util's
//!   pooled client), the route taken from an [`OutboundRoute`] request
//!   extension;
//! - `Endpoint::send` (feature `reqwest`) sends a `reqwest::RequestBuilder`.
//!
//! The duration ends when the answer's head is in (what `reqwest`'s
//! `send` and a tower client's future return): reading the body is the
//! caller's.
//!
//! ```
//! use alerting_axum::outbound::{CallOutcome, OutboundMetrics};
//! use alerting_core::metrics::{Format, Registry};
//!
//! let registry = Registry::new();
//! let calls = OutboundMetrics::builder()
//!     .names("api_requests_total", "api_request_duration_seconds")
//!     .build(&registry)?;
//! let token_info = calls.endpoint("price_api", "/token/{address}");
//!
//! let call = token_info.start();
//! // ... the call answers 429 ...
//! call.finish(CallOutcome::from_status(429));
//!
//! let text = registry.encode_to_string(Format::Prometheus)?;
//! assert!(text.contains(
//!     r#"api_requests_total{target="price_api",route="/token/{address}",outcome="429"} 1"#
//! ));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::collections::HashMap;
use std::error::Error as StdError;
use std::fmt;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::{Arc, OnceLock, PoisonError, RwLock};
use std::task::{Context, Poll, ready};

use alerting_core::clock;
use alerting_core::metrics::{
    Buckets, DynamicFamily, EnumLabel, LabelSet, LabelValue, MetricOptions, MetricsError, Registry,
    StripedCounter, StripedHistogram, outbound,
};
use axum::http::{Request, Response};
use pin_project_lite::pin_project;
use tower_layer::Layer;
use tower_service::Service;

pub use alerting_core::metrics::outbound::{DURATION, OutboundMetricRefs, REQUESTS};
/// The route of a call through an [`OutboundLayer`] without an
/// [`OutboundRoute`].
pub const OTHER_ROUTE: &str = "other";
/// Default of [`OutboundMetricsBuilder::max_series`].
pub const DEFAULT_MAX_SERIES: usize = 1000;

/// How an outbound call ended: the `outcome` label.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, LabelValue)]
#[non_exhaustive]
pub enum CallOutcome {
    /// An answer with a 1xx status.
    #[label(rename = "1xx")]
    Informational,
    /// An answer with a 2xx status.
    #[label(rename = "2xx")]
    Success,
    /// An answer with a 3xx status.
    #[label(rename = "3xx")]
    Redirection,
    /// An answer with a 4xx status other than 429.
    #[label(rename = "4xx")]
    ClientError,
    /// 429 Too Many Requests: rate limited.
    #[label(rename = "429")]
    RateLimited,
    /// An answer with a 5xx status.
    #[label(rename = "5xx")]
    ServerError,
    /// No answer within the client's timeout.
    Timeout,
    /// No connection: refused, reset, unreachable, or the name did not
    /// resolve.
    ConnectError,
    /// The TLS handshake failed (a certificate, a protocol mismatch).
    TlsError,
    /// Another failure (a status from 600 up, a broken answer, a request
    /// that could not be built).
    Error,
    /// The call's future was dropped before an answer (a timeout around
    /// it, or the caller went away).
    Cancelled,
}

impl CallOutcome {
    /// The outcome of an answer with status `code`.
    ///
    /// ```
    /// use alerting_axum::outbound::CallOutcome;
    /// use alerting_core::metrics::EnumLabel as _;
    ///
    /// assert_eq!(CallOutcome::from_status(200), CallOutcome::Success);
    /// assert_eq!(CallOutcome::from_status(429).as_str(), "429");
    /// assert_eq!(CallOutcome::from_status(404).as_str(), "4xx");
    /// ```
    pub fn from_status(code: u16) -> Self {
        match code {
            100..=199 => Self::Informational,
            200..=299 => Self::Success,
            300..=399 => Self::Redirection,
            429 => Self::RateLimited,
            400..=499 => Self::ClientError,
            500..=599 => Self::ServerError,
            _ => Self::Error,
        }
    }

    /// The outcome of a failed call, from its error and the errors under
    /// it (`source()`): an [`io::Error`] of kind `TimedOut` is a
    /// [`Timeout`](Self::Timeout); `ConnectionRefused`, `ConnectionReset`,
    /// `ConnectionAborted`, `NotConnected`, `AddrNotAvailable`,
    /// `HostUnreachable`, `NetworkUnreachable` or `NotFound` are a
    /// [`ConnectError`](Self::ConnectError); `InvalidData` (how rustls'
    /// errors reach the connection) is a [`TlsError`](Self::TlsError);
    /// anything else an [`Error`](Self::Error).
    pub fn from_error(error: &(dyn StdError + 'static)) -> Self {
        let mut next = Some(error);
        while let Some(e) = next {
            if let Some(io) = e.downcast_ref::<io::Error>()
                && let Some(outcome) = Self::from_io(io.kind())
            {
                return outcome;
            }
            next = e.source();
        }
        Self::Error
    }

    fn from_io(kind: io::ErrorKind) -> Option<Self> {
        use io::ErrorKind as K;
        Some(match kind {
            K::TimedOut => Self::Timeout,
            K::ConnectionRefused
            | K::ConnectionReset
            | K::ConnectionAborted
            | K::NotConnected
            | K::AddrNotAvailable
            | K::HostUnreachable
            | K::NetworkUnreachable
            | K::NotFound => Self::ConnectError,
            K::InvalidData => Self::TlsError,
            _ => return None,
        })
    }

    const COUNT: usize = <Self as EnumLabel>::VALUES.len();
}

/// Labels of the calls counter (names as in
/// [`alerting_core::metrics::outbound`]).
#[derive(Clone, Debug, PartialEq, Eq, Hash, LabelSet)]
struct CallLabels {
    target: String,
    route: String,
    outcome: CallOutcome,
}

/// Labels of the duration histogram.
#[derive(Clone, Debug, PartialEq, Eq, Hash, LabelSet)]
struct EndpointLabels {
    target: String,
    route: String,
}

struct Families {
    requests: DynamicFamily<CallLabels, StripedCounter>,
    durations: DynamicFamily<EndpointLabels, StripedHistogram>,
}

/// The outbound-call families; see the [module documentation](self).
/// Build once per registry and clone (clones share the series).
#[derive(Clone)]
pub struct OutboundMetrics {
    families: Arc<Families>,
    refs: OutboundMetricRefs,
    /// The endpoints made so far, by target and route.
    endpoints: Arc<RwLock<HashMap<(&'static str, &'static str), Endpoint>>>,
}

impl fmt::Debug for OutboundMetrics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OutboundMetrics")
            .field("series", &self.families.requests.len())
            .finish_non_exhaustive()
    }
}

impl OutboundMetrics {
    /// The families with their default names, registered in `registry`.
    ///
    /// # Errors
    ///
    /// [`MetricsError`] if a name is taken in `registry`.
    pub fn new(registry: &Registry) -> Result<Self, MetricsError> {
        Self::builder().build(registry)
    }

    /// Options: names, buckets, series limit.
    pub fn builder() -> OutboundMetricsBuilder {
        OutboundMetricsBuilder::default()
    }

    /// References to the two families (with their names and buckets), for
    /// rules and dashboards.
    pub fn metric_refs(&self) -> &OutboundMetricRefs {
        &self.refs
    }

    /// The calls to `route` of `target`, their series resolved once (the
    /// same endpoint each time it is asked for: keeping it saves a look-up
    /// per call).
    pub fn endpoint(&self, target: &'static str, route: &'static str) -> Endpoint {
        let key = (target, route);
        if let Some(e) = self
            .endpoints
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&key)
        {
            return e.clone();
        }
        self.endpoints
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .entry(key)
            .or_insert_with(|| Endpoint {
                inner: Arc::new(EndpointInner {
                    target,
                    route,
                    families: Arc::clone(&self.families),
                    requests: (0..CallOutcome::COUNT).map(|_| OnceLock::new()).collect(),
                    duration: OnceLock::new(),
                }),
            })
            .clone()
    }

    /// A tower layer recording every call of the client it wraps as a call
    /// to `target`, its route from the request's [`OutboundRoute`]
    /// extension ([`OTHER_ROUTE`] without one).
    pub fn layer(&self, target: &'static str) -> OutboundLayer {
        OutboundLayer {
            metrics: self.clone(),
            target,
        }
    }
}

/// Options of [`OutboundMetrics`]; [`OutboundMetrics::builder`].
#[derive(Clone, Debug)]
#[must_use]
pub struct OutboundMetricsBuilder {
    requests: String,
    duration: String,
    buckets: Option<Buckets>,
    max_series: usize,
}

impl Default for OutboundMetricsBuilder {
    fn default() -> Self {
        Self {
            requests: REQUESTS.to_owned(),
            duration: DURATION.to_owned(),
            buckets: None,
            max_series: DEFAULT_MAX_SERIES,
        }
    }
}

impl OutboundMetricsBuilder {
    /// The names of the counter (ending in `_total`) and of the histogram
    /// (ending in `_seconds`), instead of [`REQUESTS`] and [`DURATION`].
    pub fn names(mut self, requests: impl Into<String>, duration: impl Into<String>) -> Self {
        self.requests = requests.into();
        self.duration = duration.into();
        self
    }

    /// Buckets of the duration histogram (default [`Buckets::latency`]).
    pub fn buckets(mut self, buckets: Buckets) -> Self {
        self.buckets = Some(buckets);
        self
    }

    /// Series limit of each family (default [`DEFAULT_MAX_SERIES`]); more
    /// are folded into `__overflow__` by the registry.
    pub fn max_series(mut self, max_series: usize) -> Self {
        self.max_series = max_series;
        self
    }

    /// Registers the families in `registry`.
    ///
    /// # Errors
    ///
    /// [`MetricsError`] if a name is taken or invalid (a counter's must end
    /// in `_total`, the histogram's in `_seconds`).
    pub fn build(self, registry: &Registry) -> Result<OutboundMetrics, MetricsError> {
        let refs = outbound::metric_refs(
            registry,
            &self.requests,
            &self.duration,
            self.buckets.as_ref().unwrap_or(&Buckets::latency()),
        );
        let options = || MetricOptions::new().max_series(self.max_series);
        let requests = registry.register_with(
            &self.requests,
            "Outbound calls, by target, route template and outcome",
            options(),
        )?;
        let mut duration_options = options();
        if let Some(buckets) = self.buckets {
            duration_options = duration_options.buckets(buckets);
        }
        let durations = registry.register_with(
            &self.duration,
            "Time from sending an outbound call to its answer's head, by target and route template",
            duration_options,
        )?;
        Ok(OutboundMetrics {
            families: Arc::new(Families {
                requests,
                durations,
            }),
            refs,
            endpoints: Arc::default(),
        })
    }
}

/// One target and route: see [`OutboundMetrics::endpoint`].
#[derive(Clone)]
pub struct Endpoint {
    inner: Arc<EndpointInner>,
}

struct EndpointInner {
    target: &'static str,
    route: &'static str,
    families: Arc<Families>,
    requests: Box<[OnceLock<StripedCounter>]>,
    duration: OnceLock<StripedHistogram>,
}

impl fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Endpoint")
            .field("target", &self.inner.target)
            .field("route", &self.inner.route)
            .finish_non_exhaustive()
    }
}

impl Endpoint {
    /// Starts timing a call; finish it with [`CallTimer::finish`]. Dropped
    /// unfinished, it records [`CallOutcome::Cancelled`].
    pub fn start(&self) -> CallTimer {
        CallTimer {
            endpoint: Some(self.clone()),
            start: clock::now(),
        }
    }

    /// Records a call that took `seconds` and ended with `outcome`.
    pub fn record(&self, outcome: CallOutcome, seconds: f64) {
        let inner = &*self.inner;
        let labels = || EndpointLabels {
            target: inner.target.to_owned(),
            route: inner.route.to_owned(),
        };
        if let Some(slot) = inner.requests.get(EnumLabel::index(outcome)) {
            slot.get_or_init(|| {
                let EndpointLabels { target, route } = labels();
                inner.families.requests.get_or_create(&CallLabels {
                    target,
                    route,
                    outcome,
                })
            })
            .inc();
        }
        inner
            .duration
            .get_or_init(|| inner.families.durations.get_or_create(&labels()))
            .observe(seconds);
    }

    /// The calls recorded so far with `outcome`.
    pub fn calls(&self, outcome: CallOutcome) -> u64 {
        self.inner
            .requests
            .get(EnumLabel::index(outcome))
            .and_then(OnceLock::get)
            .map_or(0, StripedCounter::get)
    }

    /// The calls recorded so far, every outcome.
    pub fn total(&self) -> u64 {
        self.inner
            .requests
            .iter()
            .filter_map(OnceLock::get)
            .map(StripedCounter::get)
            .sum()
    }

    /// The target.
    pub fn target(&self) -> &'static str {
        self.inner.target
    }

    /// The route template.
    pub fn route(&self) -> &'static str {
        self.inner.route
    }
}

/// A call being timed; see [`Endpoint::start`].
#[derive(Debug)]
#[must_use = "a call dropped unfinished is recorded as cancelled"]
pub struct CallTimer {
    endpoint: Option<Endpoint>,
    start: u64,
}

impl CallTimer {
    /// Records the call with `outcome` and the time since
    /// [`Endpoint::start`].
    pub fn finish(mut self, outcome: CallOutcome) {
        self.end(outcome);
    }

    fn end(&mut self, outcome: CallOutcome) {
        if let Some(endpoint) = self.endpoint.take() {
            endpoint.record(outcome, clock::nanos_since(self.start) as f64 * 1e-9);
        }
    }
}

impl Drop for CallTimer {
    fn drop(&mut self) {
        self.end(CallOutcome::Cancelled);
    }
}

/// The route template of an outbound request, as a request extension read
/// by [`OutboundLayer`].
///
/// ```
/// use alerting_axum::outbound::OutboundRoute;
/// use axum::http::Request;
///
/// let mut request = Request::get("https://api.example/token/0xabc").body(())?;
/// request.extensions_mut().insert(OutboundRoute("/token/{address}"));
/// # Ok::<(), axum::http::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OutboundRoute(pub &'static str);

/// The error of a client under [`OutboundLayer`], seen as a
/// [`std::error::Error`] to classify it ([`CallOutcome::from_error`]).
/// Every `std::error::Error` is one (hyper-util's client's error, an
/// `io::Error`); a boxed error (`tower::BoxError`) is not: put the layer
/// under the layers that box errors, next to the client.
pub trait OutboundError {
    /// The error, to walk its sources.
    fn as_error(&self) -> &(dyn StdError + 'static);
}

impl<E: StdError + 'static> OutboundError for E {
    fn as_error(&self) -> &(dyn StdError + 'static) {
        self
    }
}

/// The tower layer of [`OutboundMetrics::layer`].
#[derive(Clone)]
pub struct OutboundLayer {
    metrics: OutboundMetrics,
    target: &'static str,
}

impl fmt::Debug for OutboundLayer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OutboundLayer")
            .field("target", &self.target)
            .finish_non_exhaustive()
    }
}

impl<S> Layer<S> for OutboundLayer {
    type Service = OutboundService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        OutboundService {
            inner,
            layer: self.clone(),
        }
    }
}

/// The service of [`OutboundLayer`] around a client.
#[derive(Clone, Debug)]
pub struct OutboundService<S> {
    inner: S,
    layer: OutboundLayer,
}

impl<S, B, ResB> Service<Request<B>> for OutboundService<S>
where
    S: Service<Request<B>, Response = Response<ResB>>,
    S::Error: OutboundError,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = OutboundFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        let route = request
            .extensions()
            .get::<OutboundRoute>()
            .map_or(OTHER_ROUTE, |r| r.0);
        let timer = self
            .layer
            .metrics
            .endpoint(self.layer.target, route)
            .start();
        OutboundFuture {
            inner: self.inner.call(request),
            timer: Some(timer),
        }
    }
}

pin_project! {
    /// The response future of [`OutboundService`].
    pub struct OutboundFuture<F> {
        #[pin]
        inner: F,
        timer: Option<CallTimer>,
    }
}

impl<F> fmt::Debug for OutboundFuture<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OutboundFuture").finish_non_exhaustive()
    }
}

impl<F, ResB, E> Future for OutboundFuture<F>
where
    F: Future<Output = Result<Response<ResB>, E>>,
    E: OutboundError,
{
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let result = ready!(this.inner.poll(cx));
        if let Some(timer) = this.timer.take() {
            timer.finish(match &result {
                Ok(response) => CallOutcome::from_status(response.status().as_u16()),
                Err(e) => CallOutcome::from_error(e.as_error()),
            });
        }
        Poll::Ready(result)
    }
}

#[cfg(feature = "reqwest")]
mod with_reqwest {
    use super::{CallOutcome, Endpoint};

    impl CallOutcome {
        /// The outcome of a failed `reqwest` call: its timeout, a
        /// connection or TLS failure ([`from_error`](Self::from_error) on
        /// what is under it), or another error.
        pub fn from_reqwest(error: &reqwest::Error) -> Self {
            if error.is_timeout() {
                return Self::Timeout;
            }
            if error.is_connect() {
                return match Self::from_error(error) {
                    Self::TlsError => Self::TlsError,
                    _ => Self::ConnectError,
                };
            }
            if let Some(status) = error.status() {
                return Self::from_status(status.as_u16());
            }
            Self::from_error(error)
        }
    }

    impl Endpoint {
        /// Sends `request` and records the call: the answer's status class,
        /// or why there was none. The answer is returned as `reqwest`
        /// gives it (a 500 is an `Ok`); its body is the caller's to read.
        ///
        /// # Errors
        ///
        /// `reqwest`'s error, unchanged.
        pub async fn send(
            &self,
            request: reqwest::RequestBuilder,
        ) -> Result<reqwest::Response, reqwest::Error> {
            let timer = self.start();
            let result = request.send().await;
            timer.finish(match &result {
                Ok(response) => CallOutcome::from_status(response.status().as_u16()),
                Err(e) => CallOutcome::from_reqwest(e),
            });
            result
        }
    }
}
