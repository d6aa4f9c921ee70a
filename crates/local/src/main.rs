//! `damage-pricing`: the whole system on this machine, no AWS account needed.

use std::process::ExitCode;

use clap::Parser;
use damage_pricing::cli::{self, Cli};

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> ExitCode {
    // --help and --version end here with 0, a usage error clap finds with 2.
    let cli = Cli::parse();
    platform::telemetry::init_with_level(platform::telemetry::LogFormat::from_env(), "warn");
    match cli::run(cli, &mut std::io::stdout()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {}", platform::error::chain(&e));
            e.exit_code()
        }
    }
}
