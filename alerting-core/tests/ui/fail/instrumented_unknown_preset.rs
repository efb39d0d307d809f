use alerting_core::instrumented;

#[instrumented(buckets = slow)]
fn f() {}

fn main() {}
