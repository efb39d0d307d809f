//! Every supported kind of field, and an empty label set, without a warning.
#![deny(warnings)]

use std::borrow::Cow;

use alerting_core::metrics::{
    Counter, DynamicFamily, Family, FixedLabelSet, LabelSet, LabelValue, Registry,
};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, LabelValue)]
enum Chain {
    Bsc,
    Sol,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, LabelSet)]
struct Fixed {
    chain: Chain,
    #[label(rename = "ok")]
    success: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, LabelSet)]
struct Open {
    chain: Chain,
    api: &'static str,
    endpoint: String,
    path: Cow<'static, str>,
    status: u16,
    r#type: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, LabelSet)]
struct Nothing {}

fn main() {
    let registry = Registry::new();
    let fixed: Family<Fixed, Counter> = registry.register("fixed_total", "Fixed").unwrap();
    let open: DynamicFamily<Open, Counter> = registry.register("open_total", "Open").unwrap();
    let none: Family<Nothing, Counter> = registry.register("none_total", "None").unwrap();
    fixed
        .get(Fixed {
            chain: Chain::Sol,
            success: true,
        })
        .inc();
    open.get_or_create(&Open {
        chain: Chain::Bsc,
        api: "dexscreener",
        endpoint: "/tokens".to_owned(),
        path: Cow::Borrowed("/"),
        status: 200,
        r#type: false,
    })
    .inc();
    none.get(Nothing {}).inc();
    assert_eq!(<Fixed as FixedLabelSet>::CARDINALITY, 4);
    assert_eq!(
        <Open as LabelSet>::NAMES,
        &["chain", "api", "endpoint", "path", "status", "type"]
    );
}
