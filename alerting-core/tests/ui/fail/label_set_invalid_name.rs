use alerting_core::metrics::LabelSet;

#[derive(Clone, Debug, PartialEq, Eq, Hash, LabelSet)]
struct Labels {
    #[label(rename = "http-method")]
    method: String,
}

fn main() {}
