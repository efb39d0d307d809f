//! The `alerting-generate` binary sees both apps' `#[instrumented]` call
//! sites (a linker keeps only what a program references; the generators
//! name the apps' functions through the sites linked into them) and
//! writes exactly the committed `docs/generated/`.

use std::path::Path;
use std::process::Command;

#[test]
fn the_binary_writes_the_committed_files() {
    let out = std::env::temp_dir().join(format!("alerting-generate-{}", std::process::id()));
    let run = Command::new(env!("CARGO_BIN_EXE_alerting-generate"))
        .arg("--out")
        .arg(&out)
        .output()
        .expect("run alerting-generate");
    assert!(
        run.status.success(),
        "alerting-generate failed: {}",
        String::from_utf8_lossy(&run.stderr)
    );
    let committed = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/generated");
    let mut compared = 0;
    for service in ["bsc-monitor", "sol-monitor"] {
        for file in ["rules.yml", "rules_test.yml", "dashboard.json"] {
            let rel = Path::new(service).join(file);
            let written = std::fs::read_to_string(out.join(&rel)).expect("written file");
            let expected = std::fs::read_to_string(committed.join(&rel)).expect("committed file");
            assert!(
                written == expected,
                "{} differs from docs/generated",
                rel.display()
            );
            compared += 1;
        }
    }
    std::fs::remove_dir_all(&out).expect("clean up");
    assert_eq!(compared, 6);
}
