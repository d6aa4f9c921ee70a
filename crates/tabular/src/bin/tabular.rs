//! `tabular`: the tabular models' command line and the training image's entry point.
//! - `tabular train [--opt-ml DIR]`: the SageMaker training job (SageMaker runs the image with
//!   the argument `train`); see `tabular::job`.
//! - `tabular generate FAMILY DIR`: writes a generated dataset folder.
//! - `tabular bench FAMILY DIR`: trains on a dataset folder and measures, printing JSON.
//! - `tabular serve FAMILY`: the inference container (`/ping`, `/invocations`).

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
    /// The inference container: serves the model in /opt/ml/model (SageMaker unpacks
    /// model.tar.gz there) on `$SAGEMAKER_BIND_TO_PORT` (8080); answers as `$MODEL_VERSION`.
    Serve {
        /// The family the model must be [default: the one model.json names].
        #[arg(long)]
        family: Option<FamilyArg>,
        #[arg(long, default_value = "/opt/ml/model/model.json")]
        model: PathBuf,
        #[arg(long, default_value = "0.0.0.0")]
        bind: std::net::IpAddr,
    },
}

/// Why the inference container cannot serve.
#[derive(Debug, thiserror::Error)]
enum ServeError {
    #[error("{path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{0} names no model family")]
    NoFamily(PathBuf),
    #[error(transparent)]
    Model(#[from] tabular::model::ModelError),
    #[error("SAGEMAKER_BIND_TO_PORT={0:?} is not a port")]
    Port(String),
    #[error("{addr}: {source}")]
    Listen {
        addr: String,
        source: std::io::Error,
    },
    #[error("the server stopped: {0}")]
    Io(#[from] std::io::Error),
}

/// Loads the model (so `/ping` answers only once it can serve) and serves it.
fn serve(
    family: Option<Family>,
    model: &std::path::Path,
    bind: std::net::IpAddr,
) -> Result<(), ServeError> {
    let bytes = std::fs::read(model).map_err(|source| ServeError::Read {
        path: model.to_path_buf(),
        source,
    })?;
    let named = serde_json::from_slice::<serde_json::Value>(&bytes)
        .ok()
        .and_then(|doc| serde_json::from_value::<Family>(doc["family"].clone()).ok());
    let family = family
        .or(named)
        .ok_or_else(|| ServeError::NoFamily(model.to_path_buf()))?;
    let mut loaded = tabular::TabularModel::from_json(&bytes, family)?;
    if let Ok(version) = std::env::var("MODEL_VERSION") {
        loaded.model_version = version;
    }
    let port = match std::env::var("SAGEMAKER_BIND_TO_PORT") {
        Ok(text) => text.parse::<u16>().map_err(|_| ServeError::Port(text))?,
        Err(_) => 8080,
    };
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind((bind, port))
            .await
            .map_err(|source| ServeError::Listen {
                addr: format!("{bind}:{port}"),
                source,
            })?;
        eprintln!(
            "serving {} ({} trees) on {bind}:{port}",
            loaded.model_version,
            match &loaded.ensemble {
                tabular::model::Ensemble::GradientBoosting { trees, .. }
                | tabular::model::Ensemble::RandomForest { trees } => trees.len(),
            }
        );
        container::serve(
            listener,
            std::sync::Arc::new(tabular::serve::Endpoint(loaded)),
        )
        .await?;
        Ok(())
    })
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
        Command::Serve {
            family,
            model,
            bind,
        } => serve(family.map(Family::from), &model, bind).map_err(|e| e.to_string()),
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
