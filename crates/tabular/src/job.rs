//! The tabular models' SageMaker training job (the entry point of `infra/Dockerfile.train-tabular`,
//! and what local mode's SageMaker stand-in runs, in process, on an `/opt/ml`-shaped folder).
//!
//! The training contract, as the detector's job follows it:
//! - `input/config/hyperparameters.json`: every value a string. `model` names the family
//!   (`battery-soh-regressor`, `failure-classifier`); `model_version` and `seed` are optional; the
//!   rest are the ensemble's settings ([`GbdtParams`], [`ForestParams`], by their field names).
//!   Keys SageMaker adds (`_tuning_objective_metric`, `sagemaker_*`) are ignored, others refused.
//! - `input/data/manifest/`: the dataset folder, `manifest.json` ([`DatasetManifest`]) naming the
//!   training CSV (the table whose `split` is `train`); the job holds out its own validation rows (whole cells for the regressor, the
//!   latest 20 % of hours for the classifier).
//! - `model/`: `model.json` and `training-report.json`; SageMaker tars the folder.
//! - `output/failure`: one line, the reason, when the job fails (exit status 1).
//! - stdout: `round N validation:mae=<x>` (or `validation:auc=`), the line tuning reads.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use serde::{Deserialize, Serialize};

use crate::family::Family;
use crate::model::{
    ForestParams, GbdtParams, Hyperparameters, ModelError, TabularModel, TrainingReport,
};
use crate::table::Table;
use crate::telemetry;

/// The tabular view of a dataset folder's `manifest.json`, which is validate's dataset manifest
/// (`functions/validate/src/dataset`: its `tables`, each with a `split`, checked by the retrain
/// workflow's dataset check before training): the training and the test table.
#[derive(Debug, Clone, PartialEq)]
pub struct DatasetManifest {
    pub name: String,
    /// CSV of labelled rows to train on, relative to the manifest.
    pub train: String,
    /// CSV of labelled rows held out for the evaluation job, relative to the manifest.
    pub test: String,
}

#[derive(Deserialize)]
struct ManifestDocument {
    name: String,
    #[serde(default)]
    tables: Vec<TableDocument>,
}

#[derive(Deserialize)]
struct TableDocument {
    path: String,
    #[serde(default)]
    split: Option<String>,
}

/// Why a job failed: the line written to `output/failure`.
#[derive(Debug, thiserror::Error)]
pub enum JobError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("hyperparameters.json: {0}")]
    Hyperparameters(String),
    #[error("manifest.json: {0}")]
    Manifest(String),
    #[error("{path}: {source}")]
    Csv {
        path: PathBuf,
        #[source]
        source: crate::table::TableError,
    },
    #[error(transparent)]
    Model(#[from] ModelError),
}

fn read(path: &Path) -> Result<Vec<u8>, JobError> {
    std::fs::read(path).map_err(|source| JobError::Io {
        path: path.to_path_buf(),
        source,
    })
}

fn write(path: &Path, bytes: &[u8]) -> Result<(), JobError> {
    let io = |source| JobError::Io {
        path: path.to_path_buf(),
        source,
    };
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(io)?;
    }
    std::fs::write(path, bytes).map_err(io)
}

/// Reads a CSV of the dataset.
pub fn read_table(path: &Path) -> Result<Table, JobError> {
    let bytes = read(path)?;
    let text = String::from_utf8(bytes).map_err(|_| JobError::Csv {
        path: path.to_path_buf(),
        source: crate::table::TableError::Empty,
    })?;
    Table::from_csv(&text).map_err(|source| JobError::Csv {
        path: path.to_path_buf(),
        source,
    })
}

