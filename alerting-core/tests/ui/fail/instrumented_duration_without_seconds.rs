use alerting_core::instrumented;

#[instrumented(duration = "processing_ms")]
fn f() {}

fn main() {}
