use alerting_core::metrics::{Counter, Family, LabelSet, Registry};

// A String label has no fixed set of values: use a DynamicFamily.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, LabelSet)]
struct Labels {
    api: &'static str,
}

fn main() {
    let _ = Registry::new().register::<Family<Labels, Counter>>("requests_total", "Requests");
}
