use alerting_core::instrumented;

struct Swap {
    tx: String,
}

#[instrumented(exemplar(tx_hash = swp.tx))]
fn handle(swap: &Swap) -> usize {
    swap.tx.len()
}

fn main() {
    handle(&Swap { tx: "0x01".into() });
}
