//! `sol-monitor [--config PATH]`: see `--help`.

use std::path::PathBuf;
use std::process::ExitCode;

use alerting_core::logging::redact_url;
use alerting_core::{MainError, Observability};
use sol_monitor::app;
use sol_monitor::config;

const HELP: &str = "\
sol-monitor: keep batches of Solana WebSocket subscriptions (accountSubscribe,
logsSubscribe) alive, reconnecting with backoff, and alert on price changes
per the templates of its SQLite store (sol-monitor.db, created on first
start); observable with alerting (/metrics, /health, /ready) and graceful on
SIGTERM.

USAGE:
    sol-monitor [--config PATH]

OPTIONS:
    -c, --config PATH   a TOML configuration (see sol-monitor.toml for every
                        key); without it, the defaults: a simulated node
                        on 127.0.0.1, endpoints on 127.0.0.1:9465
    -h, --help          this help
    -V, --version       the version

ENVIRONMENT:
    SOL_MONITOR_<SECTION>__<KEY>=value overrides <section>.<key>, e.g.
    SOL_MONITOR_BATCHES__SIZE=50, SOL_MONITOR_LOGGING__FORMAT=json,
    SOL_MONITOR_METRICS__LISTEN_ADDR=127.0.0.1:0,
    SOL_MONITOR_SIMULATOR__FAULTS__DISCONNECT_AFTER=200,
    SOL_MONITOR_NODE__URL=wss://…, SOL_MONITOR_TLS__CA_FILE=/etc/ssl/private-ca.pem,
    SOL_MONITOR_STORE__PATH=/var/lib/sol-monitor/store.db
    RUST_LOG replaces the logging filter.
";

enum Args {
    Run(Option<PathBuf>),
    Help,
    Version,
}

fn parse_args(args: impl IntoIterator<Item = String>) -> Result<Args, String> {
    let mut config = None;
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "-h" | "--help" => return Ok(Args::Help),
            "-V" | "--version" => return Ok(Args::Version),
            "-c" | "--config" => {
                let path = args.next().ok_or("--config needs a path")?;
                config = Some(PathBuf::from(path));
            }
            other => match other.strip_prefix("--config=") {
                Some(path) => config = Some(PathBuf::from(path)),
                None => return Err(format!("unknown argument `{other}` (try --help)")),
            },
        }
    }
    Ok(Args::Run(config))
}

/// Errors print with their causes (`Error: invalid value for
/// `pipeline.concurrency` …`) and exit with status 1; `--help` mistakes
/// exit with 2.
fn main() -> Result<ExitCode, MainError> {
    let path = match parse_args(std::env::args().skip(1)) {
        Ok(Args::Help) => {
            print!("{HELP}");
            return Ok(ExitCode::SUCCESS);
        }
        Ok(Args::Version) => {
            println!("sol-monitor {}", env!("CARGO_PKG_VERSION"));
            return Ok(ExitCode::SUCCESS);
        }
        Ok(Args::Run(path)) => path,
        Err(e) => {
            eprintln!("sol-monitor: {e}");
            return Ok(ExitCode::from(2));
        }
    };
    let config = config::load(path.as_deref())?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(run(config))
}

async fn run(config: config::Config) -> Result<ExitCode, MainError> {
    // Logging, the registry (global, for `#[instrumented]`), shutdown on
    // SIGTERM/Ctrl-C and the health registry, from `[logging]`,
    // `[metrics]`, `[shutdown]` and `[health]`.
    let obs = Observability::builder("sol-monitor")
        .version(env!("CARGO_PKG_VERSION"))
        .config(&config.monitoring)
        .start()?;
    // `build_info{version, revision, rustc, features} 1`: which build runs
    // where (set ALERTING_BUILD_REVISION at build time for the revision).
    alerting_core::build_info!(obs.registry())?;
    let running = app::start(&config, &obs).await?;
    let base = format!("http://{}", running.admin_addr);
    println!("sol-monitor {} listening:", env!("CARGO_PKG_VERSION"));
    println!("  metrics   {base}{}", config.monitoring.metrics.path);
    println!("  health    {base}/health");
    println!("  ready     {base}/ready");
    println!("  details   {base}/healthz");
    println!("  node      {}", redact_url(&running.node_url));
    println!("  store     {}", config.app.store.path);
    println!(
        "  batches   {} connections of up to {} accounts",
        running.batches.len(),
        config.app.batches.size
    );
    println!("Ctrl-C (SIGINT) or SIGTERM stops it gracefully.");

    let summary = app::finish(&running, obs.shutdown()).await;
    println!("{}", summary.report);
    print!("{summary}");
    Ok(if summary.active() == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
