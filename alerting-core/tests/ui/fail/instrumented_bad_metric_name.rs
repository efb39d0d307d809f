use alerting_core::instrumented;

#[instrumented(calls = "Bad-Name_total")]
fn f() {}

fn main() {}
