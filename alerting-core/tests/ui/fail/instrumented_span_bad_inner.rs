use alerting_core::instrumented;

#[instrumented(span(level = "debug"))]
fn f() {}

fn main() {}
