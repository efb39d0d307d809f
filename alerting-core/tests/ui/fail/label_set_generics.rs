use alerting_core::metrics::LabelSet;

#[derive(Clone, Debug, PartialEq, Eq, Hash, LabelSet)]
struct Labels<T> {
    value: T,
}

fn main() {}
