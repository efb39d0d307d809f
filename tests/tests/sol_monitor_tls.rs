//! `wss://`: the same code path as with a real node. The simulated node
//! runs plain on 127.0.0.1 behind a TLS-terminating proxy that presents a
//! certificate for `localhost` signed by a test CA; the app reaches it as
//! `wss://localhost:…`. Trusting the test CA (`tls.ca_file`), every batch
//! subscribes and receives data; without it, every attempt is refused as
//! a certificate error and counted as a reconnect with reason `error`.
//!
//! The webhook sink over `https://`: a plain receiver on 127.0.0.1 behind
//! the same proxy, reached as `https://127.0.0.1:…`; trusting the test CA,
//! alerts arrive and count as delivered; without it, none arrives and each
//! is counted as an error.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use alerting_core::Observability;
use alerting_core::shutdown::Shutdown;
use alerting_tests::tls::{TlsProxy, ca_file};
use sol_monitor::app;
use sol_monitor::config::{self, Config};
use sol_monitor::metrics::{AlertSent, CallResult, Chain, Channel, Reason};
use sol_monitor::sim::SimNode;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

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

/// A plain webhook receiver on 127.0.0.1 answering 200 to every POST;
/// returns its address and the bodies it got. It stops with the test's
/// runtime.
async fn receiver() -> (std::net::SocketAddr, Arc<Mutex<Vec<String>>>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let bodies = Arc::new(Mutex::new(Vec::new()));
    let got = Arc::clone(&bodies);
    tokio::spawn(async move {
        while let Ok((mut s, _)) = listener.accept().await {
            let got = Arc::clone(&got);
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                // Headers, then content-length bytes of body.
                let body = loop {
                    let Ok(n) = s.read(&mut chunk).await else {
                        return;
                    };
                    if n == 0 {
                        return;
                    }
                    buf.extend_from_slice(&chunk[..n]);
                    let text = String::from_utf8_lossy(&buf).into_owned();
                    if let Some((head, body)) = text.split_once("\r\n\r\n") {
                        let len: usize = head
                            .lines()
                            .find_map(|l| {
                                let (name, value) = l.split_once(':')?;
                                name.eq_ignore_ascii_case("content-length")
                                    .then(|| value.trim().parse().ok())?
                            })
                            .unwrap_or(0);
                        if body.len() >= len {
                            break body.to_owned();
                        }
                    }
                };
                got.lock().unwrap().push(body);
                let reply = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
                let _ = s.write_all(reply.as_bytes()).await;
            });
        }
    });
    (addr, bodies)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_https_webhook_gets_alerts_only_with_its_ca_trusted() {
    for trust_test_ca in [true, false] {
        let (addr, bodies) = receiver().await;
        let proxy = TlsProxy::start(addr).unwrap();
        let mut toml = format!(
            "[metrics]\nlisten_addr = \"127.0.0.1:0\"\n[logging]\nlevel = \"warn\"\n\
             [store]\npath = \":memory:\"\n\
             [simulator]\npairs = 20\nrate_per_sec = 20.0\n\
             [cooldown]\nsecs = 0.5\njitter_secs = 0\n[sinks.log]\nenabled = false\n\
             [sinks.webhook]\nurl = \"https://127.0.0.1:{}/bot1:SECRET/sendMessage\"\n\
             chat_id = \"-42\"\n",
            proxy.addr().port(),
        );
        if trust_test_ca {
            toml.push_str(&format!("[tls]\nca_file = {:?}\n", ca_file()));
        }
        let config = config::load_with(None, Some(&toml), std::iter::empty()).unwrap();
        let (running, shutdown) = start(&config).await;
        running
            .store
            .execute("UPDATE sol_ws_alert_template SET threshold = 0.01")
            .await
            .unwrap();
        let counted = |result| {
            running.metrics.alerts_sent_total.get(AlertSent {
                chain: Chain::Sol,
                channel: Channel::Webhook,
                result,
            })
        };
        let (ok, error) = (counted(CallResult::Ok), counted(CallResult::Error));
        let expected = if trust_test_ca { &ok } else { &error };
        let sent = wait_for(Duration::from_secs(20), || expected.get() >= 3).await;

        shutdown.trigger("test");
        let summary = app::finish(&running, &shutdown).await;
        assert!(sent, "3 webhook alerts counted within 20 s: {summary}");
        let bodies = bodies.lock().unwrap().clone();
        if trust_test_ca {
            assert_eq!(error.get(), 0, "{summary}");
            assert_eq!(
                bodies.len() as u64,
                ok.get(),
                "one POST per delivered alert"
            );
            let first: serde_json::Value = serde_json::from_str(&bodies[0]).unwrap();
            assert_eq!(first["chat_id"], "-42");
            assert!(
                first["text"].as_str().unwrap().contains("pair <code>"),
                "{first}"
            );
        } else {
            assert_eq!(ok.get(), 0, "{summary}");
            assert!(bodies.is_empty(), "{bodies:?}");
            assert_eq!(proxy.handshakes(), 0);
        }
    }
}
