//! The limits of `serve`/`serve_admin` (`HttpLimits`), over real sockets
//! on 127.0.0.1 with short timeouts: slow or silent clients are closed by
//! the header read timeout, kept-alive connections by the idle timeout,
//! the connection limit holds, a half-sent request does not hold a
//! shutdown up, clients that do not read `/metrics` hold a bounded number
//! of expositions, and the endpoints answer 503 when they take too long.

mod common;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use alerting_axum::{Endpoints, HttpLimits, Server, serve_admin_with, serve_with};
use alerting_core::Observability;
use alerting_core::config::ConfigLoader;
use alerting_core::metrics::{Counter, DynamicFamily, Format, LabelSet, MetricOptions, Registry};
use alerting_core::shutdown::{CloserOutcome, Shutdown};
use axum::Router;
use axum::routing::get;
use common::health;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpSocket, TcpStream};

/// The timeouts under test; the upper bounds below leave a loaded machine
/// plenty of room.
const SHORT: Duration = Duration::from_millis(300);
/// A timer must not fire before its time (less the clock's slack).
const NOT_BEFORE: Duration = Duration::from_millis(250);
/// Long enough for a timer of `SHORT` to have fired on a loaded machine.
const WITHIN: Duration = Duration::from_secs(3);

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn app() -> Router {
    Router::new().route("/", get(|| async { "hello" })).route(
        "/slow",
        get(|| async {
            tokio::time::sleep(ms(500)).await;
            "finally"
        }),
    )
}

fn shutdown() -> Shutdown {
    Shutdown::builder()
        .signals(false)
        .deadline(Duration::from_secs(2))
        .closer_timeout(Duration::from_secs(2))
        .build()
}

/// Serves `app()` with `limits` in the background; the shutdown is never
/// triggered, the runtime's end stops it.
async fn start(limits: HttpLimits) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(serve_with(listener, app(), &shutdown(), limits));
    addr
}

/// Waits until the peer closes `stream` (EOF or reset), discarding what it
/// sends; returns how long that took, or `None` after `max`.
async fn closed_within(stream: &mut TcpStream, max: Duration) -> Option<Duration> {
    let start = Instant::now();
    let mut buf = [0u8; 4096];
    tokio::time::timeout(max, async {
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(_) => {}
            }
        }
    })
    .await
    .ok()
    .map(|()| start.elapsed())
}

/// Reads one response (`Content-Length` bodies only): the status code and
/// the body.
async fn response(stream: &mut TcpStream) -> (u16, String) {
    let mut data = Vec::new();
    let mut buf = [0u8; 4096];
    let read = async {
        loop {
            if let Some(end) = data.windows(4).position(|w| w == b"\r\n\r\n") {
                let head = String::from_utf8_lossy(&data[..end]).to_lowercase();
                let length: usize = head
                    .lines()
                    .find_map(|l| l.strip_prefix("content-length:"))
                    .map_or(0, |v| v.trim().parse().unwrap());
                if data.len() >= end + 4 + length {
                    let status = head[9..12].parse().unwrap();
                    let body = String::from_utf8_lossy(&data[end + 4..end + 4 + length]);
                    return (status, body.into_owned());
                }
            }
            let n = stream.read(&mut buf).await.expect("read failed");
            assert!(n > 0, "closed before a whole response: {data:?}");
            data.extend_from_slice(&buf[..n]);
        }
    };
    tokio::time::timeout(Duration::from_secs(10), read)
        .await
        .expect("no response in time")
}

const GET: &[u8] = b"GET / HTTP/1.1\r\nHost: test\r\n\r\n";

#[test]
fn the_defaults_are_the_documented_ones() {
    let d = HttpLimits::default();
    assert_eq!(d.get_header_read_timeout(), Some(Duration::from_secs(10)));
    assert_eq!(d.get_idle_timeout(), Some(Duration::from_secs(60)));
    assert_eq!(d.get_write_timeout(), Some(Duration::from_secs(30)));
    assert_eq!(d.get_max_connections(), Some(1024));
    assert_eq!(d.get_endpoint_timeout(), Some(Duration::from_secs(30)));
    assert_eq!(d.get_max_concurrent_scrapes(), Some(4));
    assert_eq!(d.get_scrape_wait(), Duration::from_secs(1));
    assert_eq!(HttpLimits::none().get_max_connections(), None);
}

