use alerting_core::metrics::LabelValue;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, LabelValue)]
enum Status {
    #[label(rename = 200)]
    Ok,
}

fn main() {}
