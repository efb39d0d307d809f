//! The service the layer wraps around each route (or around a whole
//! hyper, tower or tonic service).

use std::any::Any;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll, ready};

use alerting_core::clock;
use alerting_core::metrics::StripedHistogram;
use axum::body::Body;
use axum::extract::MatchedPath;
use axum::http::{HeaderMap, Method, Request, Response, StatusCode, Uri, header};
use bytes::Buf;
use http_body::{Frame, SizeHint};
use pin_project_lite::pin_project;
use tower_service::Service;

use super::UNMATCHED_ROUTE;
use super::body::Counted;
use super::labels::{HttpMethod, StatusClass, grpc_status_class};
use super::routes::{Families, RouteEntry, Routes};
use crate::endpoints::Scrape;

/// The gRPC status code of a method the server does not have.
const GRPC_UNIMPLEMENTED: &[u8] = b"12";

/// The service made by [`HttpMetricsLayer`](super::HttpMetricsLayer)
/// around an inner service (in axum, one per route).
pub struct HttpMetricsService<S> {
    inner: S,
    slot: Arc<Slot>,
}

/// Shared by the clones of one service instance (axum clones the service
/// of a route for each request).
struct Slot {
    routes: Arc<Routes>,
    /// The route this instance served first: in axum an instance serves
    /// one route, so after the first request this is always a hit.
    cached: OnceLock<Arc<RouteEntry>>,
}

impl Slot {
    fn entry(&self, route: &str) -> Arc<RouteEntry> {
        if let Some(entry) = self.cached.get()
            && entry.route() == route
        {
            return Arc::clone(entry);
        }
        let entry = self.routes.get(route);
        let _ = self.cached.set(Arc::clone(&entry));
        entry
    }
}

impl<S> HttpMetricsService<S> {
    pub(crate) fn new(inner: S, routes: Arc<Routes>) -> Self {
        Self {
            inner,
            slot: Arc::new(Slot {
                routes,
                cached: OnceLock::new(),
            }),
        }
    }
}

impl<S: Clone> Clone for HttpMetricsService<S> {
    fn clone(&self) -> Self {
        Self {
            inner: self.inner.clone(),
            slot: Arc::clone(&self.slot),
        }
    }
}

impl<S> fmt::Debug for HttpMetricsService<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpMetricsService")
            .field("route", &self.slot.cached.get().map(|e| e.route()))
            .finish_non_exhaustive()
    }
}

/// A gRPC request: `POST` with an `application/grpc` content type (plain,
/// `+proto`, `+json`…). The method is compared first, so other requests
/// cost no header lookup.
fn is_grpc(method: &Method, headers: &HeaderMap) -> bool {
    *method == Method::POST
        && headers
            .get(header::CONTENT_TYPE)
            .is_some_and(|v| v.as_bytes().starts_with(b"application/grpc"))
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for HttpMetricsService<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
    ReqBody: http_body::Body + 'static,
    ResBody: http_body::Body,
{
    type Response = Response<MetricsBody<ResBody>>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<ReqBody>) -> Self::Future {
        let method = HttpMethod::of(request.method());
        let route = if is_grpc(request.method(), request.headers()) {
            // The entry is chosen when the answer says whether the method
            // exists: unknown paths must not make series.
            Route::Grpc(Arc::clone(&self.slot), request.uri().clone())
        } else {
            let template = match request.extensions().get::<MatchedPath>() {
                Some(matched) => matched.as_str(),
                None => self
                    .slot
                    .routes
                    .route_of(request.uri())
                    .unwrap_or(UNMATCHED_ROUTE),
            };
            let entry = self.slot.entry(template);
            if entry.skipped() {
                return ResponseFuture {
                    inner: self.inner.call(request),
                    record: None,
                };
            }
            Route::Known(entry)
        };
        let routes = &self.slot.routes;
        let request = match routes.request_size(&route, method) {
            Some(histogram) => count_request(histogram, request),
            None => request,
        };
        routes.in_flight().inc();
        let record = Record {
            route,
            method,
            start: clock::now(),
        };
        ResponseFuture {
            inner: self.inner.call(request),
            record: Some(record),
        }
    }
}

/// Records the request body's size: from its size hint when exact, by
/// counting it as it is read when it is an axum [`Body`] (another body
/// type cannot be wrapped without changing the inner service's request
/// type, so a streamed one is not recorded).
fn count_request<B: http_body::Body + 'static>(
    histogram: StripedHistogram,
    mut request: Request<B>,
) -> Request<B> {
    if let Some(n) = request.body().size_hint().exact() {
        histogram.observe(n as f64);
        return request;
    }
    if let Some(body) = (request.body_mut() as &mut dyn Any).downcast_mut::<Body>() {
        let inner = std::mem::take(body);
        *body = Body::new(Counted::new(inner, histogram));
    }
    request
}

