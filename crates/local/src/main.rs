//! `damage-pricing`: the whole system on this machine, no AWS account needed.

use std::process::ExitCode;

use damage_pricing::cli;

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> ExitCode {
    platform::telemetry::init_with_level(platform::telemetry::LogFormat::from_env(), "warn");
    let args: Vec<String> = std::env::args().skip(1).collect();
    match cli::run(&args, &mut std::io::stdout()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {}", platform::error::chain(&e));
            ExitCode::FAILURE
        }
    }
}
