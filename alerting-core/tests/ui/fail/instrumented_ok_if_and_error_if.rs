use alerting_core::instrumented;

fn yes(_: &()) -> bool {
    true
}

#[instrumented(ok_if = yes, error_if = yes)]
fn f() {}

fn main() {}
