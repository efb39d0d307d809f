use alerting_core::instrumented;

#[instrumented(in_flight = "requests_total")]
fn f() {}

fn main() {}
