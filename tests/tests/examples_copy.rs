//! Each example folder is a template: copied out of this repository, it
//! builds on its own. For each example, the folder and the workspace's
//! `Cargo.lock` are copied into a fresh temporary directory outside the
//! workspace; the one edit is the three `path = "../../alerting-…"`
//! dependencies, pointed at this checkout (a user points them at a version
//! or a git source instead); then `cargo check --offline` builds the
//! service, and `cargo check --offline --features generate --bins` its
//! generator too.
//!
//! The copies build in one target directory under this workspace's
//! (`<target>/examples-copy`), so that a rerun only rebuilds the copied
//! crate; a first run builds every dependency once (minutes). `--offline`
//! works wherever the workspace's dependencies are already fetched, as on
//! CI after its earlier cargo commands.

use std::fs::{self, File};
use std::path::{Component, Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The longest both cargo commands of one example may take together.
const TIMEOUT: Duration = Duration::from_secs(15 * 60);

/// The libraries an example takes by path from this repository.
const LIBRARIES: [&str; 3] = ["alerting-core", "alerting-axum", "alerting-rules"];

/// How much of cargo's stderr a failure shows.
const STDERR_TAIL: usize = 24 * 1024;

/// One copy builds at a time: they share a target directory, and a build
/// waiting on cargo's lock would eat into the other's time bound.
static BUILD: Mutex<()> = Mutex::new(());

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .canonicalize()
        .expect("workspace directory")
}

/// `<target>/examples-copy`, where `<target>` is the directory this test
/// was built in (it runs from `<target>/<profile>/deps/`), wherever
/// CARGO_TARGET_DIR or a cargo config put it.
fn target_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("test executable path");
    let target = exe
        .ancestors()
        .nth(3)
        .map(Path::to_path_buf)
        .unwrap_or_else(|| workspace().join("target"));
    target.join("examples-copy")
}

/// A temporary directory, removed when dropped (also when a test fails).
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("alerting-{name}-copy-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).expect("create the temporary directory");
        Self(dir.canonicalize().expect("temporary directory"))
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// Copies the directory `from` into `to`, but not a `target` directory
/// (a build inside the example, which a user would not copy either).
fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap_or_else(|e| panic!("create {}: {e}", to.display()));
    for entry in fs::read_dir(from).unwrap_or_else(|e| panic!("read {}: {e}", from.display())) {
        let entry = entry.expect("directory entry");
        let (path, dest) = (entry.path(), to.join(entry.file_name()));
        let kind = entry.file_type().expect("file type");
        if kind.is_dir() {
            if entry.file_name() != "target" {
                copy_dir(&path, &dest);
            }
        } else {
            fs::copy(&path, &dest)
                .unwrap_or_else(|e| panic!("copy {} to {}: {e}", path.display(), dest.display()));
        }
    }
}

/// A line of a manifest without its comment.
fn code(line: &str) -> &str {
    line.split('#').next().unwrap_or("")
}

/// The values of the `path = "…"` keys on a line.
fn paths(line: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = code(line);
    while let Some(at) = rest.find("path") {
        let before = rest[..at].chars().next_back();
        rest = &rest[at + "path".len()..];
        // `path` as a key: not the end of another word (`some_path`).
        if before.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-') {
            continue;
        }
        let Some(value) = rest.trim_start().strip_prefix('=') else {
            continue;
        };
        let Some(value) = value.trim_start().strip_prefix('"') else {
            continue;
        };
        if let Some(end) = value.find('"') {
            out.push(&value[..end]);
        }
    }
    out
}

/// The library a dependency line takes by path (`alerting-core = { … }`).
fn library(line: &str) -> Option<&'static str> {
    let key = code(line).split('=').next()?.trim();
    LIBRARIES.iter().copied().find(|l| *l == key)
}

/// Checks that `manifest` inherits nothing from a workspace and names no
/// path outside its folder but the three libraries', then returns it with
/// those three pointed at `checkout`.
fn point_at_checkout(example: &str, manifest: &str, checkout: &Path) -> Result<String, String> {
    let mut found = Vec::new();
    let mut out = String::new();
    for (n, line) in manifest.lines().enumerate() {
        let at = format!("examples/{example}/Cargo.toml:{}: `{line}`", n + 1);
        if code(line).contains("workspace") {
            return Err(format!(
                "{at}: a copied example cannot inherit from (or be) a workspace"
            ));
        }
        match library(line) {
            Some(lib) => {
                let relative = format!("../../{lib}");
                if paths(line) != [relative.as_str()] {
                    return Err(format!("{at}: {lib} should be taken from `{relative}`"));
                }
                found.push(lib);
                let absolute = checkout.join(lib);
                let absolute = absolute
                    .to_str()
                    .ok_or("a checkout path that is not UTF-8")?;
                out.push_str(&line.replacen(
                    &format!("\"{relative}\""),
                    &format!("\"{absolute}\""),
                    1,
                ));
            }
            None => {
                for path in paths(line) {
                    let inside = Path::new(path)
                        .components()
                        .all(|c| matches!(c, Component::Normal(_) | Component::CurDir));
                    if !inside {
                        return Err(format!(
                            "{at}: `{path}` is outside the example, which a copy does not have"
                        ));
                    }
                }
                out.push_str(line);
            }
        }
        out.push('\n');
    }
    found.sort_unstable();
    let mut expected = LIBRARIES.to_vec();
    expected.sort_unstable();
    if found != expected {
        return Err(format!(
            "examples/{example}/Cargo.toml takes {found:?} by path, not each of {expected:?} once"
        ));
    }
    Ok(out)
}

