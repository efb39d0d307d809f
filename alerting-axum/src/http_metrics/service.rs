//! The service the layer wraps around each route.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll, ready};

use alerting_core::clock;
use axum::body::Body;
use axum::extract::MatchedPath;
use axum::http::{Request, Response};
use axum::response::IntoResponse;
use http_body::Body as _;
use pin_project_lite::pin_project;
use tower_service::Service;

use super::UNMATCHED_ROUTE;
use super::body::Counted;
use super::labels::{HttpMethod, StatusClass};
use super::routes::{RouteEntry, Routes};
use crate::endpoints::Scrape;

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

    fn entry(&self, route: &str) -> Arc<RouteEntry> {
        let slot = &*self.slot;
        if let Some(entry) = slot.cached.get()
            && entry.route() == route
        {
            return Arc::clone(entry);
        }
        let entry = slot.routes.get(route);
        let _ = slot.cached.set(Arc::clone(&entry));
        entry
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

impl<S> Service<Request<Body>> for HttpMetricsService<S>
where
    S: Service<Request<Body>>,
    S::Response: IntoResponse,
{
    type Response = Response<Body>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<Body>) -> Self::Future {
        let route = request
            .extensions()
            .get::<MatchedPath>()
            .map_or(UNMATCHED_ROUTE, MatchedPath::as_str);
        let entry = self.entry(route);
        if entry.skipped() {
            return ResponseFuture {
                inner: self.inner.call(request),
                record: None,
            };
        }
        let method = HttpMethod::of(request.method());
        let request = if entry.body_sizes() {
            count_request(&entry, method, request)
        } else {
            request
        };
        entry.in_flight().inc();
        let record = Record {
            entry,
            method,
            start: clock::now(),
        };
        ResponseFuture {
            inner: self.inner.call(request),
            record: Some(record),
        }
    }
}

fn count_request(entry: &RouteEntry, method: HttpMethod, request: Request<Body>) -> Request<Body> {
    let Some(histogram) = entry.request_size(method) else {
        return request;
    };
    match request.body().size_hint().exact() {
        // Known in advance (Content-Length, or no body): nothing to wrap.
        Some(n) => {
            histogram.observe(n as f64);
            request
        }
        None => {
            let histogram = histogram.clone();
            request.map(|body| Body::new(Counted::new(body, histogram)))
        }
    }
}

/// One request being recorded; leaves the in-flight gauge when dropped,
/// whether the response came or the future was dropped.
struct Record {
    entry: Arc<RouteEntry>,
    method: HttpMethod,
    /// A reading of [`alerting_core::clock`]: the TSC where it is safe.
    start: u64,
}

impl Record {
    fn finish(self, response: Response<Body>) -> Response<Body> {
        if response.extensions().get::<Scrape>().is_some() && self.entry.scrape_seen() {
            return response;
        }
        let seconds = clock::nanos_since(self.start) as f64 * 1e-9;
        let entry = &*self.entry;
        if let Some(c) = entry.request(self.method, StatusClass::of(response.status())) {
            c.inc();
        }
        if let Some(h) = entry.duration(self.method) {
            h.observe(seconds);
        }
        match entry.response_size(self.method) {
            None => response,
            Some(histogram) => match response.body().size_hint().exact() {
                Some(n) => {
                    histogram.observe(n as f64);
                    response
                }
                None => {
                    let histogram = histogram.clone();
                    response.map(|body| Body::new(Counted::new(body, histogram)))
                }
            },
        }
    }

    /// The inner service failed instead of answering: counted as a 5xx,
    /// which is what the client will see.
    fn fail(self) {
        let entry = &*self.entry;
        if let Some(c) = entry.request(self.method, StatusClass::ServerError) {
            c.inc();
        }
        if let Some(h) = entry.duration(self.method) {
            h.observe(clock::nanos_since(self.start) as f64 * 1e-9);
        }
    }
}

impl Drop for Record {
    fn drop(&mut self) {
        self.entry.in_flight().dec();
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

impl<F, R, E> Future for ResponseFuture<F>
where
    F: Future<Output = Result<R, E>>,
    R: IntoResponse,
{
    type Output = Result<Response<Body>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let result = ready!(this.inner.poll(cx));
        let record = this.record.take();
        Poll::Ready(match result {
            Ok(response) => {
                let response = response.into_response();
                Ok(match record {
                    Some(record) => record.finish(response),
                    None => response,
                })
            }
            Err(error) => {
                if let Some(record) = record {
                    record.fail();
                }
                Err(error)
            }
        })
    }
}
