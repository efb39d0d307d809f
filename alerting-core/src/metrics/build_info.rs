//! `build_info`: which build of the service is running.

use std::fmt;

use prometheus_client::encoding::{EncodeLabelSet, LabelSetEncoder};

use super::labels::encode_label;
use super::{DynamicFamily, Gauge, LabelSet, MetricOptions, MetricsError, Registry};

/// The revision written when the build does not say.
pub const UNKNOWN_REVISION: &str = "unknown";

/// What [`build_info!`](crate::build_info) exports as
/// `build_info{version, revision, rustc, features} 1`: the labels of the
/// running build, for dashboards ("which version runs where") and for
/// joining onto other series (`* on(instance) group_left(version)
/// build_info`).
///
/// The macro fills it from the calling crate's build; build one by hand
/// with [`BuildInfo::new`] and register it with
/// [`Registry::register_build_info`].
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct BuildInfo {
    /// The service's version (the macro takes its crate's `CARGO_PKG_VERSION`).
    pub version: String,
    /// The source revision (a commit hash), or [`UNKNOWN_REVISION`].
    pub revision: String,
    /// The compiler's version, e.g. `1.91.0`.
    pub rustc: String,
    /// The enabled features, comma-separated (empty for none).
    pub features: String,
}

impl BuildInfo {
    /// The compiler alerting-core was built with: the same compiler as the
    /// crate calling it, in one cargo build.
    pub const RUSTC: &'static str = env!("ALERTING_RUSTC_VERSION");

    /// A build of `version`, revision unknown, no features, built by
    /// [`BuildInfo::RUSTC`].
    pub fn new(version: impl Into<String>) -> Self {
        Self {
            version: version.into(),
            revision: UNKNOWN_REVISION.to_owned(),
            rustc: Self::RUSTC.to_owned(),
            features: String::new(),
        }
    }

    /// Sets the revision; an empty one stays [`UNKNOWN_REVISION`].
    #[must_use]
    pub fn revision(mut self, revision: &str) -> Self {
        let revision = revision.trim();
        if !revision.is_empty() {
            self.revision = revision.to_owned();
        }
        self
    }

    /// Sets the enabled features (joined with commas, in the order given).
    #[must_use]
    pub fn features<'a>(mut self, features: impl IntoIterator<Item = &'a str>) -> Self {
        self.features = features.into_iter().collect::<Vec<_>>().join(",");
        self
    }

    /// Used by [`build_info!`](crate::build_info): the first revision the
    /// build knows, and the features whose flag is set.
    #[doc(hidden)]
    pub fn __from_build(
        version: &str,
        revisions: &[Option<&str>],
        features: &[(&str, bool)],
    ) -> Self {
        let revision = revisions
            .iter()
            .flatten()
            .map(|r| r.trim())
            .find(|r| !r.is_empty())
            .unwrap_or(UNKNOWN_REVISION);
        Self::new(version).revision(revision).features(
            features
                .iter()
                .filter(|(_, enabled)| *enabled)
                .map(|(name, _)| *name),
        )
    }
}

/// The label set of `build_info`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct BuildLabels(BuildInfo);

impl EncodeLabelSet for BuildLabels {
    fn encode(&self, encoder: &mut LabelSetEncoder<'_>) -> Result<(), fmt::Error> {
        let info = &self.0;
        encode_label(encoder, "version", &info.version)?;
        encode_label(encoder, "revision", &info.revision)?;
        encode_label(encoder, "rustc", &info.rustc)?;
        encode_label(encoder, "features", &info.features)
    }
}

impl LabelSet for BuildLabels {
    const NAMES: &'static [&'static str] = &["version", "revision", "rustc", "features"];
}

impl Registry {
    /// Exports `build_info{version, revision, rustc, features} 1` (with the
    /// registry's namespace and constant labels). Usually called through
    /// [`build_info!`](crate::build_info). Fails with
    /// [`MetricsError::Duplicate`] when `build_info` is already registered.
    pub fn register_build_info(&self, info: &BuildInfo) -> Result<(), MetricsError> {
        let family: DynamicFamily<BuildLabels, Gauge> = self.register_with(
            "build_info",
            "Which build is running: version, source revision, compiler and features; always 1",
            MetricOptions::new().max_series(1),
        )?;
        family.get_or_create(&BuildLabels(info.clone())).set(1);
        Ok(())
    }
}

/// Exports `build_info{version, revision, rustc, features} 1` for the
/// calling crate into a [`Registry`](crate::metrics::Registry) (given by
/// value or reference), and returns
/// the [`BuildInfo`] it wrote (or a
/// [`MetricsError`](crate::metrics::MetricsError)).
///
/// - `version`: the calling crate's `CARGO_PKG_VERSION`.
/// - `revision`: the first of the build-time environment variables
///   `ALERTING_BUILD_REVISION` and `VERGEN_GIT_SHA` (vergen's) that is set,
///   else `unknown`. Set one in the build's environment
///   (`ALERTING_BUILD_REVISION=$(git rev-parse --short HEAD) cargo build`)
///   or from a build script (`cargo:rustc-env=ALERTING_BUILD_REVISION=…`).
/// - `rustc`: the compiler's version.
/// - `features`: those named in `features = [...]` that are enabled in the
///   calling crate (`cfg!(feature = "…")` there), comma-separated; empty
///   without the list.
///
/// ```
/// use alerting_core::metrics::{Format, Registry};
///
/// let registry = Registry::builder().namespace("bsc").build()?;
/// let info = alerting_core::build_info!(registry, features = ["tls", "otel"])?;
/// assert_eq!(info.version, env!("CARGO_PKG_VERSION"));
///
/// let text = registry.encode_to_string(Format::Prometheus)?;
/// assert!(text.contains(&format!(
///     r#"bsc_build_info{{version="{}",revision="{}",rustc="{}",features=""}} 1"#,
///     info.version, info.revision, info.rustc,
/// )));
/// # Ok::<(), alerting_core::metrics::MetricsError>(())
/// ```
#[macro_export]
macro_rules! build_info {
    ($registry:expr $(,)?) => {
        $crate::build_info!($registry, features = [])
    };
    ($registry:expr, features = [$($feature:literal),* $(,)?] $(,)?) => {{
        let info = $crate::metrics::BuildInfo::__from_build(
            ::core::env!("CARGO_PKG_VERSION"),
            &[
                ::core::option_env!("ALERTING_BUILD_REVISION"),
                ::core::option_env!("VERGEN_GIT_SHA"),
            ],
            &[$(($feature, ::core::cfg!(feature = $feature))),*],
        );
        let registry: &$crate::metrics::Registry = &$registry;
        registry.register_build_info(&info).map(|()| info)
    }};
}