/// Reads a dataset folder's manifest.
pub fn read_manifest(folder: &Path) -> Result<DatasetManifest, JobError> {
    let bytes = read(&folder.join("manifest.json"))?;
    let document: ManifestDocument =
        serde_json::from_slice(&bytes).map_err(|e| JobError::Manifest(e.to_string()))?;
    let table = |split: &str| {
        let mut found = document
            .tables
            .iter()
            .filter(|t| t.split.as_deref() == Some(split));
        match (found.next(), found.next()) {
            (Some(t), None)
                if !t.path.is_empty() && !t.path.contains("..") && !t.path.starts_with('/') =>
            {
                Ok(t.path.clone())
            }
            (Some(t), None) => Err(JobError::Manifest(format!(
                "{:?} is not a file inside the dataset folder",
                t.path
            ))),
            _ => Err(JobError::Manifest(format!(
                "exactly one table must have split {split:?}"
            ))),
        }
    };
    Ok(DatasetManifest {
        train: table("train")?,
        test: table("test")?,
        name: document.name,
    })
}

/// The job's settings, parsed from the string map SageMaker writes.
#[derive(Debug, Clone, PartialEq)]
pub struct JobSettings {
    pub family: Family,
    pub model_version: Option<String>,
    pub seed: u64,
    pub hyper: Hyperparameters,
}

fn parse_value<T: std::str::FromStr>(key: &str, text: &str) -> Result<T, JobError> {
    text.trim()
        .parse()
        .map_err(|_| JobError::Hyperparameters(format!("{key} = {text:?} is not a valid value")))
}

impl JobSettings {
    /// Parses `hyperparameters.json`'s map: every value a string.
    pub fn parse(raw: &BTreeMap<String, serde_json::Value>) -> Result<Self, JobError> {
        let mut strings = BTreeMap::new();
        for (key, value) in raw {
            // SageMaker's own keys (a tuning job's objective, framework settings).
            if key.starts_with('_') || key.starts_with("sagemaker_") {
                continue;
            }
            let text = value.as_str().ok_or_else(|| {
                JobError::Hyperparameters(format!("{key} is {value}: SageMaker passes strings"))
            })?;
            strings.insert(key.as_str(), text);
        }
        let model = strings
            .remove("model")
            .ok_or_else(|| JobError::Hyperparameters("`model` is required".into()))?;
        let family = Family::of_profile(model).ok_or_else(|| {
            JobError::Hyperparameters(format!(
                "model {model:?} is not a tabular model (battery-soh-regressor, failure-classifier)"
            ))
        })?;
        let model_version = strings.remove("model_version").map(str::to_string);
        let seed = match strings.remove("seed") {
            Some(text) => parse_value("seed", text)?,
            None => 1,
        };
        let mut unknown = Vec::new();
        let hyper = match Hyperparameters::defaults(family) {
            Hyperparameters::Gbdt(mut p) => {
                for (&key, &text) in &strings {
                    match key {
                        "rounds" => p.rounds = parse_value(key, text)?,
                        "learning_rate" => p.learning_rate = parse_value(key, text)?,
                        "max_depth" => p.max_depth = parse_value(key, text)?,
                        "min_child_weight" => p.min_child_weight = parse_value(key, text)?,
                        "lambda" => p.lambda = parse_value(key, text)?,
                        "subsample" => p.subsample = parse_value(key, text)?,
                        "early_stopping_rounds" => {
                            p.early_stopping_rounds = parse_value(key, text)?
                        }
                        "max_bins" => p.max_bins = parse_value(key, text)?,
                        other => unknown.push(other),
                    }
                }
                check_gbdt(&p)?;
                Hyperparameters::Gbdt(p)
            }
            Hyperparameters::Forest(mut p) => {
                for (&key, &text) in &strings {
                    match key {
                        "n_estimators" => p.n_estimators = parse_value(key, text)?,
                        "max_depth" => p.max_depth = parse_value(key, text)?,
                        "min_samples_leaf" => p.min_samples_leaf = parse_value(key, text)?,
                        "max_features" => p.max_features = Some(parse_value(key, text)?),
                        "balanced" => p.balanced = parse_value(key, text)?,
                        "max_bins" => p.max_bins = parse_value(key, text)?,
                        other => unknown.push(other),
                    }
                }
                check_forest(&p)?;
                Hyperparameters::Forest(p)
            }
        };
        if !unknown.is_empty() {
            return Err(JobError::Hyperparameters(format!(
                "unknown for {}: {}",
                family.profile(),
                unknown.join(", ")
            )));
        }
        Ok(Self {
            family,
            model_version,
            seed,
            hyper,
        })
    }
}

