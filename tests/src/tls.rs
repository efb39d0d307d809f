//! A TLS-terminating proxy on 127.0.0.1 for tests of `wss://` and
//! `https://` clients: it presents the test server certificate of
//! `tests/fixtures/tls/` (for `localhost` and `127.0.0.1`, signed by the
//! test CA [`ca_file`]) and forwards the decrypted bytes to a plain
//! upstream, such as an example monitor's simulated node. It runs on its
//! own thread and runtime, so blocking and async tests can use it, and
//! stops when dropped.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;
use tokio_rustls::TlsAcceptor;

use crate::HarnessError;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/tls")
}

/// The test CA's certificate (PEM): trust it to accept the proxy.
pub fn ca_file() -> PathBuf {
    fixtures().join("ca.pem")
}

/// A running proxy; stopped (listener and connections) when dropped.
#[derive(Debug)]
pub struct TlsProxy {
    addr: SocketAddr,
    handshakes: Arc<AtomicU64>,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl TlsProxy {
    /// Listens on 127.0.0.1 on a free port and forwards every connection,
    /// once its TLS handshake succeeds, to `upstream`.
    ///
    /// # Errors
    ///
    /// [`HarnessError::Io`] if the fixtures cannot be read or the port
    /// bound.
    pub fn start(upstream: SocketAddr) -> Result<Self, HarnessError> {
        let io = |what: &str| {
            let what = what.to_owned();
            move |e: std::io::Error| HarnessError::Io { what, source: e }
        };
        let pem = |what: &str| {
            let what = what.to_owned();
            move |e: rustls::pki_types::pem::Error| HarnessError::Io {
                what,
                source: std::io::Error::other(e.to_string()),
            }
        };
        let certs = CertificateDer::pem_file_iter(fixtures().join("localhost.pem"))
            .map_err(pem("read localhost.pem"))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(pem("parse localhost.pem"))?;
        let key = PrivateKeyDer::from_pem_file(fixtures().join("localhost.key"))
            .map_err(pem("read localhost.key"))?;
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .and_then(|b| b.with_no_client_auth().with_single_cert(certs, key))
            .map_err(|e| HarnessError::Io {
                what: "TLS server configuration".into(),
                source: std::io::Error::other(e.to_string()),
            })?;
        let acceptor = TlsAcceptor::from(Arc::new(config));

        let listener = std::net::TcpListener::bind("127.0.0.1:0").map_err(io("bind the proxy"))?;
        let addr = listener.local_addr().map_err(io("proxy address"))?;
        listener
            .set_nonblocking(true)
            .map_err(io("proxy listener"))?;
        let handshakes = Arc::new(AtomicU64::new(0));
        let counted = Arc::clone(&handshakes);
        let (stop, stopped) = oneshot::channel();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(io("proxy runtime"))?;
        let thread = std::thread::spawn(move || {
            runtime.block_on(async move {
                let Ok(listener) = TcpListener::from_std(listener) else {
                    return;
                };
                let accept = async {
                    while let Ok((client, _)) = listener.accept().await {
                        let acceptor = acceptor.clone();
                        let counted = Arc::clone(&counted);
                        tokio::spawn(async move {
                            let Ok(mut tls) = acceptor.accept(client).await else {
                                return;
                            };
                            counted.fetch_add(1, Ordering::Relaxed);
                            if let Ok(mut plain) = TcpStream::connect(upstream).await {
                                let _ = tokio::io::copy_bidirectional(&mut tls, &mut plain).await;
                            }
                        });
                    }
                };
                tokio::select! {
                    _ = stopped => {}
                    () = accept => {}
                }
            });
        });
        Ok(Self {
            addr,
            handshakes,
            stop: Some(stop),
            thread: Some(thread),
        })
    }

    /// Where it listens.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// TLS handshakes completed so far.
    pub fn handshakes(&self) -> u64 {
        self.handshakes.load(Ordering::Relaxed)
    }
}

impl Drop for TlsProxy {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
