//! `build_info!` exports one `build_info` series, which passes a real
//! `promtool check metrics`.

mod common;

use alerting_core::metrics::{BuildInfo, Format, MetricsError, Registry, UNKNOWN_REVISION};
use common::assert_promtool_accepts;

#[test]
fn macro_exports_this_crates_build_and_passes_promtool() {
    let registry = Registry::builder()
        .namespace("svc")
        .const_label("service", "build-info-test")
        .build()
        .unwrap();
    // `macros` is a default feature of alerting-core (whose tests these
    // are); `log-files` is not.
    let info = alerting_core::build_info!(&registry, features = ["macros", "log-files"]).unwrap();
    assert_eq!(info.version, env!("CARGO_PKG_VERSION"));
    let expected_revision = option_env!("ALERTING_BUILD_REVISION")
        .or(option_env!("VERGEN_GIT_SHA"))
        .unwrap_or(UNKNOWN_REVISION);
    assert_eq!(info.revision, expected_revision);
    let expected_features = match (cfg!(feature = "macros"), cfg!(feature = "log-files")) {
        (true, true) => "macros,log-files",
        (true, false) => "macros",
        (false, true) => "log-files",
        (false, false) => "",
    };
    assert_eq!(info.features, expected_features);
    // A real compiler version, as `rustc --version` prints it.
    assert!(
        info.rustc.split('.').count() >= 3 && info.rustc.starts_with("1."),
        "{}",
        info.rustc
    );

    let text = registry.encode_to_string(Format::Prometheus).unwrap();
    let line = format!(
        r#"svc_build_info{{service="build-info-test",version="{}",revision="{}",rustc="{}",features="{}"}} 1"#,
        info.version, info.revision, info.rustc, info.features
    );
    assert!(text.contains(&line), "missing {line} in:\n{text}");
    assert!(text.contains("# TYPE svc_build_info gauge"), "{text}");
    assert_promtool_accepts(&text);
}

#[test]
fn hand_built_info_escapes_its_values() {
    let registry = Registry::new();
    let info = BuildInfo::new("2.0.0-rc.1")
        .revision("  ")
        .features(["tls", "a\"b"]);
    assert_eq!(
        info.revision, UNKNOWN_REVISION,
        "a blank revision is unknown"
    );
    registry.register_build_info(&info).unwrap();
    let text = registry.encode_to_string(Format::Prometheus).unwrap();
    assert!(
        text.contains(&format!(
            r#"build_info{{version="2.0.0-rc.1",revision="unknown",rustc="{}",features="tls,a\"b"}} 1"#,
            BuildInfo::RUSTC
        )),
        "{text}"
    );
    assert_promtool_accepts(&text);
}

#[test]
fn second_build_info_is_a_duplicate_error() {
    let registry = Registry::new();
    alerting_core::build_info!(registry).unwrap();
    let err = alerting_core::build_info!(registry).unwrap_err();
    assert!(
        matches!(&err, MetricsError::Duplicate { name, .. } if name == "build_info"),
        "{err}"
    );
}
