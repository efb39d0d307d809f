use alerting_core::instrumented;

#[instrumented(labels(chain = ""))]
fn f() {}

fn main() {}
