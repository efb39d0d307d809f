use alerting_core::metrics::{Counter, Family, LabelSet, LabelValue, Registry};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, LabelValue)]
enum Chain {
    Bsc,
}

// Forgot `Copy`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, LabelSet)]
struct Labels {
    chain: Chain,
}

fn main() {
    let _ = Registry::new().register::<Family<Labels, Counter>>("requests_total", "Requests");
}
