use alerting_core::instrumented;

#[instrumented(span, span)]
fn f() {}

fn main() {}
