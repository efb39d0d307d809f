use alerting_core::metrics::LabelSet;

#[derive(Clone, Debug, PartialEq, Eq, Hash, LabelSet)]
struct Labels {
    tags: Vec<String>,
}

fn main() {}
