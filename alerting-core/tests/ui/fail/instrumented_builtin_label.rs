use alerting_core::instrumented;

#[instrumented(labels(function = "other"))]
fn f() {}

fn main() {}