/// Which series a request goes to.
enum Route {
    /// Known when the request came in.
    Known(Arc<RouteEntry>),
    /// A gRPC request: `/package.Service/Method` if the method exists.
    Grpc(Arc<Slot>, Uri),
}

/// One request being recorded; leaves the in-flight gauge when dropped,
/// whether the response came or the future was dropped.
struct Record {
    route: Route,
    method: HttpMethod,
    /// A reading of [`alerting_core::clock`]: the TSC where it is safe.
    start: u64,
}

impl Record {
    fn routes(&self) -> &Families {
        match &self.route {
            Route::Known(entry) => entry.routes(),
            Route::Grpc(slot, _) => slot.routes.families(),
        }
    }
}

impl Drop for Record {
    fn drop(&mut self) {
        self.routes().in_flight().dec();
    }
}

impl Routes {
    fn request_size(&self, route: &Route, method: HttpMethod) -> Option<StripedHistogram> {
        if !self.body_sizes() {
            return None;
        }
        match route {
            Route::Known(entry) => entry.request_size(method).cloned(),
            // Unknown until the answer; a gRPC message stream is not
            // sized in advance anyway.
            Route::Grpc(..) => None,
        }
    }
}

/// The outcome once the head is in.
struct Finishing {
    entry: Arc<RouteEntry>,
    method: HttpMethod,
    start: u64,
    /// The class so far: the HTTP status, or the gRPC status once known.
    status: StatusClass,
    /// A gRPC answer whose status comes in the trailers.
    awaiting_trailers: bool,
    /// Counts the response body, if its size was not known at the head.
    bytes: Option<(u64, StripedHistogram)>,
    /// Holds the in-flight gauge until the body ends.
    _record: Option<Record>,
}

impl Finishing {
    fn done(&mut self, status: StatusClass) {
        let entry = &*self.entry;
        if let Some(c) = entry.request(self.method, status) {
            c.inc();
        }
        if let Some(h) = entry.duration(self.method) {
            h.observe(clock::nanos_since(self.start) as f64 * 1e-9);
        }
    }
}

impl Record {
    /// The response head is in: choose the series, and record now or
    /// hand the rest to the body.
    fn head<B: http_body::Body>(self, response: Response<B>) -> Response<MetricsBody<B>> {
        let grpc = matches!(self.route, Route::Grpc(..));
        // A method the server does not have: `unmatched`, the caller's
        // error (as a 404 is), so a scan of method names makes no series
        // and no server errors.
        let unknown = grpc
            && response.status() == StatusCode::OK
            && response.headers().get("grpc-status").map(|v| v.as_bytes())
                == Some(GRPC_UNIMPLEMENTED);
        let entry = match &self.route {
            Route::Known(entry) => Arc::clone(entry),
            Route::Grpc(slot, uri) => {
                let entry = slot.entry(if unknown { UNMATCHED_ROUTE } else { uri.path() });
                if entry.skipped() {
                    return response.map(MetricsBody::plain);
                }
                entry
            }
        };
        if response.extensions().get::<Scrape>().is_some() && entry.scrape_seen() {
            return response.map(MetricsBody::plain);
        }
        let mut status = StatusClass::of(response.status());
        let mut awaiting_trailers = false;
        if unknown {
            status = StatusClass::ClientError;
        } else if grpc && response.status() == StatusCode::OK {
            match response.headers().get("grpc-status") {
                // Trailers-only: the status is in the head.
                Some(code) => status = grpc_status_class(code.as_bytes()),
                None => awaiting_trailers = true,
            }
        }
        let bytes = entry.response_size(self.method).and_then(|h| {
            match response.body().size_hint().exact() {
                Some(n) => {
                    h.observe(n as f64);
                    None
                }
                None => Some((0, h.clone())),
            }
        });
        let to_body_end = self.routes().to_body_end();
        let mut finishing = Finishing {
            entry,
            method: self.method,
            start: self.start,
            status,
            awaiting_trailers,
            bytes,
            _record: None,
        };
        if !to_body_end && !awaiting_trailers {
            finishing.done(status);
            drop(self);
            if finishing.bytes.is_none() {
                return response.map(MetricsBody::plain);
            }
            // Only the size is left to record.
            finishing.awaiting_trailers = false;
            return response.map(|inner| MetricsBody {
                inner,
                state: Some(BodyState {
                    finishing,
                    recorded: true,
                }),
            });
        }
        finishing._record = Some(self);
        response.map(|inner| MetricsBody {
            inner,
            state: Some(BodyState {
                finishing,
                recorded: false,
            }),
        })
    }

