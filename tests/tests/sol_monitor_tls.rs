//! `wss://`: the same code path as with a real node. The simulated node
//! runs plain on 127.0.0.1 behind a TLS-terminating proxy that presents a
//! certificate for `localhost` signed by a test CA; the app reaches it as
//! `wss://localhost:…`. Trusting the test CA (`tls.ca_file`), every batch
//! subscribes and receives data; without it, every attempt is refused as
//! a certificate error and counted as a reconnect with reason `error`.

use std::time::Duration;

use alerting_core::Observability;
use alerting_core::shutdown::Shutdown;
use alerting_tests::tls::{TlsProxy, ca_file};
use sol_monitor::app;
use sol_monitor::config::{self, Config};
use sol_monitor::metrics::Reason;
use sol_monitor::sim::SimNode;

/// The simulated node behind a TLS proxy, and the configuration that
/// reaches it through the proxy: 40 accounts in batches of 10.
async fn setup(trust_test_ca: bool) -> (Config, SimNode, TlsProxy) {
    let mut base = config::load_with(None, Some(""), std::iter::empty()).unwrap();
    base.app.simulator.pairs = 40;
    let node = SimNode::start(base.app.simulator.clone()).await.unwrap();
    let proxy = TlsProxy::start(node.addr()).unwrap();
    let accounts: Vec<String> = node.accounts().iter().map(|a| format!("{a:?}")).collect();
    let mut toml = format!(
        "[metrics]\nlisten_addr = \"127.0.0.1:0\"\n[logging]\nlevel = \"warn\"\n\
         [store]\npath = \":memory:\"\n\
         [node]\nurl = \"wss://localhost:{}\"\n\
         [batches]\nsize = 10\naccounts = [{}]\n\
         [backoff]\ninitial_secs = 0.1\nmax_secs = 0.2\n",
        proxy.addr().port(),
        accounts.join(", "),
    );
    if trust_test_ca {
        toml.push_str(&format!("[tls]\nca_file = {:?}\n", ca_file()));
    }
    let config = config::load_with(None, Some(&toml), std::iter::empty()).unwrap();
    (config, node, proxy)
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

/// Starts the app on `config`, without signal handling.
async fn start(config: &Config) -> (app::Running, Shutdown) {
    let obs = Observability::builder("sol-monitor")
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
async fn every_batch_subscribes_over_wss_with_the_ca_trusted() {
    let (config, node, proxy) = setup(true).await;
    let (running, shutdown) = start(&config).await;
    assert!(running.node_url.starts_with("wss://localhost:"));
    assert_eq!(running.batches.len(), 4);
    let all_fed = wait_for(Duration::from_secs(20), || {
        running
            .batches
            .snapshot()
            .iter()
            .all(|(_, _, m)| m.with_data.get() > 0)
    })
    .await;

    shutdown.trigger("test");
    let summary = app::finish(&running, &shutdown).await;
    node.stop();
    assert!(all_fed, "every batch received data within 20 s: {summary}");
    assert!(proxy.handshakes() >= 4, "{}", proxy.handshakes());
    for b in &summary.batches {
        assert!(
            b.with_data > 0,
            "batch {} received nothing: {summary}",
            b.id
        );
        assert_eq!(b.reconnects[Reason::Error as usize], 0, "{summary}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_untrusted_certificate_is_refused_and_counted_as_an_error() {
    let (config, node, proxy) = setup(false).await;
    let (running, shutdown) = start(&config).await;
    let retried = wait_for(Duration::from_secs(15), || {
        running
            .batches
            .snapshot()
            .iter()
            .all(|(_, _, m)| m.reconnects(Reason::Error).get() >= 2)
    })
    .await;

    shutdown.trigger("test");
    let summary = app::finish(&running, &shutdown).await;
    node.stop();
    assert!(retried, "every batch retried twice within 15 s: {summary}");
    assert_eq!(proxy.handshakes(), 0);
    for b in &summary.batches {
        assert_eq!(b.with_data, 0, "{summary}");
        assert!(
            b.reconnects[Reason::Error as usize] >= 2,
            "batch {} retried with reason error: {summary}",
            b.id
        );
    }
}
