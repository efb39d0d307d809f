//! `#[instrumented]` registers its call site at link time: in a crate that
//! forbids unsafe code (linkme's link-section attributes come from the
//! macro, not the user), with the runtime under a re-exported path
//! (`crate = …`), and with a registry of its own.
#![forbid(unsafe_code)]
#![deny(warnings)]

use std::sync::LazyLock;

use alerting_core::instrument::{SiteRegistry, call_sites};
use alerting_core::metrics::Registry;

mod my_runtime {
    pub use alerting_core as metrics_core;
}

static JOBS: LazyLock<Registry> = LazyLock::new(Registry::new);

fn jobs() -> &'static Registry {
    &JOBS
}

#[alerting_core::instrumented(crate = my_runtime::metrics_core)]
fn through_a_reexport() {}

#[alerting_core::instrumented(registry = jobs, in_flight)]
async fn with_a_registry() {}

fn main() {
    let names: Vec<&str> = call_sites().map(|s| s.function()).collect();
    assert!(names.contains(&"through_a_reexport"), "{names:?}");
    let site = call_sites()
        .find(|s| s.function() == "with_a_registry")
        .expect("linked");
    assert!(matches!(site.registry(), SiteRegistry::Custom { path: "jobs", .. }));
    assert!(site.has_in_flight());
    through_a_reexport();
    drop(with_a_registry());
}
