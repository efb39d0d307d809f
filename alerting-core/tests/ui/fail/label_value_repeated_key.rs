use alerting_core::metrics::LabelValue;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, LabelValue)]
enum Status {
    #[label(rename = "ok")]
    #[label(rename = "fine")]
    Ok,
}

fn main() {}
