//! HTTP throughput: a minimal handler bare, behind our `HttpMetricsLayer`
//! (durations to the body's end, the default, and to the head), and behind
//! `axum-prometheus`'s layer, in the same run; then `/metrics`
//! with 10,000 series scraped while the application is under load.
//!
//! ```text
//! cargo bench -p alerting-axum --features gzip --bench http -- --duration 5 --repeat 3
//! alerting-axum/scripts/load.sh          # installs wrk if missing, same thing
//! ```
//!
//! The load comes from `wrk` against 127.0.0.1 only, each run a fixed
//! duration of at most 10 s. The servers run in this process on a tokio
//! runtime with `--server-threads` workers (default 1), so that on a
//! 2-core machine the server has one core and wrk the other. Variants are
//! interleaved within each repetition so that background noise spreads
//! over all of them; the report gives the median of the repetitions and the
//! ratios. Besides requests per second (which moves with whatever else the
//! machine is doing), each run records the server's CPU time per request
//! (from `/proc/self/task/*/schedstat`): requests per CPU-second is what
//! throughput is when the server has its core to itself, and it is much
//! less sensitive to other work on a shared machine.
//!
//! Without `--bench` (as `cargo test --benches` runs it), it only checks
//! that every variant answers, without wrk.

use std::net::SocketAddr;
use std::process::Command;

use alerting_axum::{Endpoints, HttpMetricsLayer};
use alerting_core::metrics::{Counter, DynamicFamily, LabelSet, MetricOptions, Registry};
use axum::Router;
use axum::routing::get;

const PATH: &str = "/api/v1/wallets/42";
const MAX_DURATION: u64 = 10;

#[derive(Clone, Debug, PartialEq, Eq, Hash, LabelSet)]
struct Token {
    token: String,
}

struct Options {
    bench: bool,
    duration: u64,
    repeat: usize,
    connections: u32,
    server_threads: usize,
}

fn options() -> Result<Options, String> {
    let mut o = Options {
        bench: false,
        duration: 5,
        repeat: 3,
        connections: 32,
        server_threads: 1,
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
            "--connections" => o.connections = value("--connections")? as u32,
            "--server-threads" => o.server_threads = value("--server-threads")? as usize,
            _ => {} // cargo's own flags
        }
    }
    if !(1..=MAX_DURATION).contains(&o.duration) {
        return Err(format!("--duration must be 1 to {MAX_DURATION} seconds"));
    }
    o.repeat = o.repeat.clamp(1, 9);
    o.server_threads = o.server_threads.max(1);
    o.connections = o.connections.clamp(1, 256);
    Ok(o)
}

async fn wallet() -> &'static str {
    "wallet"
}

fn minimal() -> Router {
    Router::new().route("/api/v1/wallets/{id}", get(wallet))
}

async fn serve(router: Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await });
    addr
}

/// One wrk run's figures.
#[derive(Clone, Copy, Debug, Default)]
struct Run {
    rps: f64,
    errors: u64,
    /// Server CPU time per request, in microseconds.
    cpu_us: f64,
}

/// CPU time this process's threads (the servers; wrk is another process)
/// have used, in nanoseconds, from `/proc/self/task/*/schedstat`.
fn process_cpu_ns() -> u64 {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return 0;
    };
    tasks
        .filter_map(Result::ok)
        .filter_map(|t| std::fs::read_to_string(t.path().join("schedstat")).ok())
        .filter_map(|s| s.split_whitespace().next()?.parse::<u64>().ok())
        .sum()
}

/// A wrk run, with the server CPU time it cost.
fn measured(url: &str, seconds: u64, connections: u32) -> Result<Run, String> {
    let cpu = process_cpu_ns();
    let mut run = wrk(url, seconds, connections, &[])?;
    let cpu = process_cpu_ns().saturating_sub(cpu) as f64;
    let requests = run.rps * seconds as f64;
    if requests > 0.0 {
        run.cpu_us = cpu / requests / 1000.0;
    }
    Ok(run)
}

