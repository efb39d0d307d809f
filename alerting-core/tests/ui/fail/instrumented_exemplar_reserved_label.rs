use alerting_core::instrumented;

#[instrumented(exemplar(__trace = id))]
fn handle(id: u64) -> u64 {
    id
}

fn main() {
    handle(1);
}
