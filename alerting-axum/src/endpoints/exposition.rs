//! `GET /metrics`: negotiation, encoding into kept buffers, gzip, and the
//! cap on responses in progress ([`ScrapeSlots`], set by the server).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

#[cfg(feature = "gzip")]
use alerting_core::metrics::quality_list;
use alerting_core::metrics::{Format, Registry};
use axum::Extension;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
#[cfg(feature = "gzip")]
use flate2::{Compress, Compression, Crc, FlushCompress, Status};
use tokio::sync::OwnedSemaphorePermit;

use super::auth::{BearerToken, unauthorized};
use crate::serve::ScrapeSlots;

/// Marks a response as a scrape of our own metrics endpoint, so that the
/// HTTP metrics layer can leave it out.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Scrape;

/// Buffers kept per endpoint: enough for a few concurrent scrapers.
const KEPT_BUFFERS: usize = 4;
/// A buffer larger than this (after an unusual scrape) is not kept.
const MAX_KEPT_CAPACITY: usize = 64 << 20;

pub(crate) struct Exposition {
    registry: Registry,
    token: Option<Arc<BearerToken>>,
    gzip: bool,
    pool: Arc<Pool>,
    /// The warning about `#[instrumented]` series recorded elsewhere was
    /// logged.
    warned: AtomicBool,
}

impl Exposition {
    pub(crate) fn new(registry: Registry, token: Option<Arc<BearerToken>>, gzip: bool) -> Self {
        registry.mark_served();
        Self {
            registry,
            token,
            gzip,
            pool: Arc::new(Pool::default()),
            warned: AtomicBool::new(false),
        }
    }
}

pub(crate) async fn serve_metrics(
    State(exposition): State<Arc<Exposition>>,
    method: Method,
    headers: HeaderMap,
    slots: Option<Extension<ScrapeSlots>>,
) -> Response {
    if let Some(token) = &exposition.token
        && !token.authorizes(&headers)
    {
        return unauthorized();
    }
    let format = negotiate_format(&headers);
    #[cfg(feature = "gzip")]
    let gzip = exposition.gzip && accepts_gzip(&headers);
    #[cfg(not(feature = "gzip"))]
    let gzip = false;
    if !exposition.warned.load(Ordering::Relaxed)
        && exposition.registry.misses_instrumentation()
        && !exposition.warned.swap(true, Ordering::Relaxed)
    {
        tracing::warn!(
            "#[instrumented] functions record into the default global registry, which no \
             /metrics serves: call Registry::set_global(registry.clone()) before their first \
             call (or give them `registry = …`, or serve Registry::global())"
        );
    }

    let mut response = if method == Method::HEAD {
        // axum drops the body of a HEAD response; do not encode one.
        Response::new(Body::empty())
    } else {
        // The slot is held by the body until it is written or dropped, so
        // clients that do not read hold a bounded number of expositions.
        let slot = match slots {
            Some(Extension(slots)) => match slots.acquire().await {
                Some(slot) => Some(slot),
                None => return too_many_scrapes(),
            },
            None => None,
        };
        // Every encode runs on tokio's blocking pool, never on an async
        // worker: it reads /proc (the process collector), takes the
        // families' locks and costs about 1 ms per 10,000 series, any of
        // which would hold up the worker's other tasks. The scrape slot
        // bounds how many run at once.
        let encoded = {
            let exposition = Arc::clone(&exposition);
            tokio::task::spawn_blocking(move || encode(&exposition, format, gzip, slot))
                .await
                .map_err(|e| e.to_string())
                .and_then(|r| r.map_err(|e| e.to_string()))
        };
        match encoded {
            Ok(body) => Response::new(Body::from(body)),
            Err(error) => {
                tracing::warn!(
                    target: "alerting_axum::endpoints",
                    %error,
                    "cannot encode metrics",
                );
                return (StatusCode::INTERNAL_SERVER_ERROR, "cannot encode metrics\n")
                    .into_response();
            }
        }
    };
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(format.content_type()),
    );
    h.insert(
        header::VARY,
        HeaderValue::from_static(if exposition.gzip {
            "accept, accept-encoding"
        } else {
            "accept"
        }),
    );
    if gzip {
        h.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
    }
    response.extensions_mut().insert(Scrape);
    response
}

/// 503 with `Retry-After`: every scrape slot stayed taken for the wait.
fn too_many_scrapes() -> Response {
    tracing::debug!(
        target: "alerting_axum::endpoints",
        "too many /metrics responses in progress: answered 503",
    );
    let mut response = (
        StatusCode::SERVICE_UNAVAILABLE,
        [(header::RETRY_AFTER, HeaderValue::from_static("1"))],
        "too many scrapes in progress\n",
    )
        .into_response();
    response.extensions_mut().insert(Scrape);
    response
}