fn out_of_range(key: &str, why: &str) -> JobError {
    JobError::Hyperparameters(format!("{key} {why}"))
}

fn check_gbdt(p: &GbdtParams) -> Result<(), JobError> {
    if !(1..=10_000).contains(&p.rounds) {
        return Err(out_of_range("rounds", "must be within 1..=10000"));
    }
    if !(p.learning_rate > 0.0 && p.learning_rate <= 1.0) {
        return Err(out_of_range("learning_rate", "must be within (0, 1]"));
    }
    if !(1..=16).contains(&p.max_depth) {
        return Err(out_of_range("max_depth", "must be within 1..=16"));
    }
    if !(p.subsample > 0.0 && p.subsample <= 1.0) {
        return Err(out_of_range("subsample", "must be within (0, 1]"));
    }
    if !(p.lambda >= 0.0 && p.min_child_weight >= 0.0 && p.lambda.is_finite()) {
        return Err(out_of_range(
            "lambda and min_child_weight",
            "must be at least 0",
        ));
    }
    if !(2..=255).contains(&p.max_bins) {
        return Err(out_of_range("max_bins", "must be within 2..=255"));
    }
    Ok(())
}

fn check_forest(p: &ForestParams) -> Result<(), JobError> {
    if !(1..=5_000).contains(&p.n_estimators) {
        return Err(out_of_range("n_estimators", "must be within 1..=5000"));
    }
    if !(1..=32).contains(&p.max_depth) {
        return Err(out_of_range("max_depth", "must be within 1..=32"));
    }
    if p.min_samples_leaf == 0 || p.max_features == Some(0) {
        return Err(out_of_range(
            "min_samples_leaf and max_features",
            "must be at least 1",
        ));
    }
    if !(2..=255).contains(&p.max_bins) {
        return Err(out_of_range("max_bins", "must be within 2..=255"));
    }
    Ok(())
}

/// Splits a family's labelled rows into training and validation rows.
pub fn split(family: Family, table: &Table) -> Result<(Table, Table), JobError> {
    let held: Vec<bool> = match family {
        Family::BatterySohRegressor => table
            .ids
            .iter()
            .map(|id| Family::held_out_cell(id))
            .collect(),
        Family::FailureClassifier => {
            let hours = table
                .column(telemetry::HOUR)
                .map_err(|e| JobError::Manifest(e.to_string()))?;
            let mut sorted = hours.to_vec();
            sorted.sort_by(f64::total_cmp);
            let cut = sorted
                .get(sorted.len() * 4 / 5)
                .copied()
                .unwrap_or(f64::MAX);
            hours.iter().map(|&h| h >= cut).collect()
        }
    };
    Ok((table.filter(|i| !held[i]), table.filter(|i| held[i])))
}

/// What a finished job wrote.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobSummary {
    pub model_version: String,
    pub training_seconds: f64,
    pub hyperparameters: Hyperparameters,
    pub report: TrainingReport,
}

