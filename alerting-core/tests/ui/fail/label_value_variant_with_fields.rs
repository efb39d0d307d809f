use alerting_core::metrics::LabelValue;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, LabelValue)]
enum Status {
    Ok,
    Error(u16),
}

fn main() {}
