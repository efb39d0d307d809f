//! End-to-end throughput of bsc-monitor on the simulated feed (issue 7).
//!
//! Starts the whole app in-process (embedded simulated node and price API
//! on 127.0.0.1, no faults), with the simulator at 1,000,000 msg/s, far
//! above what the app can take, so the app's back-pressure sets the pace;
//! lets it warm up, then measures for a fixed window:
//!
//! - throughput: messages handled (`bsc_ws_messages_total`, every result)
//!   per second of the window;
//! - p50/p95/p99 of the processing time, exactly, from every message's
//!   duration (the app's [`PROCESSING_OBSERVER`] hook, the same value that
//!   goes into `bsc_ws_messages_processing_seconds`), and, as a check, the
//!   bucket of that histogram each percentile falls in;
//! - the process's CPU time over the window (`/proc/self/stat`), to tell a
//!   CPU-bound run from a latency-bound one.
//!
//! `cargo bench -p bsc-monitor --bench throughput` runs each configuration
//! three times (1 s warm-up, 5 s measured) and prints the runs and the
//! median. Without `--bench` (`cargo test --benches`) it runs a 1 s smoke
//! version of each and checks that every message was accounted for.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use alerting_core::Observability;
use bsc_monitor::app::{self, PROCESSING_OBSERVER};
use bsc_monitor::config;
use bsc_monitor::metrics::{Event, EventType};

/// Whether the observer records (only during the measured window).
static RECORDING: AtomicBool = AtomicBool::new(false);
/// Processing times of the window, in nanoseconds.
static SAMPLES: Mutex<Vec<u64>> = Mutex::new(Vec::new());

/// One configuration.
struct Setup {
    name: &'static str,
    /// `simulator.latency_ms`: every price API answer and RPC answer.
    latency_ms: u64,
    /// `pipeline.concurrency`.
    concurrency: usize,
    /// Extra TOML (filters), appended to the common part.
    extra: &'static str,
    /// The expected throughput, if the concurrency bounds it.
    bound: Option<f64>,
    /// Also a blacklist file of 1,000 tokens (two of them traded),
    /// re-read every second.
    blacklist_file: bool,
}

/// Layer 1 lets every swap through; layer 2 rejects every token (no price
/// moves by 100 %): exactly one price API request per message.
const OPEN_LAYER1_CLOSED_LAYER2: &str = "\
[filters.layer1.internal]\nmin_amount = 0.0\n\
[filters.layer1.external]\nmin_amount = 0.0\n\
[filters.layer2.internal.price_change]\nthreshold = 1.0\n\
[filters.layer2.external.price_change]\nthreshold = 1.0\n";

const SETUPS: &[Setup] = &[
    // The default filters: about a third of the swaps pass layer 1 and
    // cost one price API request (HTTP); a few reach the receipt (RPC).
    // Every swap is looked up in the blacklist (empty, TTL-cached).
    Setup {
        name: "enrichment 0 ms, default filters",
        latency_ms: 0,
        concurrency: 64,
        extra: "",
        bound: None,
        blacklist_file: false,
    },
    // Every filter at work: the blacklist from a file (1,000 tokens,
    // refreshed every second in the background), layer 2 rules with all
    // three conditions, `any` on the internal market and `all` on the
    // external one.
    Setup {
        name: "enrichment 0 ms, every filter on",
        latency_ms: 0,
        concurrency: 64,
        extra: "\
[filters.layer2.internal]\ntrigger = \"any\"\n\
conditions = [\"price_change\", \"volume\", \"market_cap\"]\n\
[filters.layer2.internal.market_cap]\nmin = 20000.0\n\
[filters.layer2.external]\ntrigger = \"all\"\n\
conditions = [\"price_change\", \"volume\", \"market_cap\"]\n\
[filters.layer2.external.market_cap]\nmin = 100000.0\nmax = 100000000.0\n",
        bound: None,
        blacklist_file: true,
    },
    // Every swap passes layer 1 and is rejected by layer 2 (no price moves
    // by 100 %): exactly one 50 ms price API request per message, so the
    // throughput is bounded by concurrency / 50 ms.
    Setup {
        name: "enrichment 50 ms, concurrency 64",
        latency_ms: 50,
        concurrency: 64,
        extra: OPEN_LAYER1_CLOSED_LAYER2,
        bound: Some(64.0 / 0.050),
        blacklist_file: false,
    },
    Setup {
        name: "enrichment 50 ms, concurrency 256",
        latency_ms: 50,
        concurrency: 256,
        extra: OPEN_LAYER1_CLOSED_LAYER2,
        bound: Some(256.0 / 0.050),
        blacklist_file: false,
    },
];