/// Runs `cargo <args>` in `dir` until `deadline`; on failure or timeout,
/// panics with the end of cargo's stderr.
fn cargo(dir: &Path, args: &[&str], deadline: Instant, log: &Path) {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let command = format!("cargo {}", args.join(" "));
    let stderr = File::create(log).expect("cargo's log file");
    let mut child = Command::new(cargo)
        .args(args)
        .current_dir(dir)
        .env("CARGO_TARGET_DIR", target_dir())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(stderr)
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {command}: {e}"));
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for cargo") {
            break Some(status);
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    if status.is_some_and(|s| s.success()) {
        return;
    }
    let text = fs::read(log).unwrap_or_default();
    let tail = String::from_utf8_lossy(&text[text.len().saturating_sub(STDERR_TAIL)..]);
    match status {
        Some(status) => panic!(
            "`{command}` in {} failed ({status}):\n{tail}",
            dir.display()
        ),
        None => panic!(
            "`{command}` in {} did not finish in {TIMEOUT:?}; killed:\n{tail}",
            dir.display()
        ),
    }
}

/// Copies `examples/<example>` out of the workspace and builds it.
fn builds_on_its_own(example: &str) {
    let _serial = BUILD.lock().unwrap_or_else(|e| e.into_inner());
    let checkout = workspace();
    let temp = TempDir::new(example);
    assert!(
        !temp.0.starts_with(&checkout),
        "the temporary directory {} is inside the workspace",
        temp.0.display()
    );
    let copy = temp.0.join(example);
    copy_dir(&checkout.join("examples").join(example), &copy);
    fs::copy(checkout.join("Cargo.lock"), copy.join("Cargo.lock")).expect("copy Cargo.lock");
    let manifest = fs::read_to_string(copy.join("Cargo.toml")).expect("read Cargo.toml");
    let pointed =
        point_at_checkout(example, &manifest, &checkout).unwrap_or_else(|e| panic!("{e}"));
    fs::write(copy.join("Cargo.toml"), pointed).expect("write Cargo.toml");

    let started = Instant::now();
    let deadline = started + TIMEOUT;
    let log = temp.0.join("cargo-stderr.log");
    cargo(&copy, &["check", "--offline"], deadline, &log);
    cargo(
        &copy,
        &["check", "--offline", "--features", "generate", "--bins"],
        deadline,
        &log,
    );
    eprintln!(
        "{example}: the copy built in {:.0?} (target {})",
        started.elapsed(),
        target_dir().display()
    );
}

#[test]
fn bsc_monitor_builds_when_copied_out_of_the_workspace() {
    builds_on_its_own("bsc-monitor");
}

#[test]
fn sol_monitor_builds_when_copied_out_of_the_workspace() {
    builds_on_its_own("sol-monitor");
}

#[test]
fn a_manifest_that_leans_on_the_workspace_is_refused() {
    let checkout = Path::new("/checkout");
    let good = "[dependencies]\n\
                alerting-core = { version = \"0.1.0\", path = \"../../alerting-core\" }\n\
                alerting-axum = { version = \"0.1.0\", path = \"../../alerting-axum\" }\n\
                alerting-rules = { version = \"0.1.0\", path = \"../../alerting-rules\", optional = true }\n\
                # not inherited from a workspace; path = \"../x\" in a comment\n\
                [[bin]]\nname = \"x\"\npath = \"src/main.rs\"\n";
    let pointed = point_at_checkout("x", good, checkout).expect("a good manifest");
    assert!(pointed.contains(r#"path = "/checkout/alerting-core" }"#));
    assert!(pointed.contains(r#"path = "/checkout/alerting-rules", optional = true }"#));
    assert!(pointed.contains(r#"path = "src/main.rs""#));
    assert_eq!(pointed.lines().count(), good.lines().count());
    for bad in [
        good.replace("[[bin]]", "thiserror.workspace = true\n[[bin]]"),
        good.replace("[[bin]]", "serde = { workspace = true }\n[[bin]]"),
        good.replace("src/main.rs", "../shared/main.rs"),
        good.replace("src/main.rs", "/opt/main.rs"),
        good.replace("\"../../alerting-axum\"", "\"../alerting-axum\""),
        good.replace("alerting-axum = ", "alerting-macros = "),
    ] {
        assert!(
            point_at_checkout("x", &bad, checkout).is_err(),
            "accepted:\n{bad}"
        );
    }
}
