//! Two bsc-monitor instances on one simulated feed (the same seed gives
//! both the same swaps), both posting alerts to one webhook on 127.0.0.1.
//!
//! - Cool-downs in each process: the same token is alerted by both (the
//!   control, showing the duplicates exist).
//! - Cool-downs in a shared `redis-server` (started here on 127.0.0.1):
//!   each token is alerted once between them.
//! - Redis stops: both keep alerting, deciding alone, `/ready` stays 200,
//!   the `redis` check is down (health degraded) and
//!   `cooldown_store_shared` is 0; Redis returns: back to 1.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use alerting_tests::app::{self, App};
use alerting_tests::{free_port, wait_until};

const WAIT: Duration = Duration::from_secs(30);

/// Receives the webhook's POSTs and counts alerts per token.
struct Webhook {
    addr: SocketAddr,
    tokens: Arc<Mutex<BTreeMap<String, usize>>>,
    stop: Arc<AtomicBool>,
}

impl Webhook {
    fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let addr = listener.local_addr().unwrap();
        let tokens = Arc::new(Mutex::new(BTreeMap::new()));
        let stop = Arc::new(AtomicBool::new(false));
        std::thread::spawn({
            let (tokens, stop) = (Arc::clone(&tokens), Arc::clone(&stop));
            move || {
                while !stop.load(Ordering::Relaxed) {
                    match listener.accept() {
                        Ok((stream, _)) => {
                            if let Some(token) = receive(stream) {
                                *tokens.lock().unwrap().entry(token).or_insert(0) += 1;
                            }
                        }
                        Err(_) => std::thread::sleep(Duration::from_millis(2)),
                    }
                }
            }
        });
        Self { addr, tokens, stop }
    }

    fn url(&self) -> String {
        format!("http://{}/bot/sendMessage", self.addr)
    }

    fn take(&self) -> BTreeMap<String, usize> {
        std::mem::take(&mut *self.tokens.lock().unwrap())
    }

    fn total(&self) -> usize {
        self.tokens.lock().unwrap().values().sum()
    }
}

impl Drop for Webhook {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// Reads one request, answers 200, returns the alert's token.
fn receive(mut stream: TcpStream) -> Option<String> {
    stream.set_nonblocking(false).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    let mut data = Vec::new();
    let mut buf = [0u8; 4096];
    let body_start = loop {
        let n = stream.read(&mut buf).ok()?;
        if n == 0 {
            return None;
        }
        data.extend_from_slice(&buf[..n]);
        if let Some(i) = data.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
    };
    let head = String::from_utf8_lossy(&data[..body_start]).to_ascii_lowercase();
    let length: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))?
        .trim()
        .parse()
        .ok()?;
    while data.len() < body_start + length {
        let n = stream.read(&mut buf).ok()?;
        if n == 0 {
            return None;
        }
        data.extend_from_slice(&buf[..n]);
    }
    let _ = stream.write_all(
        b"HTTP/1.1 200 OK\r\ncontent-length: 11\r\nconnection: close\r\n\r\n{\"ok\":true}",
    );
    let body: serde_json::Value =
        serde_json::from_slice(&data[body_start..body_start + length]).ok()?;
    let text = body["text"].as_str()?;
    let after = text.split("token <code>").nth(1)?;
    Some(after.split('<').next()?.to_owned())
}

/// A `redis-server` on 127.0.0.1, killed when dropped.
struct Redis(Child);

