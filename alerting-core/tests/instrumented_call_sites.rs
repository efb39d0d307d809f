//! Every `#[instrumented]` call site is listed from start-up, with what
//! its attribute declared, whether or not it was called.

use alerting_core::instrument::{CallSite, SiteRegistry, call_sites};
use alerting_core::instrumented;
use alerting_core::metrics::{Buckets, Registry};

#[instrumented(labels(chain = "bsc", source = "ws"), in_flight)]
async fn process_swap() {}

#[instrumented(
    function = "fetch",
    calls = "price_calls_total",
    duration = "price_call_seconds",
    in_flight = "price_calls_in_flight",
    outcome_label = "result",
    buckets = [0.01, 0.1, 1.0],
    help = "Price API calls"
)]
fn fetch_price() {}

mod jobs {
    use std::sync::LazyLock;

    use alerting_core::metrics::Registry;

    static JOBS: LazyLock<Registry> = LazyLock::new(Registry::new);

    pub(crate) fn registry() -> &'static Registry {
        &JOBS
    }

    #[alerting_core::instrumented(registry = registry, buckets = fast_latency)]
    pub(crate) fn sweep() {}
}

fn site(name: &str) -> &'static CallSite {
    call_sites()
        .find(|s| s.function() == name)
        .unwrap_or_else(|| panic!("{name} is not listed"))
}

#[test]
fn call_sites_are_listed_with_their_options_before_any_call() {
    let swap = site("process_swap");
    assert_eq!(swap.module(), "instrumented_call_sites");
    assert_eq!(swap.labels(), [("chain", "bsc"), ("source", "ws")]);
    assert!(swap.has_in_flight());
    assert_eq!(swap.calls_metric(), "function_calls_total");
    assert_eq!(swap.duration_metric(), "function_call_duration_seconds");
    assert_eq!(swap.in_flight_metric(), Some("function_calls_in_flight"));
    assert_eq!(swap.outcome_label(), "outcome");
    assert_eq!(swap.buckets(), Buckets::latency());
    assert_eq!(swap.help(), None);
    assert!(swap.registry().is_global());

    let fetch = site("fetch");
    assert_eq!(fetch.labels(), []);
    assert_eq!(fetch.calls_metric(), "price_calls_total");
    assert_eq!(fetch.duration_metric(), "price_call_seconds");
    assert_eq!(fetch.in_flight_metric(), Some("price_calls_in_flight"));
    assert_eq!(fetch.outcome_label(), "result");
    assert_eq!(fetch.buckets().bounds(), [0.01, 0.1, 1.0]);
    assert_eq!(fetch.help(), Some("Price API calls"));

    let sweep = site("sweep");
    assert_eq!(sweep.module(), "instrumented_call_sites::jobs");
    assert!(!sweep.has_in_flight());
    assert_eq!(sweep.buckets(), Buckets::fast_latency());
    match sweep.registry() {
        SiteRegistry::Custom { path, get } => {
            assert_eq!(path, "registry");
            assert!(std::ptr::eq(get(), jobs::registry()));
        }
        SiteRegistry::Global => panic!("sweep names its registry"),
    }
    assert!(std::ptr::eq(sweep.target_registry(), jobs::registry()));

    // One entry per expansion.
    assert_eq!(
        call_sites()
            .filter(|s| s.module().starts_with("instrumented_call_sites"))
            .count(),
        3
    );
    // Listing registers nothing: no registry was touched.
    assert!(Registry::new().instrumentation_errors().is_empty());
    drop(process_swap());
    fetch_price();
    jobs::sweep();
}
