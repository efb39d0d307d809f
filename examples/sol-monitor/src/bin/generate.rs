//! `sol-monitor-generate [--out DIR]`: writes sol-monitor's alert rules
//! (`rules.yml`), their promtool tests (`rules_test.yml`) and its Grafana
//! dashboard (`dashboard.json`) into DIR (default `generated`), from
//! `src/metrics.rs` by way of `src/generate.rs`:
//!
//! ```text
//! cargo run --features generate --bin sol-monitor-generate -- --out rules/
//! ```

use std::error::Error;
use std::path::PathBuf;
use std::process::ExitCode;

use sol_monitor::generate;

const USAGE: &str = "usage: sol-monitor-generate [--out DIR]

Writes rules.yml, rules_test.yml and dashboard.json into DIR (default: generated).
Check them with `promtool check rules DIR/rules.yml` and
`promtool test rules DIR/rules_test.yml`.";

fn main() -> ExitCode {
    match run(std::env::args().skip(1)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("sol-monitor-generate: {e}");
            let mut source = e.source();
            while let Some(cause) = source {
                eprintln!("  caused by: {cause}");
                source = cause.source();
            }
            ExitCode::FAILURE
        }
    }
}

fn run(mut args: impl Iterator<Item = String>) -> Result<(), Box<dyn Error>> {
    let mut out = PathBuf::from("generated");
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--out" => out = args.next().ok_or("--out needs a directory")?.into(),
            "-h" | "--help" => {
                println!("{USAGE}");
                return Ok(());
            }
            other => return Err(format!("unknown argument `{other}` (try --help)").into()),
        }
    }
    let generated = generate::generate()?;
    std::fs::create_dir_all(&out).map_err(|e| format!("cannot create {}: {e}", out.display()))?;
    for (name, contents) in generated.files()? {
        let path = out.join(name);
        std::fs::write(&path, contents)
            .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        println!("wrote {}", path.display());
    }
    Ok(())
}
