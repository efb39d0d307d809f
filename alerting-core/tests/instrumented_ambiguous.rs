//! Two `#[instrumented]` functions of one name in different modules: a
//! rule selects series by the `function` label, so asking for that name
//! is an error until a crate's functions alone are described.

use alerting_core::instrument::{InstrumentError, Instrumented};
use alerting_core::metrics::Registry;

mod intake {
    #[alerting_core::instrumented]
    pub(crate) fn retry() {}
}

mod alerts {
    #[alerting_core::instrumented]
    pub(crate) fn retry() {}
}

/// Two modules' `retry` share `function="retry"`: a rule on it would count
/// both, so asking for it is an error naming the modules; describing one
/// module's functions is not.
#[test]
fn a_name_in_two_modules_is_ambiguous_until_narrowed() {
    let fns = Instrumented::new(&Registry::new());
    let err = fns.function("retry").unwrap_err();
    let InstrumentError::Ambiguous { name, modules } = &err else {
        panic!("expected an ambiguous name, got {err:?}");
    };
    assert_eq!(name, "retry");
    let mut modules = modules.clone();
    modules.sort();
    assert_eq!(
        modules,
        [
            "instrumented_ambiguous::alerts",
            "instrumented_ambiguous::intake"
        ]
    );
    assert!(
        err.to_string()
            .contains(r#"give each its own name with `#[instrumented(function = "…")]`"#),
        "{err}"
    );
    let intake = fns
        .within("instrumented_ambiguous::intake")
        .function("retry")
        .unwrap();
    assert_eq!(intake.site().module(), "instrumented_ambiguous::intake");
    intake::retry();
    alerts::retry();
}
