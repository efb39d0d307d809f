//! `bsc-monitor [--config PATH]`: see `--help`.

use std::path::PathBuf;
use std::process::ExitCode;

use alerting_core::logging;
use alerting_core::logging::redact_url;
use alerting_core::metrics::Registry;
use alerting_core::shutdown::Shutdown;
use bsc_monitor::app;
use bsc_monitor::config;

const HELP: &str = "\
bsc-monitor: watch BSC swap events, filter them, send alerts; observable
with alerting (/metrics, /health, /ready) and graceful on SIGTERM.

USAGE:
    bsc-monitor [--config PATH]

OPTIONS:
    -c, --config PATH   a TOML configuration (see bsc-monitor.toml for every
                        key); without it, the defaults: a simulated node and
                        price API on 127.0.0.1, endpoints on 127.0.0.1:9464
    -h, --help          this help
    -V, --version       the version

ENVIRONMENT:
    BSC_MONITOR_<SECTION>__<KEY>=value overrides <section>.<key>, e.g.
    BSC_MONITOR_PIPELINE__CONCURRENCY=128, BSC_MONITOR_LOGGING__FORMAT=json,
    BSC_MONITOR_METRICS__LISTEN_ADDR=127.0.0.1:0, BSC_MONITOR_NODE__URL=wss://…,
    BSC_MONITOR_TLS__CA_FILE=/etc/ssl/private-ca.pem (an extra CA to trust)
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
            println!("bsc-monitor {}", env!("CARGO_PKG_VERSION"));
            return ExitCode::SUCCESS;
        }
        Ok(Args::Run(path)) => path,
        Err(e) => {
            eprintln!("bsc-monitor: {e}");
            return ExitCode::from(2);
        }
    };
    let config = match config::load(path.as_deref()) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("bsc-monitor: bad configuration: {}", chain(&e));
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("bsc-monitor: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(config)) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("bsc-monitor: {}", chain(&*e));
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
    println!("bsc-monitor {} listening:", env!("CARGO_PKG_VERSION"));
    println!("  metrics   {base}{}", config.monitoring.metrics.path);
    println!("  health    {base}/health");
    println!("  ready     {base}/ready");
    println!("  node      {}", redact_url(&running.node_url));
    println!("  price API {}", redact_url(&running.price_url));
    println!("Ctrl-C (SIGINT) or SIGTERM stops it gracefully.");

    let summary = app::finish(&running, &shutdown).await;
    println!("{}", summary.report);
    println!("{summary}");
    Ok(summary.unaccounted() == 0)
}
