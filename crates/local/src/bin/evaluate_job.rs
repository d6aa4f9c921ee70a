//! `evaluate-job`: the evaluation container's entry point (`infra/Dockerfile.evaluate`), a
//! SageMaker processing job. Reads the model under `/opt/ml/processing/model` and writes
//! `report.json` and `profile.json` under `/opt/ml/processing/{evaluation,baseline}`; see
//! [`damage_pricing::sagemaker::evaluation`]. `--processing-dir DIR` replaces `/opt/ml/processing`.

use std::path::PathBuf;
use std::process::ExitCode;

use damage_pricing::sagemaker::evaluation::{
    PROCESSING_ROOT, ProcessingArgs, ProcessingPaths, run_processing_job,
};

fn main() -> ExitCode {
    platform::telemetry::init_with_level(platform::telemetry::LogFormat::from_env(), "info");
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let mut root = PathBuf::from(PROCESSING_ROOT);
    if let Some(at) = args.iter().position(|a| a == "--processing-dir") {
        let Some(dir) = args.get(at + 1).cloned() else {
            eprintln!("error: --processing-dir needs a folder");
            return ExitCode::FAILURE;
        };
        root = PathBuf::from(dir);
        args.drain(at..at + 2);
    }
    let run = ProcessingArgs::parse(&args, |var| std::env::var(var).ok())
        .and_then(|args| run_processing_job(&ProcessingPaths::under(&root), &args));
    match run {
        Ok(evaluation) => {
            let metrics: Vec<String> = evaluation
                .report
                .metrics
                .iter()
                .map(|(name, value)| format!("{name}={:.4}", value.get()))
                .collect();
            println!(
                "{} samples={}",
                metrics.join(" "),
                evaluation.report.samples.len()
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {}", platform::error::chain(&e));
            ExitCode::FAILURE
        }
    }
}
