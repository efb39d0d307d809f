//! The metrics and health endpoints.
//!
//! [`Endpoints`] builds a [`Router`] with:
//!
//! | path (default) | what | protected by the token |
//! |---|---|---|
//! | `GET /metrics` | the registry's exposition | yes |
//! | `GET /health` | liveness: 200, or 503 when a liveness check is down | no |
//! | `GET /ready` | readiness: 200, or 503 when a readiness check is down or shutdown has begun | no |
//! | `GET /healthz` | the detailed report: every check's status, reason, duration, last success; the version | yes |
//! | `GET /health/{check}`, `/ready/{check}` | one check's status: 200, or 503 when it is down | no |
//! | `GET /healthz/{check}` | one check's detailed report | yes |
//!
//! `HEAD` works on every path and answers the same status and headers
//! without a body (`/metrics` then skips the encoding).
//!
//! # `/metrics`
//!
//! The format follows the `Accept` header
//! ([`Format::from_accept`](alerting_core::metrics::Format::from_accept)):
//! OpenMetrics when the client prefers it, as Prometheus does, the
//! Prometheus text format 0.0.4 otherwise, including for a header that does
//! not parse. With the `gzip` feature, the body is gzip-compressed when
//! `Accept-Encoding` allows it (turn that off with `Endpoints::gzip`).
//! Encoding and compression write
//! into buffers kept between scrapes, so a steady scrape does not
//! reallocate them. Once an exposition is large (64 KiB, about 500
//! series), later scrapes encode it on tokio's blocking pool, so that a
//! scrape does not hold up the requests sharing its worker thread.
//!
//! # Health
//!
//! The bodies are short JSON ([`HealthReport`](alerting_core::health::HealthReport)
//! serialized): `/health` and `/ready` carry each check's status and
//! nothing else, never a check's error text; `/healthz` carries what
//! [`Detail::Full`](alerting_core::health::Detail::Full) reports, where an
//! error only appears if the check marked it safe to show. Reports read the
//! health registry's cached results: a request never runs a check.
//!
//! The Kubernetes conventions are understood on every health path:
//!
//! - `?verbose` answers in plain text, one line per check, as
//!   `kube-apiserver`'s `/readyz?verbose` does:
//!
//!   ```text
//!   [+]database ok
//!   [-]redis failed: reason withheld
//!   [+]price_api excluded: ok
//!   readiness check failed
//!   ```
//!
//!   On `/health` and `/ready` the reason of a failure is always withheld;
//!   on `/healthz` it is the report's reason.
//! - `?exclude=<check>` (repeatable, or comma-separated) leaves checks out
//!   of the status, as if they were not registered. A name that matches no
//!   check is ignored (and said so in the verbose output).
//!
//! Unknown query parameters are ignored; a query that does not parse is
//! read as far as it goes. A malformed request is answered, never a panic.
//!
//! # Bearer token
//!
//! With [`Endpoints::bearer_token`], `/metrics` and `/healthz` (with its
//! per-check paths) answer 401 unless the request carries
//! `Authorization: Bearer <token>`. The comparison takes the same time
//! wherever the first differing byte is. The probes (`/health`, `/ready`)
//! stay open: kubelets do not send tokens, and they show no error text.
//! Prometheus sends the token with `authorization: { credentials: … }` in
//! its scrape configuration.
//!
//! # Where to serve them
//!
//! On the application's own router with [`Endpoints::mount`], or on a
//! separate admin listener with [`Endpoints::router`] and
//! [`serve_admin`](crate::serve_admin), which keeps them off the public
//! port and keeps answering (`/ready` with 503, `/metrics` with the last
//! numbers) while the application drains.

mod auth;
mod exposition;
mod health;

use std::fmt;
use std::sync::Arc;

use alerting_core::health::HealthRegistry;
use alerting_core::metrics::Registry;
use axum::Router;
use axum::routing::get;

use auth::BearerToken;
use exposition::Exposition;
use health::{HealthState, Scope};

pub(crate) use exposition::Scrape;

/// Why an [`Endpoints`] configuration was refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EndpointsError {
    /// A path is not usable as a route.
    #[error("{endpoint} path `{path}` is invalid: {reason}")]
    InvalidPath {
        /// Which endpoint (`metrics`, `liveness`, `readiness`, `report`).
        endpoint: &'static str,
        /// The path given.
        path: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// Two endpoints were given the same path.
    #[error("path `{path}` is used by both the {first} and the {second} endpoint")]
    DuplicatePath {
        /// The path.
        path: String,
        /// One endpoint.
        first: &'static str,
        /// The other.
        second: &'static str,
    },
    /// The bearer token is empty or has characters a header cannot carry.
    #[error(
        "bearer token must be non-empty visible ASCII without spaces (RFC 6750 `b64token` characters)"
    )]
    InvalidToken,
    /// Neither a metrics registry nor a health registry was given.
    #[error("nothing to serve: give the endpoints a metrics registry, a health registry, or both")]
    NothingToServe,
}

