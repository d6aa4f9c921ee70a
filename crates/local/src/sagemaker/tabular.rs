//! The evaluation job of a tabular model: the same container contract as the detector's
//! ([`super::evaluation`]), with the labelled dataset under `/opt/ml/processing/dataset` (the
//! dataset folder: `manifest.json`, `train.csv`, `test.csv`).
//!
//! It writes approval-guard's report from the held-out test rows (regressor: `mae`, `rmse`, `r2`;
//! classifier: `auc`; both: `out_of_range`, the share of predictions outside the family's valid
//! range, and `training_seconds` from the training report; latency of a one-row invocation
//! through the endpoint's own request path (the fastest of a few tries per row); per row the regressor's `|label − prediction|` or the
//! classifier's share of misordered pairs, [`stats::auc_row_errors`]), and
//! drift-check's baseline from the training rows as the model answers them.

use std::collections::BTreeMap;

use approval_guard::report::{EvaluationReport, Latency, Number, Sample};
use drift_check::baseline::{TrainingRecords, build_baseline};
use serde_json::json;
use tabular::family::Task;
use tabular::job::{JobSummary, read_manifest, read_table};
use tabular::records::predict_records;
use tabular::{Family, TabularModel, metrics, serve};

use super::artifact::{self, TABULAR_FILE};
use super::evaluation::{
    Evaluation, EvaluationError, EvaluationInputs, LatencySource, ProcessingPaths,
};

/// One-row invocations timed for the latency percentiles.
const LATENCY_ROWS: usize = 500;
/// Tries per row; its latency is the fastest.
const LATENCY_TRIES: usize = 5;

/// Evaluates the tabular model in `paths.model` on the dataset in `paths.dataset`, and the
/// champion in `paths.champion` on the same test rows when `champion_version` names one.
pub fn evaluate_tabular(
    family: Family,
    profile: &drift_check::ModelProfile,
    paths: &ProcessingPaths,
    inputs: &EvaluationInputs,
    champion_version: Option<&str>,
) -> Result<Evaluation, EvaluationError> {
    let manifest = read_manifest(&paths.dataset)?;
    let test = read_table(&paths.dataset.join(&manifest.test))?;
    let train = read_table(&paths.dataset.join(&manifest.train))?;
    let model = load(family, &paths.model)?;
    let champion = match champion_version {
        Some(version) => Some((load(family, &paths.champion)?, version)),
        None => None,
    };
    // Candidate and champion are timed row by row in turn, so whatever else the machine does
    // weighs on both alike: their latency ratio is a gate.
    let mut timed: Vec<&TabularModel> = vec![&model.0];
    timed.extend(champion.as_ref().map(|(c, _)| &c.0));
    let latencies = latencies(&timed, &test, inputs.settings.latency)?;
    let report = score(
        family,
        &model,
        &test,
        &inputs.model_version,
        &latencies[0],
        inputs,
    )?;
    let champion = match &champion {
        Some((loaded, version)) => Some(score(
            family,
            loaded,
            &test,
            version,
            &latencies[1],
            inputs,
        )?),
        None => None,
    };
    let model = model.0;
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
    Ok(Evaluation {
        report,
        baseline,
        champion,
    })
}

/// A model and its training time (from its training report, when the artefact has one).
type Loaded = (TabularModel, Option<f64>);

fn load(family: Family, dir: &std::path::Path) -> Result<Loaded, EvaluationError> {
    let (name, bytes) = artifact::read_model_dir(dir, TABULAR_FILE)?;
    let model = TabularModel::from_json(&bytes, family)?;
    let training_seconds = artifact::read_model_dir(dir, "training-report.json")
        .ok()
        .and_then(|(_, b)| serde_json::from_slice::<JobSummary>(&b).ok())
        .map(|s| s.training_seconds);
    tracing::info!(model = %name, model_version = %model.model_version, "evaluating a tabular model");
    Ok((model, training_seconds))
}

/// Per model, the milliseconds of a one-row invocation through the endpoint's request path on
/// the first test rows: each row the fastest of a few tries (a row costs microseconds, so one
/// preemption of the process would otherwise be its latency), the models in turn.
fn latencies(
    models: &[&TabularModel],
    test: &tabular::Table,
    latency: LatencySource,
) -> Result<Vec<Vec<f64>>, EvaluationError> {
    let mut out = vec![Vec::with_capacity(LATENCY_ROWS); models.len()];
    let Some(first) = models.first() else {
        return Ok(out);
    };
    let columns = test
        .select(&first.features)
        .map_err(tabular::model::ModelError::from)?;
    for i in 0..test.len().min(LATENCY_ROWS) {
        let body = json!({"instances": [test.row(&columns, i)]}).to_string();
        for (model, times) in models.iter().zip(out.iter_mut()) {
            let fastest = (0..LATENCY_TRIES)
                .map(|_| {
                    let (reply, ms) = latency
                        .time(|| serve::invoke(model, Some("application/json"), body.as_bytes()));
                    debug_assert_eq!(reply.status.as_u16(), 200);
                    ms
                })
                .fold(f64::INFINITY, f64::min);
            times.push(fastest);
        }
    }
    Ok(out)
}

/// The report of a loaded model on the test rows, as version `model_version`.
fn score(
    family: Family,
    (model, training_seconds): &Loaded,
    test: &tabular::Table,
    model_version: &str,
    latencies: &[f64],
    inputs: &EvaluationInputs,
) -> Result<EvaluationReport, EvaluationError> {
    let predicted = model.predict_table(test)?;
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

    let latency = stats::latency_percentiles(latencies)?;
    // Per row: the absolute error of a capacity; a classifier's share of the AUC's misordered
    // pairs (its probabilities are class-weighted, so their distance to 0/1 is not the quality).
    let errors: Vec<f64> = match family.task() {
        Task::Regression => truth
            .iter()
            .zip(&predicted)
            .map(|(t, p)| (t - p).abs())
            .collect(),
        Task::Classification => stats::auc_row_errors(truth, &predicted),
    };
    let samples = test
        .ids
        .iter()
        .zip(&errors)
        .map(|(id, e)| Sample {
            id: id.clone(),
            error: Number(*e),
        })
        .collect();
    let report = EvaluationReport {
        model_version: model_version.to_string(),
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
        sample_error: match family.task() {
            Task::Regression => format!("|{} - prediction| of the test row", family.label()),
            Task::Classification => "the row's share of misordered (positive, negative) pairs: the mean per class is 1 - AUC".into(),
        },
        samples,
    };
    Ok(report)
}
