//! `tabular`: the tabular models' command line and the training image's entry point.
//! - `tabular train [--opt-ml DIR]`: the SageMaker training job (SageMaker runs the image with
//!   the argument `train`); see `tabular::job`.
//! - `tabular generate FAMILY DIR`: writes a generated dataset folder.
//! - `tabular bench FAMILY DIR`: trains on a dataset folder and measures, printing JSON.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use tabular::Family;
use tabular::dataset::{self, Stage};

#[derive(Parser)]
#[command(
    version,
    about = "The tabular models: training job, datasets, benchmark"
)]
struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, ValueEnum)]
enum FamilyArg {
    BatterySohRegressor,
    FailureClassifier,
}

impl From<FamilyArg> for Family {
    fn from(f: FamilyArg) -> Self {
        match f {
            FamilyArg::BatterySohRegressor => Family::BatterySohRegressor,
            FamilyArg::FailureClassifier => Family::FailureClassifier,
        }
    }
}

#[derive(Clone, Copy, ValueEnum)]
enum StageArg {
    FirstRelease,
    AfterDrift,
}

#[derive(Subcommand)]
enum Command {
    /// The SageMaker training job on an /opt/ml tree.
    Train {
        #[arg(long, default_value = "/opt/ml")]
        opt_ml: PathBuf,
    },
    /// Writes a generated dataset folder (manifest.json, train.csv, test.csv).
    Generate {
        family: FamilyArg,
        folder: PathBuf,
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Which dataset of the lane's story.
        #[arg(long, value_enum, default_value_t = StageArg::FirstRelease)]
        stage: StageArg,
    },
    /// Trains on a dataset folder with the default hyperparameters and prints the fit time,
    /// prediction latencies and test quality as JSON.
    Bench { family: FamilyArg, folder: PathBuf },
}

fn main() -> ExitCode {
    let result = match Args::parse().command {
        Command::Train { opt_ml } => {
            let job = std::env::var("TRAINING_JOB_NAME").unwrap_or_else(|_| "local".into());
            match tabular::job::run(&opt_ml, &job, &mut std::io::stdout()) {
                Ok(_) => Ok(()),
                Err(e) => {
                    tabular::job::write_failure(&opt_ml, &e);
                    Err(e.to_string())
                }
            }
        }
        Command::Generate {
            family,
            folder,
            seed,
            stage,
        } => {
            let stage = match stage {
                StageArg::FirstRelease => Stage::FirstRelease,
                StageArg::AfterDrift => Stage::AfterDrift,
            };
            dataset::generate(family.into(), seed, stage)
        }
        .write(&folder)
        .map_err(|e| e.to_string()),
        Command::Bench { family, folder } => tabular::bench::run(family.into(), &folder)
            .map(|report| {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&report).unwrap_or_default()
                )
            })
            .map_err(|e| e.to_string()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
