use alerting_core::instrumented;

#[instrumented(colour = "red")]
fn f() {}

fn main() {}
