//! TLS for `wss://` and `https://`: rustls with the ring provider,
//! Mozilla's root certificates (bundled by `webpki-roots`, so nothing is
//! read from the system), and, if configured, extra CA certificates from a
//! PEM file (`tls.ca_file`: a private node behind an internal CA, or a
//! test's own CA). Plain `ws://` and `http://` URLs do not use it.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::ClientConfig;
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;

/// Why the TLS client configuration could not be built.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TlsError {
    /// The CA file is missing, unreadable or not PEM.
    #[error("cannot read CA certificates from `{}`: {message}", path.display())]
    CaFile {
        /// The file.
        path: PathBuf,
        /// Why.
        message: String,
    },
    /// The CA file holds no certificate rustls accepts.
    #[error("`{}` holds no usable CA certificate ({rejected} rejected)", path.display())]
    NoCertificates {
        /// The file.
        path: PathBuf,
        /// Certificates that were not valid trust anchors.
        rejected: usize,
    },
    /// rustls refused the configuration.
    #[error("TLS configuration: {0}")]
    Rustls(String),
}

/// The client TLS configuration every connection of the app shares.
#[derive(Clone, Debug)]
pub struct Tls {
    config: Arc<ClientConfig>,
}

impl Tls {
    /// Mozilla's roots, plus the CA certificates in `ca_file` if given.
    ///
    /// # Errors
    ///
    /// [`TlsError`] if `ca_file` cannot be read or holds no certificate.
    pub fn new(ca_file: Option<&Path>) -> Result<Self, TlsError> {
        let mut roots = rustls::RootCertStore::empty();
        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        if let Some(path) = ca_file {
            let ca_error = |message: String| TlsError::CaFile {
                path: path.to_owned(),
                message,
            };
            let certs = CertificateDer::pem_file_iter(path)
                .map_err(|e| ca_error(e.to_string()))?
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| ca_error(e.to_string()))?;
            let (added, rejected) = roots.add_parsable_certificates(certs);
            if added == 0 {
                return Err(TlsError::NoCertificates {
                    path: path.to_owned(),
                    rejected,
                });
            }
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| TlsError::Rustls(e.to_string()))?
            .with_root_certificates(roots)
            .with_no_client_auth();
        Ok(Self {
            config: Arc::new(config),
        })
    }

    /// The rustls configuration (for an HTTPS connector).
    pub fn client_config(&self) -> &ClientConfig {
        &self.config
    }

    /// The connector for `tokio_tungstenite::connect_async_tls_with_config`.
    pub fn ws_connector(&self) -> tokio_tungstenite::Connector {
        tokio_tungstenite::Connector::Rustls(Arc::clone(&self.config))
    }
}