fn wrk(url: &str, seconds: u64, connections: u32, headers: &[&str]) -> Result<Run, String> {
    let mut cmd = Command::new("wrk");
    cmd.args([
        "-t1",
        &format!("-c{connections}"),
        &format!("-d{seconds}s"),
        "--timeout",
        "5s",
    ]);
    for h in headers {
        cmd.args(["-H", h]);
    }
    let out = cmd
        .arg(url)
        .output()
        .map_err(|e| format!("cannot run wrk: {e}"))?;
    let text = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        return Err(format!(
            "wrk failed: {text}{}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    let mut run = Run::default();
    for line in text.lines().map(str::trim) {
        if let Some(v) = line.strip_prefix("Requests/sec:") {
            run.rps = v.trim().parse().unwrap_or(0.0);
        } else if let Some(v) = line.strip_prefix("Non-2xx or 3xx responses:") {
            run.errors += v.trim().parse::<u64>().unwrap_or(0);
        } else if let Some(v) = line.strip_prefix("Socket errors:") {
            // connect 0, read 0, write 0, timeout 0
            run.errors += v
                .split(',')
                .filter_map(|p| p.split_whitespace().nth(1)?.parse::<u64>().ok())
                .sum::<u64>();
        }
    }
    Ok(run)
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values.get(values.len() / 2).copied().unwrap_or(0.0)
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "?".into())
}

fn main() {
    let o = match options() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(2);
        }
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(o.server_threads)
        .enable_all()
        .build()
        .expect("tokio runtime");

    // The servers: each variant on its own port.
    let (bare, ours, head, peer, loaded) = runtime.block_on(async {
        let bare = serve(minimal()).await;

        let registry = Registry::new();
        let ours = serve(minimal().layer(HttpMetricsLayer::new(&registry).unwrap())).await;
        // Durations to the response head: no wrapped body to time.
        let at_head = Registry::new();
        let head_layer = HttpMetricsLayer::builder()
            .duration_to_body_end(false)
            .build(&at_head)
            .unwrap();
        let head = serve(minimal().layer(head_layer)).await;

        let (layer, _handle) = axum_prometheus::PrometheusMetricLayer::pair();
        let peer = serve(minimal().layer(layer)).await;

        // 10,000 series besides the HTTP ones, served by our endpoint.
        let big = Registry::new();
        let tokens: DynamicFamily<Token, Counter> = big
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
        let app = Endpoints::new()
            .metrics(big.clone())
            .mount(minimal())
            .unwrap()
            .layer(HttpMetricsLayer::new(&big).unwrap());
        let loaded = serve(app).await;
        (bare, ours, head, peer, loaded)
    });
    let variants = [
        ("bare router", bare),
        ("HttpMetricsLayer (ours)", ours),
        ("HttpMetricsLayer, durations to the head", head),
        ("axum-prometheus 0.10", peer),
    ];

    if !o.bench {
        runtime.block_on(async {
            for (name, addr) in variants.iter().chain([("with /metrics", loaded)].iter()) {
                let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
                use tokio::io::{AsyncReadExt, AsyncWriteExt};
                stream
                    .write_all(
                        format!("GET {PATH} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                            .as_bytes(),
                    )
                    .await
                    .unwrap();
                let mut answer = Vec::new();
                stream.read_to_end(&mut answer).await.unwrap();
                assert!(answer.starts_with(b"HTTP/1.1 200"), "{name}");
            }
        });
        println!("http bench: smoke run ok (pass --bench to measure)");
        return;
    }
    if Command::new("wrk").arg("--version").output().is_err() {
        eprintln!(
            "wrk not found: install it (apt-get install wrk) or run alerting-axum/scripts/load.sh"
        );
        return;
    }

    println!(
        "# HTTP benchmark: {} s per run, {} repetitions, wrk -t1 -c{}, {} server worker thread(s), {} cores",
        o.duration,
        o.repeat,
        o.connections,
        o.server_threads,
        std::thread::available_parallelism().map_or(0, |n| n.get()),
    );
    println!("load average before: {}", loadavg());

    // Warm up each variant (connections, allocator, caches).
    for (_, addr) in &variants {
        let _ = wrk(&format!("http://{addr}{PATH}"), 1, o.connections, &[]);
    }

    let mut results: Vec<Vec<Run>> = vec![Vec::new(); variants.len()];
    for rep in 1..=o.repeat {
        for (i, (name, addr)) in variants.iter().enumerate() {
            let run = measured(&format!("http://{addr}{PATH}"), o.duration, o.connections)
                .unwrap_or_else(|e| panic!("{e}"));
            println!(
                "run {rep} {name:<42} {:>8.0} req/s  {:>6.2} µs server CPU/req  errors {}",
                run.rps, run.cpu_us, run.errors
            );
            results[i].push(run);
        }
    }
    let medians: Vec<f64> = results
        .iter()
        .map(|runs| median(runs.iter().map(|r| r.rps).collect()))
        .collect();
    let cpu: Vec<f64> = results
        .iter()
        .map(|runs| median(runs.iter().map(|r| r.cpu_us).collect()))
        .collect();
    println!();
    println!(
        "| variant | req/s (median of {}) | min – max | × bare | server CPU µs/req (median) | req per CPU-second × bare | errors |",
        o.repeat
    );
    println!("|---|---:|---:|---:|---:|---:|---:|");
    for (i, (name, _)) in variants.iter().enumerate() {
        let rps: Vec<f64> = results[i].iter().map(|r| r.rps).collect();
        let min = rps.iter().copied().fold(f64::INFINITY, f64::min);
        let max = rps.iter().copied().fold(0.0, f64::max);
        let errors: u64 = results[i].iter().map(|r| r.errors).sum();
        println!(
            "| {name} | {:.0} | {min:.0} – {max:.0} | {:.3} | {:.2} | {:.3} | {errors} |",
            medians[i],
            medians[i] / medians[0],
            cpu[i],
            cpu[0] / cpu[i].max(f64::MIN_POSITIVE),
        );
    }
    println!(
        "\nours / axum-prometheus: {:.2}× (req/s), {:.2}× (req per CPU-second)",
        medians[1] / medians[3].max(1.0),
        cpu[3] / cpu[1].max(f64::MIN_POSITIVE),
    );

    // /metrics with 10,000 series while the API is under load.
    for (label, headers) in [
        ("identity", &[][..]),
        ("gzip", &["Accept-Encoding: gzip"][..]),
    ] {
        let mut api_runs = Vec::new();
        let mut scrape_runs = Vec::new();
        for _ in 0..o.repeat {
            let api_url = format!("http://{loaded}{PATH}");
            let metrics_url = format!("http://{loaded}/metrics");
            let seconds = o.duration;
            let connections = o.connections;
            let api = std::thread::spawn(move || wrk(&api_url, seconds, connections, &[]));
            let scrapes = wrk(&metrics_url, seconds, 4, headers).unwrap_or_else(|e| panic!("{e}"));
            let api = api
                .join()
                .expect("wrk thread")
                .unwrap_or_else(|e| panic!("{e}"));
            api_runs.push(api);
            scrape_runs.push(scrapes);
        }
        let api = median(api_runs.iter().map(|r| r.rps).collect());
        let scrapes = median(scrape_runs.iter().map(|r| r.rps).collect());
        let errors: u64 = api_runs.iter().chain(&scrape_runs).map(|r| r.errors).sum();
        let runs: Vec<String> = scrape_runs
            .iter()
            .map(|r| format!("{:.0}", r.rps))
            .collect();
        println!(
            "\n/metrics (10,000 series, {label}) under load: {scrapes:.0} scrapes/s (runs: {}), API {api:.0} req/s at the same time, errors {errors}",
            runs.join(", ")
        );
    }
    println!("\nload average after: {}", loadavg());
}
