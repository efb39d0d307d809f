//! `sol-monitor [--config PATH]`: see `--help`.

use std::path::PathBuf;
use std::process::ExitCode;

use alerting_core::logging;
use alerting_core::logging::redact_url;
use alerting_core::metrics::Registry;
use alerting_core::shutdown::Shutdown;
use sol_monitor::app;
use sol_monitor::config;

const HELP: &str = "\
sol-monitor: keep batches of Solana WebSocket subscriptions (accountSubscribe,
logsSubscribe) alive, reconnecting with backoff; observable with alerting
(/metrics, /health, /ready) and graceful on SIGTERM.

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
    SOL_MONITOR_NODE__URL=wss://…, SOL_MONITOR_TLS__CA_FILE=/etc/ssl/private-ca.pem
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

/// An error and its causes: `cannot read config file `x`: No such file…`.
fn chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        out.push_str(": ");
        out.push_str(&c.to_string());
        cause = c.source();
    }
    out
}

fn main() -> ExitCode {
    let path = match parse_args(std::env::args().skip(1)) {
        Ok(Args::Help) => {
            print!("{HELP}");
            return ExitCode::SUCCESS;
        }
        Ok(Args::Version) => {
            println!("sol-monitor {}", env!("CARGO_PKG_VERSION"));
            return ExitCode::SUCCESS;
        }
        Ok(Args::Run(path)) => path,
        Err(e) => {
            eprintln!("sol-monitor: {e}");
            return ExitCode::from(2);
        }
    };
    let config = match config::load(path.as_deref()) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("sol-monitor: bad configuration: {}", chain(&e));
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("sol-monitor: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(config)) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("sol-monitor: {}", chain(&*e));
            ExitCode::FAILURE
        }
    }
}

async fn run(config: config::Config) -> Result<bool, Box<dyn std::error::Error>> {
    let log_guard = logging::init(&config.monitoring.logging)?;
    let registry = config.monitoring.metrics.registry()?;
    // `#[instrumented]` functions record into the global registry.
    Registry::set_global(registry.clone())?;
    let shutdown = Shutdown::from_config(&config.monitoring.shutdown);
    shutdown.add_log_guard(log_guard);

    let running = app::start(&config, &registry, &shutdown).await?;
    let base = format!("http://{}", running.admin_addr);
    println!("sol-monitor {} listening:", env!("CARGO_PKG_VERSION"));
    println!("  metrics   {base}{}", config.monitoring.metrics.path);
    println!("  health    {base}/health");
    println!("  ready     {base}/ready");
    println!("  details   {base}/healthz");
    println!("  node      {}", redact_url(&running.node_url));
    println!(
        "  batches   {} connections of up to {} accounts",
        running.batches.len(),
        config.app.batches.size
    );
    println!("Ctrl-C (SIGINT) or SIGTERM stops it gracefully.");

    let summary = app::finish(&running, &shutdown).await;
    println!("{}", summary.report);
    print!("{summary}");
    Ok(summary.active() == 0)
}