/// The metrics and health endpoints, configured and then turned into a
/// [`Router`] (see the [module documentation](self) for what each path
/// answers).
///
/// Cheap to clone; the registries are handles.
///
/// ```
/// use alerting_axum::Endpoints;
/// use alerting_core::health::{check_fn, CheckOptions, HealthRegistry};
/// use alerting_core::metrics::Registry;
/// use axum::{Router, routing::get};
///
/// let registry = Registry::new();
/// let health = HealthRegistry::new();
/// health.add_check("database", CheckOptions::new(), check_fn(|| async { Ok::<(), String>(()) }))?;
///
/// let app: Router = Endpoints::new()
///     .metrics(registry)
///     .health(health)
///     .readiness_path("/readyz")
///     .bearer_token("s3cr3t-token")
///     .mount(Router::new().route("/", get(|| async { "hello" })))?;
/// # let _ = app;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
#[must_use]
pub struct Endpoints {
    registry: Option<Registry>,
    health: Option<HealthRegistry>,
    metrics_path: String,
    liveness_path: String,
    readiness_path: String,
    report_path: String,
    token: Option<String>,
    /// Always false without the `gzip` feature.
    gzip: bool,
}

impl fmt::Debug for Endpoints {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Endpoints")
            .field("registry", &self.registry)
            .field("health", &self.health)
            .field("metrics_path", &self.metrics_path)
            .field("liveness_path", &self.liveness_path)
            .field("readiness_path", &self.readiness_path)
            .field("report_path", &self.report_path)
            // Never the token itself: configurations end up in logs.
            .field("bearer_token", &self.token.as_ref().map(|_| "<redacted>"))
            .field("gzip", &self.gzip)
            .finish()
    }
}

impl Default for Endpoints {
    fn default() -> Self {
        Self {
            registry: None,
            health: None,
            metrics_path: "/metrics".to_owned(),
            liveness_path: "/health".to_owned(),
            readiness_path: "/ready".to_owned(),
            report_path: "/healthz".to_owned(),
            token: None,
            gzip: cfg!(feature = "gzip"),
        }
    }
}

impl Endpoints {
    /// No registry yet, the default paths (`/metrics`, `/health`, `/ready`,
    /// `/healthz`), no token, gzip on (with the `gzip` feature).
    pub fn new() -> Self {
        Self::default()
    }

    /// Serves `registry` at the metrics path.
    pub fn metrics(mut self, registry: Registry) -> Self {
        self.registry = Some(registry);
        self
    }

    /// Serves `health` at the liveness, readiness and report paths.
    pub fn health(mut self, health: HealthRegistry) -> Self {
        self.health = Some(health);
        self
    }

    /// The metrics path (default `/metrics`; see also
    /// `MetricsConfig::path` in `alerting_core::config`).
    pub fn metrics_path(mut self, path: impl Into<String>) -> Self {
        self.metrics_path = path.into();
        self
    }

    /// The liveness path (default `/health`).
    pub fn liveness_path(mut self, path: impl Into<String>) -> Self {
        self.liveness_path = path.into();
        self
    }

    /// The readiness path (default `/ready`).
    pub fn readiness_path(mut self, path: impl Into<String>) -> Self {
        self.readiness_path = path.into();
        self
    }

    /// The detailed report's path (default `/healthz`).
    pub fn report_path(mut self, path: impl Into<String>) -> Self {
        self.report_path = path.into();
        self
    }

    /// Requires `Authorization: Bearer <token>` on the metrics and the
    /// detailed report. Checked by [`Endpoints::router`].
    pub fn bearer_token(mut self, token: impl Into<String>) -> Self {
        self.token = Some(token.into());
        self
    }

    /// Whether `/metrics` may answer gzip-compressed when the client
    /// accepts it (default true). Turn it off when a proxy in front
    /// compresses already.
    #[cfg(feature = "gzip")]
    #[cfg_attr(docsrs, doc(cfg(feature = "gzip")))]
    pub fn gzip(mut self, enabled: bool) -> Self {
        self.gzip = enabled;
        self
    }

    /// The router with the endpoints, for any state type: merge it into an
    /// application's router, or serve it on its own listener with
    /// [`serve_admin`](crate::serve_admin).
    ///
    /// # Errors
    ///
    /// [`EndpointsError::InvalidPath`] for a path that is empty, does not
    /// start with `/`, ends with `/`, or has characters other than ASCII
    /// letters, digits and `/-._~`; [`EndpointsError::DuplicatePath`];
    /// [`EndpointsError::InvalidToken`]; [`EndpointsError::NothingToServe`].
    pub fn router<S>(&self) -> Result<Router<S>, EndpointsError>
    where
        S: Clone + Send + Sync + 'static,
    {
        if self.registry.is_none() && self.health.is_none() {
            return Err(EndpointsError::NothingToServe);
        }
        self.check_paths()?;
        let token = self
            .token
            .as_deref()
            .map(BearerToken::new)
            .transpose()?
            .map(Arc::new);

        let mut router = Router::new();
        if let Some(registry) = &self.registry {
            let exposition = Arc::new(Exposition::new(registry.clone(), token.clone(), self.gzip));
            router = router.route(
                &self.metrics_path,
                get(exposition::serve_metrics).with_state(exposition),
            );
        }
        if let Some(health) = &self.health {
            for (path, scope) in [
                (&self.liveness_path, Scope::Liveness),
                (&self.readiness_path, Scope::Readiness),
                (&self.report_path, Scope::Report),
            ] {
                let state = Arc::new(HealthState {
                    health: health.clone(),
                    scope,
                    token: match scope {
                        Scope::Report => token.clone(),
                        Scope::Liveness | Scope::Readiness => None,
                    },
                });
                router = router
                    .route(path, get(health::whole).with_state(Arc::clone(&state)))
                    .route(
                        &format!("{path}/{{check}}"),
                        get(health::one_check).with_state(state),
                    );
            }
        }
        Ok(router)
    }

