//! Label sets: the types that key a metric family.
//!
//! A label set is a Rust type, not a list of strings. Derive [`LabelSet`] on a
//! struct whose fields are label values, and [`LabelValue`] on a fieldless enum
//! to use it as a label value:
//!
//! ```
//! use alerting_core::metrics::{EnumLabel, FixedLabelSet, LabelSet, LabelValue};
//!
//! #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, LabelValue)]
//! enum EventType {
//!     Swap,
//!     Sync,
//!     // Rename a value; the default is the variant name in snake_case.
//!     #[label(rename = "pair_created")]
//!     PairCreated,
//! }
//!
//! #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, LabelValue)]
//! enum Result_ {
//!     Ok,
//!     Error,
//! }
//!
//! #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, LabelSet)]
//! struct WsMessage {
//!     event_type: EventType,
//!     result: Result_,
//! }
//!
//! assert_eq!(EventType::PairCreated.as_str(), "pair_created");
//! assert_eq!(<WsMessage as LabelSet>::NAMES, &["event_type", "result"]);
//! // Every field is an enum, so the label set has a fixed cardinality and
//! // a family keyed by it is a dense table: no hashing, no lock.
//! assert_eq!(<WsMessage as FixedLabelSet>::CARDINALITY, 6);
//! let labels = WsMessage { event_type: EventType::Sync, result: Result_::Error };
//! assert_eq!(WsMessage::from_index(labels.index()), labels);
//! ```
//!
//! Fields may also be strings (`String`, `&'static str`, `Cow<'static, str>`)
//! or any other type that implements prometheus-client's `EncodeLabelValue`;
//! such a label set has no fixed cardinality and is used with a
//! [`DynamicFamily`](crate::metrics::DynamicFamily), which bounds the number of
//! series it keeps.

use std::fmt::Debug;
use std::hash::Hash;

use prometheus_client::encoding::{
    EncodeLabelSet, EncodeLabelValue, LabelSetEncoder, LabelValueEncoder,
};

/// A label value drawn from a fixed, known set: a fieldless enum (derive
/// [`LabelValue`](macro@crate::metrics::LabelValue)) or `bool`.
///
/// Fixed label values let a family keyed by them be a dense table indexed by
/// [`EnumLabel::index`], so that resolving a series costs an array index.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not an enum label",
    note = "a `Family` is keyed by enums deriving `LabelValue` (or `bool`); for strings use a `DynamicFamily`"
)]
pub trait EnumLabel: EncodeLabelValue + Copy + Eq + Hash + Debug + Send + Sync + 'static {
    /// Every value, in index order: `VALUES[v.index()] == v`.
    const VALUES: &'static [Self];
    /// The number of values (`VALUES.len()`).
    const CARDINALITY: usize = Self::VALUES.len();
    /// The position of this value in [`EnumLabel::VALUES`].
    fn index(self) -> usize;
    /// The text written as the label value.
    fn as_str(self) -> &'static str;
}

impl EnumLabel for bool {
    const VALUES: &'static [Self] = &[false, true];
    fn index(self) -> usize {
        usize::from(self)
    }
    fn as_str(self) -> &'static str {
        if self { "true" } else { "false" }
    }
}

/// A set of labels that keys a metric family (derive
/// [`LabelSet`](macro@crate::metrics::LabelSet)).
///
/// `NAMES` lets the registry check label names when the family is registered
/// (valid, not reserved, not repeated, not clashing with a constant label).
pub trait LabelSet: EncodeLabelSet + Clone + Eq + Hash + Debug + Send + Sync + 'static {
    /// The label names, in the order they are encoded.
    const NAMES: &'static [&'static str];
}

/// A [`LabelSet`] whose every field is an [`EnumLabel`], so that it has a
/// fixed number of possible values and can be enumerated.
///
/// The derive implements this trait whenever all fields are enum labels
/// and the struct is `Copy`.
pub trait FixedLabelSet: LabelSet + Copy {
    /// The number of distinct label sets (the product of the fields'
    /// cardinalities).
    const CARDINALITY: usize;
    /// A dense index in `0..CARDINALITY`.
    fn index(&self) -> usize;
    /// The label set at `index`; `index` must be below `CARDINALITY`
    /// (out-of-range values wrap, they never panic).
    fn from_index(index: usize) -> Self;
}

/// Writes one `name="value"` pair; used by the derive.
#[doc(hidden)]
pub fn encode_label<V: EncodeLabelValue + ?Sized>(
    encoder: &mut LabelSetEncoder<'_>,
    name: &'static str,
    value: &V,
) -> Result<(), std::fmt::Error> {
    use prometheus_client::encoding::EncodeLabelKey;
    let mut label = encoder.encode_label();
    let mut key = label.encode_label_key()?;
    EncodeLabelKey::encode(&name, &mut key)?;
    let mut value_encoder = key.encode_label_value()?;
    EncodeLabelValue::encode(value, &mut value_encoder)?;
    value_encoder.finish()
}

/// Writes an enum label's text; used by the derive.
#[doc(hidden)]
pub fn encode_label_str(
    encoder: &mut LabelValueEncoder<'_>,
    value: &str,
) -> Result<(), std::fmt::Error> {
    use std::fmt::Write;
    encoder.write_str(value)
}
