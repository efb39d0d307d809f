//! `wss://` and `https://`: the same code path as with a real node. The
//! simulated node and price API run plain on 127.0.0.1 behind
//! TLS-terminating proxies that present a certificate for `localhost`
//! signed by a test CA; the app reaches them as `wss://localhost:…` and
//! `https://localhost:…`. Trusting the test CA (`tls.ca_file`), swaps flow
//! and prices are fetched; without it, every connection is refused as a
//! certificate error, counted and reported by the health check.

use std::net::SocketAddr;
use std::time::Duration;

use alerting_core::Observability;
use alerting_core::health::Detail;
use alerting_core::shutdown::Shutdown;
use alerting_tests::tls::{TlsProxy, ca_file};
use bsc_monitor::app;
use bsc_monitor::config::{self, Config};
use bsc_monitor::metrics::{BscMetrics, CallOutcome, PRICE_API, RpcMethod, TOKEN_INFO};
use bsc_monitor::sim::{SimNode, SimPriceApi};

fn addr_of(url: &str) -> SocketAddr {
    url.split("://")
        .nth(1)
        .and_then(|rest| rest.split('/').next())
        .and_then(|a| a.parse().ok())
        .unwrap_or_else(|| panic!("no address in {url}"))
}

/// The simulated node and price API behind TLS proxies, and the
/// configuration that reaches them through the proxies.
async fn setup(trust_test_ca: bool) -> (Config, SimNode, SimPriceApi, TlsProxy, TlsProxy) {
    let base = config::load_with(None, Some(""), std::iter::empty()).unwrap();
    let node = SimNode::start(base.app.simulator.clone()).await.unwrap();
    let price = SimPriceApi::start(base.app.simulator.clone())
        .await
        .unwrap();
    let node_proxy = TlsProxy::start(node.addr()).unwrap();
    let price_proxy = TlsProxy::start(addr_of(&price.url())).unwrap();
    let mut toml = format!(
        "[metrics]\nlisten_addr = \"127.0.0.1:0\"\n[logging]\nlevel = \"warn\"\n\
         [node]\nurl = \"wss://localhost:{}\"\nreconnect_backoff_secs = 0.1\n\
         [price_api]\nurl = \"https://localhost:{}\"\n",
        node_proxy.addr().port(),
        price_proxy.addr().port(),
    );
    if trust_test_ca {
        toml.push_str(&format!("[tls]\nca_file = {:?}\n", ca_file()));
    }
    let config = config::load_with(None, Some(&toml), std::iter::empty()).unwrap();
    (config, node, price, node_proxy, price_proxy)
}

/// Polls `done` every 50 ms until it holds or `within` has passed;
/// returns whether it held.
async fn wait_for(within: Duration, done: impl Fn() -> bool) -> bool {
    let deadline = tokio::time::Instant::now() + within;
    while !done() {
        if tokio::time::Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    true
}

fn prices_fetched(m: &BscMetrics) -> u64 {
    m.api
        .endpoint(PRICE_API, TOKEN_INFO)
        .calls(CallOutcome::Success)
}

fn subscribes_refused(m: &BscMetrics) -> u64 {
    let subscribes = m.rpc_method(RpcMethod::EthSubscribe);
    subscribes.total() - subscribes.calls(CallOutcome::Success)
}

/// Starts the app on `config`, without signal handling.
async fn start(config: &Config) -> (app::Running, Shutdown) {
    let obs = Observability::builder("bsc-monitor")
        .config(&config.monitoring)
        .logging(false)
        .signals(false)
        // Several apps in one test binary: the registry stays a value.
        .install_global(false)
        .start()
        .unwrap();
    let running = app::start(config, &obs).await.unwrap();
    (running, obs.shutdown().clone())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn swaps_flow_over_wss_and_prices_over_https_with_the_ca_trusted() {
    let (config, node, price, node_proxy, price_proxy) = setup(true).await;
    let (running, shutdown) = start(&config).await;
    assert!(running.node_url.starts_with("wss://localhost:"));
    let m = &running.metrics;
    let flowed = wait_for(Duration::from_secs(20), || {
        m.handled_total() > 50 && prices_fetched(m) > 0
    })
    .await;

    shutdown.trigger("test");
    let summary = app::finish(&running, &shutdown).await;
    node.stop();
    price.stop();
    assert!(flowed, "swaps and prices within 20 s: {summary}");
    assert!(summary.received > 50, "{summary}");
    assert_eq!(summary.unaccounted(), 0, "{summary}");
    assert!(node_proxy.handshakes() >= 1 && price_proxy.handshakes() >= 1);
    assert!(
        prices_fetched(m) > 0,
        "no price fetched over https: {summary}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_untrusted_certificate_is_refused_counted_and_reported() {
    let (config, node, price, node_proxy, _price_proxy) = setup(false).await;
    let (running, shutdown) = start(&config).await;
    let retried = wait_for(Duration::from_secs(15), || {
        subscribes_refused(&running.metrics) >= 2
    })
    .await;
    let report = format!("{:?}", running.health.report(Detail::Full));

    shutdown.trigger("test");
    let summary = app::finish(&running, &shutdown).await;
    node.stop();
    price.stop();
    assert!(retried, "two refused subscribes within 15 s");
    assert_eq!(summary.received, 0, "{summary}");
    assert_eq!(node_proxy.handshakes(), 0);
    assert!(
        report.contains("certificate") || report.contains("UnknownIssuer"),
        "the bsc_ws check names the certificate error: {report}"
    );
}

#[test]
fn a_missing_ca_file_is_a_configuration_error_naming_the_key() {
    let err = config::load_with(
        None,
        Some("[tls]\nca_file = \"/nonexistent/ca.pem\"\n"),
        std::iter::empty(),
    )
    .unwrap_err();
    assert_eq!(err.key(), Some("tls.ca_file"), "{err}");
    let err = config::load_with(
        None,
        Some(""),
        [(
            "BSC_MONITOR_TLS__CA_FILE".to_owned(),
            env!("CARGO_MANIFEST_DIR").to_owned() + "/Cargo.toml",
        )],
    )
    .unwrap_err();
    assert_eq!(err.key(), Some("tls.ca_file"), "{err}");
    assert!(
        err.to_string().contains("BSC_MONITOR_TLS__CA_FILE"),
        "{err}"
    );
}