    /// Adds the endpoints to `router` (`router.merge(self.router()?)`).
    ///
    /// # Errors
    ///
    /// As [`Endpoints::router`].
    ///
    /// # Panics
    ///
    /// Like [`Router::merge`], if `router` already has a route at one of
    /// the endpoints' paths: a programming error, found at start-up.
    pub fn mount<S>(&self, router: Router<S>) -> Result<Router<S>, EndpointsError>
    where
        S: Clone + Send + Sync + 'static,
    {
        Ok(router.merge(self.router()?))
    }

    fn check_paths(&self) -> Result<(), EndpointsError> {
        let mut used: Vec<(&str, &'static str)> = Vec::new();
        if self.registry.is_some() {
            used.push((&self.metrics_path, "metrics"));
        }
        if self.health.is_some() {
            used.push((&self.liveness_path, "liveness"));
            used.push((&self.readiness_path, "readiness"));
            used.push((&self.report_path, "report"));
        }
        for (i, &(path, endpoint)) in used.iter().enumerate() {
            check_path(endpoint, path)?;
            if let Some(&(_, first)) = used[..i].iter().find(|(p, _)| *p == path) {
                return Err(EndpointsError::DuplicatePath {
                    path: path.to_owned(),
                    first,
                    second: endpoint,
                });
            }
        }
        Ok(())
    }
}

fn check_path(endpoint: &'static str, path: &str) -> Result<(), EndpointsError> {
    let invalid = |reason| EndpointsError::InvalidPath {
        endpoint,
        path: path.to_owned(),
        reason,
    };
    if !path.starts_with('/') {
        return Err(invalid("it must start with `/`"));
    }
    if path.len() < 2 || path.ends_with('/') {
        return Err(invalid("it must not be `/` or end with `/`"));
    }
    if path.contains("//") {
        return Err(invalid("it must not contain an empty segment (`//`)"));
    }
    if !path
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"/-._~".contains(&b))
    {
        return Err(invalid(
            "only ASCII letters, digits and `/-._~` are allowed (no route parameters)",
        ));
    }
    Ok(())
}

pub(crate) fn metrics_only<S>(registry: Registry) -> Router<S>
where
    S: Clone + Send + Sync + 'static,
{
    let exposition = Arc::new(Exposition::new(registry, None, true));
    Router::new().route(
        "/metrics",
        get(exposition::serve_metrics).with_state(exposition),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_checked() {
        let bad = [
            ("metrics", ""),
            ("metrics", "metrics"),
            ("metrics", "/"),
            ("metrics", "/metrics/"),
            ("metrics", "/a//b"),
            ("metrics", "/{id}"),
            ("metrics", "/*rest"),
            ("metrics", "/mé"),
        ];
        for (endpoint, path) in bad {
            assert!(check_path(endpoint, path).is_err(), "{path:?}");
        }
        for path in ["/metrics", "/admin/metrics", "/-/ready", "/v1.2/health_z~"] {
            assert!(check_path("metrics", path).is_ok(), "{path:?}");
        }
    }

    #[test]
    fn a_path_under_another_endpoint_is_fine() {
        // A static path beside `/health/{check}`: the router prefers it.
        let router = Endpoints::new()
            .metrics(Registry::new())
            .health(HealthRegistry::new())
            .metrics_path("/health/metrics")
            .report_path("/ready/full")
            .router::<()>();
        assert!(router.is_ok());
    }

    #[test]
    fn configuration_mistakes_are_errors() {
        let health = HealthRegistry::new();
        let err = Endpoints::new().router::<()>().unwrap_err();
        assert!(matches!(err, EndpointsError::NothingToServe));

        let err = Endpoints::new()
            .health(health.clone())
            .readiness_path("/health")
            .router::<()>()
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "path `/health` is used by both the liveness and the readiness endpoint"
        );

        for token in ["", "two words", "tab\t", "é"] {
            let err = Endpoints::new()
                .health(health.clone())
                .bearer_token(token)
                .router::<()>()
                .unwrap_err();
            assert!(matches!(err, EndpointsError::InvalidToken), "{token:?}");
        }

        let debug = format!("{:?}", Endpoints::new().bearer_token("hunter2"));
        assert!(!debug.contains("hunter2") && debug.contains("<redacted>"));

        // Unused paths are not checked: only health is served here.
        assert!(
            Endpoints::new()
                .health(health)
                .metrics_path("nonsense")
                .router::<()>()
                .is_ok()
        );
    }
}
