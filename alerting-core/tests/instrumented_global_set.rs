//! With `Registry::set_global` called first, `#[instrumented]` series go to
//! the chosen registry, and no registry reports them missing. (A file of its
//! own: the global registry is per process.)

use alerting_core::instrumented;
use alerting_core::metrics::{Format, Registry};

#[instrumented]
fn handle() {}

#[test]
fn a_chosen_global_registry_is_not_reported_as_missing_anything() {
    let served = Registry::new();
    Registry::set_global(served.clone()).unwrap();
    handle();
    let text = served.encode_to_string(Format::Prometheus).unwrap();
    assert!(text.contains(r#"function="handle""#), "{text}");
    assert!(!served.misses_instrumentation());
    // Another registry (say, a second endpoint's) is not warned about
    // either: the global one was chosen.
    assert!(!Registry::new().misses_instrumentation());
}
