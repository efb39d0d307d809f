//! The ready-made checks against real sockets on 127.0.0.1: a TCP port that
//! is open and then closed, and HTTP servers that answer 200, 503, nothing,
//! or something that is not HTTP.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use alerting_core::health::checks::{HttpCheck, HttpProbeError, TcpCheck, http_status};
use alerting_core::health::{CheckOptions, HealthRegistry, Status};

const TIMEOUT: Duration = Duration::from_millis(500);

/// A server on 127.0.0.1 that reads each request's head and answers with
/// `reply(path)` (`None`: keep the connection open, say nothing), until
/// dropped.
struct Server {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Server {
    fn start(reply: fn(&str) -> Option<&'static str>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let addr = listener.local_addr().unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let thread = std::thread::spawn({
            let stop = Arc::clone(&stop);
            move || {
                let mut silent = Vec::new();
                while !stop.load(Ordering::Relaxed) {
                    let Ok((mut stream, _)) = listener.accept() else {
                        std::thread::sleep(Duration::from_millis(5));
                        continue;
                    };
                    stream.set_nonblocking(false).unwrap();
                    stream.set_read_timeout(Some(TIMEOUT)).unwrap();
                    let mut head = Vec::new();
                    let mut buf = [0u8; 512];
                    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                        match stream.read(&mut buf) {
                            Ok(0) | Err(_) => break,
                            Ok(n) => head.extend_from_slice(&buf[..n]),
                        }
                    }
                    let head = String::from_utf8_lossy(&head).into_owned();
                    let path = head.split(' ').nth(1).unwrap_or("").to_owned();
                    match reply(&path) {
                        Some(answer) => {
                            let _ = stream.write_all(answer.as_bytes());
                        }
                        None => silent.push(stream),
                    }
                }
            }
        });
        Self {
            addr,
            stop,
            thread: Some(thread),
        }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn answers(path: &str) -> Option<&'static str> {
    match path {
        "/health" | "/ready?verbose" => {
            Some("HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok")
        }
        "/down" => Some("HTTP/1.1 503 Service Unavailable\r\ncontent-length: 0\r\n\r\n"),
        "/ssh" => Some("SSH-2.0-OpenSSH_9.6\r\n"),
        "/hang" => None,
        _ => Some("HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n"),
    }
}

#[tokio::test]
async fn http_status_reads_the_status_line() {
    let server = Server::start(answers);
    assert_eq!(
        http_status(&server.url("/health"), TIMEOUT).await.unwrap(),
        200
    );
    assert_eq!(
        http_status(&server.url("/ready?verbose"), TIMEOUT)
            .await
            .unwrap(),
        200
    );
    assert_eq!(
        http_status(&server.url("/down"), TIMEOUT).await.unwrap(),
        503
    );
    assert!(matches!(
        http_status(&server.url("/ssh"), TIMEOUT).await,
        Err(HttpProbeError::NotHttp { .. })
    ));
    let hung = http_status(&server.url("/hang"), TIMEOUT)
        .await
        .unwrap_err();
    assert!(
        matches!(hung, HttpProbeError::TimedOut { timeout, .. } if timeout == TIMEOUT),
        "{hung}"
    );
    assert!(hung.to_string().contains("/hang"), "{hung}");

    let closed = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    let refused = http_status(&format!("http://{closed}/health"), TIMEOUT)
        .await
        .unwrap_err();
    assert!(matches!(refused, HttpProbeError::Io { .. }), "{refused}");

    let invalid = http_status("https://127.0.0.1/health", TIMEOUT)
        .await
        .unwrap_err();
    assert!(
        matches!(invalid, HttpProbeError::InvalidUrl { .. }),
        "{invalid}"
    );
}

#[tokio::test]
async fn the_checks_report_through_the_registry() {
    let server = Server::start(answers);
    let open = TcpListener::bind("127.0.0.1:0").unwrap();
    let closed = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };

    let health = HealthRegistry::builder().timeout(TIMEOUT).build().unwrap();
    let options = CheckOptions::new;
    health
        .add_check(
            "port_open",
            options(),
            TcpCheck::new(open.local_addr().unwrap().to_string()),
        )
        .unwrap();
    health
        .add_check("port_closed", options(), TcpCheck::new(closed.to_string()))
        .unwrap();
    health
        .add_check(
            "api",
            options(),
            HttpCheck::new(&server.url("/health")).unwrap(),
        )
        .unwrap();
    health
        .add_check(
            "api_down",
            options(),
            HttpCheck::new(&server.url("/down")).unwrap(),
        )
        .unwrap();
    health
        .add_check(
            "api_hung",
            options(),
            HttpCheck::new(&server.url("/hang")).unwrap(),
        )
        .unwrap();

    let report = health.refresh().await;
    let status = |name: &str| report.checks[name].status;
    let reason = |name: &str| report.checks[name].reason.clone().unwrap_or_default();
    assert_eq!(status("port_open"), Status::Up);
    assert_eq!(status("api"), Status::Up);
    assert_eq!(status("port_closed"), Status::Down);
    assert_eq!(reason("port_closed"), format!("cannot connect to {closed}"));
    assert_eq!(status("api_down"), Status::Down);
    assert_eq!(
        reason("api_down"),
        format!("{} answered 503", server.url("/down"))
    );
    // The registry's timeout ends a server that never answers.
    assert_eq!(status("api_hung"), Status::Down);
    assert!(
        reason("api_hung").contains("timed out"),
        "{}",
        reason("api_hung")
    );

    // The port closes: the next round sees it.
    let addr = open.local_addr().unwrap();
    drop(open);
    let report = health.refresh().await;
    assert_eq!(report.checks["port_open"].status, Status::Down);
    assert_eq!(
        report.checks["port_open"].reason.as_deref(),
        Some(format!("cannot connect to {addr}").as_str())
    );
}

#[test]
fn an_invalid_url_is_refused_when_the_check_is_made() {
    let err = HttpCheck::new("http://127.0.0.1:99999/health").unwrap_err();
    assert_eq!(
        err.to_string(),
        "`http://127.0.0.1:99999/health` is not an http:// URL (the port is not a number from \
         1 to 65535); for https, check with your own client and `check_fn`"
    );
}