    /// The inner service failed instead of answering: counted as a 5xx,
    /// which is what the client will see.
    fn fail(self) {
        let entry = match &self.route {
            Route::Known(entry) => Arc::clone(entry),
            // The path is not known to exist: no series for it.
            Route::Grpc(slot, _) => slot.entry(UNMATCHED_ROUTE),
        };
        if entry.skipped() {
            return;
        }
        if let Some(c) = entry.request(self.method, StatusClass::ServerError) {
            c.inc();
        }
        if let Some(h) = entry.duration(self.method) {
            h.observe(clock::nanos_since(self.start) as f64 * 1e-9);
        }
    }
}

pin_project! {
    /// The response future of [`HttpMetricsService`].
    pub struct ResponseFuture<F> {
        #[pin]
        inner: F,
        record: Option<Record>,
    }
}

impl<F> fmt::Debug for ResponseFuture<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResponseFuture")
            .field("recording", &self.record.is_some())
            .finish_non_exhaustive()
    }
}

impl<F, B, E> Future for ResponseFuture<F>
where
    F: Future<Output = Result<Response<B>, E>>,
    B: http_body::Body,
{
    type Output = Result<Response<MetricsBody<B>>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let result = ready!(this.inner.poll(cx));
        let record = this.record.take();
        Poll::Ready(match result {
            Ok(response) => Ok(match record {
                Some(record) => record.head(response),
                None => response.map(MetricsBody::plain),
            }),
            Err(error) => {
                if let Some(record) = record {
                    record.fail();
                }
                Err(error)
            }
        })
    }
}

pin_project! {
    /// The response body of [`HttpMetricsService`]: the inner body, which
    /// finishes the request's record when it ends (the duration, a gRPC
    /// status from the trailers, the body's size) or when it is dropped
    /// before its end.
    pub struct MetricsBody<B> {
        #[pin]
        inner: B,
        state: Option<BodyState>,
    }

    impl<B> PinnedDrop for MetricsBody<B> {
        fn drop(this: Pin<&mut Self>) {
            if let Some(state) = this.project().state.take() {
                state.end(End::Dropped);
            }
        }
    }
}

impl<B> MetricsBody<B> {
    fn plain(inner: B) -> Self {
        Self { inner, state: None }
    }
}

impl<B> fmt::Debug for MetricsBody<B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MetricsBody")
            .field("recording", &self.state.is_some())
            .finish_non_exhaustive()
    }
}

struct BodyState {
    finishing: Finishing,
    /// The count and duration are already recorded (at the head).
    recorded: bool,
}

enum End {
    Complete,
    Failed,
    Dropped,
}

impl BodyState {
    fn end(mut self, end: End) {
        if let Some((n, h)) = &self.finishing.bytes {
            h.observe(*n as f64);
        }
        if self.recorded {
            return;
        }
        let f = &mut self.finishing;
        let status = match end {
            // A stream that broke off is a failed answer, whatever its head
            // said.
            End::Failed => StatusClass::ServerError,
            // A gRPC stream that ended without its status (UNKNOWN).
            End::Complete if f.awaiting_trailers => StatusClass::ServerError,
            // The client went away before the end: the gRPC status is
            // CANCELLED (a 4xx, as HTTP's 499), an HTTP one keeps its head's.
            End::Dropped if f.awaiting_trailers => StatusClass::ClientError,
            End::Complete | End::Dropped => f.status,
        };
        f.done(status);
    }
}

impl<B: http_body::Body> http_body::Body for MetricsBody<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        let this = self.project();
        let polled = this.inner.poll_frame(cx);
        let Some(state) = this.state else {
            return polled;
        };
        match &polled {
            Poll::Pending => {}
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(data) = frame.data_ref() {
                    if let Some((n, _)) = &mut state.finishing.bytes {
                        *n = n.saturating_add(data.remaining() as u64);
                    }
                } else if let Some(trailers) = frame.trailers_ref()
                    && state.finishing.awaiting_trailers
                {
                    let f = &mut state.finishing;
                    f.awaiting_trailers = false;
                    f.status = trailers
                        .get("grpc-status")
                        .map_or(StatusClass::ServerError, |v| {
                            grpc_status_class(v.as_bytes())
                        });
                }
            }
            Poll::Ready(None) => {
                if let Some(state) = this.state.take() {
                    state.end(End::Complete);
                }
            }
            Poll::Ready(Some(Err(_))) => {
                if let Some(state) = this.state.take() {
                    state.end(End::Failed);
                }
            }
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
