//! The standard outcome of a call.

use prometheus_client::encoding::{EncodeLabelValue, LabelValueEncoder};

use super::EnumLabel;

/// How a call ended: the `outcome` label of `#[instrumented]` functions and
/// anything else that counts calls.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Outcome {
    /// Returned successfully.
    Ok,
    /// Returned an error.
    Error,
    /// Panicked.
    Panic,
    /// Its future was dropped before it finished.
    Cancelled,
    /// Gave up after a deadline.
    Timeout,
}

impl EnumLabel for Outcome {
    const VALUES: &'static [Self] = &[
        Outcome::Ok,
        Outcome::Error,
        Outcome::Panic,
        Outcome::Cancelled,
        Outcome::Timeout,
    ];

    #[inline]
    fn index(self) -> usize {
        self as usize
    }

    fn as_str(self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::Error => "error",
            Outcome::Panic => "panic",
            Outcome::Cancelled => "cancelled",
            Outcome::Timeout => "timeout",
        }
    }
}

impl EncodeLabelValue for Outcome {
    fn encode(&self, encoder: &mut LabelValueEncoder<'_>) -> Result<(), std::fmt::Error> {
        super::encode_label_str(encoder, self.as_str())
    }
}

impl std::fmt::Display for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
