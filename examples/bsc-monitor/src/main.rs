//! `bsc-monitor [--config PATH]` and `bsc-monitor probe [--config PATH]
//! [PATH]`: see `--help`.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use alerting_core::logging::redact_url;
use alerting_core::{MainError, Observability};
use bsc_monitor::app;
use bsc_monitor::config;

const HELP: &str = "\
bsc-monitor: watch BSC swap events, filter them, send alerts; observable
with alerting (/metrics, /health, /ready) and graceful on SIGTERM.

USAGE:
    bsc-monitor [--config PATH]
    bsc-monitor probe [--config PATH] [/health | /ready | PATH]

OPTIONS:
    -c, --config PATH   a TOML configuration (see bsc-monitor.toml for every
                        key); without it, the defaults: a simulated node and
                        price API on 127.0.0.1, endpoints on 127.0.0.1:9464
    -h, --help          this help
    -V, --version       the version

PROBE:
    `probe` GETs PATH (default /health) on the endpoints' port of the
    configuration it would run with (file and environment), on loopback
    when it listens on every address, and exits 0 on a 2xx answer within
    3 s, 1 otherwise: a container HEALTHCHECK that needs no curl.

ENVIRONMENT:
    BSC_MONITOR_<SECTION>__<KEY>=value overrides <section>.<key>, e.g.
    BSC_MONITOR_PIPELINE__CONCURRENCY=128, BSC_MONITOR_LOGGING__FORMAT=json,
    BSC_MONITOR_METRICS__LISTEN_ADDR=127.0.0.1:0, BSC_MONITOR_NODE__URL=wss://…,
    BSC_MONITOR_TLS__CA_FILE=/etc/ssl/private-ca.pem (an extra CA to trust)
    RUST_LOG replaces the logging filter.
";

enum Args {
    Run(Option<PathBuf>),
    Probe(Option<PathBuf>, String),
    Help,
    Version,
}

fn parse_args(args: impl IntoIterator<Item = String>) -> Result<Args, String> {
    let mut config = None;
    let mut probe = None;
    let mut args = args.into_iter().peekable();
    if args.peek().is_some_and(|a| a == "probe") {
        args.next();
        probe = Some(None);
    }
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "-h" | "--help" => return Ok(Args::Help),
            "-V" | "--version" => return Ok(Args::Version),
            "-c" | "--config" => {
                let path = args.next().ok_or("--config needs a path")?;
                config = Some(PathBuf::from(path));
            }
            other => match (other.strip_prefix("--config="), &mut probe) {
                (Some(path), _) => config = Some(PathBuf::from(path)),
                (None, Some(path @ None)) if other.starts_with('/') => {
                    *path = Some(other.to_owned());
                }
                (None, _) => return Err(format!("unknown argument `{other}` (try --help)")),
            },
        }
    }
    Ok(match probe {
        Some(path) => Args::Probe(config, path.unwrap_or_else(|| "/health".to_owned())),
        None => Args::Run(config),
    })
}

/// `bsc-monitor probe`: 0 if the running instance answers `path` with
/// 2xx, 1 otherwise (the reason on stderr).
fn probe(config: Option<PathBuf>, path: &str) -> Result<ExitCode, MainError> {
    let config = config::load(config.as_deref())?;
    let mut addr: SocketAddr = config.monitoring.metrics.listen_addr;
    // Listening on every address: ask on loopback.
    match addr.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => addr.set_ip(Ipv4Addr::LOCALHOST.into()),
        IpAddr::V6(ip) if ip.is_unspecified() => addr.set_ip(Ipv6Addr::LOCALHOST.into()),
        _ => {}
    }
    let url = format!("http://{addr}{path}");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let status = runtime.block_on(alerting_core::health::checks::http_status(
        &url,
        Duration::from_secs(3),
    ));
    Ok(match status {
        Ok(code) if (200..300).contains(&code) => ExitCode::SUCCESS,
        Ok(code) => {
            eprintln!("bsc-monitor probe: {url} answered {code}");
            ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("bsc-monitor probe: {}", MainError::from(e));
            ExitCode::FAILURE
        }
    })
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
            println!("bsc-monitor {}", env!("CARGO_PKG_VERSION"));
            return Ok(ExitCode::SUCCESS);
        }
        Ok(Args::Probe(config, path)) => return probe(config, &path),
        Ok(Args::Run(path)) => path,
        Err(e) => {
            eprintln!("bsc-monitor: {e}");
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
    let obs = Observability::builder("bsc-monitor")
        .version(env!("CARGO_PKG_VERSION"))
        .config(&config.monitoring)
        .start()?;
    // `build_info{version, revision, rustc, features} 1`: which build runs
    // where (set ALERTING_BUILD_REVISION at build time for the revision).
    alerting_core::build_info!(obs.registry())?;
    let running = app::start(&config, &obs).await?;
    let base = format!("http://{}", running.admin_addr);
    println!("bsc-monitor {} listening:", env!("CARGO_PKG_VERSION"));
    println!("  metrics   {base}{}", config.monitoring.metrics.path);
    println!("  health    {base}/health");
    println!("  ready     {base}/ready");
    println!("  node      {}", redact_url(&running.node_url));
    println!("  price API {}", redact_url(&running.price_url));
    println!("Ctrl-C (SIGINT) or SIGTERM stops it gracefully.");

    let summary = app::finish(&running, obs.shutdown()).await;
    println!("{}", summary.report);
    println!("{summary}");
    Ok(if summary.unaccounted() == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
