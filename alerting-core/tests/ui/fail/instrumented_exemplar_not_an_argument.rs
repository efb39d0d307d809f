use alerting_core::instrumented;

#[instrumented(exemplar = tx_hsh)]
fn handle(tx_hash: &str) -> usize {
    tx_hash.len()
}

fn main() {
    handle("0x01");
}