#[tokio::test]
async fn half_a_header_then_nothing_is_closed_at_the_header_timeout() {
    let addr = start(
        HttpLimits::default()
            .header_read_timeout(SHORT)
            .idle_timeout(Duration::from_secs(60)),
    )
    .await;
    let mut half = TcpStream::connect(addr).await.unwrap();
    half.write_all(b"GET / HTTP/1.1\r\nHost: te").await.unwrap();
    // A connection that sends nothing at all is timed the same way.
    let mut silent = TcpStream::connect(addr).await.unwrap();

    let took = closed_within(&mut half, WITHIN)
        .await
        .expect("half a header: still open");
    assert!(took >= NOT_BEFORE, "closed too early: {took:?}");
    let took = closed_within(&mut silent, WITHIN)
        .await
        .expect("silent connection: still open");
    assert!(took < WITHIN);
}

#[tokio::test]
async fn a_trickled_header_is_closed_at_the_header_timeout() {
    let addr = start(HttpLimits::default().header_read_timeout(SHORT)).await;
    let stream = TcpStream::connect(addr).await.unwrap();
    let (mut read, mut write) = stream.into_split();
    let started = Instant::now();
    // One byte every 100 ms of a header that never ends: each byte is
    // progress, none completes the header.
    let trickle = tokio::spawn(async move {
        write
            .write_all(b"GET / HTTP/1.1\r\nX-Slow: ")
            .await
            .unwrap();
        for _ in 0..50 {
            tokio::time::sleep(ms(100)).await;
            if write.write_all(b"a").await.is_err() {
                return true;
            }
        }
        false
    });
    let mut buf = [0u8; 64];
    let closed = tokio::time::timeout(WITHIN, read.read(&mut buf)).await;
    let took = started.elapsed();
    assert!(
        matches!(closed, Ok(Ok(0) | Err(_))),
        "still open after {took:?}: {closed:?}"
    );
    assert!(took >= NOT_BEFORE, "closed too early: {took:?}");
    trickle.abort();
}

#[tokio::test]
async fn an_idle_keep_alive_connection_is_closed_at_the_idle_timeout() {
    // The idle timeout is longer than the header timeout: waiting for the
    // next request is not timed as reading a header.
    let addr = start(
        HttpLimits::default()
            .header_read_timeout(SHORT)
            .idle_timeout(ms(1200)),
    )
    .await;
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(GET).await.unwrap();
    assert_eq!(response(&mut stream).await, (200, "hello".to_owned()));

    // Past the header timeout, the connection is still there for reuse.
    tokio::time::sleep(ms(600)).await;
    stream.write_all(GET).await.unwrap();
    assert_eq!(response(&mut stream).await, (200, "hello".to_owned()));

    let took = closed_within(&mut stream, Duration::from_secs(5))
        .await
        .expect("idle keep-alive connection: still open");
    assert!(took >= ms(1100), "closed before the idle timeout: {took:?}");
}

