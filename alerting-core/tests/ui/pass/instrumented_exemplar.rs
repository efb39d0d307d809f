use alerting_core::instrumented;

struct Monitor {
    chain: &'static str,
}

struct Swap {
    tx: u32,
}

struct Pair(&'static str);

impl Monitor {
    // A field of `self`.
    #[instrumented(exemplar(chain = self.chain))]
    fn handle(&self, r#type: u8) -> u8 {
        r#type
    }

    // A `Copy` argument the async body takes.
    #[instrumented(exemplar = block)]
    async fn on_block(&self, block: u64) -> u64 {
        block
    }
}

// A field of a borrowed argument, and a tuple field.
#[instrumented(exemplar(tx_hash = swap.tx))]
fn handle_swap(swap: &Swap) -> u32 {
    swap.tx
}

#[instrumented(exemplar(pair = pair.0))]
fn handle_pair(pair: Pair) -> &'static str {
    pair.0
}

fn main() {
    let m = Monitor { chain: "bsc" };
    m.handle(1);
    drop(m.on_block(7));
    handle_swap(&Swap { tx: 7 });
    handle_pair(Pair("0xaa"));
}
