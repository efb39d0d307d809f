//! gRPC throughput through `HttpMetricsLayer` beside bare tonic, and the
//! cost of recording an outbound call beside a bare `reqwest` call, in the
//! same run.
//!
//! ```text
//! cargo bench -p alerting-axum --features reqwest --bench grpc -- --duration 5 --repeat 3
//! ```
//!
//! gRPC: a tonic server (tonic-health's `Check`) on its own one-thread
//! runtime, bare and behind the layer, loaded by tonic clients in this
//! process (another runtime, `--connections` HTTP/2 connections with 8
//! calls in flight each) for `--duration` seconds against 127.0.0.1. The
//! figure to read is calls per CPU-second of the server's thread (from
//! `/proc/self/task/*/schedstat`, threads named `grpc-server`), which moves
//! far less with other work on the machine than calls per second.
//!
//! Outbound: the same sequence of `GET`s to a local axum server through a
//! `reqwest::Client`, bare and through `Endpoint::send`, interleaved; the
//! report gives the median time per call of each and their ratio.
//!
//! Without `--bench` (as `cargo test --benches` runs it), it checks that
//! every variant answers, briefly.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use alerting_axum::HttpMetricsLayer;
use alerting_axum::outbound::OutboundMetrics;
use alerting_core::metrics::Registry;
use tokio::net::TcpListener;
use tonic::transport::{Channel, Server};
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_client::HealthClient;

const MAX_DURATION: u64 = 10;
const SERVER_THREAD: &str = "grpc-server";

struct Options {
    bench: bool,
    duration: u64,
    repeat: usize,
    connections: usize,
}

fn options() -> Result<Options, String> {
    let mut o = Options {
        bench: false,
        duration: 5,
        repeat: 3,
        connections: 4,
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = |name: &str| {
            args.next()
                .and_then(|v| v.parse::<u64>().ok())
                .ok_or(format!("{name} needs a number"))
        };
        match arg.as_str() {
            "--bench" => o.bench = true,
            "--duration" => o.duration = value("--duration")?,
            "--repeat" => o.repeat = value("--repeat")? as usize,
            "--connections" => o.connections = value("--connections")? as usize,
            _ => {} // cargo's own flags
        }
    }
    if !(1..=MAX_DURATION).contains(&o.duration) {
        return Err(format!("--duration must be 1 to {MAX_DURATION} seconds"));
    }
    o.repeat = o.repeat.clamp(1, 9);
    o.connections = o.connections.clamp(1, 64);
    Ok(o)
}

/// CPU time the server's threads have used, in nanoseconds.
fn server_cpu_ns() -> u64 {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return 0;
    };
    tasks
        .filter_map(Result::ok)
        .filter(|t| {
            std::fs::read_to_string(t.path().join("comm"))
                .is_ok_and(|c| c.trim_end().starts_with(SERVER_THREAD))
        })
        .filter_map(|t| std::fs::read_to_string(t.path().join("schedstat")).ok())
        .filter_map(|s| s.split_whitespace().next()?.parse::<u64>().ok())
        .sum()
}

/// Starts a tonic health server on `runtime`, bare or behind the layer.
fn start_grpc(runtime: &tokio::runtime::Runtime, layered: bool) -> SocketAddr {
    runtime.block_on(async {
        let (_, health) = tonic_health::server::health_reporter();
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let incoming = tonic::transport::server::TcpIncoming::from(listener);
        if layered {
            let registry = Registry::new();
            let layer = HttpMetricsLayer::new(&registry).unwrap();
            tokio::spawn(
                Server::builder()
                    .layer(layer)
                    .add_service(health)
                    .serve_with_incoming(incoming),
            );
        } else {
            tokio::spawn(
                Server::builder()
                    .add_service(health)
                    .serve_with_incoming(incoming),
            );
        }
        addr
    })
}

