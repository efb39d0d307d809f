use alerting_core::metrics::LabelSet;

#[derive(Clone, Debug, PartialEq, Eq, Hash, LabelSet)]
struct Labels {
    chain: String,
    #[label(rename = "chain")]
    network: String,
}

fn main() {}
