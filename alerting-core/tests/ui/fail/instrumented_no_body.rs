use alerting_core::instrumented;

trait T {
    #[instrumented]
    fn f(&self);
}

fn main() {}
