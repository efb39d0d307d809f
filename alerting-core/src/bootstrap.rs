//! One call to make a service observable: [`Observability`].
//!
//! A service needs its parts set up in an order that matters: logging
//! first (so the rest can log), the registry from the configuration,
//! installed as the global one *before* the first `#[instrumented]` call
//! (or those series go missing), the shutdown coordinator listening for
//! signals, and the health registry wired to it so that readiness goes
//! down before the drain. [`Observability::builder`] does all of it in one
//! [`start`](ObservabilityBuilder::start):
//!
//! | step | what | from the configuration |
//! |---|---|---|
//! | 1 | the global `tracing` subscriber ([`crate::logging`]) | `[logging]` |
//! | 2 | the [`Registry`]: namespace, constant labels (`service` = the service's name unless set), the process collector, the tokio runtime's metrics | `[metrics]` |
//! | 3 | that registry installed with [`Registry::set_global`] | |
//! | 4 | the [`Shutdown`] coordinator, listening for SIGINT/SIGTERM; the log guard is flushed as its last step | `[shutdown]` |
//! | 5 | the [`HealthRegistry`], wired to shutdown (readiness down first) and exporting its metrics, background refresh started | `[health]` |
//!
//! The HTTP half (the endpoints bound from `[metrics]`, the service's own
//! router served under shutdown) is `alerting_axum::Server`, which takes
//! the [`Observability`]. Each part stays usable on its own; steps 1 and 3
//! can be turned off ([`logging`](ObservabilityBuilder::logging),
//! [`install_global`](ObservabilityBuilder::install_global)) for tests,
//! which usually keep their registry as a value.
//!
//! ```
//! use alerting_core::config::ConfigLoader;
//! use alerting_core::{MainError, Observability};
//!
//! #[tokio::main]
//! async fn main() -> Result<(), MainError> {
//!     let config = ConfigLoader::new()
//!         .toml("[shutdown]\ndeadline_secs = 5\n")
//!         .env_prefix("ORDERS")
//!         .load()?;
//!     let obs = Observability::builder("orders")
//!         .version(env!("CARGO_PKG_VERSION"))
//!         .config(&config)
//!         .start()?;
//!
//!     // … start the work, add health checks with obs.health() …
//!     # obs.shutdown().trigger("doc example");
//!     let report = obs.run().await; // until SIGTERM / Ctrl-C, then drains
//!     println!("{report}");
//!     Ok(())
//! }
//! ```

use std::error::Error;
use std::fmt;
use std::sync::Arc;

use crate::config::MonitoringConfig;
use crate::health::{HealthError, HealthRegistry};
use crate::logging::{self, LoggingError};
use crate::metrics::{MetricsError, Registry};
use crate::shutdown::{Shutdown, ShutdownError, ShutdownReport};

/// The constant label that carries the service's name.
pub const SERVICE_LABEL: &str = "service";

