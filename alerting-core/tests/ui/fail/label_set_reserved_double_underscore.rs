use alerting_core::metrics::LabelSet;

#[derive(Clone, Debug, PartialEq, Eq, Hash, LabelSet)]
struct Labels {
    #[label(rename = "__name__")]
    name: String,
}

fn main() {}
