use alerting_core::metrics::LabelSet;

#[derive(Clone, Debug, PartialEq, Eq, Hash, LabelSet)]
struct Labels {
    #[label(skip)]
    chain: String,
}

fn main() {}