/// Calls `Check` with `connections` × 8 calls in flight for `seconds`;
/// returns (calls, server CPU ns).
async fn load(addr: SocketAddr, connections: usize, seconds: f64) -> (u64, u64) {
    let mut clients = Vec::new();
    for _ in 0..connections {
        let channel = Channel::from_shared(format!("http://{addr}"))
            .unwrap()
            .connect()
            .await
            .expect("connect");
        clients.push(HealthClient::new(channel));
    }
    let stop = Arc::new(AtomicBool::new(false));
    let calls = Arc::new(AtomicU64::new(0));
    let cpu = server_cpu_ns();
    let mut tasks = Vec::new();
    for client in &clients {
        for _ in 0..8 {
            let mut client = client.clone();
            let stop = Arc::clone(&stop);
            let calls = Arc::clone(&calls);
            tasks.push(tokio::spawn(async move {
                while !stop.load(Ordering::Relaxed) {
                    let request = HealthCheckRequest {
                        service: String::new(),
                    };
                    if client.check(request).await.is_ok() {
                        calls.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }));
        }
    }
    tokio::time::sleep(Duration::from_secs_f64(seconds)).await;
    stop.store(true, Ordering::Relaxed);
    for t in tasks {
        let _ = t.await;
    }
    (
        calls.load(Ordering::Relaxed),
        server_cpu_ns().saturating_sub(cpu),
    )
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

fn grpc(o: &Options, clients: &tokio::runtime::Runtime) {
    let servers: Vec<(&str, tokio::runtime::Runtime, SocketAddr)> =
        [("bare tonic", false), ("HttpMetricsLayer (ours)", true)]
            .into_iter()
            .map(|(name, layered)| {
                let runtime = tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(1)
                    .thread_name(SERVER_THREAD)
                    .enable_all()
                    .build()
                    .unwrap();
                let addr = start_grpc(&runtime, layered);
                (name, runtime, addr)
            })
            .collect();
    let seconds = if o.bench { o.duration as f64 } else { 0.2 };
    let repeat = if o.bench { o.repeat } else { 1 };
    let mut rates = vec![Vec::new(); servers.len()];
    let mut per_cpu = vec![Vec::new(); servers.len()];
    for _ in 0..repeat {
        for (i, (_, _, addr)) in servers.iter().enumerate() {
            let (calls, cpu) = clients.block_on(load(*addr, o.connections, seconds));
            assert!(calls > 0, "no gRPC call answered");
            rates[i].push(calls as f64 / seconds);
            per_cpu[i].push(calls as f64 / (cpu.max(1) as f64 * 1e-9));
        }
    }
    if !o.bench {
        println!("grpc: every variant answers");
        return;
    }
    let bare = (median(rates[0].clone()), median(per_cpu[0].clone()));
    println!(
        "\n| variant | calls/s (median of {repeat}) | × bare | server CPU µs/call | calls per CPU-second × bare |"
    );
    println!("|---|---:|---:|---:|---:|");
    for (i, (name, _, _)) in servers.iter().enumerate() {
        let rate = median(rates[i].clone());
        let cpu = median(per_cpu[i].clone());
        println!(
            "| {name} | {rate:.0} | {:.3} | {:.2} | {:.3} |",
            rate / bare.0,
            1e6 / cpu,
            cpu / bare.1
        );
    }
    for (_, runtime, _) in servers {
        runtime.shutdown_background();
    }
}

fn outbound(o: &Options, runtime: &tokio::runtime::Runtime) {
    runtime.block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let app = axum::Router::new().route("/ok", axum::routing::get(|| async { "ok" }));
        tokio::spawn(async move { axum::serve(listener, app).await });
        let registry = Registry::new();
        let metrics = OutboundMetrics::new(&registry).unwrap();
        let endpoint = metrics.endpoint("bench", "/ok");
        let client = reqwest::Client::new();
        let url = format!("http://{addr}/ok");
        let calls: u32 = if o.bench { 20_000 } else { 10 };
        let rounds = if o.bench { o.repeat.max(4) } else { 2 };
        // Warm-up: the connection, the allocator, the series.
        for _ in 0..calls / 10 {
            client.get(&url).send().await.unwrap();
            endpoint.send(client.get(&url)).await.unwrap();
        }
        let (mut bare, mut ours) = (Vec::new(), Vec::new());
        for round in 0..rounds {
            // Which goes first alternates, so a drift favours neither.
            for which in [round % 2, 1 - round % 2] {
                let start = Instant::now();
                for _ in 0..calls {
                    if which == 0 {
                        client.get(&url).send().await.unwrap();
                    } else {
                        endpoint.send(client.get(&url)).await.unwrap();
                    }
                }
                let per_call = start.elapsed().as_secs_f64() / f64::from(calls);
                if which == 0 {
                    bare.push(per_call);
                } else {
                    ours.push(per_call);
                }
            }
        }
        assert_eq!(
            endpoint.total(),
            u64::from(calls) * rounds as u64 + u64::from(calls / 10)
        );
        if !o.bench {
            println!("outbound: every variant answers");
            return;
        }
        let (bare, ours) = (median(bare), median(ours));
        println!(
            "\noutbound GET over keep-alive, {calls} calls × {rounds}: bare reqwest {:.2} µs/call, Endpoint::send {:.2} µs/call, {:.3}× bare",
            bare * 1e6,
            ours * 1e6,
            ours / bare
        );
    });
}

fn main() {
    let o = match options() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("grpc bench: {e}");
            std::process::exit(2);
        }
    };
    let clients = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    grpc(&o, &clients);
    outbound(&o, &clients);
}
