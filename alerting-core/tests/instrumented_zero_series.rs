//! Installing the global registry registers every linked `#[instrumented]`
//! call site of it: their families and zero series are exported before
//! any call, in an exposition `promtool check metrics` accepts. (A file of
//! its own: the global registry is per process.)

mod common;

use std::sync::LazyLock;

use alerting_core::instrumented;
use alerting_core::metrics::{Format, Registry};
use common::promtool_check_metrics;

#[instrumented(labels(chain = "bsc"))]
fn parse_swap(raw: &str) -> Result<u64, std::num::ParseIntError> {
    raw.parse()
}

#[instrumented(in_flight)]
async fn fetch_price() {}

#[instrumented(
    calls = "filter_checks_total",
    duration = "filter_check_seconds",
    outcome_label = "result"
)]
fn check_filter() -> bool {
    true
}

static OWN: LazyLock<Registry> = LazyLock::new(Registry::new);

fn own() -> &'static Registry {
    &OWN
}

#[instrumented(registry = own)]
fn elsewhere() {}

fn has(text: &str, line: &str) -> bool {
    text.lines().any(|l| l == line)
}

#[test]
fn the_global_registry_exports_every_call_site_at_zero_before_any_call() {
    let registry = Registry::builder()
        .const_label("service", "zero")
        .build()
        .expect("registry");
    Registry::set_global(registry.clone()).expect("first set_global");
    let text = registry
        .encode_to_string(Format::Prometheus)
        .expect("encode");
    let (ok, report) = promtool_check_metrics(&text);
    assert!(ok, "promtool check metrics failed:\n{report}\n{text}");

    let m = r#"module="instrumented_zero_series""#;
    for line in [
        format!(
            r#"function_calls_total{{service="zero",function="parse_swap",{m},chain="bsc",outcome="ok"}} 0"#
        ),
        format!(
            r#"function_calls_total{{service="zero",function="parse_swap",{m},chain="bsc",outcome="error"}} 0"#
        ),
        format!(
            r#"function_call_duration_seconds_count{{service="zero",function="parse_swap",{m},chain="bsc"}} 0"#
        ),
        format!(
            r#"function_calls_total{{service="zero",function="fetch_price",{m},outcome="ok"}} 0"#
        ),
        format!(r#"function_calls_in_flight{{service="zero",function="fetch_price",{m}}} 0"#),
        format!(
            r#"filter_checks_total{{service="zero",function="check_filter",{m},result="error"}} 0"#
        ),
        format!(r#"filter_check_seconds_count{{service="zero",function="check_filter",{m}}} 0"#),
    ] {
        assert!(has(&text, &line), "missing {line} in:\n{text}");
    }
    // Only functions with `in_flight` have the gauge.
    assert!(
        !text.contains(r#"function_calls_in_flight{service="zero",function="parse_swap""#),
        "{text}"
    );
    // A site of another registry is not in this one.
    assert!(!text.contains(r#"function="elsewhere""#), "{text}");

    // Calls count on the series that were there.
    parse_swap("42").expect("parses");
    assert!(parse_swap("4x2").is_err());
    let text = registry
        .encode_to_string(Format::Prometheus)
        .expect("encode");
    for outcome in ["ok", "error"] {
        let line = format!(
            r#"function_calls_total{{service="zero",function="parse_swap",{m},chain="bsc",outcome="{outcome}"}} 1"#
        );
        assert!(has(&text, &line), "missing {line} in:\n{text}");
    }
    assert!(
        has(
            &text,
            &format!(
                r#"function_calls_total{{service="zero",function="fetch_price",{m},outcome="ok"}} 0"#
            )
        ),
        "{text}"
    );
    assert!(!registry.misses_instrumentation());

    // The other registry's sites, by an explicit call.
    assert_eq!(own().register_call_sites(), 1);
    let own_text = own().encode_to_string(Format::Prometheus).expect("encode");
    assert!(
        has(
            &own_text,
            &format!(r#"function_calls_total{{function="elsewhere",{m},outcome="ok"}} 0"#)
        ),
        "{own_text}"
    );
    // Again: nothing new, nothing twice.
    assert_eq!(own().register_call_sites(), 1);
    assert_eq!(
        own().encode_to_string(Format::Prometheus).expect("encode"),
        own_text
    );
    elsewhere();
    check_filter();
    drop(fetch_price());
}
