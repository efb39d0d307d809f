use alerting_core::instrumented;

#[instrumented]
struct S;

fn main() {}
