//! Compile errors of the derives: one file per mistake in `ui/fail/`, with
//! the expected compiler output beside it; `ui/pass/` must compile.
//!
//! Regenerate the `.stderr` files after an intended change with
//! `TRYBUILD=overwrite cargo test -p alerting-core --test ui`, then read them.

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/fail/*.rs");
    t.pass("tests/ui/pass/*.rs");
}