fn encode(
    exposition: &Exposition,
    format: Format,
    gzip: bool,
    slot: Option<OwnedSemaphorePermit>,
) -> Result<Bytes, alerting_core::metrics::MetricsError> {
    let pool = &exposition.pool;
    let mut text = pool.take_text();
    exposition.registry.encode(format, &mut text)?;
    #[cfg(feature = "gzip")]
    if gzip {
        let mut out = pool.take_bytes();
        let mut compressor = pool.take_compressor();
        gzip_into(&mut compressor, text.as_bytes(), &mut out);
        pool.give_compressor(compressor);
        pool.give_text(text);
        return Ok(Bytes::from_owner(Pooled::bytes(out, pool).holding(slot)));
    }
    #[cfg(not(feature = "gzip"))]
    let _: bool = gzip;
    Ok(Bytes::from_owner(Pooled::text(text, pool).holding(slot)))
}

/// The `Accept` header's format; several headers are read as one list.
fn negotiate_format(headers: &HeaderMap) -> Format {
    let mut values = headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok());
    match (values.next(), values.next()) {
        (None, _) => Format::default(),
        (Some(one), None) => Format::from_accept(one),
        (Some(first), Some(second)) => {
            let mut joined = format!("{first},{second}");
            for v in values {
                joined.push(',');
                joined.push_str(v);
            }
            Format::from_accept(&joined)
        }
    }
}

#[cfg(feature = "gzip")]
/// Whether `Accept-Encoding` allows gzip: `gzip` (or `x-gzip`) with a
/// non-zero `q`, or `*` with a non-zero `q` and gzip not refused. A value
/// that does not parse counts as not accepting.
pub(crate) fn accepts_gzip(headers: &HeaderMap) -> bool {
    let mut gzip_q: Option<f32> = None;
    let mut any_q: Option<f32> = None;
    for value in headers.get_all(header::ACCEPT_ENCODING) {
        let Ok(value) = value.to_str() else { continue };
        for (coding, q) in quality_list(value) {
            if coding.eq_ignore_ascii_case("gzip") || coding.eq_ignore_ascii_case("x-gzip") {
                gzip_q = Some(gzip_q.map_or(q, |old| old.max(q)));
            } else if coding == "*" {
                any_q = Some(any_q.map_or(q, |old| old.max(q)));
            }
        }
    }
    gzip_q.or(any_q).is_some_and(|q| q > 0.0)
}

#[cfg(feature = "gzip")]
/// Writes `input` as one gzip member (RFC 1952) into `out`, reusing
/// `compressor` (whose tables are the costly part to allocate).
fn gzip_into(compressor: &mut Compress, input: &[u8], out: &mut Vec<u8>) {
    // Magic, deflate, no flags, no mtime, no extra flags, unknown OS.
    out.extend_from_slice(&[0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 255]);
    compressor.reset();
    out.reserve(input.len() / 4 + 64);
    let mut consumed = 0usize;
    loop {
        if out.capacity() - out.len() < 64 {
            out.reserve(out.capacity().max(4096));
        }
        let (before_in, before_out) = (compressor.total_in(), compressor.total_out());
        let rest = input.get(consumed..).unwrap_or_default();
        let status = compressor.compress_vec(rest, out, FlushCompress::Finish);
        let read = compressor.total_in() - before_in;
        consumed += usize::try_from(read).unwrap_or(usize::MAX);
        let progressed = read > 0 || compressor.total_out() > before_out;
        match status {
            Ok(Status::StreamEnd) => break,
            Ok(Status::Ok | Status::BufError) if progressed => {}
            // Deflating a byte slice does not fail or stall; if it ever
            // did, the client would see a corrupt body, not a panic or a
            // hung worker.
            Ok(_) | Err(_) => break,
        }
    }
    let mut crc = Crc::new();
    crc.update(input);
    out.extend_from_slice(&crc.sum().to_le_bytes());
    // ISIZE: the input length modulo 2^32, as the format defines it.
    out.extend_from_slice(&(input.len() as u32).to_le_bytes());
}

/// Buffers and compressors kept between scrapes.
#[derive(Default)]
struct Pool {
    texts: Mutex<Vec<String>>,
    #[cfg(feature = "gzip")]
    bytes: Mutex<Vec<Vec<u8>>>,
    #[cfg(feature = "gzip")]
    compressors: Mutex<Vec<Compress>>,
}

impl Pool {
    fn take_text(&self) -> String {
        self.texts
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop()
            .unwrap_or_default()
    }

    fn give_text(&self, mut text: String) {
        if text.capacity() > MAX_KEPT_CAPACITY {
            return;
        }
        text.clear();
        let mut texts = self.texts.lock().unwrap_or_else(PoisonError::into_inner);
        if texts.len() < KEPT_BUFFERS {
            texts.push(text);
        }
    }

    #[cfg(feature = "gzip")]
    fn take_bytes(&self) -> Vec<u8> {
        self.bytes
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop()
            .unwrap_or_default()
    }

    #[cfg(feature = "gzip")]
    fn give_bytes(&self, mut bytes: Vec<u8>) {
        if bytes.capacity() > MAX_KEPT_CAPACITY {
            return;
        }
        bytes.clear();
        let mut kept = self.bytes.lock().unwrap_or_else(PoisonError::into_inner);
        if kept.len() < KEPT_BUFFERS {
            kept.push(bytes);
        }
    }