#[tokio::test]
async fn at_the_connection_limit_new_connections_wait_their_turn() {
    let addr = start(HttpLimits::default().max_connections(2)).await;
    let mut first = TcpStream::connect(addr).await.unwrap();
    let mut second = TcpStream::connect(addr).await.unwrap();
    for stream in [&mut first, &mut second] {
        stream.write_all(GET).await.unwrap();
        assert_eq!(response(stream).await.0, 200);
    }

    // The third connects (the kernel's backlog) but is not served.
    let mut third = TcpStream::connect(addr).await.unwrap();
    third.write_all(GET).await.unwrap();
    let mut buf = [0u8; 64];
    let early = tokio::time::timeout(ms(500), third.read(&mut buf)).await;
    assert!(early.is_err(), "served beyond the limit: {early:?}");

    // One closes: the third is accepted and answered.
    drop(first);
    assert_eq!(response(&mut third).await, (200, "hello".to_owned()));
    // The second still works: nothing was dropped to make room.
    second.write_all(GET).await.unwrap();
    assert_eq!(response(&mut second).await.0, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_half_sent_request_does_not_hold_shutdown_up() {
    let shutdown = shutdown();
    // The default limits: a header timeout of 10 s, far beyond this test.
    let api_listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let api = api_listener.local_addr().unwrap();
    let admin_listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let admin = admin_listener.local_addr().unwrap();
    let admin_router = Endpoints::new()
        .health(health(&shutdown).await)
        .router()
        .unwrap();
    let api_server = tokio::spawn(serve_with(
        api_listener,
        app(),
        &shutdown,
        HttpLimits::default(),
    ));
    let admin_server = tokio::spawn(serve_admin_with(
        admin_listener,
        admin_router,
        &shutdown,
        HttpLimits::default(),
    ));

    let mut half_api = TcpStream::connect(api).await.unwrap();
    half_api.write_all(b"GET / HTTP/1.1\r\nHo").await.unwrap();
    let mut half_admin = TcpStream::connect(admin).await.unwrap();
    half_admin
        .write_all(b"GET /ready HTTP/1.1\r\n")
        .await
        .unwrap();
    // A request in progress still finishes.
    let mut slow = TcpStream::connect(api).await.unwrap();
    slow.write_all(b"GET /slow HTTP/1.1\r\nHost: test\r\n\r\n")
        .await
        .unwrap();
    tokio::time::sleep(ms(100)).await;

    let started = Instant::now();
    shutdown.trigger("test");
    let report = tokio::time::timeout(Duration::from_secs(10), shutdown.run())
        .await
        .expect("shutdown did not finish");
    let took = started.elapsed();
    assert!(report.is_clean(), "{report}");
    assert!(
        report
            .closers
            .iter()
            .all(|c| c.outcome == CloserOutcome::Ok),
        "{report}"
    );
    assert!(took < ms(1500), "shutdown took {took:?}");
    assert_eq!(response(&mut slow).await, (200, "finally".to_owned()));
    for half in [&mut half_api, &mut half_admin] {
        assert!(closed_within(half, WITHIN).await.is_some(), "still open");
    }
    api_server.await.unwrap().unwrap();
    admin_server.await.unwrap().unwrap();
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, LabelSet)]
struct Token {
    token: String,
}

/// A registry whose text exposition is about 700 kB, far more than the
/// socket buffers between the server and a client that does not read.
fn large_registry() -> Registry {
    let registry = Registry::new();
    let tokens: DynamicFamily<Token, Counter> = registry
        .register_with(
            "token_swaps_total",
            "Swaps seen, by token",
            MetricOptions::new().max_series(10_000),
        )
        .unwrap();
    for i in 0..10_000u32 {
        tokens
            .get_or_create(&Token {
                token: format!("0x{i:040x}"),
            })
            .inc();
    }
    registry
}

/// Connects with a small receive buffer, asks for `/metrics` (no gzip) and
/// reads only the status line; the rest of the body is left unread.
async fn scrape_without_reading(addr: SocketAddr) -> (u16, TcpStream) {
    let socket = TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let mut stream = socket.connect(addr).await.unwrap();
    stream
        .write_all(b"GET /metrics HTTP/1.1\r\nHost: test\r\n\r\n")
        .await
        .unwrap();
    let mut status = [0u8; 12];
    tokio::time::timeout(Duration::from_secs(10), stream.read_exact(&mut status))
        .await
        .expect("no status line")
        .unwrap();
    let code = std::str::from_utf8(&status[9..12])
        .unwrap()
        .parse()
        .unwrap();
    (code, stream)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clients_that_do_not_read_metrics_hold_at_most_the_cap() {
    let shutdown = shutdown();
    // Small send buffers (inherited by the accepted sockets), or the
    // kernel would take a whole exposition off the server's hands on
    // loopback, where buffers grow to megabytes.
    let socket = TcpSocket::new_v4().unwrap();
    socket.set_send_buffer_size(16 << 10).unwrap();
    socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let listener = socket.listen(64).unwrap();
    let addr = listener.local_addr().unwrap();
    let registry = large_registry();
    let full = registry.encode_to_string(Format::Prometheus).unwrap().len();
    let router = Endpoints::new().metrics(registry).router().unwrap();
    let write_timeout = Duration::from_secs(2);
    tokio::spawn(serve_admin_with(
        listener,
        router,
        &shutdown,
        HttpLimits::default()
            .max_concurrent_scrapes(2)
            .scrape_wait(ms(200))
            .write_timeout(write_timeout),
    ));

    // Ten scrapers that never read: two get an exposition, which stays
    // stuck in their connections; the others wait for a slot, then 503.
    let started = Instant::now();
    let scrapers: Vec<_> = (0..10)
        .map(|_| tokio::spawn(scrape_without_reading(addr)))
        .collect();
    let mut held = Vec::new();
    let mut refused = 0;
    for scraper in scrapers {
        let (code, stream) = scraper.await.unwrap();
        match code {
            200 => held.push(stream),
            503 => refused += 1,
            other => panic!("status {other}"),
        }
    }
    assert!(
        started.elapsed() < write_timeout,
        "the count is only meaningful before the write timeout"
    );
    assert_eq!((held.len(), refused), (2, 8));

    // The write timeout disconnects them before their body is sent, and
    // frees the slots. (Reading now would let the server go on writing:
    // read once it should have given up.)
    tokio::time::sleep(write_timeout + Duration::from_secs(1)).await;
    for stream in &mut held {
        let mut rest = Vec::new();
        let read = tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut rest))
            .await
            .expect("a client that does not read was not disconnected");
        assert!(read.is_err() || rest.len() < full, "{} bytes", rest.len());
    }
    // A client that reads gets all of it.
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream
        .write_all(b"GET /metrics HTTP/1.1\r\nHost: test\r\n\r\n")
        .await
        .unwrap();
    let (code, body) = response(&mut stream).await;
    assert_eq!((code, body.len()), (200, full));
}

