//! [`ExpositionServer`]: a registry's text on `GET /metrics`, served from
//! a thread with `std::net`, for tests that scrape a registry of their own.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// The Prometheus text format's content type.
const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";
/// The OpenMetrics text format's content type.
const OPENMETRICS_CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Answers every request on 127.0.0.1 with what `render` returns (the
/// Prometheus text format), until dropped.
#[derive(Debug)]
pub struct ExpositionServer {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
}

impl ExpositionServer {
    /// Binds 127.0.0.1:0 and serves from a thread. `render` encodes the
    /// registry, e.g. `|| registry.encode_to_string(Format::Prometheus)`;
    /// an `Err` answers 500 with its text.
    ///
    /// # Panics
    ///
    /// If 127.0.0.1:0 cannot be bound.
    pub fn start<F, E>(render: F) -> Self
    where
        F: Fn() -> Result<String, E> + Send + 'static,
        E: std::fmt::Display,
    {
        Self::serve(CONTENT_TYPE, render)
    }

    /// As [`start`](Self::start), for `render`s that write OpenMetrics
    /// (`Format::OpenMetrics`), answered with its content type, so that
    /// Prometheus parses it as OpenMetrics (and reads exemplars).
    ///
    /// # Panics
    ///
    /// If 127.0.0.1:0 cannot be bound.
    pub fn start_openmetrics<F, E>(render: F) -> Self
    where
        F: Fn() -> Result<String, E> + Send + 'static,
        E: std::fmt::Display,
    {
        Self::serve(OPENMETRICS_CONTENT_TYPE, render)
    }

    fn serve<F, E>(content_type: &'static str, render: F) -> Self
    where
        F: Fn() -> Result<String, E> + Send + 'static,
        E: std::fmt::Display,
    {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("the bound address");
        let stop = Arc::new(AtomicBool::new(false));
        let stopping = Arc::clone(&stop);
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                if stopping.load(Ordering::Relaxed) {
                    break;
                }
                let Ok(mut stream) = stream else { continue };
                let _ = answer(&mut stream, content_type, &render);
            }
        });
        Self { addr, stop }
    }

    /// Where it listens.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }
}

impl Drop for ExpositionServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        // Wake the accept loop so that it sees the flag.
        let _ = TcpStream::connect(self.addr);
    }
}

fn answer<F, E>(stream: &mut TcpStream, content_type: &str, render: &F) -> std::io::Result<()>
where
    F: Fn() -> Result<String, E>,
    E: std::fmt::Display,
{
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    // The request head; a scrape has no body.
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") && head.len() < 16 * 1024 {
        if stream.read(&mut byte)? == 0 {
            break;
        }
        head.push(byte[0]);
    }
    let (status, content_type, body) = match render() {
        Ok(text) => ("200 OK", content_type, text),
        Err(e) => ("500 Internal Server Error", "text/plain", e.to_string()),
    };
    write!(
        stream,
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
}
