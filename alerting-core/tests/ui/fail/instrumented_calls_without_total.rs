use alerting_core::instrumented;

#[instrumented(calls = "bsc_ws_messages")]
fn f() {}

fn main() {}
