use alerting_core::instrumented;

// The exemplar borrows its argument before the body runs: an owned
// argument that the body moves away cannot be one. Take it by reference.
#[instrumented(exemplar = tx_hash)]
fn handle(tx_hash: String) -> String {
    tx_hash
}

fn main() {
    handle("0x01".into());
}
