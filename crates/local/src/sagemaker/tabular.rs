//! The evaluation job of a tabular model: the same container contract as the detector's
//! ([`super::evaluation`]), with the labelled dataset under `/opt/ml/processing/dataset` (the
//! dataset folder: `manifest.json`, `train.csv`, `test.csv`).
//!
//! It writes approval-guard's report from the held-out test rows (regressor: `mae`, `rmse`, `r2`;
//! classifier: `auc`; both: `out_of_range`, the share of predictions outside the family's valid
//! range, and `training_seconds` from the training report; latency of a one-row invocation
//! through the endpoint's own request path; per row `error = |label − prediction|`), and
//! drift-check's baseline from the training rows as the model answers them.

use std::collections::BTreeMap;
use std::time::Instant;

use approval_guard::report::{EvaluationReport, Latency, Number, Sample};
use drift_check::baseline::{TrainingRecords, build_baseline};
use serde_json::json;
use tabular::family::Task;
use tabular::job::{JobSummary, read_manifest, read_table};
use tabular::records::predict_records;
use tabular::{Family, TabularModel, metrics, serve};

use super::artifact::{self, TABULAR_FILE};
use super::evaluation::{Evaluation, EvaluationError, EvaluationInputs, ProcessingPaths};

/// One-row invocations timed for the latency percentiles.
const LATENCY_ROWS: usize = 500;

/// Evaluates the tabular model in `paths.model` on the dataset in `paths.dataset`.
pub fn evaluate_tabular(
    family: Family,
    profile: &drift_check::ModelProfile,
    paths: &ProcessingPaths,
    inputs: &EvaluationInputs,
) -> Result<Evaluation, EvaluationError> {
    let (name, bytes) = artifact::read_model_dir(&paths.model, TABULAR_FILE)?;
    let model = TabularModel::from_json(&bytes, family)?;
    let training_seconds = artifact::read_model_dir(&paths.model, "training-report.json")
        .ok()
        .and_then(|(_, b)| serde_json::from_slice::<JobSummary>(&b).ok())
        .map(|s| s.training_seconds);
    tracing::info!(model = %name, model_version = %model.model_version, "evaluating a tabular model");
    let manifest = read_manifest(&paths.dataset)?;
    let test = read_table(&paths.dataset.join(&manifest.test))?;
    let train = read_table(&paths.dataset.join(&manifest.train))?;
    let predicted = model.predict_table(&test)?;
    let truth = test
        .column(family.label())
        .map_err(tabular::model::ModelError::from)?;
    if predicted.is_empty() {
        return Err(EvaluationError::NoPhotos);
    }

    let mut figures = BTreeMap::new();
    match family.task() {
        Task::Regression => {
            figures.insert("mae", metrics::mae(truth, &predicted));
            figures.insert("rmse", metrics::rmse(truth, &predicted));
            figures.insert("r2", metrics::r2(truth, &predicted));
        }
        Task::Classification => {
            figures.insert("auc", stats::roc_auc(truth, &predicted));
        }
    }
    figures.insert(
        "out_of_range",
        metrics::out_of_range_share(&predicted, family.valid_range()),
    );
    // A model without its training report cannot show it met the training-time rule.
    figures.insert("training_seconds", training_seconds.unwrap_or(f64::NAN));

    let columns = test
        .select(&model.features)
        .map_err(tabular::model::ModelError::from)?;
    let mut latencies = Vec::with_capacity(LATENCY_ROWS);
    for i in 0..test.len().min(LATENCY_ROWS) {
        let body = json!({"instances": [test.row(&columns, i)]}).to_string();
        let started = Instant::now();
        let (status, _) = serve::invoke(&model, Some("application/json"), body.as_bytes());
        latencies.push(started.elapsed().as_secs_f64() * 1000.0);
        debug_assert_eq!(status, 200);
    }
    let latency = stats::latency_percentiles(&latencies)?;
    let samples = test
        .ids
        .iter()
        .zip(truth.iter().zip(&predicted))
        .map(|(id, (t, p))| Sample {
            id: id.clone(),
            error: Number((t - p).abs()),
        })
        .collect();
    let report = EvaluationReport {
        model_version: inputs.model_version.clone(),
        model_package_arn: None,
        dataset: inputs.dataset.clone(),
        metrics: figures
            .into_iter()
            .map(|(k, v)| (k.to_string(), Number(v)))
            .collect(),
        per_label_ap: BTreeMap::new(),
        latency_ms: Latency {
            p50: Number(latency.p50),
            p95: Number(latency.p95),
            p99: Number(latency.p99),
        },
        sample_error: format!("|{} - prediction| of the test row", family.label()),
        samples,
    };
    let records = predict_records(&model, &train, &inputs.created_at)
        .map_err(tabular::model::ModelError::from)?;
    let baseline = build_baseline(
        profile,
        &inputs.model_version,
        &inputs.created_at,
        TrainingRecords {
            features: &records,
            predictions: &records,
        },
        None,
    )?;
    Ok(Evaluation { report, baseline })
}
