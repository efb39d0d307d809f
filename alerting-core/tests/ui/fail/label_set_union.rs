use alerting_core::metrics::LabelSet;

#[derive(LabelSet)]
union Labels {
    a: u32,
}

fn main() {}
