use alerting_core::instrumented;

#[instrumented]
const fn f() -> u8 {
    1
}

fn main() {}
