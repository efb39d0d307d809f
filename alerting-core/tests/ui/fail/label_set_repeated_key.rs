use alerting_core::metrics::LabelSet;

#[derive(Clone, Debug, PartialEq, Eq, Hash, LabelSet)]
#[label(crate = "alerting_core", crate = "alerting_core")]
struct Labels {
    chain: String,
}

fn main() {}
