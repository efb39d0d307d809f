use alerting_core::instrumented;

#[instrumented(labels(chain = "bsc", chain = "sol"))]
fn f() {}

fn main() {}