/// Why [`ObservabilityBuilder::start`] failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BootstrapError {
    /// Not called inside a tokio runtime (health checks and signal
    /// handlers run on it).
    #[error("the service must be started inside a tokio runtime")]
    NoRuntime,
    /// The service name is empty.
    #[error("the service name must not be empty")]
    EmptyName,
    /// Logging could not be set up.
    #[error("cannot set up logging")]
    Logging(#[source] LoggingError),
    /// The registry could not be built or installed as the global one.
    #[error("cannot set up the metrics registry")]
    Metrics(#[source] MetricsError),
    /// The health registry could not be built or started.
    #[error("cannot set up health checks")]
    Health(#[source] HealthError),
    /// The signal handlers could not be installed.
    #[error("cannot listen for shutdown signals")]
    Shutdown(#[source] ShutdownError),
}

/// A service made observable: its configuration, registry, health
/// registry and shutdown coordinator, set up together by
/// [`Observability::builder`] (see the [module documentation](self)).
///
/// Cloning is cheap and shares everything.
#[derive(Clone)]
pub struct Observability {
    inner: Arc<Inner>,
}

struct Inner {
    name: String,
    version: Option<String>,
    config: MonitoringConfig,
    registry: Registry,
    health: HealthRegistry,
    shutdown: Shutdown,
}

impl fmt::Debug for Observability {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Observability")
            .field("name", &self.inner.name)
            .field("version", &self.inner.version)
            .field("registry", &self.inner.registry)
            .finish_non_exhaustive()
    }
}

impl Observability {
    /// A builder for the service called `name` (a `service` constant
    /// label on every series, unless the configuration sets one).
    pub fn builder(name: impl Into<String>) -> ObservabilityBuilder {
        ObservabilityBuilder {
            name: name.into(),
            version: None,
            config: MonitoringConfig::default(),
            logging: true,
            install_global: true,
            process_collector: true,
            runtime_metrics: true,
            signals: true,
        }
    }

    /// The service's name.
    pub fn name(&self) -> &str {
        &self.inner.name
    }

    /// The version given to [`ObservabilityBuilder::version`].
    pub fn version(&self) -> Option<&str> {
        self.inner.version.as_deref()
    }

    /// The configuration it was started with.
    pub fn config(&self) -> &MonitoringConfig {
        &self.inner.config
    }

    /// The registry: register the service's metrics here
    /// (`obs.registry().register_group()`).
    pub fn registry(&self) -> &Registry {
        &self.inner.registry
    }

    /// The health registry, already running: add checks and components.
    pub fn health(&self) -> &HealthRegistry {
        &self.inner.health
    }

    /// The shutdown coordinator: in-flight work, closers, child tokens.
    pub fn shutdown(&self) -> &Shutdown {
        &self.inner.shutdown
    }

    /// Waits for shutdown to begin (a signal, or
    /// [`Shutdown::trigger`]), runs its phases and returns the report.
    /// The same as `self.shutdown().run()`.
    pub async fn run(&self) -> ShutdownReport {
        self.inner.shutdown.run().await
    }
}

/// Sets up a service's observability in one call: see
/// [`Observability::builder`].
#[derive(Debug)]
#[must_use = "nothing is set up until `start` is called"]
pub struct ObservabilityBuilder {
    name: String,
    version: Option<String>,
    config: MonitoringConfig,
    logging: bool,
    install_global: bool,
    process_collector: bool,
    runtime_metrics: bool,
    signals: bool,
}

impl ObservabilityBuilder {
    /// The configuration (default: [`MonitoringConfig::default`]), usually
    /// loaded with [`ConfigLoader`](crate::config::ConfigLoader).
    pub fn config(mut self, config: &MonitoringConfig) -> Self {
        self.config = config.clone();
        self
    }

    /// The version shown in health reports, usually
    /// `env!("CARGO_PKG_VERSION")`.
    pub fn version(mut self, version: impl Into<String>) -> Self {
        self.version = Some(version.into());
        self
    }

    /// Whether to install the global `tracing` subscriber from `[logging]`
    /// (default true). Turn it off where something else owns it: a test,
    /// or an application with its own subscriber.
    pub fn logging(mut self, enabled: bool) -> Self {
        self.logging = enabled;
        self
    }

    /// Whether to install the registry as [`Registry::global`], where
    /// `#[instrumented]` records (default true). A process has one global
    /// registry: tests that start several services turn this off and read
    /// each service's [`registry`](Observability::registry).
    pub fn install_global(mut self, enabled: bool) -> Self {
        self.install_global = enabled;
        self
    }

    /// Whether to register the [process
    /// collector](crate::metrics::ProcessCollector) (default true).
    pub fn process_collector(mut self, enabled: bool) -> Self {
        self.process_collector = enabled;
        self
    }

    /// Whether to register the metrics of the tokio runtime `start` is
    /// called on ([`Registry::register_runtime_metrics`]: workers, alive
    /// tasks, global queue depth, per-worker busy time and parks; default
    /// true).
    pub fn runtime_metrics(mut self, enabled: bool) -> Self {
        self.runtime_metrics = enabled;
        self
    }

    /// Whether SIGINT and SIGTERM begin shutdown (default true). Tests that
    /// trigger shutdown themselves turn this off, so that a signal meant for
    /// the test runner is not taken.
    pub fn signals(mut self, enabled: bool) -> Self {
        self.signals = enabled;
        self
    }

    /// Sets everything up, in the order of the [module
    /// documentation](self). Must be called inside a tokio runtime.
    ///
    /// # Errors
    ///
    /// [`BootstrapError`] naming the step that failed; nothing after it is
    /// set up. [`BootstrapError::Metrics`] if the global registry was
    /// already chosen (a second service in one process: use
    /// [`install_global(false)`](Self::install_global)).
    pub fn start(self) -> Result<Observability, BootstrapError> {
        if self.name.trim().is_empty() {
            return Err(BootstrapError::EmptyName);
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return Err(BootstrapError::NoRuntime);
        };
        let log_guard = if self.logging {
            // Exported spans (`[logging.otlp]`) carry the service's name.
            let logging =
                logging::LoggingBuilder::new(&self.config.logging).service_name(&self.name);
            Some(logging.init().map_err(BootstrapError::Logging)?)
        } else {
            None
        };

        let mut metrics = self.config.metrics.clone();
        metrics
            .const_labels
            .entry(SERVICE_LABEL.to_owned())
            .or_insert_with(|| self.name.clone());
        let registry = metrics.registry().map_err(BootstrapError::Metrics)?;
        if self.process_collector {
            registry
                .register_process_collector()
                .map_err(BootstrapError::Metrics)?;
        }
        if self.runtime_metrics {
            registry
                .register_runtime_metrics(runtime)
                .map_err(BootstrapError::Metrics)?;
        }
        if self.install_global {
            Registry::set_global(registry.clone()).map_err(BootstrapError::Metrics)?;
        }

        let shutdown = Shutdown::builder()
            .config(&self.config.shutdown)
            .signals(self.signals)
            .build();
        if self.signals {
            shutdown
                .listen_for_signals()
                .map_err(BootstrapError::Shutdown)?;
        }
        if let Some(guard) = log_guard {
            shutdown.add_log_guard(guard);
        }

        let mut health = HealthRegistry::builder()
            .config(&self.config.health)
            .shutdown(&shutdown)
            .metrics(&registry);
        if let Some(version) = &self.version {
            health = health.version(version.clone());
        }
        let health = health.build().map_err(BootstrapError::Health)?;
        health.start().map_err(BootstrapError::Health)?;

        tracing::debug!(
            target: "alerting_core::bootstrap",
            service = %self.name,
            global = self.install_global,
            "observability started"
        );
        Ok(Observability {
            inner: Arc::new(Inner {
                name: self.name,
                version: self.version,
                config: self.config,
                registry,
                health,
                shutdown,
            }),
        })
    }
}

/// An error to return from `main`: printed with its message and causes
/// (`Error: cannot read config file `x.toml`: No such file or directory`),
/// not with `Debug`, and the process exits with status 1.
///
/// Any error converts into it with `?`:
///
/// ```
/// use alerting_core::MainError;
///
/// fn main() -> Result<(), MainError> {
///     let port: u16 = "8080".parse()?;
///     # let _ = port;
///     Ok(())
/// }
/// ```
///
/// It deliberately does not implement [`std::error::Error`] (so that the
/// conversion from every error can exist); use
/// [`into_inner`](Self::into_inner) to get the error back.
pub struct MainError {
    error: Box<dyn Error + Send + Sync + 'static>,
}

impl MainError {
    /// The error it wraps.
    pub fn into_inner(self) -> Box<dyn Error + Send + Sync + 'static> {
        self.error
    }
}

impl<E: Error + Send + Sync + 'static> From<E> for MainError {
    fn from(error: E) -> Self {
        Self {
            error: Box::new(error),
        }
    }
}

impl fmt::Display for MainError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.error)?;
        let mut source = self.error.source();
        while let Some(cause) = source {
            write!(f, ": {cause}")?;
            source = cause.source();
        }
        Ok(())
    }
}

/// The same as `Display`: `main` prints its error with `Debug`.
impl fmt::Debug for MainError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}
