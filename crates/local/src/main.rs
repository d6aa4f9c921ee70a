//! `damage-pricing`: the whole system on this machine, no AWS account needed.

use std::process::ExitCode;

use clap::Parser;
use damage_pricing::cli::{self, Cli};

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> ExitCode {
    // --help and --version end here with 0, a usage error clap finds with 2.
    let cli = Cli::parse();
    // A demo's logs (of its last run) go to a file in the state directory: the story reads cleanly.
    let log_file = cli.open_log_file();
    platform::telemetry::init_logs(platform::telemetry::LogFormat::from_env(), "warn", log_file);
    match cli::run(cli, &mut std::io::stdout()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {}", platform::error::chain(&e));
            e.exit_code()
        }
    }
}
