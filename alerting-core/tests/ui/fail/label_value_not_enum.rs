use alerting_core::metrics::LabelValue;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, LabelValue)]
struct Status {
    ok: bool,
}

fn main() {}
