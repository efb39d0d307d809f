//! Histogram bucket boundaries: presets and builders, validated.

use std::sync::Arc;

use super::MetricsError;

/// Upper bounds of a histogram's buckets, strictly increasing and finite.
///
/// The `+Inf` bucket is implicit: it is always encoded and need not (must not)
/// be given. Build one from a preset or a builder; invalid bounds are an
/// error, never a panic:
///
/// ```
/// use alerting_core::metrics::Buckets;
///
/// let latency = Buckets::latency();
/// assert_eq!(latency.bounds().first(), Some(&0.001));
///
/// let linear = Buckets::linear(0.0, 0.5, 4)?;
/// assert_eq!(linear.bounds(), &[0.0, 0.5, 1.0, 1.5]);
///
/// let exp = Buckets::exponential(1.0, 2.0, 4)?;
/// assert_eq!(exp.bounds(), &[1.0, 2.0, 4.0, 8.0]);
///
/// assert!(Buckets::new([1.0, 0.5]).is_err()); // not increasing
/// assert!(Buckets::new([f64::NAN]).is_err());
/// assert!(Buckets::new([]).is_err());
/// # Ok::<(), alerting_core::metrics::MetricsError>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Buckets {
    bounds: Arc<[f64]>,
}

/// Why a bucket list was refused.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum BucketError {
    /// No bounds were given.
    #[error("no buckets given")]
    Empty,
    /// A bound is NaN or infinite.
    #[error("bound #{index} is {value}, bounds must be finite (+Inf is implicit)")]
    NotFinite {
        /// Position of the bad bound.
        index: usize,
        /// The bad bound.
        value: f64,
    },
    /// Bounds are not strictly increasing.
    #[error("bound #{index} ({value}) is not greater than the one before it ({previous})")]
    NotIncreasing {
        /// Position of the bad bound.
        index: usize,
        /// The bad bound.
        value: f64,
        /// The bound before it.
        previous: f64,
    },
    /// A builder was given a parameter out of its domain.
    #[error("{0}")]
    BadParameter(&'static str),
}

/// At most this many buckets: each costs an atomic per series and a line per scrape.
pub const MAX_BUCKETS: usize = 256;

impl Buckets {
    /// Buckets with the given upper bounds (strictly increasing, finite,
    /// non-empty, at most [`MAX_BUCKETS`]).
    pub fn new(bounds: impl IntoIterator<Item = f64>) -> Result<Self, MetricsError> {
        let bounds: Vec<f64> = bounds.into_iter().collect();
        Self::check(&bounds).map_err(MetricsError::InvalidBuckets)?;
        Ok(Self {
            bounds: bounds.into(),
        })
    }

    fn check(bounds: &[f64]) -> Result<(), BucketError> {
        if bounds.is_empty() {
            return Err(BucketError::Empty);
        }
        if bounds.len() > MAX_BUCKETS {
            return Err(BucketError::BadParameter("more than 256 buckets"));
        }
        for (index, &value) in bounds.iter().enumerate() {
            if !value.is_finite() {
                return Err(BucketError::NotFinite { index, value });
            }
            if index > 0 && value <= bounds[index - 1] {
                return Err(BucketError::NotIncreasing {
                    index,
                    value,
                    previous: bounds[index - 1],
                });
            }
        }
        Ok(())
    }

    /// Latency in seconds, 1 ms to 30 s: covers an in-memory step, an RPC
    /// round trip and a slow external API in one histogram.
    pub fn latency() -> Self {
        Self::preset(&[
            0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
        ])
    }

    /// Latency in seconds for fast in-process work, 10 µs to 1 s.
    pub fn fast_latency() -> Self {
        Self::preset(&[
            0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
            0.05, 0.1, 0.25, 0.5, 1.0,
        ])
    }

    /// Sizes in bytes, 64 B to 64 MiB by powers of four.
    pub fn sizes() -> Self {
        Self::preset(&[
            64.0, 256.0, 1024.0, 4096.0, 16384.0, 65536.0, 262144.0, 1048576.0, 4194304.0,
            16777216.0, 67108864.0,
        ])
    }

    fn preset(bounds: &[f64]) -> Self {
        debug_assert!(Self::check(bounds).is_ok());
        Self {
            bounds: bounds.into(),
        }
    }

    /// `count` buckets `start, start + width, …` (`width > 0`, `count ≥ 1`).
    pub fn linear(start: f64, width: f64, count: usize) -> Result<Self, MetricsError> {
        if width.is_nan() || width <= 0.0 {
            return Err(MetricsError::InvalidBuckets(BucketError::BadParameter(
                "linear buckets need a width greater than 0",
            )));
        }
        Self::new((0..count).map(|i| start + width * i as f64))
    }

    /// `count` buckets `start, start × factor, …` (`start > 0`, `factor > 1`,
    /// `count ≥ 1`).
    pub fn exponential(start: f64, factor: f64, count: usize) -> Result<Self, MetricsError> {
        if start.is_nan() || start <= 0.0 {
            return Err(MetricsError::InvalidBuckets(BucketError::BadParameter(
                "exponential buckets need a start greater than 0",
            )));
        }
        if factor.is_nan() || factor <= 1.0 {
            return Err(MetricsError::InvalidBuckets(BucketError::BadParameter(
                "exponential buckets need a factor greater than 1",
            )));
        }
        let mut next = start;
        Self::new((0..count).map(|_| {
            let value = next;
            next *= factor;
            value
        }))
    }

    /// The upper bounds, without the implicit `+Inf`.
    pub fn bounds(&self) -> &[f64] {
        &self.bounds
    }
}

/// Anything that can become [`Buckets`]: a `Buckets`, a `Result` from a
/// builder, or a list of bounds. Used by the `MetricGroup` derive's
/// `buckets = …` option.
pub trait IntoBuckets {
    /// Converts, checking the bounds.
    fn into_buckets(self) -> Result<Buckets, MetricsError>;
}

impl IntoBuckets for Buckets {
    fn into_buckets(self) -> Result<Buckets, MetricsError> {
        Ok(self)
    }
}

impl IntoBuckets for Result<Buckets, MetricsError> {
    fn into_buckets(self) -> Result<Buckets, MetricsError> {
        self
    }
}

impl<const N: usize> IntoBuckets for [f64; N] {
    fn into_buckets(self) -> Result<Buckets, MetricsError> {
        Buckets::new(self)
    }
}

impl IntoBuckets for &[f64] {
    fn into_buckets(self) -> Result<Buckets, MetricsError> {
        Buckets::new(self.iter().copied())
    }
}

impl IntoBuckets for Vec<f64> {
    fn into_buckets(self) -> Result<Buckets, MetricsError> {
        Buckets::new(self)
    }
}