/// What one run measured.
#[derive(Clone, Debug)]
struct Measured {
    per_sec: f64,
    /// Exact p50, p95, p99, in milliseconds.
    exact_ms: [f64; 3],
    /// The histogram bucket (upper bound, ms) of p50, p95, p99.
    bucket_ms: [f64; 3],
    /// Process CPU over the window, in cores (1.0 = one core busy).
    cpu_cores: f64,
    /// Price API requests per message.
    api_per_msg: f64,
    unaccounted: i64,
}

fn percentile(sorted: &[u64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[i] as f64 / 1e6
}

/// The upper bound (ms) of the bucket holding quantile `q` of the window.
fn bucket_of(bounds: &[f64], before: &[u64], after: &[u64], q: f64) -> f64 {
    let counts: Vec<u64> = after.iter().zip(before).map(|(a, b)| a - b).collect();
    let total = counts.last().copied().unwrap_or(0);
    let rank = (q * total as f64).ceil() as u64;
    counts
        .iter()
        .position(|&c| c >= rank.max(1))
        .map_or(f64::NAN, |i| {
            bounds.get(i).map_or(f64::INFINITY, |b| b * 1e3)
        })
}

/// User + system CPU time of this process.
fn cpu_time() -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command name (which is in parentheses): utime and
    // stime are the 14th and 15th fields, in clock ticks (100 Hz on Linux).
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: u64 = [11, 12]
        .iter()
        .filter_map(|&i| fields.get(i)?.parse::<u64>().ok())
        .sum();
    Duration::from_millis(ticks * 10)
}

/// Writes a blacklist of 1,000 made-up tokens and two of the simulator's
/// to a temporary file; returns the TOML that uses it.
fn blacklist_file() -> (std::path::PathBuf, String) {
    let path = std::env::temp_dir().join(format!(
        "bsc-monitor-bench-blacklist-{}.txt",
        std::process::id()
    ));
    let mut text: String = (0..998u64).map(|i| format!("0x{i:040x}\n")).collect();
    let simulator = config::SimulatorConfig::default();
    for (token, _) in bsc_monitor::sim::tokens(&simulator).into_iter().take(2) {
        text.push_str(&token);
        text.push('\n');
    }
    std::fs::write(&path, text).expect("write the blacklist");
    let toml = format!("[filters.blacklist]\nfile = {path:?}\nttl_secs = 1.0\n");
    (path, toml)
}

async fn run(setup: &Setup, warm_up: Duration, window: Duration) -> Measured {
    let (file, blacklist) = if setup.blacklist_file {
        let (path, toml) = blacklist_file();
        (Some(path), toml)
    } else {
        (None, String::new())
    };
    let toml = format!(
        "[metrics]\nlisten_addr = \"127.0.0.1:0\"\n\
         [health]\ninterval_secs = 60\n\
         [shutdown]\ndeadline_secs = 5\n\
         [logging]\nlevel = \"warn\"\n\
         [pipeline]\nconcurrency = {}\n\
         [simulator]\nrate_per_sec = 1000000.0\nlatency_ms = {}\n{}{blacklist}",
        setup.concurrency, setup.latency_ms, setup.extra
    );
    let config = config::load_with(None, Some(&toml), std::iter::empty()).expect("config");
    let obs = Observability::builder("bsc-monitor")
        .config(&config.monitoring)
        .logging(false)
        .signals(false)
        // Several apps in one test binary: the registry stays a value.
        .install_global(false)
        .start()
        .expect("start");
    let running = app::start(&config, &obs).await.expect("start");
    let m = &running.metrics;
    let histogram = m.bsc_ws_messages_processing_seconds.get(Event {
        event_type: EventType::Swap,
    });
    let token_info = m.api.endpoint(
        bsc_monitor::metrics::PRICE_API,
        bsc_monitor::metrics::TOKEN_INFO,
    );
    let api_requests = || -> u64 { token_info.total() };

    tokio::time::sleep(warm_up).await;

    SAMPLES
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .clear();
    let (handled0, buckets0, api0, cpu0) = (
        m.handled_total(),
        histogram.bucket_counts(),
        api_requests(),
        cpu_time(),
    );
    let t0 = Instant::now();
    RECORDING.store(true, Ordering::Relaxed);
    tokio::time::sleep(window).await;
    RECORDING.store(false, Ordering::Relaxed);
    let elapsed = t0.elapsed().as_secs_f64();
    let (handled1, buckets1, api1, cpu1) = (
        m.handled_total(),
        histogram.bucket_counts(),
        api_requests(),
        cpu_time(),
    );

    obs.shutdown().trigger("benchmark done");
    let summary = app::finish(&running, obs.shutdown()).await;
    if let Some(file) = file {
        let _ = std::fs::remove_file(file);
    }

    let mut samples = std::mem::take(&mut *SAMPLES.lock().unwrap_or_else(PoisonError::into_inner));
    samples.sort_unstable();
    let qs = [0.50, 0.95, 0.99];
    let handled = handled1 - handled0;
    Measured {
        per_sec: handled as f64 / elapsed,
        exact_ms: qs.map(|q| percentile(&samples, q)),
        bucket_ms: qs.map(|q| bucket_of(histogram.bounds(), &buckets0, &buckets1, q)),
        cpu_cores: (cpu1 - cpu0).as_secs_f64() / elapsed,
        api_per_msg: (api1 - api0) as f64 / handled.max(1) as f64,
        unaccounted: summary.unaccounted(),
    }
}