impl Redis {
    fn start(port: u16) -> Self {
        let binary = std::env::var_os("REDIS_SERVER")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from("/usr/bin/redis-server"));
        let child = Command::new(&binary)
            .args(["--bind", "127.0.0.1", "--port", &port.to_string()])
            .args(["--save", "", "--appendonly", "no"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", binary.display()));
        let started = Instant::now();
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(started.elapsed() < WAIT, "redis-server did not listen");
            std::thread::sleep(Duration::from_millis(20));
        }
        Self(child)
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `GET path` on `addr`: status and body.
fn get(addr: SocketAddr, path: &str) -> (u16, String) {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(Duration::from_secs(10)))
        .http_status_as_error(false)
        .build()
        .new_agent();
    let mut response = agent
        .get(format!("http://{addr}{path}"))
        .call()
        .unwrap_or_else(|e| panic!("GET {path}: {e}"));
    let status = response.status().as_u16();
    (
        status,
        response.body_mut().read_to_string().unwrap_or_default(),
    )
}

fn sample(addr: SocketAddr, name: &str) -> Option<f64> {
    get(addr, "/metrics")
        .1
        .lines()
        .find(|l| l.starts_with(name) && !l.starts_with('#'))
        .and_then(|l| l.rsplit(' ').next()?.parse().ok())
}

/// Runs two instances with `extra` settings until the webhook has at least
/// `alerts` alerts (or `WAIT`), then stops them; the alerts per token.
fn run_pair(
    binary: &std::path::Path,
    webhook: &Webhook,
    extra: &[(&str, &str)],
    alerts: usize,
) -> BTreeMap<String, usize> {
    let url = webhook.url();
    let mut env = vec![
        ("BSC_MONITOR_METRICS__LISTEN_ADDR", "127.0.0.1:0"),
        ("BSC_MONITOR_SINKS__WEBHOOK__URL", url.as_str()),
        ("BSC_MONITOR_SINKS__LOG__ENABLED", "false"),
        ("RUST_LOG", "warn"),
    ];
    env.extend_from_slice(extra);
    let a = App::start(binary, &env).expect("start instance A");
    let b = App::start(binary, &env).expect("start instance B");
    wait_until(|| (webhook.total() >= alerts).then_some(()), WAIT).expect("alerts arrive");
    // Both have processed the same stretch of the stream by now; a little
    // more, then stop.
    std::thread::sleep(Duration::from_secs(1));
    drop((a, b));
    webhook.take()
}

#[test]
fn two_instances_sharing_redis_alert_each_token_once() {
    let binary = app::build("bsc-monitor").expect("build bsc-monitor");
    let webhook = Webhook::start();

    // The control: each instance keeps its own cool-downs.
    let alone = run_pair(&binary, &webhook, &[], 20);
    let duplicated: Vec<_> = alone.iter().filter(|(_, n)| **n > 1).collect();
    assert!(
        !duplicated.is_empty(),
        "without a shared store both instances alert the same tokens: {alone:?}"
    );

    // Shared through Redis: once per token.
    let port = free_port().expect("a free port");
    let redis_url = format!("redis://127.0.0.1:{port}/");
    let redis = Redis::start(port);
    let shared_env = [("BSC_MONITOR_COOLDOWN__REDIS_URL", redis_url.as_str())];
    let shared = run_pair(&binary, &webhook, &shared_env, 20);
    let twice: Vec<_> = shared.iter().filter(|(_, n)| **n > 1).collect();
    assert!(
        twice.is_empty(),
        "alerted more than once: {twice:?} of {shared:?}"
    );
    assert!(shared.len() >= 20, "{shared:?}");

    // Redis goes away and comes back while an instance runs.
    let url = webhook.url();
    let env = [
        ("BSC_MONITOR_METRICS__LISTEN_ADDR", "127.0.0.1:0"),
        ("BSC_MONITOR_SINKS__WEBHOOK__URL", url.as_str()),
        ("BSC_MONITOR_SINKS__LOG__ENABLED", "false"),
        ("BSC_MONITOR_COOLDOWN__REDIS_URL", redis_url.as_str()),
        ("BSC_MONITOR_HEALTH__INTERVAL_SECS", "0.2"),
        // Another seed: tokens not claimed in Redis yet.
        ("BSC_MONITOR_SIMULATOR__SEED", "99"),
        ("RUST_LOG", "error"),
    ];
    let app = App::start(&binary, &env).expect("start");
    let addr = app.metrics_addr();
    wait_until(
        || (sample(addr, "cooldown_store_shared") == Some(1.0)).then_some(()),
        WAIT,
    )
    .expect("shared while Redis runs");
    drop(redis);
    webhook.take();
    wait_until(
        || {
            let report = get(addr, "/healthz").1;
            (sample(addr, "cooldown_store_shared") == Some(0.0)
                && report.contains("\"redis\"")
                && report.contains("degraded"))
            .then_some(())
        },
        WAIT,
    )
    .expect("local fallback, health degraded");
    assert_eq!(get(addr, "/ready").0, 200, "degraded, not down");
    let before = webhook.total();
    wait_until(|| (webhook.total() > before).then_some(()), WAIT)
        .expect("alerts still go out without Redis");
    let _redis = Redis::start(port);
    wait_until(
        || (sample(addr, "cooldown_store_shared") == Some(1.0)).then_some(()),
        WAIT,
    )
    .expect("shared again once Redis is back");
}
