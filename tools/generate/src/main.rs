//! `alerting-generate [--out DIR]`: writes the example monitors' alert
//! rules, rule tests and dashboards, with an index (default
//! `docs/generated`).

use std::error::Error;
use std::path::PathBuf;
use std::process::ExitCode;

fn main() -> ExitCode {
    match run(std::env::args().skip(1)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("alerting-generate: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(mut args: impl Iterator<Item = String>) -> Result<(), Box<dyn Error>> {
    let mut out = PathBuf::from("docs/generated");
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--out" => out = args.next().ok_or("--out needs a directory")?.into(),
            "-h" | "--help" => {
                println!("usage: alerting-generate [--out DIR]   (default: docs/generated)");
                return Ok(());
            }
            other => return Err(format!("unknown argument `{other}` (try --help)").into()),
        }
    }
    for path in alerting_generate::write_all(&out)? {
        println!("wrote {}", path.display());
    }
    Ok(())
}