fn print(setup: &Setup, label: &str, r: &Measured) {
    let bound = setup.bound.map_or(String::new(), |b| {
        format!("  bound {b:.0}/s ({:+.1} %)", (r.per_sec / b - 1.0) * 100.0)
    });
    println!(
        "  {label:<7} {:>9.0} msg/s  p50 {:>7.3} ms  p95 {:>7.3} ms  p99 {:>7.3} ms  \
         (buckets: ≤{} / ≤{} / ≤{} ms)  cpu {:.2} cores  api/msg {:.2}{bound}",
        r.per_sec,
        r.exact_ms[0],
        r.exact_ms[1],
        r.exact_ms[2],
        r.bucket_ms[0],
        r.bucket_ms[1],
        r.bucket_ms[2],
        r.cpu_cores,
        r.api_per_msg,
    );
}

fn median_by(runs: &[Measured], f: impl Fn(&Measured) -> f64) -> f64 {
    let mut v: Vec<f64> = runs.iter().map(f).collect();
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let bench = std::env::args().any(|a| a == "--bench");
    let (reps, warm_up, window) = if bench {
        (3, Duration::from_secs(1), Duration::from_secs(5))
    } else {
        (1, Duration::from_millis(300), Duration::from_secs(1))
    };
    PROCESSING_OBSERVER
        .set(Box::new(|d: Duration| {
            if RECORDING.load(Ordering::Relaxed) {
                SAMPLES
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .push(u64::try_from(d.as_nanos()).unwrap_or(u64::MAX));
            }
        }))
        .unwrap_or_else(|_| panic!("the observer is set once"));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    println!(
        "bsc-monitor end-to-end: {} s measured after {} ms warm-up, {reps} run(s) each, \
         2 worker threads, nproc {}",
        window.as_secs_f64(),
        warm_up.as_millis(),
        std::thread::available_parallelism().map_or(0, |n| n.get()),
    );
    for setup in SETUPS {
        println!("{}:", setup.name);
        let runs: Vec<Measured> = (0..reps)
            .map(|i| {
                let r = runtime.block_on(run(setup, warm_up, window));
                print(setup, &format!("run {}", i + 1), &r);
                assert_eq!(r.unaccounted, 0, "messages vanished: {r:?}");
                assert!(r.per_sec > 0.0, "nothing was processed: {r:?}");
                r
            })
            .collect();
        if reps > 1 {
            let median = Measured {
                per_sec: median_by(&runs, |r| r.per_sec),
                exact_ms: [0, 1, 2].map(|i| median_by(&runs, |r| r.exact_ms[i])),
                bucket_ms: [0, 1, 2].map(|i| median_by(&runs, |r| r.bucket_ms[i])),
                cpu_cores: median_by(&runs, |r| r.cpu_cores),
                api_per_msg: median_by(&runs, |r| r.api_per_msg),
                unaccounted: 0,
            };
            print(setup, "median", &median);
        }
    }
}