    #[cfg(feature = "gzip")]
    fn take_compressor(&self) -> Compress {
        self.compressors
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop()
            // Level 1: scrapes are frequent and the text compresses well
            // anyway (about 10:1).
            .unwrap_or_else(|| Compress::new(Compression::fast(), false))
    }

    #[cfg(feature = "gzip")]
    fn give_compressor(&self, compressor: Compress) {
        let mut kept = self
            .compressors
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if kept.len() < KEPT_BUFFERS {
            kept.push(compressor);
        }
    }
}

/// A body buffer that goes back to the pool when the response body
/// (`Bytes`) is dropped, after it has been written to the socket; the
/// scrape slot, if any, is freed then too.
struct Pooled {
    buf: Buf,
    pool: Arc<Pool>,
    _slot: Option<OwnedSemaphorePermit>,
}

enum Buf {
    Text(String),
    #[cfg(feature = "gzip")]
    Bytes(Vec<u8>),
}

impl Pooled {
    fn text(text: String, pool: &Arc<Pool>) -> Self {
        Self {
            buf: Buf::Text(text),
            pool: Arc::clone(pool),
            _slot: None,
        }
    }

    #[cfg(feature = "gzip")]
    fn bytes(bytes: Vec<u8>, pool: &Arc<Pool>) -> Self {
        Self {
            buf: Buf::Bytes(bytes),
            pool: Arc::clone(pool),
            _slot: None,
        }
    }

    fn holding(mut self, slot: Option<OwnedSemaphorePermit>) -> Self {
        self._slot = slot;
        self
    }
}

impl AsRef<[u8]> for Pooled {
    fn as_ref(&self) -> &[u8] {
        match &self.buf {
            Buf::Text(t) => t.as_bytes(),
            #[cfg(feature = "gzip")]
            Buf::Bytes(b) => b,
        }
    }
}

impl Drop for Pooled {
    fn drop(&mut self) {
        match std::mem::replace(&mut self.buf, Buf::Text(String::new())) {
            Buf::Text(t) => self.pool.give_text(t),
            #[cfg(feature = "gzip")]
            Buf::Bytes(b) => self.pool.give_bytes(b),
        }
    }
}

#[cfg(test)]
mod tests {
    #[cfg(feature = "gzip")]
    use std::io::Read;

    use super::*;

    fn with(name: header::HeaderName, values: &[&[u8]]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for v in values {
            h.append(name.clone(), HeaderValue::from_bytes(v).unwrap());
        }
        h
    }

    #[cfg(feature = "gzip")]
    #[test]
    fn gzip_is_negotiated() {
        let enc = header::ACCEPT_ENCODING;
        for yes in [
            &[&b"gzip"[..]][..],
            &[b"deflate, gzip;q=0.5"],
            &[b"*"],
            &[b"br", b"GZIP"],
            &[b"x-gzip"],
            &[b"gzip;q=0, *;q=1, gzip;q=0.1"],
        ] {
            assert!(accepts_gzip(&with(enc.clone(), yes)), "{yes:?}");
        }
        for no in [
            &[&b""[..]][..],
            &[b"identity"],
            &[b"gzip;q=0"],
            &[b"gzip;q=0, *"],
            &[b"gzip;q=abc"],
            &[b"gzip;q=2"],
            &[b";;;,,,=q"],
            &[b"\xff\xfe"],
        ] {
            assert!(!accepts_gzip(&with(enc.clone(), no)), "{no:?}");
        }
        assert!(!accepts_gzip(&HeaderMap::new()));
    }

    #[test]
    fn several_accept_headers_are_one_list() {
        let h = with(
            header::ACCEPT,
            &[b"text/plain;q=0.5", b"application/openmetrics-text"],
        );
        assert_eq!(negotiate_format(&h), Format::OpenMetrics);
        let h = with(header::ACCEPT, &[b"\xff", b"text/plain"]);
        assert_eq!(negotiate_format(&h), Format::Prometheus);
    }

    #[cfg(feature = "gzip")]
    #[test]
    fn gzip_round_trips_with_a_reused_compressor() {
        let mut compressor = Compress::new(Compression::fast(), false);
        let big: String = (0..50_000).map(|i| format!("series_{i} {i}\n")).collect();
        for input in ["", "a", big.as_str(), "again after a big one"] {
            let mut out = Vec::new();
            gzip_into(&mut compressor, input.as_bytes(), &mut out);
            let mut decoded = String::new();
            flate2::read::GzDecoder::new(&out[..])
                .read_to_string(&mut decoded)
                .unwrap();
            assert_eq!(decoded, input);
        }
    }

    #[test]
    fn buffers_return_to_the_pool() {
        let pool = Arc::new(Pool::default());
        let mut text = pool.take_text();
        text.push_str("x".repeat(1000).as_str());
        let bytes = Bytes::from_owner(Pooled::text(text, &pool));
        assert_eq!(bytes.len(), 1000);
        let slice = bytes.slice(10..20);
        drop(bytes);
        assert!(pool.texts.lock().unwrap().is_empty(), "still referenced");
        drop(slice);
        let kept = pool.take_text();
        assert!(kept.is_empty() && kept.capacity() >= 1000);
    }
}
