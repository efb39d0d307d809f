use alerting_core::instrumented;

fn is_ok(_: &Result<u8, String>) -> bool {
    true
}

#[instrumented(ok_if = is_ok)]
fn f() -> Option<u8> {
    None
}

fn main() {}
