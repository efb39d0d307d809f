use alerting_core::metrics::LabelValue;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, LabelValue)]
#[label(crate = "not a path")]
enum Status {
    Ok,
}

fn main() {}