/// Runs the job on the `/opt/ml` tree at `root`; `job_name` is SageMaker's `TRAINING_JOB_NAME`.
/// Metric lines go to `out`. On failure the caller writes [`write_failure`].
pub fn run(root: &Path, job_name: &str, out: &mut dyn Write) -> Result<JobSummary, JobError> {
    let config = root.join("input/config/hyperparameters.json");
    let raw: BTreeMap<String, serde_json::Value> = match std::fs::read(&config) {
        Ok(bytes) => serde_json::from_slice(&bytes)
            .map_err(|e| JobError::Hyperparameters(format!("not a JSON object of strings: {e}")))?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => BTreeMap::new(),
        Err(source) => {
            return Err(JobError::Io {
                path: config,
                source,
            });
        }
    };
    let settings = JobSettings::parse(&raw)?;
    let folder = root.join("input/data/manifest");
    let manifest = read_manifest(&folder)?;
    let table = read_table(&folder.join(&manifest.train))?;
    let (train, validation) = split(settings.family, &table)?;
    let version = settings
        .model_version
        .clone()
        .unwrap_or_else(|| format!("{}-{job_name}", settings.family.version_prefix()));
    let (metric, _) = settings.family.objective();
    let started = Instant::now();
    let (model, report) = TabularModel::train(
        settings.family,
        &version,
        &train,
        &validation,
        &settings.hyper,
        settings.seed,
        &mut |round, value| {
            let _ = writeln!(out, "round {round} {metric}={value:.6}");
        },
    )?;
    let training_seconds = started.elapsed().as_secs_f64();
    let summary = JobSummary {
        model_version: version,
        training_seconds,
        hyperparameters: settings.hyper,
        report,
    };
    let model_dir = root.join("model");
    write(&model_dir.join("model.json"), &model.to_json())?;
    write(
        &model_dir.join("training-report.json"),
        &serde_json::to_vec_pretty(&summary).unwrap_or_default(),
    )?;
    let _ = writeln!(
        out,
        "model {}: {} trees, {metric}={:.6} on {} validation rows, trained in {:.2} s",
        summary.model_version,
        summary.report.trees,
        summary.report.objective,
        summary.report.validation_rows,
        training_seconds
    );
    Ok(summary)
}

/// Writes `output/failure`: one line, the reason.
pub fn write_failure(root: &Path, error: &JobError) {
    let _ = write(
        &root.join("output/failure"),
        format!("{error}\n").as_bytes(),
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn raw(value: serde_json::Value) -> BTreeMap<String, serde_json::Value> {
        serde_json::from_value(value).unwrap()
    }

    #[test]
    fn hyperparameters_are_strings_checked_by_family() {
        let s = JobSettings::parse(&raw(json!({
            "model": "battery-soh-regressor", "rounds": "50", "learning_rate": "0.2",
            "_tuning_objective_metric": "validation:mae", "sagemaker_program": "x"
        })))
        .unwrap();
        let Hyperparameters::Gbdt(p) = s.hyper else {
            panic!()
        };
        assert_eq!((p.rounds, p.learning_rate), (50, 0.2));
        for bad in [
            json!({"rounds": "50"}),
            json!({"model": "damage-detector"}),
            json!({"model": "battery-soh-regressor", "rounds": 50}),
            json!({"model": "battery-soh-regressor", "n_estimators": "50"}),
            json!({"model": "battery-soh-regressor", "learning_rate": "NaN"}),
            json!({"model": "battery-soh-regressor", "learning_rate": "2"}),
            json!({"model": "failure-classifier", "max_depth": "0"}),
            json!({"model": "failure-classifier", "balanced": "maybe"}),
        ] {
            let err = JobSettings::parse(&raw(bad.clone())).unwrap_err();
            assert!(matches!(err, JobError::Hyperparameters(_)), "{bad}: {err}");
        }
    }

    #[test]
    fn manifests_name_files_inside_their_folder() {
        let dir = tempfile::tempdir().unwrap();
        let m = |train: &str| {
            json!({"name": "battery", "thresholds": {"max_outliers": 0.02},
                   "tables": [{"path": train, "split": "train"}, {"path": "test.csv", "split": "test"}]})
        };
        std::fs::write(dir.path().join("manifest.json"), m("train.csv").to_string()).unwrap();
        assert_eq!(read_manifest(dir.path()).unwrap().train, "train.csv");
        std::fs::write(dir.path().join("manifest.json"), m("../x.csv").to_string()).unwrap();
        assert!(matches!(
            read_manifest(dir.path()),
            Err(JobError::Manifest(_))
        ));
        let two = json!({"name": "b", "tables": [{"path": "a.csv", "split": "train"}, {"path": "b.csv", "split": "train"}]});
        std::fs::write(dir.path().join("manifest.json"), two.to_string()).unwrap();
        assert!(matches!(
            read_manifest(dir.path()),
            Err(JobError::Manifest(_))
        ));
    }
}
