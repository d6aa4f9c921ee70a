//! `drift-stats`: the crate's statistics on sample files, printed as JSON.
use std::process::ExitCode;

use clap::Parser;
use stats::cli::{Cli, run};

fn main() -> ExitCode {
    // Usage errors, --help and --version exit here (2 for a usage error, 0 otherwise).
    let cli = Cli::parse();
    match run(&cli.statistic) {
        Ok(json) => {
            println!("{json}");
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("drift-stats: {error}");
            ExitCode::FAILURE
        }
    }
}
