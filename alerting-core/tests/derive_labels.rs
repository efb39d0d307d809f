//! `#[derive(LabelValue)]` and `#[derive(LabelSet)]`, through the public API.

use std::borrow::Cow;

use alerting_core::metrics::{
    Counter, DynamicFamily, EnumLabel, Family, FixedLabelSet, Format, LabelSet, LabelValue,
    Registry,
};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, LabelValue)]
enum EventType {
    Swap,
    Sync,
    PairCreated,
    HTTPError,
    #[label(rename = "mint-v2")]
    Mint,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, LabelValue)]
enum Layer {
    Liquidity,
    Honeypot,
    Holders,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, LabelSet)]
struct Filtered {
    event_type: EventType,
    layer: Layer,
    passed: bool,
}

#[test]
fn label_values_are_snake_case_unless_renamed() {
    assert_eq!(EventType::Swap.as_str(), "swap");
    assert_eq!(EventType::PairCreated.as_str(), "pair_created");
    assert_eq!(EventType::HTTPError.as_str(), "http_error");
    assert_eq!(EventType::Mint.as_str(), "mint-v2");
}

#[test]
fn enum_label_values_are_in_declaration_order() {
    assert_eq!(
        EventType::VALUES,
        &[
            EventType::Swap,
            EventType::Sync,
            EventType::PairCreated,
            EventType::HTTPError,
            EventType::Mint
        ]
    );
    assert_eq!(<EventType as EnumLabel>::CARDINALITY, 5);
    for (i, v) in EventType::VALUES.iter().enumerate() {
        assert_eq!(v.index(), i);
        assert_eq!(EventType::VALUES[v.index()], *v);
    }
}

#[test]
fn enum_with_explicit_discriminants_is_indexed_by_position() {
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, LabelValue)]
    enum Code {
        Low = 10,
        High = 3,
    }
    assert_eq!(Code::Low.index(), 0);
    assert_eq!(Code::High.index(), 1);
    assert_eq!(Code::High.as_str(), "high");
}

#[test]
fn raw_identifiers_lose_their_prefix() {
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, LabelValue)]
    enum Kind {
        r#Type,
    }
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, LabelSet)]
    struct Labels {
        r#type: Kind,
    }
    assert_eq!(Kind::r#Type.as_str(), "type");
    assert_eq!(<Labels as LabelSet>::NAMES, &["type"]);
}

#[test]
fn label_set_names_follow_fields_and_renames() {
    #[derive(Clone, Debug, PartialEq, Eq, Hash, LabelSet)]
    struct Api {
        #[label(rename = "api")]
        api_name: &'static str,
        endpoint: String,
        layer: Layer,
    }
    assert_eq!(<Api as LabelSet>::NAMES, &["api", "endpoint", "layer"]);
    assert_eq!(
        <Filtered as LabelSet>::NAMES,
        &["event_type", "layer", "passed"]
    );
}

fn all_filtered() -> Vec<Filtered> {
    let mut all = Vec::new();
    for &event_type in EventType::VALUES {
        for &layer in Layer::VALUES {
            for passed in [false, true] {
                all.push(Filtered {
                    event_type,
                    layer,
                    passed,
                });
            }
        }
    }
    all
}

#[test]
fn fixed_label_set_round_trips_every_value() {
    assert_eq!(<Filtered as FixedLabelSet>::CARDINALITY, 5 * 3 * 2);
    let all = all_filtered();
    let mut seen = [false; <Filtered as FixedLabelSet>::CARDINALITY];
    for labels in &all {
        let i = labels.index();
        assert!(i < <Filtered as FixedLabelSet>::CARDINALITY);
        assert!(!seen[i], "index {i} given twice");
        seen[i] = true;
        assert_eq!(Filtered::from_index(i), *labels);
    }
    // Row-major: the first field is the most significant, the last the
    // least, so declaration order is index order.
    for (i, labels) in all.iter().enumerate() {
        assert_eq!(labels.index(), i);
    }
}

#[test]
fn from_index_wraps_out_of_range_indices() {
    let n = <Filtered as FixedLabelSet>::CARDINALITY;
    for i in [n, n + 7, 3 * n + 1, usize::MAX, usize::MAX - 1] {
        assert_eq!(Filtered::from_index(i), Filtered::from_index(i % n));
    }
}