#[tokio::test]
async fn the_endpoints_answer_503_when_they_take_too_long() {
    let shutdown = shutdown();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let router = Endpoints::new()
        .health(health(&shutdown).await)
        .router()
        .unwrap()
        .route("/hang", get(std::future::pending::<&'static str>));
    tokio::spawn(serve_admin_with(
        listener,
        router,
        &shutdown,
        HttpLimits::default().endpoint_timeout(SHORT),
    ));
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let started = Instant::now();
    stream
        .write_all(b"GET /hang HTTP/1.1\r\nHost: test\r\n\r\n")
        .await
        .unwrap();
    assert_eq!(response(&mut stream).await.0, 503);
    assert!(started.elapsed() >= NOT_BEFORE);
    stream
        .write_all(b"GET /health HTTP/1.1\r\nHost: test\r\n\r\n")
        .await
        .unwrap();
    assert_eq!(response(&mut stream).await.0, 200);
}

#[tokio::test]
async fn server_takes_the_limits() {
    let config = ConfigLoader::new()
        .toml("[metrics]\nlisten_addr = \"127.0.0.1:0\"\n")
        .no_env()
        .load()
        .unwrap();
    let obs = Observability::builder("orders")
        .config(&config)
        .logging(false)
        .install_global(false)
        .process_collector(false)
        .signals(false)
        .start()
        .unwrap();
    let server = Server::new(&obs)
        .limits(HttpLimits::default().header_read_timeout(SHORT))
        .bind()
        .await
        .unwrap();
    let mut half = TcpStream::connect(server.metrics_addr()).await.unwrap();
    half.write_all(b"GET /metrics HTTP/1.1\r\n").await.unwrap();
    let took = closed_within(&mut half, WITHIN)
        .await
        .expect("half a header: still open");
    assert!(took >= NOT_BEFORE, "closed too early: {took:?}");
    obs.shutdown().trigger("test");
    let report = server.run().await.unwrap();
    assert!(report.is_clean(), "{report}");
}
