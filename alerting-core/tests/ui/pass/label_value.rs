//! Renames, raw identifiers, explicit discriminants and deprecated variants,
//! without a warning.
#![deny(warnings)]

use alerting_core::metrics::{EnumLabel, LabelValue};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, LabelValue)]
enum Status {
    Ok = 200,
    #[label(rename = "5xx")]
    ServerError = 500,
    RateLimited = 429,
    r#Type,
    #[deprecated]
    Legacy,
}

fn main() {
    assert_eq!(Status::ServerError.as_str(), "5xx");
    assert_eq!(Status::RateLimited.index(), 2);
    assert_eq!(Status::r#Type.as_str(), "type");
    assert_eq!(Status::VALUES.len(), 5);
}