#[test]
fn label_set_without_fields_has_one_value() {
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, LabelSet)]
    struct NoLabels {}
    assert_eq!(<NoLabels as LabelSet>::NAMES, &[] as &[&str]);
    assert_eq!(<NoLabels as FixedLabelSet>::CARDINALITY, 1);
    assert_eq!(NoLabels {}.index(), 0);
    assert_eq!(NoLabels::from_index(5), NoLabels {});
}

#[test]
fn single_value_fields_have_cardinality_one() {
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, LabelValue)]
    enum Only {
        One,
    }
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, LabelSet)]
    struct Labels {
        only: Only,
        ok: bool,
    }
    assert_eq!(<Labels as FixedLabelSet>::CARDINALITY, 2);
    let all = [false, true].map(|ok| Labels {
        only: Only::One,
        ok,
    });
    for (i, labels) in all.iter().enumerate() {
        assert_eq!(labels.index(), i);
        assert_eq!(Labels::from_index(i), *labels);
        assert_eq!(Labels::from_index(i + 2), *labels);
    }
}

#[test]
fn enum_labels_key_a_family_with_every_series_present() {
    let registry = Registry::new();
    let filtered: Family<Filtered, Counter> = registry
        .register("filter_checks_total", "Filter checks")
        .unwrap();
    filtered
        .get(Filtered {
            event_type: EventType::PairCreated,
            layer: Layer::Honeypot,
            passed: false,
        })
        .inc();
    let text = registry.encode_to_string(Format::Prometheus).unwrap();
    assert!(
        text.contains(
            r#"filter_checks_total{event_type="pair_created",layer="honeypot",passed="false"} 1"#
        ),
        "{text}"
    );
    assert!(
        text.contains(
            r#"filter_checks_total{event_type="mint-v2",layer="holders",passed="true"} 0"#
        ),
        "{text}"
    );
}

/// Open-ended values: a `LabelSet` but not a `FixedLabelSet`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, LabelSet)]
struct Request {
    api: &'static str,
    endpoint: String,
    path: Cow<'static, str>,
    status: u16,
    layer: Layer,
}

#[test]
fn string_label_sets_key_a_dynamic_family() {
    let registry = Registry::new();
    let requests: DynamicFamily<Request, Counter> = registry
        .register("api_requests_total", "API requests")
        .unwrap();
    requests
        .get_or_create(&Request {
            api: "dexscreener",
            endpoint: "/latest/dex/tokens".into(),
            path: Cow::Borrowed("tokens"),
            status: 200,
            layer: Layer::Liquidity,
        })
        .inc();
    let text = registry.encode_to_string(Format::Prometheus).unwrap();
    assert!(
        text.contains(
            r#"api_requests_total{api="dexscreener",endpoint="/latest/dex/tokens",path="tokens",status="200",layer="liquidity"} 1"#
        ),
        "{text}"
    );
}

#[test]
fn string_label_values_are_escaped() {
    #[derive(Clone, Debug, PartialEq, Eq, Hash, LabelSet)]
    struct Token {
        symbol: String,
    }
    let registry = Registry::new();
    let swaps: DynamicFamily<Token, Counter> =
        registry.register("token_swaps_total", "Swaps").unwrap();
    swaps
        .get_or_create(&Token {
            symbol: "a\"b\\c\nd 狗币 🚀".into(),
        })
        .inc();
    for format in [Format::Prometheus, Format::OpenMetrics] {
        let text = registry.encode_to_string(format).unwrap();
        assert!(
            text.contains(r#"token_swaps_total{symbol="a\"b\\c\nd 狗币 🚀"} 1"#),
            "{format:?}: {text}"
        );
        // The raw newline never reaches the exposition: one sample, one line.
        let line = text
            .lines()
            .find(|l| l.starts_with("token_swaps_total{"))
            .unwrap();
        assert!(line.ends_with("} 1"), "{line}");
    }
}

/// The `crate = "…"` path, for a crate that re-exports alerting-core.
mod reexported {
    pub(crate) mod deps {
        pub(crate) use alerting_core as core;
    }

    use super::LabelValue;
    use alerting_core::metrics::{EnumLabel, FixedLabelSet, LabelSet};

    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, LabelValue)]
    #[label(crate = "deps::core")]
    enum Side {
        Buy,
        Sell,
    }

    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, LabelSet)]
    #[label(crate = "self::deps::core")]
    struct Trade {
        side: Side,
    }

    #[test]
    fn crate_path_is_used() {
        assert_eq!(Side::Sell.as_str(), "sell");
        assert_eq!(<Trade as LabelSet>::NAMES, &["side"]);
        assert_eq!(<Trade as FixedLabelSet>::CARDINALITY, 2);
    }
}
