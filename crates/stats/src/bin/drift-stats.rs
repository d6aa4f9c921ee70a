//! `drift-stats`: the crate's statistics on two sample files, printed as JSON.
use std::process::ExitCode;

use stats::cli::{CliError, USAGE, run};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args) {
        Ok(json) => {
            println!("{json}");
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("drift-stats: {error}");
            if matches!(error, CliError::Usage(_)) {
                eprintln!("{USAGE}");
                return ExitCode::from(2);
            }
            ExitCode::FAILURE
        }
    }
}
