use alerting_core::instrumented;

#[instrumented(labels(le = "1"))]
fn f() {}

fn main() {}
